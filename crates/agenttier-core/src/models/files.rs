//! Files of a sandbox's workspace: directory entries, upload results, and the path rules that
//! turn a user's path into the Router's wire form (wire spec §5, §0.1).
//!
//! A remote path is absolute inside the sandbox: `/workspace/src/main.py` and
//! `workspace/src/main.py` name the same file (the Router adds the leading `/`, as the Python
//! SDK assumes). Paths are checked here, before any request: empty paths, `..` segments, NUL and
//! the characters the Router refuses (`'` `\` `` ` `` newline, carriage return) are
//! [`Error::InvalidInput`]. Empty and `.` segments are dropped, so the URL never holds a double
//! slash (which the Router answers with a `301` redirect).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::nullable;
use crate::request::segment;
use crate::{Error, Result};

/// Largest file the Router accepts or serves: 32 MiB (33 554 432 bytes), exactly.
pub const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// The sandbox directory that files live in, and the default of `list` and `archive`.
pub const WORKSPACE: &str = "/workspace";

/// Longest remote path accepted, in bytes (Linux `PATH_MAX`).
pub const MAX_PATH_BYTES: usize = 4096;

/// Characters the Router refuses in a file path, and NUL.
const FORBIDDEN: &[char] = &['\'', '\\', '`', '\n', '\r', '\0'];

/// One entry of a directory listing (`GET /sandboxes/{id}/files/?path=`).
///
/// Symlinks are listed as on the platform: `name` is `link -> target` and `mode` starts with
/// `l`; [`FileEntry::symlink_target`] splits them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct FileEntry {
    /// File name (no directory part).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub name: String,
    /// Size in bytes.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub size: u64,
    /// Whether the entry is a directory.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub is_dir: bool,
    /// Permissions as `ls -la` prints them, e.g. `-rw-r--r--` or `drwxr-xr-x`.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub mode: String,
    /// Last modification, in unix seconds (see [`FileEntry::modified`]).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub modified_at: i64,
}

impl FileEntry {
    /// The modification time, when the Router gave one.
    pub fn modified(&self) -> Option<OffsetDateTime> {
        if self.modified_at == 0 {
            return None;
        }
        OffsetDateTime::from_unix_timestamp(self.modified_at).ok()
    }

    /// Whether the entry is a symbolic link.
    pub fn is_symlink(&self) -> bool {
        self.mode.starts_with('l')
    }

    /// For a symlink listed as `link -> target`: the link's name and its target.
    ///
    /// ```
    /// let entry: agenttier_core::models::FileEntry =
    ///     serde_json::from_str(r#"{"name":"cfg -> /etc/app","mode":"lrwxrwxrwx"}"#).unwrap();
    /// assert_eq!(entry.symlink_target(), Some(("cfg", "/etc/app")));
    /// ```
    pub fn symlink_target(&self) -> Option<(&str, &str)> {
        if !self.is_symlink() {
            return None;
        }
        self.name.split_once(" -> ")
    }
}

/// The Router's answer to an upload (`201 {"path","bytes"}`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct WriteResult {
    /// The absolute path written, e.g. `/workspace/a.txt`.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub path: String,
    /// How many bytes the file now holds.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub bytes: u64,
}

/// A checked remote path, ready to be put on the wire.
///
/// ```
/// use agenttier_core::models::RemotePath;
/// let p = RemotePath::file("/workspace/my dir/a#1.txt").unwrap();
/// assert_eq!(p.url_tail(), "workspace/my%20dir/a%231.txt");
/// assert_eq!(p.absolute(), "/workspace/my dir/a#1.txt");
/// assert!(RemotePath::file("/workspace/../etc/passwd").is_err());
/// assert_eq!(RemotePath::dir("//workspace//sub/./").unwrap().absolute(), "/workspace/sub");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotePath {
    segments: Vec<String>,
}

impl RemotePath {
    /// A path naming a file: at least one segment.
    pub fn file(path: &str) -> Result<Self> {
        let parsed = Self::parse(path)?;
        if parsed.segments.is_empty() {
            return Err(Error::invalid_input(format!(
                "file path {path:?} names no file (expected something like /workspace/data.txt)"
            )));
        }
        Ok(parsed)
    }

