//! `PUT /api/v1/sandboxes/{id}/files/{path}` (wire spec §5.3): the raw body is streamed into a
//! temporary file beside the target, which is renamed over it once complete. Parents are
//! created. The 32 MiB limit is checked against `Content-Length` before reading and counted
//! while streaming (chunked bodies), so an oversized body is refused without being stored.

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use futures_util::StreamExt;
use serde::Serialize;
use tokio::io::AsyncWriteExt;

use super::{MAX_FILE_BYTES, blocking, paths, workspace};
use crate::auth::Identity;
use crate::errors::ApiError;
use crate::respond::go_json;
use crate::state::AppState;

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

/// Name prefix of the temporary files; leftovers of a killed router are swept on restart.
pub(crate) const TEMP_PREFIX: &str = ".agenttier-upload-";

/// Removes the temporary file unless the upload completed.
struct TempGuard(Option<std::path::PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

pub(crate) async fn upload(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path((id, path)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let root = workspace(&st, &id, &who)?;
    let target = paths::resolve(&root, &path)?;
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
    let host = target.host.clone();
    let wire = target.wire.clone();
    let temp = blocking(move || {
        if host.is_dir() {
            return Err(ApiError::bad_request(format!("path is a directory: {wire}")));
        }
        let parent = host
            .parent()
            .ok_or_else(|| ApiError::internal("write failed: no parent directory"))?;
        std::fs::create_dir_all(parent).map_err(|e| ApiError::internal(format!("write failed: {e}")))?;
        let name = format!("{TEMP_PREFIX}{:016x}", crate::random::u64());
        Ok(parent.join(name))
    })
    .await?;
    let mut guard = TempGuard(Some(temp.clone()));
    let mut file = tokio::fs::File::create(&temp)
        .await
        .map_err(|e| ApiError::internal(format!("write failed: {e}")))?;
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
    let host = target.host.clone();
    blocking(move || {
        std::fs::rename(&temp, &host).map_err(|e| ApiError::internal(format!("write failed: {e}")))?;
        Ok(())
    })
    .await?;
    guard.0 = None;
    Ok(go_json(
        StatusCode::CREATED,
        &Written {
            path: target.wire,
            bytes: written,
        },
    ))
}
