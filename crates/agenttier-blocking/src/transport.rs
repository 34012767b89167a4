//! The blocking transport: one ureq agent (one connection pool) per client.

use std::fmt;
use std::io::Read;
use std::time::Duration;

use agenttier_core::request::Request;
use agenttier_core::{ClientConfig, Error, Result, TimeoutKind};
use ureq::Agent;
use ureq::config::Config;

use crate::client::ClientBuilder;
use crate::client::wire::{self, CHUNK, Failure, Head, RawResponse, UploadMeter};
use crate::fileio::{self, ReadSource};

/// A response body being read: ureq's reader and a buffer for its chunks.
pub(crate) struct Body {
    reader: ureq::BodyReader<'static>,
    buf: Vec<u8>,
}

impl Body {
    /// The next chunk; `None` at the end of the body.
    pub(crate) fn next_chunk(&mut self, doing: &str) -> std::result::Result<Option<&[u8]>, Failure> {
        match fileio::read_some(&mut self.reader, &mut self.buf) {
            Ok(0) => Ok(None),
            Ok(n) => Ok(Some(&self.buf[..n])),
            Err(e) => Err(io_failure(e, doing)),
        }
    }

    /// Reads straight into `buf` (the `Read` impl of `FileReader`).
    pub(crate) fn read_into(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.reader.read(buf)
    }
}

/// An upload source that reports progress and refuses to go past the per-file limit.
struct Metered<'m, 'p, R> {
    inner: R,
    meter: &'m mut UploadMeter<'p>,
    /// Whether the meter stopped the upload (ureq then reports some I/O error of its own).
    exceeded: bool,
}

impl<R: ReadSource> Read for Metered<'_, '_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = fileio::read_some(&mut self.inner, buf)?;
        self.meter.count(n).inspect_err(|_| self.exceeded = true)?;
        Ok(n)
    }
}

/// What a client built with [`ClientBuilder::ureq_agent`] sends through.
pub(crate) type HttpClient = Agent;

impl ClientBuilder {
    /// Sends every request through `agent` instead of an agent of the SDK's own (for a custom
    /// resolver, connector, TLS or proxy setup).
    ///
    /// The agent then owns the connection: TLS and trusted roots, proxy, connect timeout,
    /// pool, `User-Agent`. The SDK still sets, per request: the URL, credentials, `Accept` and
    /// `Content-Type`, the call and idle timeouts, no redirects, HTTP error statuses as answers
    /// (not errors), the response size limit and retries. The TLS and proxy settings of this
    /// builder are then ignored.
    pub fn ureq_agent(mut self, agent: Agent) -> Self {
        self.http = Some(agent);
        self
    }
}

