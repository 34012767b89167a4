//! Sandboxes: the in-memory table (served to readers without touching SQLite), lifecycle
//! transitions written through to the store, and the processes of each sandbox.
//!
//! Lifecycle (wire spec §3.2, §16): create → phase `""` → `Creating` → (start delay) →
//! `Running`; stop (from Running) → `Stopped` "User requested stop"; resume (from Stopped or
//! Error) → `Creating` "Resuming" → `Running`; max runtime → `Stopped` "Max runtime exceeded";
//! idle timeout → `Stopped` "Idle timeout exceeded" (unlike the platform, an exec counts as
//! activity and restarts the idle clock); delete → `Deleting` (persisted) → record and directory
//! removed. A workspace that cannot be prepared gives `Error` with the reason.
//!
//! Each transition bumps a generation counter, so a start that races a stop or delete never
//! resurrects the sandbox.

pub(crate) mod access;
pub(crate) mod agent_state;
pub(crate) mod cgroup;
pub(crate) mod command;
pub(crate) mod confine;
pub(crate) mod isolation;
pub(crate) mod peer;
pub(crate) mod record;
pub(crate) mod spawner;
pub(crate) mod spec;
// The view is built with Linux mounts and `pivot_root`; elsewhere a stand-in refuses to build
// one (namespaces are never available there, so it is never asked).
#[cfg_attr(not(target_os = "linux"), path = "view_unsupported.rs")]
mod view;

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use crate::auth::Identity;
use crate::errors::{ApiError, RouterError, Violation};
use crate::gotime::now_unix;
use crate::store::Store;
use cgroup::{Layout, Limits};
use command::{Activity, RunningCommand, group_alive, group_of, kill_group};
use isolation::{Holder, Isolation, holders_under, is_stale_holder, kill_tagged, shell_command};
use record::{Phase, SandboxRecord};
use spawner::Stdio;

/// Message of a sandbox brought back after a router restart.
pub(crate) const RECOVERED_MESSAGE: &str = "Restarted after router restart";

/// One sandbox in memory.
pub(crate) struct Entry {
    pub rec: SandboxRecord,
    /// Forwarded ports → protocol.
    pub ports: BTreeMap<u16, String>,
    generation: u64,
    holder: Option<Holder>,
    pgids: HashSet<i32>,
    running_since: Option<Instant>,
    last_used: Instant,
    active: u32,
}

impl Entry {
    fn new(rec: SandboxRecord) -> Entry {
        Entry {
            rec,
            ports: BTreeMap::new(),
            generation: 0,
            holder: None,
            pgids: HashSet::new(),
            running_since: None,
            last_used: Instant::now(),
            active: 0,
        }
    }

    /// Kills every process of the sandbox; `tagged` (plain mode without cgroups) also hunts
    /// the processes that left their process group, by their environment.
    fn kill_processes(&mut self, tagged: Option<&Path>) {
        if let Some(mut h) = self.holder.take() {
            h.kill();
        }
        for pgid in self.pgids.drain() {
            kill_group(pgid);
        }
        if let Some(dir) = tagged {
            kill_tagged(dir);
        }
    }
}

/// Live-sandbox counts a create is checked against.
pub(crate) struct Usage {
    pub user: usize,
    pub namespace: usize,
    pub agents: usize,
}

