//! Resource limits: one cgroup per Running sandbox, holding every process of it.
//!
//! Both layouts are supported. With cgroup v2 (a `cgroup.controllers` file at
//! `/sys/fs/cgroup`, or at `/sys/fs/cgroup/unified` with controllers in it) one cgroup gets
//! `pids.max`, `memory.max` (+ `memory.swap.max` 0) and `cpu.max`. On the hybrid v1 layout
//! (controllers mounted at `/sys/fs/cgroup/<controller>`, an empty v2 `unified`) the `pids`,
//! `memory` and `cpu` hierarchies each get a cgroup with `pids.max`,
//! `memory.limit_in_bytes` (+ `memory.memsw.limit_in_bytes` when swap accounting is on) and
//! `cpu.cfs_quota_us`. What is usable is detected at start, and a router that can set no limit
//! says so.
//!
//! Cgroups live under `agenttier/<hash of the data directory>/`, so a restarted router finds
//! and removes the leftovers of its own killed predecessor, and never touches another router's.
//! Stop and delete kill every process in the cgroup (whatever session or parent it has) and then
//! remove it.
//!
//! Two processes join each sandbox's cgroups, once, by writing `0` (themselves): the holder's
//! init from between fork and exec, and the sandbox's spawner ([`super::spawner`]) when it
//! starts. Every command is the spawner's child and is born inside; nothing migrates per
//! command. With v1 the join writes to `tasks`, which moves the calling thread only (both are
//! single-threaded then, so that is the whole process) and, unlike `cgroup.procs`, takes no
//! kernel-wide lock. A migration through `cgroup.procs` (v2 has no per-thread move for domain
//! cgroups) takes the write side of the kernel's `cgroup_threadgroup_rwsem`, whose read side
//! every `fork` on the machine holds: behind a fork bomb throttled at its CPU quota it can wait
//! for seconds, which is why it happens only at sandbox start, never per command.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Limits of one sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Most processes (and threads) at once.
    pub pids: u64,
    /// Most bytes of memory (page cache and tmpfs files included).
    pub memory: u64,
    /// CPU time per 100 ms period, in microseconds (100 000 = one core).
    pub cpu_quota_us: u64,
}

/// CFS period the quota is given against.
const CPU_PERIOD_US: u64 = 100_000;

impl Default for Limits {
    /// The defaults without `resources`: 1024 processes, 2 GiB, 2 cores.
    fn default() -> Limits {
        Limits {
            pids: 1024,
            memory: 2 << 30,
            cpu_quota_us: 2 * CPU_PERIOD_US,
        }
    }
}

impl Limits {
    /// The defaults with a Kubernetes `memory` and `cpu` quantity applied where given and
    /// readable (at least 16 MiB and 0.01 core).
    pub(crate) fn from_resources(cpu: Option<&str>, memory: Option<&str>) -> Limits {
        let mut l = Limits::default();
        if let Some(bytes) = memory.and_then(crate::governance::quantity_bytes) {
            l.memory = (bytes as u64).max(16 << 20);
        }
        if let Some(millis) = cpu.and_then(crate::governance::cpu_millis) {
            l.cpu_quota_us = ((millis * CPU_PERIOD_US as f64 / 1000.0) as u64).max(1000);
        }
        l
    }
}

/// Where sandbox cgroups can be made on this machine.
#[derive(Debug, Clone)]
pub(crate) enum Layout {
    /// One v2 hierarchy, at this mount point.
    V2(PathBuf),
    /// v1 hierarchies: the mount points of `pids`, `memory`, `cpu` that exist.
    V1 {
        pids: Option<PathBuf>,
        memory: Option<PathBuf>,
        cpu: Option<PathBuf>,
    },
    /// No cgroups (not root, or none mounted).
    None,
}

const ROOT: &str = "/sys/fs/cgroup";

