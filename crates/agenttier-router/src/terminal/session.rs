//! One terminal session: the loop between a WebSocket and a shell's PTY.
//!
//! One task does everything but typing: it reads the socket (input, resize, ping), reads the
//! PTY (output frames), sends heartbeats, and watches the sandbox (stopped, deleted, access
//! revoked, idle). Keystrokes go through a bounded queue to a writer task, so a program that
//! does not read its input can never stall the output of the session. When the session ends,
//! for any reason, its shell's process groups are killed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agenttier_core::terminal::{ClientFrame, CloseReason, ServerFrame, Utf8Decoder};
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use tokio::sync::mpsc;

use super::pty::Master;
use crate::auth::Identity;
use crate::sandbox::Sandboxes;
use crate::sandbox::command::{Activity, kill_group};
use crate::sandbox::record::Phase;

/// How often the session looks at its sandbox (stopped, deleted, share revoked).
const WATCH_EVERY: Duration = Duration::from_millis(200);
/// Output read at once, at most (one output frame).
const READ_CHUNK: usize = 64 * 1024;
/// Input frames queued for a shell that is not reading; past this the session is closed.
const INPUT_QUEUE: usize = 1024;

/// Everything a session needs, prepared before the upgrade.
pub(crate) struct Session {
    pub sandboxes: Arc<Sandboxes>,
    pub sandbox: String,
    pub who: Identity,
    pub master: Arc<Master>,
    pub pgid: i32,
    /// The shell's share of the sandbox's activity: released after the shell is killed.
    pub _activity: Activity,
    pub heartbeat: Duration,
    pub pong_timeout: Duration,
}

/// How a session ended.
enum End {
    /// The server closes it with this reason (a `close` frame first).
    Close(CloseReason, String),
    /// The shell ended.
    ShellExited,
    /// The client went away or stopped answering pings: nothing more to send.
    Gone,
}

impl Session {
    /// Runs the session until it ends.
    pub(crate) async fn run(self, mut socket: WebSocket) {
        let end = self.serve(&mut socket).await;
        drop(self); // kills the shell before the client hears the session is over
        let close = match end {
            End::Close(reason, message) => {
                if !message.is_empty() {
                    let _ = socket.send(text(&ServerFrame::Error { message })).await;
                }
                let frame = ServerFrame::Close {
                    reason,
                    code: Some(1000),
                };
                let _ = socket.send(text(&frame)).await;
                Some("session closed")
            }
            End::ShellExited => Some("shell exited"),
            End::Gone => None,
        };
        if let Some(why) = close {
            let _ = socket
                .send(Message::Close(Some(CloseFrame {
                    code: axum::extract::ws::close_code::NORMAL,
                    reason: why.into(),
                })))
                .await;
        }
    }

