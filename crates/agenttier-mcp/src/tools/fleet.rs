//! Fleet and account tools: governance, analytics, audit, admin views, preferences, API keys,
//! warm pools and cluster capacity. Most need an admin key; the platform answers others with
//! an authorization error, which comes back as such.

use agenttier::PreferenceMap;
use agenttier::models::{ActionGroup, CreateApiKey, HeadroomConfig, Policy, PoolTarget, SandboxFilter};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::time;
use super::{arg, duration};
use crate::reply::{Outcome, failure, ok, reply, reply_with};
use crate::server::AgentTierServer;

/// Arguments naming one namespace.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NamespaceArgs {
    /// The Kubernetes namespace.
    pub namespace: String,
}

/// Arguments naming a namespace or, when left out, the default one.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct OptionalNamespaceArgs {
    /// The Kubernetes namespace (default: the platform's default namespace).
    #[serde(default)]
    pub namespace: Option<String>,
}

/// Arguments of `governance_set_policy`. Zero and absent values mean "no limit".
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SetPolicyArgs {
    /// The namespace whose policy to replace; left out, the cluster-wide default policy.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Live sandboxes one user may have.
    #[serde(default)]
    pub max_sandboxes_per_user: i64,
    /// Live sandboxes the namespace may hold.
    #[serde(default)]
    pub max_sandboxes_total: i64,
    /// CPU cap per sandbox, as a Kubernetes quantity ("2").
    #[serde(default)]
    pub max_cpu: Option<String>,
    /// Memory cap per sandbox ("4Gi").
    #[serde(default)]
    pub max_memory: Option<String>,
    /// Largest workspace ("50Gi").
    #[serde(default)]
    pub max_storage: Option<String>,
    /// Longest sandbox timeout, as a Go duration ("24h").
    #[serde(default)]
    pub max_timeout: Option<String>,
    /// Longest idle timeout, as a Go duration ("2h").
    #[serde(default)]
    pub max_idle_timeout: Option<String>,
    /// Templates that may be used (empty: all).
    #[serde(default)]
    pub allowed_templates: Option<Vec<String>>,
    /// Live agent sandboxes the namespace may hold (cluster policy only).
    #[serde(default)]
    pub max_agent_sandboxes: i64,
}

/// Arguments of `user_set_preferences`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PreferencesArgs {
    /// The whole preferences object; it replaces what was stored.
    pub preferences: PreferenceMap,
}

/// A permission of a sandbox-scoped API key.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub(crate) enum Scope {
    /// Run commands.
    #[serde(rename = "run-command")]
    RunCommand,
    /// Read files.
    #[serde(rename = "files:read")]
    FilesRead,
    /// Write files.
    #[serde(rename = "files:write")]
    FilesWrite,
    /// Forward ports.
    #[serde(rename = "ports")]
    Ports,
    /// Invoke the agent.
    #[serde(rename = "agent:invoke")]
    AgentInvoke,
    /// Configure the agent.
    #[serde(rename = "agent:configure")]
    AgentConfigure,
    /// Resume the sandbox.
    #[serde(rename = "resume")]
    Resume,
    /// Stop the sandbox.
    #[serde(rename = "stop")]
    Stop,
}

impl Scope {
    fn group(self) -> ActionGroup {
        match self {
            Scope::RunCommand => ActionGroup::RunCommand,
            Scope::FilesRead => ActionGroup::FilesRead,
            Scope::FilesWrite => ActionGroup::FilesWrite,
            Scope::Ports => ActionGroup::Ports,
            Scope::AgentInvoke => ActionGroup::AgentInvoke,
            Scope::AgentConfigure => ActionGroup::AgentConfigure,
            Scope::Resume => ActionGroup::Resume,
            Scope::Stop => ActionGroup::Stop,
        }
    }
}

/// Arguments of `apikey_create`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateKeyArgs {
    /// A label for the key.
    #[serde(default)]
    pub name: Option<String>,
    /// Lifetime as a Go duration ("720h"); none = no expiry.
    #[serde(default)]
    pub expires_in: Option<String>,
    /// Bind the key to this one sandbox.
    #[serde(default)]
    pub sandbox_id: Option<String>,
    /// What a sandbox-bound key may do (needs sandbox_id).
    #[serde(default)]
    pub action_groups: Option<Vec<Scope>>,
}

