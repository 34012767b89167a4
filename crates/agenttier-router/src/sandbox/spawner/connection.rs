//! The router's end of one running spawner: starting it, its socket, and the task that reads
//! its answers and hands each to whoever waits for it.

use std::collections::HashMap;
use std::io::{self, IoSlice};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rustix::net::{
    AddressFamily, RecvFlags, SendAncillaryBuffer, SendAncillaryMessage, SendFlags, SocketFlags, SocketType,
};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::oneshot;

use super::Setup;
use super::helper::MARKER;
use super::wire::{MAX_PACKET, Reply, Request, spawn_packet};
use crate::sandbox::command::kill_group;

/// A started command: its host pid and where its exit status arrives.
pub(super) type Started = (i32, oneshot::Receiver<ExitStatus>);

/// How long a new spawner may take to confine itself.
const SETUP_TIMEOUT: Duration = Duration::from_secs(10);

/// One running spawner process and the router's end of its socket.
pub(super) struct Spawner {
    shared: Arc<Shared>,
    _process: tokio::process::Child,
}

struct Shared {
    socket: AsyncFd<OwnedFd>,
    waiting: Mutex<Waiting>,
    tokens: AtomicU64,
}

#[derive(Default)]
struct Waiting {
    /// Requests sent and not answered yet, by token.
    starts: HashMap<u64, oneshot::Sender<io::Result<Started>>>,
    /// Commands running, by pid.
    exits: HashMap<i32, oneshot::Sender<ExitStatus>>,
    /// The spawner has ended: nothing more will be answered.
    gone: bool,
}

impl Spawner {
    /// Starts a spawner process and has it confine itself as `setup` says.
    pub(super) async fn start(setup: &Setup) -> io::Result<Spawner> {
        if !super::helper::present() {
            return Err(io::Error::other(
                "this executable lacks the sandbox spawner's constructor (its linker dropped the router's `ctor`)",
            ));
        }
        let (ours, theirs) =
            rustix::net::socketpair(AddressFamily::UNIX, SocketType::SEQPACKET, SocketFlags::CLOEXEC, None)?;
        // The kernel caps it (at `wmem_max` without privilege); larger packets fail to send.
        let _ = rustix::net::sockopt::set_socket_send_buffer_size(&ours, 2 * MAX_PACKET);
        rustix::io::ioctl_fionbio(&ours, true)?;
        let mut command = tokio::process::Command::new("/proc/self/exe");
        command.arg0("agenttier-sandbox-spawner").env_clear().env(MARKER, "1");
        if let Some(libs) = std::env::var_os("LD_LIBRARY_PATH") {
            command.env("LD_LIBRARY_PATH", libs);
        }
        // A group of its own: a Ctrl-C meant for a program that embeds the router (and
        // handles it) does not reach the spawners.
        let process = command
            .process_group(0)
            .stdin(std::process::Stdio::from(theirs))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()?;
        // `AsyncFd::new` is deprecated because a borrowed raw descriptor could be closed while
        // registered; this one owns its `OwnedFd` (the replacement is `unsafe`).
        #[allow(deprecated)]
        let socket = AsyncFd::new(ours)?;
        let shared = Arc::new(Shared {
            socket,
            waiting: Mutex::new(Waiting::default()),
            tokens: AtomicU64::new(0),
        });
        let mut fds: Vec<BorrowedFd<'_>> = setup.cgroups.iter().map(AsFd::as_fd).collect();
        if let Some(ns) = &setup.namespaces {
            fds.extend(ns.iter().map(AsFd::as_fd));
        }
        let request = Request::Setup {
            cwd: setup.cwd.as_os_str().as_bytes().to_vec(),
            cgroups: setup.cgroups.len() as u32,
            namespaced: setup.namespaces.is_some(),
        };
        shared.send(&request.encode(), &fds).await?;
        match tokio::time::timeout(SETUP_TIMEOUT, shared.receive()).await {
            Ok(Ok(Some(Reply::Ready))) => {}
            Ok(Ok(Some(Reply::Refused { errno, .. }))) => {
                let e = io::Error::from_raw_os_error(errno);
                return Err(io::Error::new(
                    e.kind(),
                    format!("the sandbox's spawner cannot enter it: {e}"),
                ));
            }
            _ => return Err(io::Error::other("the sandbox's spawner did not start")),
        }
        tokio::spawn(read_replies(shared.clone()));
        Ok(Spawner {
            shared,
            _process: process,
        })
    }

