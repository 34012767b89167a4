//! A pseudo-terminal and the shell attached to it.
//!
//! The router opens the PTY pair itself (safe `rustix` calls, no `unsafe`), hands the slave to
//! the shell as its standard streams and keeps the master. The shell is started through the
//! sandbox's own spawning path ([`crate::sandbox::Sandboxes::spawn_attached`]), so it runs in the
//! sandbox's namespaces with its environment, in `/workspace`. That path puts every command in a
//! process group of its own, and a group leader cannot start a session; so the command is
//! util-linux `setsid --wait --ctty`, whose child starts a new session with the PTY as its
//! controlling terminal (job control and Ctrl-C work) while `setsid` waits for it. The session
//! is found afterwards by asking the master for the slave's session id.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};

use nix::sys::signal::{Signal, kill, killpg};
use nix::unistd::Pid;
use rustix::fs::{Mode, OFlags};
#[cfg(target_os = "linux")]
use rustix::pty::OpenptFlags;
use rustix::termios::Winsize;
use tokio::io::unix::AsyncFd;

/// Window size before the client sends one.
pub(crate) const DEFAULT_SIZE: (u16, u16) = (80, 24);

/// The master side of a PTY, registered with tokio for non-blocking reads and writes.
pub(crate) struct Master {
    fd: AsyncFd<OwnedFd>,
    /// The terminal's session id, once known (0 before).
    sid: AtomicI32,
}

/// Opens a PTY pair from the multiplexer `ptmx` (the sandbox's own `devpts` instance, so the
/// slave exists inside the sandbox and `tty` names it; `/dev/ptmx` without namespaces): the
/// master (non-blocking) and the slave, opened from the master (`TIOCGPTPEER`), never by a path.
pub(crate) fn open(ptmx: &Path) -> io::Result<(Master, OwnedFd)> {
    let master = rustix::fs::open(ptmx, OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC, Mode::empty())?;
    rustix::pty::grantpt(&master)?;
    rustix::pty::unlockpt(&master)?;
    let slave = open_slave(&master)?;
    let (cols, rows) = DEFAULT_SIZE;
    set_size(&master, cols, rows)?;
    let flags = rustix::fs::fcntl_getfl(&master)?;
    rustix::fs::fcntl_setfl(&master, flags | OFlags::NONBLOCK)?;
    // `AsyncFd::new` is deprecated because a borrowed raw descriptor could be closed while
    // registered; here the AsyncFd owns the `OwnedFd`, so it stays open as long as it is
    // registered (the replacement, `register`, is `unsafe`, which this workspace denies).
    #[allow(deprecated)]
    let fd = AsyncFd::new(master)?;
    Ok((
        Master {
            fd,
            sid: AtomicI32::new(0),
        },
        slave,
    ))
}

/// The slave of `master`, opened from the master itself (no path a sandbox could swap).
#[cfg(target_os = "linux")]
fn open_slave(master: &OwnedFd) -> io::Result<OwnedFd> {
    let flags = OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC;
    Ok(rustix::pty::ioctl_tiocgptpeer(master, flags)?)
}

/// The slave of `master`, by its name (systems without `TIOCGPTPEER` have no sandboxes with
/// their own `/dev/pts` either).
#[cfg(not(target_os = "linux"))]
fn open_slave(master: &OwnedFd) -> io::Result<OwnedFd> {
    let name = rustix::pty::ptsname(master, Vec::new())?;
    Ok(rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?)
}

fn set_size(fd: impl AsFd, cols: u16, rows: u16) -> io::Result<()> {
    rustix::termios::tcsetwinsize(
        fd,
        Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        },
    )?;
    Ok(())
}

/// The `/bin/sh -c` command that starts the session: `command` when given (through the
/// template's shell), else an interactive shell (`/bin/bash` when present, else `/bin/sh`).
pub(crate) fn session_command(command: Option<&str>) -> String {
    const PICK: &str = "if [ -x /bin/bash ]; then s=/bin/bash; else s=/bin/sh; fi; ";
    match command {
        // The command travels as a positional argument, never spliced into shell text.
        Some(_) => format!("{PICK}exec setsid --wait --ctty \"$s\" -c \"$AGENTTIER_TERMINAL_COMMAND\""),
        None => format!("{PICK}exec setsid --wait --ctty \"$s\" -i"),
    }
}

impl Master {
    /// Reads what the shell wrote; `Ok(0)` once every slave is closed (the shell ended).
    pub(crate) async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| rustix::io::read(fd.get_ref(), &mut *buf).map_err(io::Error::from)) {
                Ok(Err(e)) if e.raw_os_error() == Some(rustix::io::Errno::IO.raw_os_error()) => return Ok(0),
                Ok(result) => return result,
                Err(_would_block) => continue,
            }
        }
    }

    /// Writes all of `data` (keystrokes), waiting while the terminal's input queue is full.
    pub(crate) async fn write_all(&self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|fd| rustix::io::write(fd.get_ref(), data).map_err(io::Error::from)) {
                Ok(Ok(n)) => data = &data[n..],
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
        Ok(())
    }

    /// Sets the window size; the foreground program gets `SIGWINCH`.
    pub(crate) fn resize(&self, cols: u16, rows: u16) -> io::Result<()> {
        set_size(self.fd.get_ref(), cols, rows)
    }

    /// Remembers the id of the session on this terminal (the shell's), once it exists, so the
    /// session can be ended even after its leader is gone.
    pub(crate) fn learn_session(&self) {
        if self.sid.load(Ordering::Relaxed) == 0 {
            if let Ok(sid) = rustix::termios::tcgetsid(self.fd.get_ref()) {
                self.sid.store(sid.as_raw_nonzero().get(), Ordering::Relaxed);
            }
        }
    }

    /// Kills every process of the session on this terminal: the shell, its jobs (each in a
    /// process group of its own) and the foreground program. Processes that started sessions
    /// of their own (daemons) are not followed, as with `exec`.
    pub(crate) fn kill_session(&self) {
        self.learn_session();
        if let Ok(fg) = rustix::termios::tcgetpgrp(self.fd.get_ref()) {
            let _ = killpg(Pid::from_raw(fg.as_raw_nonzero().get()), Signal::SIGKILL);
        }
        let sid = self.sid.load(Ordering::Relaxed);
        if sid > 0 {
            for pid in session_members(sid) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
    }
}

/// Pids of the processes in session `sid` (field 6 of `/proc/<pid>/stat`).
fn session_members(sid: i32) -> Vec<i32> {
    crate::procfs::pids()
        .filter(|pid| crate::procfs::stat_field(*pid, 3) == Some(sid))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pty_carries_bytes_both_ways_and_resizes() {
        let (master, slave) = open(Path::new("/dev/ptmx")).unwrap();
        let mut child = tokio::process::Command::new("/bin/sh")
            .args(["-c", "read line; echo \"got:$line\"; stty size"])
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave)
            .spawn()
            .unwrap();
        master.resize(100, 30).unwrap();
        master.write_all(b"hello\n").await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = master.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        child.wait().await.unwrap();
        let text = String::from_utf8_lossy(&seen);
        assert!(text.contains("got:hello"), "{text}");
        assert!(text.contains("30 100"), "{text}");
    }

    #[test]
    fn session_command_never_splices_the_command() {
        let c = session_command(Some("echo $(rm -rf /)"));
        assert!(!c.contains("rm -rf"));
        assert!(session_command(None).contains("-i"));
    }
}
