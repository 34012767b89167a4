//! `POST /api/v1/sandboxes/{id}/configure` (wire spec §9.2) and
//! `GET /api/v1/sandboxes/{id}/configure/install-log` (§9.3).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::run::{self, Ended, Out, Tail, Watch};
use super::workspace::{self, PathError};
use super::{AgentConfigure, command_line, require_agent_mode, require_running, sse};
use crate::auth::Identity;
use crate::errors::ApiError;
use crate::metrics::Call;
use crate::respond::go_json;
use crate::sandbox::spawner::Stdio;
use crate::state::AppState;
use crate::validate::decode_body;

/// Largest file, counted as `len(content) + len(contentBase64)`.
const FILE_LIMIT: usize = 32 << 20;
/// Largest sum of file sizes in one request.
const TOTAL_LIMIT: usize = 4 * FILE_LIMIT;
/// Most files in one request.
const MAX_FILES: usize = 200;
/// Largest configure body read: the files' total cap plus 32 MiB for paths, commands and JSON
/// escaping; beyond → 413 (heavily escaped text can be sent as `contentBase64`).
const BODY_LIMIT: usize = TOTAL_LIMIT + (32 << 20);
/// Install output kept for the install-log route.
const INSTALL_LOG_TAIL: usize = 8 * 1024;
/// Invoke time limit when the template sets none.
pub(super) const DEFAULT_INVOKE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigureFile {
    #[serde(default)]
    path: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    content_base64: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConfigureRequest {
    #[serde(default)]
    files: Option<Vec<ConfigureFile>>,
    #[serde(default)]
    install_command: Option<Vec<String>>,
    #[serde(default)]
    entrypoint: Option<Vec<String>>,
}

/// The `result` event (the platform's ConfigureResponse, in its field order).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConfigureResponse<'a> {
    last_configured_at: &'a str,
    install_command_hash: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    entrypoint: &'a [String],
    install_exit_code: i32,
    skipped: bool,
}

/// A validated file: cleaned sandbox path and host-side components below the workspace.
struct Target {
    cleaned: String,
    parts: Vec<String>,
}

fn validate(req: &ConfigureRequest) -> Result<Vec<Target>, ApiError> {
    let files = req.files.as_deref().unwrap_or_default();
    let install = req.install_command.as_deref().unwrap_or_default();
    let entry = req.entrypoint.as_deref().unwrap_or_default();
    if files.is_empty() && install.is_empty() && entry.is_empty() {
        return Err(ApiError::bad_request(
            "at least one of files, installCommand, or entrypoint is required",
        ));
    }
    let mut targets = Vec::with_capacity(files.len());
    for (i, f) in files.iter().enumerate() {
        let bad = |m: String| Err(ApiError::bad_request(m));
        if f.path.is_empty() {
            return bad(format!("files[{i}].path is required"));
        }
        if !f.path.starts_with('/') {
            return bad(format!(
                "files[{i}].path must be absolute (got {})",
                super::go_quote(&f.path)
            ));
        }
        if f.path.contains("..") {
            return bad(format!("files[{i}].path must not contain '..'"));
        }
        if f.path.contains(['\'', '`', '\\', '\n', '\r', '\0']) {
            return bad(format!("files[{i}].path contains disallowed characters"));
        }
        if f.path.len() > 4096 || f.path.split('/').any(|c| c.len() > 255) {
            return bad(format!(
                "files[{i}].path is too long (at most 4096 bytes, 255 per component)"
            ));
        }
        if f.content.is_empty() && f.content_base64.is_empty() {
            return bad(format!("files[{i}] must set content or contentBase64"));
        }
        if !f.content.is_empty() && !f.content_base64.is_empty() {
            return bad(format!("files[{i}]: set content OR contentBase64, not both"));
        }
        let cleaned = workspace::clean(&f.path);
        let Some(parts) = workspace::workspace_relative(&cleaned) else {
            return bad(format!(
                "files[{i}].path must live under /workspace (got {})",
                super::go_quote(&f.path)
            ));
        };
        targets.push(Target { cleaned, parts });
    }
    Ok(targets)
}

/// Decodes and checks a configure body without a sandbox: returns the cleaned target paths and
/// the install hash.
pub(crate) fn check_body(body: &[u8]) -> Result<(Vec<String>, String), ApiError> {
    let req: ConfigureRequest = decode_body(body)?;
    let targets = validate(&req)?;
    let files = req.files.unwrap_or_default();
    limits(&files)?;
    let hash = install_hash(req.install_command.as_deref().unwrap_or_default(), &files);
    Ok((targets.into_iter().map(|t| t.cleaned).collect(), hash))
}

