//! `POST /api/v1/sandboxes/{id}/invoke` (wire spec §9.4): always an SSE response.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::sync::{Notify, mpsc};

use super::configure::DEFAULT_INVOKE_TIMEOUT;
use super::run::{self, Ended, Out, Watch};
use super::{AgentConfigure, InFlight, command_line, require_agent_mode, require_running, sse};
use crate::auth::Identity;
use crate::errors::ApiError;
use crate::metrics::{Call, THROTTLED};
use crate::respond::go_json;
use crate::state::AppState;

/// Largest invoke body.
const MAX_BODY: usize = 16 * 1024 * 1024;

#[derive(Deserialize)]
pub(crate) struct InvokeQuery {
    #[serde(default)]
    prompt: Option<String>,
    #[serde(default)]
    timeout: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StartEvent<'a> {
    invoke_id: &'a str,
    started_at: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExitEvent<'a> {
    invoke_id: &'a str,
    exit_code: i32,
    duration_ms: i64,
    reason: &'a str,
}

/// The 429 body; Go encodes the map with sorted keys.
#[derive(Serialize)]
struct Concurrency {
    error: &'static str,
    inflight: i64,
    limit: i64,
    message: String,
}

fn new_invoke_id() -> String {
    format!("inv-{}", hex::encode(crate::random::bytes::<12>()))
}

/// The time limit: the configured default (else 30 min), lowered by a valid, positive, smaller
/// `timeout` query value.
fn invoke_timeout(default_secs: u64, query: Option<&str>) -> Duration {
    let limit = if default_secs > 0 {
        Duration::from_secs(default_secs)
    } else {
        DEFAULT_INVOKE_TIMEOUT
    };
    match query.filter(|q| !q.is_empty()).map(agenttier_core::duration::parse) {
        Some(Ok(d)) if !d.is_zero() && d < limit => d,
        _ => limit,
    }
}

/// Reads the body, refusing more than [`MAX_BODY`] bytes without buffering them.
async fn read_body(body: Body, content_length: Option<u64>) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError::Json(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("request body exceeds {MAX_BODY} bytes"),
        )
    };
    if content_length.is_some_and(|n| n > MAX_BODY as u64) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, MAX_BODY).await.map_err(|_| too_large())
}

pub(crate) async fn invoke(
    State(st): State<AppState>,
    Extension(who): Extension<Identity>,
    Path(id): Path<String>,
    Query(q): Query<InvokeQuery>,
    headers: axum::http::HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // Check order of §9.4: 404 → 400 mode → 409 phase → 424 entrypoint → 429 → 413.
    let call = match preconditions(&st, &who, &id) {
        Ok(call) => call,
        Err(resp) => {
            super::drain(body).await;
            return Ok(*resp);
        }
    };
    let limit = super::invoke_limit(call.conf.max_concurrent_invokes);
    let slot = match st.agents.acquire(&id, limit) {
        Ok(slot) => slot,
        Err(inflight) => {
            super::drain(body).await;
            call.record(&st, THROTTLED);
            return Ok(throttled(&id, inflight, limit));
        }
    };
    let content_length = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = match read_body(body, content_length).await {
        Ok(body) => body,
        Err(e) => {
            call.record(&st, "body_too_large");
            return Err(e);
        }
    };
    run_invoke(st, who, id, q, call, slot, body).await
}

/// An invoke that passed the checks on its sandbox: what it runs, and what its metrics need.
struct Accepted {
    conf: AgentConfigure,
    template: String,
    started: Instant,
}

impl Accepted {
    fn record(&self, st: &AppState, outcome: &'static str) {
        st.metrics
            .record(Call::Invoke, &self.template, outcome, self.started.elapsed());
    }
}

/// Everything checked before the concurrency cap and the body; an error reply otherwise.
fn preconditions(st: &AppState, who: &Identity, id: &str) -> Result<Accepted, Box<Response>> {
    let checked = st.sandboxes.view(id, who, |e| {
        require_agent_mode(e, "/invoke is only valid for mode: agent")?;
        require_running(e, "must be Running to invoke")?;
        match AgentConfigure::of(e).filter(|c| !c.entrypoint.is_empty()) {
            Some(conf) => Ok(Accepted {
                conf,
                template: e.rec.template.clone(),
                started: Instant::now(),
            }),
            None => Err(ApiError::Json(
                StatusCode::FAILED_DEPENDENCY,
                format!("sandbox {id} has no entrypoint — call POST /configure first to set one"),
            )),
        }
    });
    checked.map_err(|e| Box::new(e.into_response()))
}

/// `429` with `Retry-After: 5`: the sandbox already runs as many invokes as it may.
fn throttled(id: &str, inflight: i64, limit: i64) -> Response {
    let mut resp = go_json(
        StatusCode::TOO_MANY_REQUESTS,
        &Concurrency {
            error: "concurrency_exceeded",
            inflight,
            limit,
            message: format!("sandbox {id} already has {inflight} concurrent invokes (max {limit})"),
        },
    );
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    resp
}

