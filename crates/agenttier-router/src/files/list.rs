//! `GET /api/v1/sandboxes/{id}/files/?path=<dir>` (wire spec §5.1).

use std::collections::HashMap;

use axum::extract::Query;
use axum::http::StatusCode;
use axum::response::Response;
use nix::fcntl::{AtFlags, readlinkat};
use nix::sys::stat::{SFlag, fstatat};
use serde::Serialize;

use super::{blocking, confined, paths, read_error, requested_dir};
use crate::errors::ApiError;
use crate::respond::go_json;
use crate::running::RunningSandbox;

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
    RunningSandbox { workspace: root, .. }: RunningSandbox,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let dir = requested_dir(&q)?;
    let listing = blocking(move || read_listing(&root, dir)).await?;
    Ok(go_json(StatusCode::OK, &listing))
}

fn read_listing(root: &std::path::Path, dir: paths::Resolved) -> Result<Listing, ApiError> {
    let missing = || format!("path not found: {}", dir.wire);
    let fd = match confined::Root::open(root).and_then(|r| r.open_dir(&dir.parts)) {
        Ok(Some(fd)) => fd,
        Ok(None) => return Err(ApiError::not_found(missing())),
        Err(e) => return Err(read_error(e, &dir.wire, missing())),
    };
    let names = confined::names(&fd).map_err(|e| ApiError::internal(format!("list failed: {e}")))?;
    let mut entries = Vec::new();
    for name in names {
        let Ok(st) = fstatat(&fd, name.as_str(), AtFlags::AT_SYMLINK_NOFOLLOW) else {
            continue; // removed while listing
        };
        let mut shown = name.clone();
        if confined::kind_of(&st) == confined::Kind::Link {
            // As `ls -la` (and so the Router) shows links.
            if let Ok(target) = readlinkat(&fd, name.as_str()) {
                shown = format!("{name} -> {}", target.to_string_lossy());
            }
        }
        entries.push(Entry {
            name: shown,
            size: st.st_size as u64,
            is_dir: confined::kind_of(&st) == confined::Kind::Dir,
            mode: mode_string(st.st_mode),
            modified_at: st.st_mtime,
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
pub(super) fn mode_string(m: nix::libc::mode_t) -> String {
    let kind = match SFlag::from_bits_truncate(m) & SFlag::S_IFMT {
        SFlag::S_IFDIR => 'd',
        SFlag::S_IFLNK => 'l',
        SFlag::S_IFCHR => 'c',
        SFlag::S_IFBLK => 'b',
        SFlag::S_IFIFO => 'p',
        SFlag::S_IFSOCK => 's',
        _ => '-',
    };
    let bit = |mask: nix::libc::mode_t, c: char| if m & mask != 0 { c } else { '-' };
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
