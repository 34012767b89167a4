//! What the async flavour does at the end of a scope: [`SandboxGuard`]'s drop hands the
//! terminate call to a task (never blocking the runtime thread it runs on), and
//! [`Client::with_sandbox`] runs an async closure on a fresh sandbox.

use std::future::Future;

use agenttier_core::models::CreateSandbox;

use crate::client::{Client, DEFAULT_WAIT, Sandbox, SandboxGuard};

impl Drop for SandboxGuard {
    fn drop(&mut self) {
        let Some(sandbox) = self.sandbox.take() else { return };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    let _ = sandbox.terminate().await;
                });
            }
            // Dropped outside any runtime: a short-lived one on its own thread.
            Err(_) => {
                std::thread::spawn(move || {
                    if let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() {
                        let _ = rt.block_on(sandbox.terminate());
                    }
                });
            }
        }
    }
}

impl Client {
    /// Creates a sandbox, waits until it is `Running` (up to [`DEFAULT_WAIT`]), runs `f` on it
    /// and terminates it however `f` ends: success, error, panic or cancellation (then through
    /// the guard's terminate task). `f`'s error comes first; a failure to terminate is reported
    /// when `f` succeeded.
    ///
    /// ```no_run
    /// use agenttier_async::{Client, models::CreateSandbox};
    /// # async fn run() -> agenttier_async::Result<()> {
    /// let client = Client::from_env()?;
    /// let out = client
    ///     .with_sandbox(CreateSandbox::new("general-coding", "scratch"), |sb| async move { sb.exec("uname -a").await })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn with_sandbox<T, E, F, Fut>(&self, params: CreateSandbox, f: F) -> Result<T, E>
    where
        E: From<agenttier_core::Error>,
        F: FnOnce(Sandbox) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let guard = self.create_sandbox(params).await?.into_guard();
        guard.wait_until_running(DEFAULT_WAIT).await?;
        let result = f((*guard).clone()).await;
        let ended = guard.terminate().await;
        let value = result?;
        ended?;
        Ok(value)
    }
}
