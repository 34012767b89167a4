//! Who a sandbox's processes are on the host: an unprivileged uid range per sandbox, and the
//! last steps of starting a command in it.
//!
//! Each Running sandbox owns a *slot*: uids and gids `0..65536` inside map to
//! `UID_BASE + slot * 65536 ..` on the host, a range no host account uses. Root inside is
//! therefore an ordinary unprivileged uid outside: it has no capability over the host, cannot
//! change files owned by host users (they appear as `nobody` inside), and differs from every
//! other sandbox's uids. The workspace belongs to the slot's root, so the router (host root) and
//! the sandbox can both write it.
//!
//! Commands reach that uid through the sandbox's spawner ([`super::spawner`]), which joins the
//! user namespace as uid/gid 0 with [`become_root_of`]: the capability bounding set cut to what a
//! platform pod gets, `no_new_privs` set. The holder's init is confined by
//! [`Confinement::apply`] in the router's forked child just before `exec`: its cgroups and its
//! filesystem view ([`View`]).

use std::collections::BTreeSet;
use std::fs::File;
use std::io;
use std::sync::Mutex;

#[cfg(target_os = "linux")]
use rustix::thread::{CapabilitySet, LinkNameSpaceType};

use super::view::View;

/// First host uid (and gid) of the sandbox ranges: 2^30, far above any login or system account.
pub(crate) const UID_BASE: u32 = 1 << 30;
/// Ids per sandbox (as a pod's user namespace: 0..65535 inside).
pub(crate) const IDS_PER_SLOT: u32 = 65536;
/// Number of slots: the ranges end at 2^31, so host uids stay positive as an `i32`.
const SLOTS: u32 = (1 << 30) / IDS_PER_SLOT;

/// Whether a host uid belongs to some sandbox (e.g. the owner of a loopback connection).
pub(crate) fn is_sandbox_uid(uid: u32) -> bool {
    (UID_BASE..UID_BASE + SLOTS * IDS_PER_SLOT).contains(&uid)
}

/// The capabilities a platform pod keeps (the container runtime's default set); every other one
/// is dropped from the bounding set of sandbox commands.
#[cfg(target_os = "linux")]
const POD_CAPABILITIES: [CapabilitySet; 14] = [
    CapabilitySet::CHOWN,
    CapabilitySet::DAC_OVERRIDE,
    CapabilitySet::FOWNER,
    CapabilitySet::FSETID,
    CapabilitySet::KILL,
    CapabilitySet::SETGID,
    CapabilitySet::SETUID,
    CapabilitySet::SETPCAP,
    CapabilitySet::NET_BIND_SERVICE,
    CapabilitySet::NET_RAW,
    CapabilitySet::SYS_CHROOT,
    CapabilitySet::MKNOD,
    CapabilitySet::AUDIT_WRITE,
    CapabilitySet::SETFCAP,
];

/// Capabilities to drop: all the running kernel knows, but the pod set.
#[cfg(target_os = "linux")]
pub(crate) fn capabilities_to_drop() -> Vec<CapabilitySet> {
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
        .min(63);
    let keep = POD_CAPABILITIES.iter().fold(CapabilitySet::empty(), |a, c| a | *c);
    (0..=last)
        .map(|n| CapabilitySet::from_bits_retain(1u64 << n))
        .filter(|c| !keep.contains(*c))
        .collect()
}

/// A uid slot held by a running sandbox; released on drop.
#[derive(Debug)]
pub(crate) struct Slot(u32);

static TAKEN: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

impl Slot {
    /// Takes the slot whose root owns `owner` (a workspace's uid) when it is free, so a sandbox
    /// keeps its uids across restarts; otherwise a free slot picked at random (two routers on
    /// one machine then rarely share one; if they do, their sandboxes still cannot see each
    /// other's files or processes).
    pub(crate) fn take(owner: u32) -> io::Result<Slot> {
        let mut taken = TAKEN.lock().unwrap_or_else(|p| p.into_inner());
        let own = owner
            .checked_sub(UID_BASE)
            .filter(|d| d % IDS_PER_SLOT == 0 && d / IDS_PER_SLOT < SLOTS)
            .map(|d| d / IDS_PER_SLOT);
        let start = own.unwrap_or_else(|| crate::random::u32() % SLOTS);
        let free = (0..SLOTS)
            .map(|i| (start + i) % SLOTS)
            .find(|s| !taken.contains(s))
            .ok_or_else(|| io::Error::other("no free sandbox uid range"))?;
        taken.insert(free);
        Ok(Slot(free))
    }

