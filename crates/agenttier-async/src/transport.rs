//! The async transport: one reqwest client (one connection pool) per SDK client.

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use agenttier_core::request::Request;
use agenttier_core::{ClientConfig, Error, Result, TimeoutKind};
use futures_util::StreamExt;

use std::pin::Pin;
use std::task::{Context, Poll};

use agenttier_core::sse::{SseEvent, SseParser};
use bytes::Bytes;
use futures_util::Stream;

use crate::client::{Failure, Limits, RawResponse, failure_to_error, is_event_stream};
use crate::fileio::{self, ReadSource};
use agenttier_core::models::MAX_FILE_BYTES;

/// What opening a stream gave: the stream, or a plain answer (an error status).
pub(crate) enum Opened {
    Stream(Box<SseStream>),
    Answer(RawResponse),
}

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// A Server-Sent Events body being read: chunks from reqwest, events from the core parser.
pub(crate) struct SseStream {
    body: ByteStream,
    parser: SseParser,
    ended: bool,
    request: Request,
    limits: Limits,
}

impl fmt::Debug for SseStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseStream")
            .field("path", &self.request.path)
            .field("ended", &self.ended)
            .finish()
    }
}

impl SseStream {
    /// Polls for the next event; `None` once the body has ended cleanly.
    pub(crate) fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<SseEvent>>> {
        loop {
            if let Some(event) = self.parser.next_event() {
                return Poll::Ready(Some(Ok(event)));
            }
            if self.ended {
                return Poll::Ready(None);
            }
            let step = match self.body.as_mut().poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => {
                    self.ended = true;
                    self.parser.finish().map_err(Error::from)
                }
                Poll::Ready(Some(Ok(chunk))) => self.parser.push(&chunk).map_err(Error::from),
                Poll::Ready(Some(Err(e))) => {
                    let failure = if e.is_timeout() {
                        Failure::Timeout(TimeoutKind::Idle)
                    } else {
                        reqwest_failure(e)
                    };
                    Err(failure_to_error(&self.request, failure, 1, self.limits))
                }
            };
            if let Err(err) = step {
                self.ended = true;
                return Poll::Ready(Some(Err(err)));
            }
        }
    }

    /// The next event; `None` once the body has ended cleanly.
    pub(crate) async fn next_item(&mut self) -> Option<Result<SseEvent>> {
        std::future::poll_fn(|cx| self.poll_event(cx)).await
    }
}

/// What opening a download gave: the body, or a plain answer (an error status).
pub(crate) enum Fetched {
    Body(Box<Download>),
    Answer(RawResponse),
}

/// A response body read in chunks with the idle timeout between reads: a file download, an
/// archive, or a Kubernetes watch.
pub(crate) struct Download {
    body: ByteStream,
    current: Bytes,
    pos: usize,
    len: Option<u64>,
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

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<Option<Bytes>, reqwest::Error>> {
        match self.body.as_mut().poll_next(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(None) => Poll::Ready(Ok(None)),
            Poll::Ready(Some(Ok(chunk))) => Poll::Ready(Ok(Some(chunk))),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Err(e)),
        }
    }

    /// The next chunk; `None` once the body has ended cleanly.
    pub(crate) async fn next_chunk(&mut self) -> Result<Option<&[u8]>> {
        match std::future::poll_fn(|cx| self.poll_chunk(cx)).await {
            Ok(None) => Ok(None),
            Ok(Some(chunk)) => {
                self.current = chunk;
                self.pos = self.current.len();
                Ok(Some(&self.current))
            }
            Err(e) => {
                let failure = if e.is_timeout() {
                    Failure::Timeout(TimeoutKind::Idle)
                } else {
                    reqwest_failure(e)
                };
                Err(failure_to_error(&self.request, failure, 1, self.limits))
            }
        }
    }

    /// Reads into `buf` (the `AsyncRead` impl of `FileReader`).
    pub(crate) fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        while self.pos >= self.current.len() {
            match std::task::ready!(self.poll_chunk(cx)) {
                Ok(None) => return Poll::Ready(Ok(())),
                Ok(Some(chunk)) => {
                    self.current = chunk;
                    self.pos = 0;
                }
                Err(e) if e.is_timeout() => {
                    return Poll::Ready(Err(std::io::Error::new(std::io::ErrorKind::TimedOut, e)));
                }
                Err(e) => return Poll::Ready(Err(std::io::Error::other(e))),
            }
        }
        let n = buf.remaining().min(self.current.len() - self.pos);
        buf.put_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

