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
//! ([`super::confine`]). The router opens the keeper's namespaces and ends it; the sandbox's
//! spawner ([`super::spawner`]) joins them as root of the user namespace, which is an
//! unprivileged uid on the host, with `no_new_privs` and the pod capability set, and starts
//! every command. The init stays host root outside the sandbox's user namespace, so nothing
//! inside can signal, trace or inspect it.
//!
//! Every process (init, spawner, commands) is also in the sandbox's cgroups ([`super::cgroup`]).
//! Killing the holder's `unshare` kills its init (`--kill-child`), and the kernel then kills every
//! process of that PID namespace; the cgroup is then emptied and removed: stop really ends
//! everything.
//!
//! Without namespaces a command is `/bin/sh -c` in the sandbox directory, started by a spawner
//! that confines nothing, with `WORKSPACE` and `HOME` pointing at the directory; nothing stops it
//! from reading other paths. When the router is root it still gets a cgroup (limits, and stop
//! kills all of it); otherwise stop kills the processes that still carry the sandbox directory
//! in their environment ([`kill_tagged`]).
//!
//! Every command runs in its own process group, so a timeout or a stop can kill the command and
//! everything it started (`sleep 100 & sleep 100`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

use super::cgroup::{Cgroup, Layout, Limits};
use super::confine::{Confinement, Slot};
use super::spawner::{Launcher, Setup};
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

    /// Starts the holder of a sandbox (its namespaces, with isolation), its cgroups (when the
    /// layout has any) and its spawner ([`super::spawner`]), which starts every command.
    pub(crate) async fn start_holder(
        self,
        name: &str,
        dir: &Path,
        data_dir: &Path,
        cgroups: &Layout,
        limits: Limits,
    ) -> Result<Holder, String> {
        let cgroup = match cgroups {
            Layout::None => None,
            layout => Some(
                layout
                    .create(data_dir, name, limits)
                    .map_err(|e| format!("failed to create the sandbox cgroup: {e}"))?,
            ),
        };
        let join_files = |cgroup: Option<&Cgroup>| match cgroup {
            Some(cg) => cg
                .join_files()
                .map_err(|e| format!("failed to open the sandbox cgroup: {e}")),
            None => Ok(Vec::new()),
        };
        let launch = |setup| async {
            Launcher::start(setup)
                .await
                .map_err(|e| format!("failed to start the sandbox's spawner: {e}"))
        };
        if self == Isolation::Plain {
            let setup = Setup {
                cwd: dir.to_path_buf(),
                cgroups: join_files(cgroup.as_ref())?,
                namespaces: None,
            };
            return Ok(Holder {
                inside: None,
                launcher: launch(setup).await?,
                cgroup,
            });
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
        // A group of its own: a Ctrl-C meant for a program that embeds the router (and handles
        // it) must not end every sandbox. The router ends them itself when it shuts down.
        .process_group(0)
        .kill_on_drop(true);
        let view = View::new(&root_dir, dir, name).map_err(|e| format!("failed to prepare the sandbox view: {e}"))?;
        Confinement::holder(join_files(cgroup.as_ref())?, view).attach(&mut cmd);
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
        let opened = tokio::task::spawn_blocking(move || open_keeper(pid, keeper))
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
        // The init ends the keeper now: the open descriptors keep the namespaces alive.
        let _ = lifeline.write_all(b"opened\n").await;
        let namespaces = match opened {
            Ok(ns) => ns,
            Err(e) => {
                let _ = child.start_kill();
                return Err(format!("cannot open the sandbox namespaces: {e}"));
            }
        };
        let setup = Setup {
            cwd: PathBuf::from("/workspace"),
            cgroups: join_files(cgroup.as_ref())?,
            namespaces: Some(namespaces),
        };
        let launcher = match launch(setup).await {
            Ok(l) => l,
            Err(e) => {
                let _ = child.start_kill();
                return Err(e);
            }
        };
        Ok(Holder {
            inside: Some(Inside {
                child,
                pid,
                _slot: slot,
                _lifeline: lifeline,
                _stdout: stdout.into_inner(),
                _stderr: stderr,
            }),
            launcher,
            cgroup,
        })
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

/// Opens the namespaces a sandbox's spawner joins, those of the keeper, pid `keeper` of the
/// sandbox's PID namespace: PID (for children), UTS, IPC, mount, user. The keeper is reached
/// through the holder's init (the child of the `unshare` process `unshare_pid`):
/// `/proc/<init>/root` is the sandbox's view, whose `/proc` is the sandbox's.
fn open_keeper(unshare_pid: i32, keeper: u32) -> std::io::Result<[std::fs::File; 5]> {
    let init = child_of(unshare_pid).ok_or_else(|| std::io::Error::other("the sandbox's init was not found"))?;
    let open = |name: &str| std::fs::File::open(format!("/proc/{init}/root/proc/{keeper}/ns/{name}"));
    Ok([
        open("pid_for_children")?,
        open("uts")?,
        open("ipc")?,
        open("mnt")?,
        open("user")?,
    ])
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
/// router can make them), and the spawner that starts its commands inside both.
pub(crate) struct Holder {
    inside: Option<Inside>,
    launcher: Launcher,
    cgroup: Option<Cgroup>,
}

/// The process holding a sandbox's namespaces.
struct Inside {
    child: Child,
    pid: i32,
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
        self.launcher.clone()
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

/// The command line and environment of `/bin/sh -c <command>` in a sandbox, `extra` added to
/// the environment. Sandboxes get a small, known environment: nothing of the router's own (API
/// keys!) leaks. `WORKSPACE` and `HOME` are `/workspace` inside namespaces, the sandbox directory
/// `dir` in plain mode.
pub(crate) fn shell_command(
    launcher: &Launcher,
    dir: &Path,
    sandbox: &str,
    command: &str,
    extra: &[(&str, &str)],
) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    use std::os::unix::ffi::OsStrExt;
    let workspace = if launcher.namespaced() {
        Path::new("/workspace")
    } else {
        dir
    };
    let workspace = workspace.as_os_str().as_bytes();
    let path = host_path();
    let mut env: std::collections::BTreeMap<&[u8], &[u8]> = [
        (&b"PATH"[..], path.as_bytes()),
        (b"LANG", b"C.UTF-8"),
        (b"AGENTTIER_SANDBOX", sandbox.as_bytes()),
        (b"HOSTNAME", sandbox.as_bytes()),
        (b"WORKSPACE", workspace),
        (b"HOME", workspace),
    ]
    .into_iter()
    .collect();
    for (k, v) in extra {
        env.insert(k.as_bytes(), v.as_bytes());
    }
    let argv = vec![b"/bin/sh".to_vec(), b"-c".to_vec(), command.as_bytes().to_vec()];
    let env = env.into_iter().map(|(k, v)| [k, b"=", v].concat()).collect();
    (argv, env)
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
