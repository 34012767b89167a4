//! Credentials and the auth-detection chain.
//!
//! Order, first match wins:
//! 1. an explicit [`Auth`] given to the client builder, which may be a [`TokenSource`] of
//!    your own for tokens that expire (OIDC, cloud identity);
//! 2. `AGENTTIER_API_KEY`, sent as `X-API-Key`;
//! 3. `AGENTTIER_TOKEN`, sent as `Authorization: Bearer`;
//! 4. the in-cluster service-account token file ([`SERVICE_ACCOUNT_TOKEN_PATH`]), sent as a
//!    bearer token and re-read whenever the file changes, so rotation just works;
//! 5. no credentials (only a Router in dev-auth mode accepts that).
//!
//! Secrets never appear in `Debug` output, logs or errors: [`Secret`] redacts itself and the
//! header values are marked sensitive.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use http::{HeaderName, HeaderValue};

use crate::{Error, Result};

/// Where Kubernetes mounts a pod's service-account token.
pub const SERVICE_ACCOUNT_TOKEN_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/// Environment variable holding an API key.
pub const API_KEY_ENV: &str = "AGENTTIER_API_KEY";

/// Environment variable holding a bearer token.
pub const TOKEN_ENV: &str = "AGENTTIER_TOKEN";

/// A credential string that never shows itself in `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself; use only to send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// How the client authenticates.
///
/// ```
/// use agenttier_core::Auth;
/// let auth = Auth::api_key("atk_example").unwrap();
/// assert!(!format!("{auth:?}").contains("atk_example"));
/// ```
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Auth {
    /// An AgentTier API key, sent as `X-API-Key`.
    ApiKey(Secret),
    /// A bearer token (OIDC), sent as `Authorization: Bearer`.
    BearerToken(Secret),
    /// A token file re-read when it changes (the in-cluster service-account token).
    TokenFile(TokenFile),
    /// Bearer tokens from a [`TokenSource`] of the caller's.
    Source(SourcedToken),
    /// No credentials.
    None,
}

impl Auth {
    /// An API key. Empty keys are refused.
    pub fn api_key(key: impl Into<String>) -> Result<Self> {
        non_empty(key.into(), "API key").map(|k| Auth::ApiKey(Secret(k)))
    }

    /// A bearer token. Empty tokens are refused.
    pub fn bearer_token(token: impl Into<String>) -> Result<Self> {
        non_empty(token.into(), "bearer token").map(|t| Auth::BearerToken(Secret(t)))
    }

    /// Bearer tokens from `source`: asked before every request, and asked for a fresh token once
    /// when the Router answers `401` (the request is then sent again once).
    pub fn token_source(source: impl TokenSource) -> Self {
        Auth::Source(SourcedToken {
            source: Arc::new(source),
            rejected: Arc::new(AtomicBool::new(false)),
        })
    }

    /// A bearer token read from `path`, re-read whenever the file changes.
    pub fn token_file(path: impl Into<PathBuf>) -> Self {
        Auth::TokenFile(TokenFile::new(path))
    }

    /// The chain from the process environment (steps 2–5 of the module docs).
    pub fn from_env() -> Self {
        Self::detect(|name| std::env::var(name).ok(), Path::new(SERVICE_ACCOUNT_TOKEN_PATH))
    }

    /// The chain with an explicit environment lookup and token path (what [`Auth::from_env`] uses).
    pub fn detect(env: impl Fn(&str) -> Option<String>, token_path: &Path) -> Self {
        if let Some(key) = env(API_KEY_ENV).filter(|v| !v.is_empty()) {
            return Auth::ApiKey(Secret(key));
        }
        if let Some(token) = env(TOKEN_ENV).filter(|v| !v.is_empty()) {
            return Auth::BearerToken(Secret(token));
        }
        let usable = std::fs::read_to_string(token_path).is_ok_and(|t| !t.trim().is_empty());
        if usable {
            Auth::token_file(token_path)
        } else {
            Auth::None
        }
    }

