//! Running one command to completion (wire spec §4, local behaviour §16): a timeout that kills
//! the whole process group (`exitCode: -1`), and stdout/stderr each capped at 8 MiB with
//! `\n[truncated]` appended; the rest is read and discarded, never buffered.

use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Child;
use tokio::sync::watch;

/// Per-stream capture limit.
pub(crate) const STREAM_CAP: usize = 8 << 20;
/// Appended to a stream that hit [`STREAM_CAP`].
pub(crate) const TRUNCATED_MARKER: &str = "\n[truncated]";
/// How long output is still collected after the command exits, for background processes that
/// keep the pipes open (`server &`): they keep running, the reply does not wait for them.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(150);

/// The exec reply body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExecOutput {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
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

/// Kills the group when dropped while armed: a client that disconnects mid-exec ends the command.
struct GroupGuard {
    pgid: i32,
    armed: bool,
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed {
            kill_group(self.pgid);
        }
    }
}

async fn read_capped(mut r: impl AsyncRead + Unpin, mut stop: watch::Receiver<bool>) -> String {
    let mut out = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut truncated = false;
    loop {
        let n = tokio::select! {
            res = r.read(&mut chunk) => match res { Ok(0) | Err(_) => break, Ok(n) => n },
            _ = stop.changed() => break,
        };
        let room = STREAM_CAP - out.len();
        if n <= room {
            out.extend_from_slice(&chunk[..n]);
        } else {
            out.extend_from_slice(&chunk[..room]);
            truncated = true;
        }
    }
    let mut s = String::from_utf8_lossy(&out).into_owned();
    if truncated {
        s.push_str(TRUNCATED_MARKER);
    }
    s
}

/// Waits for `child` (leader of process group `pgid`) under `timeout`, collecting its output.
pub(crate) async fn run(mut child: Child, pgid: i32, timeout: Duration) -> ExecOutput {
    let mut guard = GroupGuard { pgid, armed: true };
    let (stop_tx, stop_rx) = watch::channel(false);
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let out_task = tokio::spawn({
        let stop = stop_rx.clone();
        async move {
            match stdout {
                Some(s) => read_capped(s, stop).await,
                None => String::new(),
            }
        }
    });
    let err_task = tokio::spawn(async move {
        match stderr {
            Some(s) => read_capped(s, stop_rx).await,
            None => String::new(),
        }
    });
    let exit_code = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => status.code().unwrap_or(-1),
        Ok(Err(_)) => -1,
        Err(_) => {
            kill_group(pgid);
            let _ = child.wait().await;
            -1
        }
    };
    let both = async { (out_task.await, err_task.await) };
    tokio::pin!(both);
    let (stdout, stderr) = tokio::select! {
        r = &mut both => r,
        _ = tokio::time::sleep(DRAIN_AFTER_EXIT) => {
            let _ = stop_tx.send(true);
            both.await
        }
    };
    guard.armed = false;
    ExecOutput {
        stdout: stdout.unwrap_or_default(),
        stderr: stderr.unwrap_or_default(),
        exit_code,
    }
}
