//! Clone, update (PATCH), bulk calls and backups of sandboxes (wire spec §3.8–§3.11).

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::sandbox::is_rfc1123_label;
use super::{CreateSandbox, Violation, nullable, nullable_list, string_enum};
use crate::{Error, Result, duration, timestamp};

fn check_name(name: &str) -> Result<()> {
    if is_rfc1123_label(name) {
        Ok(())
    } else {
        Err(Error::invalid_input(format!(
            "sandbox name {name:?} must be an RFC 1123 label: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
        )))
    }
}

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

/// Outcome of one item of a bulk call.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ItemStatus {
    /// Bulk create: the sandbox was created.
    Created,
    /// Bulk action: the action was applied.
    #[default]
    Ok,
    /// The item failed; see its `error`.
    Error,
    /// A status this SDK version does not know.
    Unknown(String),
}

string_enum!(ItemStatus {
    Created => "created",
    Ok => "ok",
    Error => "error",
});

impl ItemStatus {
    /// Whether the item succeeded.
    pub fn is_success(&self) -> bool {
        matches!(self, ItemStatus::Created | ItemStatus::Ok)
    }
}

/// Body of `POST /sandboxes/bulk`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct BulkCreateBody<'a> {
    pub(crate) items: &'a [CreateSandbox],
}

/// One result of a bulk create, by position in the request.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct BulkCreateResult {
    /// Position of the item in the request.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub index: usize,
    /// `created` or `error`.
    pub status: ItemStatus,
    /// The new sandbox, when created.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub sandbox_id: String,
    /// Why the item failed (`policy_violation: ...`, `name is required`, ...).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub error: String,
}

/// What a bulk action does to each sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BulkAction {
    /// Stop each.
    Stop,
    /// Resume each.
    Resume,
    /// Delete each.
    Delete,
}

impl BulkAction {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            BulkAction::Stop => "stop",
            BulkAction::Resume => "resume",
            BulkAction::Delete => "delete",
        }
    }
}

/// Body of `POST /sandboxes/bulk-action`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct BulkActionBody<'a> {
    pub(crate) action: &'static str,
    pub(crate) ids: &'a [String],
}

/// The body of a bulk create, refusing what the Router would refuse (no items, an invalid item).
pub fn bulk_create_body(items: &[CreateSandbox]) -> Result<serde_json::Value> {
    if items.is_empty() {
        return Err(Error::invalid_input("a bulk create needs at least one item"));
    }
    for item in items {
        item.validate()?;
    }
    serde_json::to_value(BulkCreateBody { items })
        .map_err(|e| Error::invalid_input(format!("cannot encode the bulk create: {e}")))
}

/// The body of a bulk action, refusing an empty id list or an empty id.
pub fn bulk_action_body<S: AsRef<str>>(action: BulkAction, ids: &[S]) -> Result<serde_json::Value> {
    let ids: Vec<String> = ids.iter().map(|s| s.as_ref().to_owned()).collect();
    if ids.is_empty() {
        return Err(Error::invalid_input("a bulk action needs at least one sandbox id"));
    }
    if ids.iter().any(String::is_empty) {
        return Err(Error::invalid_input("sandbox ids must not be empty"));
    }
    serde_json::to_value(BulkActionBody {
        action: action.as_str(),
        ids: &ids,
    })
    .map_err(|e| Error::invalid_input(format!("cannot encode the bulk action: {e}")))
}

/// One result of a bulk action, by sandbox id.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct BulkActionResult {
    /// The sandbox.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub id: String,
    /// `ok` or `error`.
    pub status: ItemStatus,
    /// Why it failed (`access denied to sandbox b`, `cannot stop sandbox in phase Stopped`, ...).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub error: String,
}

/// The body of a `409 quota_would_exceed` refusal of a bulk create: nothing was created.
///
/// ```
/// use agenttier_core::models::QuotaWouldExceed;
/// let err = agenttier_core::response::error_from(409, &Default::default(),
///     br#"{"error":"quota_would_exceed","namespace":"ns","violations":[{"code":"user_quota_exceeded","message":"m"}]}"#, 1);
/// let q = QuotaWouldExceed::from_error(&err).unwrap();
/// assert_eq!(q.violations[0].code, "user_quota_exceeded");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(default)]
#[non_exhaustive]
pub struct QuotaWouldExceed {
    /// The namespace whose quota would be exceeded.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub namespace: String,
    /// The quotas, with the platform's codes.
    #[serde(deserialize_with = "nullable_list::deserialize")]
    pub violations: Vec<Violation>,
}

impl QuotaWouldExceed {
    /// The refusal inside a [`Error::Conflict`], if that is what `err` is.
    pub fn from_error(err: &Error) -> Option<QuotaWouldExceed> {
        match err {
            Error::Conflict { api } if api.message == "quota_would_exceed" => serde_json::from_str(&api.body).ok(),
            _ => None,
        }
    }
}

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
    fn router_shapes_decode() {
        let r: UpdateResult = serde_json::from_str(
            r#"{"sandboxId":"demo","applied":{"idleTimeout":"immediately","resources":"on-restart"},"restartRequired":true,"message":"m"}"#,
        )
        .unwrap();
        assert!(r.restart_required && r.applied["resources"] == "on-restart");
        let c: CloneResult = serde_json::from_str(
            r#"{"name":"demo-clone-1753201785","namespace":"default","snapshot":"demo-snap-1753201785","clonedFrom":"demo","phase":"Pending","message":"Clone in progress"}"#,
        )
        .unwrap();
        assert_eq!(c.cloned_from, "demo");
        let b: Vec<BulkCreateResult> = serde_json::from_str(
            r#"[{"index":0,"status":"created","sandboxId":"w1"},{"index":1,"status":"error","error":"name is required"}]"#,
        )
        .unwrap();
        assert!(b[0].status.is_success() && !b[1].status.is_success());
        let k: Backup = serde_json::from_str(
            r#"{"name":"demo-workspace-backup-1","createdAt":"2026-07-22T16:29:45Z","kind":"clone","readyToUse":true,"restoreSize":"10Gi"}"#,
        )
        .unwrap();
        assert_eq!(k.kind, BackupKind::Clone);
        assert!(k.created_at.is_some());
    }

    #[test]
    fn bulk_bodies() {
        assert!(bulk_create_body(&[]).is_err());
        assert!(bulk_action_body::<&str>(BulkAction::Stop, &[]).is_err());
        let b = bulk_action_body(BulkAction::Delete, &["a", "b"]).unwrap();
        assert_eq!(b, serde_json::json!({"action":"delete","ids":["a","b"]}));
        assert!(CloneSandbox::new().name("Bad_Name").validate().is_err());
        assert!(restore_body(Some("ok-1")).is_ok());
    }
}
