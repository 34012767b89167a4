//! Request-level `tracing` spans (feature `tracing`): one `agenttier.request` span per call,
//! with the method, the route template, the path, and, once known, the status, the number of
//! attempts and the server's request id. Retries are events inside it. Without the feature
//! everything here compiles to nothing.
//!
//! The span is never entered (entering across an `.await` would be wrong in the async
//! flavour): fields are recorded on it and events name it as their parent.

use std::time::Duration;

use agenttier_core::request::Request;
use http::HeaderMap;

/// The span of one call.
pub(crate) struct RequestSpan {
    #[cfg(feature = "tracing")]
    span: tracing::Span,
}

#[cfg(feature = "tracing")]
impl RequestSpan {
    /// Opens the span of `req`.
    pub(crate) fn start(req: &Request) -> RequestSpan {
        let span = tracing::debug_span!(
            "agenttier.request",
            http.request.method = %req.method,
            http.route = %agenttier_core::request::route_template(req.prefix, &req.path),
            url.path = %req.path,
            http.response.status_code = tracing::field::Empty,
            attempts = tracing::field::Empty,
            request_id = tracing::field::Empty,
        );
        RequestSpan { span }
    }

    /// An attempt failed and another follows after `delay`.
    pub(crate) fn retry(&self, attempt: u32, delay: Duration) {
        tracing::debug!(parent: &self.span, attempt, ?delay, "retrying AgentTier request");
    }

    /// The answer that ends the call.
    pub(crate) fn finish(&self, status: u16, attempts: u32, headers: Option<&HeaderMap>) {
        self.span.record("http.response.status_code", status);
        self.span.record("attempts", attempts);
        if let Some(id) = headers
            .and_then(|h| h.get("x-request-id"))
            .and_then(|v| v.to_str().ok())
        {
            self.span.record("request_id", id);
        }
        tracing::debug!(parent: &self.span, status, attempts, "AgentTier request finished");
    }
}

#[cfg(not(feature = "tracing"))]
impl RequestSpan {
    pub(crate) fn start(_: &Request) -> RequestSpan {
        RequestSpan {}
    }

    pub(crate) fn retry(&self, _: u32, _: Duration) {}

    pub(crate) fn finish(&self, _: u16, _: u32, _: Option<&HeaderMap>) {}
}
