//! The one error type of the SDK, shared by both client flavours.
//!
//! Variants follow the classes of the official Python SDK's hierarchy (authentication,
//! authorization, policy violation, not found, conflict, sandbox timeout, sandbox error state,
//! any other API status) and add what that hierarchy lets escape: transport failures, timeouts
//! (saying which one), undecodable bodies, broken streams, invalid input and configuration.

use std::fmt;
use std::time::Duration;

use crate::models::Violation;

/// A boxed error source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Result alias used across the SDK.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in an SDK call.
///
/// ```
/// # use agenttier_core::Error;
/// fn describe(err: &Error) -> &'static str {
///     match err {
///         Error::PolicyViolation { .. } => "the platform's policy refused it",
///         Error::NotFound { .. } | Error::Conflict { .. } => "wrong sandbox or wrong state",
///         e if e.is_retryable() => "try again later",
///         _ => "failed",
///     }
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 401: missing, malformed or rejected credentials.
    #[error(
        "authentication failed: {api} (set AGENTTIER_API_KEY or AGENTTIER_TOKEN, or pass credentials to the client builder)"
    )]
    Authentication {
        /// The server's answer.
        api: Box<ApiError>,
    },
    /// 403 other than a policy violation: the caller may not do this.
    #[error("not authorized: {api}")]
    Authorization {
        /// The server's answer.
        api: Box<ApiError>,
    },
    /// 403 `policy_violation`: governance refused the request.
    #[error("policy violation: {}", describe_violations(violations, api))]
    PolicyViolation {
        /// Each violated rule, with the platform's `code`.
        violations: Vec<Violation>,
        /// The server's answer.
        api: Box<ApiError>,
    },
    /// 404: no such resource, or one the caller may not see.
    #[error("not found: {api}")]
    NotFound {
        /// The server's answer.
        api: Box<ApiError>,
    },
    /// 409: the resource exists already or is in the wrong state.
    #[error("conflict: {api}")]
    Conflict {
        /// The server's answer.
        api: Box<ApiError>,
    },
    /// Any other non-success status (400, 413, 424, 429, 5xx, ...).
    #[error("API error: {api}")]
    Api {
        /// The server's answer.
        api: Box<ApiError>,
    },
    /// A sandbox did not reach `Running` in time.
    #[error("sandbox {sandbox_id} did not become Running within {waited:?} (last phase: {last_phase:?})")]
    SandboxTimeout {
        /// The sandbox waited on.
        sandbox_id: String,
        /// The phase it was in when the wait ended.
        last_phase: String,
        /// How long the caller waited.
        waited: Duration,
    },
    /// A sandbox reached the `Error` phase while being waited on.
    #[error("sandbox {sandbox_id} is in the Error phase: {message}")]
    SandboxErrorState {
        /// The sandbox waited on.
        sandbox_id: String,
        /// The Router's status message.
        message: String,
    },
    /// A timeout elapsed before the server answered.
    #[error(
        "{kind} timeout after {after:?} ({method} {path}); raise it with the client builder if the call is expected to take longer"
    )]
    Timeout {
        /// Which timeout fired.
        kind: TimeoutKind,
        /// The configured limit.
        after: Duration,
        /// HTTP method of the request.
        method: String,
        /// Request path (no query string).
        path: String,
    },
    /// The request could not be sent or the response could not be read.
    #[error("{method} {path} failed without an answer from the server ({attempts} attempt{}): {message}", if *attempts == 1 { "" } else { "s" })]
    Transport {
        /// HTTP method of the request.
        method: String,
        /// Request path (no query string).
        path: String,
        /// What went wrong, in words.
        message: String,
        /// How many attempts were made.
        attempts: u32,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// A success response whose body is not what the API promises.
    #[error("could not decode the response to {context}: {message}; body starts with {snippet:?}")]
    Decode {
        /// What was being decoded.
        context: String,
        /// The decoder's complaint.
        message: String,
        /// The first bytes of the body, for diagnosis.
        snippet: String,
    },
    /// An event stream broke off or carried something that cannot be understood.
    #[error("event stream failed: {message}")]
    Stream {
        /// What went wrong.
        message: String,
    },
    /// An argument was refused before any request was sent.
    #[error("invalid input: {message}")]
    InvalidInput {
        /// What was wrong and how to fix it.
        message: String,
    },
    /// The client could not be configured (bad URL, unreadable certificate, ...).
    #[error("configuration error: {message}")]
    Config {
        /// What was wrong and how to fix it.
        message: String,
    },
    /// A local file, reader or writer failed during a transfer (the server may be fine).
    #[error("{context}: {source}")]
    LocalIo {
        /// What was being done, e.g. `reading /tmp/a.bin`.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The Kubernetes API server refused a call (feature `kruise`): its `Status`, whole.
    /// [`KubeStatus::kind`](crate::kruise::KubeStatus::kind) gives the class (not found,
    /// validation with causes, permission denied, conflict, gone, timeout, other).
    #[cfg(feature = "kruise")]
    #[error("Kubernetes API error: {status}")]
    Kubernetes {
        /// The server's `Status`.
        status: Box<crate::kruise::KubeStatus>,
    },
    /// A Kubernetes wait or watch deadline passed before the goal was reached (feature `kruise`).
    #[cfg(feature = "kruise")]
    #[error("{what} not reached within {after:?}; last seen: {last_seen}")]
    WaitTimeout {
        /// What was waited for, e.g. `Sandbox team-a/s1 condition Ready=True`.
        what: String,
        /// The deadline.
        after: Duration,
        /// A summary of the last state seen.
        last_seen: String,
    },
}

/// Which timeout fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeoutKind {
    /// Establishing the connection took too long.
    Connect,
    /// The whole call (unary requests) took too long.
    Request,
    /// A stream stayed silent for longer than the idle timeout.
    Idle,
}

