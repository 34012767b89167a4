//! `metav1.Status`: the body of every Kubernetes error, and what a delete answers.
//!
//! Every failed call of the Kubernetes clients is one variant, [`Error::Kubernetes`], holding the
//! server's `Status` whole ([`KubeStatus`]); [`KubeStatus::kind`] sorts it into the classes of the
//! Python client's exceptions (not found, validation with causes, permission denied, conflict,
//! timeout, other), and [`KubeStatus::reason`] keeps the server's finer `reason`.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::models::open_reason;
use crate::response::decode_error;
use crate::{Error, Result};

open_reason! {
    /// `Status.reason`.
    StatusReason {
        /// 404.
        NotFound = "NotFound",
        /// 409 on create.
        AlreadyExists = "AlreadyExists",
        /// 409 on a stale `resourceVersion`.
        Conflict = "Conflict",
        /// 422, with field causes.
        Invalid = "Invalid",
        /// 400.
        BadRequest = "BadRequest",
        /// 401.
        Unauthorized = "Unauthorized",
        /// 403.
        Forbidden = "Forbidden",
        /// 410, a continue token or watch `resourceVersion` too old.
        Expired = "Expired",
        /// 410.
        Gone = "Gone",
        /// 504 or a server-side timeout.
        Timeout = "Timeout",
        /// 500 with a retry hint.
        ServerTimeout = "ServerTimeout",
        /// 429.
        TooManyRequests = "TooManyRequests",
        /// 405.
        MethodNotAllowed = "MethodNotAllowed",
        /// 415 (for example a strategic merge patch on a custom resource).
        UnsupportedMediaType = "UnsupportedMediaType",
        /// 500.
        InternalError = "InternalError",
        /// 503.
        ServiceUnavailable = "ServiceUnavailable",
    }
}

/// The class of a Kubernetes error, as the Python client's exceptions sort them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KubeErrorKind {
    /// 404: no such object (or namespace, or kind).
    NotFound,
    /// 422 `Invalid` or 400 `BadRequest`: see [`KubeStatus::causes`].
    Validation,
    /// 401 or 403.
    PermissionDenied,
    /// 409: `AlreadyExists` or a stale `resourceVersion`.
    Conflict,
    /// 410: a resource version or continue token expired (watches and lists recover by relisting).
    Gone,
    /// 504 or reason `Timeout`.
    Timeout,
    /// 429 or 503: try later.
    Unavailable,
    /// Anything else.
    Other,
}

/// One field error of an `Invalid` status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct StatusCause {
    /// e.g. `FieldValueRequired`.
    pub reason: String,
    /// Human-readable.
    pub message: String,
    /// JSON path of the field, e.g. `spec.replicas`.
    pub field: String,
}

/// `Status.details`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
#[non_exhaustive]
pub struct StatusDetails {
    /// Object name.
    pub name: String,
    /// API group.
    pub group: String,
    /// Kind (or plural).
    pub kind: String,
    /// Object uid.
    pub uid: String,
    /// Field errors.
    pub causes: Vec<StatusCause>,
    /// Server's retry hint.
    pub retry_after_seconds: Option<u64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WireStatus {
    kind: String,
    status: String,
    message: String,
    reason: String,
    code: u16,
    details: Option<StatusDetails>,
}

/// A Kubernetes `Status` from a failed call (or a watch `ERROR` event), kept whole.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KubeStatus {
    /// HTTP status (the body's `code`, else the response's).
    pub code: u16,
    /// `reason`; `None` when the server gave none.
    pub reason: Option<StatusReason>,
    /// `message` (or the body text when it was not a `Status`).
    pub message: String,
    /// `details`.
    pub details: Option<StatusDetails>,
    /// The raw body (capped like other API errors).
    pub body: String,
    /// `Retry-After`, when the server gave one.
    pub retry_after: Option<Duration>,
    /// How many attempts were made.
    pub attempts: u32,
}

impl KubeStatus {
    /// Reads a `Status` out of an error body; anything else becomes the message.
    pub fn from_body(code: u16, body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(&body[..body.len().min(crate::ApiError::MAX_BODY)]).into_owned();
        let wire: Option<WireStatus> = serde_json::from_slice(body).ok();
        match wire {
            Some(w) if w.kind == "Status" || !w.reason.is_empty() || !w.message.is_empty() => KubeStatus {
                code: if w.code != 0 { w.code } else { code },
                reason: (!w.reason.is_empty()).then(|| StatusReason::from(w.reason.as_str())),
                message: if w.message.is_empty() { w.status } else { w.message },
                details: w.details,
                body: text,
                retry_after: None,
                attempts: 1,
            },
            _ => KubeStatus {
                code,
                reason: None,
                message: {
                    let t = text.trim();
                    if t.is_empty() {
                        http::StatusCode::from_u16(code)
                            .ok()
                            .and_then(|s| s.canonical_reason())
                            .unwrap_or("request failed")
                            .to_owned()
                    } else {
                        t.chars().take(500).collect()
                    }
                },
                details: None,
                body: text,
                retry_after: None,
                attempts: 1,
            },
        }
    }

