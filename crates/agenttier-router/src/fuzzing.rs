//! Entry points for the fuzz targets in `fuzz/` (not a public API: it may change at any time).
//!
//! Each function runs the router's own decoding and checking code on untrusted input without a
//! store, a sandbox or a socket, and flattens the answer to `Result<_, String>` (the error is the
//! message a client would get).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::errors::ApiError;

fn text(e: ApiError) -> String {
    match e {
        ApiError::Json(_, m) | ApiError::PlainJson(_, m) | ApiError::Text(_, m) => m,
        _ => "error".to_owned(),
    }
}

/// The fields a `POST /api/v1/sandboxes` body yields: name, namespace, template, timeout,
/// idle timeout.
pub type Create = (String, String, String, Option<Duration>, Option<Duration>);

/// Decodes and checks a create body.
pub fn create_body(body: &[u8]) -> Result<Create, String> {
    let f = crate::routes::sandboxes::check_create(body).map_err(text)?;
    Ok((f.name, f.namespace, f.template_name, f.timeout, f.idle_timeout))
}

/// Decodes and checks an exec body: command and timeout in seconds.
pub fn exec_body(body: &[u8]) -> Result<(String, u64), String> {
    crate::routes::sandboxes::check_exec(body).map_err(text)
}

/// Decodes and checks a port-forward body: port and protocol.
pub fn forward_body(body: &[u8]) -> Result<(u16, String), String> {
    crate::routes::ports::check_forward(body).map_err(text)
}

/// Decodes and checks a configure body: the cleaned target paths and the install hash.
pub fn configure_body(body: &[u8]) -> Result<(Vec<String>, String), String> {
    crate::agent::configure::check_body(body).map_err(text)
}

/// Whether `s` is accepted as a sandbox or namespace name (RFC 1123 label).
pub fn is_name(s: &str) -> bool {
    crate::validate::is_rfc1123_label(s)
}

/// Cleans a files-API path (URL tail or `path` query) without touching the disk.
pub fn files_clean(raw: &str) -> Result<String, String> {
    crate::files::paths::clean(raw).map_err(text)
}

/// Resolves a files-API path under the sandbox directory `root` the way the files API opens it
/// (directory descriptors, links followed by hand only while they stay inside): the wire path
/// and where the kernel says the result is (the real path of the directory descriptor reached,
/// joined with the last name). An error for a refused or missing path.
pub fn files_resolve(root: &Path, raw: &str) -> Result<(String, PathBuf), String> {
    use std::os::fd::AsRawFd;
    let r = crate::files::paths::resolve(raw).map_err(text)?;
    let opened = crate::files::confined::Root::open(root).map_err(|e| format!("{e:?}"))?;
    if r.parts.is_empty() {
        return Ok((r.wire, root.canonicalize().map_err(|e| e.to_string())?));
    }
    let (dir, name) = opened
        .locate(&r.parts, false)
        .map_err(|e| format!("{e:?}"))?
        .ok_or("missing")?;
    let real = std::fs::read_link(format!("/proc/self/fd/{}", dir.as_raw_fd())).map_err(|e| e.to_string())?;
    Ok((r.wire, if name == "." { real } else { real.join(name) }))
}

/// Checks a configure file path the way configure does before writing: cleaned, strictly
/// under `/workspace`, and no symlink under `root` leading out. Returns the components.
pub fn configure_path(root: &Path, raw: &str) -> Result<Vec<String>, String> {
    use crate::agent::workspace;
    let cleaned = workspace::clean(raw);
    let parts = workspace::workspace_relative(&cleaned).ok_or_else(|| "not under /workspace".to_owned())?;
    match workspace::check(root, &parts) {
        Err(workspace::PathError::Escapes) => Err("escapes /workspace".to_owned()),
        _ => Ok(parts),
    }
}

/// The configuration of the browser-attack guards (`--allowed-hosts`, `--allow-remote` with its
/// listen address, `--cors-allowed-origins`).
#[derive(Debug, Clone)]
pub struct GuardConfig {
    pub allowed_hosts: Vec<String>,
    pub listen: std::net::SocketAddr,
    pub allow_remote: bool,
    pub cors_allowed_origins: Vec<String>,
}

/// A request head as the guards see it; header values are raw bytes.
#[derive(Debug, Clone)]
pub struct GuardHead<'a> {
    pub method: &'a [u8],
    pub path: &'a str,
    pub host: Option<&'a [u8]>,
    pub origin: Option<&'a [u8]>,
    pub content_type: Option<&'a [u8]>,
    pub declared_body: bool,
    pub websocket: bool,
}

/// Runs the guards on a request head: `Ok(())`, or the status (403 or 415) and message of the
/// refusal. A method that is not a valid token is refused as 400, as hyper would.
pub fn guard_check(config: &GuardConfig, head: &GuardHead<'_>) -> Result<(), (u16, String)> {
    let guard = crate::guard::Guard::new(
        &config.allowed_hosts,
        config.listen,
        config.allow_remote,
        config.cors_allowed_origins.clone().into(),
    );
    let method = axum::http::Method::from_bytes(head.method).map_err(|e| (400, e.to_string()))?;
    let head = crate::guard::Head {
        method: &method,
        path: head.path,
        host: head.host,
        origin: head.origin,
        content_type: head.content_type,
        declared_body: head.declared_body,
        websocket: head.websocket,
    };
    guard.check(&head).map_err(|r| {
        let status = match r {
            crate::guard::Refusal::ContentType(_) => 415,
            _ => 403,
        };
        (status, r.message().to_owned())
    })
}
