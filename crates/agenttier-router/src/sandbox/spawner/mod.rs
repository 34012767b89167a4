//! How commands start in a sandbox: through the sandbox's *spawner*, a small single-threaded
//! process of the router's own executable ([`helper`]) that stands inside the sandbox (its
//! cgroups and, with namespaces, its PID namespace for children, UTS, IPC, mount and user
//! namespaces, as root with a pod's capabilities) and starts each command with `posix_spawn`.
//!
//! Why a process of its own: a command must start inside a user namespace, which a
//! multithreaded process such as the router may not join; so the router used to fork itself for
//! every command, and a fork copies page tables and costs more the larger the router is and the
//! more threads it has. The spawner joins everything once, when the sandbox starts; it is small
//! and starts commands without copying anything; and its commands are born in the sandbox's
//! cgroups with nothing to migrate (no kernel-wide cgroup lock per command, v1 or v2).
//!
//! The router talks to it over a `SOCK_SEQPACKET` socket pair ([`wire`]): a request carries the
//! command line, the environment and three descriptors (`SCM_RIGHTS`); the answer carries the
//! command's host pid, and a later one its exit status, which the spawner learns from a pidfd.
//! One task per spawner reads the answers. A spawner that died (the OOM killer of a sandbox at
//! its memory limit may pick it) is started again for the next command; a command whose caller
//! left while it started is killed.

#[cfg(target_os = "linux")]
mod helper;
#[cfg(target_os = "linux")]
mod wire;

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::process::ExitStatus;
use std::sync::Arc;
#[cfg(target_os = "linux")]
use std::sync::Mutex;
use std::time::Duration;

use tokio::net::unix::pipe;
use tokio::sync::oneshot;

/// How long a reply waits for the report that a killed command ended.
const KILLED_WAIT: Duration = Duration::from_secs(3);

/// One standard stream of a command.
pub(crate) enum Stdio {
    /// `/dev/null`.
    Null,
    /// A pipe to the router ([`SandboxChild`]'s `stdin`, `stdout` or `stderr`).
    Piped,
    /// This descriptor (a PTY's slave).
    Fd(OwnedFd),
}

/// A command started in a sandbox. Its spawner reaps it; [`SandboxChild::wait`] hears how it ended.
pub(crate) struct SandboxChild {
    pid: Option<i32>,
    pub stdin: Option<pipe::Sender>,
    pub stdout: Option<pipe::Receiver>,
    pub stderr: Option<pipe::Receiver>,
    exit: Option<oneshot::Receiver<ExitStatus>>,
    status: Option<ExitStatus>,
}

impl SandboxChild {
    /// Host pid of the command (leader of its own process group) until it has been waited for.
    pub(crate) fn id(&self) -> Option<u32> {
        self.pid.map(|p| p as u32)
    }

    /// Waits a moment for a command whose group was just killed to be reported ended. The report
    /// comes from the sandbox's spawner, which a sandbox at its CPU quota (a fork bomb) may keep
    /// from running for long: a reply never waits more than [`KILLED_WAIT`] for it.
    pub(crate) async fn wait_killed(&mut self) {
        let _ = tokio::time::timeout(KILLED_WAIT, self.wait()).await;
    }

    /// Waits for the command to end (cancel-safe; again after the end, the same status).
    pub(crate) async fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let exit = self.exit.as_mut().ok_or_else(gone)?;
        let ended = exit.await;
        self.exit = None;
        self.pid = None;
        let status = ended.map_err(|_| gone())?;
        self.status = Some(status);
        Ok(status)
    }
}

/// A command's output pipe, read until its end or until `stop` says the command is over; then
/// what the pipe still holds is read too, without waiting and whatever the runtime believes of
/// its readiness (it learns a moment after the bytes arrive that a pipe is readable: a reader
/// that took "not known to be readable" for "empty" lost output under load).
pub(crate) struct OutputReader {
    pipe: pipe::Receiver,
    stop: tokio::sync::watch::Receiver<bool>,
    stopped: bool,
}

impl OutputReader {
    pub(crate) fn new(pipe: pipe::Receiver, stop: tokio::sync::watch::Receiver<bool>) -> OutputReader {
        OutputReader {
            pipe,
            stop,
            stopped: false,
        }
    }

    /// The next bytes, read into `buf`; `None` at the end (after a stop: once the pipe is empty).
    pub(crate) async fn next(&mut self, buf: &mut [u8]) -> Option<usize> {
        use tokio::io::AsyncReadExt;
        if !self.stopped {
            tokio::select! {
                biased;
                res = self.pipe.read(buf) => return res.ok().filter(|n| *n > 0),
                _ = self.stop.wait_for(|s| *s) => self.stopped = true,
            }
        }
        rustix::io::read(&self.pipe, buf).ok().filter(|n| *n > 0)
    }

    /// Whether the stop has come (what is read now was already in the pipe).
    pub(crate) fn stopped(&self) -> bool {
        self.stopped
    }
}

fn gone() -> io::Error {
    io::Error::other("the sandbox's spawner ended (it is started again for the next command)")
}

/// What a spawner joins: its working directory, the sandbox's cgroup join files, and with
/// namespaces the sandbox's PID (for children), UTS, IPC, mount and user namespaces.
pub(crate) struct Setup {
    pub cwd: PathBuf,
    // Cgroups exist on Linux only.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub cgroups: Vec<File>,
    pub namespaces: Option<[File; 5]>,
}

/// Starts commands in one Running sandbox, to use without holding the sandboxes' lock (clones
/// share the spawner, which ends with the last clone).
#[derive(Clone)]
pub(crate) struct Launcher(Arc<Inner>);