impl Layout {
    /// Detects the usable layout (root only).
    pub(crate) fn detect() -> Layout {
        if !nix::unistd::geteuid().is_root() {
            return Layout::None;
        }
        let root = Path::new(ROOT);
        let v2_with = |dir: &Path| {
            fs::read_to_string(dir.join("cgroup.controllers"))
                .map(|c| {
                    ["pids", "memory", "cpu"]
                        .iter()
                        .any(|k| c.split_whitespace().any(|w| w == *k))
                })
                .unwrap_or(false)
        };
        if v2_with(root) {
            return Layout::V2(root.to_path_buf());
        }
        let unified = root.join("unified");
        if v2_with(&unified) {
            return Layout::V2(unified);
        }
        let v1 = |name: &str| {
            let dir = root.join(name);
            dir.join("cgroup.procs").is_file().then_some(dir)
        };
        let (pids, memory, cpu) = (v1("pids"), v1("memory"), v1("cpu"));
        if pids.is_none() && memory.is_none() && cpu.is_none() {
            Layout::None
        } else {
            Layout::V1 { pids, memory, cpu }
        }
    }

    /// A one-line description for the start log.
    pub(crate) fn describe(&self) -> String {
        match self {
            Layout::V2(p) => format!("cgroup v2 at {}", p.display()),
            Layout::V1 { pids, memory, cpu } => {
                let have: Vec<&str> = [("pids", pids), ("memory", memory), ("cpu", cpu)]
                    .iter()
                    .filter(|(_, p)| p.is_some())
                    .map(|(n, _)| *n)
                    .collect();
                format!("cgroup v1 ({})", have.join(", "))
            }
            Layout::None => "none".into(),
        }
    }

    /// The hierarchies' roots.
    fn hierarchies(&self) -> Vec<PathBuf> {
        match self {
            Layout::V2(p) => vec![p.clone()],
            Layout::V1 { pids, memory, cpu } => [pids, memory, cpu].into_iter().flatten().cloned().collect(),
            Layout::None => Vec::new(),
        }
    }

    /// This router's parent cgroup in each hierarchy.
    fn parents(&self, data_dir: &Path) -> Vec<PathBuf> {
        let tag = router_tag(data_dir);
        self.hierarchies()
            .into_iter()
            .map(|h| h.join("agenttier").join(&tag))
            .collect()
    }

    /// Kills and removes every cgroup of the router with this data directory, and its parent
    /// cgroup: at start, what a killed predecessor left behind; at shutdown, its own (the
    /// background removal of a stopped sandbox's cgroups would die with the process, and a router
    /// on a temporary data directory never comes back to clean them).
    pub(crate) fn remove_all(&self, data_dir: &Path) {
        for parent in self.parents(data_dir) {
            let Ok(entries) = fs::read_dir(&parent) else {
                continue;
            };
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    kill_members(&e.path());
                    remove_when_empty(&e.path());
                }
            }
            let _ = fs::remove_dir(&parent);
        }
    }

    /// Makes the cgroups of one sandbox start (`sandbox` plus a random suffix, so a restart of
    /// the same sandbox never meets its predecessor's) and sets `limits`.
    pub(crate) fn create(&self, data_dir: &Path, sandbox: &str, limits: Limits) -> io::Result<Cgroup> {
        let leaf = format!("{sandbox}-{:08x}", crate::random::u32());
        let mut cg = Cgroup {
            dirs: Vec::new(),
            v1: matches!(self, Layout::V1 { .. }),
        };
        match self {
            Layout::None => {}
            Layout::V2(root) => {
                let parent = self.parents(data_dir).remove(0);
                // Controllers must be enabled on the way down (root's and our own levels).
                fs::create_dir_all(&parent)?;
                for dir in [root.clone(), root.join("agenttier"), parent.clone()] {
                    let _ = fs::write(dir.join("cgroup.subtree_control"), "+pids +memory +cpu");
                }
                let dir = parent.join(&leaf);
                fs::create_dir(&dir)?;
                cg.dirs.push(dir.clone());
                write_limit(&dir, "pids.max", &limits.pids.to_string())?;
                write_limit(&dir, "memory.max", &limits.memory.to_string())?;
                let _ = fs::write(dir.join("memory.swap.max"), "0");
                write_limit(&dir, "cpu.max", &format!("{} {CPU_PERIOD_US}", limits.cpu_quota_us))?;
            }
            Layout::V1 { pids, memory, cpu } => {
                let tag = router_tag(data_dir);
                let mk = |root: &PathBuf| -> io::Result<PathBuf> {
                    let dir = root.join("agenttier").join(&tag).join(&leaf);
                    fs::create_dir_all(&dir)?;
                    Ok(dir)
                };
                if let Some(root) = pids {
                    let dir = mk(root)?;
                    cg.dirs.push(dir.clone());
                    write_limit(&dir, "pids.max", &limits.pids.to_string())?;
                }
                if let Some(root) = memory {
                    let dir = mk(root)?;
                    cg.dirs.push(dir.clone());
                    write_limit(&dir, "memory.limit_in_bytes", &limits.memory.to_string())?;
                    // Present only with swap accounting; must not be below the memory limit.
                    let _ = fs::write(dir.join("memory.memsw.limit_in_bytes"), limits.memory.to_string());
                }
                if let Some(root) = cpu {
                    let dir = mk(root)?;
                    cg.dirs.push(dir.clone());
                    write_limit(&dir, "cpu.cfs_period_us", &CPU_PERIOD_US.to_string())?;
                    write_limit(&dir, "cpu.cfs_quota_us", &limits.cpu_quota_us.to_string())?;
                }
            }
        }
        Ok(cg)
    }
}

