//! The transport contract: what a transport hands the client, and the rules about bodies that
//! both flavours share.
//!
//! A transport (`crate::transport`, one per flavour) only moves bytes. It defines, under the same
//! names in both flavours:
//!
//! - `Transport::send(req)`: one attempt of a unary call, the whole body read with
//!   [`read_whole`] under the call's timeout;
//! - `Transport::open(req)`: one attempt whose body is read progressively ([`Head`]), with the
//!   stream idle timeout between reads;
//! - `Transport::upload(req, source, len, meter)`: one attempt whose body comes from a local
//!   source through an [`UploadMeter`];
//! - `Transport::sleep(d)` and `Transport::config()`;
//! - `Body::next_chunk(doing)`: the next piece of a body, or `None` at its end.
//!
//! Everything else lives here, written once: the size limit of unary bodies, the
//! `Content-Length` rule of downloads, the event-stream test, the SSE read loop, the upload
//! limit, and how a [`Failure`] becomes an [`Error`]. This module imports nothing from the client
//! above it; the transports import nothing else from the client.

use std::fmt;
use std::time::Duration;

use agenttier_core::models::MAX_FILE_BYTES;
use agenttier_core::proxy::{self, Answer, Tunnel};
use agenttier_core::request::Request;
use agenttier_core::retry::Outcome;
use agenttier_core::sse::{SseEvent, SseParser};
use agenttier_core::{BoxError, ClientConfig, Error, Result, TimeoutKind};
use http::HeaderMap;

use crate::maybe;
use crate::transport::{Body, Transport};

/// Size of the buffers bodies are read in.
pub(crate) const CHUNK: usize = 64 * 1024;

/// A complete answer from the Router.
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

/// An answer whose body has not been read yet.
pub(crate) struct Head {
    pub(crate) status: u16,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Body,
}

/// Why an attempt produced no answer; transports report these, the exchange turns them into errors.
pub(crate) enum Failure {
    /// Connecting, sending or reading failed.
    Connection { message: String, source: BoxError },
    /// A timeout fired.
    Timeout(TimeoutKind),
    /// The body was larger than the configured limit.
    TooLarge { limit: usize },
    /// The request could not be built (bad header value, upload over the limit, ...).
    Invalid(String),
}

impl Failure {
    /// What the retry policy is asked about; `None` for failures no retry can fix (an invalid
    /// request, a body over the limit), which end the call at once.
    pub(crate) fn retry_outcome(&self) -> Option<Outcome> {
        match self {
            Failure::Connection { .. } => Some(Outcome::ConnectionFailed),
            Failure::Timeout(_) => Some(Outcome::TimedOut),
            Failure::TooLarge { .. } | Failure::Invalid(_) => None,
        }
    }
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
    pub(crate) fn for_request(config: &ClientConfig, req: &Request) -> Limits {
        Limits {
            connect: config.connect_timeout,
            request: req.timeout.unwrap_or(config.timeout),
            idle: config.stream_idle_timeout,
        }
    }
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

/// A WebSocket (terminal) failure on `path`: the upgrade is one `GET`, never retried.
pub(crate) fn websocket_failure(path: &str, message: String, source: Option<BoxError>) -> Error {
    Error::Transport {
        method: "GET".into(),
        path: path.to_owned(),
        message,
        attempts: 1,
        source,
    }
}

/// The proxy a terminal to `host` (`wss://` when `secure`) tunnels through: the client's
/// configured one, else the environment's (see [`agenttier_core::proxy`]).
pub(crate) fn tunnel_for(config: &ClientConfig, host: &str, secure: bool) -> Result<Option<Tunnel>> {
    proxy::for_target(config.proxy.as_deref(), host, secure, |var| std::env::var(var).ok())
}

/// Reads the proxy's answer to `CONNECT` so far (`head`, read byte by byte): `true` once the
/// tunnel is open. A refusal or an answer that is not HTTP is the terminal's transport error.
pub(crate) fn tunnel_answer(head: &[u8], tunnel: &Tunnel, path: &str) -> Result<bool> {
    let refused = |message: String| websocket_failure(path, format!("proxy {}: {message}", tunnel.address), None);
    match proxy::read_answer(head) {
        Ok(Answer::Incomplete) => Ok(false),
        Ok(Answer::Established(_)) => Ok(true),
        Ok(Answer::Refused(status, reason)) => Err(refused(format!("the tunnel was refused: {status} {reason}"))),
        Err(e) => Err(refused(e.to_string())),
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

/// `Content-Length` of a body that is not content-encoded (both HTTP stacks decode gzip
/// themselves, so an encoded length says nothing about the bytes the caller will get).
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    if headers.contains_key(http::header::CONTENT_ENCODING) {
        return None;
    }
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Counts the bytes of an upload as they go, reports progress, and stops past the Router's
/// per-file limit.
pub(crate) struct UploadMeter<'a> {
    sent: u64,
    progress: &'a (dyn Fn(u64) + Send + Sync),
}

impl<'a> UploadMeter<'a> {
    pub(crate) fn new(progress: &'a (dyn Fn(u64) + Send + Sync)) -> Self {
        UploadMeter { sent: 0, progress }
    }

    /// Counts `n` more bytes read from the source; an error (to hand the HTTP stack, which
    /// then abandons the request) once the limit is passed.
    pub(crate) fn count(&mut self, n: usize) -> std::io::Result<()> {
        self.sent += n as u64;
        if self.sent > MAX_FILE_BYTES {
            return Err(std::io::Error::other("upload exceeds the per-file limit"));
        }
        (self.progress)(self.sent);
        Ok(())
    }

    /// The failure to report for an upload past the limit.
    pub(crate) fn too_large() -> Failure {
        Failure::Invalid(format!(
            "the upload is larger than {MAX_FILE_BYTES} bytes, the Router's per-file limit (32 MiB)"
        ))
    }
}

/// Reads a whole body, refusing one larger than `limit`.
#[maybe]
pub(crate) async fn read_whole(head: Head, limit: usize) -> std::result::Result<RawResponse, Failure> {
    let Head {
        status,
        headers,
        mut body,
    } = head;
    let mut bytes = Vec::new();
    while let Some(chunk) = body.next_chunk("reading the response").await? {
        if bytes.len() + chunk.len() > limit {
            return Err(Failure::TooLarge { limit });
        }
        bytes.extend_from_slice(chunk);
    }
    Ok(RawResponse {
        status,
        headers,
        body: bytes,
    })
}

/// What opening a stream gave: the stream, or a plain answer (an error status).
pub(crate) enum Opened {
    Stream(Box<SseStream>),
    Answer(RawResponse),
}

/// What opening a download gave: the body, or a plain answer (an error status).
pub(crate) enum Fetched {
    Body(Box<Download>),
    Answer(RawResponse),
}

/// Opens an event stream; an answer that is not one (an error status) is read whole.
#[maybe]
pub(crate) async fn open_stream(transport: &Transport, req: &Request) -> std::result::Result<Opened, Failure> {
    let head = transport.open(req).await?;
    if !is_event_stream(head.status, &head.headers) {
        return read_whole(head, transport.config().max_response_bytes)
            .await
            .map(Opened::Answer);
    }
    Ok(Opened::Stream(Box::new(SseStream {
        body: head.body,
        events: SseEvents {
            parser: SseParser::new(),
            ended: false,
            request: Request::new(req.method.clone(), req.path.clone()),
            limits: Limits::for_request(transport.config(), req),
        },
    })))
}

/// Opens a body to read in chunks (a download or a watch): a success answer is returned unread,
/// to be read with the idle timeout; an error status is read whole.
#[maybe]
pub(crate) async fn open_download(transport: &Transport, req: &Request) -> std::result::Result<Fetched, Failure> {
    let head = transport.open(req).await?;
    if head.status >= 300 {
        return read_whole(head, transport.config().max_response_bytes)
            .await
            .map(Fetched::Answer);
    }
    Ok(Fetched::Body(Box::new(Download {
        len: content_length(&head.headers),
        status: head.status,
        headers: head.headers,
        body: head.body,
        request: Request::new(req.method.clone(), req.path.clone()),
        limits: Limits::for_request(transport.config(), req),
    })))
}

/// A Server-Sent Events body being read: bytes from the transport, events from the core parser.
pub(crate) struct SseStream {
    pub(crate) body: Body,
    pub(crate) events: SseEvents,
}

/// The parsing half of an [`SseStream`], apart from its body so both can be borrowed at once.
pub(crate) struct SseEvents {
    parser: SseParser,
    ended: bool,
    request: Request,
    limits: Limits,
}

impl fmt::Debug for SseStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseStream")
            .field("path", &self.events.request.path)
            .field("ended", &self.events.ended)
            .finish()
    }
}

