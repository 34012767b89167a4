//! Client configuration, shared by both flavours' builders.

use std::time::Duration;

use crate::{Auth, Error, Result, RetryPolicy};

/// Environment variable naming the Router's base URL.
pub const API_URL_ENV: &str = "AGENTTIER_API_URL";

/// How long a pooled connection may sit idle before the client drops it: below the idle timeouts
/// of the proxies usually in front of a Router (AWS ALB 60 s, nginx 75 s), so that a proxy does
/// not close a connection just as a request goes out on it.
pub const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The default [`ClientConfig::max_response_bytes`]: 100 MiB, which admits the largest exec answer
/// a Router gives — stdout and stderr each capped at 8 MiB plus a `\n[truncated]` marker, every
/// byte escaped to at most 6 in JSON (`\u0000`), about 96 MiB in all.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 100 * 1024 * 1024;

/// Everything a client needs to know to talk to a Router.
///
/// `Debug` shows no credential: the auth's secret, a client key and the `user:password` of a
/// URL (base or proxy) are redacted.
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// Router root URL, without a trailing slash or `/api/v1`.
    pub base_url: String,
    /// Credentials.
    pub auth: Auth,
    /// Limit on establishing a connection (default 10 s).
    pub connect_timeout: Duration,
    /// Limit on a unary call (default 30 s): the whole call in the async client, each of sending,
    /// waiting for the answer and reading it in the blocking one. Exec adds its own timeout on top.
    pub timeout: Duration,
    /// Longest silence tolerated on a stream (default 5 min; the Router sends a keep-alive every 15 s).
    pub stream_idle_timeout: Duration,
    /// Retry policy for idempotent calls.
    pub retry: RetryPolicy,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Extra trusted root certificates, PEM encoded, added to the built-in roots.
    pub root_certificates_pem: Vec<Vec<u8>>,
    /// Which built-in roots are trusted besides [`root_certificates_pem`](Self::root_certificates_pem):
    /// the operating system's (default) or the compiled-in Mozilla bundle.
    pub built_in_roots: BuiltInRoots,
    /// Explicit proxy URL; when unset, `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY` are honoured.
    pub proxy: Option<String>,
    /// Largest unary response body accepted (default [`DEFAULT_MAX_RESPONSE_BYTES`], 100 MiB), so
    /// a runaway server cannot exhaust memory.
    pub max_response_bytes: usize,
    /// Trust only [`root_certificates_pem`](Self::root_certificates_pem), not the built-in roots
    /// (a Kubernetes cluster's own CA). Default `false`.
    pub only_listed_roots: bool,
    /// A client certificate for mutual TLS (a kubeconfig's `client-certificate` and `client-key`).
    pub client_identity: Option<ClientIdentity>,
    /// Skip verifying the server's certificate (a kubeconfig's `insecure-skip-tls-verify`).
    /// Dangerous; default `false`.
    pub danger_accept_invalid_certs: bool,
}

/// The root certificates a client trusts out of the box.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuiltInRoots {
    /// The operating system's trust store, read when the client is built: on Linux the
    /// distribution's CA bundle, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set; the keychain on
    /// macOS; the certificate store on Windows. A corporate CA the machine trusts is trusted.
    #[default]
    Os,
    /// The Mozilla root program's bundle compiled into the binary (feature `webpki-roots`): the
    /// same on every machine, blind to the machine's own CAs. For minimal containers without a
    /// CA bundle.
    WebPki,
}

/// A client certificate chain and its private key, both PEM, for mutual TLS.
///
/// The key never shows in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientIdentity {
    /// The certificate chain, leaf first (PEM).
    pub certificate_pem: Vec<u8>,
    /// The private key: PKCS#8, RSA (PKCS#1) or EC (SEC1), PEM.
    pub private_key_pem: Vec<u8>,
}

impl std::fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &redact_url(&self.base_url))
            .field("auth", &self.auth)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("stream_idle_timeout", &self.stream_idle_timeout)
            .field("retry", &self.retry)
            .field("user_agent", &self.user_agent)
            .field(
                "root_certificates_pem",
                &format_args!("{} certificates", self.root_certificates_pem.len()),
            )
            .field("proxy", &self.proxy.as_deref().map(redact_url))
            .field("max_response_bytes", &self.max_response_bytes)
            .field("only_listed_roots", &self.only_listed_roots)
            .field("client_identity", &self.client_identity)
            .field("danger_accept_invalid_certs", &self.danger_accept_invalid_certs)
            .finish_non_exhaustive()
    }
}