fn write_limit(dir: &Path, file: &str, value: &str) -> io::Result<()> {
    fs::write(dir.join(file), value).map_err(|e| io::Error::new(e.kind(), format!("{file}: {e}")))
}

/// A short stable tag of a data directory (FNV-1a of its path), naming the router's cgroups.
fn router_tag(data_dir: &Path) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in data_dir.as_os_str().as_encoded_bytes() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The cgroups of one Running sandbox; every process in them is killed and they are removed on
/// drop (in the background: dying processes take a moment to leave).
#[derive(Debug)]
pub(crate) struct Cgroup {
    dirs: Vec<PathBuf>,
    /// v1 hierarchies (joined through `tasks`) rather than one v2 cgroup (`cgroup.procs`).
    v1: bool,
}

impl Cgroup {
    /// The file of each cgroup a single-threaded process writes "0" to, to join it (the holder's
    /// freshly forked init, the spawner), opened for writing.
    pub(crate) fn join_files(&self) -> io::Result<Vec<File>> {
        let file = if self.v1 { "tasks" } else { "cgroup.procs" };
        self.dirs
            .iter()
            .map(|d| OpenOptions::new().write(true).open(d.join(file)))
            .collect()
    }

    /// Kills every process in the sandbox's cgroups now.
    pub(crate) fn kill_all(&self) {
        for dir in &self.dirs {
            kill_members(dir);
        }
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        if self.dirs.is_empty() {
            return;
        }
        self.kill_all();
        let dirs = std::mem::take(&mut self.dirs);
        std::thread::spawn(move || {
            for dir in dirs {
                remove_when_empty(&dir);
            }
        });
    }
}

/// SIGKILLs every process of a cgroup (v2 `cgroup.kill` when there is one), but the router,
/// repeating while new ones appear (a fork racing the kill). The CPU quota is lifted first: a
/// killed process must still run to exit, and a thousand of them sharing a spent quota would
/// take minutes.
fn kill_members(dir: &Path) {
    // Each exists in one layout's CPU cgroup only.
    let _ = fs::write(dir.join("cpu.cfs_quota_us"), "-1");
    let _ = fs::write(dir.join("cpu.max"), "max");
    if fs::write(dir.join("cgroup.kill"), "1").is_ok() {
        return;
    }
    for _ in 0..100 {
        let Ok(list) = fs::read_to_string(dir.join("cgroup.procs")) else {
            return;
        };
        // With v1 the router itself is listed while a spawner thread of it is inside: never it.
        let me = std::process::id() as i32;
        let pids: Vec<i32> = list
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .filter(|p| *p != me)
            .collect();
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Removes an (emptying) cgroup, retrying for a few seconds while killed processes exit.
fn remove_when_empty(dir: &Path) {
    for _ in 0..250 {
        match fs::remove_dir(dir) {
            Ok(()) => return,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return,
            Err(_) => {
                kill_members(dir);
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
    tracing::warn!(cgroup = %dir.display(), "could not remove a sandbox cgroup");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_from_resources() {
        assert_eq!(Limits::from_resources(None, None), Limits::default());
        let l = Limits::from_resources(Some("500m"), Some("64Mi"));
        assert_eq!(l.memory, 64 << 20);
        assert_eq!(l.cpu_quota_us, 50_000);
        assert_eq!(Limits::from_resources(Some("x"), Some("1")).memory, 16 << 20);
        assert_ne!(router_tag(Path::new("/a")), router_tag(Path::new("/b")));
    }
}
