//! Binding and running the HTTP server, and clean shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tower::ServiceExt as _;

use crate::auth::{Auth, mint_key};
use crate::errors::RouterError;
use crate::governance::Governance;
use crate::options::RouterOptions;
use crate::sandbox::Sandboxes;
use crate::sandbox::isolation::Isolation;
use crate::state::AppState;
use crate::store::Store;
use crate::templates::Templates;

/// How long in-flight requests may take to finish after shutdown was asked for.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Pause after a failed `accept` (e.g. no file descriptor left) before the next one.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// A bound, not yet running router. [`Server::run`] serves until the shutdown future completes.
pub struct Server {
    listener: tokio::net::TcpListener,
    url: String,
    admin_key: Option<String>,
    data_dir: PathBuf,
    state: AppState,
    cors_origins: crate::routes::CorsOrigins,
    guard: Arc<crate::guard::Guard>,
    header_read_timeout: Duration,
    store: Arc<Store>,
    _temp: Option<tempfile::TempDir>,
}

impl Server {
    /// Opens the state, recovers sandboxes and binds the listener. Must be called inside a tokio
    /// runtime.
    pub async fn bind(opts: RouterOptions) -> Result<Server, RouterError> {
        if !opts.listen.ip().is_loopback() && !opts.allow_remote {
            return Err(RouterError::Config(format!(
                "refusing to listen on non-loopback address {}: the router speaks plain HTTP and \
                 its sandboxes run commands on this machine; pass --allow-remote (allow_remote) \
                 if that is really wanted",
                opts.listen
            )));
        }
        let (data_dir, temp) = match &opts.data_dir {
            Some(d) => {
                crate::private::dir(d)?;
                (d.canonicalize()?, None)
            }
            None => {
                let t = tempfile::Builder::new().prefix("agenttier-router-").tempdir()?;
                (t.path().canonicalize()?, Some(t))
            }
        };
        let isolation = Isolation::detect(opts.isolation)?;
        let store = Arc::new(Store::open(&data_dir)?);
        for sub in ["sandboxes", "snapshots", "trash"] {
            crate::private::dir(&data_dir.join(sub))?;
        }
        sweep_trash(&data_dir.join("trash"));
        let templates = Arc::new(Templates::load(opts.templates_dir.as_deref(), store.clone())?);
        let governance = Arc::new(Governance::load(store.clone(), opts.policy.clone())?);
        let sandboxes = Arc::new(Sandboxes::new(
            store.clone(),
            isolation,
            data_dir.clone(),
            opts.start_delay,
        ));
        let events = Arc::new(crate::events::Events::new(store.clone(), opts.audit_retention));
        let snapshots = Arc::new(crate::snapshots::Snapshots::new(&data_dir, store.clone()));
        snapshots.clean_partial();
        let webhooks = Arc::new(crate::webhooks::Webhooks::load(store.clone(), opts.webhook_timeout)?);
        sandboxes.observe({
            let events = events.clone();
            let snapshots = snapshots.clone();
            Arc::new(move |rec, event, reason| {
                events.sandbox(rec, event, reason, None);
                if event == "Deleting" {
                    snapshots.delete_all_of(&rec.name);
                }
            })
        });
        sandboxes.recover()?;
        let admin_key = if opts.mint_admin_key {
            Some(mint_key(&store, "admin", true, &[])?.0)
        } else {
            None
        };
        let listener = tokio::net::TcpListener::bind(opts.listen).await?;
        let addr: SocketAddr = listener.local_addr()?;
        let state = AppState {
            sandboxes,
            auth: Arc::new(Auth::new(opts.dev_auth, store.clone())),
            templates,
            governance,
            agents: Arc::new(crate::agent::Agents::new(opts.install_timeout, opts.invoke_keepalive)),
            proxy_client: Client::builder(TokioExecutor::new()).build_http(),
            snapshots,
            events,
            webhooks,
            store: store.clone(),
            metrics: Arc::default(),
            terminals: Arc::new(crate::terminal::Terminals::new(
                opts.terminal_heartbeat,
                opts.terminal_pong_timeout,
                opts.cors_allowed_origins.clone().into(),
            )),
            exec_limits: Arc::new(crate::limits::ExecLimits::new(
                opts.max_execs_per_sandbox,
                opts.max_execs_per_user,
            )),
        };
        tracing::info!(
            url = %format!("http://{addr}"),
            data_dir = %data_dir.display(),
            dev_auth = opts.dev_auth,
            isolation = ?isolation,
            "agenttier-router listening"
        );
        Ok(Server {
            listener,
            url: format!("http://{addr}"),
            admin_key,
            data_dir,
            state,
            cors_origins: opts.cors_allowed_origins.clone().into(),
            guard: Arc::new(crate::guard::Guard::new(
                &opts.allowed_hosts,
                addr,
                opts.allow_remote,
                opts.cors_allowed_origins.clone().into(),
            )),
            header_read_timeout: opts.header_read_timeout,
            store,
            _temp: temp,
        })
    }

