//! JSON replies byte-compatible with Go's `encoding/json` encoder, as the Router writes them:
//! `<`, `>`, `&`, U+2028 and U+2029 escaped, and a trailing newline.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Serializes `value` like Go's `json.NewEncoder(w).Encode(value)`.
pub(crate) fn go_json_bytes<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let raw = match serde_json::to_vec(value) {
        Ok(raw) => raw,
        // Our reply types are plain structs and maps with string keys; this cannot fail.
        Err(e) => format!("{{\"error\":\"encoding failed: {e}\"}}").into_bytes(),
    };
    let mut out = Vec::with_capacity(raw.len() + 16);
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        match b {
            b'<' => out.extend_from_slice(b"\\u003c"),
            b'>' => out.extend_from_slice(b"\\u003e"),
            b'&' => out.extend_from_slice(b"\\u0026"),
            0xE2 if i + 2 < raw.len() && raw[i + 1] == 0x80 && matches!(raw[i + 2], 0xA8 | 0xA9) => {
                out.extend_from_slice(if raw[i + 2] == 0xA8 { b"\\u2028" } else { b"\\u2029" });
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    out.push(b'\n');
    out
}

/// A JSON reply with the given status.
pub(crate) fn go_json<T: Serialize + ?Sized>(status: StatusCode, value: &T) -> Response {
    let mut resp = (status, go_json_bytes(value)).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_go() {
        let v = serde_json::json!({"a": "<b>&\u{2028}é"});
        assert_eq!(
            String::from_utf8(go_json_bytes(&v)).unwrap(),
            "{\"a\":\"\\u003cb\\u003e\\u0026\\u2028é\"}\n"
        );
    }
}
