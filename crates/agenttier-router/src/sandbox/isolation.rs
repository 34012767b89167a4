//! How sandbox processes are started: confined in their own Linux namespaces, or as plain processes.
//!
//! With namespaces (root on Linux, util-linux `unshare` present, user namespaces allowed), each
//! Running sandbox has one long-lived *holder*. The router forks it and, before it runs anything
//! ([`super::confine`]), moves it into new mount, UTS and IPC namespaces whose root is the
//! sandbox's own filesystem view ([`super::view`]: read-only system directories, `/workspace`,
//! fresh `/tmp`, `/dev`; never the router's data directory, other sandboxes, `/root` or
//! `/home`). It then execs `unshare --pid --fork --kill-child --mount-proc` running a tiny
//! `/bin/sh` init ([`HOLDER_SCRIPT`]) with a fresh `/proc`. The init starts a short-lived
//! *keeper* that makes a user namespace and a mount namespace owned by it (a copy of the view,
//! every mount of which the kernel now locks: the sandbox cannot unmount, remount or move them),
//! and maps uids/gids `0..65536` of that user namespace to the sandbox's slot
//! ([`super::confine`]). The router opens the keeper's namespaces and ends it; commands join them
//! ([`super::enter`]) as root of the user namespace, which is an unprivileged uid on the host,
//! with `no_new_privs` and the pod capability set. The init stays host root outside the
//! sandbox's user namespace, so nothing inside can signal, trace or inspect it.
//!
//! Every process (init, commands) is also put in the sandbox's cgroups ([`super::cgroup`]).
//! Killing the holder's `unshare` kills its init (`--kill-child`), and the kernel then kills every
//! process of that PID namespace; the cgroup is then emptied and removed: stop really ends
//! everything.
//!
//! Without namespaces a command is `/bin/sh -c` in the sandbox directory, with `WORKSPACE` and
//! `HOME` pointing at it; nothing stops it from reading other paths. When the router is root it
//! still gets a cgroup (limits, and stop kills all of it); otherwise stop kills the processes
//! that still carry the sandbox directory in their environment ([`kill_tagged`]).
//!
//! Every command runs in its own process group, so a timeout or a stop can kill the command and
//! everything it started (`sleep 100 & sleep 100`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

use super::cgroup::{Cgroup, Layout, Limits};
use super::confine::{Confinement, Slot};
use super::enter::Namespaces;
use super::view::View;
use crate::errors::RouterError;

/// How sandboxes are isolated, as asked for on the command line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IsolationMode {
    /// Namespaces when possible (root on Linux with util-linux), plain processes otherwise.
    #[default]
    Auto,
    /// Namespaces; starting fails when they are not available.
    Namespaces,
    /// Plain processes in the sandbox directory.
    None,
}

impl std::str::FromStr for IsolationMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Self::Auto),
            "namespaces" => Ok(Self::Namespaces),
            "none" => Ok(Self::None),
            other => Err(format!(
                "unknown isolation {other:?} (expected auto, namespaces or none)"
            )),
        }
    }
}

impl std::fmt::Display for IsolationMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::Namespaces => "namespaces",
            Self::None => "none",
        })
    }
}

/// The isolation actually in effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isolation {
    Namespaces,
    Plain,
}

/// The holder's init: pid 1 of the sandbox's PID namespace, host root inside the view the
/// router built ([`View`]). Arguments: the sandbox directory (for recognition only) and the host
/// uid of root inside. It starts the keeper, maps its user namespace, prints `ready <keeper's
/// pid>`, ends the keeper once the router has opened its namespaces (a line on stdin), then
/// waits for end of input (the router's lifeline) and reaps orphans.
pub(crate) const HOLDER_SCRIPT: &str = r#"set -e
unshare --user --mount --propagation unchanged sleep infinity </dev/null >/dev/null 2>&1 &
k=$!
while [ /proc/$k/ns/user -ef /proc/self/ns/user ]; do :; done
echo "0 $2 65536" > /proc/$k/uid_map
echo "0 $2 65536" > /proc/$k/gid_map
echo "ready $k"
read -r _
kill -9 $k
exec 3<&0 </dev/null >/dev/null 2>&1
trap 'exit 0' TERM
cat <&3 >/dev/null & wait $!"#;

