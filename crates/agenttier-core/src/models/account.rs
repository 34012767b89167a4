//! API keys of the caller (wire spec §8.3).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::sharing::secret;
use super::{nullable, nullable_list, string_enum};
use crate::auth::Secret;
use crate::{Error, Result, duration, timestamp};

/// What a sandbox-scoped key may do (§1.5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ActionGroup {
    /// `POST /exec`.
    RunCommand,
    /// List and download files, archives.
    FilesRead,
    /// Upload files.
    FilesWrite,
    /// Forward, list and remove ports.
    Ports,
    /// Invoke and cancel.
    AgentInvoke,
    /// Configure and read the install log.
    AgentConfigure,
    /// Resume.
    Resume,
    /// Stop.
    Stop,
    /// A group this SDK version does not know.
    Unknown(String),
}

string_enum!(ActionGroup {
    RunCommand => "run-command",
    FilesRead => "files:read",
    FilesWrite => "files:write",
    Ports => "ports",
    AgentInvoke => "agent:invoke",
    AgentConfigure => "agent:configure",
    Resume => "resume",
    Stop => "stop",
});

/// Metadata of an API key (never the key itself).
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ApiKey {
    /// Key id (`agenttier-apikey-<40 hex>`), what revoke takes.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub id: String,
    /// Owner's user id.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub user_id: String,
    /// The key's label.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub name: String,
    /// Sandbox a scoped key is bound to (empty for a user-level key).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub sandbox_id: String,
    /// Action groups of a scoped key.
    #[serde(deserialize_with = "nullable_list::deserialize")]
    pub action_groups: Vec<ActionGroup>,
    /// Creation time.
    #[serde(with = "timestamp::option")]
    pub created_at: Option<OffsetDateTime>,
    /// Expiry, if any.
    #[serde(with = "timestamp::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// Last use, when the server records it.
    #[serde(with = "timestamp::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

/// Body of `POST /user/api-keys`.
///
/// The scope list goes out as `scopes`, the field the Router reads (the Python SDK's
/// `actionGroups` is refused with a 400, wire spec §15.1).
///
/// ```
/// use agenttier_core::models::{ActionGroup, CreateApiKey};
/// let k = CreateApiKey::new("ci").sandbox("demo").scopes([ActionGroup::RunCommand, ActionGroup::FilesRead]);
/// assert_eq!(serde_json::to_value(&k).unwrap(),
///     serde_json::json!({"name":"ci","sandboxId":"demo","scopes":["run-command","files:read"]}));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreateApiKey {
    /// Label.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Lifetime (none = no expiry).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "go_duration")]
    pub expires_in: Option<Duration>,
    /// Bind the key to one sandbox the caller owns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox_id: Option<String>,
    /// Action groups of a scoped key (all when empty).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<ActionGroup>,
}

fn go_duration<S: serde::Serializer>(d: &Option<Duration>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&duration::format(*d)),
        None => s.serialize_none(),
    }
}

impl CreateApiKey {
    /// A user-level key with this label.
    pub fn new(name: impl Into<String>) -> Self {
        CreateApiKey {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// Expires after `d`.
    pub fn expires_in(mut self, d: Duration) -> Self {
        self.expires_in = Some(d);
        self
    }

    /// Scopes the key to one sandbox (every action group unless [`CreateApiKey::scopes`]).
    pub fn sandbox(mut self, sandbox_id: impl Into<String>) -> Self {
        self.sandbox_id = Some(sandbox_id.into());
        self
    }

    /// The action groups of a scoped key.
    pub fn scopes(mut self, groups: impl IntoIterator<Item = ActionGroup>) -> Self {
        self.scopes = groups.into_iter().collect();
        self
    }

    /// Refuses scopes without a sandbox, a zero lifetime, unknown groups.
    pub fn validate(&self) -> Result<()> {
        if !self.scopes.is_empty() && self.sandbox_id.as_deref().is_none_or(str::is_empty) {
            return Err(Error::invalid_input("scopes need a sandbox: call .sandbox(id) too"));
        }
        if self.expires_in.is_some_and(|d| d.is_zero()) {
            return Err(Error::invalid_input("key lifetime must be positive"));
        }
        if let Some(g) = self.scopes.iter().find(|g| matches!(g, ActionGroup::Unknown(_))) {
            return Err(Error::invalid_input(format!("unknown action group {g}")));
        }
        Ok(())
    }
}

/// A minted key, with the secret (shown only here).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ApiKeyCreated {
    /// Key id.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    pub id: String,
    /// The key (`atk_...`); it cannot be retrieved again.
    #[serde(deserialize_with = "secret")]
    pub key: Secret,
    /// Label.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    pub name: String,
    /// Bound sandbox (empty for user-level keys).
    #[serde(default, deserialize_with = "nullable::deserialize")]
    pub sandbox_id: String,
    /// Action groups (empty for user-level keys; the Router sends `null`).
    #[serde(default, deserialize_with = "nullable_list::deserialize")]
    pub action_groups: Vec<ActionGroup>,
    /// Creation time.
    #[serde(default, with = "timestamp::option")]
    pub created_at: Option<OffsetDateTime>,
    /// Expiry.
    #[serde(default, with = "timestamp::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// The server's reminder.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    pub warning: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn router_bodies_decode() {
        let k: ApiKeyCreated = serde_json::from_str(
            r#"{"id":"agenttier-apikey-0123","key":"atk_secret","name":"ci","sandboxId":"","actionGroups":null,"createdAt":"2026-07-22T16:29:45.123456789Z","expiresAt":null,"warning":"Store this key now"}"#,
        )
        .unwrap();
        assert_eq!(k.key.expose(), "atk_secret");
        assert!(k.action_groups.is_empty() && k.created_at.is_some());
        assert!(!format!("{k:?}").contains("atk_secret"));
        let m: ApiKey = serde_json::from_str(
            r#"{"id":"i","userId":"u","name":"n","sandboxId":"demo","actionGroups":["run-command","teleport"],"createdAt":"2026-07-22T16:29:45Z"}"#,
        )
        .unwrap();
        assert_eq!(m.action_groups[1], ActionGroup::Unknown("teleport".into()));
    }

    #[test]
    fn validation() {
        assert!(CreateApiKey::new("x").scopes([ActionGroup::Stop]).validate().is_err());
        assert!(CreateApiKey::new("x").expires_in(Duration::ZERO).validate().is_err());
        assert!(
            CreateApiKey::new("x")
                .sandbox("s")
                .scopes([ActionGroup::Stop])
                .validate()
                .is_ok()
        );
        assert_eq!(
            serde_json::to_value(CreateApiKey::new("x").expires_in(Duration::from_secs(720 * 3600))).unwrap(),
            serde_json::json!({"name":"x","expiresIn":"720h0m0s"})
        );
    }
}