    /// A path naming a directory (for listings and archives); `/` is allowed.
    pub fn dir(path: &str) -> Result<Self> {
        Self::parse(path)
    }

    fn parse(path: &str) -> Result<Self> {
        if path.trim().is_empty() {
            return Err(Error::invalid_input("file path must not be empty"));
        }
        if path.len() > MAX_PATH_BYTES {
            return Err(Error::invalid_input(format!(
                "file path is {} bytes long, the limit is {MAX_PATH_BYTES}",
                path.len()
            )));
        }
        if let Some(c) = path.chars().find(|c| FORBIDDEN.contains(c)) {
            return Err(Error::invalid_input(format!(
                "file path {path:?} contains {c:?}; the Router refuses NUL, quotes, backslashes, backticks and line breaks in paths"
            )));
        }
        let mut segments = Vec::new();
        for part in path.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    return Err(Error::invalid_input(format!(
                        "file path {path:?} contains a '..' segment; name the file by its absolute path under /workspace"
                    )));
                }
                other => segments.push(other.to_owned()),
            }
        }
        Ok(RemotePath { segments })
    }

    /// The absolute path as the Router reports it (`/workspace/a.txt`), for query parameters.
    pub fn absolute(&self) -> String {
        format!("/{}", self.segments.join("/"))
    }

    /// The path without its leading slash, each segment percent-encoded: what follows
    /// `/files/` in a download or upload URL.
    pub fn url_tail(&self) -> String {
        self.segments.iter().map(|s| segment(s)).collect::<Vec<_>>().join("/")
    }

    /// The last segment (the file name), or `/` for the root.
    pub fn file_name(&self) -> &str {
        self.segments.last().map_or("/", String::as_str)
    }
}

/// Refuses a transfer larger than [`MAX_FILE_BYTES`] before it starts.
pub fn check_file_size(len: u64) -> Result<()> {
    if len > MAX_FILE_BYTES {
        return Err(Error::invalid_input(format!(
            "file is {len} bytes, the Router accepts at most {MAX_FILE_BYTES} bytes (32 MiB) per file; use exec or an archive for larger data"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_forms_never_hold_double_slashes() {
        for (input, tail) in [
            ("/workspace/a.txt", "workspace/a.txt"),
            ("workspace/a.txt", "workspace/a.txt"),
            ("//workspace///a.txt", "workspace/a.txt"),
            ("/workspace/./sub/", "workspace/sub"),
            ("/workspace/ü ?%", "workspace/%C3%BC%20%3F%25"),
        ] {
            let p = RemotePath::file(input).unwrap();
            assert_eq!(p.url_tail(), tail, "{input}");
            assert!(!p.url_tail().contains("//"));
        }
        assert_eq!(RemotePath::dir("/").unwrap().absolute(), "/");
    }

    #[test]
    fn refuses_bad_paths() {
        for bad in [
            "",
            " ",
            "/",
            "/workspace/..",
            "../x",
            "/workspace/a\0b",
            "/workspace/it's",
            "/workspace/a\\b",
            "/workspace/`x`",
            "/workspace/a\nb",
            "/workspace/a\rb",
        ] {
            let err = RemotePath::file(bad).unwrap_err();
            assert!(matches!(err, Error::InvalidInput { .. }), "{bad:?}: {err}");
        }
        assert!(RemotePath::file(&format!("/workspace/{}", "a".repeat(MAX_PATH_BYTES))).is_err());
    }

    #[test]
    fn size_limit_is_exact() {
        assert!(check_file_size(MAX_FILE_BYTES).is_ok());
        assert!(check_file_size(MAX_FILE_BYTES + 1).is_err());
    }

    #[test]
    fn entries_are_lenient() {
        let e: FileEntry = serde_json::from_str(
            r#"{"name":"a.py","size":null,"isDir":false,"mode":"-rw-r--r--","modifiedAt":1753201785,"x":1}"#,
        )
        .unwrap();
        assert_eq!(e.size, 0);
        assert_eq!(e.modified().unwrap().unix_timestamp(), 1753201785);
        assert!(!e.is_symlink());
        let w: WriteResult = serde_json::from_str(r#"{"path":"/workspace/a","bytes":3}"#).unwrap();
        assert_eq!(w.bytes, 3);
    }
}