/// Sends requests with reqwest and sleeps with tokio.
pub(crate) struct Transport {
    http: reqwest::Client,
    config: ClientConfig,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("base_url", &agenttier_core::config::redact_url(&self.config.base_url))
            .field("auth", &self.config.auth.kind())
            .finish_non_exhaustive()
    }
}

impl Transport {
    pub(crate) fn new(config: ClientConfig) -> Result<Self> {
        let mut builder = reqwest::Client::builder()
            .user_agent(config.user_agent.as_str())
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .pool_max_idle_per_host(256)
            .pool_idle_timeout(agenttier_core::config::POOL_IDLE_TIMEOUT)
            .read_timeout(config.stream_idle_timeout);
        // With both TLS features on, reqwest would pick native-tls; rustls is this crate's default.
        #[cfg(feature = "rustls")]
        {
            builder = builder.tls_backend_rustls();
        }
        #[cfg(all(feature = "native-tls", not(feature = "rustls")))]
        {
            builder = builder.tls_backend_native();
        }
        if let Some(url) = &config.proxy {
            let proxy = reqwest::Proxy::all(url).map_err(|e| Error::config(format!("invalid proxy {url:?}: {e}")))?;
            builder = builder.proxy(proxy);
        }
        for pem in &config.root_certificates_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Error::config(format!("invalid PEM root certificate: {e}")))?;
            if certs.is_empty() {
                return Err(Error::config("root certificate PEM holds no CERTIFICATE block"));
            }
            builder = if config.only_listed_roots {
                builder.tls_certs_only(certs)
            } else {
                builder.tls_certs_merge(certs)
            };
        }
        if let Some(identity) = &config.client_identity {
            builder = builder.identity(client_identity(identity)?);
        }
        if config.danger_accept_invalid_certs {
            builder = builder.tls_danger_accept_invalid_certs(true);
        }
        let http = builder
            .build()
            .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Transport { http, config })
    }

    pub(crate) fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub(crate) async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }

    /// Opens an event stream; an answer that is not one (an error status) is read whole.
    pub(crate) async fn open_stream(&self, req: &Request) -> std::result::Result<Opened, Failure> {
        let response = self.start(req).await?;
        if !is_event_stream(response.status().as_u16(), response.headers()) {
            return self.read_whole(response).await.map(Opened::Answer);
        }
        Ok(Opened::Stream(Box::new(SseStream {
            body: Box::pin(response.bytes_stream()),
            parser: SseParser::new(),
            ended: false,
            request: Request::new(req.method.clone(), req.path.clone()),
            limits: Limits::for_request(&self.config, req),
        })))
    }

    /// One attempt: sends `req` and reads the whole body (up to the configured limit).
    pub(crate) async fn send(&self, req: &Request) -> std::result::Result<RawResponse, Failure> {
        let deadline = req.timeout.unwrap_or(self.config.timeout);
        let attempt = async {
            let response = self.start(req).await?;
            self.read_whole(response).await
        };
        match tokio::time::timeout(deadline, attempt).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Timeout(TimeoutKind::Request)),
        }
    }

    /// Opens a body to read in chunks (a download or a watch): a success answer is returned
    /// unread, to be read with the idle timeout (the client's read timeout); an error status is
    /// read whole.
    pub(crate) async fn open_download(&self, req: &Request) -> std::result::Result<Fetched, Failure> {
        let response = self.start(req).await?;
        if response.status().as_u16() >= 300 {
            return self.read_whole(response).await.map(Fetched::Answer);
        }
        let len = if response.headers().contains_key(http::header::CONTENT_ENCODING) {
            None
        } else {
            response.content_length()
        };
        Ok(Fetched::Body(Box::new(Download {
            body: Box::pin(response.bytes_stream()),
            current: Bytes::new(),
            pos: 0,
            len,
            request: Request::new(req.method.clone(), req.path.clone()),
            limits: Limits::for_request(&self.config, req),
        })))
    }

    /// Sends `req` with its body read from `body` as it goes (`len` bytes, or chunked when
    /// unknown). The source is read in this task and handed to reqwest through a small
    /// channel, so it may borrow; no total timeout applies, only the idle read timeout.
    pub(crate) async fn send_streaming_body<R: ReadSource>(
        &self,
        req: &Request,
        mut body: R,
        len: Option<u64>,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> std::result::Result<RawResponse, Failure> {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
        let chunks = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx));
        let mut builder = self
            .request_builder(req)?
            .header(http::header::CONTENT_TYPE, "application/octet-stream");
        if let Some(len) = len {
            builder = builder.header(http::header::CONTENT_LENGTH, len);
        }
        let send = async {
            let response = builder
                .body(reqwest::Body::wrap_stream(chunks))
                .send()
                .await
                .map_err(reqwest_failure)?;
            self.read_whole(response).await
        };
        let pump = async move {
            let mut sent = 0u64;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = match fileio::read_some(&mut body, &mut buf).await {
                    Ok(0) => return Ok(()),
                    Ok(n) => n,
                    Err(e) => {
                        let message = format!("reading the upload source: {e}");
                        let _ = tx.send(Err(e)).await;
                        return Err(Failure::Connection {
                            message,
                            source: Box::new(std::io::Error::other("upload source failed")),
                        });
                    }
                };
                sent += n as u64;
                if sent > MAX_FILE_BYTES {
                    let _ = tx
                        .send(Err(std::io::Error::other("upload exceeds the per-file limit")))
                        .await;
                    return Err(Failure::Invalid(format!(
                        "the upload is larger than {MAX_FILE_BYTES} bytes, the Router's per-file limit (32 MiB)"
                    )));
                }
                progress(sent);
                if tx.send(Ok(Bytes::copy_from_slice(&buf[..n]))).await.is_err() {
                    return Ok(()); // the request ended early; its answer says why
                }
            }
        };
        let (answer, pumped) = futures_util::future::join(send, pump).await;
        pumped?;
        answer
    }

    /// URL, `Accept`, `Content-Type` of the body, credentials, the request's own headers, and
    /// the total cap of a watch (its deadline; nothing else that streams has one).
    fn request_builder(&self, req: &Request) -> std::result::Result<reqwest::RequestBuilder, Failure> {
        let url = req.url(&self.config.base_url);
        let mut builder = self
            .http
            .request(req.method.clone(), url)
            .header(http::header::ACCEPT, req.accept.header_value());
        if let Some(content_type) = req.content_type() {
            builder = builder.header(http::header::CONTENT_TYPE, content_type);
        }
        if let Some((name, value)) = self.config.auth.header().map_err(|e| Failure::Invalid(e.to_string()))? {
            builder = builder.header(name, value);
        }
        for (name, value) in &req.headers {
            builder = builder.header(name, value);
        }
        if let Some(cap) = req.timeout.filter(|_| req.is_streaming()) {
            builder = builder.timeout(cap);
        }
        Ok(builder)
    }

    async fn read_whole(&self, response: reqwest::Response) -> std::result::Result<RawResponse, Failure> {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let limit = self.config.max_response_bytes;
        let mut body = Vec::new();
        let mut chunks = response.bytes_stream();
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk.map_err(reqwest_failure)?;
            if body.len() + chunk.len() > limit {
                return Err(Failure::TooLarge { limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(RawResponse { status, headers, body })
    }

    async fn start(&self, req: &Request) -> std::result::Result<reqwest::Response, Failure> {
        let mut builder = self.request_builder(req)?;
        if req.has_body() {
            // hyper sends no `Content-Length` for an empty body unless told to.
            builder = builder
                .header(reqwest::header::CONTENT_LENGTH, req.body_bytes().len())
                .body(req.body_bytes().to_vec());
        }
        builder.send().await.map_err(reqwest_failure)
    }
}

fn client_identity(identity: &agenttier_core::ClientIdentity) -> Result<reqwest::Identity> {
    #[cfg(feature = "rustls")]
    {
        let mut pem = identity.certificate_pem.clone();
        pem.push(b'\n');
        pem.extend_from_slice(&identity.private_key_pem);
        reqwest::Identity::from_pem(&pem)
            .map_err(|e| Error::config(format!("invalid client certificate or key PEM: {e}")))
    }
    #[cfg(all(feature = "native-tls", not(feature = "rustls")))]
    {
        reqwest::Identity::from_pkcs8_pem(&identity.certificate_pem, &identity.private_key_pem).map_err(|e| {
            Error::config(format!(
                "invalid client certificate or key PEM (native-tls needs a PKCS#8 key): {e}"
            ))
        })
    }
    #[cfg(not(any(feature = "rustls", feature = "native-tls")))]
    {
        let _ = identity;
        Err(Error::config(
            "client certificates need the rustls or native-tls feature",
        ))
    }
}

fn reqwest_failure(err: reqwest::Error) -> Failure {
    if err.is_timeout() {
        let kind = if err.is_connect() {
            TimeoutKind::Connect
        } else {
            TimeoutKind::Request
        };
        return Failure::Timeout(kind);
    }
    if err.is_builder() {
        return Failure::Invalid(format!("invalid request: {err}"));
    }
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    Failure::Connection {
        message,
        source: Box::new(err),
    }
}
