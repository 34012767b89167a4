//! `GET /api/v1/sandboxes/{id}/files/?path=<dir>` (wire spec §5.1).

use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::time::UNIX_EPOCH;

use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::{blocking, paths, requested_dir};
use crate::auth::Identity;
use crate::errors::ApiError;
use crate::respond::go_json;
use crate::state::AppState;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    name: String,
    size: u64,
    is_dir: bool,
    mode: String,
    modified_at: i64,
}

#[derive(Serialize)]
struct Listing {
    path: String,
    entries: Vec<Entry>,
}

pub(crate) async fn list(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let dir = requested_dir(&st, &id, &who, &q)?;
    let listing = blocking(move || read_listing(dir)).await?;
    Ok(go_json(StatusCode::OK, &listing))
}

fn read_listing(dir: paths::Resolved) -> Result<Listing, ApiError> {
    let not_found = || ApiError::not_found(format!("path not found: {}", dir.wire));
    if !std::fs::metadata(&dir.host).map(|m| m.is_dir()).unwrap_or(false) {
        return Err(not_found());
    }
    let read = std::fs::read_dir(&dir.host).map_err(|e| ApiError::internal(format!("list failed: {e}")))?;
    let mut entries = Vec::new();
    for item in read {
        let item = item.map_err(|e| ApiError::internal(format!("list failed: {e}")))?;
        let Ok(meta) = item.path().symlink_metadata() else {
            continue; // removed while listing
        };
        let mut name = item.file_name().to_string_lossy().into_owned();
        if meta.file_type().is_symlink() {
            // As `ls -la` (and so the Router) shows links.
            if let Ok(target) = std::fs::read_link(item.path()) {
                name = format!("{name} -> {}", target.to_string_lossy());
            }
        }
        let modified_at = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs() as i64);
        entries.push(Entry {
            name,
            size: meta.len(),
            is_dir: meta.is_dir(),
            mode: mode_string(&meta),
            modified_at,
        });
    }
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(Listing {
        path: dir.wire.clone(),
        entries,
    })
}

/// The permission string `ls -la` prints: type, then rwx for user, group and others with
/// setuid/setgid/sticky folded in.
pub(super) fn mode_string(meta: &std::fs::Metadata) -> String {
    use std::os::unix::fs::FileTypeExt;
    let ft = meta.file_type();
    let kind = if ft.is_dir() {
        'd'
    } else if ft.is_symlink() {
        'l'
    } else if ft.is_char_device() {
        'c'
    } else if ft.is_block_device() {
        'b'
    } else if ft.is_fifo() {
        'p'
    } else if ft.is_socket() {
        's'
    } else {
        '-'
    };
    let m = meta.permissions().mode();
    let bit = |mask: u32, c: char| if m & mask != 0 { c } else { '-' };
    let special = |exec: bool, flag: bool, set: char| match (exec, flag) {
        (true, true) => set,
        (false, true) => set.to_ascii_uppercase(),
        (true, false) => 'x',
        (false, false) => '-',
    };
    let mut s = String::with_capacity(10);
    s.push(kind);
    s.push(bit(0o400, 'r'));
    s.push(bit(0o200, 'w'));
    s.push(special(m & 0o100 != 0, m & 0o4000 != 0, 's'));
    s.push(bit(0o040, 'r'));
    s.push(bit(0o020, 'w'));
    s.push(special(m & 0o010 != 0, m & 0o2000 != 0, 's'));
    s.push(bit(0o004, 'r'));
    s.push(bit(0o002, 'w'));
    s.push(special(m & 0o001 != 0, m & 0o1000 != 0, 't'));
    s
}