impl fmt::Display for TimeoutKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeoutKind::Connect => "connect",
            TimeoutKind::Request => "request",
            TimeoutKind::Idle => "idle read",
        })
    }
}

/// What the server answered with a non-success status.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status code.
    pub status: u16,
    /// Human-readable message: the body's `error` field, else `message`, else the text, else the reason phrase.
    pub message: String,
    /// The machine-readable `error` code when the body has a separate `message` (for example `rate_limited`).
    pub code: Option<String>,
    /// The raw body (capped at [`ApiError::MAX_BODY`] bytes).
    pub body: String,
    /// The `X-Request-ID` the Router stamped on the response.
    pub request_id: Option<String>,
    /// The `Retry-After` delay, when the server gave one.
    pub retry_after: Option<Duration>,
    /// How many attempts were made before giving up.
    pub attempts: u32,
}

impl ApiError {
    /// Largest body kept in an error.
    pub const MAX_BODY: usize = 64 * 1024;
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (HTTP {})", self.message, self.status)?;
        if let Some(id) = &self.request_id {
            write!(f, " [request {id}]")?;
        }
        if self.attempts > 1 {
            write!(f, " after {} attempts", self.attempts)?;
        }
        Ok(())
    }
}

fn describe_violations(violations: &[Violation], api: &ApiError) -> String {
    if violations.is_empty() {
        return api.to_string();
    }
    violations
        .iter()
        .map(|v| format!("{} ({})", v.message, v.code))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// The server's answer, for errors that carry one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Authentication { api }
            | Error::Authorization { api }
            | Error::PolicyViolation { api, .. }
            | Error::NotFound { api }
            | Error::Conflict { api }
            | Error::Api { api } => Some(api),
            _ => None,
        }
    }

    /// The HTTP status, for errors that come from a server answer.
    pub fn status(&self) -> Option<u16> {
        #[cfg(feature = "kruise")]
        if let Error::Kubernetes { status } = self {
            return Some(status.code);
        }
        self.api().map(|a| a.status)
    }

    /// The Router's request id, when the server answered.
    pub fn request_id(&self) -> Option<&str> {
        self.api().and_then(|a| a.request_id.as_deref())
    }

    /// Whether trying the same call again later may succeed: connection failures, timeouts,
    /// 408, 429 and 5xx other than 501.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { .. } | Error::Timeout { .. } => true,
            _ => self.status().is_some_and(crate::retry::is_retryable_status),
        }
    }

    /// Shorthand for an [`Error::InvalidInput`].
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Error::InvalidInput {
            message: message.into(),
        }
    }

    /// Shorthand for an [`Error::Config`].
    pub fn config(message: impl Into<String>) -> Self {
        Error::Config {
            message: message.into(),
        }
    }

    /// Shorthand for an [`Error::LocalIo`].
    pub fn local_io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::LocalIo {
            context: context.into(),
            source,
        }
    }

    /// Shorthand for an [`Error::Stream`].
    pub fn stream(message: impl Into<String>) -> Self {
        Error::Stream {
            message: message.into(),
        }
    }
}

impl From<crate::sse::SseError> for Error {
    fn from(err: crate::sse::SseError) -> Self {
        Error::stream(err.to_string())
    }
}
