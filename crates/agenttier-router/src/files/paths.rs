//! Confinement of file paths to a sandbox's `/workspace` (wire spec §5, local behaviour §16).
//!
//! A wire path is cleaned like the Router does (leading `/` added, `.`/`..`/double slashes
//! collapsed lexically) and must then be `/workspace` or below it. It is resolved on the host
//! one component at a time under the sandbox directory: a symlink is followed only when its
//! target stays inside the workspace — an absolute target must be `/workspace/...` (or the
//! sandbox directory itself, as plain-mode sandboxes see it), a relative one must not climb out.
//! Anything else is a 400, so neither `..` nor a link made with exec (`ln -s /etc x`) reaches a
//! file outside. The check and the later open are separate steps: a sandbox racing to swap a
//! directory for a link in between could still win, which a local development router accepts.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use crate::errors::ApiError;

/// The only directory files are served from.
pub(crate) const WORKSPACE: &str = "/workspace";
/// Longest accepted path, in bytes (Linux `PATH_MAX`).
const MAX_PATH: usize = 4096;
/// Longest file name component (Linux `NAME_MAX`).
const MAX_NAME: usize = 255;
/// Symlinks followed at most per resolution (as Linux `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// A path inside a workspace: its wire form and where it is on the host.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// As the Router reports it: `/workspace/a/b.txt` (symlinks not expanded).
    pub wire: String,
    /// The host path, every symlink on the way resolved inside the workspace.
    pub host: PathBuf,
}

/// The components of a path once empty and `.` ones are dropped and each `..` has removed the one
/// before it (Go's `path.Clean` of the path made absolute, as components).
pub(crate) fn lexical(path: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    parts
}

/// Cleans and checks a wire path (from the URL or a `path` query) without touching the disk.
pub(crate) fn clean(raw: &str) -> Result<String, ApiError> {
    if raw.chars().any(|c| matches!(c, '\'' | '\\' | '`' | '\n' | '\r' | '\0')) {
        return Err(ApiError::bad_request("path contains disallowed characters"));
    }
    if raw.len() > MAX_PATH {
        return Err(ApiError::bad_request(format!(
            "path too long: {} bytes, at most {MAX_PATH}",
            raw.len()
        )));
    }
    let parts = lexical(raw);
    if let Some(name) = parts.iter().find(|name| name.len() > MAX_NAME) {
        return Err(ApiError::bad_request(format!(
            "path component too long: {} bytes, at most {MAX_NAME}",
            name.len()
        )));
    }
    let cleaned = format!("/{}", parts.join("/"));
    if cleaned != WORKSPACE && !cleaned.starts_with("/workspace/") {
        return Err(ApiError::bad_request(format!("path must live under {WORKSPACE}")));
    }
    Ok(cleaned)
}

/// Resolves a cleaned wire path under `root` (the sandbox directory). Components that do not
/// exist are kept as they are, so a path to a file about to be created resolves too.
pub(crate) fn resolve(root: &Path, raw: &str) -> Result<Resolved, ApiError> {
    let wire = clean(raw)?;
    let escape = || ApiError::bad_request(format!("path escapes {WORKSPACE} through a symlink: {wire}"));
    // Components still to walk, last first; `inside` is the resolved part, relative to root.
    let mut todo: Vec<OsString> = wire
        .trim_start_matches(WORKSPACE)
        .split('/')
        .filter(|s| !s.is_empty())
        .rev()
        .map(OsString::from)
        .collect();
    let mut inside: Vec<OsString> = Vec::new();
    let mut links = 0;
    let mut missing = false;
    while let Some(name) = todo.pop() {
        match name.as_bytes() {
            b"" | b"." => continue,
            b".." => {
                if inside.pop().is_none() {
                    return Err(escape());
                }
                continue;
            }
            _ => {}
        }
        inside.push(name);
        if missing {
            continue;
        }
        let here = join(root, &inside);
        let meta = match std::fs::symlink_metadata(&here) {
            Ok(meta) => meta,
            Err(_) => {
                missing = true;
                continue;
            }
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        links += 1;
        if links > MAX_LINKS {
            return Err(ApiError::bad_request(format!(
                "too many levels of symbolic links: {wire}"
            )));
        }
        let target = std::fs::read_link(&here).map_err(|e| ApiError::internal(format!("readlink failed: {e}")))?;
        inside.pop();
        let rest: Vec<OsString> = if target.is_absolute() {
            // Absolute targets name the sandbox's view (/workspace/...) or, in plain mode, the
            // sandbox directory on the host; anything else is outside.
            let within = target
                .strip_prefix(WORKSPACE)
                .ok()
                .or_else(|| target.strip_prefix(root).ok())
                .ok_or_else(escape)?;
            inside.clear();
            components(within)
        } else {
            components(&target)
        };
        todo.extend(rest.into_iter().rev());
    }
    Ok(Resolved {
        host: join(root, &inside),
        wire,
    })
}

fn components(p: &Path) -> Vec<OsString> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

fn join(root: &Path, parts: &[OsString]) -> PathBuf {
    let mut p = root.to_path_buf();
    for part in parts {
        p.push(part);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_like_the_router() {
        assert_eq!(clean("/workspace").unwrap(), "/workspace");
        assert_eq!(clean("workspace//a/./b/").unwrap(), "/workspace/a/b");
        assert_eq!(clean("/workspace/a/../b").unwrap(), "/workspace/b");
        for bad in ["/workspace/../etc/passwd", "/etc", "/", "", "/workspacex", "a.txt"] {
            assert!(clean(bad).is_err(), "{bad}");
        }
        assert!(clean("/workspace/it's").is_err());
        assert!(clean(&format!("/workspace/{}", "a".repeat(256))).is_err());
    }

    #[test]
    fn symlinks_stay_inside() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/f"), "x").unwrap();
        std::os::unix::fs::symlink("/etc", root.join("etc")).unwrap();
        std::os::unix::fs::symlink("../..", root.join("sub/up")).unwrap();
        std::os::unix::fs::symlink("/workspace/sub", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("sub/f", root.join("rel")).unwrap();
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        assert_eq!(resolve(root, "/workspace/abs/f").unwrap().host, root.join("sub/f"));
        assert_eq!(resolve(root, "/workspace/rel").unwrap().host, root.join("sub/f"));
        assert_eq!(
            resolve(root, "/workspace/new/dir/f").unwrap().host,
            root.join("new/dir/f")
        );
        assert!(resolve(root, "/workspace/etc/passwd").is_err());
        assert!(resolve(root, "/workspace/etc").is_err());
        assert!(resolve(root, "/workspace/sub/up/x").is_err());
        assert!(resolve(root, "/workspace/loop").is_err());
    }
}
