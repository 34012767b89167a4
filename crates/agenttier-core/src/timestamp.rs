//! Timestamps as the Router writes them.
//!
//! The Router mixes formats (wire spec §12.1): sandbox `createdAt`/`lastActivityAt` use Go's
//! `time.Time.String()` layout (`2026-07-22 16:29:45 +0000 UTC`), most other fields RFC 3339.
//! [`parse`] accepts both, so models can hold real [`OffsetDateTime`] values whatever the field.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// Parses an RFC 3339 timestamp or one in Go's `time.Time.String()` layout.
///
/// Go's layout is `2006-01-02 15:04:05.999999999 -0700 MST`: optional fractional seconds, a
/// numeric offset, then a zone abbreviation (ignored, the offset is authoritative) and possibly a
/// monotonic clock reading (`m=+0.01`, ignored).
///
/// ```
/// use agenttier_core::timestamp;
/// let go = timestamp::parse("2026-07-22 16:29:45 +0000 UTC").unwrap();
/// let rfc = timestamp::parse("2026-07-22T16:29:45Z").unwrap();
/// assert_eq!(go, rfc);
/// ```
pub fn parse(input: &str) -> Option<OffsetDateTime> {
    let input = input.trim();
    OffsetDateTime::parse(input, &Rfc3339).ok().or_else(|| parse_go(input))
}

fn parse_go(input: &str) -> Option<OffsetDateTime> {
    let mut parts = input.split(' ');
    let date_time = format!("{} {}", parts.next()?, parts.next()?);
    let offset = parts.next()?;
    let primitive = PrimitiveDateTime::parse(
        &date_time,
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second][optional [.[subsecond]]]"),
    )
    .ok()?;
    let offset = UtcOffset::parse(
        offset,
        format_description!("[offset_hour sign:mandatory][offset_minute]"),
    )
    .ok()?;
    Some(primitive.assume_offset(offset))
}

/// Renders a timestamp in Go's `time.Time.String()` layout, as the Router renders sandbox
/// `createdAt`. A zero offset is named `UTC`; other offsets repeat the numeric offset as Go does
/// for zones without an abbreviation.
///
/// ```
/// use agenttier_core::timestamp;
/// let t = timestamp::parse("2026-07-22T16:29:45Z").unwrap();
/// assert_eq!(timestamp::format_go(t), "2026-07-22 16:29:45 +0000 UTC");
/// ```
pub fn format_go(t: OffsetDateTime) -> String {
    let base = t
        .format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"))
        .unwrap_or_default();
    let nanos = t.nanosecond();
    let fraction = if nanos == 0 {
        String::new()
    } else {
        format!(".{nanos:09}").trim_end_matches('0').to_owned()
    };
    let offset = t
        .offset()
        .format(format_description!("[offset_hour sign:mandatory][offset_minute]"))
        .unwrap_or_default();
    let zone = if t.offset().is_utc() {
        "UTC".to_owned()
    } else {
        offset.clone()
    };
    format!("{base}{fraction} {offset} {zone}")
}

/// Serde adapter for optional timestamp fields: accepts either format, `null`, absence, and
/// treats an empty or unparseable string as absent rather than failing the whole response.
pub mod option {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    /// Deserializes an optional timestamp leniently.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<OffsetDateTime>, D::Error> {
        let raw = Option::<String>::deserialize(d)?;
        Ok(raw.as_deref().and_then(super::parse))
    }

    /// Serializes as RFC 3339 (or `null`).
    pub fn serialize<S: Serializer>(t: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t.and_then(|t| t.format(&Rfc3339).ok()) {
            Some(text) => s.serialize_str(&text),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_layouts() {
        let plain = parse("2026-07-22 16:29:45 +0000 UTC").unwrap();
        assert_eq!(plain.unix_timestamp(), 1_784_737_785);
        let fractional = parse("2026-07-22 16:29:45.123456789 +0000 UTC").unwrap();
        assert_eq!(fractional.nanosecond(), 123_456_789);
        let zoned = parse("2026-07-22 18:29:45 +0200 CEST").unwrap();
        assert_eq!(zoned, plain);
        let monotonic = parse("2026-07-22 16:29:45 +0000 UTC m=+0.004").unwrap();
        assert_eq!(monotonic, plain);
    }

    #[test]
    fn parses_rfc3339_variants() {
        assert!(parse("2026-07-22T16:29:45.123456789Z").is_some());
        assert!(parse("2026-07-22T18:29:45+02:00").is_some());
        assert!(parse("0001-01-01T00:00:00Z").is_some());
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "yesterday",
            "2026-07-22",
            "2026-07-22 16:29:45",
            "2026-13-22 16:29:45 +0000 UTC",
        ] {
            assert!(parse(s).is_none(), "{s}");
        }
    }

    #[test]
    fn go_format_round_trips() {
        for s in [
            "2026-07-22 16:29:45 +0000 UTC",
            "2026-07-22 16:29:45.5 +0000 UTC",
            "2026-07-22 16:29:45 +0530 +0530",
        ] {
            assert_eq!(format_go(parse(s).unwrap()), s);
        }
    }
}
