//! Running one command to completion (wire spec §4, local behaviour §16): a timeout that kills
//! the whole process group (`exitCode: -1`), and stdout/stderr each capped at 8 MiB with
//! `\n[truncated]` appended; the rest is read and discarded, never buffered. The reply is
//! encoded while it is sent ([`ExecOutput::into_response`]), so an exec holds at most its two
//! captured streams, not their JSON form (up to 6× larger when every byte needs escaping).

use std::time::Duration;

use std::convert::Infallible;

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::respond::go_json_str_pieces;
use crate::sandbox::command::kill_group;
use crate::sandbox::spawner::{OutputReader, SandboxChild};
use tokio::sync::watch;

/// Per-stream capture limit.
pub(crate) const STREAM_CAP: usize = 8 << 20;
/// Appended to a stream that hit [`STREAM_CAP`].
pub(crate) const TRUNCATED_MARKER: &str = "\n[truncated]";
/// How long output is still collected after the command exits, for background processes that
/// keep the pipes open (`server &`): they keep running, the reply does not wait for them.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(150);

/// The exec reply body: `{"stdout":…,"stderr":…,"exitCode":…}`.
#[derive(Debug)]
pub(crate) struct ExecOutput {
    pub stdout: String,
    pub stderr: String,
    pub exit_code: i32,
}

impl ExecOutput {
    /// A `200` whose JSON body is encoded piece by piece as the client reads it (chunked),
    /// byte-identical to what Go's encoder writes for the same object.
    pub(crate) fn into_response(self) -> Response {
        let ExecOutput {
            stdout,
            stderr,
            exit_code,
        } = self;
        let pieces = std::iter::once(Bytes::from_static(b"{\"stdout\":\""))
            .chain(go_json_str_pieces(stdout))
            .chain(std::iter::once(Bytes::from_static(b"\",\"stderr\":\"")))
            .chain(go_json_str_pieces(stderr))
            .chain(std::iter::once(Bytes::from(format!("\",\"exitCode\":{exit_code}}}\n"))));
        let body = Body::from_stream(futures_util::stream::iter(pieces.map(Ok::<_, Infallible>)));
        (
            [(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            body,
        )
            .into_response()
    }
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

/// Output collected up to [`STREAM_CAP`].
#[derive(Default)]
struct Capped {
    out: Vec<u8>,
    truncated: bool,
}

impl Capped {
    fn push(&mut self, bytes: &[u8]) {
        if self.truncated {
            return;
        }
        let room = STREAM_CAP - self.out.len();
        if bytes.len() >= room {
            // The last read that fits: room for the marker too, and no doubling past the cap.
            self.out.reserve_exact(room + TRUNCATED_MARKER.len());
        }
        if bytes.len() <= room {
            self.out.extend_from_slice(bytes);
        } else {
            self.out.extend_from_slice(&bytes[..room]);
            self.truncated = true;
        }
    }

    fn into_string(self) -> String {
        // Valid UTF-8 (the usual case) keeps its buffer; only invalid bytes cost a copy.
        let mut s = String::from_utf8(self.out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        if self.truncated {
            s.push_str(TRUNCATED_MARKER);
        }
        s
    }
}

/// Reads a command's output (see [`OutputReader`]), keeping at most [`STREAM_CAP`]. Reading goes
/// on past the cap, so the command is not killed by SIGPIPE for writing more, until the end or
/// the stop (a background writer may never pause).
async fn read_capped(mut r: OutputReader) -> String {
    let mut capped = Capped::default();
    let mut chunk = vec![0u8; 64 * 1024];
    while let Some(n) = r.next(&mut chunk).await {
        capped.push(&chunk[..n]);
        if capped.truncated && r.stopped() {
            break;
        }
    }
    capped.into_string()
}

/// Waits for `child` (leader of process group `pgid`) under `timeout`, collecting its output.
pub(crate) async fn run(mut child: SandboxChild, pgid: i32, timeout: Duration) -> ExecOutput {
    let mut guard = GroupGuard { pgid, armed: true };
    let (stop_tx, stop_rx) = watch::channel(false);
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let out_task = tokio::spawn({
        let stop = stop_rx.clone();
        async move {
            match stdout {
                Some(s) => read_capped(OutputReader::new(s, stop)).await,
                None => String::new(),
            }
        }
    });
    let err_task = tokio::spawn(async move {
        match stderr {
            Some(s) => read_capped(OutputReader::new(s, stop_rx)).await,
            None => String::new(),
        }
    });
    let exit_code = match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(status)) => status.code().unwrap_or(-1),
        Ok(Err(_)) => -1,
        Err(_) => {
            kill_group(pgid);
            child.wait_killed().await;
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::unix::pipe;

    /// A pipe registered with the runtime only now, holding `bytes`, and its writing end.
    fn fresh_pipe(bytes: &[u8]) -> (pipe::Receiver, std::os::fd::OwnedFd) {
        let (read, write) = rustix::pipe::pipe().unwrap();
        rustix::io::write(&write, bytes).unwrap();
        (pipe::Receiver::from_owned_fd(read).unwrap(), write)
    }

    /// The reply is built once the drain deadline has passed, and a background process may still
    /// hold the pipe open: whatever was written before must still be in the reply, although the
    /// runtime may not know yet that the pipe is readable when the reader first looks (it lost
    /// the output that way before).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn output_waiting_in_the_pipe_is_kept_when_the_stop_comes_first() {
        for _ in 0..200 {
            let (reader, writer) = fresh_pipe(b"hello\n");
            let (stop, stopped) = watch::channel(false);
            stop.send(true).unwrap();
            assert_eq!(read_capped(OutputReader::new(reader, stopped)).await, "hello\n");
            drop(writer);
        }
    }

    /// A background writer that never pauses cannot hold the reply once the stop has come.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_endless_writer_is_cut_at_the_cap_after_the_stop() {
        let (reader, writer) = fresh_pipe(b"");
        let endless = std::thread::spawn(move || while rustix::io::write(&writer, &[b'y'; 4096]).is_ok() {});
        let (stop, stopped) = watch::channel(false);
        stop.send(true).unwrap();
        let out = read_capped(OutputReader::new(reader, stopped)).await;
        assert!(out.len() <= STREAM_CAP + TRUNCATED_MARKER.len());
        drop(out);
        let _ = endless.join();
    }
}
