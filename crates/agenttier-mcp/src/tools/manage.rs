//! Sharing, share links, backups and bulk operations.

use agenttier::models::{BulkAction, CreateShareLink, GrantShare, ShareLevel};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::sandboxes::{CreateArgs, create_params};
use super::{SandboxRef, arg, duration};
use crate::reply::{Outcome, failure, ok, reply, reply_with};
use crate::server::AgentTierServer;

/// An access level on a sandbox.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Level {
    /// May look (status, files, logs).
    Viewer,
    /// May also run commands and change files.
    Collaborator,
}

impl Level {
    fn share_level(self) -> ShareLevel {
        match self {
            Level::Viewer => ShareLevel::Viewer,
            Level::Collaborator => ShareLevel::Collaborator,
        }
    }
}

fn viewer() -> Level {
    Level::Viewer
}

/// Who a grant is for.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    /// One user, by e-mail or user id.
    User,
    /// A group of the identity provider.
    Group,
}

fn user() -> Kind {
    Kind::User
}

/// Arguments of `sharing_grant`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct GrantArgs {
    /// The sandbox to share.
    pub sandbox_id: String,
    /// The user (e-mail or id) or group name.
    pub identity: String,
    /// The access level to grant (an existing grant's level is replaced).
    #[serde(default = "viewer")]
    #[schemars(default = "viewer")]
    pub level: Level,
    /// Whether `identity` is a user or a group.
    #[serde(default = "user")]
    #[schemars(default = "user")]
    pub kind: Kind,
}

/// Arguments of `sharing_revoke`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RevokeArgs {
    /// The sandbox.
    pub sandbox_id: String,
    /// The user or group whose access ends.
    pub identity: String,
}

/// Arguments of `sharing_create_link`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LinkArgs {
    /// The sandbox.
    pub sandbox_id: String,
    /// The access level the link grants.
    #[serde(default = "viewer")]
    #[schemars(default = "viewer")]
    pub level: Level,
    /// Lifetime of the link as a Go duration ("24h"); none = no expiry.
    #[serde(default)]
    pub expires_in: Option<String>,
    /// How many times the link may be used; 0 = unlimited.
    #[serde(default)]
    pub max_uses: u64,
}

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

/// A timestamp as the tools show them (RFC 3339), or null.
pub(crate) fn time(t: Option<OffsetDateTime>) -> Value {
    agenttier_core::timestamp::option::serialize(&t, serde_json::value::Serializer).unwrap_or(Value::Null)
}

#[tool_router(router = manage_tools, vis = "pub(crate)")]
impl AgentTierServer {
    /// A sandbox's sharing: the users and groups with access, and its share links.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn sharing_list(&self, Parameters(args): Parameters<SandboxRef>) -> Outcome {
        reply(self.client.sandbox(&args.sandbox_id).sharing().get().await)
    }

    /// Give a user or group access to a sandbox (or change its level).
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn sharing_grant(&self, Parameters(args): Parameters<GrantArgs>) -> Outcome {
        let level = args.level.share_level();
        let grant = match args.kind {
            Kind::User => GrantShare::user(args.identity, level),
            Kind::Group => GrantShare::group(args.identity, level),
        };
        reply(self.client.sandbox(&args.sandbox_id).sharing().grant(grant).await)
    }

    /// Remove a user's or group's access to a sandbox (revoking nothing is not an error).
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn sharing_revoke(&self, Parameters(args): Parameters<RevokeArgs>) -> Outcome {
        let result = self
            .client
            .sandbox(&args.sandbox_id)
            .sharing()
            .revoke(&args.identity)
            .await;
        reply_with(
            result,
            json!({ "sandbox_id": args.sandbox_id, "identity": args.identity, "status": "revoked" }),
        )
    }

    /// Mint a share link for a sandbox. The token is in this answer only: hand it on now.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn sharing_create_link(&self, Parameters(args): Parameters<LinkArgs>) -> Outcome {
        let mut link = CreateShareLink::new(args.level.share_level()).max_uses(args.max_uses);
        if let Some(d) = arg!(duration("expires_in", args.expires_in.as_deref())) {
            link = link.expires_in(d);
        }
        match self.client.sandbox(&args.sandbox_id).sharing().create_link(link).await {
            Ok(l) => ok(json!({
                "id": l.id, "token": l.token.expose(), "level": l.level.as_str(),
                "expires_at": time(l.expires_at), "max_uses": l.max_uses, "warning": l.warning,
            })),
            Err(e) => failure(&e),
        }
    }

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
