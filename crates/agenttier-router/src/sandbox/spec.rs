//! A sandbox's mutable spec: labels, annotations and resources (set by PATCH, copied by clone,
//! read when the sandbox starts for its limits). Not shown in the sandbox JSON, as on the
//! platform.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Labels, annotations and resources of a sandbox.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct Spec {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<serde_json::Value>,
}

impl Spec {
    /// Whether nothing is set (then nothing is stored).
    pub(crate) fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.annotations.is_empty() && self.resources.is_none()
    }

    /// `requests` or `limits` of one resource (`cpu`, `memory`), limits first.
    pub(crate) fn resource(&self, name: &str) -> Option<String> {
        let r = self.resources.as_ref()?;
        ["limits", "requests"]
            .iter()
            .find_map(|k| r.get(k)?.get(name)?.as_str().map(str::to_owned))
    }
}