    /// Reads the `object` of a watch `ERROR` event.
    pub fn from_value(value: &Value) -> Self {
        let code = value.get("code").and_then(Value::as_u64).unwrap_or(500) as u16;
        Self::from_body(code, value.to_string().as_bytes())
    }

    /// The class of the error.
    pub fn kind(&self) -> KubeErrorKind {
        use StatusReason as R;
        match (&self.reason, self.code) {
            (Some(R::NotFound), _) | (_, 404) => KubeErrorKind::NotFound,
            (Some(R::Invalid | R::BadRequest), _) | (_, 400 | 422) => KubeErrorKind::Validation,
            (Some(R::Unauthorized | R::Forbidden), _) | (_, 401 | 403) => KubeErrorKind::PermissionDenied,
            (Some(R::AlreadyExists | R::Conflict), _) | (_, 409) => KubeErrorKind::Conflict,
            (Some(R::Expired | R::Gone), _) | (_, 410) => KubeErrorKind::Gone,
            (Some(R::Timeout), _) | (_, 504) => KubeErrorKind::Timeout,
            (Some(R::TooManyRequests | R::ServiceUnavailable), _) | (_, 429 | 503) => KubeErrorKind::Unavailable,
            _ => KubeErrorKind::Other,
        }
    }

    /// The field errors of a validation failure (empty otherwise).
    pub fn causes(&self) -> &[StatusCause] {
        self.details.as_ref().map(|d| d.causes.as_slice()).unwrap_or_default()
    }

    /// A status made on the client's side (e.g. an object deleted while being waited on).
    pub fn local(code: u16, reason: StatusReason, message: impl Into<String>) -> Self {
        KubeStatus {
            code,
            reason: Some(reason),
            message: message.into(),
            details: None,
            body: String::new(),
            retry_after: None,
            attempts: 0,
        }
    }
}

impl fmt::Display for KubeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (HTTP {}", self.message, self.code)?;
        if let Some(reason) = &self.reason {
            write!(f, ", {reason}")?;
        }
        f.write_str(")")?;
        for cause in self.causes() {
            write!(f, "; {}: {}", cause.field, cause.message)?;
        }
        if self.attempts > 1 {
            write!(f, " after {} attempts", self.attempts)?;
        }
        Ok(())
    }
}

impl From<KubeStatus> for Error {
    fn from(status: KubeStatus) -> Self {
        Error::Kubernetes {
            status: Box::new(status),
        }
    }
}

/// Turns the Router-style API errors that the shared exchange produces into
/// [`Error::Kubernetes`], reading the server's `Status`; other errors pass through.
pub fn remap(err: Error) -> Error {
    match err.api() {
        Some(api) => {
            let mut status = KubeStatus::from_body(api.status, api.body.as_bytes());
            status.retry_after = api.retry_after;
            status.attempts = api.attempts;
            status.into()
        }
        None => err,
    }
}

impl Error {
    /// The Kubernetes `Status` of a failed Kubernetes call.
    pub fn kube_status(&self) -> Option<&KubeStatus> {
        match self {
            Error::Kubernetes { status } => Some(status),
            _ => None,
        }
    }

    /// The class of a Kubernetes error ([`KubeErrorKind`]).
    pub fn kube_kind(&self) -> Option<KubeErrorKind> {
        self.kube_status().map(KubeStatus::kind)
    }
}

/// What a delete answered.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum DeleteOutcome<K> {
    /// Deleted now; the server's `Status`.
    Deleted(Box<KubeStatus>),
    /// Accepted, but finalizers hold the object (it has a `deletionTimestamp`); the object as it
    /// is now. The normal case for a Sandbox (finalizer `agents.kruise.io/sandbox`).
    Pending(K),
}

impl<K> DeleteOutcome<K> {
    /// Whether the object is gone already.
    pub fn is_deleted(&self) -> bool {
        matches!(self, DeleteOutcome::Deleted(_))
    }
}

