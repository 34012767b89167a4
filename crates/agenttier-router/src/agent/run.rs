//! Running one command of an agent route (install or invoke) while streaming its output as
//! `log` events into a bounded channel: the body of the SSE response.
//!
//! stdout and stderr are each read by their own task with a 64 KiB buffer; every read becomes
//! one body chunk of formatted events, and the bounded channel makes a slow client slow the
//! command down (pipe backpressure) instead of growing memory.

use std::os::unix::process::ExitStatusExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::sandbox::spawner::{OutputReader, SandboxChild};
use axum::body::Bytes;
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;

use super::sse::{self, LineSplitter, Stream};
use crate::sandbox::command::kill_group;

/// Read buffer per stream.
const READ_BUF: usize = 64 * 1024;
/// After the process group was killed: how long pipes may stay open (a process that left the
/// group) before reading stops.
const DRAIN_AFTER_KILL: Duration = Duration::from_secs(1);
/// After a normal exit without killing: how long background processes may keep the pipes open.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(150);
/// Most bytes still read from a stream after the drain deadline: what the pipe held then.
const DRAIN_AFTER_STOP: usize = 1 << 20;

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ended {
    /// The command exited with this code (128 + signal when killed by a signal).
    Exited(i32),
    /// The time limit passed; the group was killed.
    Timeout,
    /// Canceled through the cancel route; the group was killed.
    Canceled,
    /// The client went away; the group was killed.
    Disconnected,
    /// Waiting for the process failed.
    Failed,
}

/// The last bytes of output, for the install log.
pub(super) struct Tail {
    max: usize,
    data: Vec<u8>,
}

impl Tail {
    pub(super) fn new(max: usize) -> Arc<Mutex<Tail>> {
        Arc::new(Mutex::new(Tail { max, data: Vec::new() }))
    }

    fn push(&mut self, b: &[u8]) {
        self.data.extend_from_slice(b);
        if self.data.len() > self.max {
            let cut = self.data.len() - self.max;
            self.data.drain(..cut);
        }
    }

    /// The tail as text, starting at a character boundary.
    pub(super) fn text(tail: &Mutex<Tail>) -> String {
        let t = tail.lock().unwrap_or_else(|p| p.into_inner());
        let start = t.data.iter().take(3).take_while(|b| (**b & 0xC0) == 0x80).count();
        String::from_utf8_lossy(&t.data[start..]).into_owned()
    }
}

/// Sends chunks and remembers when the last one went out (for keep-alives).
#[derive(Clone)]
pub(super) struct Out {
    tx: mpsc::Sender<Bytes>,
    base: Instant,
    last_ms: Arc<AtomicU64>,
}

