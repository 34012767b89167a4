//! The spawner process itself: the router's own executable, started again with [`MARKER`] set,
//! turns into it before `main` (so any program that embeds the router has one, test binaries
//! included). It is single-threaded and small, so it may join a user namespace and can start
//! commands with `posix_spawn` (a `vfork`: no page tables copied, whatever the router's size).
//!
//! Its standard input is its end of the router's socket. The first packet confines it
//! ([`confine`]); then it serves until the router closes the socket: each `Spawn` packet is
//! started at once and answered with the pid, and each child's pidfd is watched so that its end
//! is reported (and the child reaped) as soon as it happens.

use std::ffi::CString;
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use nix::spawn::{PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags, posix_spawn};
use nix::sys::signal::SigSet;
use rustix::event::{PollFd, PollFlags, poll};
use rustix::fs::{Mode, OFlags};
use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendFlags, recvmsg, send};
use rustix::process::{Pid, PidfdFlags, WaitOptions, pidfd_open, waitpid};
use rustix::thread::LinkNameSpaceType;

use super::wire::{MAX_PACKET, Reply, Request};

/// Environment variable that makes a start of the router's executable a spawner.
pub(crate) const MARKER: &str = "AGENTTIER_SANDBOX_SPAWNER";

/// `oom_score_adj` of sandbox commands: the OOM killer picks them before the sandbox's init (whose
/// death would end the sandbox) and before the spawner.
const COMMAND_OOM_SCORE_ADJ: &[u8] = b"500";
/// The spawner's own `oom_score_adj` between spawns; written while it is still host root, it is
/// also the lowest value its commands may set themselves.
const SPAWNER_OOM_SCORE_ADJ: &[u8] = b"0";

/// Set before `main` in every process whose executable includes the router: a start of an
/// executable without it would run that program's `main` instead of a spawner.
static PRESENT: AtomicBool = AtomicBool::new(false);

/// Whether this executable turns into a spawner when started with [`MARKER`] (its constructor
/// has run). A linker could in theory leave it out of a program that embeds the router.
pub(crate) fn present() -> bool {
    PRESENT.load(Ordering::Relaxed)
}

// Life before main, the second `unsafe` exception of the router (with the holder's `pre_exec`
// hook): `ctor` places this function in `.init_array`. Before `main` the standard library works
// on Linux for what this uses (environment, allocation, files); the function touches no global
// state of the embedding program and either returns at once or never returns.
#[allow(unsafe_code)]
#[ctor::ctor(unsafe)]
fn become_spawner_when_asked() {
    if std::env::var_os(MARKER).is_some() {
        std::process::exit(if serve().is_ok() { 0 } else { 1 });
    }
    PRESENT.store(true, Ordering::Relaxed);
}

