//! Governance policies (wire spec §10.1) and their enforcement on sandbox create (§2.1).
//!
//! Policies live in memory behind a lock and are written through to SQLite, so the governance
//! routes can replace them at runtime; `--policy FILE` seeds them at start.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::errors::{ApiError, RouterError, Violation};
use crate::store::Store;

/// The platform's policy object; every field optional, zero/empty = no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    /// Live sandboxes one user may have in a namespace.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_sandboxes_per_user: i64,
    /// Live sandboxes a namespace may hold.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_sandboxes_total: i64,
    /// CPU cap (Kubernetes quantity). Not enforced locally: REST create carries no resources.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub max_cpu: String,
    /// Memory cap (Kubernetes quantity). Not enforced locally, as `max_cpu`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub max_memory: String,
    /// Largest `storage.size` (Kubernetes quantity).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub max_storage: String,
    /// Largest `timeout` (Go duration).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub max_timeout: String,
    /// Largest `idleTimeout` (Go duration).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub max_idle_timeout: String,
    /// Templates that may be used; empty = all.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_templates: Vec<String>,
    /// Image registry prefixes. Not enforced locally (no images).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approved_registries: Vec<String>,
    /// Live agent-mode sandboxes a namespace may hold.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_agent_sandboxes: i64,
    /// Agent image prefixes. Not enforced locally (no images).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_agent_images: Vec<String>,
    /// Cap on concurrent invokes per agent sandbox.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_concurrent_invokes_per_sandbox: i64,
    /// Free text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// The cluster-wide policy plus per-namespace overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policies {
    /// Applies everywhere unless a namespace policy overrides a field.
    #[serde(default)]
    pub cluster: Option<Policy>,
    /// Per-namespace policies.
    #[serde(default)]
    pub namespaces: BTreeMap<String, Policy>,
}

impl Policy {
    /// Refuses (400) a cap that cannot be read: an unreadable duration or quantity would
    /// otherwise be no limit at all.
    pub(crate) fn check_quantities(&self) -> Result<(), ApiError> {
        for (field, v) in [
            ("maxTimeout", &self.max_timeout),
            ("maxIdleTimeout", &self.max_idle_timeout),
        ] {
            if !v.is_empty() && agenttier_core::duration::parse(v).is_err() {
                return Err(ApiError::bad_request(format!(
                    "invalid {field}: {v:?} is not a Go duration"
                )));
            }
        }
        for (field, v) in [("maxMemory", &self.max_memory), ("maxStorage", &self.max_storage)] {
            if !v.is_empty() {
                check_quantity(field, v, false)?;
            }
        }
        if !self.max_cpu.is_empty() {
            check_quantity("maxCpu", &self.max_cpu, true)?;
        }
        Ok(())
    }
}

impl Policies {
    /// Reads a policy file: either a single [`Policy`] (the cluster policy) or
    /// `{"cluster": Policy, "namespaces": {"ns": Policy}}`.
    pub fn from_file(path: &Path) -> Result<Policies, RouterError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| RouterError::Config(format!("cannot read policy file {}: {e}", path.display())))?;
        let value: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| RouterError::Config(format!("invalid policy file {}: {e}", path.display())))?;
        let full = value
            .as_object()
            .is_some_and(|o| o.contains_key("cluster") || o.contains_key("namespaces"));
        let parsed = if full {
            serde_json::from_value::<Policies>(value)
        } else {
            serde_json::from_value::<Policy>(value).map(|p| Policies {
                cluster: Some(p),
                namespaces: BTreeMap::new(),
            })
        };
        let parsed = parsed.map_err(|e| RouterError::Config(format!("invalid policy file {}: {e}", path.display())))?;
        for (scope, p) in parsed
            .cluster
            .iter()
            .map(|p| ("cluster", p))
            .chain(parsed.namespaces.iter().map(|(ns, p)| (ns.as_str(), p)))
        {
            p.check_quantities().map_err(|e| {
                RouterError::Config(format!(
                    "invalid policy file {} ({scope}): {}",
                    path.display(),
                    e.item_message()
                ))
            })?;
        }
        Ok(parsed)
    }

    /// Cluster policy overridden field by field by the namespace's (the agent-specific fields
    /// always come from the cluster policy, as on the platform, §10.1).
    pub fn effective(&self, namespace: &str) -> Policy {
        let mut p = self.cluster.clone().unwrap_or_default();
        if let Some(ns) = self.namespaces.get(namespace) {
            let p_default = Policy::default();
            macro_rules! over {
                ($($f:ident),*) => {$(
                    if ns.$f != p_default.$f { p.$f = ns.$f.clone(); }
                )*};
            }
            over!(
                max_sandboxes_per_user,
                max_sandboxes_total,
                max_cpu,
                max_memory,
                max_storage,
                max_timeout,
                max_idle_timeout,
                allowed_templates,
                approved_registries,
                description
            );
        }
        p
    }
}

