//! Go duration strings (`"30s"`, `"1h30m"`, `"720h"`), as the Router takes and renders them.
//!
//! The Router parses timeouts with Go's `time.ParseDuration` and renders template timeouts with
//! `time.Duration.String()` (`"30m0s"`). [`parse`] accepts exactly what Go accepts for
//! non-negative values (fractions, several units, `us`/`µs`), and [`format()`] renders what Go renders.

use std::time::Duration;

/// Why a string is not a Go duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {input:?}: {reason}")]
pub struct ParseDurationError {
    input: String,
    reason: &'static str,
}

impl ParseDurationError {
    fn new(input: &str, reason: &'static str) -> Self {
        Self {
            input: input.to_owned(),
            reason,
        }
    }
}

const UNITS: &[(&str, u128)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

/// Largest value Go's `time.Duration` (an `i64` of nanoseconds) can hold.
const MAX_NANOS: u128 = i64::MAX as u128;

/// Parses a Go duration string. Negative durations are refused, since no Router field takes one.
///
/// ```
/// use std::time::Duration;
/// use agenttier_core::duration;
/// assert_eq!(duration::parse("1h30m").unwrap(), Duration::from_secs(5400));
/// assert_eq!(duration::parse("1.5s").unwrap(), Duration::from_millis(1500));
/// assert!(duration::parse("5 minutes").is_err());
/// ```
pub fn parse(input: &str) -> Result<Duration, ParseDurationError> {
    let mut rest = input.strip_prefix('+').unwrap_or(input);
    if rest.starts_with('-') {
        return Err(ParseDurationError::new(input, "negative durations are not allowed"));
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(ParseDurationError::new(input, "empty duration"));
    }
    let mut total: u128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after_int) = rest.split_at(int_len);
        let (frac_part, after_num) = match after_int.strip_prefix('.') {
            Some(f) => {
                let n = f.bytes().take_while(u8::is_ascii_digit).count();
                f.split_at(n)
            }
            None => ("", after_int),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(ParseDurationError::new(input, "expected a number"));
        }
        let unit_len = after_num
            .char_indices()
            .find(|&(_, c)| c == '.' || c.is_ascii_digit())
            .map_or(after_num.len(), |(i, _)| i);
        let (unit, after_unit) = after_num.split_at(unit_len);
        if unit.is_empty() {
            return Err(ParseDurationError::new(input, "missing unit (ns, us, ms, s, m, h)"));
        }
        let scale = UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|&(_, scale)| scale)
            .ok_or_else(|| ParseDurationError::new(input, "unknown unit (use ns, us, ms, s, m or h)"))?;
        let overflow = || ParseDurationError::new(input, "duration out of range");
        let whole: u128 = if int_part.is_empty() {
            0
        } else {
            int_part
                .parse::<u128>()
                .ok()
                .filter(|v| *v <= MAX_NANOS)
                .ok_or_else(overflow)?
        };
        let mut nanos = whole.checked_mul(scale).ok_or_else(overflow)?;
        if !frac_part.is_empty() {
            // Only as many fraction digits as can matter at nanosecond resolution.
            let digits = &frac_part[..frac_part.len().min(30)];
            let numerator: u128 = digits.parse().map_err(|_| overflow())?;
            let denominator = 10u128.pow(digits.len() as u32);
            nanos = nanos
                .checked_add(numerator.saturating_mul(scale) / denominator)
                .ok_or_else(overflow)?;
        }
        total = total
            .checked_add(nanos)
            .filter(|t| *t <= MAX_NANOS)
            .ok_or_else(overflow)?;
        rest = after_unit;
    }
    Ok(Duration::from_nanos(total as u64))
}

