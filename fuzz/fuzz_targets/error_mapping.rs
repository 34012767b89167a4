//! Error mapping: any status, headers and body map to a typed error without panicking; the
//! error keeps the status, bounds the body it keeps, and renders.
#![no_main]

use agenttier_core::{ApiError, response, retry};
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    // Bytes 0..2: status; byte 2: attempts; then `name: value` header lines up to a blank
    // line; the rest is the body.
    if input.len() < 3 {
        return;
    }
    let status = u16::from_be_bytes([input[0], input[1]]);
    let attempts = u32::from(input[2]);
    let rest = &input[3..];
    let (head, body) = match rest.windows(2).position(|w| w == b"\n\n") {
        Some(at) => (&rest[..at], &rest[at + 2..]),
        None => (&[][..], rest),
    };
    let mut headers = HeaderMap::new();
    for line in head.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(&line[..colon]),
            HeaderValue::from_bytes(line[colon + 1..].trim_ascii()),
        ) else {
            continue;
        };
        headers.append(name, value);
    }
    let _ = retry::retry_after(&headers);
    let err = response::error_from(status, &headers, body, attempts);
    let _ = err.to_string();
    let _ = format!("{err:?}");
    let _ = err.is_retryable();
    assert_eq!(err.status(), Some(status), "the status is kept");
    if let Some(api) = err.api() {
        assert!(api.body.len() <= ApiError::MAX_BODY * 3, "kept body is bounded");
        assert_eq!(api.attempts, attempts);
    }
});