/// What a create request asks for, with current usage, for [`Governance::check_create`].
pub(crate) struct CreateCheck<'a> {
    pub namespace: &'a str,
    pub template: &'a str,
    pub agent_mode: bool,
    pub timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    pub storage_size: Option<&'a str>,
    /// Live sandboxes of the caller in the namespace.
    pub user_count: usize,
    /// Live sandboxes in the namespace.
    pub namespace_count: usize,
    /// Live agent-mode sandboxes in the namespace.
    pub agent_count: usize,
}

/// Runtime-editable policy set.
pub(crate) struct Governance {
    policies: RwLock<Policies>,
    store: Arc<Store>,
}

const CLUSTER_SCOPE: &str = "__cluster__";

impl Governance {
    /// Loads stored policies; `seed` (from `--policy`) replaces them when given.
    pub(crate) fn load(store: Arc<Store>, seed: Option<Policies>) -> Result<Governance, RouterError> {
        let g = Governance {
            policies: RwLock::new(Policies::default()),
            store,
        };
        match seed {
            Some(p) => g.replace(p)?,
            None => {
                let mut p = Policies::default();
                for (scope, text) in g.store.load_policies()? {
                    let Ok(policy) = serde_json::from_str::<Policy>(&text) else {
                        tracing::warn!(scope, "ignoring unreadable stored policy");
                        continue;
                    };
                    if scope == CLUSTER_SCOPE {
                        p.cluster = Some(policy);
                    } else {
                        p.namespaces.insert(scope, policy);
                    }
                }
                *g.policies.write().unwrap_or_else(|e| e.into_inner()) = p;
            }
        }
        Ok(g)
    }

