//! Sandbox templates.

use serde::{Deserialize, Serialize};

use super::{SandboxMode, nullable};

/// A cluster sandbox template.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Template {
    /// Template name, used in `create_sandbox`.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub name: String,
    /// What the template is for.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub description: String,
    /// Container image repository, empty when unset.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub image: String,
    /// Kubernetes resource version.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub resource_version: String,
    /// The full template spec, as free-form JSON (its shape grows with the platform).
    pub spec: serde_json::Value,
}

impl Template {
    /// The mode of sandboxes made from this template (`spec.mode`, `code` when unset).
    pub fn mode(&self) -> SandboxMode {
        self.spec
            .get("mode")
            .and_then(|m| m.as_str())
            .map(SandboxMode::from)
            .unwrap_or_default()
    }
}
