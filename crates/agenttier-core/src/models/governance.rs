//! Governance policies, audit events, analytics and the admin views (wire spec §10).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{ApiKey, SandboxInfo, nullable, nullable_list};
use crate::timestamp;

/// A governance policy. Every field is optional: zero or empty means "no limit".
///
/// ```
/// use agenttier_core::models::Policy;
/// let mut p = Policy::default();
/// p.max_sandboxes_per_user = 3;
/// p.allowed_templates = vec!["general-coding".into()];
/// assert_eq!(serde_json::to_value(&p).unwrap(),
///     serde_json::json!({"maxSandboxesPerUser":3,"allowedTemplates":["general-coding"]}));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Policy {
    /// Live sandboxes one user may have.
    #[serde(deserialize_with = "nullable::deserialize", skip_serializing_if = "is_zero")]
    pub max_sandboxes_per_user: i64,
    /// Live sandboxes a namespace may hold.
    #[serde(deserialize_with = "nullable::deserialize", skip_serializing_if = "is_zero")]
    pub max_sandboxes_total: i64,
    /// CPU cap (Kubernetes quantity).
    #[serde(deserialize_with = "nullable::deserialize", skip_serializing_if = "String::is_empty")]
    pub max_cpu: String,
    /// Memory cap (Kubernetes quantity).
    #[serde(deserialize_with = "nullable::deserialize", skip_serializing_if = "String::is_empty")]
    pub max_memory: String,
    /// Largest workspace (Kubernetes quantity).
    #[serde(deserialize_with = "nullable::deserialize", skip_serializing_if = "String::is_empty")]
    pub max_storage: String,
    /// Longest `timeout` (Go duration).
    #[serde(deserialize_with = "nullable::deserialize", skip_serializing_if = "String::is_empty")]
    pub max_timeout: String,
    /// Longest `idleTimeout` (Go duration).
    #[serde(deserialize_with = "nullable::deserialize", skip_serializing_if = "String::is_empty")]
    pub max_idle_timeout: String,
    /// Templates that may be used (empty = all).
    #[serde(
        deserialize_with = "nullable_list::deserialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_templates: Vec<String>,
    /// Image registry prefixes that may be used.
    #[serde(
        deserialize_with = "nullable_list::deserialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub approved_registries: Vec<String>,
    /// Live agent sandboxes a namespace may hold (cluster policy only).
    #[serde(deserialize_with = "nullable::deserialize", skip_serializing_if = "is_zero")]
    pub max_agent_sandboxes: i64,
    /// Agent image prefixes (cluster policy only).
    #[serde(
        deserialize_with = "nullable_list::deserialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub allowed_agent_images: Vec<String>,
    /// Concurrent invokes per agent sandbox (cluster policy only).
    #[serde(deserialize_with = "nullable::deserialize", skip_serializing_if = "is_zero")]
    pub max_concurrent_invokes_per_sandbox: i64,
    /// Free text.
    #[serde(deserialize_with = "nullable::deserialize", skip_serializing_if = "String::is_empty")]
    pub description: String,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// A namespace and its policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct NamespacePolicy {
    /// The namespace.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub namespace: String,
    /// Its policy (for `effective`: the merged one).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub policy: Policy,
}

/// Every policy (`GET /governance/policies`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Policies {
    /// The cluster policy, if one is set.
    pub cluster: Option<Policy>,
    /// Per-namespace overrides.
    #[serde(deserialize_with = "nullable_list::deserialize")]
    pub namespaces: Vec<NamespacePolicy>,
}

/// One audit event (`GET /audit/events`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct AuditEvent {
    /// When it happened (the platform may send the zero time).
    #[serde(with = "timestamp::option")]
    pub timestamp: Option<OffsetDateTime>,
    /// What happened (`Running`, `Stopped`, `BackupCreated`, `AgentInvokeStarted`, ...).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub event_type: String,
    /// The sandbox (empty for events about keys, policies, webhooks on the local router).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub sandbox_id: String,
    /// The sandbox name.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub sandbox_name: String,
    /// Its namespace.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub namespace: String,
    /// Who caused it, when known.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub user_email: String,
    /// Details; `reason` carries the event message.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub details: BTreeMap<String, serde_json::Value>,
}

