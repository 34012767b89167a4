//! How sandbox processes are started: in their own Linux namespaces, or as plain processes.
//!
//! With namespaces (root on Linux, util-linux `unshare` present), each Running
//! sandbox has one long-lived *holder*: `unshare --mount --pid --uts --ipc --fork --kill-child
//! --mount-proc` running a tiny `/bin/sh` init that bind-mounts the sandbox directory at
//! `/workspace`, hides the router's data directory behind an empty tmpfs (so a sandbox cannot read
//! another's files or the key database), sets the hostname to the sandbox name and then waits,
//! reaping orphans. Commands join its namespaces ([`super::enter`]). Killing the holder's `unshare` kills its init
//! (`--kill-child`), and the kernel then kills every process of that PID namespace: stop really
//! ends everything.
//!
//! Without namespaces a command is `/bin/sh -c` in the sandbox directory, with `WORKSPACE` and
//! `HOME` pointing at it; nothing stops it from reading other paths.
//!
//! Every command runs in its own process group, so a timeout or a stop can kill the command and
//! everything it started (`sleep 100 & sleep 100`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command};

use super::enter::Namespaces;
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

const HOLDER_SCRIPT: &str = r#"set -e
mkdir -p /workspace
mount --bind "$1" /workspace
mount -t tmpfs -o size=64k,mode=0700 agenttier-hidden "$2"
echo "$3" > /proc/sys/kernel/hostname
echo ready
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
    let status = std::process::Command::new(unshare)
        .args(["--mount", "--pid", "--uts", "--ipc", "--fork", "--mount-proc", "true"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run unshare: {e}"))?;
    if !status.success() {
        return Err(format!("`unshare --mount --pid --uts --ipc` failed ({status})"));
    }
    Ok(())
}

impl Isolation {
    /// Decides the isolation for `mode`, logging a warning when sandboxes will not be isolated.
    pub(crate) fn detect(mode: IsolationMode) -> Result<Isolation, RouterError> {
        match mode {
            IsolationMode::None => {
                tracing::warn!(
                    "isolation disabled (--isolation none): sandbox commands run as plain processes in \
                     their sandbox directory, /workspace paths do not exist (use $WORKSPACE), and \
                     sandboxes can read each other's files"
                );
                Ok(Isolation::Plain)
            }
            IsolationMode::Auto => match probe_namespaces() {
                Ok(()) => Ok(Isolation::Namespaces),
                Err(why) => {
                    tracing::warn!(
                        reason = %why,
                        "namespaces unavailable, falling back to plain processes: sandbox commands \
                         run in their sandbox directory, /workspace paths do not exist (use \
                         $WORKSPACE), and sandboxes are not isolated from each other"
                    );
                    Ok(Isolation::Plain)
                }
            },
            IsolationMode::Namespaces => probe_namespaces()
                .map(|()| Isolation::Namespaces)
                .map_err(|why| RouterError::Config(format!("--isolation namespaces: {why}"))),
        }
    }

    /// Starts the namespace holder of a sandbox (namespaces only; `None` for plain processes).
    pub(crate) async fn start_holder(self, name: &str, dir: &Path, hide: &Path) -> Result<Option<Holder>, String> {
        if self == Isolation::Plain {
            return Ok(None);
        }
        let unshare = find_tool("unshare").ok_or("util-linux `unshare` not found")?;
        let mut child = Command::new(unshare)
            .args([
                "--mount",
                "--pid",
                "--uts",
                "--ipc",
                "--fork",
                "--kill-child",
                "--mount-proc",
                "--propagation",
                "private",
                "/bin/sh",
                "-c",
                HOLDER_SCRIPT,
                HOLDER_MARKER,
            ])
            .arg(dir)
            .arg(hide)
            .arg(name)
            .env_clear()
            .env("PATH", host_path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("failed to start sandbox namespaces: {e}"))?;
        let pid = child.id().map(|p| p as i32).unwrap_or(0);
        let mut stdout = BufReader::new(child.stdout.take().ok_or("no holder stdout")?);
        let mut stderr = child.stderr.take().ok_or("no holder stderr")?;
        let mut line = String::new();
        let ready = tokio::time::timeout(Duration::from_secs(10), stdout.read_line(&mut line)).await;
        if !matches!(ready, Ok(Ok(_))) || line.trim() != "ready" {
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
        }
        let lifeline = child.stdin.take().ok_or("no holder stdin")?;
        let namespaces = match Namespaces::of(pid) {
            Ok(ns) => ns,
            Err(e) => {
                let _ = child.start_kill();
                return Err(format!("cannot open the sandbox namespaces: {e}"));
            }
        };
        Ok(Some(Holder {
            child,
            pid,
            namespaces,
            _lifeline: lifeline,
            _stdout: stdout.into_inner(),
            _stderr: stderr,
        }))
    }
}

/// The process holding a sandbox's namespaces.
pub(crate) struct Holder {
    child: Child,
    pid: i32,
    namespaces: Arc<Namespaces>,
    // The holder waits for end of input on this pipe: when the router goes away, however it goes
    // (even `kill -9`), the pipe closes, the holder exits, and `--kill-child` ends every process of
    // the sandbox, so no sandbox outlives its router.
    _lifeline: ChildStdin,
    // Kept open so the holder never writes into a closed pipe.
    _stdout: ChildStdout,
    _stderr: ChildStderr,
}

impl Holder {
    /// Host pid of the `unshare` process.
    pub(crate) fn pid(&self) -> i32 {
        self.pid
    }

    /// Kills the holder and with it every process of the sandbox.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Builds the `/bin/sh -c <command>` invocation for a sandbox, in its own process group; start it
/// with [`spawn`].
pub(crate) fn shell_command(holder: Option<&Holder>, dir: &Path, sandbox: &str, command: &str) -> Command {
    let workspace = if holder.is_some() { Path::new("/workspace") } else { dir };
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

/// Starts a command built by [`shell_command`]: inside the holder's namespaces when there is one.
pub(crate) fn spawn(mut cmd: Command, holder: Option<&Holder>) -> std::io::Result<Child> {
    match holder {
        Some(h) => h.namespaces.spawn(cmd),
        None => cmd.spawn(),
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
    let Ok(proc_dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let prefix = sandboxes.as_os_str().as_encoded_bytes();
    proc_dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
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
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let dir = dir.as_os_str().as_encoded_bytes();
    args.contains(&HOLDER_MARKER.as_bytes()) && args.contains(&dir)
}