    /// Base URL, e.g. `http://127.0.0.1:8080` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The admin key minted at bind, when [`RouterOptions::mint_admin_key`] was set.
    pub fn admin_key(&self) -> Option<&str> {
        self.admin_key.as_deref()
    }

    /// The (canonical) data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub(crate) fn store(&self) -> Arc<Store> {
        self.store.clone()
    }

    /// Serves until `shutdown` completes, then kills every sandbox process, lets in-flight
    /// requests finish (at most 5 s) and returns. Sandbox phases are kept, so a restart on the
    /// same data directory brings Running sandboxes back.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), RouterError> {
        let sandboxes = self.state.sandboxes.clone();
        let deliverer = self.state.webhooks.clone().start(&self.state.events);
        let ticker = tokio::spawn({
            let sandboxes = sandboxes.clone();
            async move {
                let mut every = tokio::time::interval(Duration::from_millis(250));
                loop {
                    every.tick().await;
                    sandboxes.tick();
                }
            }
        });
        let app = crate::routes::router(self.state.clone(), self.cors_origins.clone(), self.guard.clone());
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::select! {
            () = accept_loop(self.listener, app, self.header_read_timeout, stopped) => {}
            () = shutdown => {}
        }
        tracing::info!("shutting down: ending every sandbox process");
        sandboxes.kill_all();
        // Every connection finishes the request in flight and closes; the channel closes when the
        // last one (each holds a receiver) has ended.
        stop.send_replace(true);
        if tokio::time::timeout(DRAIN_TIMEOUT, stop.closed()).await.is_err() {
            tracing::warn!("in-flight requests did not finish in time; closing");
        }
        ticker.abort();
        deliverer.abort();
        sandboxes.kill_all();
        let _ = tokio::task::spawn_blocking(move || sandboxes.remove_cgroups()).await;
        Ok(())
    }
}

/// Accepts connections until `stop` turns true, each served on its own task by hyper's HTTP/1
/// server with a header read timeout (which hyper also applies to idle keep-alive connections:
/// its clock starts whenever the connection waits for a request head). Every request carries
/// the peer address as [`ConnectInfo`].
async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    header_read_timeout: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(header_read_timeout);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            _ = stop.wait_for(|stopping| *stopping) => return,
        };
        let _ = tcp.set_nodelay(true);
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut req: axum::http::Request<hyper::body::Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            app.clone().oneshot(req.map(axum::body::Body::new))
        });
        let conn = http.serve_connection(TokioIo::new(tcp), service).with_upgrades();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = stop.wait_for(|stopping| *stopping) => conn.as_mut().graceful_shutdown(),
            }
            let _ = conn.await;
        });
    }
}

/// Removes what a previous run left in `trash/` (workspaces of deleted sandboxes whose removal a
/// stop or crash cut short), in the background: start-up does not wait for it.
fn sweep_trash(trash: &Path) {
    let Ok(entries) = std::fs::read_dir(trash) else {
        return;
    };
    let leftovers: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    if leftovers.is_empty() {
        return;
    }
    tracing::info!(count = leftovers.len(), "removing deleted workspaces left in trash/");
    std::thread::spawn(move || {
        for path in leftovers {
            // Never follows symbolic links: a link planted in a workspace is removed, not its target.
            let removed = match std::fs::symlink_metadata(&path) {
                Ok(m) if m.is_dir() => std::fs::remove_dir_all(&path),
                Ok(_) => std::fs::remove_file(&path),
                Err(e) => Err(e),
            };
            if let Err(e) = removed {
                tracing::warn!(path = %path.display(), error = %e, "failed to remove a trash entry");
            }
        }
    });
}

/// Binds and serves until `shutdown` completes (what `agenttier-router serve` runs).
pub async fn serve(
    opts: RouterOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RouterError> {
    Server::bind(opts).await?.run(shutdown).await
}
