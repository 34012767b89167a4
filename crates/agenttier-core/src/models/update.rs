//! Changing a running sandbox's mutable fields: `PATCH /sandboxes/{id}` (wire spec §3.8).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::nullable;
use crate::{Error, Result, duration};

/// Kubernetes resource requirements of a sandbox (`requests` and `limits`, by resource name).
///
/// ```
/// use agenttier_core::models::Resources;
/// let r = Resources::new().request("cpu", "1").request("memory", "2Gi").limit("cpu", "2");
/// assert_eq!(serde_json::to_value(&r).unwrap()["limits"]["cpu"], "2");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Resources {
    /// Guaranteed amounts (`cpu`, `memory`, ...).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, String>,
    /// Caps.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, String>,
}

impl Resources {
    /// No requests, no limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a request (`"cpu"`, `"500m"`).
    pub fn request(mut self, resource: impl Into<String>, quantity: impl Into<String>) -> Self {
        self.requests.insert(resource.into(), quantity.into());
        self
    }

    /// Adds a limit (`"memory"`, `"4Gi"`).
    pub fn limit(mut self, resource: impl Into<String>, quantity: impl Into<String>) -> Self {
        self.limits.insert(resource.into(), quantity.into());
        self
    }
}

/// Body of `PATCH /sandboxes/{id}`: the mutable fields, at least one.
///
/// ```
/// use std::time::Duration;
/// use agenttier_core::models::UpdateSandbox;
/// let u = UpdateSandbox::new().idle_timeout(Duration::from_secs(3600)).label("team", "platform");
/// assert_eq!(serde_json::to_value(&u).unwrap(), serde_json::json!({"idleTimeout":"1h0m0s","labels":{"team":"platform"}}));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UpdateSandbox {
    /// New idle timeout (applies at once).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "go_duration")]
    pub idle_timeout: Option<Duration>,
    /// New resources (replace the whole object; apply after a stop and resume).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Labels merged into the existing ones (none can be removed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations merged into the existing ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

fn go_duration<S: serde::Serializer>(d: &Option<Duration>, s: S) -> std::result::Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&duration::format(*d)),
        None => s.serialize_none(),
    }
}

impl UpdateSandbox {
    /// An empty update (add at least one field).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the idle timeout.
    pub fn idle_timeout(mut self, d: Duration) -> Self {
        self.idle_timeout = Some(d);
        self
    }

    /// Replaces the resources.
    pub fn resources(mut self, r: Resources) -> Self {
        self.resources = Some(r);
        self
    }

    /// Adds one label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    /// Adds labels.
    pub fn labels<K: Into<String>, V: Into<String>>(mut self, labels: impl IntoIterator<Item = (K, V)>) -> Self {
        let map = self.labels.get_or_insert_with(BTreeMap::new);
        map.extend(labels.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Adds one annotation.
    pub fn annotation(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.annotations
            .get_or_insert_with(BTreeMap::new)
            .insert(key.into(), value.into());
        self
    }

    /// Checks what the Router would refuse: no field at all, a zero idle timeout.
    pub fn validate(&self) -> Result<()> {
        if self.idle_timeout.is_none()
            && self.resources.is_none()
            && self.labels.is_none()
            && self.annotations.is_none()
        {
            return Err(Error::invalid_input(
                "an update needs at least one of idle timeout, resources, labels, annotations",
            ));
        }
        if self.idle_timeout.is_some_and(|d| d.is_zero()) {
            return Err(Error::invalid_input("idle timeout must be positive"));
        }
        Ok(())
    }
}

/// The answer of PATCH: when each field takes effect.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct UpdateResult {
    /// The sandbox.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub sandbox_id: String,
    /// Field → `immediately` or `on-restart`.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub applied: BTreeMap<String, String>,
    /// Whether a stop and resume is needed for everything to apply.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub restart_required: bool,
    /// Explanation when a restart is required.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_needs_a_field() {
        assert!(UpdateSandbox::new().validate().is_err());
        assert!(UpdateSandbox::new().idle_timeout(Duration::ZERO).validate().is_err());
        let u = UpdateSandbox::new()
            .resources(Resources::new().request("cpu", "1"))
            .annotation("note", "x");
        assert!(u.validate().is_ok());
        assert_eq!(
            serde_json::to_value(&u).unwrap(),
            serde_json::json!({"resources":{"requests":{"cpu":"1"}},"annotations":{"note":"x"}})
        );
    }

    #[test]
    fn router_shape_decodes() {
        let r: UpdateResult = serde_json::from_str(
            r#"{"sandboxId":"demo","applied":{"idleTimeout":"immediately","resources":"on-restart"},"restartRequired":true,"message":"m"}"#,
        )
        .unwrap();
        assert!(r.restart_required && r.applied["resources"] == "on-restart");
    }
}