    /// The header to send, or `None` for no credentials. Header values are marked sensitive.
    pub fn header(&self) -> Result<Option<(HeaderName, HeaderValue)>> {
        let (name, value) = match self {
            Auth::ApiKey(key) => (HeaderName::from_static("x-api-key"), key.expose().to_owned()),
            Auth::BearerToken(token) => (http::header::AUTHORIZATION, format!("Bearer {}", token.expose())),
            Auth::TokenFile(file) => match file.token()? {
                Some(token) => (http::header::AUTHORIZATION, format!("Bearer {}", token.expose())),
                None => return Ok(None),
            },
            Auth::Source(sourced) => (
                http::header::AUTHORIZATION,
                format!("Bearer {}", sourced.token()?.expose()),
            ),
            Auth::None => return Ok(None),
        };
        let mut value = HeaderValue::from_str(&value)
            .map_err(|_| Error::config("credential contains characters that cannot be sent in an HTTP header"))?;
        value.set_sensitive(true);
        Ok(Some((name, value)))
    }

    /// A short description for diagnostics (never the secret).
    pub fn kind(&self) -> &'static str {
        match self {
            Auth::ApiKey(_) => "API key",
            Auth::BearerToken(_) => "bearer token",
            Auth::TokenFile(_) => "token file",
            Auth::Source(_) => "token source",
            Auth::None => "none",
        }
    }

    /// Called when the Router refused the credential with `401`: a token source is asked for
    /// a fresh token on the next request, and `true` says that resending is worth it.
    pub fn rejected(&self) -> bool {
        match self {
            Auth::Source(sourced) => {
                sourced.rejected.store(true, Ordering::SeqCst);
                true
            }
            _ => false,
        }
    }
}

/// Supplies bearer tokens that expire and must be refreshed (OIDC, cloud workload identity).
///
/// The client calls [`token`](Self::token) before every request, so it should return a cached
/// token while that one is valid and fetch a new one shortly before it expires. It runs on the
/// calling thread (in the async client, on the runtime's thread), so keep it quick: refresh in
/// the background if fetching is slow. After the Router refused a token with `401`, the next
/// call has `refresh = true` (fetch a new one even if the cached one looks valid), and the
/// refused request is sent once more with it.
///
/// ```
/// use agenttier_core::{Auth, BoxError, Secret, auth::TokenSource};
///
/// struct FromMyIdp;
/// impl TokenSource for FromMyIdp {
///     fn token(&self, _refresh: bool) -> Result<Secret, BoxError> {
///         // Ask the identity provider when `refresh` is set or the cached token is near expiry.
///         Ok(Secret::new("eyJ..."))
///     }
/// }
/// let auth = Auth::token_source(FromMyIdp);
/// assert_eq!(auth.kind(), "token source");
/// ```
pub trait TokenSource: Send + Sync + 'static {
    /// The token to send now; `refresh` asks for a new one after a rejection.
    fn token(&self, refresh: bool) -> std::result::Result<Secret, crate::BoxError>;
}

/// A [`TokenSource`] in an [`Auth`], with the "refused, refresh next time" mark.
#[derive(Clone)]
pub struct SourcedToken {
    source: Arc<dyn TokenSource>,
    rejected: Arc<AtomicBool>,
}

impl SourcedToken {
    fn token(&self) -> Result<Secret> {
        let refresh = self.rejected.swap(false, Ordering::SeqCst);
        let token = self
            .source
            .token(refresh)
            .map_err(|e| Error::config(format!("the token source failed: {e}")))?;
        if token.expose().trim().is_empty() {
            return Err(Error::config("the token source returned an empty token"));
        }
        Ok(token)
    }
}

impl fmt::Debug for SourcedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SourcedToken(..)")
    }
}

fn non_empty(value: String, what: &str) -> Result<String> {
    if value.trim().is_empty() {
        Err(Error::invalid_input(format!("{what} must not be empty")))
    } else {
        Ok(value)
    }
}

/// A token file, re-read when its modification time or size changes. When a read fails the
/// last good token keeps being used, as Kubernetes clients do during rotation.
#[derive(Clone)]
pub struct TokenFile {
    path: PathBuf,
    cache: Arc<Mutex<Option<CachedToken>>>,
}

#[derive(Clone)]
struct CachedToken {
    stamp: (Option<SystemTime>, u64),
    token: Secret,
}