impl SseEvents {
    /// An event already parsed, or `Some(None)` once the stream is over; `None` when more bytes
    /// are needed.
    pub(crate) fn buffered(&mut self) -> Option<Option<Result<SseEvent>>> {
        if let Some(event) = self.parser.next_event() {
            return Some(Some(Ok(event)));
        }
        self.ended.then_some(None)
    }

    /// Feeds the outcome of one read to the parser; the error that ends the stream, if any.
    pub(crate) fn absorb(&mut self, read: std::result::Result<Option<&[u8]>, Failure>) -> Option<Result<SseEvent>> {
        let step = match read {
            Ok(None) => {
                self.ended = true;
                self.parser.finish().map_err(Error::from)
            }
            Ok(Some(chunk)) => self.parser.push(chunk).map_err(Error::from),
            Err(failure) => Err(failure_to_error(&self.request, failure, 1, self.limits)),
        };
        step.err().map(|err| {
            self.ended = true;
            Err(err)
        })
    }
}

#[maybe]
impl SseStream {
    /// The next event; `None` once the body has ended cleanly.
    pub(crate) async fn next_item(&mut self) -> Option<Result<SseEvent>> {
        loop {
            if let Some(done) = self.events.buffered() {
                return done;
            }
            let read = self.body.next_chunk("reading the event stream").await;
            if let Some(err) = self.events.absorb(read) {
                return Some(err);
            }
        }
    }
}

/// A response body read in chunks with the idle timeout between reads: a file download, an
/// archive, or a Kubernetes watch.
pub(crate) struct Download {
    pub(crate) body: Body,
    len: Option<u64>,
    status: u16,
    headers: HeaderMap,
    request: Request,
    limits: Limits,
}

impl fmt::Debug for Download {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Download")
            .field("path", &self.request.path)
            .field("len", &self.len)
            .finish()
    }
}

impl Download {
    /// The body's size, when the server announced it.
    pub(crate) fn content_length(&self) -> Option<u64> {
        self.len
    }

    /// The success status.
    pub(crate) fn status(&self) -> u16 {
        self.status
    }

    /// The response headers.
    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

#[maybe]
impl Download {
    /// The next chunk; `None` once the body has ended cleanly.
    pub(crate) async fn next_chunk(&mut self) -> Result<Option<&[u8]>> {
        let (request, limits) = (&self.request, self.limits);
        self.body
            .next_chunk("reading the download")
            .await
            .map_err(|failure| failure_to_error(request, failure, 1, limits))
    }
}
