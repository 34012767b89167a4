//! Webhook subscriptions.

use agenttier::models::{CreateWebhook, WebhookEvent};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use crate::reply::{Outcome, failure, ok, reply, reply_with, to_json};
use crate::server::AgentTierServer;

/// An event a webhook can subscribe to.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub(crate) enum Event {
    /// A sandbox is being created.
    #[serde(rename = "sandbox.creating")]
    SandboxCreating,
    /// A sandbox became Running.
    #[serde(rename = "sandbox.running")]
    SandboxRunning,
    /// A sandbox stopped.
    #[serde(rename = "sandbox.stopped")]
    SandboxStopped,
    /// A sandbox failed.
    #[serde(rename = "sandbox.error")]
    SandboxError,
    /// A sandbox is being deleted.
    #[serde(rename = "sandbox.deleting")]
    SandboxDeleting,
    /// A backup was taken.
    #[serde(rename = "backup.created")]
    BackupCreated,
    /// A backup was pruned.
    #[serde(rename = "backup.pruned")]
    BackupPruned,
    /// Access was granted.
    #[serde(rename = "share.granted")]
    ShareGranted,
    /// Access was revoked.
    #[serde(rename = "share.revoked")]
    ShareRevoked,
    /// An agent invocation started.
    #[serde(rename = "agent.invoke.started")]
    AgentInvokeStarted,
    /// An agent invocation completed.
    #[serde(rename = "agent.invoke.completed")]
    AgentInvokeCompleted,
    /// An agent invocation failed.
    #[serde(rename = "agent.invoke.failed")]
    AgentInvokeFailed,
}

impl Event {
    fn event(self) -> WebhookEvent {
        match self {
            Event::SandboxCreating => WebhookEvent::SandboxCreating,
            Event::SandboxRunning => WebhookEvent::SandboxRunning,
            Event::SandboxStopped => WebhookEvent::SandboxStopped,
            Event::SandboxError => WebhookEvent::SandboxError,
            Event::SandboxDeleting => WebhookEvent::SandboxDeleting,
            Event::BackupCreated => WebhookEvent::BackupCreated,
            Event::BackupPruned => WebhookEvent::BackupPruned,
            Event::ShareGranted => WebhookEvent::ShareGranted,
            Event::ShareRevoked => WebhookEvent::ShareRevoked,
            Event::AgentInvokeStarted => WebhookEvent::AgentInvokeStarted,
            Event::AgentInvokeCompleted => WebhookEvent::AgentInvokeCompleted,
            Event::AgentInvokeFailed => WebhookEvent::AgentInvokeFailed,
        }
    }
}

/// Arguments of `webhook_create`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateArgs {
    /// Where deliveries are POSTed (https://).
    pub url: String,
    /// The events to deliver (at least one).
    pub event_types: Vec<Event>,
    /// Only this sandbox's events (required unless the caller is an admin).
    #[serde(default)]
    pub sandbox_id: String,
    /// Only this namespace's events.
    #[serde(default)]
    pub namespace: String,
}

/// Arguments naming one subscription.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WebhookArgs {
    /// The subscription id, as webhook_create or webhook_list return it.
    pub webhook_id: String,
}

#[tool_router(router = webhook_tools, vis = "pub(crate)")]
impl AgentTierServer {
    /// Subscribe a URL to sandbox events. The signing secret is in this answer only: store it now.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn webhook_create(&self, Parameters(args): Parameters<CreateArgs>) -> Outcome {
        let mut params = CreateWebhook::new(args.url, args.event_types.into_iter().map(Event::event));
        if !args.sandbox_id.is_empty() {
            params = params.sandbox(args.sandbox_id);
        }
        if !args.namespace.is_empty() {
            params = params.namespace(args.namespace);
        }
        match self.client.webhooks().create(params).await {
            Ok(created) => {
                let mut body = to_json(&created.webhook);
                body["secret"] = json!(created.secret.expose());
                body["warning"] = json!(created.warning);
                ok(body)
            }
            Err(e) => failure(&e),
        }
    }

    /// Delete a webhook subscription.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn webhook_delete(&self, Parameters(args): Parameters<WebhookArgs>) -> Outcome {
        let result = self.client.webhooks().delete(&args.webhook_id).await;
        reply_with(result, json!({ "webhook_id": args.webhook_id, "status": "deleted" }))
    }

    /// The latest delivery attempts of a subscription, to debug a receiver.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn webhook_deliveries(&self, Parameters(args): Parameters<WebhookArgs>) -> Outcome {
        reply(self.client.webhooks().deliveries(&args.webhook_id).await)
    }

    /// The caller's own webhook subscriptions.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn webhook_list(&self) -> Outcome {
        reply(self.client.webhooks().list().await)
    }
}