/// Decodes a delete answer: a `Status` (deleted) or the object (pending on finalizers). Some
/// servers return the object without `deletionTimestamp` when nothing held it; that is deleted.
pub fn decode_delete<K: super::Resource>(code: u16, body: &[u8]) -> Result<DeleteOutcome<K>> {
    let value: Value = serde_json::from_slice(body).map_err(|e| decode_error("delete", &e.to_string(), body))?;
    if value.get("kind").and_then(Value::as_str) == Some("Status") {
        return Ok(DeleteOutcome::Deleted(Box::new(KubeStatus::from_body(code, body))));
    }
    let obj: K = serde_json::from_value(value).map_err(|e| decode_error("delete", &e.to_string(), body))?;
    if obj.metadata().deletion_timestamp.is_some() && !obj.metadata().finalizers.is_empty() {
        Ok(DeleteOutcome::Pending(obj))
    } else {
        let mut status = KubeStatus::local(code, StatusReason::Other("Deleted".into()), "deleted");
        status.details = Some(StatusDetails {
            name: obj.name().to_owned(),
            kind: K::KIND.to_owned(),
            uid: obj.metadata().uid.clone().unwrap_or_default(),
            ..Default::default()
        });
        Ok(DeleteOutcome::Deleted(Box::new(status)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kruise::{Resource as _, Sandbox};

    #[test]
    fn status_table() {
        let cases: &[(u16, &str, KubeErrorKind)] = &[
            (
                404,
                r#"{"kind":"Status","status":"Failure","reason":"NotFound","code":404,"message":"sandboxes.agents.kruise.io \"x\" not found"}"#,
                KubeErrorKind::NotFound,
            ),
            (
                422,
                r#"{"kind":"Status","reason":"Invalid","code":422,"message":"bad","details":{"causes":[{"reason":"FieldValueRequired","message":"Required value","field":"spec.replicas"}]}}"#,
                KubeErrorKind::Validation,
            ),
            (
                400,
                r#"{"kind":"Status","reason":"BadRequest","code":400,"message":"field label not supported: spec.x"}"#,
                KubeErrorKind::Validation,
            ),
            (
                401,
                r#"{"kind":"Status","reason":"Unauthorized","code":401,"message":"Unauthorized"}"#,
                KubeErrorKind::PermissionDenied,
            ),
            (
                403,
                r#"{"kind":"Status","reason":"Forbidden","code":403,"message":"forbidden"}"#,
                KubeErrorKind::PermissionDenied,
            ),
            (
                409,
                r#"{"kind":"Status","reason":"AlreadyExists","code":409,"message":"exists"}"#,
                KubeErrorKind::Conflict,
            ),
            (
                409,
                r#"{"kind":"Status","reason":"Conflict","code":409,"message":"the object has been modified"}"#,
                KubeErrorKind::Conflict,
            ),
            (
                410,
                r#"{"kind":"Status","reason":"Expired","code":410,"message":"too old resource version: 1 (5)"}"#,
                KubeErrorKind::Gone,
            ),
            (
                504,
                r#"{"kind":"Status","reason":"Timeout","code":504,"message":"timeout"}"#,
                KubeErrorKind::Timeout,
            ),
            (
                429,
                r#"{"kind":"Status","reason":"TooManyRequests","code":429,"message":"slow down"}"#,
                KubeErrorKind::Unavailable,
            ),
            (
                415,
                r#"{"kind":"Status","reason":"UnsupportedMediaType","code":415,"message":"the body of the request was in an unknown format"}"#,
                KubeErrorKind::Other,
            ),
            (500, "upstream connect error", KubeErrorKind::Other),
            (404, "404 page not found", KubeErrorKind::NotFound),
        ];
        for (code, body, kind) in cases {
            let status = KubeStatus::from_body(*code, body.as_bytes());
            assert_eq!(status.kind(), *kind, "{code} {body}");
            assert_eq!(status.code, *code);
        }
        let invalid = KubeStatus::from_body(422, cases[1].1.as_bytes());
        assert_eq!(invalid.causes()[0].field, "spec.replicas");
        assert!(
            invalid.to_string().contains("spec.replicas: Required value"),
            "{invalid}"
        );
        assert_eq!(KubeStatus::from_body(503, b"").message, "Service Unavailable");
    }

    #[test]
    fn remapping_keeps_attempts_and_retry_after() {
        let mut headers = http::HeaderMap::new();
        headers.insert("retry-after", "2".parse().unwrap());
        let api_err = crate::response::error_from(
            429,
            &headers,
            br#"{"kind":"Status","reason":"TooManyRequests","code":429,"message":"slow"}"#,
            3,
        );
        let err = remap(api_err);
        let status = err.kube_status().unwrap();
        assert_eq!(status.attempts, 3);
        assert_eq!(status.retry_after, Some(Duration::from_secs(2)));
        assert_eq!(err.status(), Some(429));
        assert!(err.is_retryable());
        assert_eq!(err.kube_kind(), Some(KubeErrorKind::Unavailable));
        let other = remap(Error::invalid_input("x"));
        assert!(matches!(other, Error::InvalidInput { .. }));
    }

    #[test]
    fn delete_answers() {
        let deleted = decode_delete::<Sandbox>(
            200,
            br#"{"kind":"Status","apiVersion":"v1","status":"Success","details":{"name":"s","group":"agents.kruise.io","kind":"sandboxes","uid":"u"}}"#,
        )
        .unwrap();
        assert!(deleted.is_deleted());
        let pending = decode_delete::<Sandbox>(
            200,
            br#"{"kind":"Sandbox","metadata":{"name":"s","deletionTimestamp":"2026-01-01T00:00:00Z","finalizers":["agents.kruise.io/sandbox"]}}"#,
        )
        .unwrap();
        assert!(matches!(pending, DeleteOutcome::Pending(ref s) if s.name() == "s"));
        let gone = decode_delete::<Sandbox>(200, br#"{"kind":"Sandbox","metadata":{"name":"s"}}"#).unwrap();
        assert!(gone.is_deleted());
    }
}
