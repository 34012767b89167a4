//! Backups: workspace snapshots of a sandbox (wire spec §3.11).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::sandbox::check_name;
use super::{nullable, string_enum};
use crate::{Result, timestamp};

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

/// Body of a backup create (`snapshotClass` is the only field the Router reads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateBackupBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) snapshot_class: Option<String>,
}

/// Body of a backup create.
pub fn create_backup_body(snapshot_class: Option<&str>) -> serde_json::Value {
    serde_json::to_value(CreateBackupBody {
        snapshot_class: snapshot_class.map(str::to_owned),
    })
    .unwrap_or_default()
}

/// Body of a restore: the new sandbox's name, validated.
pub fn restore_body(name: Option<&str>) -> Result<serde_json::Value> {
    match name {
        Some(n) => {
            check_name(n)?;
            Ok(serde_json::json!({ "name": n }))
        }
        None => Ok(serde_json::json!({})),
    }
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
        assert!(restore_body(Some("ok-1")).is_ok());
    }
}
