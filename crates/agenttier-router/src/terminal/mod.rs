//! The terminal WebSocket, `GET /ws/terminal/{id}` (wire spec §11.5): an interactive shell on a
//! real PTY inside the sandbox.
//!
//! Before the upgrade, every failure is a plain-text answer: `401 invalid api key` /
//! `missing authentication` / `invalid token: …`, `403 access denied` (or a scoped key's denial),
//! `404 sandbox not found`, `409 sandbox is not running`, `429` past the per-sandbox session
//! limit. Credentials: dev-auth identity; else `X-API-Key`; else a token from `?token=` or
//! `Authorization: Bearer` — this router has no OIDC, so a token is taken as one of its own
//! API keys (browsers cannot set headers on a WebSocket). Owner, admin and anyone the sandbox
//! is shared with (any level) may connect. Unlike the Router, sandbox-scoped keys are checked:
//! bound to this sandbox and holding `run-command`. A browser's `Origin` must be this server's
//! own (a same-origin proxy) or an allowed CORS origin, so no other web page can open a shell
//! through a developer's dev-auth router.
//!
//! Local extension: `?command=CMD` runs `CMD` on the terminal instead of an interactive shell
//! (the clients' "run through a terminal" helper).

mod pty;
mod session;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::{WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::Identity;
use crate::errors::ApiError;
use crate::routes::CorsOrigins;
use crate::sandbox::record::Phase;
use crate::sandbox::spawner::Stdio;
use crate::state::AppState;

/// Open sessions per sandbox, at most.
pub(crate) const MAX_SESSIONS_PER_SANDBOX: usize = 8;
/// The action group a sandbox-scoped key needs for a terminal.
const SCOPE: &str = "run-command";

/// Terminal settings and the count of open sessions per sandbox.
pub(crate) struct Terminals {
    heartbeat: Duration,
    pong_timeout: Duration,
    open: Mutex<HashMap<String, usize>>,
    origins: CorsOrigins,
}

impl Terminals {
    /// `heartbeat`: interval of heartbeat frames and WS pings; `pong_timeout`: silence after
    /// which a client is dropped; `origins`: browser origins allowed besides the server's own.
    pub(crate) fn new(heartbeat: Duration, pong_timeout: Duration, origins: CorsOrigins) -> Terminals {
        Terminals {
            heartbeat,
            pong_timeout,
            open: Mutex::new(HashMap::new()),
            origins,
        }
    }

    /// Takes a session slot of `sandbox`; `None` when all are in use.
    fn reserve(self: &Arc<Self>, sandbox: &str) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let n = open.entry(sandbox.to_owned()).or_default();
        if *n >= MAX_SESSIONS_PER_SANDBOX {
            return None;
        }
        *n += 1;
        Some(Slot {
            terminals: self.clone(),
            sandbox: sandbox.to_owned(),
        })
    }
}

/// A session slot, given back when dropped.
struct Slot {
    terminals: Arc<Terminals>,
    sandbox: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.terminals.open.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = open.get_mut(&self.sandbox) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.sandbox);
            }
        }
    }
}

/// A pre-upgrade refusal: plain text, as the Router's `http.Error`.
fn refuse(status: StatusCode, text: impl AsRef<str>) -> Response {
    crate::errors::go_http_error(status, text.as_ref())
}

/// Who is calling, by the order of §11.5; the 401 text otherwise.
/// A sandbox process (`peer`) never gets the dev-auth identity: it must present a key.
fn identify(
    st: &AppState,
    headers: &HeaderMap,
    query: &HashMap<String, String>,
    peer: SocketAddr,
) -> Result<Identity, &'static str> {
    if st.auth.dev_auth() && !crate::sandbox::peer::is_sandbox_peer(peer) {
        return Ok(Identity::dev());
    }
    let as_key = |key: &str| {
        let mut h = HeaderMap::new();
        let value = header::HeaderValue::from_str(key).map_err(|_| ())?;
        h.insert("x-api-key", value);
        st.auth.authenticate(&h, Some(peer)).map_err(|_| ())
    };
    if let Some(key) = headers.get("x-api-key").filter(|v| !v.is_empty()) {
        let key = key.to_str().unwrap_or("");
        return as_key(key).map_err(|()| "invalid api key");
    }
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let token = query
        .get("token")
        .map(String::as_str)
        .filter(|t| !t.is_empty())
        .or(bearer);
    match token {
        None => Err("missing authentication"),
        Some(t) if t.starts_with("atk_") => as_key(t).map_err(|()| "invalid token: invalid api key"),
        Some(_) => Err("invalid token: OIDC authentication is not configured on this server"),
    }
}

