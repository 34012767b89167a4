//! A command running in a sandbox, and the process-group helpers every command path uses.
//!
//! A started command counts as activity of its sandbox (the idle timeout waits for it) until
//! its [`Activity`] is dropped: however the caller ends (normally, a dropped future when a client
//! disconnects, a panic), the sandbox hears that the command ended.

use std::sync::Arc;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::Sandboxes;
use super::spawner::SandboxChild;

/// A command started in a sandbox: the child, its process group and the activity it holds.
pub(crate) struct RunningCommand {
    pub child: SandboxChild,
    pub pgid: i32,
    /// Keep it alive as long as the command runs (moving `child` out leaves it in place).
    pub activity: Activity,
}

/// One running command's share of its sandbox's activity, released on drop.
pub(crate) struct Activity {
    sandboxes: Arc<Sandboxes>,
    sandbox: String,
    pgid: i32,
}

impl Activity {
    pub(super) fn new(sandboxes: Arc<Sandboxes>, sandbox: &str, pgid: i32) -> Activity {
        Activity {
            sandboxes,
            sandbox: sandbox.to_owned(),
            pgid,
        }
    }
}

impl Drop for Activity {
    fn drop(&mut self) {
        self.sandboxes.end_command(&self.sandbox, self.pgid);
    }
}

/// The process group a sandbox command leads (every one runs in its own): its pid, or 0 once
/// it has been reaped.
pub(crate) fn group_of(child: &SandboxChild) -> i32 {
    child.id().map_or(0, |p| p as i32)
}

/// SIGKILLs a process group.
pub(crate) fn kill_group(pgid: i32) {
    if pgid > 0 {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    }
}

/// Whether any process of the group is still alive.
pub(crate) fn group_alive(pgid: i32) -> bool {
    pgid > 0 && killpg(Pid::from_raw(pgid), None).is_ok()
}
