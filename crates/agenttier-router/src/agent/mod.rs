//! Agent mode (wire spec §9): `POST /configure` (files, install once, entrypoint), `GET
//! /configure/install-log`, `POST /invoke` (always SSE) and `POST /invoke/cancel`.
//!
//! The result of the last successful configure lives in the sandbox record's `extra` JSON
//! under `agentConfigure` (so it survives restarts, and is not part of the sandbox JSON, as on
//! the platform). In-flight invokes and per-sandbox concurrency counts live in memory, as on
//! one Router replica.

mod cancel;
pub(crate) mod configure;
mod invoke;
mod run;
mod sse;
pub(crate) mod workspace;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

pub(crate) use cancel::cancel;
pub(crate) use configure::{configure, install_log};
pub(crate) use invoke::invoke;

use crate::errors::ApiError;
use crate::sandbox::Entry;
use crate::sandbox::record::Phase;

pub(crate) use crate::sandbox::agent_state::AgentConfigure;

impl AgentConfigure {
    fn of(e: &Entry) -> Option<AgentConfigure> {
        e.rec.agent.clone()
    }
}

/// One running invoke, for cancel.
pub(crate) struct InFlight {
    sandbox: String,
    actor: String,
    pgid: i32,
    cancel: Arc<Notify>,
}

/// Agent-mode state shared by the handlers.
pub(crate) struct Agents {
    install_timeout: Duration,
    keepalive: Duration,
    invokes: Mutex<HashMap<String, InFlight>>,
    inflight: Mutex<HashMap<String, i64>>,
    /// Configure bodies held in memory at once (each up to 160 MiB).
    pub(crate) configure_bodies: Arc<tokio::sync::Semaphore>,
}

/// Configure bodies the router holds at once.
const CONFIGURE_BODIES: usize = 2;

/// Concurrent invokes of a sandbox whose template and policy set no limit: each holds a body of
/// up to 16 MiB while it runs.
pub(crate) const DEFAULT_INVOKE_LIMIT: i64 = 16;

/// The concurrency limit of invokes: the configured one, or [`DEFAULT_INVOKE_LIMIT`] for "none".
pub(crate) fn invoke_limit(configured: i64) -> i64 {
    if configured > 0 {
        configured
    } else {
        DEFAULT_INVOKE_LIMIT
    }
}

impl Agents {
    pub(crate) fn new(install_timeout: Duration, keepalive: Duration) -> Agents {
        Agents {
            install_timeout,
            keepalive,
            invokes: Mutex::new(HashMap::new()),
            inflight: Mutex::new(HashMap::new()),
            configure_bodies: Arc::new(tokio::sync::Semaphore::new(CONFIGURE_BODIES)),
        }
    }

    fn invokes(&self) -> MutexGuard<'_, HashMap<String, InFlight>> {
        self.invokes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a concurrency slot of `sandbox` under `limit` (0 = unlimited); `Err(inflight)`
    /// when the cap is reached.
    fn acquire(self: &Arc<Self>, sandbox: &str, limit: i64) -> Result<Slot, i64> {
        let mut map = self.inflight.lock().unwrap_or_else(|p| p.into_inner());
        let cur = map.get(sandbox).copied().unwrap_or(0);
        if limit > 0 && cur >= limit {
            return Err(cur);
        }
        map.insert(sandbox.to_owned(), cur + 1);
        Ok(Slot {
            agents: self.clone(),
            sandbox: sandbox.to_owned(),
        })
    }
}

/// A held concurrency slot; released on drop.
pub(crate) struct Slot {
    agents: Arc<Agents>,
    sandbox: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut map = self.agents.inflight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.sandbox) {
            *n -= 1;
            if *n <= 0 {
                map.remove(&self.sandbox);
            }
        }
    }
}

/// Reads (and drops) up to 256 KiB of a request body that is refused before it was read, as
/// Go's server does, so the client gets the error reply instead of a reset connection.
async fn drain(body: axum::body::Body) {
    let _ = axum::body::to_bytes(body, 256 * 1024).await;
}

/// `sandbox X is in mode "code" — <tail>` when the sandbox is not an agent sandbox.
fn require_agent_mode(e: &Entry, tail: &str) -> Result<(), ApiError> {
    if e.rec.mode == "agent" {
        return Ok(());
    }
    let mode = if e.rec.mode.is_empty() { "code" } else { &e.rec.mode };
    Err(ApiError::bad_request(format!(
        "sandbox {} is in mode {} — {tail}",
        e.rec.name,
        go_quote(mode)
    )))
}

/// `sandbox is in phase "P" — <tail>` unless Running.
fn require_running(e: &Entry, tail: &str) -> Result<(), ApiError> {
    if e.rec.phase == Phase::Running {
        return Ok(());
    }
    Err(ApiError::conflict(format!(
        "sandbox is in phase {} — {tail}",
        go_quote(e.rec.phase.as_str())
    )))
}

/// Go's `%q` for the simple strings used in messages.
fn go_quote(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// The Router's POSIX quoting of one argument (`pkg/router/agent/invoke.go` `shellQuote`).
fn shell_quote(s: &str) -> String {
    if s.is_empty() {
        return "''".into();
    }
    const SPECIAL: &str = "'\\\"$`!*?[ \t\n#&|;<>(){}~";
    if !s.chars().any(|c| SPECIAL.contains(c)) {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', r#"'"'"'"#))
}

/// An argv as one `/bin/sh -c` command line.
fn command_line(argv: &[String]) -> String {
    argv.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("--prompt=x"), "--prompt=x");
        assert_eq!(shell_quote("what's up?"), r#"'what'"'"'s up?'"#);
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(format!(
                "printf '%s|' {}",
                command_line(&["a b".into(), "it's".into(), "$HOME".into(), "".into()])
            ))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), "a b|it's|$HOME||");
    }
}
