//! One call to the Router: attempts with the retry policy, status and body mapped by core.

use std::time::Duration;

use agenttier_core::request::Request;
use agenttier_core::retry::{Decision, Outcome};
use agenttier_core::{BoxError, Error, Result, TimeoutKind, deprecation, response};
use http::HeaderMap;
use serde::de::DeserializeOwned;

use super::trace::RequestSpan;
use crate::fileio::ReadSource;
use crate::maybe;
use crate::transport::{Download, Fetched, Opened, SseStream, Transport};

/// A complete answer from the Router.
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

/// Why an attempt produced no answer; transports report these, the exchange turns them into errors.
pub(crate) enum Failure {
    /// Connecting, sending or reading failed.
    Connection { message: String, source: BoxError },
    /// A timeout fired.
    Timeout(TimeoutKind),
    /// The body was larger than the configured limit.
    TooLarge { limit: usize },
    /// The request could not be built (bad header value, ...).
    Invalid(String),
}

/// Sends `req` (retrying as the policy allows) and returns the success response, or the typed error.
#[maybe]
pub(crate) async fn send(transport: &Transport, req: &Request) -> Result<RawResponse> {
    let span = RequestSpan::start(req);
    let config = transport.config();
    let mut retries = 0u32;
    let mut resent_after_401 = false;
    loop {
        let attempt = transport.send(req).await;
        // A token source gets one chance to refresh a refused token (`Auth::rejected`).
        if matches!(&attempt, Ok(resp) if resp.status == 401) && !resent_after_401 && config.auth.rejected() {
            resent_after_401 = true;
            continue;
        }
        let outcome = match &attempt {
            Ok(resp) if resp.status < 400 => Outcome::Status {
                status: resp.status,
                retry_after: None,
            },
            Ok(resp) => Outcome::Status {
                status: resp.status,
                retry_after: agenttier_core::retry::retry_after(&resp.headers),
            },
            Err(Failure::Connection { .. }) => Outcome::ConnectionFailed,
            Err(_) => Outcome::TimedOut,
        };
        let done = matches!(&attempt, Ok(resp) if resp.status < 400);
        if !done {
            if let Decision::RetryAfter(delay) = config.retry.decide(&req.method, req.is_streaming(), retries, outcome)
            {
                span.retry(retries + 1, delay);
                transport.sleep(delay).await;
                retries += 1;
                continue;
            }
        }
        return finish(req, attempt, retries + 1, transport, &span);
    }
}

/// Opens an event stream (never retried); an error status is read whole and mapped like any other.
#[maybe]
pub(crate) async fn stream(transport: &Transport, req: &Request) -> Result<SseStream> {
    let span = RequestSpan::start(req);
    match transport.open_stream(req).await {
        Ok(Opened::Stream(stream)) => {
            span.finish(200, 1, None);
            Ok(*stream)
        }
        Ok(Opened::Answer(resp)) if resp.status < 300 => Err(response::decode_error(
            "open an event stream",
            "the server answered without a text/event-stream body",
            &resp.body,
        )),
        Ok(Opened::Answer(resp)) => {
            span.finish(resp.status, 1, Some(&resp.headers));
            Err(status_error(&resp, 1))
        }
        Err(failure) => Err(failure_to_error(
            req,
            failure,
            1,
            Limits::for_request(transport.config(), req),
        )),
    }
}

/// Opens a download: retried like any idempotent call until the body starts; an error status
/// is read whole and mapped like any other. The body is then read with the idle timeout.
#[maybe]
pub(crate) async fn download(transport: &Transport, req: &Request) -> Result<Download> {
    let span = RequestSpan::start(req);
    let config = transport.config();
    let mut retries = 0u32;
    loop {
        let answer = match transport.open_download(req).await {
            Ok(Fetched::Body(body)) => {
                span.finish(body.status(), retries + 1, Some(body.headers()));
                return Ok(*body);
            }
            Ok(Fetched::Answer(resp)) => Ok(resp),
            Err(failure) => Err(failure),
        };
        let outcome = match &answer {
            Ok(resp) => Outcome::Status {
                status: resp.status,
                retry_after: agenttier_core::retry::retry_after(&resp.headers),
            },
            Err(Failure::Connection { .. }) => Outcome::ConnectionFailed,
            Err(_) => Outcome::TimedOut,
        };
        if let Decision::RetryAfter(delay) = config.retry.decide(&req.method, false, retries, outcome) {
            span.retry(retries + 1, delay);
            transport.sleep(delay).await;
            retries += 1;
            continue;
        }
        return Err(match answer {
            Ok(resp) => {
                span.finish(resp.status, retries + 1, Some(&resp.headers));
                status_error(&resp, retries + 1)
            }
            Err(failure) => failure_to_error(req, failure, retries + 1, Limits::for_request(transport.config(), req)),
        });
    }
}

