//! `PUT /api/v1/sandboxes/{id}/files/{path}` (wire spec §5.3): the raw body is streamed into a
//! temporary file beside the target, which is renamed over it once complete (both relative to
//! the target's directory descriptor, found by [`confined`]). Parents are created; everything
//! created belongs to the sandbox's root. A FIFO, socket or device at the target is a 400. The 32 MiB limit is checked against `Content-Length` before reading and counted
//! while streaming (chunked bodies), so an oversized body is refused without being stored.

use axum::body::Body;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use futures_util::StreamExt;
use nix::fcntl::{AtFlags, OFlag, openat, renameat};
use nix::sys::stat::{Mode, fstatat};
use serde::Serialize;
use std::os::fd::OwnedFd;
use tokio::io::AsyncWriteExt;

use super::confined::TEMP_PREFIX;
use super::{MAX_FILE_BYTES, blocking, confined, escapes, paths, special};
use crate::errors::ApiError;
use crate::respond::go_json;
use crate::running::RunningSandbox;

#[derive(Serialize)]
struct Written {
    path: String,
    bytes: u64,
}

fn too_large() -> ApiError {
    ApiError::Json(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("payload exceeds {MAX_FILE_BYTES} bytes"),
    )
}

/// The temporary file of an upload, in the target's directory; removed unless the upload
/// completed.
struct Temp {
    dir: OwnedFd,
    name: String,
    target: String,
    done: bool,
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.done {
            let _ = nix::unistd::unlinkat(&self.dir, self.name.as_str(), nix::unistd::UnlinkatFlags::NoRemoveDir);
        }
    }
}

/// Finds (creating parents) the directory of the upload target and makes the temporary file
/// beside it, given to the sandbox's root.
fn prepare(root: &std::path::Path, target: &paths::Resolved) -> Result<(Temp, std::fs::File), ApiError> {
    let failed = |e: String| ApiError::internal(format!("write failed: {e}"));
    let is_dir = || ApiError::bad_request(format!("path is a directory: {}", target.wire));
    let root = confined::Root::open(root).map_err(|e| write_error(e, &target.wire))?;
    let (dir, name) = root
        .locate(&target.parts, true)
        .map_err(|e| write_error(e, &target.wire))?
        .ok_or_else(|| failed("path vanished while writing".into()))?;
    if name == "." {
        return Err(is_dir());
    }
    match fstatat(&dir, name.as_str(), AtFlags::AT_SYMLINK_NOFOLLOW).map(|st| confined::kind_of(&st)) {
        Ok(confined::Kind::Dir) => return Err(is_dir()),
        Ok(confined::Kind::Special) => return Err(special(&target.wire)),
        _ => {}
    }
    let temp = format!("{TEMP_PREFIX}{:016x}", crate::random::u64());
    let fd = openat(
        &dir,
        temp.as_str(),
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o644),
    )
    .map_err(|e| failed(e.desc().to_lowercase()))?;
    let guard = Temp {
        dir,
        name: temp,
        target: name,
        done: false,
    };
    root.own(&fd, None).map_err(|e| write_error(e, &target.wire))?;
    Ok((guard, std::fs::File::from(fd)))
}

impl Temp {
    /// Renames the finished temporary file over the target.
    fn commit(mut self) -> Result<(), ApiError> {
        renameat(&self.dir, self.name.as_str(), &self.dir, self.target.as_str())
            .map_err(|e| ApiError::internal(format!("write failed: {}", e.desc().to_lowercase())))?;
        self.done = true;
        Ok(())
    }
}

fn write_error(e: confined::PathError, wire: &str) -> ApiError {
    match e {
        confined::PathError::Escapes => escapes(wire),
        confined::PathError::Special => special(wire),
        confined::PathError::Io(e) => ApiError::internal(format!("write failed: {e}")),
    }
}

pub(crate) async fn upload(
    RunningSandbox { workspace: root, .. }: RunningSandbox,
    Path((_, path)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let target = paths::resolve(&path)?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_FILE_BYTES) {
        return Err(too_large());
    }
    if target.wire == paths::WORKSPACE {
        return Err(ApiError::bad_request(format!("path is a directory: {}", target.wire)));
    }
    let prepared = target.clone();
    let (temp, file) = blocking(move || prepare(&root, &prepared)).await?;
    let mut file = tokio::fs::File::from_std(file);
    let mut written: u64 = 0;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("reading the request body failed: {e}")))?;
        written += chunk.len() as u64;
        if written > MAX_FILE_BYTES {
            return Err(too_large());
        }
        file.write_all(&chunk)
            .await
            .map_err(|e| ApiError::internal(format!("write failed: {e}")))?;
    }
    file.flush()
        .await
        .map_err(|e| ApiError::internal(format!("write failed: {e}")))?;
    drop(file);
    if declared.is_some_and(|n| n != written) {
        return Err(ApiError::bad_request(format!(
            "request body ended after {written} of {} bytes",
            declared.unwrap_or_default()
        )));
    }
    blocking(move || temp.commit()).await?;
    Ok(go_json(
        StatusCode::CREATED,
        &Written {
            path: target.wire,
            bytes: written,
        },
    ))
}
