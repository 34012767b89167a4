//! The async transport: one reqwest client (one connection pool) per SDK client.

use std::error::Error as _;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use agenttier_core::request::Request;
use agenttier_core::sse::SseEvent;
use agenttier_core::{ClientConfig, Error, Result, TimeoutKind};
use bytes::Bytes;
use futures_util::Stream;

use crate::client::ClientBuilder;
use crate::client::wire::{self, Failure, Head, RawResponse, SseStream, UploadMeter};
use crate::fileio::{self, ReadSource};

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// A response body being read: reqwest's chunks, the current one kept for `AsyncRead`.
pub(crate) struct Body {
    stream: ByteStream,
    current: Bytes,
    pos: usize,
}

impl Body {
    fn new(response: reqwest::Response) -> Body {
        Body {
            stream: Box::pin(response.bytes_stream()),
            current: Bytes::new(),
            pos: 0,
        }
    }

    /// Polls for the next chunk; `None` at the end of the body. A timeout here is the idle
    /// timeout (reqwest's read timeout), the only one running while a body is read.
    fn poll_chunk(&mut self, cx: &mut Context<'_>, doing: &str) -> Poll<std::result::Result<Option<&[u8]>, Failure>> {
        match std::task::ready!(self.stream.as_mut().poll_next(cx)) {
            None => Poll::Ready(Ok(None)),
            Some(Ok(chunk)) => {
                self.current = chunk;
                self.pos = self.current.len();
                Poll::Ready(Ok(Some(&self.current)))
            }
            Some(Err(e)) if e.is_timeout() => Poll::Ready(Err(Failure::Timeout(TimeoutKind::Idle))),
            Some(Err(e)) => Poll::Ready(Err(match reqwest_failure(e) {
                Failure::Connection { message, source } => Failure::Connection {
                    message: format!("{doing}: {message}"),
                    source,
                },
                other => other,
            })),
        }
    }

    /// The next chunk; `None` at the end of the body.
    pub(crate) async fn next_chunk(&mut self, doing: &str) -> std::result::Result<Option<&[u8]>, Failure> {
        std::future::poll_fn(|cx| self.poll_chunk(cx, doing).map(|r| r.map(|c| c.is_some())))
            .await
            .map(|more| more.then_some(&self.current[..]))
    }

    /// Reads into `buf` (the `AsyncRead` impl of `FileReader`).
    pub(crate) fn poll_read_into(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        while self.pos >= self.current.len() {
            match std::task::ready!(self.stream.as_mut().poll_next(cx)) {
                None => return Poll::Ready(Ok(())),
                Some(Ok(chunk)) => {
                    self.current = chunk;
                    self.pos = 0;
                }
                Some(Err(e)) if e.is_timeout() => {
                    return Poll::Ready(Err(std::io::Error::new(std::io::ErrorKind::TimedOut, e)));
                }
                Some(Err(e)) => return Poll::Ready(Err(std::io::Error::other(e))),
            }
        }
        let n = buf.remaining().min(self.current.len() - self.pos);
        buf.put_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Poll::Ready(Ok(()))
    }
}

impl SseStream {
    /// Polls for the next event (the `Stream` impl of `InvokeStream`); `None` once the body
    /// has ended cleanly.
    pub(crate) fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<SseEvent>>> {
        loop {
            if let Some(done) = self.events.buffered() {
                return Poll::Ready(done);
            }
            let read = std::task::ready!(self.body.poll_chunk(cx, "reading the event stream"));
            if let Some(err) = self.events.absorb(read) {
                return Poll::Ready(Some(err));
            }
        }
    }
}

/// What a client built with [`ClientBuilder::reqwest_client`] sends through.
pub(crate) type HttpClient = reqwest::Client;

