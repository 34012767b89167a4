//! One call to the Router: attempts with the retry policy, status and body mapped by core.

use agenttier_core::request::Request;
use agenttier_core::retry::{Decision, Outcome};
use agenttier_core::{Error, Result, deprecation, response};
use serde::de::DeserializeOwned;

use super::trace::RequestSpan;
use super::wire::{self, Download, Failure, Fetched, Limits, Opened, RawResponse, SseStream, failure_to_error};
use crate::fileio::ReadSource;
use crate::maybe;
use crate::transport::Transport;

/// What an attempt of a retried call is after: the whole answer, or a download's body.
#[derive(Clone, Copy)]
enum Goal {
    Whole,
    Body,
}

/// What an attempt got: an answer read whole, or (for [`Goal::Body`]) a body to read.
enum Got {
    Answer(RawResponse),
    Body(Box<Download>),
}

/// Attempts `req` until it succeeds or the retry policy gives up; the last attempt's result and
/// the number of attempts. A download's body is never retried once it has started. A token
/// source gets one chance to refresh a refused token (`Auth::rejected`): a 401 is then sent
/// again once, not counted as a retry.
#[maybe]
async fn with_retries(
    transport: &Transport,
    req: &Request,
    goal: Goal,
    span: &RequestSpan,
) -> (std::result::Result<Got, Failure>, u32) {
    let config = transport.config();
    // A download is retried like any idempotent call until its body starts, even a watch.
    let streaming = matches!(goal, Goal::Whole) && req.is_streaming();
    let mut retries = 0u32;
    let mut resent_after_401 = false;
    loop {
        let attempt = match goal {
            Goal::Whole => transport.send(req).await.map(Got::Answer),
            Goal::Body => match wire::open_download(transport, req).await {
                Ok(Fetched::Body(body)) => Ok(Got::Body(body)),
                Ok(Fetched::Answer(resp)) => Ok(Got::Answer(resp)),
                Err(failure) => Err(failure),
            },
        };
        let refused = matches!(&attempt, Ok(Got::Answer(resp)) if resp.status == 401);
        if refused && !resent_after_401 && config.auth.rejected() {
            resent_after_401 = true;
            continue;
        }
        let outcome = match &attempt {
            Ok(Got::Body(_)) => None,
            Ok(Got::Answer(resp)) if resp.status < 400 => None,
            Ok(Got::Answer(resp)) => Some(Outcome::Status {
                status: resp.status,
                retry_after: agenttier_core::retry::retry_after(&resp.headers),
            }),
            Err(failure) => failure.retry_outcome(),
        };
        if let Some(outcome) = outcome {
            if let Decision::RetryAfter(delay) = config.retry.decide(&req.method, streaming, retries, outcome) {
                span.retry(retries + 1, delay);
                transport.sleep(delay).await;
                retries += 1;
                continue;
            }
        }
        return (attempt, retries + 1);
    }
}

/// Sends `req` (retrying as the policy allows) and returns the success response, or the typed error.
#[maybe]
pub(crate) async fn send(transport: &Transport, req: &Request) -> Result<RawResponse> {
    let span = RequestSpan::start(req);
    let (attempt, attempts) = with_retries(transport, req, Goal::Whole, &span).await;
    let attempt = attempt.map(|got| match got {
        Got::Answer(resp) => resp,
        Got::Body(_) => unreachable!("a whole answer was asked for"),
    });
    finish(req, attempt, attempts, transport, &span)
}

/// Opens an event stream (never retried); an error status is read whole and mapped like any other.
#[maybe]
pub(crate) async fn stream(transport: &Transport, req: &Request) -> Result<SseStream> {
    let span = RequestSpan::start(req);
    match wire::open_stream(transport, req).await {
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
    match with_retries(transport, req, Goal::Body, &span).await {
        (Ok(Got::Body(body)), attempts) => {
            span.finish(body.status(), attempts, Some(body.headers()));
            Ok(*body)
        }
        (Ok(Got::Answer(resp)), attempts) => {
            span.finish(resp.status, attempts, Some(&resp.headers));
            Err(status_error(&resp, attempts))
        }
        (Err(failure), attempts) => Err(failure_to_error(
            req,
            failure,
            attempts,
            Limits::for_request(transport.config(), req),
        )),
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
    let attempt = transport
        .upload(req, body, len, &mut wire::UploadMeter::new(progress))
        .await;
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
