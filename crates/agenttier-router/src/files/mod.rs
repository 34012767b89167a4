//! Files of a sandbox (wire spec §5, local behaviour §16): list a directory, download and upload
//! one file, stream a zip of a directory. Everything is confined to the sandbox's `/workspace`
//! by the kernel ([`paths`] cleans, [`confined`] opens), FIFOs, sockets and devices are refused, the 32 MiB per-file limit holds exactly in both directions, and bodies are
//! streamed: no file or archive is ever held in memory whole.

mod archive;
pub(crate) mod confined;
mod download;
mod list;
pub(crate) mod paths;
mod upload;

pub(crate) use archive::archive;
pub(crate) use download::download;
pub(crate) use list::list;
pub(crate) use upload::upload;

use crate::errors::ApiError;

/// Largest file served or accepted: 32 MiB.
pub(crate) const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

/// Size of the chunks files are read and streamed in.
const CHUNK: usize = 64 * 1024;

/// The directory named by the `path` query parameter (default `/workspace`) of a list or archive
/// call, cleaned.
fn requested_dir(query: &std::collections::HashMap<String, String>) -> Result<paths::Resolved, ApiError> {
    let raw = query
        .get("path")
        .filter(|p| !p.is_empty())
        .map_or(paths::WORKSPACE, String::as_str);
    paths::resolve(raw)
}

/// The API error of a path that could not be opened for reading: 400 for a link out of the
/// workspace or a special file, 404 otherwise (`missing` is the not-found message).
fn read_error(e: confined::PathError, wire: &str, missing: String) -> ApiError {
    match e {
        confined::PathError::Escapes => escapes(wire),
        confined::PathError::Special => special(wire),
        confined::PathError::Io(_) => ApiError::not_found(missing),
    }
}

fn escapes(wire: &str) -> ApiError {
    ApiError::bad_request(format!("path escapes {} through a symlink: {wire}", paths::WORKSPACE))
}

fn special(wire: &str) -> ApiError {
    ApiError::bad_request(format!(
        "{wire} is a FIFO, socket or device: only regular files and directories can be read or written"
    ))
}

/// A `Content-Disposition` file name: the characters `[A-Za-z0-9._-]` of `name`, or `fallback`.
fn safe_file_name(name: &str, fallback: &str) -> String {
    let kept: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .collect();
    if kept.is_empty() || kept == "." || kept == ".." {
        fallback.to_owned()
    } else {
        kept
    }
}

/// Runs blocking filesystem work off the async workers.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T, ApiError> + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("file task failed: {e}")))?
}
