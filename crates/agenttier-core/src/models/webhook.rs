//! Webhook subscriptions, deliveries and the payload a receiver gets (wire spec §11.1).
//! Receivers check signatures with [`crate::webhook::verify_signature`].

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::sharing::secret;
use super::{nullable, nullable_list, string_enum};
use crate::auth::Secret;
use crate::{Error, Result, timestamp};

/// An event a subscription can ask for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WebhookEvent {
    /// `sandbox.creating`
    SandboxCreating,
    /// `sandbox.running`
    SandboxRunning,
    /// `sandbox.stopped`
    SandboxStopped,
    /// `sandbox.error`
    SandboxError,
    /// `sandbox.deleting`
    SandboxDeleting,
    /// `backup.created`
    BackupCreated,
    /// `backup.pruned`
    BackupPruned,
    /// `share.granted`
    ShareGranted,
    /// `share.revoked`
    ShareRevoked,
    /// `agent.invoke.started`
    AgentInvokeStarted,
    /// `agent.invoke.completed`
    AgentInvokeCompleted,
    /// `agent.invoke.failed`
    AgentInvokeFailed,
    /// An event this SDK version does not know.
    Unknown(String),
}

string_enum!(WebhookEvent {
    SandboxCreating => "sandbox.creating",
    SandboxRunning => "sandbox.running",
    SandboxStopped => "sandbox.stopped",
    SandboxError => "sandbox.error",
    SandboxDeleting => "sandbox.deleting",
    BackupCreated => "backup.created",
    BackupPruned => "backup.pruned",
    ShareGranted => "share.granted",
    ShareRevoked => "share.revoked",
    AgentInvokeStarted => "agent.invoke.started",
    AgentInvokeCompleted => "agent.invoke.completed",
    AgentInvokeFailed => "agent.invoke.failed",
});

/// A subscription (`GET /webhooks`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Webhook {
    /// Subscription id (32 hex).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub id: String,
    /// Where deliveries go.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub url: String,
    /// The events delivered.
    #[serde(deserialize_with = "nullable_list::deserialize")]
    pub event_types: Vec<WebhookEvent>,
    /// Creation time (the platform's create answer carries the zero time).
    #[serde(with = "timestamp::option")]
    pub created_at: Option<OffsetDateTime>,
    /// Disabled after too many failed deliveries.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub disabled: bool,
    /// Only events of this sandbox, when set.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub sandbox_id: String,
    /// Only events of this namespace, when set.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub namespace: String,
}

/// A new subscription with its signing secret (shown only here).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebhookCreated {
    /// The subscription.
    #[serde(flatten)]
    pub webhook: Webhook,
    /// The HMAC secret deliveries are signed with; it cannot be retrieved again.
    #[serde(deserialize_with = "secret")]
    pub secret: Secret,
    /// The server's reminder.
    #[serde(default, deserialize_with = "nullable::deserialize")]
    pub warning: String,
}

/// Body of `POST /webhooks`.
///
/// ```
/// use agenttier_core::models::{CreateWebhook, WebhookEvent};
/// let w = CreateWebhook::new("https://hooks.example.com/at", [WebhookEvent::SandboxRunning]).sandbox("demo");
/// assert_eq!(serde_json::to_value(&w).unwrap(),
///     serde_json::json!({"url":"https://hooks.example.com/at","eventTypes":["sandbox.running"],"sandboxId":"demo"}));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreateWebhook {
    /// Receiver URL: `https://` on the platform (the local router also takes `http://` to loopback).
    pub url: String,
    /// Events to deliver (at least one).
    pub event_types: Vec<WebhookEvent>,
    /// Only this sandbox's events (required for non-admins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox_id: Option<String>,
    /// Only this namespace's events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl CreateWebhook {
    /// A subscription of `url` to `events`.
    pub fn new(url: impl Into<String>, events: impl IntoIterator<Item = WebhookEvent>) -> Self {
        CreateWebhook {
            url: url.into(),
            event_types: events.into_iter().collect(),
            sandbox_id: None,
            namespace: None,
        }
    }

    /// Only events of this sandbox.
    pub fn sandbox(mut self, id: impl Into<String>) -> Self {
        self.sandbox_id = Some(id.into());
        self
    }

    /// Only events of this namespace.
    pub fn namespace(mut self, ns: impl Into<String>) -> Self {
        self.namespace = Some(ns.into());
        self
    }

    /// Refuses what the Router refuses before any lookup: a URL that is not `http(s)://`, no
    /// event, an unknown event.
    pub fn validate(&self) -> Result<()> {
        if !(self.url.starts_with("https://") || self.url.starts_with("http://")) {
            return Err(Error::invalid_input("webhook url must start with https://"));
        }
        if self.event_types.is_empty() {
            return Err(Error::invalid_input("a webhook needs at least one event type"));
        }
        if let Some(e) = self.event_types.iter().find(|e| matches!(e, WebhookEvent::Unknown(_))) {
            return Err(Error::invalid_input(format!("unknown webhook event type {e}")));
        }
        Ok(())
    }
}

