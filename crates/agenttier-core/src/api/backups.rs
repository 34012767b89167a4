//! Backups of a sandbox's workspace (wire spec §3.11): list, create, restore into a new
//! sandbox, delete.

use serde::Serialize;

use super::{non_empty, sandbox_path};
use crate::Result;
use crate::models::check_name;
use crate::request::{Request, segment};

/// Body of a backup create (`snapshotClass` is the only field the Router reads).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    snapshot_class: Option<&'a str>,
}

/// Body of a restore: the new sandbox's name, if not the Router's default.
#[derive(Serialize)]
struct RestoreBody<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

/// `GET /sandboxes/{id}/backups`.
pub fn list(id: &str) -> Result<Request> {
    Ok(Request::get(sandbox_path(id, "/backups")?))
}

/// `POST /sandboxes/{id}/backups`, with a VolumeSnapshotClass or the platform's default.
pub fn create(id: &str, snapshot_class: Option<&str>) -> Result<Request> {
    Request::post(sandbox_path(id, "/backups")?).json(&CreateBody { snapshot_class })
}

/// `POST /sandboxes/{id}/backups/{snapshot}/restore`, into a sandbox named `name` (an RFC 1123
/// label) or `<id>-restore-<unix>`.
pub fn restore(id: &str, snapshot: &str, name: Option<&str>) -> Result<Request> {
    non_empty(snapshot, "snapshot name")?;
    if let Some(name) = name {
        check_name(name)?;
    }
    Request::post(sandbox_path(id, &format!("/backups/{}/restore", segment(snapshot)))?).json(&RestoreBody { name })
}

/// `DELETE /sandboxes/{id}/backups/{snapshot}`.
pub fn delete(id: &str, snapshot: &str) -> Result<Request> {
    non_empty(snapshot, "snapshot name")?;
    Ok(Request::delete(sandbox_path(
        id,
        &format!("/backups/{}", segment(snapshot)),
    )?))
}