/// A browser page may connect only from this server's own origin or an allowed CORS origin.
fn origin_allowed(headers: &HeaderMap, allowed: &[String]) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true; // not a browser
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    if allowed.iter().any(|a| a == origin) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let authority = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"));
    matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

/// `GET /ws/terminal/{id}`.
pub(crate) async fn connect(
    State(st): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let who = match identify(&st, &headers, &query, peer) {
        Ok(who) => who,
        Err(why) => return refuse(StatusCode::UNAUTHORIZED, why),
    };
    if !origin_allowed(&headers, &st.terminals.origins) {
        return refuse(StatusCode::FORBIDDEN, "origin not allowed");
    }
    let namespace = query.get("namespace").filter(|n| !n.is_empty());
    let found = st.sandboxes.view_if(
        &id,
        |rec| namespace.is_none_or(|n| *n == rec.namespace),
        |e| Ok((crate::sandbox::access::can_read(&e.rec, &who), e.rec.phase)),
    );
    let phase = match found {
        Err(_) => return refuse(StatusCode::NOT_FOUND, "sandbox not found"),
        Ok((false, _)) => return refuse(StatusCode::FORBIDDEN, "access denied"),
        Ok((true, phase)) => phase,
    };
    if let Some((bound, groups)) = &who.scope {
        if *bound != id {
            return refuse(StatusCode::FORBIDDEN, "scoped key is not bound to this sandbox");
        }
        if !groups.iter().any(|g| g == SCOPE) {
            return refuse(
                StatusCode::FORBIDDEN,
                format!("scoped key lacks the \"{SCOPE}\" action group"),
            );
        }
    }
    if phase != Phase::Running {
        return refuse(StatusCode::CONFLICT, "sandbox is not running");
    }
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(rejection) => return rejection.into_response(),
    };
    let Some(slot) = st.terminals.reserve(&id) else {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            format!("too many terminal sessions for this sandbox (at most {MAX_SESSIONS_PER_SANDBOX})"),
        );
    };
    let (master, stdio) = match pty::open(&st.sandboxes.ptmx(&id)).and_then(|(master, slave)| {
        let stdio = [slave.try_clone()?, slave.try_clone()?, slave].map(Stdio::Fd);
        Ok((master, stdio))
    }) {
        Ok(pair) => pair,
        Err(e) => {
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("cannot open a terminal: {e}"),
            );
        }
    };
    let command = query.get("command").map(String::as_str);
    let mut env = vec![("TERM", "xterm-256color")];
    if let Some(c) = command {
        env.push(("AGENTTIER_TERMINAL_COMMAND", c));
    }
    let spawned = st
        .sandboxes
        .spawn_attached(
            &id,
            |rec| crate::sandbox::access::can_read(rec, &who),
            &pty::session_command(command),
            &env,
            stdio,
        )
        .await;
    let spawned = match spawned {
        Ok(s) => s,
        Err(ApiError::Json(status, message) | ApiError::Text(status, message)) => return refuse(status, message),
        Err(other) => return other.into_response(),
    };
    // The child is reaped by tokio once dropped; the session watches the PTY instead. From here
    // on, dropping the session (even if the upgrade never completes) kills the shell.
    drop(spawned.child);
    let session = session::Session {
        sandboxes: st.sandboxes.clone(),
        sandbox: id,
        who,
        master: Arc::new(master),
        pgid: spawned.pgid,
        _activity: spawned.activity,
        heartbeat: st.terminals.heartbeat,
        pong_timeout: st.terminals.pong_timeout,
    };
    upgrade.on_upgrade(move |socket| async move {
        let _slot = slot;
        session.run(socket).await;
    })
}
