//! Authentication (wire spec §1): dev-auth, API keys minted by this router, and the 401 replies.
//!
//! Keys are `atk_` + base64url (no padding) of 32 random bytes; only their SHA-256 (hex) is
//! stored. A key belongs to a user named at mint time: `sub` = the name,
//! `email` = `<name>@agenttier.local`, display name = the name; admin flag and groups as given
//! (a local extension, §16). Validated keys are cached in memory for a few seconds, so a key
//! minted or revoked by `agenttier-router keys ...` while the server runs takes effect promptly
//! without a database read per request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::errors::{ApiError, RouterError};
use crate::gotime::now_unix;
use crate::store::{KeyRow, Store};

/// The caller of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub sub: String,
    pub email: String,
    pub name: String,
    pub groups: Vec<String>,
    pub is_admin: bool,
    /// For a sandbox-scoped API key: the sandbox and the action groups it holds (§1.5).
    pub scope: Option<(String, Vec<String>)>,
}

impl Identity {
    /// The fixed dev-auth identity (§1.4).
    pub(crate) fn dev() -> Identity {
        Identity {
            sub: "dev-user".into(),
            email: "dev@agenttier.local".into(),
            name: "Dev User".into(),
            groups: vec!["agenttier-admins".into()],
            is_admin: true,
            scope: None,
        }
    }

    /// Whether this caller may see and touch a sandbox owned by `owner_sub`.
    pub(crate) fn can_access(&self, owner_sub: &str) -> bool {
        self.is_admin || self.sub == owner_sub
    }
}

/// SHA-256 hex of a presented key.
pub(crate) fn hash_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Mints a key for the user `name` and stores its hash; returns the secret (shown once) and the
/// stored metadata.
pub(crate) fn mint_key(
    store: &Store,
    name: &str,
    admin: bool,
    groups: &[String],
) -> Result<(String, KeyRow), RouterError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(RouterError::Config("key name must not be empty".into()));
    }
    let row = KeyRow {
        id: String::new(),
        name: name.to_owned(),
        sub: name.to_owned(),
        email: format!("{name}@agenttier.local"),
        display_name: name.to_owned(),
        admin,
        groups: groups.to_vec(),
        created_at: now_unix(),
        revoked_at: None,
        sandbox_id: None,
        scopes: Vec::new(),
        expires_at: None,
    };
    mint_row(store, row)
}

/// Mints a key with the metadata of `row` (its `id` is derived from the new secret).
pub(crate) fn mint_row(store: &Store, mut row: KeyRow) -> Result<(String, KeyRow), RouterError> {
    let bytes: [u8; 32] = crate::random::bytes();
    let secret = format!("atk_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes));
    let hash = hash_key(&secret);
    row.id = format!("agenttier-apikey-{}", &hash[..40]);
    store.insert_key(&hash, &row)?;
    Ok((secret, row))
}

const CACHE_TTL: Duration = Duration::from_secs(3);

/// Request authentication for `/api/v1`.
pub(crate) struct Auth {
    dev_auth: bool,
    store: Arc<Store>,
    cache: Mutex<HashMap<String, Cached>>,
}

/// A validation result: the identity (none = invalid), when it was looked up, the key's expiry.
type Cached = (Option<Identity>, Instant, Option<i64>);

impl Auth {
    pub(crate) fn new(dev_auth: bool, store: Arc<Store>) -> Auth {
        Auth {
            dev_auth,
            store,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn lookup_key(&self, secret: &str) -> Result<Option<Identity>, ApiError> {
        let hash = hash_key(secret);
        let now = Instant::now();
        {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((id, at, expires)) = cache.get(&hash) {
                if now.duration_since(*at) < CACHE_TTL && expires.is_none_or(|t| t > now_unix()) {
                    return Ok(id.clone());
                }
            }
        }
        let row = self
            .store
            .find_key(&hash)
            .map_err(|e| ApiError::internal(format!("failed to validate api key: {e}")))?;
        let expires = row.as_ref().and_then(|r| r.expires_at);
        let id = row.map(|r| Identity {
            sub: r.sub,
            email: r.email,
            name: r.display_name,
            groups: r.groups,
            is_admin: r.admin,
            scope: r.sandbox_id.filter(|s| !s.is_empty()).map(|s| (s, r.scopes)),
        });
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() > 4096 {
            cache.clear();
        }
        cache.insert(hash, (id.clone(), now, expires));
        Ok(id)
    }

    /// Forgets cached validations of the key with this id (`agenttier-apikey-<40 hex of its
    /// hash>`), so a revocation through the API takes effect at once.
    pub(crate) fn forget(&self, key_id: &str) {
        let prefix = key_id.trim_start_matches("agenttier-apikey-");
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        cache.retain(|hash, _| !hash.starts_with(prefix));
    }

    /// Whether every caller is the dev-auth identity.
    pub(crate) fn dev_auth(&self) -> bool {
        self.dev_auth
    }

    /// The store keys live in.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Order of §1.1: dev-auth, `X-API-Key`, `Authorization: Bearer`. Dev-auth is never
    /// granted to a connection from a sandbox process (`peer`): it must send a key.
    pub(crate) fn authenticate(
        &self,
        headers: &axum::http::HeaderMap,
        peer: Option<std::net::SocketAddr>,
    ) -> Result<Identity, ApiError> {
        let from_sandbox = || peer.is_some_and(crate::sandbox::peer::is_sandbox_peer);
        let sandbox_dev = self.dev_auth && from_sandbox();
        if self.dev_auth && !sandbox_dev {
            return Ok(Identity::dev());
        }
        if sandbox_dev && headers.get("x-api-key").is_none_or(|v| v.is_empty()) {
            return Err(ApiError::unauthorized(
                "missing_authorization",
                Some("dev-auth is not accepted from inside a sandbox: send an API key (X-API-Key)"),
            ));
        }
        if let Some(key) = headers.get("x-api-key").filter(|v| !v.is_empty()) {
            let key = key.to_str().unwrap_or("");
            return match self.lookup_key(key)? {
                Some(id) => Ok(id),
                None => Err(ApiError::unauthorized("invalid_api_key", None)),
            };
        }
        let Some(authz) = headers.get(axum::http::header::AUTHORIZATION) else {
            return Err(ApiError::unauthorized("missing_authorization", None));
        };
        if !authz.as_bytes().starts_with(b"Bearer ") {
            return Err(ApiError::unauthorized("invalid_authorization_format", None));
        }
        Err(ApiError::unauthorized(
            "invalid_token",
            Some("OIDC authentication is not configured on this server"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_key_shape_and_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let (secret, row) = mint_key(&store, "alice", false, &["devs".into()]).unwrap();
        assert!(secret.starts_with("atk_"));
        assert_eq!(secret.len(), 47);
        assert_eq!(row.id.len(), "agenttier-apikey-".len() + 40);
        let auth = Auth::new(false, store.clone());
        let mut h = axum::http::HeaderMap::new();
        h.insert("x-api-key", secret.parse().unwrap());
        let id = auth.authenticate(&h, None).unwrap();
        assert_eq!(id.sub, "alice");
        assert_eq!(id.email, "alice@agenttier.local");
        assert_eq!(id.groups, vec!["devs".to_string()]);
        h.insert("x-api-key", "atk_nope".parse().unwrap());
        assert!(auth.authenticate(&h, None).is_err());
    }
}