impl Out {
    pub(super) fn new(tx: mpsc::Sender<Bytes>) -> Out {
        Out {
            tx,
            base: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Sends a chunk, waiting while the client is behind; `false` once the client is gone.
    pub(super) async fn send(&self, b: Bytes) -> bool {
        let ok = self.tx.send(b).await.is_ok();
        self.last_ms
            .store(self.base.elapsed().as_millis() as u64, Ordering::Relaxed);
        ok
    }

    fn last_send(&self) -> Instant {
        self.base + Duration::from_millis(self.last_ms.load(Ordering::Relaxed))
    }

    pub(super) fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// Streams a command's output (see [`OutputReader`]) as `log` events of `stream`; after the stop
/// at most [`DRAIN_AFTER_STOP`] bytes (a background writer may never pause).
async fn pump(mut r: OutputReader, stream: Stream, out: Out, tail: Option<Arc<Mutex<Tail>>>) {
    let mut buf = vec![0u8; READ_BUF];
    let mut lines = LineSplitter::new(stream);
    let mut emit = async |bytes: &[u8]| {
        if let Some(t) = &tail {
            t.lock().unwrap_or_else(|p| p.into_inner()).push(bytes);
        }
        let mut chunk = Vec::with_capacity(bytes.len() + bytes.len() / 2 + 256);
        lines.feed(bytes, &mut chunk);
        chunk.is_empty() || out.send(Bytes::from(chunk)).await
    };
    let mut after_stop = 0;
    while let Some(n) = r.next(&mut buf).await {
        if !emit(&buf[..n]).await {
            return;
        }
        if r.stopped() {
            after_stop += n;
            if after_stop >= DRAIN_AFTER_STOP {
                break;
            }
        }
    }
    let mut chunk = Vec::new();
    lines.finish(&mut chunk);
    if !chunk.is_empty() {
        out.send(Bytes::from(chunk)).await;
    }
}

/// What to watch while the command runs.
pub(super) struct Watch {
    pub timeout: Duration,
    /// Keep-alive comment after this much silence (invoke only).
    pub keepalive: Option<Duration>,
    /// Notified by the cancel route.
    pub cancel: Option<Arc<Notify>>,
    /// Kill the rest of the process group when the command exits normally.
    pub kill_on_exit: bool,
    pub tail: Option<Arc<Mutex<Tail>>>,
}

/// Streams the output of `child` (leader of process group `pgid`) as `log` events through
/// `out` until it ends; every `log` event is sent before this returns.
pub(super) async fn run(mut child: SandboxChild, pgid: i32, out: &Out, w: Watch) -> Ended {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut readers: Vec<JoinHandle<()>> = Vec::new();
    if let Some(s) = child.stdout.take() {
        let output = OutputReader::new(s, stop_rx.clone());
        readers.push(tokio::spawn(pump(output, Stream::Stdout, out.clone(), w.tail.clone())));
    }
    if let Some(s) = child.stderr.take() {
        let output = OutputReader::new(s, stop_rx);
        readers.push(tokio::spawn(pump(output, Stream::Stderr, out.clone(), w.tail.clone())));
    }
    let ended = {
        let wait = child.wait();
        tokio::pin!(wait);
        let deadline = tokio::time::sleep(w.timeout);
        tokio::pin!(deadline);
        let cancel = w.cancel.clone();
        let canceled = async move {
            match cancel {
                Some(n) => n.notified().await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(canceled);
        loop {
            let next_keepalive = w.keepalive.map(|k| out.last_send() + k);
            let keepalive = async {
                match next_keepalive {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                biased;
                _ = &mut canceled => break Ended::Canceled,
                _ = &mut deadline => break Ended::Timeout,
                _ = out.tx.closed() => break Ended::Disconnected,
                status = &mut wait => break match status {
                    Ok(s) => Ended::Exited(s.code().or_else(|| s.signal().map(|sig| 128 + sig)).unwrap_or(-1)),
                    Err(_) => Ended::Failed,
                },
                _ = keepalive => {
                    if let Some(k) = w.keepalive {
                        if out.last_send().elapsed() >= k && out.tx.try_send(Bytes::from_static(sse::KEEPALIVE)).is_ok() {
                            out.last_ms.store(out.base.elapsed().as_millis() as u64, Ordering::Relaxed);
                        }
                    }
                }
            }
        }
    };
    let killed = !matches!(ended, Ended::Exited(_)) || w.kill_on_exit;
    if killed {
        kill_group(pgid);
        if !matches!(ended, Ended::Exited(_)) {
            child.wait_killed().await;
        }
    }
    let grace = if killed { DRAIN_AFTER_KILL } else { DRAIN_AFTER_EXIT };
    let all = async {
        for r in readers {
            let _ = r.await;
        }
    };
    tokio::pin!(all);
    tokio::select! {
        _ = &mut all => {}
        _ = tokio::time::sleep(grace) => {
            let _ = stop_tx.send(true);
            all.await;
        }
    }
    ended
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::unix::pipe;

    /// Output already in the pipe when the drain deadline passes is streamed, although the
    /// runtime may not know yet that the pipe is readable (it was lost that way before).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn output_waiting_in_the_pipe_is_streamed_when_the_stop_comes_first() {
        for _ in 0..100 {
            let (read, write) = rustix::pipe::pipe().unwrap();
            rustix::io::write(&write, b"line one\n").unwrap();
            let reader = pipe::Receiver::from_owned_fd(read).unwrap();
            let (tx, mut rx) = mpsc::channel(16);
            let (stop, stopped) = watch::channel(false);
            stop.send(true).unwrap();
            pump(OutputReader::new(reader, stopped), Stream::Stdout, Out::new(tx), None).await;
            drop(write);
            let mut got = Vec::new();
            while let Ok(chunk) = rx.try_recv() {
                got.extend_from_slice(&chunk);
            }
            let got = String::from_utf8_lossy(&got);
            assert!(got.contains("line one"), "{got:?}");
        }
    }
}
