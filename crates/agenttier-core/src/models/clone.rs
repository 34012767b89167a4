//! Cloning a sandbox (wire spec §3.9), and the answer clone and restore share.

use serde::{Deserialize, Serialize};

use super::nullable;
use super::sandbox::check_name;
use crate::Result;

/// Body of `POST /sandboxes/{id}/clone`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CloneSandbox {
    /// Name of the new sandbox; the Router picks `<source>-clone-<unix>` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// VolumeSnapshotClass to snapshot the workspace with (the platform's default when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_class: Option<String>,
}

impl CloneSandbox {
    /// A clone with the Router's default name.
    pub fn new() -> Self {
        Self::default()
    }

    /// Names the clone.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the VolumeSnapshotClass.
    pub fn snapshot_class(mut self, class: impl Into<String>) -> Self {
        self.snapshot_class = Some(class.into());
        self
    }

    /// Checks the name before anything is sent.
    pub fn validate(&self) -> Result<()> {
        self.name.as_deref().map_or(Ok(()), check_name)
    }
}

/// The answer of clone and restore (202): the new sandbox is being created.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct CloneResult {
    /// Name (id) of the new sandbox.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub name: String,
    /// Its namespace.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub namespace: String,
    /// The snapshot the workspace comes from.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub snapshot: String,
    /// The source sandbox of a clone (empty for a restore).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub cloned_from: String,
    /// The source sandbox of a restore (empty for a clone).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub restored_from: String,
    /// Always `Pending` on the platform (not a sandbox phase): poll the new sandbox.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub phase: String,
    /// Human-readable note.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn router_shape_decodes() {
        let c: CloneResult = serde_json::from_str(
            r#"{"name":"demo-clone-1753201785","namespace":"default","snapshot":"demo-snap-1753201785","clonedFrom":"demo","phase":"Pending","message":"Clone in progress"}"#,
        )
        .unwrap();
        assert_eq!(c.cloned_from, "demo");
        assert!(CloneSandbox::new().name("Bad_Name").validate().is_err());
    }
}