    /// Host uid (and gid) of root inside.
    pub(crate) fn root(&self) -> u32 {
        UID_BASE + self.0 * IDS_PER_SLOT
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        TAKEN.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.0);
    }
}

/// How the holder's init starts: in the sandbox's cgroups, then in new mount/UTS/IPC namespaces
/// rooted in its filesystem view (it stays host root, outside the user namespace).
pub(crate) struct Confinement {
    /// The join file of each of the sandbox's cgroups, opened for writing ([`super::cgroup`]).
    cgroup_join: Vec<File>,
    /// The filesystem view the holder builds and enters.
    view: View,
}

impl Confinement {
    pub(crate) fn holder(cgroup_join: Vec<File>, view: View) -> Confinement {
        Confinement { cgroup_join, view }
    }

    /// Confines the calling process; runs in a freshly forked child, so it only makes system
    /// calls on data prepared before the fork (no allocation, no locks).
    fn apply(&self) -> io::Result<()> {
        for procs in &self.cgroup_join {
            // "0" moves the writer: this fresh child, still single-threaded.
            rustix::io::write(procs, b"0")?;
        }
        self.view.enter()
    }

    /// Makes `cmd` run [`Confinement::apply`] between fork and exec (see [`prepare`]).
    pub(crate) fn attach(self, cmd: &mut tokio::process::Command) {
        prepare(cmd, self);
    }
}

/// Joins the user namespace `user` as its root, with the capability bounding set cut to `drop`'s
/// complement and `no_new_privs` set: the last step of a sandbox's spawner ([`super::spawner`]).
/// The calling process must be single-threaded.
#[cfg(target_os = "linux")]
pub(crate) fn become_root_of(user: std::os::fd::BorrowedFd<'_>, drop: &[CapabilitySet]) -> io::Result<()> {
    rustix::thread::move_into_link_name_space(user, Some(LinkNameSpaceType::User))?;
    for cap in drop {
        rustix::thread::remove_capability_from_bounding_set(*cap)?;
    }
    rustix::thread::set_no_new_privs(true)?;
    rustix::thread::set_thread_groups(&[])?;
    let root_gid = rustix::process::Gid::ROOT;
    rustix::thread::set_thread_res_gid(root_gid, root_gid, root_gid)?;
    let root_uid = rustix::process::Uid::ROOT;
    rustix::thread::set_thread_res_uid(root_uid, root_uid, root_uid)?;
    Ok(())
}

/// Makes the holder start as a sandbox process should, between fork and exec: every signal back
/// to its default disposition (one the router ignores would stay ignored across `exec`), then
/// `confinement` applied.
// One of the router's two `unsafe` exceptions (the other starts the spawner, super::spawner): a
// `pre_exec` hook is the only way to give the holder its own mount namespace and view (the
// router, multithreaded, cannot unshare its own for it) and its cgroups before it runs anything.
// The hook is async-signal-safe: `sigaction`, raw system calls on file descriptors and values
// prepared before the fork, no allocation, no lock. Tested by every namespaced sandbox start.
#[allow(unsafe_code)]
fn prepare(cmd: &mut tokio::process::Command, confinement: Confinement) {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: see above; the closure only sets default dispositions and calls `apply`.
    unsafe {
        cmd.pre_exec(move || {
            for sig in Signal::iterator().filter(|s| !matches!(s, Signal::SIGKILL | Signal::SIGSTOP)) {
                signal(sig, SigHandler::SigDfl).map_err(io::Error::from)?;
            }
            confinement.apply()
        });
    }
}
