//! Starting a command inside a sandbox's namespaces without `nsenter`, which saves loading a
//! program per command.
//!
//! One thread, the *spawner*, starts every namespaced command. It gave up sharing its working
//! directory with the rest of the router (`unshare(CLONE_FS)`), which lets it join a mount
//! namespace although the router has many threads. For each command it joins the sandbox's
//! mount, UTS and IPC namespaces and points its children's PID namespace at the sandbox's,
//! spawns, and returns to the router's own namespaces. A multithreaded process may not join a
//! user namespace, so the forked child does that itself before `exec` ([`super::confine`]);
//! no extra program is loaded per command.

use std::io;
use std::sync::Arc;
#[cfg(target_os = "linux")]
use std::sync::OnceLock;
#[cfg(target_os = "linux")]
use std::sync::mpsc::{Sender, SyncSender, channel, sync_channel};

use tokio::process::{Child, Command};

/// The namespaces of a process, opened once (close-on-exec, so no sandbox process inherits them).
pub(crate) struct Namespaces {
    #[cfg(target_os = "linux")]
    joined: [(std::fs::File, nix::sched::CloneFlags); 4],
}

#[cfg(target_os = "linux")]
impl Namespaces {
    /// Opens the namespaces of `/proc/<process>` (a pid, or a path such as
    /// `<pid>/root/proc/<pid>`).
    pub(crate) fn of(process: &str) -> io::Result<Arc<Namespaces>> {
        Self::open(process).map(Arc::new)
    }

    /// Opens the namespaces of `/proc/<process>`.
    fn open(process: &str) -> io::Result<Namespaces> {
        use nix::sched::CloneFlags;
        let open = |name: &str| std::fs::File::open(format!("/proc/{process}/ns/{name}"));
        Ok(Namespaces {
            joined: [
                (open("mnt")?, CloneFlags::CLONE_NEWNS),
                (open("uts")?, CloneFlags::CLONE_NEWUTS),
                (open("ipc")?, CloneFlags::CLONE_NEWIPC),
                (open("pid_for_children")?, CloneFlags::CLONE_NEWPID),
            ],
        })
    }

    /// Moves the calling thread (and so the children it starts) into these namespaces.
    fn join(&self) -> io::Result<()> {
        for (fd, kind) in &self.joined {
            nix::sched::setns(fd, *kind)?;
        }
        Ok(())
    }

    /// Spawns `cmd` (which runs in `/workspace`) inside these namespaces.
    pub(crate) fn spawn(self: &Arc<Self>, cmd: Command) -> io::Result<Child> {
        let (reply, answer) = sync_channel(1);
        let job = Job {
            cmd,
            inside: self.clone(),
            runtime: tokio::runtime::Handle::try_current().map_err(io::Error::other)?,
            reply,
        };
        let gone = || io::Error::other("the namespace spawner thread is gone");
        spawner()?.send(job).map_err(|_| gone())?;
        answer.recv().map_err(|_| gone())?
    }
}

#[cfg(not(target_os = "linux"))]
impl Namespaces {
    /// Namespaces are Linux only (the router then runs sandboxes as plain processes).
    pub(crate) fn of(_process: &str) -> io::Result<Arc<Namespaces>> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }

    /// Never reached: no `Namespaces` exist off Linux.
    pub(crate) fn spawn(self: &Arc<Self>, mut cmd: Command) -> io::Result<Child> {
        cmd.spawn()
    }
}

/// One command for the spawner.
#[cfg(target_os = "linux")]
struct Job {
    cmd: Command,
    inside: Arc<Namespaces>,
    /// The runtime the child is registered with (the caller's).
    runtime: tokio::runtime::Handle,
    reply: SyncSender<io::Result<Child>>,
}

/// The spawner's queue, its thread started on first use.
#[cfg(target_os = "linux")]
fn spawner() -> io::Result<&'static Sender<Job>> {
    static QUEUE: OnceLock<Sender<Job>> = OnceLock::new();
    if let Some(queue) = QUEUE.get() {
        return Ok(queue);
    }
    let (queue, jobs) = channel::<Job>();
    let (ready, started) = sync_channel(1);
    std::thread::Builder::new()
        .name("agenttier-spawner".into())
        .spawn(move || {
            let home = nix::sched::unshare(nix::sched::CloneFlags::CLONE_FS)
                .map_err(io::Error::from)
                .and_then(|()| Namespaces::open("thread-self"));
            let home = match home {
                Ok(home) => {
                    let _ = ready.send(Ok(()));
                    home
                }
                Err(e) => {
                    let _ = ready.send(Err(e));
                    return;
                }
            };
            for job in jobs {
                let _entered = job.runtime.enter();
                let mut cmd = job.cmd;
                let spawned = job.inside.join().and_then(|()| cmd.spawn());
                // Back home before anything else; a thread that cannot get back must not start
                // anything again (the command it did start is still handed over).
                let back = home.join();
                let _ = job.reply.send(spawned);
                if let Err(e) = back {
                    tracing::error!(error = %e, "the namespace spawner cannot return to the router's namespaces; stopping it");
                    return;
                }
            }
        })?;
    started
        .recv()
        .map_err(|_| io::Error::other("the namespace spawner thread did not start"))??;
    Ok(QUEUE.get_or_init(|| queue))
}