/// Marker in the holder's command line, so a restarted router recognises leftovers.
pub(crate) const HOLDER_MARKER: &str = "agenttier-sandbox";

fn host_path() -> String {
    std::env::var("PATH")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into())
}

fn find_tool(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&host_path())
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/bin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn probe_namespaces() -> Result<(), String> {
    if !cfg!(target_os = "linux") {
        return Err("namespaces need Linux".into());
    }
    if !nix::unistd::geteuid().is_root() {
        return Err("the router is not running as root".into());
    }
    let unshare = find_tool("unshare").ok_or("util-linux `unshare` not found on PATH")?;
    if find_tool("pivot_root").is_none() {
        return Err("util-linux `pivot_root` not found on PATH".into());
    }
    let status = std::process::Command::new(unshare)
        .args([
            "--mount",
            "--pid",
            "--uts",
            "--ipc",
            "--fork",
            "--mount-proc",
            "--user",
            "--map-root-user",
            "true",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run unshare: {e}"))?;
    if !status.success() {
        return Err(format!("`unshare --mount --pid --uts --ipc --user` failed ({status})"));
    }
    Ok(())
}

impl Isolation {
    /// Decides the isolation for `mode`, logging a warning when sandboxes will not be isolated.
    pub(crate) fn detect(mode: IsolationMode) -> Result<Isolation, RouterError> {
        const PLAIN: &str = "sandboxes are NOT isolated: commands run as plain processes with the \
                             router's own user and privileges, can read and change each other's files, \
                             the router's data directory (keys, webhook secrets) and the host; \
                             /workspace paths do not exist (use $WORKSPACE). Do not share this router";
        match mode {
            IsolationMode::None => {
                tracing::warn!("isolation disabled (--isolation none): {PLAIN}");
                Ok(Isolation::Plain)
            }
            IsolationMode::Auto => match probe_namespaces() {
                Ok(()) => Ok(Isolation::Namespaces),
                Err(why) => {
                    tracing::warn!(reason = %why, "namespaces unavailable, falling back to plain processes: {PLAIN}");
                    Ok(Isolation::Plain)
                }
            },
            IsolationMode::Namespaces => probe_namespaces()
                .map(|()| Isolation::Namespaces)
                .map_err(|why| RouterError::Config(format!("--isolation namespaces: {why}"))),
        }
    }

    /// Starts the holder of a sandbox: its namespaces (with isolation) and its cgroups (when the
    /// layout has any). `None` for plain processes without cgroups.
    pub(crate) async fn start_holder(
        self,
        name: &str,
        dir: &Path,
        data_dir: &Path,
        cgroups: &Layout,
        limits: Limits,
    ) -> Result<Option<Holder>, String> {
        let cgroup = match cgroups {
            Layout::None => None,
            layout => Some(
                layout
                    .create(data_dir, name, limits)
                    .map_err(|e| format!("failed to create the sandbox cgroup: {e}"))?,
            ),
        };
        let procs = |cgroup: Option<&Cgroup>| match cgroup {
            Some(cg) => cg
                .join_files()
                .map_err(|e| format!("failed to open the sandbox cgroup: {e}")),
            None => Ok(Vec::new()),
        };
        if self == Isolation::Plain {
            let Some(cg) = cgroup else {
                return Ok(None);
            };
            let confinement = Confinement::commands(procs(Some(&cg))?, None);
            return Ok(Some(Holder {
                inside: None,
                confinement,
                cgroup: Some(cg),
            }));
        }
        let owned = dir.to_path_buf();
        let slot = tokio::task::spawn_blocking(move || take_slot(&owned))
            .await
            .map_err(|e| format!("failed to prepare workspace: {e}"))??;
        let unshare = find_tool("unshare").ok_or("util-linux `unshare` not found")?;
        let root_dir = data_dir.join("holder-root");
        std::fs::create_dir_all(&root_dir).map_err(|e| format!("failed to prepare {}: {e}", root_dir.display()))?;
        let mut cmd = Command::new(unshare);
        cmd.args([
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "/bin/sh",
            "-c",
            HOLDER_SCRIPT,
            HOLDER_MARKER,
        ])
        .arg(dir)
        .arg(slot.root().to_string())
        .env_clear()
        .env("PATH", host_path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
        let view = View::new(&root_dir, dir, name).map_err(|e| format!("failed to prepare the sandbox view: {e}"))?;
        Confinement::holder(procs(cgroup.as_ref())?, view).attach(&mut cmd);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("failed to start sandbox namespaces: {e}"))?;
        let pid = child.id().map(|p| p as i32).unwrap_or(0);
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no holder stdout")?);
        let mut stderr = child.stderr.take().ok_or("no holder stderr")?;
        let mut line = String::new();
        let ready = tokio::time::timeout(Duration::from_secs(10), stdout.read_line(&mut line)).await;
        let keeper = line.trim().strip_prefix("ready ").and_then(|k| k.parse::<u32>().ok());
        let (Ok(Ok(_)), Some(keeper)) = (ready, keeper) else {
            let _ = child.start_kill();
            let mut err = String::new();
            let _ = tokio::time::timeout(
                Duration::from_millis(500),
                (&mut stderr).take(4096).read_to_string(&mut err),
            )
            .await;
            return Err(format!(
                "failed to prepare sandbox namespaces: {}",
                err.trim().lines().last().unwrap_or("holder did not become ready")
            ));
        };
        let mut lifeline = child.stdin.take().ok_or("no holder stdin")?;
        let tasks = cgroup.as_ref().map(Cgroup::tasks_files).unwrap_or_default();
        let opened = tokio::task::spawn_blocking(move || open_keeper(pid, keeper, tasks))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        // The init ends the keeper now: the open descriptors keep the namespaces alive.
        let _ = lifeline.write_all(b"opened\n").await;
        let (namespaces, user_ns) = match opened {
            Ok(ns) => ns,
            Err(e) => {
                let _ = child.start_kill();
                return Err(format!("cannot open the sandbox namespaces: {e}"));
            }
        };
        // The spawner thread stands in the v1 `pids` cgroup already; each child moves itself into
        // the rest (v1 `memory` and `cpu`, or the v2 cgroup).
        let cgroup_join = match &cgroup {
            Some(cg) => cg
                .command_join_files()
                .map_err(|e| format!("failed to open the sandbox cgroup: {e}"))?,
            None => Vec::new(),
        };
        let confinement = Confinement::commands(cgroup_join, Some(user_ns));
        Ok(Some(Holder {
            inside: Some(Inside {
                child,
                pid,
                namespaces,
                _slot: slot,
                _lifeline: lifeline,
                _stdout: stdout.into_inner(),
                _stderr: stderr,
            }),
            confinement,
            cgroup,
        }))
    }
}

/// Takes a uid slot for the sandbox directory `dir` and gives the directory tree to its root
/// (a new, cloned or restored workspace, or one whose slot another sandbox took meanwhile).
fn take_slot(dir: &Path) -> Result<Slot, String> {
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::symlink_metadata(dir)
        .map_err(|e| format!("failed to prepare workspace: {e}"))?
        .uid();
    let slot = Slot::take(owner).map_err(|e| format!("failed to prepare workspace: {e}"))?;
    if owner != slot.root() {
        crate::files::confined::give_tree(dir, slot.root())
            .map_err(|e| format!("failed to give the workspace to the sandbox's uid: {e}"))?;
    }
    Ok(slot)
}

/// Starts the sandbox's spawner in the namespaces of the keeper (and in the v1 cgroups
/// `cgroup_tasks`) and opens its user namespace. The keeper is pid `keeper` of the sandbox's PID
/// namespace, reached through the holder's init (the child of the `unshare` process `unshare_pid`): `/proc/<init>/root` is the
/// sandbox's view, whose `/proc` is the sandbox's.
fn open_keeper(
    unshare_pid: i32,
    keeper: u32,
    cgroup_tasks: Vec<PathBuf>,
) -> std::io::Result<(Namespaces, std::fs::File)> {
    let init = child_of(unshare_pid).ok_or_else(|| std::io::Error::other("the sandbox's init was not found"))?;
    let process = format!("{init}/root/proc/{keeper}");
    let ns = Namespaces::start(&process, cgroup_tasks)?;
    let user = std::fs::File::open(format!("/proc/{process}/ns/user"))?;
    Ok((ns, user))
}

/// The (first) child of `parent`, by a scan of `/proc`: pids above the parent's first, where a
/// child almost always is.
fn child_of(parent: i32) -> Option<i32> {
    let mut pids: Vec<i32> = crate::procfs::pids().collect();
    pids.sort_by_key(|p| (*p <= parent, *p));
    pids.into_iter()
        .find(|pid| crate::procfs::stat_field(*pid, 1) == Some(parent))
}

/// What a Running sandbox holds: its namespaces (none in plain mode), its cgroups (when the
/// router can make them), and how a command enters both.
pub(crate) struct Holder {
    inside: Option<Inside>,
    confinement: Arc<Confinement>,
    cgroup: Option<Cgroup>,
}

/// The process holding a sandbox's namespaces.
struct Inside {
    child: Child,
    pid: i32,
    namespaces: Namespaces,
    _slot: Slot,
    // The holder waits for end of input on this pipe: when the router goes away, however it goes
    // (even `kill -9`), the pipe closes, the holder exits, and `--kill-child` ends every process of
    // the sandbox, so no sandbox outlives its router.
    _lifeline: ChildStdin,
    // Kept open so the holder never writes into a closed pipe.
    _stdout: ChildStdout,
    _stderr: ChildStderr,
}

impl Holder {
    /// Host pid of the `unshare` process (none in plain mode).
    pub(crate) fn pid(&self) -> Option<i32> {
        self.inside.as_ref().map(|i| i.pid)
    }

    /// How to start commands in this sandbox, to use without holding the sandboxes' lock.
    pub(crate) fn launcher(&self) -> Launcher {
        Launcher {
            confinement: self.confinement.clone(),
            spawner: self.inside.as_ref().map(|i| i.namespaces.clone()),
        }
    }

    /// Kills the holder and with it every process of the sandbox.
    pub(crate) fn kill(&mut self) {
        if let Some(i) = &mut self.inside {
            let _ = i.child.start_kill();
        }
        if let Some(cg) = &self.cgroup {
            cg.kill_all();
        }
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        self.kill();
    }
}

/// How commands start in one Running sandbox ([`Holder::launcher`]; `None` for plain processes
/// without cgroups).
#[derive(Clone)]
pub(crate) struct Launcher {
    confinement: Arc<Confinement>,
    /// The spawner inside the sandbox's namespaces (none in plain mode).
    spawner: Option<Namespaces>,
}

impl Launcher {
    /// Whether commands run inside namespaces (and so see `/workspace`).
    pub(crate) fn namespaced(&self) -> bool {
        self.spawner.is_some()
    }
}

/// Builds the `/bin/sh -c <command>` invocation for a sandbox, in its own process group; start it
/// with [`spawn`].
pub(crate) fn shell_command(launcher: Option<&Launcher>, dir: &Path, sandbox: &str, command: &str) -> Command {
    let workspace = if launcher.is_some_and(Launcher::namespaced) {
        Path::new("/workspace")
    } else {
        dir
    };
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(command)
        .env("WORKSPACE", workspace)
        .env("HOME", workspace);
    // With a holder the path is resolved inside the sandbox's mount namespace.
    cmd.current_dir(workspace);
    cmd.env_clear_keep(sandbox);
    cmd.process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Starts any command (one built by [`shell_command`], or a PTY shell) confined to the sandbox:
/// in its cgroups, and inside its namespaces and user namespace when there are some. A child
/// joining cgroups starts off the async workers: `spawn` returns once the child has `exec`ed,
/// which in a sandbox at its memory limit or CPU quota can take long.
pub(crate) async fn spawn(mut cmd: Command, launcher: Option<&Launcher>) -> std::io::Result<Child> {
    let Some(l) = launcher else {
        super::confine::prepare(&mut cmd, None);
        return cmd.spawn();
    };
    l.confinement.attach(&mut cmd);
    match &l.spawner {
        Some(spawner) => spawner.spawn(cmd).await,
        None => {
            let (reply, answer) = tokio::sync::oneshot::channel();
            tokio::task::spawn_blocking(move || super::command::deliver(reply, cmd.spawn()));
            answer.await.unwrap_or_else(|e| Err(std::io::Error::other(e)))
        }
    }
}

trait EnvReset {
    fn env_clear_keep(&mut self, sandbox: &str);
}

impl EnvReset for Command {
    /// Sandboxes get a small, known environment: nothing of the router's own (API keys!) leaks.
    fn env_clear_keep(&mut self, sandbox: &str) {
        let keep: Vec<(std::ffi::OsString, std::ffi::OsString)> = self
            .as_std()
            .get_envs()
            .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned())))
            .collect();
        self.env_clear();
        self.env("PATH", host_path())
            .env("LANG", "C.UTF-8")
            .env("AGENTTIER_SANDBOX", sandbox)
            .env("HOSTNAME", sandbox);
        for (k, v) in keep {
            self.env(k, v);
        }
    }
}