impl AuditEvent {
    /// The event message (`details.reason`).
    pub fn reason(&self) -> &str {
        self.details.get("reason").and_then(|r| r.as_str()).unwrap_or("")
    }
}

/// Usage analytics (`GET /analytics/usage`; snake_case on the wire).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct UsageReport {
    /// Sandboxes that exist now.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub total_sandboxes: i64,
    /// Count by phase (`creating` for the empty phase).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub status_breakdown: BTreeMap<String, i64>,
    /// Count by template (`unknown` when unresolved).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub template_breakdown: BTreeMap<String, i64>,
    /// Mean time from create (or resume) to Running.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub avg_startup_ms: i64,
    /// How many start-ups the mean is over.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub startup_sample_count: i64,
}

/// Estimated cost of one template's sandboxes.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct TemplateCost {
    /// Template name.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub template: String,
    /// Estimated cost per hour.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub hourly_cost: f64,
    /// Sandboxes of the template.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub count: i64,
}

/// Cost estimate (`GET /analytics/costs`; snake_case on the wire, fixed rates).
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct CostReport {
    /// Sandboxes running now.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub running_sandboxes: i64,
    /// Sandboxes stopped now.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub stopped_sandboxes: i64,
    /// Compute per hour.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub total_hourly_compute: f64,
    /// Storage per hour.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub total_hourly_storage: f64,
    /// Both, over a month.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub total_estimated_monthly: f64,
    /// By template (the Router sends `null` when empty).
    #[serde(deserialize_with = "nullable_list::deserialize")]
    pub per_template: Vec<TemplateCost>,
    /// Local router only: running time recorded over the sandboxes' lifetimes, in hours.
    pub recorded_running_hours: Option<f64>,
    /// Local router only: that time at the compute rate.
    pub recorded_compute_cost: Option<f64>,
}

/// A sandbox as the admin list shows it: the usual description and its scoped keys.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AdminSandbox {
    /// The sandbox.
    #[serde(flatten)]
    pub sandbox: SandboxInfo,
    /// Sandbox-scoped API keys bound to it.
    #[serde(default, deserialize_with = "nullable_list::deserialize")]
    pub scoped_api_keys: Vec<ApiKey>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn router_bodies_decode() {
        let p: Policies = serde_json::from_str(
            r#"{"cluster":null,"namespaces":[{"namespace":"team","policy":{"maxSandboxesPerUser":2,"futureField":1}}]}"#,
        )
        .unwrap();
        assert!(p.cluster.is_none());
        assert_eq!(p.namespaces[0].policy.max_sandboxes_per_user, 2);
        let e: AuditEvent = serde_json::from_str(
            r#"{"timestamp":"0001-01-01T00:00:00Z","eventType":"Running","sandboxId":"demo","sandboxName":"demo","namespace":"default","userEmail":"","details":{"reason":"pod ready"}}"#,
        )
        .unwrap();
        assert_eq!(e.reason(), "pod ready");
        let u: UsageReport = serde_json::from_str(
            r#"{"total_sandboxes":3,"status_breakdown":{"Running":2,"creating":1},"template_breakdown":{"general-coding":3},"avg_startup_ms":1200,"startup_sample_count":2}"#,
        )
        .unwrap();
        assert_eq!(u.status_breakdown["creating"], 1);
        let c: CostReport = serde_json::from_str(
            r#"{"running_sandboxes":1,"stopped_sandboxes":0,"total_hourly_compute":0.05,"total_hourly_storage":0.001,"total_estimated_monthly":37.2,"per_template":null}"#,
        )
        .unwrap();
        assert!(c.per_template.is_empty() && c.recorded_running_hours.is_none());
        let a: AdminSandbox = serde_json::from_str(
            r#"{"sandboxId":"demo","name":"demo","namespace":"default","status":"Running","scopedApiKeys":[{"id":"k","userId":"u","name":"n","actionGroups":["stop"]}]}"#,
        )
        .unwrap();
        assert_eq!(a.sandbox.id(), "demo");
        assert_eq!(a.scoped_api_keys.len(), 1);
    }
}
