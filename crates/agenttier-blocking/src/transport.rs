//! The blocking transport: one ureq agent (one connection pool) per client.

use std::fmt;
use std::io::Read;
use std::time::Duration;

use agenttier_core::models::MAX_FILE_BYTES;
use agenttier_core::request::Request;
use agenttier_core::{ClientConfig, Error, Result, TimeoutKind};
use ureq::Agent;
use ureq::config::Config;

use agenttier_core::sse::{SseEvent, SseParser};

use crate::client::{Failure, Limits, RawResponse, failure_to_error, is_event_stream};
use crate::fileio::{self, ReadSource};

/// What opening a stream gave: the stream, or a plain answer (an error status).
pub(crate) enum Opened {
    Stream(Box<SseStream>),
    Answer(RawResponse),
}

/// A Server-Sent Events body being read: bytes from ureq, events from the core parser.
pub(crate) struct SseStream {
    reader: ureq::BodyReader<'static>,
    parser: SseParser,
    buf: Vec<u8>,
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
    /// The next event; `None` once the body has ended cleanly.
    pub(crate) fn next_item(&mut self) -> Option<Result<SseEvent>> {
        loop {
            if let Some(event) = self.parser.next_event() {
                return Some(Ok(event));
            }
            if self.ended {
                return None;
            }
            let step = match self.reader.read(&mut self.buf) {
                Ok(0) => {
                    self.ended = true;
                    self.parser.finish().map_err(Error::from)
                }
                Ok(n) => self.parser.push(&self.buf[..n]).map_err(Error::from),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(()),
                Err(e) => Err(failure_to_error(
                    &self.request,
                    io_failure(e, "reading the event stream"),
                    1,
                    self.limits,
                )),
            };
            if let Err(err) = step {
                self.ended = true;
                return Some(Err(err));
            }
        }
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
    reader: ureq::BodyReader<'static>,
    buf: Vec<u8>,
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

    /// The next chunk; `None` once the body has ended cleanly.
    pub(crate) fn next_chunk(&mut self) -> Result<Option<&[u8]>> {
        match fileio::read_some(&mut self.reader, &mut self.buf) {
            Ok(0) => Ok(None),
            Ok(n) => Ok(Some(&self.buf[..n])),
            Err(e) => Err(failure_to_error(
                &self.request,
                io_failure(e, "reading the download"),
                1,
                self.limits,
            )),
        }
    }

    /// Reads straight into `buf` (the `Read` impl of `FileReader`).
    pub(crate) fn read_into(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reader.read(buf)
    }
}

/// An upload source that reports progress and refuses to go past the per-file limit.
struct Limited<'a, R> {
    inner: R,
    sent: u64,
    exceeded: bool,
    progress: &'a (dyn Fn(u64) + Send + Sync),
}

impl<R: ReadSource> Read for Limited<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = fileio::read_some(&mut self.inner, buf)?;
        self.sent += n as u64;
        if self.sent > MAX_FILE_BYTES {
            self.exceeded = true;
            return Err(std::io::Error::other("upload exceeds the per-file limit"));
        }
        (self.progress)(self.sent);
        Ok(n)
    }
}

