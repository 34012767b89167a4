//! API-key administration on a data directory (the `agenttier-router keys` commands). Works
//! while a router is serving the same directory: it notices new and revoked keys within seconds.

use std::path::Path;

use crate::errors::RouterError;
use crate::gotime::{now_unix, rfc3339};
use crate::store::Store;

/// Metadata of a stored key (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyInfo {
    /// `agenttier-apikey-` + the first 40 hex characters of the key's SHA-256.
    pub id: String,
    /// The key's user name (also its `sub`).
    pub name: String,
    /// Email of the user (`<name>@agenttier.local`).
    pub email: String,
    /// Whether the key grants admin rights.
    pub admin: bool,
    /// Groups of the user.
    pub groups: Vec<String>,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Revocation time, RFC 3339, when revoked.
    pub revoked_at: Option<String>,
}

fn info(r: crate::store::KeyRow) -> KeyInfo {
    KeyInfo {
        id: r.id,
        name: r.name,
        email: r.email,
        admin: r.admin,
        groups: r.groups,
        created_at: rfc3339(r.created_at),
        revoked_at: r.revoked_at.map(rfc3339),
    }
}

/// Mints a key for user `name`; returns the secret (shown once, only its hash is stored).
pub fn create_key(
    data_dir: &Path,
    name: &str,
    admin: bool,
    groups: &[String],
) -> Result<(String, KeyInfo), RouterError> {
    let store = Store::open(data_dir)?;
    let (secret, row) = crate::auth::mint_key(&store, name, admin, groups)?;
    Ok((secret, info(row)))
}

/// Every key, revoked ones included, oldest first.
pub fn list_keys(data_dir: &Path) -> Result<Vec<KeyInfo>, RouterError> {
    Ok(Store::open(data_dir)?.list_keys()?.into_iter().map(info).collect())
}

/// Revokes the key with this id.
pub fn revoke_key(data_dir: &Path, id: &str) -> Result<(), RouterError> {
    if Store::open(data_dir)?.revoke_key(id, now_unix())? {
        Ok(())
    } else {
        Err(RouterError::NotFound(format!("no active key with id {id}")))
    }
}
