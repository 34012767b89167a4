//! What the blocking flavour does at the end of a scope: [`SandboxGuard`]'s drop terminates
//! the sandbox at once, and [`Client::with_sandbox`] runs a closure on a fresh sandbox.

use agenttier_core::models::CreateSandbox;

use crate::client::{Client, DEFAULT_WAIT, Sandbox, SandboxGuard};

impl Drop for SandboxGuard {
    fn drop(&mut self) {
        if let Some(sandbox) = self.sandbox.take() {
            // Nothing can report an error from a drop; `SandboxGuard::terminate` does.
            let _ = sandbox.terminate();
        }
    }
}

impl Client {
    /// Creates a sandbox, waits until it is `Running` (up to [`DEFAULT_WAIT`]), runs `f` on it
    /// and terminates it however `f` ends: success, error or panic. `f`'s error comes first;
    /// a failure to terminate is reported when `f` succeeded.
    ///
    /// ```no_run
    /// use agenttier_blocking::{Client, models::CreateSandbox};
    /// # fn main() -> agenttier_blocking::Result<()> {
    /// let client = Client::from_env()?;
    /// let out = client.with_sandbox(CreateSandbox::new("general-coding", "scratch"), |sb| sb.exec("uname -a"))?;
    /// # Ok(()) }
    /// ```
    pub fn with_sandbox<T, E>(&self, params: CreateSandbox, f: impl FnOnce(&Sandbox) -> Result<T, E>) -> Result<T, E>
    where
        E: From<agenttier_core::Error>,
    {
        let guard = self.create_sandbox(params)?.into_guard();
        guard.wait_until_running(DEFAULT_WAIT)?;
        let result = f(&guard);
        let ended = guard.terminate();
        let value = result?;
        ended?;
        Ok(value)
    }
}
