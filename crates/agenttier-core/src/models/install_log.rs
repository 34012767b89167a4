//! `GET /sandboxes/{id}/configure/install-log` (wire spec §9.3): `{"log": "<last 8 KiB>"}`.
//!
//! The Router writes the log with Go's `%q`, which is not always JSON: control characters come
//! out as `\x1b`, `\a` or `\v`, escapes JSON does not have. The body is read as JSON first and,
//! when that fails, as the Go string literal it is.

use crate::{Result, response};

/// The install output held in an install-log body, whether valid JSON or Go-quoted.
///
/// ```
/// use agenttier_core::models::decode_install_log;
/// assert_eq!(decode_install_log(br#"{"log":"ok\n"}"#).unwrap(), "ok\n");
/// assert_eq!(decode_install_log(b"{\"log\":\"\\x1b[1mbold\\a\"}\n").unwrap(), "\u{1b}[1mbold\u{7}");
/// ```
pub fn decode_install_log(body: &[u8]) -> Result<String> {
    #[derive(serde::Deserialize)]
    struct Log {
        #[serde(default)]
        log: Option<String>,
    }
    const CONTEXT: &str = "read the install log";
    if let Ok(log) = serde_json::from_slice::<Log>(body) {
        return Ok(log.log.unwrap_or_default());
    }
    let text = String::from_utf8_lossy(body);
    let quoted = text
        .trim()
        .strip_prefix('{')
        .and_then(|t| t.strip_suffix('}'))
        .map(str::trim)
        .and_then(|t| t.strip_prefix("\"log\""))
        .map(str::trim_start)
        .and_then(|t| t.strip_prefix(':'))
        .map(str::trim);
    quoted
        .and_then(go_unquote)
        .ok_or_else(|| response::decode_error(CONTEXT, "neither JSON nor a Go-quoted log", body))
}

/// Reads a Go double-quoted string literal (`strconv.Quote` output), the quotes included.
fn go_unquote(literal: &str) -> Option<String> {
    let inner = literal.strip_prefix('"')?.strip_suffix('"')?;
    let mut out: Vec<u8> = Vec::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '"' {
            return None;
        }
        if c != '\\' {
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let simple = match chars.next()? {
            'a' => 0x07,
            'b' => 0x08,
            'f' => 0x0c,
            'n' => b'\n',
            'r' => b'\r',
            't' => b'\t',
            'v' => 0x0b,
            '\\' => b'\\',
            '"' => b'"',
            '\'' => b'\'',
            'x' => {
                out.push(u8::from_str_radix(&take(&mut chars, 2)?, 16).ok()?);
                continue;
            }
            kind @ ('u' | 'U') => {
                let digits = take(&mut chars, if kind == 'u' { 4 } else { 8 })?;
                let c = char::from_u32(u32::from_str_radix(&digits, 16).ok()?)?;
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            _ => return None,
        };
        out.push(simple);
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn take(chars: &mut std::str::Chars<'_>, n: usize) -> Option<String> {
    let s: String = chars.by_ref().take(n).collect();
    (s.len() == n).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_go_quoted_bodies() {
        assert_eq!(
            decode_install_log(b"{\"log\":\"a\\u001b\\\"b\"}\n").unwrap(),
            "a\u{1b}\"b"
        );
        assert_eq!(decode_install_log(b"{\"log\":null}").unwrap(), "");
        let go = "{\"log\":\"\\x1b[0m\\a\\b\\f\\v\\t\\r\\n\\\\ \\\"q\\\" \\u00e9 \\U0001F600 \\xff plain ü\"}";
        assert_eq!(
            decode_install_log(go.as_bytes()).unwrap(),
            "\u{1b}[0m\u{7}\u{8}\u{c}\u{b}\t\r\n\\ \"q\" é 😀 \u{fffd} plain ü"
        );
    }

    #[test]
    fn garbage_is_a_decode_error() {
        for body in [
            &b"<html>"[..],
            b"{\"log\":\"open",
            b"{\"log\":\"\\q\"}",
            b"{\"log\":\"\\x1\"}",
            b"",
        ] {
            let err = decode_install_log(body).unwrap_err();
            assert!(err.to_string().contains("install log"), "{err}");
        }
    }
}
