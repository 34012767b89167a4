//! Turning the Router's answers into models or typed errors.

use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Error, Result};
use crate::models::Violation;
use crate::retry;

/// Header carrying the Router's request id.
pub const REQUEST_ID: &str = "x-request-id";

/// Maps a non-success answer to the error of its class.
///
/// The message comes from the body's `message` field when the body also names an `error` code,
/// else from `error`, else the body text, else the reason phrase. Bodies are read as JSON
/// whatever their content type (the Router sends JSON as `text/plain` on 401 and 403), and a
/// body that is not valid JSON still yields its `error` value when one can be picked out.
///
/// ```
/// use http::HeaderMap;
/// use agenttier_core::{Error, response};
/// let body = br#"{"error":"policy_violation","violations":[{"code":"user_quota_exceeded","message":"max 2"}]}"#;
/// let err = response::error_from(403, &HeaderMap::new(), body, 1);
/// assert!(matches!(err, Error::PolicyViolation { ref violations, .. } if violations[0].code == "user_quota_exceeded"));
/// ```
pub fn error_from(status: u16, headers: &HeaderMap, body: &[u8], attempts: u32) -> Error {
    let text = String::from_utf8_lossy(&body[..body.len().min(ApiError::MAX_BODY)]).into_owned();
    let json: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name))
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let error_field = field("error").or_else(|| salvage_error_field(&text));
    let message_field = field("message");
    let (message, code) = match (error_field, message_field) {
        (Some(code), Some(message)) => (message, Some(code)),
        (Some(error), None) => (error, None),
        (None, Some(message)) => (message, None),
        (None, None) => {
            let trimmed = text.trim();
            let fallback = if trimmed.is_empty() {
                StatusCode::from_u16(status)
                    .ok()
                    .and_then(|s| s.canonical_reason())
                    .unwrap_or("request failed")
                    .to_owned()
            } else {
                trimmed.chars().take(500).collect()
            };
            (fallback, None)
        }
    };
    let api = Box::new(ApiError {
        status,
        message,
        code,
        body: text,
        request_id: headers.get(REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_owned),
        retry_after: retry::retry_after(headers),
        attempts,
    });
    match status {
        401 => Error::Authentication { api },
        403 if api.message == "policy_violation" => {
            let violations = json
                .as_ref()
                .and_then(|j| j.get("violations"))
                .and_then(|v| serde_json::from_value::<Option<Vec<Violation>>>(v.clone()).ok())
                .flatten()
                .unwrap_or_default();
            Error::PolicyViolation { violations, api }
        }
        403 => Error::Authorization { api },
        404 => Error::NotFound { api },
        409 => Error::Conflict { api },
        _ => Error::Api { api },
    }
}

/// Picks the `error` value out of a body that looks like `{"error":"...` but is not valid JSON
/// (the Router concatenates unescaped text into some 401 bodies).
fn salvage_error_field(text: &str) -> Option<String> {
    let rest = text.trim_start().strip_prefix("{\"error\":\"")?;
    let end = rest.find('"')?;
    Some(rest[..end].to_owned()).filter(|s| !s.is_empty())
}

/// Decodes a JSON success body, keeping a snippet of it in the error when it does not fit.
pub fn decode<T: DeserializeOwned>(context: &str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| decode_error(context, &e.to_string(), body))
}

/// Decodes the list held under `key` of a JSON object, accepting `null` or a missing key as empty.
///
/// ```
/// let v: Vec<u32> = agenttier_core::response::decode_list("numbers", br#"{"numbers":null}"#, "numbers").unwrap();
/// assert!(v.is_empty());
/// ```
pub fn decode_list<T: DeserializeOwned>(context: &str, body: &[u8], key: &str) -> Result<Vec<T>> {
    let mut value: serde_json::Value = decode(context, body)?;
    let Some(object) = value.as_object_mut() else {
        return Err(decode_error(context, "expected a JSON object", body));
    };
    match object.remove(key) {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(list) => serde_json::from_value(list).map_err(|e| decode_error(context, &e.to_string(), body)),
    }
}

