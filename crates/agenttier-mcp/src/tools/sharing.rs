//! Sharing a sandbox with users and groups, and share links.

use agenttier::models::{CreateShareLink, GrantShare, ShareLevel};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{SandboxRef, arg, duration, time};
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

#[tool_router(router = sharing_tools, vis = "pub(crate)")]
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
}