/// Size caps (403, as the Router's configure governance gate).
fn limits(files: &[ConfigureFile]) -> Result<(), ApiError> {
    let forbidden = |m: String| Err(ApiError::Json(StatusCode::FORBIDDEN, m));
    if files.len() > MAX_FILES {
        return forbidden(format!("too many files in request: {} (max {MAX_FILES})", files.len()));
    }
    let mut total = 0usize;
    for (i, f) in files.iter().enumerate() {
        let size = f.content.len() + f.content_base64.len();
        if size > FILE_LIMIT {
            return forbidden(format!(
                "files[{i}] ({}): {size} bytes exceeds per-file cap {FILE_LIMIT}",
                f.path
            ));
        }
        total += size;
        if total > TOTAL_LIMIT {
            return forbidden(format!(
                "aggregate file size {total} bytes exceeds total cap {TOTAL_LIMIT}"
            ));
        }
    }
    Ok(())
}

/// sha256 over the install args and the path-sorted files (§9.2), hex. Every field is
/// length-prefixed and each file's content is tagged with its form, so no two different
/// requests share a hash: text `content` `"aGk="` and `contentBase64` `"aGk="` (the bytes `hi`)
/// differ, and NUL bytes inside a field cannot shift the boundaries.
fn install_hash(install: &[String], files: &[ConfigureFile]) -> String {
    fn field(h: &mut Sha256, tag: u8, bytes: &[u8]) {
        h.update([tag]);
        h.update((bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    }
    let mut h = Sha256::new();
    for a in install {
        field(&mut h, b'a', a.as_bytes());
    }
    let mut sorted: Vec<&ConfigureFile> = files.iter().collect();
    sorted.sort_by(|a, b| a.path.cmp(&b.path));
    for f in sorted {
        field(&mut h, b'p', f.path.as_bytes());
        if f.content_base64.is_empty() {
            field(&mut h, b't', f.content.as_bytes());
        } else {
            field(&mut h, b'b', f.content_base64.as_bytes());
        }
    }
    hex::encode(h.finalize())
}

/// The template's agent caps, the concurrency clamped by governance (§9.6).
fn agent_caps(st: &AppState, template: &str, namespace: &str) -> (i64, u64) {
    let spec = st.templates.get(template).map(|t| t.spec).unwrap_or(Value::Null);
    let agent = spec.pointer("/harness/agent");
    let mut max = agent
        .and_then(|a| a.get("maxConcurrentInvokes"))
        .and_then(Value::as_i64)
        .unwrap_or(0)
        .max(0);
    let timeout = agent
        .and_then(|a| a.get("defaultInvokeTimeout"))
        .and_then(|v| match v {
            Value::String(s) => agenttier_core::duration::parse(s).ok().map(|d| d.as_secs()),
            Value::Number(n) => n.as_u64().map(|ns| ns / 1_000_000_000),
            _ => None,
        })
        .unwrap_or(0);
    let ceiling = st
        .governance
        .snapshot()
        .effective(namespace)
        .max_concurrent_invokes_per_sandbox;
    if ceiling > 0 && (max == 0 || max > ceiling) {
        max = ceiling;
    }
    (max, timeout)
}

fn now_rfc3339() -> String {
    let t = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn error_event(phase: &str, message: &str) -> Bytes {
    /// Go encodes the map with sorted keys: message, phase.
    #[derive(Serialize)]
    struct ErrorEvent<'a> {
        message: &'a str,
        phase: &'a str,
    }
    sse::event("error", &ErrorEvent { message, phase })
}

fn log_line(line: &str) -> Bytes {
    let mut out = Vec::with_capacity(line.len() + 64);
    sse::push_log(&mut out, sse::Stream::Stdout, line.as_bytes());
    Bytes::from(out)
}

const MODE_TAIL: &str =
    "/configure is only valid for mode: agent. Use the file-transfer and exec APIs for interactive sandboxes.";

pub(crate) async fn configure(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    body: Body,
) -> Result<Response, ApiError> {
    let (namespace, template, stored_hash) = st.sandboxes.view(&id, &who, |e| {
        require_agent_mode(e, MODE_TAIL)?;
        require_running(e, "wait for Running before configuring")?;
        Ok((
            e.rec.namespace.clone(),
            e.rec.template.clone(),
            AgentConfigure::of(e).map(|c| c.install_command_hash),
        ))
    })?;
    // From here on the call is counted in the metrics; a refusal is a `bad_request`.
    let started = Instant::now();
    let refused = |e: ApiError| {
        st.metrics
            .record(Call::Configure, &template, "bad_request", started.elapsed());
        e
    };
    // At most a few configure bodies are held at once; the rest wait (their uploads stall).
    let Ok(permit) = st.agents.configure_bodies.clone().acquire_owned().await else {
        return Err(ApiError::internal("the router is shutting down"));
    };
    let body = axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|_| {
        refused(ApiError::Json(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body exceeds {BODY_LIMIT} bytes"),
        ))
    })?;
    let req: ConfigureRequest = decode_body(&body).map_err(refused)?;
    drop(body);
    let targets = validate(&req).map_err(refused)?;
    let files = req.files.unwrap_or_default();
    limits(&files).map_err(refused)?;
    let policy = st.governance.snapshot().effective(&namespace);
    if !policy.allowed_templates.is_empty() && !policy.allowed_templates.contains(&template) {
        return Err(refused(ApiError::Json(
            StatusCode::FORBIDDEN,
            format!(
                "template {} is not in the AllowedTemplates list ({})",
                super::go_quote(&template),
                policy.allowed_templates.join(", ")
            ),
        )));
    }
    let root = st.sandboxes.workspace_dir(&id);
    for (i, t) in targets.iter().enumerate() {
        if let Err(PathError::Escapes) = workspace::check(&root, &t.parts) {
            return Err(refused(ApiError::bad_request(format!(
                "files[{i}].path {} leads outside /workspace through a symbolic link",
                super::go_quote(&t.cleaned)
            ))));
        }
    }
    let install = req.install_command.unwrap_or_default();
    let entrypoint = req.entrypoint.unwrap_or_default();
    let hash = install_hash(&install, &files);
    let skipped = stored_hash.as_deref() == Some(hash.as_str());
    let (max_concurrent, timeout_secs) = agent_caps(&st, &template, &namespace);

    let (tx, rx) = mpsc::channel(sse::CHANNEL_DEPTH);
    let job = Job {
        st,
        who,
        id,
        root,
        files,
        targets,
        install,
        entrypoint,
        hash,
        skipped,
        max_concurrent,
        timeout_secs,
        template,
        started,
        permit: Some(permit),
    };
    tokio::spawn(job.run(Out::new(tx)));
    Ok(sse::response(rx))
}

struct Job {
    st: AppState,
    who: Identity,
    id: String,
    root: PathBuf,
    files: Vec<ConfigureFile>,
    targets: Vec<Target>,
    install: Vec<String>,
    entrypoint: Vec<String>,
    hash: String,
    skipped: bool,
    max_concurrent: i64,
    timeout_secs: u64,
    template: String,
    started: Instant,
    /// A configure-bodies slot, held while `files` are in memory.
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl Job {
    async fn run(mut self, out: Out) {
        let files = std::mem::take(&mut self.files);
        let permit = self.permit.take();
        let outcome = self.stream(&out, files, permit).await;
        self.st
            .metrics
            .record(Call::Configure, &self.template, outcome, self.started.elapsed());
    }

    /// Writes the files, runs the install and stores the result; the outcome for the metrics.
    /// The files and their memory slot are released once written, before the install runs.
    async fn stream(
        &self,
        out: &Out,
        files: Vec<ConfigureFile>,
        permit: Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> &'static str {
        if !self.skipped {
            if let Err(msg) = self.write_files(out, &files).await {
                if let Some(msg) = msg {
                    out.send(error_event("files", &msg)).await;
                }
                return "files_failed";
            }
        }
        drop(files);
        drop(permit);
        let mut exit_code = 0;
        let mut install_log = String::new();
        if !self.skipped && !self.install.is_empty() {
            match self.run_install(out).await {
                Ok((code, log)) => {
                    exit_code = code;
                    install_log = log;
                }
                Err(Some(msg)) => {
                    out.send(error_event("install", &msg)).await;
                    return "install_failed";
                }
                Err(None) => return "install_failed", // client gone; the install was killed
            }
        }
        let at = now_rfc3339();
        if exit_code == 0 || self.skipped {
            let state = AgentConfigure {
                last_configured_at: at.clone(),
                install_command_hash: self.hash.clone(),
                entrypoint: self.entrypoint.clone(),
                install_exit_code: exit_code,
                install_log,
                max_concurrent_invokes: self.max_concurrent,
                default_invoke_timeout_seconds: self.timeout_secs,
            };
            let saved = self.st.sandboxes.update(&self.id, &self.who, |e, store| {
                e.rec.agent = Some(state);
                store
                    .save_sandbox(&e.rec)
                    .map_err(|err| ApiError::internal(err.to_string()))
            });
            if let Err(e) = saved {
                // Not saved: the next configure runs the install again, so say it failed.
                tracing::error!(sandbox = %self.id, error = ?e, "failed to persist agent configuration");
                out.send(error_event(
                    "persist",
                    &format!("failed to save the configuration: {}", e.item_message()),
                ))
                .await;
                return "persist_failed";
            }
        }
        let result = ConfigureResponse {
            last_configured_at: &at,
            install_command_hash: &self.hash,
            entrypoint: &self.entrypoint,
            install_exit_code: exit_code,
            skipped: self.skipped,
        };
        out.send(sse::event("result", &result)).await;
        if exit_code == 0 || self.skipped {
            "ok"
        } else {
            "install_nonzero"
        }
    }

    /// `Err(Some(message))` for an `error` event, `Err(None)` when the client is gone.
    async fn write_files(&self, out: &Out, files: &[ConfigureFile]) -> Result<(), Option<String>> {
        for (f, t) in files.iter().zip(&self.targets) {
            if !out
                .send(log_line(&format!("[configure] uploading {}", t.cleaned)))
                .await
            {
                return Err(None);
            }
            let data = if f.content_base64.is_empty() {
                f.content.as_bytes().to_vec()
            } else {
                base64::engine::general_purpose::STANDARD
                    .decode(&f.content_base64)
                    .map_err(|e| Some(format!("decode {}: {e}", t.cleaned)))?
            };
            let root = self.root.clone();
            let parts = t.parts.clone();
            let written = tokio::task::spawn_blocking(move || workspace::write(&root, &parts, &data))
                .await
                .unwrap_or_else(|e| Err(PathError::Io(e.to_string())));
            match written {
                Ok(()) => {}
                Err(PathError::Escapes) => {
                    return Err(Some(format!(
                        "write {}: leads outside /workspace through a symbolic link",
                        t.cleaned
                    )));
                }
                Err(PathError::Special) => {
                    return Err(Some(format!(
                        "write {}: is a FIFO, socket or device, not a regular file",
                        t.cleaned
                    )));
                }
                Err(PathError::Io(e)) => return Err(Some(format!("write {}: {e}", t.cleaned))),
            }
        }
        Ok(())
    }

    async fn run_install(&self, out: &Out) -> Result<(i32, String), Option<String>> {
        if !out
            .send(log_line(&format!(
                "[configure] running install: {}",
                self.install.join(" ")
            )))
            .await
        {
            return Err(None);
        }
        let spawned = self
            .st
            .sandboxes
            .spawn_shell(&self.id, &self.who, &command_line(&self.install), Stdio::Null)
            .await
            .map_err(|e| Some(api_message(e)))?;
        let pgid = spawned.pgid;
        let tail = Tail::new(INSTALL_LOG_TAIL);
        let timeout = self.st.agents.install_timeout;
        let ended = run::run(
            spawned.child,
            pgid,
            out,
            Watch {
                timeout,
                keepalive: None,
                cancel: None,
                kill_on_exit: false,
                tail: Some(tail.clone()),
            },
        )
        .await;
        drop(spawned.activity);
        match ended {
            Ended::Exited(code) => Ok((code, Tail::text(&tail))),
            Ended::Timeout => Err(Some(format!(
                "install timed out after {}",
                agenttier_core::duration::format(timeout)
            ))),
            Ended::Disconnected | Ended::Canceled => Err(None),
            Ended::Failed => Err(Some("install failed: could not wait for the command".into())),
        }
    }
}

fn api_message(e: ApiError) -> String {
    match e {
        ApiError::Json(_, m) | ApiError::PlainJson(_, m) | ApiError::Text(_, m) => m,
        ApiError::Policy(v) => format!("{v:?}"),
    }
}

pub(crate) async fn install_log(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let log = st
        .sandboxes
        .view(&id, &who, |e| Ok(AgentConfigure::of(e).map(|c| c.install_log)))?
        .filter(|l| !l.is_empty())
        .ok_or_else(|| ApiError::not_found("no install log available for this sandbox"))?;
    Ok(go_json(StatusCode::OK, &serde_json::json!({ "log": log })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_order_independent() {
        let f = |p: &str, c: &str| ConfigureFile {
            path: p.into(),
            content: c.into(),
            content_base64: String::new(),
        };
        let a = install_hash(&["pip".into()], &[f("/workspace/a", "1"), f("/workspace/b", "2")]);
        let b = install_hash(&["pip".into()], &[f("/workspace/b", "2"), f("/workspace/a", "1")]);
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        assert_ne!(
            a,
            install_hash(&["pip3".into()], &[f("/workspace/a", "1"), f("/workspace/b", "2")])
        );
    }

    #[test]
    fn hash_tells_content_forms_and_field_boundaries_apart() {
        let text = ConfigureFile {
            path: "/workspace/a".into(),
            content: "aGk=".into(),
            content_base64: String::new(),
        };
        let b64 = ConfigureFile {
            content: String::new(),
            content_base64: "aGk=".into(),
            ..text.clone()
        };
        assert_ne!(install_hash(&[], &[text]), install_hash(&[], &[b64]));
        assert_ne!(
            install_hash(&["a\0b".into()], &[]),
            install_hash(&["a".into(), "b".into()], &[])
        );
    }
}
