//! Bulk operations: many sandboxes created, stopped, resumed or deleted in one call.

use agenttier::models::BulkAction;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;

use super::arg;
use super::sandboxes::{CreateArgs, create_params};
use crate::reply::{Outcome, reply};
use crate::server::AgentTierServer;

/// Arguments of `sandbox_create_bulk`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkCreateArgs {
    /// The sandboxes to create, each with sandbox_create's arguments.
    pub items: Vec<CreateArgs>,
}

/// What a bulk action does.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Action {
    /// Stop each sandbox.
    Stop,
    /// Resume each sandbox.
    Resume,
    /// Delete each sandbox and its workspace, for good.
    Delete,
}

/// Arguments of `sandbox_bulk_action`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkActionArgs {
    /// The sandbox ids.
    pub ids: Vec<String>,
    /// The action to apply to each.
    pub action: Action,
}

#[tool_router(router = bulk_tools, vis = "pub(crate)")]
impl AgentTierServer {
    /// Create several sandboxes in one call; each item has its own result. If together they
    /// would exceed a quota, none is created.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn sandbox_create_bulk(&self, Parameters(args): Parameters<BulkCreateArgs>) -> Outcome {
        let mut items = Vec::with_capacity(args.items.len());
        for item in &args.items {
            items.push(arg!(create_params(item)));
        }
        reply(self.client.bulk_create(&items).await)
    }

    /// Stop, resume or delete several sandboxes in one call; each id has its own result.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn sandbox_bulk_action(&self, Parameters(args): Parameters<BulkActionArgs>) -> Outcome {
        let action = match args.action {
            Action::Stop => BulkAction::Stop,
            Action::Resume => BulkAction::Resume,
            Action::Delete => BulkAction::Delete,
        };
        reply(self.client.bulk_action(action, &args.ids).await)
    }
}