/// `url` with its `user:password@` (if any) replaced by `[redacted]@`, for `Debug` output.
pub fn redact_url(url: &str) -> std::borrow::Cow<'_, str> {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let authority_end = url[after_scheme..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| after_scheme + i);
    match url[after_scheme..authority_end].rfind('@') {
        Some(at) => format!("{}[redacted]{}", &url[..after_scheme], &url[after_scheme + at..]).into(),
        None => url.into(),
    }
}

impl std::fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("certificate_pem", &format_args!("{} bytes", self.certificate_pem.len()))
            .field("private_key_pem", &format_args!("[redacted]"))
            .finish()
    }
}

/// The default `User-Agent`.
pub fn default_user_agent() -> String {
    format!("agenttier-rust-sdk/{}", env!("CARGO_PKG_VERSION"))
}

impl ClientConfig {
    /// Defaults for the Router at `base_url`, credentials from the auth chain.
    pub fn new(base_url: impl Into<String>) -> Self {
        ClientConfig {
            base_url: base_url.into(),
            auth: Auth::from_env(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            stream_idle_timeout: Duration::from_secs(300),
            retry: RetryPolicy::default(),
            user_agent: default_user_agent(),
            root_certificates_pem: Vec::new(),
            built_in_roots: BuiltInRoots::default(),
            proxy: None,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            only_listed_roots: false,
            client_identity: None,
            danger_accept_invalid_certs: false,
        }
    }

    /// Defaults with the base URL from `AGENTTIER_API_URL`.
    pub fn from_env() -> Result<Self> {
        match std::env::var(API_URL_ENV) {
            Ok(url) if !url.trim().is_empty() => Ok(Self::new(url)),
            _ => Err(Error::config(format!(
                "{API_URL_ENV} is not set: set it to the Router's URL (for example http://127.0.0.1:8080) or use Client::builder().base_url(..)"
            ))),
        }
    }

    /// Whether the client will open TLS connections: its base URL or its proxy is `https`.
    pub fn uses_tls(&self) -> bool {
        let https = |url: &str| {
            url.trim_start()
                .get(..8)
                .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        };
        https(&self.base_url) || self.proxy.as_deref().is_some_and(https)
    }

    /// Checks and normalises the configuration (trailing slashes and `/api/v1` are removed from the URL).
    pub fn validated(mut self) -> Result<Self> {
        let url = self.base_url.trim().trim_end_matches('/');
        let url = url.strip_suffix("/api/v1").unwrap_or(url).trim_end_matches('/');
        let uri: http::Uri = url
            .parse()
            .map_err(|e| Error::config(format!("base URL {url:?} is not a valid URL: {e}")))?;
        match uri.scheme_str() {
            Some("http" | "https") if uri.host().is_some_and(|h| !h.is_empty()) => {}
            _ => {
                return Err(Error::config(format!(
                    "base URL {url:?} must start with http:// or https:// and name a host"
                )));
            }
        }
        if uri.query().is_some() {
            return Err(Error::config(format!("base URL {url:?} must not have a query string")));
        }
        if self.timeout.is_zero() || self.connect_timeout.is_zero() || self.stream_idle_timeout.is_zero() {
            return Err(Error::config("timeouts must be greater than zero"));
        }
        self.base_url = url.to_owned();
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_url_credentials() {
        for (url, want) in [
            ("http://user:pa55@proxy:3128", "http://[redacted]@proxy:3128"),
            ("http://u%40x:p@ss@proxy/path@x", "http://[redacted]@proxy/path@x"),
            ("user:pa55@proxy:3128", "[redacted]@proxy:3128"),
            ("http://proxy:3128/a@b", "http://proxy:3128/a@b"),
            ("http://proxy:3128", "http://proxy:3128"),
        ] {
            assert_eq!(redact_url(url), want, "{url}");
        }
        let mut c = ClientConfig::new("https://admin:hunter2@router.example");
        c.proxy = Some("http://alice:s3cr3t@proxy.example:3128".into());
        let text = format!("{c:?}");
        assert!(!text.contains("s3cr3t") && !text.contains("hunter2"), "{text}");
        assert!(
            text.contains("proxy.example:3128") && text.contains("router.example"),
            "{text}"
        );
    }

    #[test]
    fn normalises_urls() {
        for (input, want) in [
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
            ("https://agenttier.example.com/api/v1/", "https://agenttier.example.com"),
            (" https://h/prefix/ ", "https://h/prefix"),
        ] {
            assert_eq!(ClientConfig::new(input).validated().unwrap().base_url, want);
        }
    }

    #[test]
    fn refuses_bad_urls_with_a_hint() {
        for bad in ["", "localhost:8080", "ftp://h", "http://", "http://h?x=1"] {
            let err = ClientConfig::new(bad).validated().unwrap_err();
            assert!(matches!(err, Error::Config { .. }), "{bad}: {err}");
        }
    }
}
