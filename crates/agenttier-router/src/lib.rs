//! A local development router that speaks the AgentTier wire protocol.
//!
//! `agenttier-router` serves the same HTTP API as the real AgentTier Router (`/api/v1/...`), but
//! its sandboxes are local process trees instead of pods, so the SDKs, the `agenttier` CLI, the
//! official Python SDK, the examples, tests and benchmarks all run on one machine. It is a
//! development tool, not a production system.
//!
//! # In-process (tests, examples, benchmarks)
//!
//! ```no_run
//! use agenttier_router::{LocalRouter, RouterOptions};
//! let router = LocalRouter::start(RouterOptions::default())?;
//! // Point a client at router.url() with X-API-Key: router.admin_key().
//! let alice = router.create_key("alice", false, &[])?; // another user, for isolation tests
//! # let _ = alice;
//! router.shutdown(); // also on drop: kills every sandbox process, removes the temp data dir
//! # Ok::<(), agenttier_router::RouterError>(())
//! ```
//!
//! # As a program
//!
//! ```text
//! agenttier-router serve --dev-auth                       # http://127.0.0.1:8080, no credentials
//! agenttier-router keys create --name alice [--admin] [--group G]...   # prints atk_... once
//! agenttier-router serve --policy policy.json --templates ./templates
//! ```
//!
//! # What it does
//!
//! * **Auth.** `--dev-auth` stamps every request with the fixed admin `dev-user`; otherwise API
//!   keys minted by `agenttier-router keys create` (stored as SHA-256 only). A key belongs to the
//!   user named at mint time (`sub` = name, email `<name>@agenttier.local`); `--admin` keys are
//!   admins (a local extension). Bearer tokens get `401 invalid_token` (no OIDC). A user sees and
//!   touches only their own sandboxes (others' answer 404); admins see all.
//! * **Sandboxes.** Each has a directory `<data-dir>/sandboxes/<name>`. As root on Linux (with
//!   util-linux `unshare`), commands run in fresh mount, PID, UTS and IPC namespaces
//!   with that directory at `/workspace`, the hostname set to the sandbox name, and the router's
//!   data directory hidden. Elsewhere, or with `--isolation none`, a command is a plain
//!   `/bin/sh -c` in the sandbox directory (`$WORKSPACE` and `$HOME` point at it, `/workspace`
//!   does not exist) and the router warns at start. Sandboxes share the host network: a
//!   forwarded port is `127.0.0.1:<port>`, and two sandboxes cannot listen on the same port.
//!   Sandbox names are unique across namespaces.
//! * **Lifecycle.** `""` → `Creating` → `Running` after the start delay; stop (Running only)
//!   kills every process and keeps the workspace (`Stopped`, `User requested stop`); resume
//!   (Stopped or Error) → `Creating` (`Resuming`) → `Running`; delete → 204, then 404, the
//!   directory removed. `timeout` (max runtime, from the last start) → `Stopped`
//!   `Max runtime exceeded`; `idleTimeout` → `Stopped` `Idle timeout exceeded`, where — unlike the
//!   real Router — a finished exec counts as activity and restarts the idle clock (and no idle
//!   stop happens while an exec runs). A workspace that cannot be prepared gives `Error`.
//! * **Exec.** `/bin/sh -c <command>` in its own process group; `timeout` (seconds, default 30)
//!   kills the whole group (`exitCode: -1`); stdout and stderr are each capped at 8 MiB with
//!   `\n[truncated]` appended. Background processes (`server &`) keep running after the exec
//!   returns, until the sandbox is stopped.
//! * **Ports.** Forwarded ports are recorded; `/api/v1/sandboxes/{id}/preview/{port}/...` is an
//!   authenticated reverse proxy to `127.0.0.1:<port>` that strips `X-API-Key` and
//!   `Authorization`. Ports above 65535 answer 400 (the Router answers 500).
//! * **Files.** List, download, upload (raw `PUT`, parents created) and a streamed zip of a
//!   directory, only under the sandbox's `/workspace`: `..` that climbs out, other absolute
//!   paths, symlinks (made inside the sandbox) that point out, NUL and the characters the Router
//!   refuses answer 400. 32 MiB per file exactly, both ways (413 above); bodies and archives are
//!   streamed, never held in memory.
//! * **Governance.** The platform's policy object (`maxSandboxesPerUser`, `maxSandboxesTotal`,
//!   `allowedTemplates`, `maxTimeout`, `maxIdleTimeout`, `maxStorage`, `maxAgentSandboxes`) is
//!   enforced on create with the platform's `403 policy_violation` body and codes.
//! * **Agent mode.** `configure` writes files under `/workspace` (symlinks that lead out are
//!   refused), runs the install command once per distinct files + command (hash), streams its
//!   output as SSE and persists the entrypoint; `invoke` streams `start`/`log`/`exit` with
//!   keep-alives, backpressure and cancel on disconnect; `invoke/cancel` ends the process group.
//! * **The rest of the API**, with local semantics: clone and backups copy the workspace (under
//!   `<data-dir>/snapshots`); PATCH applies the idle timeout at once and resources at the next
//!   start; bulk create and bulk actions answer per item; sharing grants read access and mints
//!   share links; API keys created through the API work at once (never admin); governance policies
//!   are edited live and enforced on create, restore and PATCH; every state change (including
//!   each agent invocation) is an audit event; analytics come from recorded lifetimes; webhooks are
//!   delivered signed (`X-AgentTier-Signature`) with the platform's retry schedule, to `https://`
//!   public addresses or `http://` loopback; warm pool and cluster routes report the local machine
//!   (nothing is pre-started, so ready counts are 0). Admin-only routes answer non-admins with the
//!   platform's plain-text `{"error":"admin_required"}`.
//!
//! # State and restarts
//!
//! State lives in `<data-dir>/router.db` (SQLite, WAL), written before each mutation is
//! answered; reads are served from memory. After a crash (even `kill -9`) and restart, no
//! sandbox, key, port or policy record is lost. Sandboxes that were `Running` (or starting)
//! come back: their processes are gone (leftover namespace holders of the killed router are
//! ended), so they go through `Creating` (message `Restarted after router restart`) to
//! `Running` with the workspace intact and a fresh max-runtime clock; background processes
//! started by earlier execs are not restarted. `Stopped` and `Error` sandboxes stay as they were;
//! an interrupted delete is completed. A clean shutdown (SIGTERM, Ctrl-C,
//! [`LocalRouter::shutdown`]) kills every sandbox process and keeps the phases, with the same
//! effect on the next start.

mod agent;
mod auth;
mod errors;
mod events;
mod exec;
mod files;
#[doc(hidden)]
pub mod fuzzing;
mod gotime;
mod governance;
mod guard;
pub mod keys;
mod limits;
mod local;
mod metrics;
mod options;
mod private;
mod procfs;
mod provision;
mod random;
mod respond;
mod routes;
mod running;
mod sandbox;
mod server;
mod snapshots;
mod state;
mod store;
mod templates;
mod terminal;
mod validate;
mod webhooks;

pub use errors::{RouterError, Violation};
pub use governance::{Policies, Policy};
pub use local::LocalRouter;
pub use options::{RouterOptions, default_data_dir};
pub use sandbox::isolation::IsolationMode;
pub use server::{Server, serve};
pub use templates::{AGENT_PYTHON, GENERAL_CODING};
