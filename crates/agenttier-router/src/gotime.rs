//! Timestamps in the formats the Router renders (wire spec §12.1).

use time::OffsetDateTime;

/// Current time as unix seconds.
pub(crate) fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

/// Go's `time.Time.String()` for a whole-second UTC time: `2026-07-22 16:29:45 +0000 UTC`.
pub(crate) fn go_string(unix: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    agenttier_core::timestamp::format_go(t)
}

/// RFC 3339 in UTC with nanoseconds, as API-key metadata carries it.
pub(crate) fn rfc3339(unix: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp(unix).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn go_format() {
        assert_eq!(super::go_string(1_784_737_785), "2026-07-22 16:29:45 +0000 UTC");
    }
}