/// Confines this process as the first packet says, then starts commands until the router goes.
fn serve() -> io::Result<()> {
    // Named for `ps` and `top` (the kernel would call it `exe`, after `/proc/self/exe`).
    rustix::thread::set_name(c"agenttier-spawn")?;
    let inherited = inherited_descriptors();
    let stdin = rustix::stdio::stdin();
    let socket = rustix::io::fcntl_dupfd_cloexec(stdin, 3)?;
    let null = rustix::fs::open("/dev/null", OFlags::RDWR | OFlags::CLOEXEC, Mode::empty())?;
    rustix::stdio::dup2_stdin(&null)?;
    // Opened before entering the sandbox's mount namespace, whose /proc does not show this process.
    let oom = rustix::fs::open(
        "/proc/self/oom_score_adj",
        OFlags::WRONLY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut packet = vec![0u8; MAX_PACKET];
    let Some((
        Request::Setup {
            cwd,
            cgroups,
            namespaced,
        },
        fds,
    )) = receive(&socket, &mut packet)?
    else {
        return Err(io::Error::other("the first packet was not a setup"));
    };
    if let Err(e) = confine(&cwd, cgroups, namespaced, fds, &oom) {
        answer(
            &socket,
            Reply::Refused {
                token: 0,
                errno: e.raw_os_error().unwrap_or(0),
            },
        )?;
        return Err(e);
    }
    answer(&socket, Reply::Ready)?;
    // The children still running: pidfd and pid.
    let mut children: Vec<(OwnedFd, i32)> = Vec::new();
    loop {
        let ready: Vec<bool> = {
            let mut fds: Vec<PollFd<'_>> = std::iter::once(&socket)
                .chain(children.iter().map(|(fd, _)| fd))
                .map(|fd| PollFd::new(fd, PollFlags::IN))
                .collect();
            match poll(&mut fds, None) {
                Ok(_) => {}
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
            fds.iter().map(|fd| !fd.revents().is_empty()).collect()
        };
        // Highest first: `swap_remove` moves an entry already looked at.
        for i in (0..children.len()).rev() {
            if !ready[i + 1] {
                continue;
            }
            let pid = children[i].1;
            let ended = Pid::from_raw(pid).and_then(|p| waitpid(Some(p), WaitOptions::NOHANG).ok().flatten());
            if let Some((_, status)) = ended {
                children.swap_remove(i);
                answer(
                    &socket,
                    Reply::Exited {
                        pid,
                        status: status.as_raw(),
                    },
                )?;
            }
        }
        if !ready[0] {
            continue;
        }
        let Some((request, fds)) = receive(&socket, &mut packet)? else {
            return Ok(()); // the router closed its end
        };
        let Request::Spawn { token, argv, env } = request else {
            continue;
        };
        match start(&argv, &env, &fds, &inherited, &oom) {
            Ok(pid) => {
                answer(&socket, Reply::Spawned { token, pid })?;
                // Without a pidfd (never on the kernels that get here) the child is reaped by
                // the sandbox's init once this spawner ends; its caller hears nothing.
                if let Ok(fd) = pidfd_open(Pid::from_raw(pid).ok_or(rustix::io::Errno::SRCH)?, PidfdFlags::empty()) {
                    children.push((fd, pid));
                }
            }
            Err(e) => answer(&socket, Reply::Refused { token, errno: e as i32 })?,
        }
    }
}

/// Moves this process into the sandbox: its cgroups, then (with namespaces) its PID namespace for
/// children, UTS, IPC and mount namespaces, and last its user namespace as root with the pod's
/// capabilities and `no_new_privs`; then into `cwd`.
fn confine(cwd: &[u8], cgroups: u32, namespaced: bool, fds: Vec<OwnedFd>, oom: &OwnedFd) -> io::Result<()> {
    let expected = cgroups as usize + if namespaced { 5 } else { 0 };
    if fds.len() != expected {
        return Err(rustix::io::Errno::INVAL.into());
    }
    let (cgroup_files, namespaces) = fds.split_at(cgroups as usize);
    for file in cgroup_files {
        // "0" moves the writer, this single-threaded process; its children are born inside.
        rustix::io::write(file, b"0")?;
    }
    let _ = rustix::io::write(oom, SPAWNER_OOM_SCORE_ADJ);
    if namespaced {
        let drop = super::super::confine::capabilities_to_drop();
        let kinds = [
            LinkNameSpaceType::ProcessID,
            LinkNameSpaceType::HostNameAndNISDomainName,
            LinkNameSpaceType::InterProcessCommunication,
            LinkNameSpaceType::Mount,
        ];
        for (fd, kind) in namespaces.iter().zip(kinds) {
            rustix::thread::move_into_link_name_space(fd.as_fd(), Some(kind))?;
        }
        super::super::confine::become_root_of(namespaces[4].as_fd(), &drop)?;
    }
    rustix::process::chdir(cwd)?;
    Ok(())
}

/// The descriptors above the standard streams this process had when it started: whatever the
/// program that embeds the router left open across `exec` (a job server's pipe, a terminal). This
/// process opens its own close-on-exec; these are closed in every command.
fn inherited_descriptors() -> Vec<i32> {
    std::fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd > 2)
        .collect()
}

/// Starts `argv` with `env` on the descriptors `fds` (stdin, stdout, stderr) and no other, as
/// leader of a new process group, with every signal at its default disposition and none blocked.
fn start(
    argv: &[Vec<u8>],
    env: &[Vec<u8>],
    fds: &[OwnedFd],
    inherited: &[i32],
    oom: &OwnedFd,
) -> Result<i32, nix::Error> {
    let strings = |list: &[Vec<u8>]| {
        list.iter()
            .map(|s| CString::new(s.as_slice()).map_err(|_| nix::Error::EINVAL))
            .collect::<Result<Vec<_>, _>>()
    };
    let (argv, env) = (strings(argv)?, strings(env)?);
    let (Some(program), 3) = (argv.first(), fds.len()) else {
        return Err(nix::Error::EINVAL);
    };
    let mut actions = PosixSpawnFileActions::init()?;
    for (target, fd) in fds.iter().enumerate() {
        actions.add_dup2(fd.as_raw_fd(), target as i32)?;
    }
    // After the dups; closing a number that is not open (the directory `inherited_descriptors`
    // read) is no error.
    for fd in inherited {
        actions.add_close(*fd)?;
    }
    let mut attr = PosixSpawnAttr::init()?;
    attr.set_flags(
        PosixSpawnFlags::POSIX_SPAWN_SETPGROUP
            | PosixSpawnFlags::POSIX_SPAWN_SETSIGDEF
            | PosixSpawnFlags::POSIX_SPAWN_SETSIGMASK,
    )?;
    attr.set_pgroup(nix::unistd::Pid::from_raw(0))?;
    // Signals the router ignored stay ignored across `exec` (a shell's `cmd &` job ignores
    // SIGINT and SIGQUIT): every one goes back to its default, as a container runtime does.
    attr.set_sigdefault(&SigSet::all())?;
    attr.set_sigmask(&SigSet::empty())?;
    let _ = rustix::io::write(oom, COMMAND_OOM_SCORE_ADJ);
    let spawned = posix_spawn(program.as_c_str(), &actions, &attr, &argv, &env);
    let _ = rustix::io::write(oom, SPAWNER_OOM_SCORE_ADJ);
    Ok(spawned?.as_raw())
}

/// Receives one packet and the descriptors that came with it; `None` at end of stream.
fn receive(socket: &OwnedFd, packet: &mut [u8]) -> io::Result<Option<(Request, Vec<OwnedFd>)>> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(16))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut iov = [io::IoSliceMut::new(packet)];
    let msg = loop {
        match recvmsg(socket, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC) {
            Err(rustix::io::Errno::INTR) => continue,
            other => break other?,
        }
    };
    let fds: Vec<OwnedFd> = control
        .drain()
        .flat_map(|m| match m {
            RecvAncillaryMessage::ScmRights(fds) => fds.collect(),
            _ => Vec::new(),
        })
        .collect();
    if msg.bytes == 0 {
        return Ok(None);
    }
    let request = Request::decode(&iov[0][..msg.bytes]).ok_or_else(|| io::Error::other("malformed request"))?;
    Ok(Some((request, fds)))
}

fn answer(socket: &OwnedFd, reply: Reply) -> io::Result<()> {
    // Without SIGPIPE: the router may have gone (this process then ends at the next receive).
    send(socket, &reply.encode(), SendFlags::NOSIGNAL)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_constructor_ran_before_main_in_this_test_binary() {
        assert!(super::present());
    }
}