/// Sends `req` with a body streamed from `body` (`len` bytes when known), never retried since
/// the body cannot be replayed. `progress` hears the bytes sent so far.
#[maybe]
pub(crate) async fn upload<R: ReadSource>(
    transport: &Transport,
    req: &Request,
    body: R,
    len: Option<u64>,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<RawResponse> {
    let span = RequestSpan::start(req);
    let attempt = transport.send_streaming_body(req, body, len, progress).await;
    finish(req, attempt, 1, transport, &span)
}

/// Sends `req` and decodes its JSON body.
#[maybe]
pub(crate) async fn json<T: DeserializeOwned>(transport: &Transport, req: &Request, context: &str) -> Result<T> {
    let resp = send(transport, req).await?;
    response::decode(context, &resp.body)
}

/// Sends `req` and decodes the list under `key` of its JSON body.
#[maybe]
pub(crate) async fn list<T: DeserializeOwned>(
    transport: &Transport,
    req: &Request,
    key: &str,
    context: &str,
) -> Result<Vec<T>> {
    let resp = send(transport, req).await?;
    response::decode_list(context, &resp.body, key)
}

fn finish(
    req: &Request,
    attempt: std::result::Result<RawResponse, Failure>,
    attempts: u32,
    transport: &Transport,
    span: &RequestSpan,
) -> Result<RawResponse> {
    match attempt {
        Ok(resp) => {
            span.finish(resp.status, attempts, Some(&resp.headers));
            deprecation::observe(req.method.as_str(), &req.path, &resp.headers);
            if resp.status < 300 {
                Ok(resp)
            } else {
                Err(status_error(&resp, attempts))
            }
        }
        Err(failure) => Err(failure_to_error(
            req,
            failure,
            attempts,
            Limits::for_request(transport.config(), req),
        )),
    }
}

/// The typed error of a non-success answer.
fn status_error(resp: &RawResponse, attempts: u32) -> Error {
    response::error_from(resp.status, &resp.headers, &resp.body, attempts)
}

/// The error for an attempt that got no answer.
pub(crate) fn failure_to_error(req: &Request, failure: Failure, attempts: u32, limits: Limits) -> Error {
    let method = req.method.as_str().to_owned();
    let path = req.path.clone();
    match failure {
        Failure::Connection { message, source } => Error::Transport {
            method,
            path,
            message,
            attempts,
            source: Some(source),
        },
        Failure::Timeout(kind) => {
            let after = match kind {
                TimeoutKind::Connect => limits.connect,
                TimeoutKind::Idle => limits.idle,
                _ => limits.request,
            };
            Error::Timeout {
                kind,
                after,
                method,
                path,
            }
        }
        Failure::TooLarge { limit } => Error::Transport {
            method,
            path,
            message: format!("response body exceeds the {limit}-byte limit (raise ClientBuilder::max_response_bytes)"),
            attempts,
            source: None,
        },
        Failure::Invalid(message) => Error::invalid_input(message),
    }
}

/// Whether an answer is an event stream (success status and `text/event-stream`).
pub(crate) fn is_event_stream(status: u16, headers: &HeaderMap) -> bool {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    status < 300
        && content_type
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("text/event-stream")
}

/// The timeouts that applied to one request, for error messages.
#[derive(Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) connect: Duration,
    pub(crate) request: Duration,
    pub(crate) idle: Duration,
}

impl Limits {
    /// The limits `config` gives `req`.
    pub(crate) fn for_request(config: &agenttier_core::ClientConfig, req: &Request) -> Limits {
        Limits {
            connect: config.connect_timeout,
            request: req.timeout.unwrap_or(config.timeout),
            idle: config.stream_idle_timeout,
        }
    }
}