impl ClientBuilder {
    /// Sends every request through `client` instead of a client of the SDK's own (for
    /// middleware-free customisation: a custom resolver, TLS or proxy setup, shared pools).
    ///
    /// The reqwest client then owns the connection: TLS and trusted roots, proxy, connect and
    /// read timeouts (so the stream idle timeout is the client's `read_timeout`), pool,
    /// redirects (keep them off: the SDK expects to see every answer) and `User-Agent`. The SDK
    /// still sets, per request: the URL, credentials, `Accept` and `Content-Type`, the total
    /// timeout of unary calls, the response size limit and retries. The TLS, proxy and
    /// connect-timeout settings of this builder are then ignored.
    ///
    /// With the `rustls` feature reqwest is built without a crypto provider of its own (the
    /// SDK passes ring to every client it builds), so install one for the process before
    /// building yours: `rustls::crypto::ring::default_provider().install_default()`.
    pub fn reqwest_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
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
    pub(crate) fn new(config: ClientConfig, http: Option<HttpClient>) -> Result<Self> {
        if let Some(http) = http {
            return Ok(Transport { http, config });
        }
        let mut builder = reqwest::Client::builder()
            .user_agent(config.user_agent.as_str())
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .tcp_nodelay(true)
            .pool_max_idle_per_host(256)
            .pool_idle_timeout(agenttier_core::config::POOL_IDLE_TIMEOUT)
            .read_timeout(config.stream_idle_timeout);
        if let Some(url) = &config.proxy {
            let proxy = reqwest::Proxy::all(url).map_err(|e| Error::config(format!("invalid proxy {url:?}: {e}")))?;
            builder = builder.proxy(proxy);
        }
        let http = with_tls(builder, &config)?
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

    /// One attempt of a unary call: sends `req` and reads the whole body (up to the limit),
    /// all within the call's timeout.
    pub(crate) async fn send(&self, req: &Request) -> std::result::Result<RawResponse, Failure> {
        let deadline = req.timeout.unwrap_or(self.config.timeout);
        let attempt = async {
            let head = self.open(req).await?;
            wire::read_whole(head, self.config.max_response_bytes).await
        };
        match tokio::time::timeout(deadline, attempt).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Timeout(TimeoutKind::Request)),
        }
    }

    /// One attempt whose body is read progressively, with the idle timeout (the client's read
    /// timeout) between reads.
    pub(crate) async fn open(&self, req: &Request) -> std::result::Result<Head, Failure> {
        let mut builder = self.request_builder(req)?;
        if req.has_body() {
            // hyper sends no `Content-Length` for an empty body unless told to.
            builder = builder
                .header(reqwest::header::CONTENT_LENGTH, req.body_bytes().len())
                .body(req.body_bytes().to_vec());
        }
        let response = builder.send().await.map_err(reqwest_failure)?;
        Ok(head(response))
    }

    /// Sends `req` with its body read from `body` as it goes (`len` bytes, or chunked when
    /// unknown). The source is read in this task and handed to reqwest through a small
    /// channel, so it may borrow; no total timeout applies, only the idle read timeout.
    pub(crate) async fn upload<R: ReadSource>(
        &self,
        req: &Request,
        mut body: R,
        len: Option<u64>,
        meter: &mut UploadMeter<'_>,
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
            wire::read_whole(head(response), self.config.max_response_bytes).await
        };
        let pump = async move {
            let mut buf = vec![0u8; wire::CHUNK];
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
                if let Err(e) = meter.count(n) {
                    let _ = tx.send(Err(e)).await;
                    return Err(UploadMeter::too_large());
                }
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
}

fn head(response: reqwest::Response) -> Head {
    Head {
        status: response.status().as_u16(),
        headers: response.headers().clone(),
        body: Body::new(response),
    }
}

/// reqwest's TLS: the shared rustls configuration (ring provider, the shared roots), or the
/// platform's library with native-tls, which wins when both are enabled.
#[cfg(all(feature = "rustls", not(feature = "native-tls")))]
fn with_tls(builder: reqwest::ClientBuilder, config: &ClientConfig) -> Result<reqwest::ClientBuilder> {
    Ok(builder.tls_backend_preconfigured(crate::client::tls::rustls_config(config)?))
}

#[cfg(feature = "native-tls")]
fn with_tls(mut builder: reqwest::ClientBuilder, config: &ClientConfig) -> Result<reqwest::ClientBuilder> {
    use crate::client::tls::Anchors;

    builder = builder.tls_backend_native();
    if config.danger_accept_invalid_certs {
        builder = builder.tls_danger_accept_invalid_certs(true);
    } else if config.uses_tls() {
        builder = match Anchors::of(config)? {
            // The native library reads the OS store itself (SSL_CERT_FILE and SSL_CERT_DIR too).
            Anchors::Os(extra) => builder.tls_certs_merge(native_certificates(&extra)?),
            exactly => builder.tls_certs_only(native_certificates(&exactly.resolve()?)?),
        };
    }
    if let Some(identity) = &config.client_identity {
        let key_pem = crate::client::tls::pkcs8_pem(&identity.private_key_pem)?;
        let identity = reqwest::Identity::from_pkcs8_pem(&identity.certificate_pem, key_pem.as_bytes())
            .map_err(|e| Error::config(format!("invalid client certificate or key: {e}")))?;
        builder = builder.identity(identity);
    }
    Ok(builder)
}

#[cfg(feature = "native-tls")]
fn native_certificates(certs: &[rustls_pki_types::CertificateDer<'static>]) -> Result<Vec<reqwest::Certificate>> {
    certs
        .iter()
        .map(|der| {
            reqwest::Certificate::from_der(der.as_ref())
                .map_err(|e| Error::config(format!("unusable root certificate: {e}")))
        })
        .collect()
}

/// Without a TLS feature only `http` URLs work; an `https` one is refused when the client is built.
#[cfg(not(any(feature = "rustls", feature = "native-tls")))]
fn with_tls(builder: reqwest::ClientBuilder, config: &ClientConfig) -> Result<reqwest::ClientBuilder> {
    if config.uses_tls() {
        return Err(Error::config(
            "an https URL needs TLS: enable the `rustls` (default) or `native-tls` feature",
        ));
    }
    Ok(builder)
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
