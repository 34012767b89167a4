//! Scoped cleanup: a sandbox handle that terminates its sandbox when it goes out of scope, like
//! the Python SDK's `with` blocks and E2B's context managers. `Client::with_sandbox` builds on
//! it; what happens on drop is each flavour's own (blocking: terminate at once; async: a
//! terminate task, since `Drop` must not block a runtime thread).

use std::ops::Deref;

use agenttier_core::Result;

use super::Sandbox;
use crate::maybe;

/// A [`Sandbox`] that is terminated when the guard is dropped; obtained from
/// [`Sandbox::into_guard`]. It derefs to the sandbox, so every call works on it.
///
/// Dropping it terminates the sandbox: in the blocking client at once (errors ignored), in the
/// async one through a task spawned on the current tokio runtime (or, outside a runtime, on a
/// short-lived one of its own), so a sandbox is cleaned up even when a task is cancelled or a
/// panic unwinds. That task is best effort when the program is exiting; call
/// [`terminate`](Self::terminate) to end the sandbox for certain and see its error, or
/// [`keep`](Self::keep) to keep it.
#[derive(Debug)]
#[must_use = "dropping the guard terminates the sandbox at once"]
pub struct SandboxGuard {
    pub(crate) sandbox: Option<Sandbox>,
}

impl Sandbox {
    /// This handle as a guard that terminates the sandbox when dropped.
    pub fn into_guard(self) -> SandboxGuard {
        SandboxGuard { sandbox: Some(self) }
    }
}

impl SandboxGuard {
    /// Disarms the guard: the sandbox outlives it.
    pub fn keep(mut self) -> Sandbox {
        self.sandbox
            .take()
            .expect("a guard holds its sandbox until disarmed or dropped")
    }
}

impl Deref for SandboxGuard {
    type Target = Sandbox;

    fn deref(&self) -> &Sandbox {
        self.sandbox
            .as_ref()
            .expect("a guard holds its sandbox until disarmed or dropped")
    }
}

#[maybe]
impl SandboxGuard {
    /// Terminates the sandbox now and reports the outcome (the drop then does nothing).
    pub async fn terminate(mut self) -> Result<()> {
        match self.sandbox.take() {
            Some(sandbox) => sandbox.terminate().await,
            None => Ok(()),
        }
    }
}
