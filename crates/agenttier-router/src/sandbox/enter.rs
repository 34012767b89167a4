//! Starting a command inside a sandbox's namespaces and cgroups without `nsenter`, which saves
//! loading a program per command.
//!
//! Each Running sandbox has its own *spawner* thread. It gave up sharing its working directory
//! with the rest of the router (`unshare(CLONE_FS)`), which lets it join a mount namespace
//! although the router has many threads; it joins the sandbox's mount, UTS and IPC namespaces,
//! points its children's PID namespace at the sandbox's, and, with cgroup v1, moves itself into
//! the sandbox's `pids` cgroup (v1 places threads one by one), once, when the sandbox starts.
//! Every command is then forked from that thread and so starts inside all of them, and joins the
//! rest of its cgroups itself ([`super::cgroup`]). (The thread stands in no `memory` or `cpu`
//! cgroup: a sandbox at its limit would stall or throttle it.) A multithreaded process may not
//! join a user namespace, so the forked child does that itself before `exec`
//! ([`super::confine`]); no extra program is loaded per command. Callers wait for the thread
//! asynchronously, without the sandboxes' lock: a start inside a sandbox at its limits can be
//! slow, and holds up only that sandbox's commands. The thread ends when the sandbox has stopped
//! and no start is pending.

use std::io;
#[cfg(target_os = "linux")]
use std::io::Write;
use std::path::PathBuf;
#[cfg(target_os = "linux")]
use std::sync::mpsc::{Sender, channel, sync_channel};

use tokio::process::{Child, Command};

/// The spawner of one sandbox (a handle: clones share the thread, which ends with the last one).
#[derive(Clone)]
pub(crate) struct Namespaces {
    #[cfg(target_os = "linux")]
    queue: Sender<Job>,
}

#[cfg(target_os = "linux")]
impl Namespaces {
    /// Starts the spawner of the sandbox whose namespaces are those of `/proc/<process>` (a pid,
    /// or a path such as `<pid>/root/proc/<pid>`), in the cgroup v1 `tasks` files given.
    pub(crate) fn start(process: &str, cgroup_tasks: Vec<PathBuf>) -> io::Result<Namespaces> {
        use nix::sched::CloneFlags;
        let open = |name: &str| std::fs::File::open(format!("/proc/{process}/ns/{name}"));
        let joined = [
            (open("mnt")?, CloneFlags::CLONE_NEWNS),
            (open("uts")?, CloneFlags::CLONE_NEWUTS),
            (open("ipc")?, CloneFlags::CLONE_NEWIPC),
            (open("pid_for_children")?, CloneFlags::CLONE_NEWPID),
        ];
        // Opened here: the sandbox's view has no /sys.
        let tasks = cgroup_tasks
            .iter()
            .map(|t| std::fs::OpenOptions::new().write(true).open(t))
            .collect::<io::Result<Vec<_>>>()?;
        let (queue, jobs) = channel::<Job>();
        let (ready, started) = sync_channel(1);
        std::thread::Builder::new()
            .name("agenttier-spawner".into())
            .stack_size(256 * 1024)
            .spawn(move || {
                let entered = nix::sched::unshare(CloneFlags::CLONE_FS)
                    .map_err(io::Error::from)
                    .and_then(|()| {
                        for (fd, kind) in &joined {
                            nix::sched::setns(fd, *kind)?;
                        }
                        // "0" moves the writing thread alone, without the kernel-wide lock a
                        // move by id takes (super::cgroup).
                        for mut file in tasks {
                            file.write_all(b"0")?;
                        }
                        Ok(())
                    });
                drop(joined);
                let failed = entered.is_err();
                let _ = ready.send(entered);
                if failed {
                    return;
                }
                for job in jobs {
                    let _entered = job.runtime.enter();
                    let mut cmd = job.cmd;
                    super::command::deliver(job.reply, cmd.spawn());
                }
            })?;
        started
            .recv()
            .map_err(|_| io::Error::other("the sandbox's spawner thread did not start"))??;
        Ok(Namespaces { queue })
    }

    /// Spawns `cmd` (which runs in `/workspace`) inside the sandbox. The caller's task waits
    /// without holding its thread: a start can take long in a sandbox at its memory limit or
    /// CPU quota, and must hold up nothing else.
    pub(crate) async fn spawn(&self, cmd: Command) -> io::Result<Child> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job {
            cmd,
            runtime: tokio::runtime::Handle::try_current().map_err(io::Error::other)?,
            reply,
        };
        let gone = || io::Error::other("the sandbox's spawner thread is gone");
        self.queue.send(job).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

#[cfg(not(target_os = "linux"))]
impl Namespaces {
    /// Namespaces are Linux only (the router then runs sandboxes as plain processes).
    pub(crate) fn start(_process: &str, _cgroup_tasks: Vec<PathBuf>) -> io::Result<Namespaces> {
        Err(io::Error::from(io::ErrorKind::Unsupported))
    }

    /// Never reached: no `Namespaces` exist off Linux.
    pub(crate) async fn spawn(&self, mut cmd: Command) -> io::Result<Child> {
        cmd.spawn()
    }
}

/// One command for a spawner.
#[cfg(target_os = "linux")]
struct Job {
    cmd: Command,
    /// The runtime the child is registered with (the caller's).
    runtime: tokio::runtime::Handle,
    reply: tokio::sync::oneshot::Sender<io::Result<Child>>,
}
