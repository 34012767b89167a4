//! Backups: workspace snapshots of a sandbox (wire spec §3.11).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{nullable, string_enum};
use crate::timestamp;

/// Kind of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum BackupKind {
    /// A scheduled or on-demand snapshot of the workspace.
    #[default]
    Backup,
    /// The snapshot a clone was made from.
    Clone,
    /// A kind this SDK version does not know.
    Unknown(String),
}

string_enum!(BackupKind {
    Backup => "scheduled-backup",
    Clone => "clone",
});

/// A workspace snapshot (`GET /sandboxes/{id}/backups`).
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Backup {
    /// Snapshot name (what restore and delete take).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub name: String,
    /// When it was taken.
    #[serde(with = "timestamp::option")]
    pub created_at: Option<OffsetDateTime>,
    /// Backup or clone snapshot.
    pub kind: BackupKind,
    /// Whether it can be restored now.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub ready_to_use: bool,
    /// Size to restore (a Kubernetes quantity), when known.
    pub restore_size: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn router_shape_decodes() {
        let k: Backup = serde_json::from_str(
            r#"{"name":"demo-workspace-backup-1","createdAt":"2026-07-22T16:29:45Z","kind":"clone","readyToUse":true,"restoreSize":"10Gi"}"#,
        )
        .unwrap();
        assert_eq!(k.kind, BackupKind::Clone);
        assert!(k.created_at.is_some());
    }
}