    /// A copy of the current policies.
    pub(crate) fn snapshot(&self) -> Policies {
        self.policies.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces all policies (persisted first).
    pub(crate) fn replace(&self, p: Policies) -> Result<(), RouterError> {
        let mut rows = Vec::new();
        if let Some(c) = &p.cluster {
            rows.push((CLUSTER_SCOPE.to_owned(), serde_json::to_string(c).unwrap_or_default()));
        }
        for (ns, pol) in &p.namespaces {
            rows.push((ns.clone(), serde_json::to_string(pol).unwrap_or_default()));
        }
        self.store.save_policies(&rows)?;
        *self.policies.write().unwrap_or_else(|e| e.into_inner()) = p;
        Ok(())
    }

    /// The effective policy of a namespace now.
    pub(crate) fn effective(&self, namespace: &str) -> Policy {
        self.policies
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .effective(namespace)
    }

    /// Violations of a PATCH (§3.8): the value caps only (idle timeout, CPU, memory), not the
    /// count quotas.
    pub(crate) fn check_update(
        &self,
        namespace: &str,
        idle_timeout: Option<Duration>,
        cpu: Option<&str>,
        memory: Option<&str>,
    ) -> Vec<Violation> {
        let p = self.effective(namespace);
        let mut v = Vec::new();
        cap(
            &mut v,
            "idle_timeout_exceeded",
            "idleTimeout",
            idle_timeout,
            &p.max_idle_timeout,
        );
        if let (Some(want), false) = (cpu, p.max_cpu.is_empty()) {
            match (cpu_millis(want), cpu_millis(&p.max_cpu)) {
                (Some(w), Some(m)) if w <= m => {}
                (Some(_), Some(_)) => v.push(Violation {
                    code: "cpu_limit_exceeded",
                    message: format!("cpu {want} exceeds maximum {}", p.max_cpu),
                }),
                _ => v.push(unreadable("cpu_limit_exceeded", "cpu", want)),
            }
        }
        if let (Some(want), false) = (memory, p.max_memory.is_empty()) {
            match (quantity_bytes(want), quantity_bytes(&p.max_memory)) {
                (Some(w), Some(m)) if w <= m => {}
                (Some(_), Some(_)) => v.push(Violation {
                    code: "memory_limit_exceeded",
                    message: format!("memory {want} exceeds maximum {}", p.max_memory),
                }),
                _ => v.push(unreadable("memory_limit_exceeded", "memory", want)),
            }
        }
        v
    }

    /// All violations of a create request; empty = allowed.
    pub(crate) fn check_create(&self, c: &CreateCheck<'_>) -> Vec<Violation> {
        let p = self
            .policies
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .effective(c.namespace);
        let mut v = Vec::new();
        if !p.allowed_templates.is_empty() && !p.allowed_templates.iter().any(|t| t == c.template) {
            v.push(Violation {
                code: "template_not_allowed",
                message: format!(
                    "template {:?} is not in the allowed list [{}]",
                    c.template,
                    p.allowed_templates.join(", ")
                ),
            });
        }
        if p.max_sandboxes_total > 0 && c.namespace_count as i64 >= p.max_sandboxes_total {
            v.push(Violation {
                code: "namespace_quota_exceeded",
                message: format!(
                    "namespace {:?} has {} sandboxes, limit is {}",
                    c.namespace, c.namespace_count, p.max_sandboxes_total
                ),
            });
        }
        if p.max_sandboxes_per_user > 0 && c.user_count as i64 >= p.max_sandboxes_per_user {
            v.push(Violation {
                code: "user_quota_exceeded",
                message: format!(
                    "user has {} sandboxes, limit is {}",
                    c.user_count, p.max_sandboxes_per_user
                ),
            });
        }
        if c.agent_mode && p.max_agent_sandboxes > 0 && c.agent_count as i64 >= p.max_agent_sandboxes {
            v.push(Violation {
                code: "agent_sandbox_quota_exceeded",
                message: format!(
                    "namespace {:?} has {} agent sandboxes, limit is {}",
                    c.namespace, c.agent_count, p.max_agent_sandboxes
                ),
            });
        }
        cap(&mut v, "timeout_exceeded", "timeout", c.timeout, &p.max_timeout);
        cap(
            &mut v,
            "idle_timeout_exceeded",
            "idleTimeout",
            c.idle_timeout,
            &p.max_idle_timeout,
        );
        if let (Some(size), false) = (c.storage_size, p.max_storage.is_empty()) {
            match (quantity_bytes(size), quantity_bytes(&p.max_storage)) {
                (Some(want), Some(max)) if want <= max => {}
                (Some(_), Some(_)) => v.push(Violation {
                    code: "storage_limit_exceeded",
                    message: format!("storage {size} exceeds maximum {}", p.max_storage),
                }),
                _ => v.push(unreadable("storage_limit_exceeded", "storage", size)),
            }
        }
        v
    }
}

fn cap(v: &mut Vec<Violation>, code: &'static str, field: &str, want: Option<Duration>, max: &str) {
    let (Some(want), false) = (want, max.is_empty()) else {
        return;
    };
    if let Ok(limit) = agenttier_core::duration::parse(max) {
        if !limit.is_zero() && want > limit {
            v.push(Violation {
                code,
                message: format!(
                    "{field} {} exceeds maximum {}",
                    agenttier_core::duration::format(want),
                    agenttier_core::duration::format(limit)
                ),
            });
        }
    }
}

/// The number in front of a quantity's suffix: plain decimal digits with at most one `.`
/// (no sign, exponent, `NaN` or `inf`, which `f64::from_str` would take), finite.
fn plain_number(num: &str) -> Option<f64> {
    let digits = num.bytes().filter(u8::is_ascii_digit).count();
    let dots = num.bytes().filter(|&b| b == b'.').count();
    if digits == 0 || digits + dots != num.len() || dots > 1 {
        return None;
    }
    num.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Millicores of a Kubernetes CPU quantity (`500m`, `2`, `1.5`); `None` if unreadable — which
/// callers refuse (400) rather than read as "no limit".
pub(crate) fn cpu_millis(q: &str) -> Option<f64> {
    let q = q.trim();
    match q.strip_suffix('m') {
        Some(m) => plain_number(m),
        None => plain_number(q).map(|c| c * 1000.0),
    }
}

/// Bytes of a Kubernetes quantity (`10Gi`, `500M`, `1073741824`); `None` if unreadable —
/// which callers refuse (400) rather than read as "no limit". Exponent forms and the exa
/// suffixes (`1e3`, `1E`, `1Ei`) are not taken: nothing local comes near them.
pub(crate) fn quantity_bytes(q: &str) -> Option<f64> {
    let q = q.trim();
    let split = q.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(q.len());
    let (num, suffix) = q.split_at(split);
    let n = plain_number(num)?;
    let mult = match suffix {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        _ => return None,
    };
    Some(n * mult)
}

/// Refuses an unreadable quantity of a request or policy field with a `400` that says so.
pub(crate) fn check_quantity(field: &str, value: &str, cpu: bool) -> Result<(), ApiError> {
    let readable = if cpu {
        cpu_millis(value).is_some()
    } else {
        quantity_bytes(value).is_some()
    };
    if readable {
        Ok(())
    } else {
        let example = if cpu { "500m or 2" } else { "512Mi or 10Gi" };
        Err(ApiError::bad_request(format!(
            "invalid {field}: {value:?} is not a quantity (for example {example})"
        )))
    }
}

/// A violation for a requested quantity that cannot be compared with a policy's cap: refused,
/// never taken as "no limit" (requests are checked before they get here; this is the backstop).
fn unreadable(code: &'static str, field: &str, want: &str) -> Violation {
    Violation {
        code,
        message: format!("{field} {want:?} is not a quantity the policy can be checked against"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        assert_eq!(quantity_bytes("1Gi"), Some(1073741824.0));
        assert_eq!(quantity_bytes("500M"), Some(5e8));
        assert_eq!(quantity_bytes("1.5Ki"), Some(1536.0));
        assert_eq!(cpu_millis("500m"), Some(500.0));
        assert_eq!(cpu_millis("1.5"), Some(1500.0));
        for bad in [
            "x", "", "NaN", "inf", "-1Gi", "1E", "1Ei", "1e3", "+5", "1..2", ".", "Gi", "1 Gi",
        ] {
            assert_eq!(quantity_bytes(bad), None, "{bad}");
        }
        for bad in ["NaN", "NaNm", "inf", "infinity", "-1", "1e3", "", "m", "2 cores"] {
            assert_eq!(cpu_millis(bad), None, "{bad}");
        }
    }

    #[test]
    fn effective_merges_namespace_over_cluster() {
        let mut p = Policies {
            cluster: Some(Policy {
                max_sandboxes_per_user: 2,
                max_timeout: "1h".into(),
                ..Default::default()
            }),
            namespaces: BTreeMap::new(),
        };
        p.namespaces.insert(
            "team".into(),
            Policy {
                max_sandboxes_per_user: 5,
                ..Default::default()
            },
        );
        let e = p.effective("team");
        assert_eq!(e.max_sandboxes_per_user, 5);
        assert_eq!(e.max_timeout, "1h");
        assert_eq!(p.effective("other").max_sandboxes_per_user, 2);
    }
}
