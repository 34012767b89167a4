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

mod child;
#[cfg(target_os = "linux")]
mod connection;
#[cfg(target_os = "linux")]
mod helper;
#[cfg(target_os = "linux")]
mod wire;

pub(crate) use child::{OutputReader, SandboxChild, Stdio};
use child::{input, output};

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
#[cfg(not(target_os = "linux"))]
use std::process::ExitStatus;
use std::sync::Arc;
#[cfg(target_os = "linux")]
use std::sync::Mutex;

#[cfg(not(target_os = "linux"))]
use tokio::sync::oneshot;

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
    current: Mutex<Option<Arc<connection::Spawner>>>,
}

impl Launcher {
    /// Starts the sandbox's spawner.
    pub(crate) async fn start(setup: Setup) -> io::Result<Launcher> {
        #[cfg(target_os = "linux")]
        let current = Mutex::new(Some(Arc::new(connection::Spawner::start(&setup).await?)));
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
        let (stdin_fd, stdin) = input(stdin)?;
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
    async fn run(&self, argv: Vec<Vec<u8>>, env: Vec<Vec<u8>>, fds: [OwnedFd; 3]) -> io::Result<connection::Started> {
        let mut retried = false;
        loop {
            let current = self.0.current.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let spawner = match current.filter(|s| !s.is_gone()) {
                Some(s) => s,
                None => {
                    let fresh = Arc::new(connection::Spawner::start(&self.0.setup).await?);
                    *self.0.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(fresh.clone());
                    fresh
                }
            };
            match spawner.spawn(&argv, &env, &fds).await {
                Err(connection::SpawnError::Undelivered(_)) if !retried => {
                    spawner.forget();
                    retried = true;
                }
                Err(connection::SpawnError::Undelivered(e) | connection::SpawnError::Failed(e)) => return Err(e),
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