/// One delivery (`GET /webhooks/{id}/deliveries`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Delivery {
    /// The event delivered.
    pub event_type: Option<WebhookEvent>,
    /// When the delivery ended.
    #[serde(with = "timestamp::option")]
    pub timestamp: Option<OffsetDateTime>,
    /// The receiver's status code, when it answered.
    pub status_code: Option<u16>,
    /// Attempts (the platform reports its configured maximum).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub attempt: u32,
    /// Whether the receiver answered 2xx.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub success: bool,
}

/// What a receiver gets in the body of a delivery.
///
/// ```
/// use agenttier_core::models::{WebhookEvent, WebhookPayload};
/// let p: WebhookPayload = serde_json::from_str(
///     r#"{"event":"sandbox.running","sandboxId":"demo","namespace":"default","timestamp":"2026-07-22T16:29:45Z","data":{"message":"ready"}}"#).unwrap();
/// assert_eq!(p.event, WebhookEvent::SandboxRunning);
/// assert_eq!(p.message(), "ready");
/// ```
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct WebhookPayload {
    /// The event.
    pub event: Option<WebhookEvent>,
    /// The sandbox it is about.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub sandbox_id: String,
    /// Its namespace.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub namespace: String,
    /// When it happened.
    #[serde(with = "timestamp::option")]
    pub timestamp: Option<OffsetDateTime>,
    /// Details (`message`).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub data: serde_json::Map<String, serde_json::Value>,
}

impl WebhookPayload {
    /// `data.message`.
    pub fn message(&self) -> &str {
        self.data.get("message").and_then(|m| m.as_str()).unwrap_or("")
    }
}

impl PartialEq<WebhookEvent> for Option<WebhookEvent> {
    fn eq(&self, other: &WebhookEvent) -> bool {
        self.as_ref() == Some(other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn router_bodies_decode() {
        let c: WebhookCreated = serde_json::from_str(
            r#"{"id":"0123456789abcdef0123456789abcdef","url":"https://x","eventTypes":["sandbox.running"],"createdAt":"0001-01-01T00:00:00Z","disabled":false,"secret":"shh","warning":"w"}"#,
        )
        .unwrap();
        assert_eq!(c.secret.expose(), "shh");
        assert!(!format!("{c:?}").contains("shh"));
        assert_eq!(c.webhook.event_types, [WebhookEvent::SandboxRunning]);
        let d: Delivery = serde_json::from_str(
            r#"{"eventType":"sandbox.stopped","timestamp":"2026-07-22T16:29:45Z","attempt":5,"success":false}"#,
        )
        .unwrap();
        assert!(d.status_code.is_none() && d.event_type == WebhookEvent::SandboxStopped);
    }

    #[test]
    fn validation() {
        assert!(
            CreateWebhook::new("ftp://x", [WebhookEvent::SandboxRunning])
                .validate()
                .is_err()
        );
        assert!(CreateWebhook::new("https://x", []).validate().is_err());
        assert!(
            CreateWebhook::new("https://x", [WebhookEvent::from("sandbox.exploded")])
                .validate()
                .is_err()
        );
    }
}
