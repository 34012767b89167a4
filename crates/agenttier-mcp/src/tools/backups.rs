//! Backups: workspace snapshots of a sandbox, restored into new sandboxes.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::SandboxRef;
use crate::reply::{Outcome, failure, ok, reply, reply_with};
use crate::server::AgentTierServer;

/// Arguments of `backup_create`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BackupArgs {
    /// The sandbox whose workspace to snapshot.
    pub sandbox_id: String,
    /// VolumeSnapshotClass to use (default: the cluster's).
    #[serde(default)]
    pub snapshot_class: Option<String>,
}

/// Arguments of `backup_restore`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RestoreArgs {
    /// The sandbox the backup belongs to.
    pub sandbox_id: String,
    /// The backup (snapshot) name, as backup_list shows it.
    pub snapshot_name: String,
    /// Name of the new sandbox (default: `<id>-restore-<unix time>`).
    #[serde(default)]
    pub name: Option<String>,
}

/// Arguments of `backup_delete`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SnapshotArgs {
    /// The sandbox the backup belongs to.
    pub sandbox_id: String,
    /// The backup (snapshot) name.
    pub snapshot_name: String,
}

#[tool_router(router = backup_tools, vis = "pub(crate)")]
impl AgentTierServer {
    /// List the backups (workspace snapshots, scheduled and clones) of a sandbox.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn backup_list(&self, Parameters(args): Parameters<SandboxRef>) -> Outcome {
        reply(self.client.sandbox(&args.sandbox_id).backups().list().await)
    }

    /// Snapshot a sandbox's workspace now, outside the backup schedule.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn backup_create(&self, Parameters(args): Parameters<BackupArgs>) -> Outcome {
        let class = args.snapshot_class.as_deref().filter(|c| !c.is_empty());
        reply(
            self.client
                .sandbox(&args.sandbox_id)
                .backups()
                .create_with_class(class)
                .await,
        )
    }

    /// Restore a backup into a new sandbox (the source is untouched); returns
    /// {sandbox_id, name, namespace} of the new sandbox, which starts in phase Creating.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn backup_restore(&self, Parameters(args): Parameters<RestoreArgs>) -> Outcome {
        let name = args.name.as_deref().filter(|n| !n.is_empty());
        let backups = self.client.sandbox(&args.sandbox_id).backups();
        match backups.restore(&args.snapshot_name, name).await {
            Ok(sb) => ok(json!({ "sandbox_id": sb.id(), "name": sb.name(), "namespace": sb.namespace() })),
            Err(e) => failure(&e),
        }
    }

    /// Delete one backup of a sandbox, for good.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn backup_delete(&self, Parameters(args): Parameters<SnapshotArgs>) -> Outcome {
        let result = self
            .client
            .sandbox(&args.sandbox_id)
            .backups()
            .delete(&args.snapshot_name)
            .await;
        reply_with(
            result,
            json!({ "sandbox_id": args.sandbox_id, "snapshot_name": args.snapshot_name, "status": "deleted" }),
        )
    }
}
