//! Who may read a sandbox (§1.5): its owner, an admin, or a user or group it is shared with; and
//! the sharing state (§6.5) that says so.
//!
//! A user grant matches the caller's `sub` or email, a group grant any of the caller's groups.
//! Share links keep only the SHA-256 of their token, which is stored but never shown.

use serde::{Deserialize, Serialize};

use super::record::SandboxRecord;
use crate::auth::Identity;

/// One grant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Grant {
    pub identity: String,
    pub level: String,
}

/// One share link (its token is never kept, only the token's hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Link {
    pub id: String,
    pub level: String,
    pub expires_at: Option<String>,
    pub max_uses: i64,
    pub used_count: i64,
    #[serde(default, skip_serializing)]
    pub token_sha256: String,
}

/// The sharing state of a sandbox; serialized as `GET /share` shows it (without token hashes).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct SharingInfo {
    pub users: Vec<Grant>,
    pub groups: Vec<Grant>,
    pub share_links: Vec<Link>,
}

/// The stored shape: links with their token hashes.
#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Stored {
    users: Vec<Grant>,
    groups: Vec<Grant>,
    share_links: Vec<StoredLink>,
}

#[derive(Serialize, Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct StoredLink {
    #[serde(flatten)]
    link: Link,
    token_sha256: String,
}

impl SharingInfo {
    /// Whether nothing is shared (then nothing is stored).
    pub(crate) fn is_empty(&self) -> bool {
        self.users.is_empty() && self.groups.is_empty() && self.share_links.is_empty()
    }

    /// Reads the stored shape (token hashes included); unreadable state counts as no sharing.
    pub(crate) fn from_stored(value: serde_json::Value) -> SharingInfo {
        let stored: Stored = serde_json::from_value(value).unwrap_or_default();
        SharingInfo {
            users: stored.users,
            groups: stored.groups,
            share_links: stored
                .share_links
                .into_iter()
                .map(|s| Link {
                    token_sha256: s.token_sha256,
                    ..s.link
                })
                .collect(),
        }
    }

    /// The stored shape, token hashes included.
    pub(crate) fn to_stored(&self) -> serde_json::Value {
        let stored = Stored {
            users: self.users.clone(),
            groups: self.groups.clone(),
            share_links: self
                .share_links
                .iter()
                .map(|l| StoredLink {
                    link: l.clone(),
                    token_sha256: l.token_sha256.clone(),
                })
                .collect(),
        };
        serde_json::to_value(stored).unwrap_or_default()
    }

    /// Whether a grant lets `who` read.
    fn grants(&self, who: &Identity) -> bool {
        self.users
            .iter()
            .any(|g| g.identity == who.sub || g.identity == who.email)
            || self.groups.iter().any(|g| who.groups.contains(&g.identity))
    }
}

/// Read access of §1.5: owner, admin, a user grant for the caller's sub or email, or a group
/// grant for one of the caller's groups.
pub(crate) fn can_read(rec: &SandboxRecord, who: &Identity) -> bool {
    who.can_access(&rec.owner.sub) || rec.sharing.grants(who)
}