/// Hears every lifecycle transition: the sandbox after it, the event type (`Running`,
/// `Stopped`, ...) and the reason. Called with the sandbox table locked: it must not call back.
pub(crate) type Observer = Arc<dyn Fn(&SandboxRecord, &'static str, &str) + Send + Sync>;

/// The sandbox table and its lifecycle.
pub(crate) struct Sandboxes {
    map: RwLock<BTreeMap<String, Entry>>,
    store: Arc<Store>,
    isolation: Isolation,
    cgroups: Layout,
    data_dir: PathBuf,
    start_delay: Duration,
    observer: OnceLock<Observer>,
}

impl Sandboxes {
    pub(crate) fn new(store: Arc<Store>, isolation: Isolation, data_dir: PathBuf, start_delay: Duration) -> Sandboxes {
        raise_open_file_limit();
        let cgroups = Layout::detect();
        match (&cgroups, isolation) {
            (Layout::None, _) => tracing::warn!(
                "no cgroups usable (not root, or no pids/memory/cpu controller mounted): sandboxes \
                 run without process, memory or CPU limits"
            ),
            (layout, _) => tracing::info!(cgroups = %layout.describe(), "sandbox resource limits enforced"),
        }
        Sandboxes {
            map: RwLock::new(BTreeMap::new()),
            store,
            isolation,
            cgroups,
            data_dir,
            start_delay,
            observer: OnceLock::new(),
        }
    }

    /// Sets who hears lifecycle transitions (audit and webhooks); once.
    pub(crate) fn observe(&self, observer: Observer) {
        let _ = self.observer.set(observer);
    }

    fn emit(&self, rec: &SandboxRecord, event: &'static str, reason: &str) {
        if let Some(o) = self.observer.get() {
            o(rec, event, reason);
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, BTreeMap<String, Entry>> {
        self.map.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, BTreeMap<String, Entry>> {
        self.map.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Directory of a sandbox's workspace on the host.
    pub(crate) fn workspace_dir(&self, name: &str) -> PathBuf {
        self.data_dir.join("sandboxes").join(name)
    }

    /// Saves a record a background transition (start, recovery) already applied; a failure is
    /// logged, as there is no request to answer.
    fn persist(&self, rec: &SandboxRecord) {
        if let Err(e) = self.store.save_sandbox(rec) {
            tracing::error!(sandbox = %rec.name, error = %e, "failed to persist sandbox");
        }
    }

    /// Saves `rec` as the sandbox's next state before memory is changed: a state change that
    /// was not saved answers `500` and leaves memory as the disk has it.
    fn save_first(&self, rec: &SandboxRecord, what: &str) -> Result<(), ApiError> {
        self.store.save_sandbox(rec).map_err(|e| {
            tracing::error!(sandbox = %rec.name, error = %e, "failed to persist sandbox");
            ApiError::internal(format!("failed to {what} sandbox: {e}"))
        })
    }

    /// Loads every sandbox from the store. Sandboxes that were starting or running when the
    /// previous router ended are started again (phase `Creating`, message
    /// [`RECOVERED_MESSAGE`], then `Running`); leftover holders of a killed router are ended
    /// first. Interrupted deletes are completed.
    pub(crate) fn recover(self: &Arc<Self>) -> Result<(), RouterError> {
        // Holders of a killed router, recorded or not (one killed between spawning a holder and
        // saving its pid leaves an orphan only a scan finds); none of ours runs yet.
        for pid in holders_under(&self.data_dir.join("sandboxes")) {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
        // Their cgroups too (processes that escaped the holder's PID namespace cannot exist, but
        // plain-mode ones can).
        self.cgroups.remove_all(&self.data_dir);
        let rows = self.store.load_sandboxes()?;
        let ports = self.store.load_ports()?;
        let mut to_start = Vec::new();
        let mut to_delete = Vec::new();
        {
            let mut map = self.write();
            for (mut rec, holder_pid) in rows {
                let dir = self.workspace_dir(&rec.name);
                sweep_upload_temps(&dir);
                if let Some(pid) = holder_pid {
                    if is_stale_holder(pid, &dir) {
                        let _ =
                            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
                    }
                    let _ = self.store.set_holder_pid(&rec.name, None);
                }
                match rec.phase {
                    Phase::Deleting => {
                        to_delete.push(rec.name.clone());
                        continue;
                    }
                    Phase::New | Phase::Creating | Phase::Running => {
                        rec.phase = Phase::Creating;
                        rec.message = RECOVERED_MESSAGE.into();
                        self.persist(&rec);
                        to_start.push(rec.name.clone());
                    }
                    Phase::Stopped | Phase::Error => {}
                }
                map.insert(rec.name.clone(), Entry::new(rec));
            }
            for (sandbox, port, protocol) in ports {
                if let Some(e) = map.get_mut(&sandbox) {
                    e.ports.insert(port, protocol);
                }
            }
        }
        for name in to_delete {
            self.finish_delete(&name);
        }
        for name in to_start {
            self.schedule_start(name, 0, false);
        }
        Ok(())
    }

    /// Runs `f` on a sandbox the caller may access; 404 otherwise (not leaking existence).
    pub(crate) fn view<R>(
        &self,
        id: &str,
        who: &Identity,
        f: impl FnOnce(&Entry) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let map = self.read();
        match map.get(id) {
            Some(e) if who.can_access(&e.rec.owner.sub) => f(e),
            _ => Err(ApiError::sandbox_not_found(id)),
        }
    }

    /// Calls `f` with sandbox `id` when `who` may use it and it is Running: 404 otherwise, then
    /// 409 "sandbox is not running", in the Router's order.
    pub(crate) fn view_running<R>(
        &self,
        id: &str,
        who: &Identity,
        f: impl FnOnce(&Entry) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        self.view(id, who, |e| {
            if e.rec.phase == Phase::Running {
                f(e)
            } else {
                Err(ApiError::not_running())
            }
        })
    }

    /// Runs `f` on a sandbox for which `allowed` holds (shared read access); 404 otherwise.
    pub(crate) fn view_if<R>(
        &self,
        id: &str,
        allowed: impl FnOnce(&SandboxRecord) -> bool,
        f: impl FnOnce(&Entry) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let map = self.read();
        match map.get(id) {
            Some(e) if allowed(&e.rec) => f(e),
            _ => Err(ApiError::sandbox_not_found(id)),
        }
    }

    /// Whether a sandbox of this name exists (whoever owns it).
    pub(crate) fn exists(&self, name: &str) -> bool {
        self.read().contains_key(name)
    }

    /// Like [`Sandboxes::view`] with write access; `f` may persist through `store`.
    pub(crate) fn update<R>(
        &self,
        id: &str,
        who: &Identity,
        f: impl FnOnce(&mut Entry, &Store) -> Result<R, ApiError>,
    ) -> Result<R, ApiError> {
        let mut map = self.write();
        match map.get_mut(id) {
            Some(e) if who.can_access(&e.rec.owner.sub) => {
                // `f` changes memory, then saves: when it fails (the save did), undo the change so
                // memory keeps matching the disk.
                let (rec, ports) = (e.rec.clone(), e.ports.clone());
                let result = f(e, &self.store);
                if result.is_err() {
                    (e.rec, e.ports) = (rec, ports);
                }
                result
            }
            _ => Err(ApiError::sandbox_not_found(id)),
        }
    }

    /// How many sandboxes are in each phase (`Pending` before the first one).
    pub(crate) fn phase_counts(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for e in self.read().values() {
            let phase = match e.rec.phase.as_str() {
                "" => "Pending",
                p => p,
            };
            *counts.entry(phase).or_default() += 1;
        }
        counts
    }

    /// Runs `f` over the sandboxes visible to `who`, in name order.
    pub(crate) fn list<R>(&self, who: &Identity, f: impl FnOnce(&mut dyn Iterator<Item = &Entry>) -> R) -> R {
        let map = self.read();
        let mut it = map.values().filter(|e| who.can_access(&e.rec.owner.sub));
        f(&mut it)
    }

    fn usage_in(map: &BTreeMap<String, Entry>, namespace: &str, sub: &str) -> Usage {
        let live = |e: &&Entry| e.rec.phase.is_live() && e.rec.namespace == namespace;
        Usage {
            user: map.values().filter(live).filter(|e| e.rec.owner.sub == sub).count(),
            namespace: map.values().filter(live).count(),
            agents: map.values().filter(live).filter(|e| e.rec.mode == "agent").count(),
        }
    }

    /// Live sandboxes in `namespace`: of user `sub`, in total, and in agent mode.
    pub(crate) fn usage(&self, namespace: &str, sub: &str) -> Usage {
        Self::usage_in(&self.read(), namespace, sub)
    }

    /// Inserts a new sandbox after the governance check `check` (given current usage) passes,
    /// and starts it asynchronously.
    pub(crate) fn create(
        self: &Arc<Self>,
        rec: SandboxRecord,
        check: impl FnOnce(&Usage) -> Vec<Violation>,
    ) -> Result<(), ApiError> {
        self.create_seeded(rec, check, None)
    }

    /// [`Sandboxes::create`] whose workspace starts as the prepared directory `seed` (moved into
    /// place; a clone or a restored backup). On failure `seed` is left where it is.
    pub(crate) fn create_seeded(
        self: &Arc<Self>,
        rec: SandboxRecord,
        check: impl FnOnce(&Usage) -> Vec<Violation>,
        seed: Option<&Path>,
    ) -> Result<(), ApiError> {
        let mut map = self.write();
        let usage = Self::usage_in(&map, &rec.namespace, &rec.owner.sub);
        let violations = check(&usage);
        if !violations.is_empty() {
            return Err(ApiError::Policy(violations));
        }
        if map.contains_key(&rec.name) {
            return Err(ApiError::conflict(format!("sandbox {} already exists", rec.name)));
        }
        if let Some(seed) = seed {
            let dir = self.workspace_dir(&rec.name);
            if dir.exists() {
                remove_path(&dir); // a leftover of a sandbox that no longer exists
            }
            let placed = dir
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::rename(seed, &dir));
            placed.map_err(|e| ApiError::internal(format!("failed to create sandbox: workspace: {e}")))?;
        }
        self.store
            .save_sandbox(&rec)
            .map_err(|e| ApiError::internal(format!("failed to create sandbox: {e}")))?;
        let name = rec.name.clone();
        self.emit(&rec, "Creating", "");
        map.insert(name.clone(), Entry::new(rec));
        drop(map);
        self.schedule_start(name, 0, true);
        Ok(())
    }

    /// Brings a sandbox to Running after the start delay, unless generation `generation` is superseded.
    fn schedule_start(self: &Arc<Self>, name: String, generation: u64, from_new: bool) {
        let this = self.clone();
        tokio::spawn(async move {
            if from_new {
                let mut map = this.write();
                match map.get_mut(&name) {
                    Some(e) if e.generation == generation && e.rec.phase == Phase::New => {
                        e.rec.phase = Phase::Creating;
                        this.persist(&e.rec);
                    }
                    _ => return,
                }
            }
            tokio::time::sleep(this.start_delay).await;
            let dir = this.workspace_dir(&name);
            let limits = this.limits_of(&name);
            let prepared = match std::fs::create_dir_all(&dir) {
                Ok(()) if dir.is_dir() => {
                    this.isolation
                        .start_holder(&name, &dir, &this.data_dir, &this.cgroups, limits)
                        .await
                }
                Ok(()) => Err(format!(
                    "failed to prepare workspace: {} is not a directory",
                    dir.display()
                )),
                Err(e) => Err(format!("failed to prepare workspace {}: {e}", dir.display())),
            };
            let mut map = this.write();
            let Some(e) = map.get_mut(&name) else { return };
            if e.generation != generation || e.rec.phase != Phase::Creating {
                return; // superseded; a holder we started is killed on drop
            }
            match prepared {
                Ok(holder) => {
                    let pid = holder.pid();
                    e.holder = Some(holder);
                    let now = now_unix();
                    e.rec.phase = Phase::Running;
                    e.rec.message = String::new();
                    e.rec.started_at = Some(now);
                    e.rec.last_activity_at = Some(now);
                    e.running_since = Some(Instant::now());
                    e.last_used = Instant::now();
                    this.persist(&e.rec);
                    this.emit(&e.rec, "Running", "");
                    if pid.is_some() {
                        let _ = this.store.set_holder_pid(&name, pid);
                    }
                    tracing::info!(sandbox = %name, "sandbox running");
                }
                Err(msg) => {
                    tracing::warn!(sandbox = %name, error = %msg, "sandbox failed to start");
                    e.rec.phase = Phase::Error;
                    e.rec.message = msg;
                    this.persist(&e.rec);
                    this.emit(&e.rec, "Error", &e.rec.message);
                }
            }
        });
    }

    /// The resource limits a sandbox starts with: its `resources` (set by PATCH, applied on the
    /// next start), else the defaults.
    fn limits_of(&self, name: &str) -> Limits {
        let map = self.read();
        let Some(e) = map.get(name) else {
            return Limits::default();
        };
        let spec = &e.rec.spec;
        Limits::from_resources(spec.resource("cpu").as_deref(), spec.resource("memory").as_deref())
    }

    /// The directory whose processes are hunted by environment on stop (plain mode without
    /// cgroups only).
    fn tagged(&self, name: &str) -> Option<PathBuf> {
        (self.isolation == Isolation::Plain && matches!(self.cgroups, Layout::None)).then(|| self.workspace_dir(name))
    }

    fn stop_entry(&self, e: &mut Entry, message: &str) -> Result<(), ApiError> {
        let mut next = e.rec.clone();
        next.phase = Phase::Stopped;
        next.message = message.into();
        self.save_first(&next, "stop")?;
        e.rec = next;
        e.generation += 1;
        e.kill_processes(self.tagged(&e.rec.name).as_deref());
        e.running_since = None;
        self.emit(&e.rec, "Stopped", message);
        let _ = self.store.set_holder_pid(&e.rec.name, None);
        Ok(())
    }

    /// Stop (only from Running).
    pub(crate) fn stop(&self, id: &str, who: &Identity) -> Result<(), ApiError> {
        let mut map = self.write();
        let e = match map.get_mut(id) {
            Some(e) if who.can_access(&e.rec.owner.sub) => e,
            _ => return Err(ApiError::sandbox_not_found(id)),
        };
        if e.rec.phase != Phase::Running {
            return Err(ApiError::conflict(format!(
                "cannot stop sandbox in phase {}",
                e.rec.phase.as_str()
            )));
        }
        self.stop_entry(e, "User requested stop")
    }

    /// Resume (only from Stopped or Error).
    pub(crate) fn resume(self: &Arc<Self>, id: &str, who: &Identity) -> Result<(), ApiError> {
        let mut map = self.write();
        let e = match map.get_mut(id) {
            Some(e) if who.can_access(&e.rec.owner.sub) => e,
            _ => return Err(ApiError::sandbox_not_found(id)),
        };
        if !matches!(e.rec.phase, Phase::Stopped | Phase::Error) {
            return Err(ApiError::conflict(format!(
                "cannot resume sandbox in phase {}",
                e.rec.phase.as_str()
            )));
        }
        let mut next = e.rec.clone();
        next.phase = Phase::Creating;
        next.message = "Resuming".into();
        self.save_first(&next, "resume")?;
        e.rec = next;
        e.generation += 1;
        e.kill_processes(self.tagged(&e.rec.name).as_deref());
        self.emit(&e.rec, "Resuming", "Resuming");
        let generation = e.generation;
        drop(map);
        self.schedule_start(id.to_owned(), generation, false);
        Ok(())
    }

    /// Delete: kills every process, removes record, ports and directory.
    pub(crate) fn delete(&self, id: &str, who: &Identity) -> Result<(), ApiError> {
        {
            let mut map = self.write();
            let e = match map.get_mut(id) {
                Some(e) if who.can_access(&e.rec.owner.sub) => e,
                _ => return Err(ApiError::sandbox_not_found(id)),
            };
            let mut next = e.rec.clone();
            next.phase = Phase::Deleting;
            self.save_first(&next, "delete")?;
            e.rec = next;
            e.generation += 1;
            e.kill_processes(self.tagged(&e.rec.name).as_deref());
            self.emit(&e.rec, "Deleting", "");
        }
        self.finish_delete(id);
        Ok(())
    }

    fn finish_delete(&self, name: &str) {
        let dir = self.workspace_dir(name);
        if dir.exists() {
            // Move aside now (cheap) so the name can be reused at once; remove in the background.
            let trash = self.data_dir.join("trash");
            let _ = std::fs::create_dir_all(&trash);
            let target = trash.join(format!("{name}-{:016x}", crate::random::u64()));
            match std::fs::rename(&dir, &target) {
                Ok(()) => {
                    std::thread::spawn(move || remove_path(&target));
                }
                Err(_) => remove_path(&dir),
            }
        }
        if let Err(e) = self.store.delete_sandbox(name) {
            tracing::error!(sandbox = %name, error = %e, "failed to delete sandbox record");
        }
        self.write().remove(name);
    }

    /// Starts `command` with `/bin/sh -c` in a Running sandbox of `who`'s (404 / 409 otherwise),
    /// stdin from `stdin`, stdout and stderr piped.
    pub(crate) async fn spawn_shell(
        self: &Arc<Self>,
        id: &str,
        who: &Identity,
        command: &str,
        stdin: Stdio,
    ) -> Result<RunningCommand, ApiError> {
        let stdio = [stdin, Stdio::Piped, Stdio::Piped];
        self.spawn_attached(id, |rec| who.can_access(&rec.owner.sub), command, &[], stdio)
            .await
    }

    /// The PTY multiplexer terminals of sandbox `id` open: its own `devpts` instance's, seen
    /// through its holder, when it has namespaces; the host's otherwise.
    pub(crate) fn ptmx(&self, id: &str) -> PathBuf {
        let holder = self
            .read()
            .get(id)
            .and_then(|e| e.holder.as_ref().and_then(|h| h.pid()));
        match holder {
            Some(pid) => PathBuf::from(format!("/proc/{pid}/root/dev/pts/ptmx")),
            None => PathBuf::from("/dev/ptmx"),
        }
    }

    /// Starts `command` (`/bin/sh -c`, with `env` added) in a Running sandbox for a caller
    /// `allowed` admits (404 for others, 409 when not Running), its standard streams on `stdio`
    /// (stdin, stdout, stderr). Counts as activity until the command's [`Activity`] is dropped.
    /// The start itself runs without the sandboxes' lock: it can take long in a sandbox at its
    /// limits, and other sandboxes must not wait for it.
    pub(crate) async fn spawn_attached(
        self: &Arc<Self>,
        id: &str,
        allowed: impl FnOnce(&SandboxRecord) -> bool,
        command: &str,
        env: &[(&str, &str)],
        stdio: [Stdio; 3],
    ) -> Result<RunningCommand, ApiError> {
        let (launcher, generation) = {
            let map = self.read();
            let e = match map.get(id) {
                Some(e) if allowed(&e.rec) => e,
                _ => return Err(ApiError::sandbox_not_found(id)),
            };
            if e.rec.phase != Phase::Running {
                return Err(ApiError::not_running());
            }
            let Some(holder) = &e.holder else {
                return Err(ApiError::not_running());
            };
            (holder.launcher(), e.generation)
        };
        let (argv, env) = shell_command(&launcher, &self.workspace_dir(id), id, command, env);
        let spawned = launcher.spawn(argv, env, stdio).await;
        let mut map = self.write();
        let Some(e) = map.get_mut(id).filter(|e| e.generation == generation) else {
            // Stopped or deleted while the command started (which may be why it could not).
            if let Ok(child) = spawned {
                kill_group(group_of(&child));
            }
            return Err(ApiError::not_running());
        };
        let child = spawned.map_err(|err| ApiError::internal(format!("cannot start the command: {err}")))?;
        let pgid = group_of(&child);
        e.pgids.insert(pgid);
        e.active += 1;
        e.last_used = Instant::now();
        Ok(RunningCommand {
            child,
            pgid,
            activity: Activity::new(self.clone(), id, pgid),
        })
    }

    /// Records the end of a command (its [`Activity`] dropped).
    fn end_command(&self, id: &str, pgid: i32) {
        let mut map = self.write();
        if let Some(e) = map.get_mut(id) {
            e.active = e.active.saturating_sub(1);
            e.last_used = Instant::now();
            if !group_alive(pgid) {
                e.pgids.remove(&pgid);
            }
        }
    }

    /// Enforces max runtime and idle timeouts; forgets finished process groups.
    pub(crate) fn tick(&self) {
        let mut map = self.write();
        for e in map.values_mut() {
            e.pgids.retain(|p| group_alive(*p));
            if e.rec.phase != Phase::Running {
                continue;
            }
            if let (Some(limit), Some(since)) = (e.rec.timeout, e.running_since) {
                if since.elapsed() >= limit {
                    // Not saved: it stays Running and the next tick tries again.
                    let _ = self.stop_entry(e, "Max runtime exceeded");
                    continue;
                }
            }
            if let Some(idle) = e.rec.idle_timeout {
                if e.active == 0 && e.last_used.elapsed() >= idle {
                    let _ = self.stop_entry(e, "Idle timeout exceeded");
                }
            }
        }
    }

    /// Kills every process of every sandbox (router shutdown). Phases are left as they are, so a
    /// restart brings Running sandboxes back.
    pub(crate) fn kill_all(&self) {
        let mut map = self.write();
        for e in map.values_mut() {
            e.generation += 1;
            e.kill_processes(self.tagged(&e.rec.name).as_deref());
            let _ = self.store.set_holder_pid(&e.rec.name, None);
        }
    }

    /// Removes every cgroup of this router, once [`Sandboxes::kill_all`] has ended their
    /// processes (router shutdown; waits a few seconds at most per cgroup for the dying).
    pub(crate) fn remove_cgroups(&self) {
        self.cgroups.remove_all(&self.data_dir);
    }
}

/// Raises the soft limit of open files to the hard one: each Running sandbox keeps about a dozen
/// descriptors (its namespaces, cgroups, holder pipes), and the common soft limit of 1024 would
/// stop a router at well under a hundred sandboxes.
fn raise_open_file_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current < limit.maximum {
        limit.current = limit.maximum;
        if let Err(e) = setrlimit(Resource::Nofile, limit) {
            tracing::warn!(error = %e, "cannot raise the open-file limit; many sandboxes may exhaust it");
        }
    }
}

fn remove_path(p: &Path) {
    if let Err(e) = std::fs::remove_dir_all(p) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %p.display(), error = %e, "failed to remove sandbox directory");
        }
    }
}

/// Removes the temporary files of uploads cut by a killed router (they sit beside their
/// targets anywhere in the workspace). Symbolic links are never followed.
fn sweep_upload_temps(root: &Path) {
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_file()
                && entry
                    .file_name()
                    .to_str()
                    .is_some_and(|n| n.starts_with(crate::files::confined::TEMP_PREFIX))
            {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}