/// Sends requests with ureq and sleeps with the thread.
pub(crate) struct Transport {
    agent: Agent,
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
        let proxy = match &config.proxy {
            Some(url) => Some(ureq::Proxy::new(url).map_err(|e| Error::config(format!("invalid proxy {url:?}: {e}")))?),
            None => ureq::Proxy::try_from_env(),
        };
        let builder = Config::builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(config.user_agent.as_str())
            .timeout_connect(Some(config.connect_timeout))
            .timeout_send_request(Some(config.timeout))
            .timeout_send_body(Some(config.timeout))
            .timeout_recv_response(Some(config.timeout))
            .timeout_recv_body(Some(config.timeout))
            .proxy(proxy)
            .tls_config(tls_config(&config)?)
            .max_idle_connections_per_host(64)
            .max_idle_age(agenttier_core::config::POOL_IDLE_TIMEOUT);
        Ok(Transport {
            agent: builder.build().into(),
            config,
        })
    }

    pub(crate) fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub(crate) fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }

    /// One attempt: sends `req` and reads the whole body (up to the configured limit).
    pub(crate) fn send(&self, req: &Request) -> std::result::Result<RawResponse, Failure> {
        let response = self.start(req)?;
        self.read_whole(response)
    }

    /// Opens an event stream; an answer that is not one (an error status) is read whole.
    pub(crate) fn open_stream(&self, req: &Request) -> std::result::Result<Opened, Failure> {
        let response = self.start(req)?;
        if !is_event_stream(response.status().as_u16(), response.headers()) {
            return self.read_whole(response).map(Opened::Answer);
        }
        Ok(Opened::Stream(Box::new(SseStream {
            reader: response.into_body().into_reader(),
            parser: SseParser::new(),
            buf: vec![0; 64 * 1024],
            ended: false,
            request: Request::new(req.method.clone(), req.path.clone()),
            limits: Limits::for_request(&self.config, req),
        })))
    }

    /// Opens a body to read in chunks (a download or a watch): a success answer is returned
    /// unread, to be read with the idle timeout; an error status is read whole.
    pub(crate) fn open_download(&self, req: &Request) -> std::result::Result<Fetched, Failure> {
        let response = self.start_streaming(req, None)?;
        if response.status().as_u16() >= 300 {
            return self.read_whole(response).map(Fetched::Answer);
        }
        let len = content_length(response.headers());
        Ok(Fetched::Body(Box::new(Download {
            reader: response.into_body().into_reader(),
            buf: vec![0; 64 * 1024],
            len,
            request: Request::new(req.method.clone(), req.path.clone()),
            limits: Limits::for_request(&self.config, req),
        })))
    }

    /// Sends `req` with its body read from `body` as it goes (`len` bytes, or chunked when
    /// unknown), with idle timeouts on every read and write instead of a total one.
    pub(crate) fn send_streaming_body<R: ReadSource>(
        &self,
        req: &Request,
        body: R,
        len: Option<u64>,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> std::result::Result<RawResponse, Failure> {
        let mut source = Limited {
            inner: body,
            sent: 0,
            exceeded: false,
            progress,
        };
        let result = self.start_streaming(req, Some((&mut source, len)));
        if source.exceeded {
            return Err(Failure::Invalid(format!(
                "the upload is larger than {MAX_FILE_BYTES} bytes, the Router's per-file limit (32 MiB)"
            )));
        }
        self.read_whole(result?)
    }

    fn start_streaming(
        &self,
        req: &Request,
        body: Option<(&mut dyn Read, Option<u64>)>,
    ) -> std::result::Result<http::Response<ureq::Body>, Failure> {
        let mut builder = self.request_builder(req)?;
        let idle = Some(self.config.stream_idle_timeout);
        // Only a watch sets a total cap (its deadline); transfers run as long as data flows.
        let cap = req.timeout.filter(|_| req.is_streaming());
        let result = match body {
            None => {
                let request = builder
                    .body(())
                    .map_err(|e| Failure::Invalid(format!("invalid request: {e}")))?;
                let request = self
                    .agent
                    .configure_request(request)
                    .timeout_global(cap)
                    .timeout_recv_body(None)
                    .timeout_per_read(idle)
                    .build();
                self.agent.run(request)
            }
            Some((reader, len)) => {
                builder = builder.header(http::header::CONTENT_TYPE, "application/octet-stream");
                if let Some(len) = len {
                    builder = builder.header(http::header::CONTENT_LENGTH, len);
                }
                let request = builder
                    .body(ureq::SendBody::from_reader(reader))
                    .map_err(|e| Failure::Invalid(format!("invalid request: {e}")))?;
                let request = self
                    .agent
                    .configure_request(request)
                    .timeout_global(cap)
                    .timeout_send_body(None)
                    .timeout_per_read(idle)
                    .timeout_per_write(idle)
                    .build();
                self.agent.run(request)
            }
        };
        result.map_err(ureq_failure)
    }

    fn read_whole(&self, response: http::Response<ureq::Body>) -> std::result::Result<RawResponse, Failure> {
        let (parts, body) = response.into_parts();
        let limit = self.config.max_response_bytes;
        let mut bytes = Vec::new();
        body.into_reader()
            .take(limit as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| io_failure(e, "reading the response"))?;
        if bytes.len() > limit {
            return Err(Failure::TooLarge { limit });
        }
        Ok(RawResponse {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body: bytes,
        })
    }

    /// URL, `Accept`, `Content-Type` of the body, credentials and the request's own headers.
    fn request_builder(&self, req: &Request) -> std::result::Result<http::request::Builder, Failure> {
        let url = req.url(&self.config.base_url);
        let mut builder = http::Request::builder()
            .method(req.method.clone())
            .uri(&url)
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
        Ok(builder)
    }

    fn start(&self, req: &Request) -> std::result::Result<http::Response<ureq::Body>, Failure> {
        let builder = self.request_builder(req)?;
        let invalid = |e: http::Error| Failure::Invalid(format!("invalid request: {e}"));
        let result = if req.has_body() {
            self.run(builder.body(req.body_bytes()).map_err(invalid)?, req)
        } else {
            self.run(builder.body(()).map_err(invalid)?, req)
        };
        result.map_err(ureq_failure)
    }

    /// Runs `request` with the timeouts `req` calls for.
    ///
    /// Unary calls bound each phase (sending, waiting for the answer, reading it) by the call's
    /// timeout instead of setting ureq's global timeout: with a global timeout ureq resolves
    /// every host, even an IP literal, on a thread of its own, which costs more than a whole
    /// call on loopback. Streams have no total timeout (only a watch's deadline), just the idle
    /// timeout per read.
    fn run<S: ureq::AsSendBody>(
        &self,
        request: http::Request<S>,
        req: &Request,
    ) -> std::result::Result<http::Response<ureq::Body>, ureq::Error> {
        if req.is_streaming() {
            let request = self
                .agent
                .configure_request(request)
                .timeout_global(req.timeout)
                .timeout_recv_body(None)
                .timeout_per_read(Some(self.config.stream_idle_timeout))
                .build();
            return self.agent.run(request);
        }
        match req.timeout {
            // The agent's own settings fit; a per-request configuration is a copy of them.
            None => self.agent.run(request),
            Some(t) => {
                let request = self
                    .agent
                    .configure_request(request)
                    .timeout_send_request(Some(t))
                    .timeout_send_body(Some(t))
                    .timeout_recv_response(Some(t))
                    .timeout_recv_body(Some(t))
                    .build();
                self.agent.run(request)
            }
        }
    }
}