struct Inner {
    setup: Setup,
    #[cfg(target_os = "linux")]
    current: Mutex<Option<Arc<linux::Spawner>>>,
}

impl Launcher {
    /// Starts the sandbox's spawner.
    pub(crate) async fn start(setup: Setup) -> io::Result<Launcher> {
        #[cfg(target_os = "linux")]
        let current = Mutex::new(Some(Arc::new(linux::Spawner::start(&setup).await?)));
        Ok(Launcher(Arc::new(Inner {
            setup,
            #[cfg(target_os = "linux")]
            current,
        })))
    }

    /// Whether commands run inside namespaces (and so see `/workspace`).
    pub(crate) fn namespaced(&self) -> bool {
        self.0.setup.namespaces.is_some()
    }

    /// Starts `argv` with exactly `env` in the sandbox's working directory, on `stdio` (stdin,
    /// stdout, stderr), in a process group of its own.
    pub(crate) async fn spawn(
        &self,
        argv: Vec<Vec<u8>>,
        env: Vec<Vec<u8>>,
        stdio: [Stdio; 3],
    ) -> io::Result<SandboxChild> {
        let [stdin, stdout, stderr] = stdio;
        let (stdin_fd, stdin) = match stdin {
            Stdio::Piped => {
                let (read, write) = cloexec_pipe()?;
                (read, Some(pipe::Sender::from_owned_fd(write)?))
            }
            other => (other.into_fd()?, None),
        };
        let (stdout_fd, stdout) = output(stdout)?;
        let (stderr_fd, stderr) = output(stderr)?;
        let (pid, exit) = self.run(argv, env, [stdin_fd, stdout_fd, stderr_fd]).await?;
        Ok(SandboxChild {
            pid: Some(pid),
            stdin,
            stdout,
            stderr,
            exit: Some(exit),
            status: None,
        })
    }

    /// Has the spawner start the command, starting a new spawner when the last one ended. A
    /// request the old spawner never received (it died before the router noticed) goes to the
    /// new one; one it received is never sent twice.
    #[cfg(target_os = "linux")]
    async fn run(&self, argv: Vec<Vec<u8>>, env: Vec<Vec<u8>>, fds: [OwnedFd; 3]) -> io::Result<linux::Started> {
        let mut retried = false;
        loop {
            let current = self.0.current.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let spawner = match current.filter(|s| !s.is_gone()) {
                Some(s) => s,
                None => {
                    let fresh = Arc::new(linux::Spawner::start(&self.0.setup).await?);
                    *self.0.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(fresh.clone());
                    fresh
                }
            };
            match spawner.spawn(&argv, &env, &fds).await {
                Err(linux::SpawnError::Undelivered(_)) if !retried => {
                    spawner.forget();
                    retried = true;
                }
                Err(linux::SpawnError::Undelivered(e) | linux::SpawnError::Failed(e)) => return Err(e),
                Ok(started) => return Ok(started),
            }
        }
    }

    /// Off Linux (plain processes only) commands are the router's own children.
    #[cfg(not(target_os = "linux"))]
    async fn run(
        &self,
        argv: Vec<Vec<u8>>,
        env: Vec<Vec<u8>>,
        fds: [OwnedFd; 3],
    ) -> io::Result<(i32, oneshot::Receiver<ExitStatus>)> {
        use std::os::unix::ffi::OsStrExt;
        let text = |b: &[u8]| std::ffi::OsStr::from_bytes(b).to_owned();
        let (program, args) = argv
            .split_first()
            .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
        let [stdin, stdout, stderr] = fds;
        let mut cmd = tokio::process::Command::new(text(program));
        cmd.args(args.iter().map(|a| text(a)))
            .env_clear()
            .envs(env.iter().filter_map(|kv| {
                let at = kv.iter().position(|b| *b == b'=')?;
                Some((text(&kv[..at]), text(&kv[at + 1..])))
            }))
            .current_dir(&self.0.setup.cwd)
            .process_group(0)
            .stdin(stdin)
            .stdout(stdout)
            .stderr(stderr);
        let mut child = cmd.spawn()?;
        let pid = child.id().unwrap_or(0) as i32;
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            if let Ok(status) = child.wait().await {
                let _ = tx.send(status);
            }
        });
        Ok((pid, rx))
    }
}

impl Stdio {
    /// The descriptor the command gets (not for [`Stdio::Piped`], which has two ends).
    fn into_fd(self) -> io::Result<OwnedFd> {
        match self {
            Stdio::Fd(fd) => Ok(fd),
            _ => Ok(File::options().read(true).write(true).open("/dev/null")?.into()),
        }
    }
}

/// A pipe (read end, write end) whose ends close on `exec`.
fn cloexec_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    #[cfg(target_os = "linux")]
    return Ok(rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?);
    #[cfg(not(target_os = "linux"))]
    {
        let (read, write) = rustix::pipe::pipe()?;
        for end in [&read, &write] {
            rustix::io::fcntl_setfd(end, rustix::io::FdFlags::CLOEXEC)?;
        }
        Ok((read, write))
    }
}

/// The command's end and the router's end of an output stream.
fn output(stdio: Stdio) -> io::Result<(OwnedFd, Option<pipe::Receiver>)> {
    match stdio {
        Stdio::Piped => {
            let (read, write) = cloexec_pipe()?;
            Ok((write, Some(pipe::Receiver::from_owned_fd(read)?)))
        }
        other => Ok((other.into_fd()?, None)),
    }
}

#[cfg(target_os = "linux")]
mod linux {
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
                    return Err(SpawnError::Undelivered(super::gone()));
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
                Err(_) => Err(SpawnError::Failed(super::gone())),
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
}