impl fmt::Debug for TokenFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl TokenFile {
    /// A token file at `path` (read lazily, on first use).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        TokenFile {
            path: path.into(),
            cache: Arc::new(Mutex::new(None)),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current token: re-read if the file changed; the cached one if the file cannot be
    /// read now; `None` if it never could be read or is empty.
    pub fn token(&self) -> Result<Option<Secret>> {
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let stamp = std::fs::metadata(&self.path).ok().map(|m| (m.modified().ok(), m.len()));
        let fresh = match (&*cache, stamp) {
            (Some(cached), Some(stamp)) => cached.stamp == stamp,
            (Some(_), None) => true,
            (None, _) => false,
        };
        if !fresh {
            if let (Some(stamp), Ok(text)) = (stamp, std::fs::read_to_string(&self.path)) {
                let token = text.trim();
                *cache = (!token.is_empty()).then(|| CachedToken {
                    stamp,
                    token: Secret(token.to_owned()),
                });
            }
        }
        Ok(cache.as_ref().map(|c| c.token.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    fn header_of(auth: &Auth) -> Option<(String, String)> {
        auth.header()
            .unwrap()
            .map(|(n, v)| (n.to_string(), v.to_str().unwrap().to_owned()))
    }

    #[test]
    fn chain_order() {
        let dir = tempfile::tempdir().unwrap();
        let token_path = dir.path().join("token");
        std::fs::write(&token_path, "sa-token\n").unwrap();
        let missing = dir.path().join("missing");

        let both = Auth::detect(env(&[(API_KEY_ENV, "k1"), (TOKEN_ENV, "t1")]), &token_path);
        assert_eq!(header_of(&both), Some(("x-api-key".into(), "k1".into())));
        let token = Auth::detect(env(&[(API_KEY_ENV, ""), (TOKEN_ENV, "t1")]), &token_path);
        assert_eq!(header_of(&token), Some(("authorization".into(), "Bearer t1".into())));
        let file = Auth::detect(env(&[]), &token_path);
        assert_eq!(
            header_of(&file),
            Some(("authorization".into(), "Bearer sa-token".into()))
        );
        let none = Auth::detect(env(&[]), &missing);
        assert!(matches!(none, Auth::None));
        assert_eq!(header_of(&none), None);
        std::fs::write(&token_path, "  \n").unwrap();
        assert!(matches!(Auth::detect(env(&[]), &token_path), Auth::None));
    }

    #[test]
    fn token_file_rotation_and_outage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "first").unwrap();
        let auth = Auth::token_file(&path);
        assert_eq!(header_of(&auth).unwrap().1, "Bearer first");
        // A rotated token of a different size is picked up.
        std::fs::write(&path, "second-token").unwrap();
        assert_eq!(header_of(&auth).unwrap().1, "Bearer second-token");
        // While the file is gone, the last good token keeps working.
        std::fs::remove_file(&path).unwrap();
        assert_eq!(header_of(&auth).unwrap().1, "Bearer second-token");
        std::fs::write(&path, "third").unwrap();
        assert_eq!(header_of(&auth).unwrap().1, "Bearer third");
    }

    #[test]
    fn token_source_is_asked_each_time_and_refreshes_after_a_rejection() {
        struct Counter(Mutex<Vec<bool>>);
        impl TokenSource for Arc<Counter> {
            fn token(&self, refresh: bool) -> std::result::Result<Secret, crate::BoxError> {
                let mut calls = self.0.lock().unwrap();
                calls.push(refresh);
                Ok(Secret::new(format!("t{}", calls.len())))
            }
        }
        let counter = Arc::new(Counter(Mutex::new(Vec::new())));
        let auth = Auth::token_source(counter.clone());
        assert_eq!(header_of(&auth).unwrap().1, "Bearer t1");
        assert_eq!(header_of(&auth).unwrap().1, "Bearer t2");
        assert!(auth.rejected());
        assert_eq!(header_of(&auth).unwrap().1, "Bearer t3");
        assert_eq!(*counter.0.lock().unwrap(), [false, false, true]);
        assert!(!Auth::None.rejected() && !Auth::api_key("k").unwrap().rejected());
        assert!(!format!("{auth:?}").contains("t1"));

        struct Failing;
        impl TokenSource for Failing {
            fn token(&self, _: bool) -> std::result::Result<Secret, crate::BoxError> {
                Err("idp unreachable".into())
            }
        }
        let err = Auth::token_source(Failing).header().unwrap_err().to_string();
        assert!(err.contains("the token source failed: idp unreachable"), "{err}");
    }

    #[test]
    fn secrets_stay_hidden() {
        let auth = Auth::bearer_token("super-secret").unwrap();
        assert!(!format!("{auth:?}").contains("super-secret"));
        let (_, value) = auth.header().unwrap().unwrap();
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains("super-secret"));
        assert!(Auth::api_key("").is_err());
        assert!(Auth::bearer_token("  ").is_err());
        let err = Auth::api_key("bad\nkey").unwrap().header().unwrap_err().to_string();
        assert!(!err.contains("bad"), "{err}");
    }
}