    pub(super) fn is_gone(&self) -> bool {
        self.shared.lock().gone
    }

    /// Has the spawner start `argv`; answers once it runs (or could not start).
    pub(super) async fn spawn(
        &self,
        argv: &[Vec<u8>],
        env: &[Vec<u8>],
        fds: &[OwnedFd; 3],
    ) -> Result<Started, SpawnError> {
        let token = self.shared.tokens.fetch_add(1, Ordering::Relaxed) + 1;
        let packet = spawn_packet(token, argv, env);
        if packet.len() > MAX_PACKET {
            return Err(SpawnError::Failed(too_large()));
        }
        let (reply, answer) = oneshot::channel();
        {
            let mut waiting = self.shared.lock();
            if waiting.gone {
                return Err(SpawnError::Undelivered(super::child::gone()));
            }
            waiting.starts.insert(token, reply);
        }
        let _forget = Forget(&self.shared, token);
        let borrowed = fds.each_ref().map(AsFd::as_fd);
        match self.shared.send(&packet, &borrowed).await {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(rustix::io::Errno::MSGSIZE.raw_os_error()) => {
                return Err(SpawnError::Failed(too_large()));
            }
            Err(e) => return Err(SpawnError::Undelivered(e)),
        }
        match answer.await {
            Ok(started) => started.map_err(SpawnError::Failed),
            Err(_) => Err(SpawnError::Failed(super::child::gone())),
        }
    }

    /// Marks this spawner as ended (a request could not reach it).
    pub(super) fn forget(&self) {
        self.shared.lock().gone = true;
    }
}

/// Why a start failed.
pub(super) enum SpawnError {
    /// The request never reached the spawner: it can go to another one.
    Undelivered(io::Error),
    /// The spawner had it: it failed, or the spawner ended before answering.
    Failed(io::Error),
}

fn too_large() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "the command and its environment are too large to start (keep them under 128 KiB each)",
    )
}

/// Forgets a start request when its caller goes away before the answer.
struct Forget<'a>(&'a Shared, u64);

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        self.0.lock().starts.remove(&self.1);
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Waiting> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn send(&self, packet: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<()> {
        self.socket
            .async_io(Interest::WRITABLE, |socket| {
                let mut space = vec![MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(fds.len()))];
                let mut control = SendAncillaryBuffer::new(&mut space);
                if !fds.is_empty() && !control.push(SendAncillaryMessage::ScmRights(fds)) {
                    return Err(io::Error::other("too many descriptors for one packet"));
                }
                rustix::net::sendmsg(socket, &[IoSlice::new(packet)], &mut control, SendFlags::NOSIGNAL)?;
                Ok(())
            })
            .await
    }

    /// The next answer; `None` once the spawner has gone.
    async fn receive(&self) -> io::Result<Option<Reply>> {
        let mut packet = [0u8; 64];
        let n = self
            .socket
            .async_io(Interest::READABLE, |socket| {
                Ok(rustix::net::recv(socket, &mut packet, RecvFlags::empty())?)
            })
            .await?
            .0;
        Ok(if n == 0 { None } else { Reply::decode(&packet[..n]) })
    }

    fn dispatch(&self, reply: Reply) {
        let mut waiting = self.lock();
        match reply {
            Reply::Spawned { token, pid } => {
                let (exit, exited) = oneshot::channel();
                waiting.exits.insert(pid, exit);
                let delivered = waiting
                    .starts
                    .remove(&token)
                    .is_some_and(|start| start.send(Ok((pid, exited))).is_ok());
                if !delivered {
                    // No one is waiting for it: no command runs untracked.
                    kill_group(pid);
                }
            }
            Reply::Refused { token, errno } => {
                if let Some(start) = waiting.starts.remove(&token) {
                    let _ = start.send(Err(io::Error::from_raw_os_error(errno)));
                }
            }
            Reply::Exited { pid, status } => {
                if let Some(exit) = waiting.exits.remove(&pid) {
                    let _ = exit.send(ExitStatus::from_raw(status));
                }
            }
            Reply::Ready => {}
        }
    }
}

/// Delivers the spawner's answers until it ends; then every caller still waiting hears so.
async fn read_replies(shared: Arc<Shared>) {
    while let Ok(Some(reply)) = shared.receive().await {
        shared.dispatch(reply);
    }
    let mut waiting = shared.lock();
    waiting.gone = true;
    waiting.starts.clear();
    waiting.exits.clear();
}
