//! Error types: [`RouterError`] for starting and running the router, and the HTTP error replies
//! handlers give, with the platform's exact bodies (wire spec §2).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::respond::go_json;

/// Why the router could not start, or a local administrative operation (keys) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RouterError {
    /// A file, socket or process operation failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The SQLite state database failed.
    #[error("database error: {0}")]
    Database(#[from] rusqlite::Error),
    /// The options or a configuration file (templates, policy) are invalid.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A key or record named by the caller does not exist.
    #[error("not found: {0}")]
    NotFound(String),
    /// The router's background thread or runtime failed.
    #[error("router runtime error: {0}")]
    Runtime(String),
}

/// One governance rule a request broke (wire spec §2.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// Machine-readable code, e.g. `user_quota_exceeded`.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
}

/// An error reply of the HTTP API.
#[derive(Debug)]
pub(crate) enum ApiError {
    /// `respondError`: `{"error":"<msg>"}` as `application/json`.
    Json(StatusCode, String),
    /// Go `http.Error` with a JSON-looking text (auth failures): `text/plain`, trailing newline.
    PlainJson(StatusCode, String),
    /// Plain text body (502 from the preview proxy).
    Text(StatusCode, String),
    /// `403 {"error":"policy_violation","violations":[...]}`.
    Policy(Vec<Violation>),
}

impl ApiError {
    pub(crate) fn bad_request(msg: impl Into<String>) -> Self {
        Self::Json(StatusCode::BAD_REQUEST, msg.into())
    }
    pub(crate) fn not_found(msg: impl Into<String>) -> Self {
        Self::Json(StatusCode::NOT_FOUND, msg.into())
    }
    pub(crate) fn conflict(msg: impl Into<String>) -> Self {
        Self::Json(StatusCode::CONFLICT, msg.into())
    }
    pub(crate) fn internal(msg: impl Into<String>) -> Self {
        Self::Json(StatusCode::INTERNAL_SERVER_ERROR, msg.into())
    }
    pub(crate) fn sandbox_not_found(id: &str) -> Self {
        Self::not_found(format!("sandbox {id} not found"))
    }
    pub(crate) fn not_running() -> Self {
        Self::conflict("sandbox is not running")
    }
    /// `403 {"error":"admin_required"}` as plain text, as the Router's `requireAdmin` writes it.
    pub(crate) fn admin_required() -> Self {
        Self::PlainJson(StatusCode::FORBIDDEN, "{\"error\":\"admin_required\"}".into())
    }
    /// A 403 with the Router's `respondError` body.
    pub(crate) fn forbidden(msg: impl Into<String>) -> Self {
        Self::Json(StatusCode::FORBIDDEN, msg.into())
    }
    /// The text a per-item result of a bulk call shows for this error.
    pub(crate) fn item_message(&self) -> String {
        match self {
            ApiError::Json(_, m) | ApiError::PlainJson(_, m) | ApiError::Text(_, m) => m.clone(),
            ApiError::Policy(v) => format!(
                "policy_violation: {}",
                v.iter().map(|v| v.message.as_str()).collect::<Vec<_>>().join("; ")
            ),
        }
    }
    /// A 401 body as the Router's auth middleware writes it.
    pub(crate) fn unauthorized(code: &str, message: Option<&str>) -> Self {
        let body = match message {
            Some(m) => format!("{{\"error\":\"{code}\",\"message\":{}}}", serde_json::Value::from(m)),
            None => format!("{{\"error\":\"{code}\"}}"),
        };
        Self::PlainJson(StatusCode::UNAUTHORIZED, body)
    }
}

/// Writes a body the way Go's `http.Error` does.
pub(crate) fn go_http_error(status: StatusCode, text: &str) -> Response {
    let mut resp = (status, format!("{text}\n")).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    resp
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

#[derive(Serialize)]
struct PolicyBody<'a> {
    error: &'static str,
    violations: &'a [Violation],
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Json(status, msg) => go_json(status, &ErrorBody { error: &msg }),
            ApiError::PlainJson(status, text) | ApiError::Text(status, text) => go_http_error(status, &text),
            ApiError::Policy(violations) => go_json(
                StatusCode::FORBIDDEN,
                &PolicyBody {
                    error: "policy_violation",
                    violations: &violations,
                },
            ),
        }
    }
}
