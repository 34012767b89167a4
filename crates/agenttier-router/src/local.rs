//! [`LocalRouter`]: a router on its own thread and tokio runtime, for tests, examples and
//! benchmarks, usable from blocking code and from inside async tests alike.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::errors::RouterError;
use crate::options::RouterOptions;
use crate::server::Server;
use crate::store::Store;

/// An in-process router. Ends (server stopped, every sandbox process killed, temporary data
/// directory removed) on [`LocalRouter::shutdown`] or drop.
///
/// ```no_run
/// use agenttier_router::{LocalRouter, RouterOptions};
/// let router = LocalRouter::start(RouterOptions::default())?;
/// println!("AGENTTIER_API_URL={} AGENTTIER_API_KEY={}", router.url(), router.admin_key());
/// # Ok::<(), agenttier_router::RouterError>(())
/// ```
pub struct LocalRouter {
    url: String,
    admin_key: String,
    data_dir: PathBuf,
    store: Arc<Store>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    _temp: Option<tempfile::TempDir>,
}

impl std::fmt::Debug for LocalRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalRouter")
            .field("url", &self.url)
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl LocalRouter {
    /// Starts the router on its own background thread and tokio runtime and returns once it
    /// accepts connections.
    pub fn start(mut opts: RouterOptions) -> Result<LocalRouter, RouterError> {
        let temp = match opts.data_dir {
            Some(_) => None,
            None => {
                let t = tempfile::Builder::new().prefix("agenttier-router-").tempdir()?;
                opts.data_dir = Some(t.path().to_path_buf());
                Some(t)
            }
        };
        opts.mint_admin_key = true;
        let (ready_tx, ready_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("agenttier-router".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("agenttier-router-worker")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = ready_tx.send(Err(RouterError::Io(e)));
                        return;
                    }
                };
                rt.block_on(async move {
                    let server = match Server::bind(opts).await {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = ready_tx.send(Err(e));
                            return;
                        }
                    };
                    let info = (
                        server.url().to_owned(),
                        server.admin_key().unwrap_or_default().to_owned(),
                        server.data_dir().to_path_buf(),
                        server.store(),
                    );
                    let _ = ready_tx.send(Ok(info));
                    let stop = async move {
                        let _ = stop_rx.await;
                    };
                    if let Err(e) = server.run(stop).await {
                        tracing::error!(error = %e, "local router failed");
                    }
                });
                rt.shutdown_timeout(Duration::from_secs(2));
            })?;
        let (url, admin_key, data_dir, store) = match ready_rx.recv() {
            Ok(Ok(info)) => info,
            Ok(Err(e)) => {
                let _ = thread.join();
                return Err(e);
            }
            Err(_) => {
                let _ = thread.join();
                return Err(RouterError::Runtime("router thread ended during start".into()));
            }
        };
        Ok(LocalRouter {
            url,
            admin_key,
            data_dir,
            store,
            shutdown: Some(stop_tx),
            thread: Some(thread),
            _temp: temp,
        })
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// An admin API key minted at start; works whether or not dev-auth is on.
    pub fn admin_key(&self) -> &str {
        &self.admin_key
    }

    /// Mints an API key for the user `name` (`sub` = name, email `<name>@agenttier.local`) and
    /// returns the secret.
    pub fn create_key(&self, name: &str, admin: bool, groups: &[&str]) -> Result<String, RouterError> {
        let groups: Vec<String> = groups.iter().map(|g| (*g).to_owned()).collect();
        Ok(crate::auth::mint_key(&self.store, name, admin, &groups)?.0)
    }

    /// The data directory (canonical path).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Stops the server and kills every sandbox process; also done on drop.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for LocalRouter {
    fn drop(&mut self) {
        self.stop();
    }
}