    async fn serve(&self, socket: &mut WebSocket) -> End {
        let (keys, queued) = mpsc::channel::<String>(INPUT_QUEUE);
        let writer = tokio::spawn(type_keys(self.master.clone(), queued));
        let _writer = AbortOnDrop(writer);
        let mut decoder = Utf8Decoder::default();
        let mut buf = vec![0u8; READ_CHUNK];
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + self.heartbeat, self.heartbeat);
        let mut watch = tokio::time::interval(WATCH_EVERY);
        let mut last_pong = Instant::now();
        let mut last_traffic = Instant::now();
        loop {
            tokio::select! {
                incoming = socket.recv() => {
                    let msg = match incoming {
                        Some(Ok(msg)) => msg,
                        Some(Err(_)) | None => return End::Gone,
                    };
                    match msg {
                        Message::Text(t) => {
                            match ClientFrame::decode(&t) {
                                Some(ClientFrame::Input { data }) => {
                                    last_traffic = Instant::now();
                                    if keys.try_send(data).is_err() {
                                        return End::Close(CloseReason::Error, "too much input queued: the program is not reading it".into());
                                    }
                                }
                                Some(ClientFrame::Resize { cols, rows }) => {
                                    if let Err(e) = self.master.resize(cols, rows) {
                                        let _ = socket.send(text(&ServerFrame::Error { message: format!("resize failed: {e}") })).await;
                                    }
                                }
                                Some(ClientFrame::Ping) => {
                                    let sent = socket.send(text(&ServerFrame::Pong)).await;
                                    if sent.is_err() {
                                        return End::Gone;
                                    }
                                }
                                // Malformed or unknown frames are ignored (§11.5).
                                _ => {}
                            }
                        }
                        Message::Pong(_) => last_pong = Instant::now(),
                        Message::Close(_) => return End::Gone,
                        Message::Binary(_) | Message::Ping(_) => {}
                    }
                }
                read = self.master.read(&mut buf) => {
                    let n = match read {
                        Ok(n) => n,
                        Err(e) => return End::Close(CloseReason::Error, format!("reading the terminal failed: {e}")),
                    };
                    let data = if n == 0 { decoder.finish() } else { decoder.push(&buf[..n]) };
                    if !data.is_empty() {
                        last_traffic = Instant::now();
                        if socket.send(text(&ServerFrame::output(data))).await.is_err() {
                            return End::Gone;
                        }
                    }
                    if n == 0 {
                        // Stopping or deleting the sandbox kills the shell too: say why.
                        return match self.check_sandbox(Instant::now()) {
                            Some(reason) => End::Close(reason, String::new()),
                            None => End::ShellExited,
                        };
                    }
                }
                _ = heartbeat.tick() => {
                    if last_pong.elapsed() >= self.pong_timeout {
                        tracing::info!(sandbox = %self.sandbox, "terminal client stopped answering pings; dropping it");
                        return End::Gone;
                    }
                    let ts = time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
                    let beat = text(&ServerFrame::Heartbeat { ts: i64::try_from(ts).ok() });
                    if socket.send(beat).await.is_err() || socket.send(Message::Ping(Default::default())).await.is_err() {
                        return End::Gone;
                    }
                }
                _ = watch.tick() => {
                    self.master.learn_session();
                    if let Some(reason) = self.check_sandbox(last_traffic) {
                        return End::Close(reason, String::new());
                    }
                }
            }
        }
    }

    /// Why the session must end now, if it must.
    fn check_sandbox(&self, last_traffic: Instant) -> Option<CloseReason> {
        let seen = self.sandboxes.view_if(
            &self.sandbox,
            |rec| crate::sandbox::access::can_read(rec, &self.who),
            |e| Ok((e.rec.phase, e.rec.message.clone(), e.rec.idle_timeout)),
        );
        match seen {
            Err(_) if self.sandboxes.exists(&self.sandbox) => Some(CloseReason::AccessRevoked),
            Err(_) => Some(CloseReason::SandboxDeleted),
            Ok((Phase::Deleting, _, _)) => Some(CloseReason::SandboxDeleted),
            Ok((Phase::Running, _, idle)) => {
                // An open terminal keeps its sandbox from idling out; an abandoned one (no
                // keystroke, no output for the sandbox's idle timeout) is closed instead.
                idle.filter(|t| last_traffic.elapsed() >= *t)
                    .map(|_| CloseReason::IdleTimeout)
            }
            Ok((_, message, _)) => Some(match message.as_str() {
                "Idle timeout exceeded" => CloseReason::IdleTimeout,
                "Max runtime exceeded" => CloseReason::SessionExpired,
                _ => CloseReason::SandboxStopped,
            }),
        }
    }
}

/// However a session ends (or if its upgrade never completes), its shell's process groups are
/// killed and the sandbox hears that the command ended.
impl Drop for Session {
    fn drop(&mut self) {
        self.master.kill_session();
        kill_group(self.pgid);
        // `_activity` is dropped after this, once the shell is gone.
    }
}

fn text(frame: &ServerFrame) -> Message {
    Message::Text(frame.encode().into())
}

/// Writes queued keystrokes to the terminal, in order.
async fn type_keys(master: Arc<Master>, mut queued: mpsc::Receiver<String>) {
    while let Some(data) = queued.recv().await {
        if master.write_all(data.as_bytes()).await.is_err() {
            return;
        }
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
