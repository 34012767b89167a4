//! The async transport: one reqwest client (one connection pool) per SDK client.

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

use agenttier_core::request::{Body, Request};
use agenttier_core::{ClientConfig, Error, Result, TimeoutKind};
use futures_util::StreamExt;

use crate::client::{Failure, Limits, RawResponse};

/// Sends requests with reqwest and sleeps with tokio.
pub(crate) struct Transport {
    http: reqwest::Client,
    config: ClientConfig,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("base_url", &self.config.base_url)
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
            .read_timeout(config.stream_idle_timeout);
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
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| Error::config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Transport { http, config })
    }

    pub(crate) fn config(&self) -> &ClientConfig {
        &self.config
    }

    pub(crate) fn timeout_for(&self, req: &Request) -> Limits {
        Limits {
            connect: self.config.connect_timeout,
            request: req.timeout.unwrap_or(self.config.timeout),
            idle: self.config.stream_idle_timeout,
        }
    }

    pub(crate) async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }

    /// One attempt: sends `req` and reads the whole body (up to the configured limit).
    pub(crate) async fn send(&self, req: &Request) -> std::result::Result<RawResponse, Failure> {
        let deadline = req.timeout.unwrap_or(self.config.timeout);
        let attempt = async {
            let response = self.start(req).await?;
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
        };
        match tokio::time::timeout(deadline, attempt).await {
            Ok(result) => result,
            Err(_) => Err(Failure::Timeout(TimeoutKind::Request)),
        }
    }

    async fn start(&self, req: &Request) -> std::result::Result<reqwest::Response, Failure> {
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
        if !matches!(req.body, Body::Empty) {
            builder = builder.body(req.body_bytes().to_vec());
        }
        builder.send().await.map_err(reqwest_failure)
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