/// An [`Error::Decode`] with the first bytes of `body`.
pub fn decode_error(context: &str, message: &str, body: &[u8]) -> Error {
    const SNIPPET: usize = 200;
    let mut snippet: String = String::from_utf8_lossy(&body[..body.len().min(SNIPPET * 4)])
        .chars()
        .take(SNIPPET)
        .collect();
    if body.len() > snippet.len() {
        snippet.push('…');
    }
    Error::Decode {
        context: context.to_owned(),
        message: message.to_owned(),
        snippet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn mapping_table() {
        let cases: &[(u16, &str, &str)] = &[
            (401, r#"{"error":"missing_authorization"}"#, "Authentication"),
            (403, r#"{"error":"admin_required"}"#, "Authorization"),
            (
                403,
                r#"{"error":"policy_violation","violations":[]}"#,
                "PolicyViolation",
            ),
            (404, r#"{"error":"sandbox x not found"}"#, "NotFound"),
            (409, r#"{"error":"cannot stop sandbox in phase Stopped"}"#, "Conflict"),
            (400, r#"{"error":"name is required"}"#, "Api"),
            (413, r#"{"error":"payload exceeds 33554432 bytes"}"#, "Api"),
            (424, r#"{"error":"sandbox x has no entrypoint"}"#, "Api"),
            (
                429,
                r#"{"error":"rate_limited","retryAfter":3,"message":"too many requests; retry after 3 seconds"}"#,
                "Api",
            ),
            (500, "boom", "Api"),
            (301, "", "Api"),
        ];
        for (status, body, class) in cases {
            let err = error_from(*status, &HeaderMap::new(), body.as_bytes(), 1);
            let got = format!("{err:?}");
            assert!(got.starts_with(class), "{status} {body} -> {got}");
            assert_eq!(err.status(), Some(*status));
        }
    }

    #[test]
    fn messages_codes_and_headers() {
        let h = headers(&[("x-request-id", "0123456789abcdef"), ("retry-after", "3")]);
        let err = error_from(
            429,
            &h,
            br#"{"error":"rate_limited","message":"too many requests; retry after 3 seconds"}"#,
            2,
        );
        let api = err.api().unwrap();
        assert_eq!(api.message, "too many requests; retry after 3 seconds");
        assert_eq!(api.code.as_deref(), Some("rate_limited"));
        assert_eq!(api.request_id.as_deref(), Some("0123456789abcdef"));
        assert_eq!(api.retry_after, Some(std::time::Duration::from_secs(3)));
        assert_eq!(api.attempts, 2);
        assert!(err.is_retryable());
        let shown = err.to_string();
        assert!(
            shown.contains("HTTP 429") && shown.contains("0123456789abcdef") && shown.contains("2 attempts"),
            "{shown}"
        );
    }

    #[test]
    fn text_and_broken_bodies() {
        let err = error_from(404, &HeaderMap::new(), b"404 page not found\n", 1);
        assert_eq!(err.api().unwrap().message, "404 page not found");
        let broken = br#"{"error":"invalid_token","message":"unexpected signing method "HS256""}"#;
        let err = error_from(401, &HeaderMap::new(), broken, 1);
        assert!(matches!(err, Error::Authentication { .. }));
        assert_eq!(err.api().unwrap().message, "invalid_token");
        let err = error_from(405, &HeaderMap::new(), b"", 1);
        assert_eq!(err.api().unwrap().message, "Method Not Allowed");
        assert!(err.to_string().contains("405"));
    }

    #[test]
    fn policy_violations_are_kept() {
        let body = br#"{"error":"policy_violation","violations":[{"code":"user_quota_exceeded","message":"user already has 2 sandboxes (max 2)"},{"code":"template_not_allowed","message":"no"}]}"#;
        match error_from(403, &HeaderMap::new(), body, 1) {
            Error::PolicyViolation { violations, api } => {
                assert_eq!(violations.len(), 2);
                assert_eq!(violations[1].code, "template_not_allowed");
                assert_eq!(api.status, 403);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn decode_errors_carry_a_snippet() {
        let err = decode::<crate::models::SandboxInfo>("get sandbox", b"<html>oops</html>").unwrap_err();
        match &err {
            Error::Decode { context, snippet, .. } => {
                assert_eq!(context, "get sandbox");
                assert_eq!(snippet, "<html>oops</html>");
            }
            other => panic!("{other:?}"),
        }
        let long = vec![b'x'; 10_000];
        let Error::Decode { snippet, .. } = decode::<u8>("n", &long).unwrap_err() else {
            panic!()
        };
        assert!(snippet.chars().count() <= 201);
    }

    #[test]
    fn lists_tolerate_null_and_absence() {
        let v: Vec<String> = decode_list("t", br#"{"templates":null}"#, "templates").unwrap();
        assert!(v.is_empty());
        let v: Vec<String> = decode_list("t", br#"{}"#, "templates").unwrap();
        assert!(v.is_empty());
        let v: Vec<String> = decode_list("t", br#"{"templates":["a"]}"#, "templates").unwrap();
        assert_eq!(v, ["a"]);
        assert!(decode_list::<String>("t", b"[]", "templates").is_err());
    }
}