/// Pids of the holder processes whose sandbox directory lies under `sandboxes` (the data dir's
/// `sandboxes/`). A router killed between starting a holder and recording its pid leaves one
/// that only this scan finds.
pub(crate) fn holders_under(sandboxes: &Path) -> Vec<i32> {
    let prefix = sandboxes.as_os_str().as_encoded_bytes();
    own_processes()
        .filter(|pid| {
            let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
            args.windows(2).any(|w| {
                w[0] == HOLDER_MARKER.as_bytes()
                    && w[1]
                        .strip_prefix(prefix)
                        .is_some_and(|rest| rest.first() == Some(&b'/'))
            })
        })
        .collect()
}

/// True when a process with this pid exists and its command line carries the holder marker and
/// `dir` (so an unrelated process that reused the pid is never killed).
pub(crate) fn is_stale_holder(pid: i32, dir: &Path) -> bool {
    if !is_own_process(pid) {
        return false;
    }
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let dir = dir.as_os_str().as_encoded_bytes();
    args.contains(&HOLDER_MARKER.as_bytes()) && args.contains(&dir)
}

/// Plain mode without cgroups: SIGKILLs every process whose environment still says it belongs
/// to the sandbox directory `dir` (`WORKSPACE=<dir>`, inherited by everything a command starts,
/// whatever session or parent it moved to). A process that rewrote its environment escapes
/// this; plain mode makes no isolation promise.
pub(crate) fn kill_tagged(dir: &Path) {
    let mut tag = b"WORKSPACE=".to_vec();
    tag.extend_from_slice(dir.as_os_str().as_encoded_bytes());
    let me = std::process::id() as i32;
    for pid in own_processes().filter(|pid| *pid != me) {
        let Ok(env) = std::fs::read(format!("/proc/{pid}/environ")) else {
            continue;
        };
        if env.split(|b| *b == 0).any(|var| var == tag.as_slice()) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// The processes running under the router's own uid. Only theirs are ever read for a command
/// line or environment: reading either takes the process's memory-map lock, which a process of a
/// sandbox at its memory limit or CPU quota can hold for minutes (the reader would hang with it).
/// Sandbox processes run under their slot's uids, so a scan never touches them.
fn own_processes() -> impl Iterator<Item = i32> {
    crate::procfs::pids().filter(|pid| is_own_process(*pid))
}

/// Whether process `pid` runs under the router's uid (the owner of its `/proc` entry).
fn is_own_process(pid: i32) -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}")).is_ok_and(|m| m.uid() == nix::unistd::geteuid().as_raw())
}
