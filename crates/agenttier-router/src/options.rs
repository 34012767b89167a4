//! [`RouterOptions`]: everything a router is started with.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::governance::Policies;
use crate::sandbox::isolation::IsolationMode;

/// How to start a router. `Default` gives an ephemeral loopback port, a fresh temporary data
/// directory (removed when the router ends), API-key auth (no dev-auth), automatic isolation, a
/// 100 ms start delay, the built-in templates and no governance policy.
///
/// ```
/// use std::time::Duration;
/// use agenttier_router::RouterOptions;
/// let opts = RouterOptions {
///     dev_auth: true,
///     start_delay: Duration::from_millis(10),
///     ..RouterOptions::default()
/// };
/// # let _ = opts;
/// ```
#[derive(Debug, Clone)]
pub struct RouterOptions {
    /// Address to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Allow a non-loopback `listen` address (refused otherwise: the router speaks plain HTTP
    /// and runs commands on this machine).
    pub allow_remote: bool,
    /// State directory (SQLite database and sandbox workspaces). `None` = a fresh temporary
    /// directory removed when the router ends. Reuse a directory to restart with the same state.
    pub data_dir: Option<PathBuf>,
    /// Accept unauthenticated calls as the fixed local admin `dev-user` (wire spec §1.4).
    pub dev_auth: bool,
    /// Directory of extra template files (`*.json`, one template each).
    pub templates_dir: Option<PathBuf>,
    /// Governance policies to enforce; `None` keeps what the data directory has stored.
    pub policy: Option<Policies>,
    /// Sandbox isolation.
    pub isolation: IsolationMode,
    /// Time a sandbox spends in `Creating` before it is `Running`.
    pub start_delay: Duration,
    /// Mint an admin API key at start (see [`crate::Server::admin_key`]). The library default is
    /// `true`; the `serve` command turns it off.
    pub mint_admin_key: bool,
    /// Soft time limit of an agent configure's install command (default 15 min, as the Router).
    pub install_timeout: Duration,
    /// Silence after which an invoke stream carries a `: keepalive` comment (default 15 s).
    pub invoke_keepalive: Duration,
    /// Browser origins allowed to call the API (CORS, exact match); none by default. A
    /// state-changing request or WebSocket upgrade from any other origin (but the request's own)
    /// is refused.
    pub cors_allowed_origins: Vec<String>,
    /// Host names (`Host` header) the router answers to besides loopback names and addresses;
    /// `*` = any. Guards against DNS rebinding; none by default.
    pub allowed_hosts: Vec<String>,
    /// Time a connection has to deliver a complete request head, counted from its accept or the
    /// end of its previous answer: it bounds slow (slowloris) clients and idle keep-alive
    /// connections alike. Default 40 s, above the clients' 30 s pool idle time, so a client never
    /// reuses a connection the router is closing.
    pub header_read_timeout: Duration,
    /// Interval of a terminal session's heartbeat frames and WebSocket pings (default 30 s).
    pub terminal_heartbeat: Duration,
    /// A terminal client that answers no ping for this long is dropped (default 70 s).
    pub terminal_pong_timeout: Duration,
    /// Most execs running at once in one sandbox (0 = no limit; default 8). More answer `429`
    /// with `Retry-After`.
    pub max_execs_per_sandbox: usize,
    /// Most execs one user runs at once across their sandboxes (0 = no limit; default 16).
    pub max_execs_per_user: usize,
    /// Time a webhook subscriber has to answer one delivery attempt (default 10 s); an attempt
    /// that times out fails the delivery at once.
    pub webhook_timeout: Duration,
    /// Audit events kept: older ones are dropped as new ones arrive (0 = keep all; default
    /// 50 000). Analytics read the same records, so they cover that window.
    pub audit_retention: usize,
}

impl Default for RouterOptions {
    fn default() -> Self {
        RouterOptions {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            allow_remote: false,
            data_dir: None,
            dev_auth: false,
            templates_dir: None,
            policy: None,
            isolation: IsolationMode::Auto,
            start_delay: Duration::from_millis(100),
            mint_admin_key: true,
            install_timeout: Duration::from_secs(15 * 60),
            invoke_keepalive: Duration::from_secs(15),
            cors_allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            header_read_timeout: Duration::from_secs(40),
            terminal_heartbeat: Duration::from_secs(30),
            terminal_pong_timeout: Duration::from_secs(70),
            max_execs_per_sandbox: 8,
            max_execs_per_user: 16,
            webhook_timeout: Duration::from_secs(10),
            audit_retention: 50_000,
        }
    }
}

/// The per-user default data directory: `$XDG_DATA_HOME/agenttier-router`, else
/// `~/.local/share/agenttier-router`.
pub fn default_data_dir() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return PathBuf::from(x).join("agenttier-router");
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => PathBuf::from(home).join(".local/share/agenttier-router"),
        None => PathBuf::from(".agenttier-router"),
    }
}
