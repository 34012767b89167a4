//! Sharing a sandbox with users and groups, and share links (wire spec §6.5).

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;

use super::{nullable, nullable_list, string_enum};
use crate::auth::Secret;
use crate::{Error, Result, duration, timestamp};

/// What a grant allows. Both levels give read access through the REST API (`GET` of the
/// sandbox) and the terminal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ShareLevel {
    /// Look, do not touch.
    #[default]
    Viewer,
    /// Work together.
    Collaborator,
    /// A level this SDK version does not know.
    Unknown(String),
}

string_enum!(ShareLevel {
    Viewer => "viewer",
    Collaborator => "collaborator",
});

/// One grant: a user (by id or e-mail) or a group, and its level.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Share {
    /// User id or e-mail, or group name.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub identity: String,
    /// The level granted.
    pub level: ShareLevel,
}

/// A share link's metadata (the token is only shown when it is minted).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ShareLink {
    /// Link id (16 hex).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub id: String,
    /// Level the link grants.
    pub level: ShareLevel,
    /// Expiry, if any.
    #[serde(with = "timestamp::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// How many uses are allowed (0 = unlimited).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub max_uses: u64,
    /// Uses so far.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub used_count: u64,
}

/// Who a sandbox is shared with (`GET /sandboxes/{id}/share`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct SharingInfo {
    /// User grants.
    #[serde(deserialize_with = "nullable_list::deserialize")]
    pub users: Vec<Share>,
    /// Group grants.
    #[serde(deserialize_with = "nullable_list::deserialize")]
    pub groups: Vec<Share>,
    /// Share links.
    #[serde(deserialize_with = "nullable_list::deserialize")]
    pub share_links: Vec<ShareLink>,
}

/// Body of `POST /sandboxes/{id}/share`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct GrantShare {
    /// User id or e-mail, or group name.
    pub identity: String,
    /// The level.
    pub level: ShareLevel,
    /// `user` or `group`.
    pub kind: &'static str,
}

impl GrantShare {
    /// Shares with one user (id or e-mail).
    pub fn user(identity: impl Into<String>, level: ShareLevel) -> Self {
        GrantShare {
            identity: identity.into(),
            level,
            kind: "user",
        }
    }

    /// Shares with every member of a group.
    pub fn group(identity: impl Into<String>, level: ShareLevel) -> Self {
        GrantShare {
            identity: identity.into(),
            level,
            kind: "group",
        }
    }

    /// Refuses an empty identity or an unknown level.
    pub fn validate(&self) -> Result<()> {
        if self.identity.is_empty() {
            return Err(Error::invalid_input("share identity must not be empty"));
        }
        if matches!(self.level, ShareLevel::Unknown(_)) {
            return Err(Error::invalid_input("share level must be viewer or collaborator"));
        }
        Ok(())
    }
}

/// Body of `POST /sandboxes/{id}/share-links`.
///
/// ```
/// use std::time::Duration;
/// use agenttier_core::models::{CreateShareLink, ShareLevel};
/// let l = CreateShareLink::new(ShareLevel::Viewer).expires_in(Duration::from_secs(86400)).max_uses(3);
/// assert_eq!(serde_json::to_value(&l).unwrap(), serde_json::json!({"level":"viewer","expiresIn":"24h0m0s","maxUses":3}));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreateShareLink {
    /// Level the link grants.
    pub level: ShareLevel,
    /// Lifetime (none = no expiry).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "go_duration")]
    pub expires_in: Option<Duration>,
    /// Use limit (0 = unlimited).
    pub max_uses: u64,
}

fn go_duration<S: serde::Serializer>(d: &Option<Duration>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&duration::format(*d)),
        None => s.serialize_none(),
    }
}

impl CreateShareLink {
    /// A link of this level with no expiry and no use limit.
    pub fn new(level: ShareLevel) -> Self {
        CreateShareLink {
            level,
            expires_in: None,
            max_uses: 0,
        }
    }

    /// Expires after `d`.
    pub fn expires_in(mut self, d: Duration) -> Self {
        self.expires_in = Some(d);
        self
    }

    /// Allows at most `n` uses (0 = unlimited).
    pub fn max_uses(mut self, n: u64) -> Self {
        self.max_uses = n;
        self
    }

    /// Refuses an unknown level or a zero lifetime.
    pub fn validate(&self) -> Result<()> {
        if matches!(self.level, ShareLevel::Unknown(_)) {
            return Err(Error::invalid_input("share level must be viewer or collaborator"));
        }
        if self.expires_in.is_some_and(|d| d.is_zero()) {
            return Err(Error::invalid_input("share link lifetime must be positive"));
        }
        Ok(())
    }
}

/// A minted share link, with its token (shown only here).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ShareLinkCreated {
    /// Link id.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    pub id: String,
    /// The token; it cannot be retrieved again.
    #[serde(deserialize_with = "secret")]
    pub token: Secret,
    /// Level granted.
    #[serde(default)]
    pub level: ShareLevel,
    /// Expiry, if any.
    #[serde(default, with = "timestamp::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Use limit (0 = unlimited).
    #[serde(default, deserialize_with = "nullable::deserialize")]
    pub max_uses: u64,
    /// The server's reminder to store the token.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    pub warning: String,
}

/// Deserializes a string into a [`Secret`] (never shown by `Debug`).
pub(crate) fn secret<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Secret, D::Error> {
    Ok(Secret::new(Option::<String>::deserialize(d)?.unwrap_or_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_sharing_info_and_link() {
        let s: SharingInfo = serde_json::from_str(
            r#"{"users":[{"identity":"a@x.com","level":"viewer"}],"groups":null,"shareLinks":[{"id":"0123456789abcdef","level":"collaborator","expiresAt":null,"maxUses":0,"usedCount":0}]}"#,
        )
        .unwrap();
        assert_eq!(s.users[0].level, ShareLevel::Viewer);
        assert!(s.groups.is_empty());
        assert_eq!(s.share_links[0].level, ShareLevel::Collaborator);
        let l: ShareLinkCreated = serde_json::from_str(
            r#"{"id":"0123456789abcdef","token":"tok-secret","level":"viewer","expiresAt":"2026-07-23T16:00:00Z","maxUses":2,"warning":"w"}"#,
        )
        .unwrap();
        assert_eq!(l.token.expose(), "tok-secret");
        assert!(!format!("{l:?}").contains("tok-secret"));
    }

    #[test]
    fn grants_validate() {
        assert!(GrantShare::user("", ShareLevel::Viewer).validate().is_err());
        assert!(GrantShare::group("devs", ShareLevel::from("owner")).validate().is_err());
        assert_eq!(
            serde_json::to_value(GrantShare::group("devs", ShareLevel::Collaborator)).unwrap(),
            serde_json::json!({"identity":"devs","level":"collaborator","kind":"group"})
        );
    }
}
