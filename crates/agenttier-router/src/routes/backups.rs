//! Backups (§3.11) and clones (§3.9): workspace snapshots of one sandbox, listed, taken, restored into a new
//! sandbox, and deleted. A snapshot copies the workspace as it is at that moment (a running
//! sandbox keeps running); `readyToUse` is true once listed, `restoreSize` is the bytes copied.
//! Restore creates a new sandbox with the source's spec and a copy of the snapshot, checked
//! against governance like a create. Deleting a sandbox deletes its snapshots.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::{Deserialize, Serialize};

use crate::auth::Identity;
use crate::errors::ApiError;
use crate::provision::Copied;
use crate::respond::go_json;
use crate::sandbox::record::Phase;
use crate::state::AppState;
use crate::store::SnapshotRow;
use crate::validate::optional_body;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BackupInfo<'a> {
    name: &'a str,
    created_at: String,
    kind: &'a str,
    ready_to_use: bool,
    restore_size: String,
}

fn info(s: &SnapshotRow) -> BackupInfo<'_> {
    BackupInfo {
        name: &s.name,
        created_at: crate::gotime::rfc3339(s.created_at),
        kind: if s.kind == "clone" { "clone" } else { "scheduled-backup" },
        ready_to_use: true,
        restore_size: s.size_bytes.to_string(),
    }
}

pub(super) async fn list(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    st.sandboxes.view(&id, &who, |_| Ok(()))?;
    let rows = st.snapshots.list(&id);
    let backups: Vec<_> = rows.iter().map(info).collect();
    Ok(go_json(StatusCode::OK, &serde_json::json!({ "backups": backups })))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CreateRequest {
    #[allow(dead_code)]
    snapshot_class: Option<String>,
}

pub(super) async fn create(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let rec = st.sandboxes.view(&id, &who, |e| Ok(e.rec.clone()))?;
    let _: CreateRequest = optional_body(&body)?;
    let workspace = st.sandboxes.workspace_dir(&id);
    if rec.phase == Phase::New || !workspace.is_dir() {
        return Err(ApiError::bad_request(format!(
            "sandbox {id} has no PVC to back up (phase={})",
            rec.phase.as_str()
        )));
    }
    let name = st.snapshots.fresh_name(&format!("{id}-workspace-backup"));
    let row = st.snapshots.take(&name, &id, "backup", workspace).await?;
    st.events
        .sandbox(&rec, "BackupCreated", &format!("snapshot {name} created"), Some(&who));
    Ok(go_json(StatusCode::CREATED, &info(&row)))
}

/// The snapshot `name` of sandbox `id`, or the platform's 404.
fn owned_snapshot(st: &AppState, id: &str, name: &str) -> Result<SnapshotRow, ApiError> {
    st.snapshots
        .get(name)
        .filter(|s| s.sandbox == id)
        .ok_or_else(|| ApiError::not_found("snapshot not found (it may have been pruned)"))
}

#[derive(Deserialize, Default)]
struct RestoreRequest {
    name: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Restored<'a> {
    name: &'a str,
    namespace: &'a str,
    restored_from: &'a str,
    snapshot: &'a str,
    phase: &'static str,
    message: String,
}

pub(super) async fn restore(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path((id, snapshot)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let source = st.sandboxes.view(&id, &who, |e| Ok(e.rec.clone()))?;
    let req: RestoreRequest = optional_body(&body)?;
    owned_snapshot(&st, &id, &snapshot)?;
    let Copied {
        name,
        namespace,
        snapshot,
    } = st.provision().restore(&who, &source, &snapshot, req.name).await?;
    Ok(go_json(
        StatusCode::ACCEPTED,
        &Restored {
            name: &name,
            namespace: &namespace,
            restored_from: &id,
            snapshot: &snapshot,
            phase: "Pending",
            message: format!("Restore in progress. Poll GET /api/v1/sandboxes/{name} for status."),
        },
    ))
}

pub(super) async fn delete(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path((id, snapshot)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let rec = st.sandboxes.view(&id, &who, |e| Ok(e.rec.clone()))?;
    owned_snapshot(&st, &id, &snapshot)?;
    st.snapshots.delete(&snapshot)?;
    st.events.sandbox(
        &rec,
        "BackupDeleted",
        &format!("snapshot {snapshot} deleted"),
        Some(&who),
    );
    Ok(go_json(
        StatusCode::OK,
        &serde_json::json!({"status": "deleted", "name": snapshot}),
    ))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct CloneRequest {
    name: Option<String>,
    #[allow(dead_code)]
    snapshot_class: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CloneReply<'a> {
    name: &'a str,
    namespace: &'a str,
    snapshot: &'a str,
    cloned_from: &'a str,
    phase: &'static str,
    message: String,
}

pub(super) async fn clone(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let source = st.sandboxes.view(&id, &who, |e| Ok(e.rec.clone()))?;
    let req: CloneRequest = optional_body(&body)?;
    let copied = st.provision().clone_sandbox(&who, &source, req.name).await?;
    let Copied {
        name,
        namespace,
        snapshot,
    } = &copied;
    Ok(go_json(
        StatusCode::ACCEPTED,
        &CloneReply {
            name,
            namespace,
            snapshot,
            cloned_from: &id,
            phase: "Pending",
            message: format!(
                "Clone in progress. Poll GET /api/v1/sandboxes/{name} for status; the workspace is a copy of {id} at snapshot {snapshot}."
            ),
        },
    ))
}