/// Sends requests with ureq and sleeps with the thread.
pub(crate) struct Transport {
    agent: Agent,
    /// Whether the agent came from the user: its settings are then not ours, so every request
    /// carries the settings the SDK relies on.
    custom: bool,
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
        if let Some(agent) = http {
            return Ok(Transport {
                agent,
                custom: true,
                config,
            });
        }
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
            .max_idle_connections_per_host(64)
            .max_idle_age(agenttier_core::config::POOL_IDLE_TIMEOUT);
        Ok(Transport {
            agent: with_tls(builder, &config)?.build().into(),
            custom: false,
            config,
        })
    }

    pub(crate) fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub(crate) fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }

    /// One attempt of a unary call: sends `req` and reads the whole body (up to the limit).
    pub(crate) fn send(&self, req: &Request) -> std::result::Result<RawResponse, Failure> {
        let head = self.start(req, Phase::Unary)?;
        wire::read_whole(head, self.config.max_response_bytes)
    }

    /// One attempt whose body is read progressively, with the idle timeout between reads.
    pub(crate) fn open(&self, req: &Request) -> std::result::Result<Head, Failure> {
        self.start(req, Phase::Progressive)
    }

    /// Sends `req` with its body read from `body` as it goes (`len` bytes, or chunked when
    /// unknown), with idle timeouts on every read and write instead of a total one.
    pub(crate) fn upload<R: ReadSource>(
        &self,
        req: &Request,
        body: R,
        len: Option<u64>,
        meter: &mut UploadMeter<'_>,
    ) -> std::result::Result<RawResponse, Failure> {
        let mut source = Metered {
            inner: body,
            meter,
            exceeded: false,
        };
        let mut builder = self
            .request_builder(req)?
            .header(http::header::CONTENT_TYPE, "application/octet-stream");
        if let Some(len) = len {
            builder = builder.header(http::header::CONTENT_LENGTH, len);
        }
        let request = builder
            .body(ureq::SendBody::from_reader(&mut source))
            .map_err(|e| Failure::Invalid(format!("invalid request: {e}")))?;
        let result = self.run(request, req, Phase::Upload);
        if source.exceeded {
            return Err(UploadMeter::too_large());
        }
        wire::read_whole(
            head(result.map_err(ureq_failure)?, Phase::Unary),
            self.config.max_response_bytes,
        )
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

    fn start(&self, req: &Request, phase: Phase) -> std::result::Result<Head, Failure> {
        let builder = self.request_builder(req)?;
        let invalid = |e: http::Error| Failure::Invalid(format!("invalid request: {e}"));
        let result = if req.has_body() {
            self.run(builder.body(req.body_bytes()).map_err(invalid)?, req, phase)
        } else {
            self.run(builder.body(()).map_err(invalid)?, req, phase)
        };
        result.map(|r| head(r, phase)).map_err(ureq_failure)
    }

    /// Runs `request` with the timeouts `req` and `phase` call for.
    ///
    /// Unary calls bound each phase (sending, waiting for the answer, reading it) by the call's
    /// timeout instead of setting ureq's global timeout: with a global timeout ureq resolves
    /// every host, even an IP literal, on a thread of its own, which costs more than a whole
    /// call on loopback. Bodies read progressively have no total timeout (only a watch's
    /// deadline), just the idle timeout per read (and per write for uploads).
    fn run<S: ureq::AsSendBody>(
        &self,
        request: http::Request<S>,
        req: &Request,
        phase: Phase,
    ) -> std::result::Result<http::Response<ureq::Body>, ureq::Error> {
        let phase = match phase {
            Phase::Unary if req.is_streaming() => Phase::Progressive,
            other => other,
        };
        if matches!(phase, Phase::Unary) && req.timeout.is_none() && !self.custom {
            // The agent's own settings fit; a per-request configuration is a copy of them.
            return self.agent.run(request);
        }
        let mut request = self.agent.configure_request(request);
        if self.custom {
            // What the SDK relies on, whatever the user's agent says.
            request = request.http_status_as_error(false).max_redirects(0);
        }
        let idle = Some(self.config.stream_idle_timeout);
        // Only a watch sets a total cap (its deadline); transfers run as long as data flows.
        let cap = req.timeout.filter(|_| req.is_streaming());
        let request = match phase {
            Phase::Unary => {
                let t = Some(req.timeout.unwrap_or(self.config.timeout));
                request
                    .timeout_send_request(t)
                    .timeout_send_body(t)
                    .timeout_recv_response(t)
                    .timeout_recv_body(t)
            }
            Phase::Progressive => request
                .timeout_global(cap)
                .timeout_recv_body(None)
                .timeout_per_read(idle),
            Phase::Upload => request
                .timeout_global(cap)
                .timeout_send_body(None)
                .timeout_per_read(idle)
                .timeout_per_write(idle),
        };
        self.agent.run(request.build())
    }
}

/// How a request's body and answer move, which decides its timeouts.
#[derive(Clone, Copy)]
enum Phase {
    /// A call answered at once: the call's timeout on each step.
    Unary,
    /// An answer read as it comes (a stream, a download, a watch).
    Progressive,
    /// A body sent as it is read from a local source.
    Upload,
}