/// `Content-Length` of a body that is not content-encoded (ureq decodes gzip itself).
fn content_length(headers: &http::HeaderMap) -> Option<u64> {
    if headers.contains_key(http::header::CONTENT_ENCODING) {
        return None;
    }
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

fn tls_config(config: &ClientConfig) -> Result<ureq::tls::TlsConfig> {
    let mut builder = ureq::tls::TlsConfig::builder();
    #[cfg(all(feature = "native-tls", not(feature = "rustls")))]
    {
        builder = builder.provider(ureq::tls::TlsProvider::NativeTls);
    }
    if !config.root_certificates_pem.is_empty() {
        let mut roots: Vec<ureq::tls::Certificate<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS
            .iter()
            .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
            .collect();
        for pem in &config.root_certificates_pem {
            let before = roots.len();
            for item in ureq::tls::parse_pem(pem) {
                match item {
                    Ok(ureq::tls::PemItem::Certificate(cert)) => roots.push(cert),
                    Ok(_) => {}
                    Err(e) => return Err(Error::config(format!("invalid PEM root certificate: {e}"))),
                }
            }
            if roots.len() == before {
                return Err(Error::config("root certificate PEM holds no CERTIFICATE block"));
            }
        }
        if config.only_listed_roots {
            roots.drain(..webpki_root_certs::TLS_SERVER_ROOT_CERTS.len());
        }
        builder = builder.root_certs(ureq::tls::RootCerts::new_with_certs(&roots));
    }
    if let Some(identity) = &config.client_identity {
        let chain = ureq::tls::parse_pem(&identity.certificate_pem)
            .filter_map(|item| match item {
                Ok(ureq::tls::PemItem::Certificate(cert)) => Some(Ok(cert)),
                Ok(_) => None,
                Err(e) => Some(Err(e)),
            })
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::config(format!("invalid client certificate PEM: {e}")))?;
        if chain.is_empty() {
            return Err(Error::config("client certificate PEM holds no CERTIFICATE block"));
        }
        let key = ureq::tls::PrivateKey::from_pem(&identity.private_key_pem)
            .map_err(|e| Error::config(format!("invalid client key PEM: {e}")))?;
        builder = builder.client_cert(Some(ureq::tls::ClientCert::new_with_certs(&chain, key)));
    }
    if config.danger_accept_invalid_certs {
        builder = builder.disable_verification(true);
    }
    Ok(builder.build())
}

fn ureq_failure(err: ureq::Error) -> Failure {
    use ureq::Timeout as T;
    match err {
        ureq::Error::Timeout(T::Connect | T::Resolve) => Failure::Timeout(TimeoutKind::Connect),
        ureq::Error::Timeout(T::PerRead) => Failure::Timeout(TimeoutKind::Idle),
        ureq::Error::Timeout(_) => Failure::Timeout(TimeoutKind::Request),
        ureq::Error::Io(e) => io_failure(e, "talking to the router"),
        ureq::Error::BodyExceedsLimit(limit) => Failure::TooLarge { limit: limit as usize },
        other => Failure::Connection {
            message: other.to_string(),
            source: Box::new(other),
        },
    }
}

/// Maps an I/O error from ureq's body reader, which reports its timeouts as I/O errors.
pub(crate) fn io_failure(err: std::io::Error, doing: &str) -> Failure {
    if let Some(ureq::Error::Timeout(t)) = err.get_ref().and_then(|e| e.downcast_ref::<ureq::Error>()) {
        return ureq_failure(ureq::Error::Timeout(*t));
    }
    if err.kind() == std::io::ErrorKind::TimedOut {
        return Failure::Timeout(TimeoutKind::Request);
    }
    Failure::Connection {
        message: format!("{doing}: {err}"),
        source: Box::new(err),
    }
}
