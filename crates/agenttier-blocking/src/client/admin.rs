//! Governance, audit, analytics and admin views (wire spec §10): `client.governance()`,
//! `client.audit()`, `client.analytics()`, `client.admin()`. Writes to policies and everything
//! but reading policies are admin-only: others get [`agenttier_core::Error::Authorization`]
//! (`admin_required`).

use agenttier_core::Result;
use agenttier_core::api::{admin, governance};
use agenttier_core::models::{
    AdminSandbox, AuditEvent, CostReport, NamespacePolicy, Policies, Policy, SandboxFilter, UsageReport,
};

use super::{Client, exchange};
use crate::maybe;

/// Governance policies.
#[derive(Clone, Debug)]
pub struct Governance {
    client: Client,
}

/// The audit log (admin).
#[derive(Clone, Debug)]
pub struct Audit {
    client: Client,
}

/// Usage and cost analytics (admin).
#[derive(Clone, Debug)]
pub struct Analytics {
    client: Client,
}

/// Views across every owner (admin).
#[derive(Clone, Debug)]
pub struct Admin {
    client: Client,
}

impl Client {
    /// Governance policies.
    pub fn governance(&self) -> Governance {
        Governance { client: self.clone() }
    }

    /// The audit log.
    pub fn audit(&self) -> Audit {
        Audit { client: self.clone() }
    }

    /// Usage and cost analytics.
    pub fn analytics(&self) -> Analytics {
        Analytics { client: self.clone() }
    }

    /// Admin views.
    pub fn admin(&self) -> Admin {
        Admin { client: self.clone() }
    }
}

#[derive(serde::Deserialize)]
struct ClusterPolicyReply {
    #[serde(default)]
    policy: Policy,
}

#[maybe]
impl Governance {
    /// The cluster policy and every namespace policy.
    pub async fn policies(&self) -> Result<Policies> {
        exchange::json(&self.client.transport, &governance::policies(), "get policies").await
    }

    /// Replaces the cluster policy (admin); returns what is now in force.
    pub async fn set_cluster_policy(&self, policy: &Policy) -> Result<Policy> {
        let req = governance::set_cluster_policy(policy)?;
        let reply: ClusterPolicyReply = exchange::json(&self.client.transport, &req, "set cluster policy").await?;
        Ok(reply.policy)
    }

    /// One namespace's own policy (empty when it has none).
    pub async fn namespace_policy(&self, namespace: &str) -> Result<Policy> {
        let req = governance::namespace_policy(namespace)?;
        let reply: NamespacePolicy = exchange::json(&self.client.transport, &req, "get namespace policy").await?;
        Ok(reply.policy)
    }

    /// Replaces one namespace's policy (admin).
    pub async fn set_namespace_policy(&self, namespace: &str, policy: &Policy) -> Result<Policy> {
        let req = governance::set_namespace_policy(namespace, policy)?;
        let reply: NamespacePolicy = exchange::json(&self.client.transport, &req, "set namespace policy").await?;
        Ok(reply.policy)
    }

    /// Removes one namespace's policy (admin; removing none is not an error).
    pub async fn delete_namespace_policy(&self, namespace: &str) -> Result<()> {
        let req = governance::delete_namespace_policy(namespace)?;
        exchange::send(&self.client.transport, &req).await?;
        Ok(())
    }

    /// The policy in force in a namespace (the Router's default namespace when `None`): the
    /// cluster policy overridden field by field by the namespace's.
    pub async fn effective(&self, namespace: Option<&str>) -> Result<NamespacePolicy> {
        let req = governance::effective(namespace);
        exchange::json(&self.client.transport, &req, "get effective policy").await
    }
}

#[maybe]
impl Audit {
    /// Every recorded event, newest first. The Router takes no filters (and has no
    /// pagination; if it gains one, list calls are where it goes).
    pub async fn events(&self) -> Result<Vec<AuditEvent>> {
        exchange::list(
            &self.client.transport,
            &admin::audit_events(),
            "events",
            "list audit events",
        )
        .await
    }
}

#[maybe]
impl Analytics {
    /// Sandbox counts and start-up times.
    pub async fn usage(&self) -> Result<UsageReport> {
        exchange::json(&self.client.transport, &admin::usage(), "get usage").await
    }

    /// Cost estimate.
    pub async fn costs(&self) -> Result<CostReport> {
        exchange::json(&self.client.transport, &admin::costs(), "get costs").await
    }
}

#[maybe]
impl Admin {
    /// Every owner's sandboxes (the filter's namespace applies; the Router ignores a phase
    /// here), each with its scoped keys.
    pub async fn sandboxes(&self, filter: SandboxFilter) -> Result<Vec<AdminSandbox>> {
        let req = admin::sandboxes(&filter);
        exchange::list(&self.client.transport, &req, "sandboxes", "list all sandboxes").await
    }

    /// Sharing across sandboxes. The platform answers `{}` (a stub); the local router lists
    /// the sandboxes that have grants or links under `sandboxes`.
    pub async fn sharing(&self) -> Result<serde_json::Map<String, serde_json::Value>> {
        exchange::json(&self.client.transport, &admin::sharing(), "get sharing overview").await
    }
}