/// Arguments of `apikey_revoke`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct KeyArgs {
    /// The key id, as apikey_list shows it.
    pub key_id: String,
}

/// One warm pool.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PoolArgs {
    /// The template to keep sandboxes of.
    pub template: String,
    /// How many ready sandboxes to keep (0-10).
    pub desired_count: i64,
}

/// Arguments of `warmpool_set_config`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WarmPoolArgs {
    /// The whole configuration; an empty list removes every pool.
    pub pools: Vec<PoolArgs>,
}

/// Arguments of `cluster_set_headroom`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct HeadroomArgs {
    /// Replicas of the spare-capacity Deployment (0-50).
    pub replicas: i64,
    /// CPU each replica reserves ("1").
    #[serde(default)]
    pub cpu: Option<String>,
    /// Memory each replica reserves ("2Gi").
    #[serde(default)]
    pub memory: Option<String>,
}

#[tool_router(router = fleet_tools, vis = "pub(crate)")]
impl AgentTierServer {
    /// The cluster's default governance policy and every namespace's own.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn governance_list_policies(&self) -> Outcome {
        reply(self.client.governance().policies().await)
    }

    /// The governance policy stored for one namespace, as written (not merged with the default).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn governance_get_policy(&self, Parameters(args): Parameters<NamespaceArgs>) -> Outcome {
        reply(self.client.governance().namespace_policy(&args.namespace).await)
    }

    /// Create or replace a governance policy: a namespace's, or the cluster default when no
    /// namespace is given. Admin only.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn governance_set_policy(&self, Parameters(args): Parameters<SetPolicyArgs>) -> Outcome {
        for (name, value) in [
            ("max_timeout", &args.max_timeout),
            ("max_idle_timeout", &args.max_idle_timeout),
        ] {
            arg!(duration(name, value.as_deref()));
        }
        let mut policy = Policy::default();
        policy.max_sandboxes_per_user = args.max_sandboxes_per_user;
        policy.max_sandboxes_total = args.max_sandboxes_total;
        policy.max_cpu = args.max_cpu.unwrap_or_default();
        policy.max_memory = args.max_memory.unwrap_or_default();
        policy.max_storage = args.max_storage.unwrap_or_default();
        policy.max_timeout = args.max_timeout.unwrap_or_default();
        policy.max_idle_timeout = args.max_idle_timeout.unwrap_or_default();
        policy.allowed_templates = args.allowed_templates.unwrap_or_default();
        policy.max_agent_sandboxes = args.max_agent_sandboxes;
        let governance = self.client.governance();
        match args.namespace.as_deref().filter(|ns| !ns.is_empty()) {
            Some(ns) => reply(governance.set_namespace_policy(ns, &policy).await),
            None => reply(governance.set_cluster_policy(&policy).await),
        }
    }

    /// Delete a namespace's own governance policy; the cluster default applies again. Admin only.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn governance_delete_policy(&self, Parameters(args): Parameters<NamespaceArgs>) -> Outcome {
        let result = self.client.governance().delete_namespace_policy(&args.namespace).await;
        reply_with(result, json!({ "namespace": args.namespace, "status": "deleted" }))
    }

    /// The governance policy in force in a namespace: the default overridden by the namespace's own.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn governance_effective_policy(&self, Parameters(args): Parameters<OptionalNamespaceArgs>) -> Outcome {
        reply(self.client.governance().effective(args.namespace.as_deref()).await)
    }

    /// Fleet-wide usage: sandboxes by status and template, average start-up time. Admin only.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn analytics_usage(&self) -> Outcome {
        reply(self.client.analytics().usage().await)
    }

    /// Fleet-wide cost estimate (an estimate, not billing data). Admin only.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn analytics_costs(&self) -> Outcome {
        reply(self.client.analytics().costs().await)
    }

    /// The activity log of sandboxes, newest first. Admin only.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn audit_list_events(&self) -> Outcome {
        reply(self.client.audit().events().await)
    }

    /// Every sandbox of every owner. Admin only.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn admin_list_sandboxes(&self) -> Outcome {
        reply(self.client.admin().sandboxes(SandboxFilter::all()).await)
    }

    /// Sharing across the fleet. Admin only.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn admin_sharing_overview(&self) -> Outcome {
        reply(self.client.admin().sharing().await)
    }

    /// The caller's saved preferences ({} when none were saved).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn user_get_preferences(&self) -> Outcome {
        // Preference names are the user's own: no renaming.
        match self.client.preferences().get().await {
            Ok(prefs) => ok(serde_json::Value::Object(prefs)),
            Err(e) => failure(&e),
        }
    }

    /// Replace the caller's preferences with this object.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn user_set_preferences(&self, Parameters(args): Parameters<PreferencesArgs>) -> Outcome {
        match self.client.preferences().put(&args.preferences).await {
            Ok(prefs) => ok(serde_json::Value::Object(prefs)),
            Err(e) => failure(&e),
        }
    }

    /// The caller's API keys (metadata only, never the keys themselves).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn apikey_list(&self) -> Outcome {
        reply(self.client.api_keys().list().await)
    }

    /// Mint an API key. The key is in this answer only: store it now.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn apikey_create(&self, Parameters(args): Parameters<CreateKeyArgs>) -> Outcome {
        let mut params = CreateApiKey::default();
        params.name = args.name.filter(|n| !n.is_empty());
        params.expires_in = arg!(duration("expires_in", args.expires_in.as_deref()));
        params.sandbox_id = args.sandbox_id.filter(|s| !s.is_empty());
        params.scopes = args
            .action_groups
            .unwrap_or_default()
            .into_iter()
            .map(Scope::group)
            .collect();
        match self.client.api_keys().create(params).await {
            Ok(k) => ok(json!({
                "id": k.id, "key": k.key.expose(), "name": k.name, "sandbox_id": k.sandbox_id,
                "action_groups": k.action_groups.iter().map(ActionGroup::to_string).collect::<Vec<_>>(),
                "created_at": time(k.created_at), "expires_at": time(k.expires_at), "warning": k.warning,
            })),
            Err(e) => failure(&e),
        }
    }

    /// Revoke (delete) one of the caller's API keys.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn apikey_revoke(&self, Parameters(args): Parameters<KeyArgs>) -> Outcome {
        let result = self.client.api_keys().revoke(&args.key_id).await;
        reply_with(result, json!({ "key_id": args.key_id, "status": "revoked" }))
    }

    /// The warm pools (pre-started sandboxes) of every template and how many are ready.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn warmpool_status(&self) -> Outcome {
        reply(self.client.warm_pool().status().await)
    }

    /// Replace the warm-pool configuration. Admin only.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn warmpool_set_config(&self, Parameters(args): Parameters<WarmPoolArgs>) -> Outcome {
        let pools: Vec<PoolTarget> = args
            .pools
            .into_iter()
            .map(|p| PoolTarget::new(p.template, p.desired_count))
            .collect();
        reply(self.client.warm_pool().configure(&pools).await)
    }

    /// Node and pod counts of the cluster at a glance.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn cluster_status(&self) -> Outcome {
        reply(self.client.cluster().status().await)
    }

    /// Each node's capacity and use. Admin only.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn cluster_nodes(&self) -> Outcome {
        reply(self.client.cluster().nodes().await)
    }

    /// The spare-capacity (headroom) configuration.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn cluster_get_headroom(&self) -> Outcome {
        reply(self.client.cluster().headroom().await)
    }

    /// Change the spare-capacity Deployment: replicas and, optionally, each replica's cpu and memory. Admin only.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn cluster_set_headroom(&self, Parameters(args): Parameters<HeadroomArgs>) -> Outcome {
        let mut config = HeadroomConfig::new(args.replicas);
        config.cpu = args.cpu.filter(|c| !c.is_empty());
        config.memory = args.memory.filter(|m| !m.is_empty());
        reply(self.client.cluster().set_headroom(&config).await)
    }
}
