//! Go durations: parsing any string never panics, whatever parses renders back (Go's
//! `Duration.String()`) to a string that parses to the same value, and every value up to Go's
//! maximum round-trips through `format` then `parse`.
#![no_main]

use std::time::Duration;

use agenttier_core::duration::{format, parse};
use libfuzzer_sys::fuzz_target;

const MAX_NANOS: u64 = i64::MAX as u64;

fuzz_target!(|input: &[u8]| {
    if input.len() >= 8 {
        let nanos = u64::from_le_bytes(input[..8].try_into().unwrap()) % (MAX_NANOS + 1);
        let d = Duration::from_nanos(nanos);
        let text = format(d);
        assert_eq!(parse(&text), Ok(d), "format then parse of {nanos}ns ({text})");
    }
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    match parse(text) {
        Ok(d) => {
            assert!(d.as_nanos() <= u128::from(MAX_NANOS), "parse result beyond Go's range");
            let rendered = format(d);
            assert_eq!(parse(&rendered), Ok(d), "{text:?} → {rendered:?} does not parse back");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
