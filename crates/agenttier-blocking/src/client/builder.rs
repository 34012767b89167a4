//! `Client::builder()`: every knob of a client, validated once at `build()`.

use std::path::Path;
use std::time::Duration;

use agenttier_core::{Auth, BuiltInRoots, ClientConfig, Error, Result, RetryPolicy};

use super::Client;
use crate::transport::HttpClient;

/// Configures a [`Client`]; obtained from [`Client::builder`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `build()` is called"]
pub struct ClientBuilder {
    config: ClientConfig,
    base_url_set: bool,
    /// The user's own HTTP client, set by the flavour's own method (`reqwest_client` / `ureq_agent`).
    pub(crate) http: Option<HttpClient>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            config: ClientConfig::new(String::new()),
            base_url_set: false,
            http: None,
        }
    }
}

impl ClientBuilder {
    /// The Router's root URL, for example `http://127.0.0.1:8080` (a trailing `/api/v1` is accepted).
    /// Defaults to `AGENTTIER_API_URL`.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.config.base_url = url.into();
        self.base_url_set = true;
        self
    }

    /// Credentials; by default the auth chain (`AGENTTIER_API_KEY`, `AGENTTIER_TOKEN`, the
    /// service-account token file, none).
    pub fn auth(mut self, auth: Auth) -> Self {
        self.config.auth = auth;
        self
    }

    /// Shorthand for `auth(Auth::api_key(key)?)`.
    pub fn api_key(self, key: impl Into<String>) -> Result<Self> {
        Ok(self.auth(Auth::api_key(key)?))
    }

    /// Shorthand for `auth(Auth::bearer_token(token)?)`.
    pub fn bearer_token(self, token: impl Into<String>) -> Result<Self> {
        Ok(self.auth(Auth::bearer_token(token)?))
    }

    /// Limit on establishing a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.config.connect_timeout = timeout;
        self
    }

    /// Limit on a unary call (default 30 s): the whole call in the async client, each of sending,
    /// waiting for the answer and reading it in the blocking one. Exec adds its own timeout on top.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// Longest silence tolerated on a stream (default 5 min). Streams have no total timeout.
    pub fn stream_idle_timeout(mut self, timeout: Duration) -> Self {
        self.config.stream_idle_timeout = timeout;
        self
    }

    /// Retry policy; [`RetryPolicy::disabled`] turns retries off.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.config.retry = policy;
        self
    }

    /// `User-Agent` header (default `agenttier-rust-sdk/<version>`).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.config.user_agent = user_agent.into();
        self
    }

    /// Which roots are trusted out of the box: the operating system's store (default, honours
    /// `SSL_CERT_FILE` and `SSL_CERT_DIR`) or the Mozilla bundle compiled in
    /// ([`BuiltInRoots::WebPki`], feature `webpki-roots`).
    pub fn built_in_roots(mut self, roots: BuiltInRoots) -> Self {
        self.config.built_in_roots = roots;
        self
    }

    /// Skips verifying the server's certificate: any certificate, for any name, is accepted.
    ///
    /// The equivalent of `verify=False` in the Python SDK (and `curl --insecure`). The traffic
    /// is still encrypted but no longer authenticated, so anyone on the path can read and change
    /// it, credentials included. For a throwaway test setup only; to trust a private CA use
    /// [`add_root_certificates_file`](Self::add_root_certificates_file) instead.
    pub fn danger_accept_invalid_certs(mut self, accept: bool) -> Self {
        self.config.danger_accept_invalid_certs = accept;
        self
    }

    /// Trusts extra root certificates (PEM, one or more), in addition to the built-in roots.
    pub fn add_root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.config.root_certificates_pem.push(pem.into());
        self
    }

    /// Reads extra root certificates from a PEM file.
    pub fn add_root_certificates_file(self, path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let pem = std::fs::read(path)
            .map_err(|e| Error::config(format!("cannot read certificate file {}: {e}", path.display())))?;
        Ok(self.add_root_certificates_pem(pem))
    }

    /// Sends every request through this proxy (`http://host:port`). Without it, `HTTPS_PROXY`,
    /// `HTTP_PROXY` and `NO_PROXY` from the environment apply.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.config.proxy = Some(url.into());
        self
    }

    /// Largest unary response body accepted (default 100 MiB: the largest exec answer fits).
    pub fn max_response_bytes(mut self, limit: usize) -> Self {
        self.config.max_response_bytes = limit;
        self
    }

    /// Builds the client.
    pub fn build(mut self) -> Result<Client> {
        if !self.base_url_set {
            self.config.base_url = ClientConfig::from_env()?.base_url;
        }
        Client::from_parts(self.config, self.http)
    }
}