async fn run_invoke(
    st: AppState,
    who: Identity,
    id: String,
    q: InvokeQuery,
    call: Accepted,
    slot: super::Slot,
    body: Bytes,
) -> Result<Response, ApiError> {
    let timeout = invoke_timeout(call.conf.default_invoke_timeout_seconds, q.timeout.as_deref());
    let mut argv = call.conf.entrypoint.clone();
    let prompt = q.prompt.filter(|p| !p.is_empty());
    if let Some(p) = &prompt {
        argv.push(format!("--prompt={p}"));
    }
    let stdin = if body.is_empty() {
        prompt.map(Bytes::from).unwrap_or_default()
    } else {
        body
    };
    let started = call.started;
    let started_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let spawned = st
        .sandboxes
        .spawn_shell(&id, &who, &command_line(&argv), crate::sandbox::spawner::Stdio::Piped)
        .await;
    let mut spawned = spawned.inspect_err(|_| call.record(&st, "error"))?;
    let pgid = spawned.pgid;
    if let Some(mut pipe) = spawned.child.stdin.take() {
        tokio::spawn(async move {
            if !stdin.is_empty() {
                let _ = pipe.write_all(&stdin).await;
            }
            // Dropping the pipe closes it: the entrypoint sees end of input.
        });
    }
    let invoke_id = new_invoke_id();
    let cancel = Arc::new(Notify::new());
    st.agents.invokes().insert(
        invoke_id.clone(),
        InFlight {
            sandbox: id.clone(),
            actor: who.sub.clone(),
            pgid,
            cancel: cancel.clone(),
        },
    );
    tracing::info!(sandbox = %id, invoke = %invoke_id, "AgentInvokeStarted");
    // Audit events (and through them webhooks) of the invocation, as the platform records them.
    let record = st.sandboxes.view(&id, &who, |e| Ok(e.rec.clone())).ok();
    if let Some(rec) = &record {
        st.events.sandbox(
            rec,
            "AgentInvokeStarted",
            &format!("invoke {invoke_id} started"),
            Some(&who),
        );
    }

    let (tx, rx) = mpsc::channel(sse::CHANNEL_DEPTH);
    let out = Out::new(tx);
    let keepalive = st.agents.keepalive;
    tokio::spawn(async move {
        let _slot = slot;
        out.send(sse::event(
            "start",
            &StartEvent {
                invoke_id: &invoke_id,
                started_at: started_ms,
            },
        ))
        .await;
        let ended = run::run(
            spawned.child,
            pgid,
            &out,
            Watch {
                timeout,
                keepalive: Some(keepalive),
                cancel: Some(cancel),
                kill_on_exit: true,
                tail: None,
            },
        )
        .await;
        st.agents.invokes().remove(&invoke_id);
        drop(spawned.activity);
        let (exit_code, reason) = match ended {
            Ended::Exited(code) => (code, "completed"),
            Ended::Timeout => (-1, "timeout"),
            Ended::Canceled | Ended::Disconnected => (-1, "canceled"),
            Ended::Failed => (-1, "error"),
        };
        call.record(&st, reason);
        let duration_ms = started.elapsed().as_millis() as i64;
        let outcome = if reason == "timeout" || reason == "error" || exit_code != 0 {
            "AgentInvokeFailed"
        } else {
            "AgentInvokeCompleted"
        };
        tracing::info!(sandbox = %id, invoke = %invoke_id, exit_code, reason, duration_ms, "{outcome}");
        if let Some(rec) = &record {
            let message = format!("invoke {invoke_id} ended: {reason}, exit code {exit_code}, {duration_ms} ms");
            st.events.sandbox(rec, outcome, &message, Some(&who));
        }
        if !out.is_closed() {
            out.send(sse::event(
                "exit",
                &ExitEvent {
                    invoke_id: &invoke_id,
                    exit_code,
                    duration_ms,
                    reason,
                },
            ))
            .await;
        }
    });
    Ok(sse::response(rx).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeout_only_lowers() {
        let m30 = Duration::from_secs(1800);
        assert_eq!(invoke_timeout(0, None), m30);
        assert_eq!(invoke_timeout(0, Some("5s")), Duration::from_secs(5));
        assert_eq!(invoke_timeout(0, Some("2h")), m30);
        assert_eq!(invoke_timeout(60, Some("2m")), Duration::from_secs(60));
        assert_eq!(invoke_timeout(60, Some("0s")), Duration::from_secs(60));
        assert_eq!(invoke_timeout(60, Some("junk")), Duration::from_secs(60));
        assert!(new_invoke_id().len() == 28 && new_invoke_id().starts_with("inv-"));
    }
}