/// The answer, its body to be read in chunks: small ones for a unary answer (usually a few
/// hundred bytes of JSON, and the buffer is zeroed on every call), large ones for streams.
fn head(response: http::Response<ureq::Body>, phase: Phase) -> Head {
    let chunk = match phase {
        Phase::Unary => 8 * 1024,
        _ => CHUNK,
    };
    let (parts, body) = response.into_parts();
    Head {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body: Body {
            reader: body.into_reader(),
            buf: vec![0; chunk],
        },
    }
}

/// ureq's TLS settings: the shared roots and the ring provider with rustls; the platform's
/// library (and by default its own roots) with native-tls, which wins when both are enabled.
#[cfg(any(feature = "rustls", feature = "native-tls"))]
fn with_tls(
    agent: ureq::config::ConfigBuilder<ureq::typestate::AgentScope>,
    config: &ClientConfig,
) -> Result<ureq::config::ConfigBuilder<ureq::typestate::AgentScope>> {
    use crate::client::tls::Anchors;
    use ureq::tls::{Certificate, RootCerts};

    let mut builder = ureq::tls::TlsConfig::builder();
    #[cfg(feature = "native-tls")]
    {
        builder = builder.provider(ureq::tls::TlsProvider::NativeTls);
    }
    #[cfg(all(feature = "rustls", not(feature = "native-tls")))]
    {
        builder = builder
            .provider(ureq::tls::TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(crate::client::tls::crypto_provider());
    }
    let roots = match Anchors::of(config)? {
        _ if !config.uses_tls() || config.danger_accept_invalid_certs => RootCerts::new_with_certs(&[]),
        // The native library reads the OS store itself (SSL_CERT_FILE and SSL_CERT_DIR too).
        Anchors::Os(extra) if extra.is_empty() && cfg!(feature = "native-tls") => RootCerts::PlatformVerifier,
        anchors => {
            let certs: Vec<Certificate<'static>> = anchors
                .resolve()?
                .iter()
                .map(|der| Certificate::from_der(der.as_ref()).to_owned())
                .collect();
            RootCerts::new_with_certs(&certs)
        }
    };
    builder = builder.root_certs(roots);
    if let Some(identity) = &config.client_identity {
        let chain: Vec<Certificate<'static>> =
            crate::client::tls::certificates(&identity.certificate_pem, "client certificate")?
                .iter()
                .map(|der| Certificate::from_der(der.as_ref()).to_owned())
                .collect();
        #[cfg(feature = "native-tls")]
        let key = ureq::tls::PrivateKey::from_pem(crate::client::tls::pkcs8_pem(&identity.private_key_pem)?.as_bytes())
            .map_err(|e| Error::config(format!("invalid client key PEM: {e}")))?;
        #[cfg(not(feature = "native-tls"))]
        let key = ureq::tls::PrivateKey::from_pem(&identity.private_key_pem)
            .map_err(|e| Error::config(format!("invalid client key PEM: {e}")))?;
        builder = builder.client_cert(Some(ureq::tls::ClientCert::new_with_certs(&chain, key)));
    }
    if config.danger_accept_invalid_certs {
        builder = builder.disable_verification(true);
    }
    Ok(agent.tls_config(builder.build()))
}

/// Without a TLS feature only `http` URLs work; an `https` one is refused when the client is built.
#[cfg(not(any(feature = "rustls", feature = "native-tls")))]
fn with_tls(
    agent: ureq::config::ConfigBuilder<ureq::typestate::AgentScope>,
    config: &ClientConfig,
) -> Result<ureq::config::ConfigBuilder<ureq::typestate::AgentScope>> {
    if config.uses_tls() {
        return Err(Error::config(
            "an https URL needs TLS: enable the `rustls` (default) or `native-tls` feature",
        ));
    }
    Ok(agent)
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
