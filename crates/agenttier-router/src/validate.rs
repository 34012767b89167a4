//! Input checks shared by the routes.

use serde::de::DeserializeOwned;

use crate::errors::ApiError;

/// Decodes a JSON body; failures answer `400 invalid request body: <reason>` like the Router.
pub(crate) fn decode_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("invalid request body: EOF"));
    }
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
}

/// Decodes an optional body: empty means `T::default()`.
pub(crate) fn optional_body<T: DeserializeOwned + Default>(body: &[u8]) -> Result<T, ApiError> {
    if body.is_empty() {
        Ok(T::default())
    } else {
        decode_body(body)
    }
}

/// RFC 1123 label: `^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`.
pub(crate) fn is_rfc1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    let ok = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    !b.is_empty() && b.len() <= 63 && ok(&b[0]) && ok(&b[b.len() - 1]) && b.iter().all(|c| ok(c) || *c == b'-')
}

/// The 400 message for a name that is not an RFC 1123 label.
pub(crate) fn rfc1123_error(field: &str, value: &str) -> String {
    format!(
        "{field} must match RFC 1123 label rules: {value:?} must consist of at most 63 lower case \
         alphanumeric characters or '-', and must start and end with an alphanumeric character"
    )
}

#[cfg(test)]
mod tests {
    use super::is_rfc1123_label as ok;

    #[test]
    fn labels() {
        assert!(ok("a") && ok("demo-1") && ok(&"a".repeat(63)));
        assert!(!ok("") && !ok("-a") && !ok("a-") && !ok("A") && !ok("a_b") && !ok(&"a".repeat(64)));
        assert!(!ok("a.b") && !ok("ä"));
    }
}
