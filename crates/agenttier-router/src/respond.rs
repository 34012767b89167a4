//! JSON replies byte-compatible with Go's `encoding/json` encoder, as the Router writes them:
//! `<`, `>`, `&`, U+2028 and U+2029 escaped, and a trailing newline.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;

/// Serializes `value` like Go's `json.NewEncoder(w).Encode(value)`.
pub(crate) fn go_json_bytes<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let raw = match serde_json::to_vec(value) {
        Ok(raw) => raw,
        // Our reply types are plain structs and maps with string keys; this cannot fail.
        Err(e) => format!("{{\"error\":\"encoding failed: {e}\"}}").into_bytes(),
    };
    let mut out = Vec::with_capacity(raw.len() + 16);
    go_escape(&raw, &mut out);
    out.push(b'\n');
    out
}

/// Applies Go's HTML-safe escapes (`<`, `>`, `&`, U+2028, U+2029) to serde_json output.
fn go_escape(raw: &[u8], out: &mut Vec<u8>) {
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
}

/// Source bytes encoded per piece of a streamed JSON string (a piece grows at most 6× encoded).
const PIECE: usize = 64 * 1024;

/// The contents of `s` as a Go-encoded JSON string (without the quotes), produced piece by
/// piece as it is sent: a large string never exists in its encoded form (up to 6× its size)
/// all at once.
pub(crate) fn go_json_str_pieces(s: String) -> impl Iterator<Item = Bytes> + Send + 'static {
    pieces_of(s, PIECE)
}

fn pieces_of(s: String, piece: usize) -> impl Iterator<Item = Bytes> + Send + 'static {
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= s.len() {
            return None;
        }
        let mut end = (start + piece).min(s.len());
        while !s.is_char_boundary(end) {
            end += 1; // at most 3 more bytes: a char is at most 4
        }
        let raw = serde_json::to_vec(&s[start..end]).unwrap_or_default();
        let mut out = Vec::with_capacity(raw.len());
        go_escape(raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default(), &mut out);
        start = end;
        Some(Bytes::from(out))
    })
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

    #[test]
    fn streamed_strings_encode_like_the_whole() {
        let s = "a<é\u{2028}\u{1F600}\"\\\n\u{0}\u{1f}&\u{2029}>xyz\u{FFFD}".repeat(7);
        let whole = go_json_bytes(&s);
        for piece in 1..12 {
            let mut streamed = b"\"".to_vec();
            for p in pieces_of(s.clone(), piece) {
                streamed.extend_from_slice(&p);
            }
            streamed.extend_from_slice(b"\"\n");
            assert_eq!(
                String::from_utf8(streamed).unwrap(),
                String::from_utf8(whole.clone()).unwrap()
            );
        }
        assert_eq!(pieces_of(String::new(), 4).count(), 0);
    }
}
