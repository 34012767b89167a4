//! Confinement of file paths to a sandbox's `/workspace` (wire spec §5, local behaviour §16).
//!
//! A wire path is cleaned like the Router does (leading `/` added, `.`/`..`/double slashes
//! collapsed lexically) and must then be `/workspace` or below it. Its components are then
//! opened by [`super::confined`], which walks them with directory descriptors and `O_NOFOLLOW`
//! and follows a link only while it stays inside the workspace: neither `..` nor a link made
//! with exec (`ln -s /etc x`), nor one swapped in during the walk, reaches a file outside.

use crate::errors::ApiError;

/// The only directory files are served from.
pub(crate) const WORKSPACE: &str = "/workspace";
/// Longest accepted path, in bytes (Linux `PATH_MAX`).
const MAX_PATH: usize = 4096;
/// Longest file name component (Linux `NAME_MAX`).
const MAX_NAME: usize = 255;

/// A path inside a workspace: its wire form and its components below `/workspace`, to be opened
/// with [`super::confined::Root`].
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    /// As the Router reports it: `/workspace/a/b.txt` (symlinks not expanded).
    pub wire: String,
    /// The components below `/workspace` (none for `/workspace` itself).
    pub parts: Vec<String>,
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

/// Cleans a wire path and splits it into its components below `/workspace`.
pub(crate) fn resolve(raw: &str) -> Result<Resolved, ApiError> {
    let wire = clean(raw)?;
    let parts = wire
        .trim_start_matches(WORKSPACE)
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    Ok(Resolved { wire, parts })
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
}
