//! Sandbox routes: create, list, get, delete, stop, resume (§3) and exec (§4).

use std::collections::HashMap;
use std::time::Duration;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::Identity;
use crate::errors::ApiError;
use crate::exec;
use crate::provision::CreateFields;
use crate::respond::go_json;
use crate::running::RunningSandbox;
use crate::sandbox::access::can_read;
use crate::sandbox::spawner::Stdio;
use crate::state::AppState;
use crate::validate::{decode_body, is_rfc1123_label, rfc1123_error};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TemplateRef {
    name: Option<String>,
}

#[derive(Deserialize)]
struct Storage {
    size: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateRequest {
    name: Option<String>,
    namespace: Option<String>,
    template_ref: Option<TemplateRef>,
    timeout: Option<String>,
    idle_timeout: Option<String>,
    storage: Option<Storage>,
}

pub(super) fn parse_positive(field: &str, value: Option<&str>) -> Result<Option<Duration>, ApiError> {
    let Some(v) = value.filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    match agenttier_core::duration::parse(v) {
        Ok(d) if d.is_zero() => Err(ApiError::bad_request(format!("invalid {field}: must be positive"))),
        Ok(d) => Ok(Some(d)),
        Err(e) => Err(ApiError::bad_request(format!("invalid {field}: {e}"))),
    }
}

/// Decodes and checks a create body: every 400 of §3.3 that needs no state.
pub(crate) fn check_create(body: &[u8]) -> Result<CreateFields, ApiError> {
    let req: CreateRequest = decode_body(body)?;
    let name = req.name.unwrap_or_default();
    if name.is_empty() {
        return Err(ApiError::bad_request("name is required"));
    }
    let template_name = req.template_ref.and_then(|t| t.name).unwrap_or_default();
    if template_name.is_empty() {
        return Err(ApiError::bad_request("templateRef.name is required"));
    }
    if !is_rfc1123_label(&name) {
        return Err(ApiError::bad_request(rfc1123_error("name", &name)));
    }
    let namespace = req
        .namespace
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".into());
    if !is_rfc1123_label(&namespace) {
        return Err(ApiError::bad_request(rfc1123_error("namespace", &namespace)));
    }
    let timeout = parse_positive("timeout", req.timeout.as_deref())?;
    let idle_timeout = parse_positive("idleTimeout", req.idle_timeout.as_deref())?;
    let storage_size = req.storage.and_then(|s| s.size).filter(|s| !s.is_empty());
    if let Some(size) = &storage_size {
        crate::governance::check_quantity("storage.size", size, false)?;
    }
    Ok(CreateFields {
        name,
        namespace,
        template_name,
        timeout,
        idle_timeout,
        storage_size,
    })
}

pub(super) async fn create(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let rec = st.provision().create(&who, check_create(&body)?)?;
    Ok(go_json(
        StatusCode::CREATED,
        &Created {
            sandbox_id: &rec.name,
            name: &rec.name,
            namespace: &rec.namespace,
            status: "Creating",
            template_ref: &rec.template,
        },
    ))
}

/// The create reply, in the Router's field order.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Created<'a> {
    sandbox_id: &'a str,
    name: &'a str,
    namespace: &'a str,
    status: &'static str,
    template_ref: &'a str,
}

pub(super) async fn list(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let ns = q.get("namespace").filter(|s| !s.is_empty());
    let status = q.get("status").filter(|s| !s.is_empty());
    st.sandboxes.list(&who, |all| {
        let items: Vec<_> = all
            .filter(|e| ns.is_none_or(|n| &e.rec.namespace == n))
            .filter(|e| status.is_none_or(|s| e.rec.phase.as_str() == s))
            .map(|e| e.rec.to_json())
            .collect();
        go_json(StatusCode::OK, &serde_json::json!({ "sandboxes": items }))
    })
}

pub(super) async fn get_one(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    st.sandboxes.view_if(
        &id,
        |rec| can_read(rec, &who),
        |e| Ok(go_json(StatusCode::OK, &e.rec.to_json())),
    )
}

pub(super) async fn delete(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    st.sandboxes.delete(&id, &who)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) async fn stop(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    st.sandboxes.stop(&id, &who)?;
    Ok(go_json(StatusCode::OK, &serde_json::json!({"status": "stopping"})))
}

pub(super) async fn resume(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    st.sandboxes.resume(&id, &who)?;
    Ok(go_json(StatusCode::OK, &serde_json::json!({"status": "resuming"})))
}

#[derive(Deserialize)]
struct ExecRequest {
    command: Option<String>,
    timeout: Option<i64>,
}

/// Default exec timeout when the body has none (or ≤ 0).
const DEFAULT_EXEC_TIMEOUT: u64 = 30;
/// Longest accepted exec timeout (keeps the arithmetic sane for absurd values).
const MAX_EXEC_TIMEOUT: u64 = 7 * 24 * 3600;

/// Decodes and checks an exec body: the command and the timeout in seconds.
pub(crate) fn check_exec(body: &[u8]) -> Result<(String, u64), ApiError> {
    let req: ExecRequest = serde_json::from_slice(body).map_err(|_| ApiError::bad_request("invalid request body"))?;
    let command = req.command.unwrap_or_default();
    if command.is_empty() {
        return Err(ApiError::bad_request("command is required"));
    }
    let secs = match req.timeout {
        Some(t) if t > 0 => (t as u64).min(MAX_EXEC_TIMEOUT),
        _ => DEFAULT_EXEC_TIMEOUT,
    };
    Ok((command, secs))
}

pub(super) async fn exec(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    // Check order of §4: ownership → phase (the extractor) → body → command.
    RunningSandbox { id, .. }: RunningSandbox,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (command, secs) = check_exec(&body)?;
    let _slot = match st.exec_limits.acquire(&id, &who.sub) {
        Ok(slot) => slot,
        Err(throttled) => return Ok(throttled.into_response()),
    };
    // The command's activity ends with this future, even when the client disconnects.
    let running = st.sandboxes.spawn_shell(&id, &who, &command, Stdio::Null).await?;
    let out = exec::run(running.child, running.pgid, Duration::from_secs(secs)).await;
    Ok(out.into_response())
}