/// Renders a duration the way Go's `time.Duration.String()` does (`"1h30m0s"`, `"1.5s"`, `"250ms"`, `"0s"`).
///
/// ```
/// use std::time::Duration;
/// use agenttier_core::duration;
/// assert_eq!(duration::format(Duration::from_secs(1800)), "30m0s");
/// assert_eq!(duration::format(Duration::from_millis(1500)), "1.5s");
/// ```
pub fn format(d: Duration) -> String {
    let nanos = d.as_nanos().min(MAX_NANOS);
    if nanos == 0 {
        return "0s".to_owned();
    }
    if nanos < 1_000_000_000 {
        let (scale, unit) = match nanos {
            n if n < 1_000 => (1, "ns"),
            n if n < 1_000_000 => (1_000, "µs"),
            _ => (1_000_000, "ms"),
        };
        return format!("{}{unit}", fixed(nanos, scale));
    }
    let hours = nanos / 3_600_000_000_000;
    let minutes = (nanos / 60_000_000_000) % 60;
    let seconds = fixed(nanos % 60_000_000_000, 1_000_000_000);
    match (hours, minutes) {
        (0, 0) => format!("{seconds}s"),
        (0, m) => format!("{m}m{seconds}s"),
        (h, m) => format!("{h}h{m}m{seconds}s"),
    }
}

/// `value / scale` as a decimal with trailing fractional zeros removed.
fn fixed(value: u128, scale: u128) -> String {
    let whole = value / scale;
    let frac = value % scale;
    if frac == 0 {
        return whole.to_string();
    }
    let width = scale.ilog10() as usize;
    let digits = format!("{frac:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_examples() {
        let cases = [
            ("0", 0),
            ("5s", 5_000_000_000),
            ("30s", 30_000_000_000),
            ("1478s", 1_478_000_000_000),
            ("+5s", 5_000_000_000),
            ("5.0s", 5_000_000_000),
            ("5.6s", 5_600_000_000),
            ("5.s", 5_000_000_000),
            (".5s", 500_000_000),
            ("1.004s", 1_004_000_000),
            ("10ns", 10),
            ("11us", 11_000),
            ("12µs", 12_000),
            ("13ms", 13_000_000),
            ("15m", 900_000_000_000),
            ("16h", 57_600_000_000_000),
            ("3h30m", 12_600_000_000_000),
            ("10.5s4m", 250_500_000_000),
            ("1h1m1s1ms1us1ns", 3_661_001_001_001),
            ("720h", 2_592_000_000_000_000),
            ("9223372036854775807ns", 9_223_372_036_854_775_807),
        ];
        for (input, nanos) in cases {
            assert_eq!(parse(input).unwrap().as_nanos(), nanos, "{input}");
        }
    }

    #[test]
    fn rejects_what_go_rejects() {
        for input in [
            "",
            "3",
            "-",
            "s",
            ".",
            "-1s",
            "1d",
            "1.s.",
            "x1s",
            "1 s",
            "9223372036854775808ns",
            "3000000h",
        ] {
            assert!(parse(input).is_err(), "{input:?} should fail");
        }
        let err = parse("1d").unwrap_err().to_string();
        assert!(err.contains("\"1d\"") && err.contains("unknown unit"), "{err}");
    }

    #[test]
    fn formats_like_go() {
        let cases = [
            (0, "0s"),
            (1, "1ns"),
            (1_100, "1.1µs"),
            (2_200_000, "2.2ms"),
            (3_300_000_000, "3.3s"),
            (240_000_000_000, "4m0s"),
            (301_000_000_000, "5m1s"),
            (1_800_000_000_000, "30m0s"),
            (28_800_000_000_000, "8h0m0s"),
            (3_661_001_000_000, "1h1m1.001s"),
        ];
        for (nanos, text) in cases {
            assert_eq!(format(Duration::from_nanos(nanos)), text);
        }
    }

    #[test]
    fn round_trips() {
        for nanos in [
            1u64,
            999,
            1_000_000,
            59_999_999_999,
            3_600_000_000_001,
            86_400_000_000_000,
        ] {
            let d = Duration::from_nanos(nanos);
            assert_eq!(parse(&format(d)).unwrap(), d);
        }
    }
}
