//! A command started by a spawner, as the router holds it: its standard streams, its pid and
//! how it ended.

use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::process::ExitStatus;
use std::time::Duration;

use tokio::net::unix::pipe;
use tokio::sync::oneshot;

/// How long a reply waits for the report that a killed command ended.
const KILLED_WAIT: Duration = Duration::from_secs(3);

/// One standard stream of a command.
pub(crate) enum Stdio {
    /// `/dev/null`.
    Null,
    /// A pipe to the router ([`SandboxChild`]'s `stdin`, `stdout` or `stderr`).
    Piped,
    /// This descriptor (a PTY's slave).
    Fd(OwnedFd),
}

/// A command started in a sandbox. Its spawner reaps it; [`SandboxChild::wait`] hears how it ended.
pub(crate) struct SandboxChild {
    pub(super) pid: Option<i32>,
    pub stdin: Option<pipe::Sender>,
    pub stdout: Option<pipe::Receiver>,
    pub stderr: Option<pipe::Receiver>,
    pub(super) exit: Option<oneshot::Receiver<ExitStatus>>,
    pub(super) status: Option<ExitStatus>,
}

impl SandboxChild {
    /// Host pid of the command (leader of its own process group) until it has been waited for.
    pub(crate) fn id(&self) -> Option<u32> {
        self.pid.map(|p| p as u32)
    }

    /// Waits a moment for a command whose group was just killed to be reported ended. The report
    /// comes from the sandbox's spawner, which a sandbox at its CPU quota (a fork bomb) may keep
    /// from running for long: a reply never waits more than [`KILLED_WAIT`] for it.
    pub(crate) async fn wait_killed(&mut self) {
        let _ = tokio::time::timeout(KILLED_WAIT, self.wait()).await;
    }

    /// Waits for the command to end (cancel-safe; again after the end, the same status).
    pub(crate) async fn wait(&mut self) -> io::Result<ExitStatus> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        let exit = self.exit.as_mut().ok_or_else(gone)?;
        let ended = exit.await;
        self.exit = None;
        self.pid = None;
        let status = ended.map_err(|_| gone())?;
        self.status = Some(status);
        Ok(status)
    }
}

/// A command's output pipe, read until its end or until `stop` says the command is over; then
/// what the pipe still holds is read too, without waiting and whatever the runtime believes of
/// its readiness (it learns a moment after the bytes arrive that a pipe is readable: a reader
/// that took "not known to be readable" for "empty" lost output under load).
pub(crate) struct OutputReader {
    pipe: pipe::Receiver,
    stop: tokio::sync::watch::Receiver<bool>,
    stopped: bool,
}

impl OutputReader {
    pub(crate) fn new(pipe: pipe::Receiver, stop: tokio::sync::watch::Receiver<bool>) -> OutputReader {
        OutputReader {
            pipe,
            stop,
            stopped: false,
        }
    }

    /// The next bytes, read into `buf`; `None` at the end (after a stop: once the pipe is empty).
    pub(crate) async fn next(&mut self, buf: &mut [u8]) -> Option<usize> {
        use tokio::io::AsyncReadExt;
        if !self.stopped {
            tokio::select! {
                biased;
                res = self.pipe.read(buf) => return res.ok().filter(|n| *n > 0),
                _ = self.stop.wait_for(|s| *s) => self.stopped = true,
            }
        }
        rustix::io::read(&self.pipe, buf).ok().filter(|n| *n > 0)
    }

    /// Whether the stop has come (what is read now was already in the pipe).
    pub(crate) fn stopped(&self) -> bool {
        self.stopped
    }
}

pub(super) fn gone() -> io::Error {
    io::Error::other("the sandbox's spawner ended (it is started again for the next command)")
}

impl Stdio {
    /// The descriptor the command gets (not for [`Stdio::Piped`], which has two ends).
    fn into_fd(self) -> io::Result<OwnedFd> {
        match self {
            Stdio::Fd(fd) => Ok(fd),
            _ => Ok(File::options().read(true).write(true).open("/dev/null")?.into()),
        }
    }
}

/// A pipe (read end, write end) whose ends close on `exec`.
fn cloexec_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    #[cfg(target_os = "linux")]
    return Ok(rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?);
    #[cfg(not(target_os = "linux"))]
    {
        let (read, write) = rustix::pipe::pipe()?;
        for end in [&read, &write] {
            rustix::io::fcntl_setfd(end, rustix::io::FdFlags::CLOEXEC)?;
        }
        Ok((read, write))
    }
}

/// The command's end and the router's end of its standard input.
pub(super) fn input(stdio: Stdio) -> io::Result<(OwnedFd, Option<pipe::Sender>)> {
    match stdio {
        Stdio::Piped => {
            let (read, write) = cloexec_pipe()?;
            Ok((read, Some(pipe::Sender::from_owned_fd(write)?)))
        }
        other => Ok((other.into_fd()?, None)),
    }
}

/// The command's end and the router's end of an output stream.
pub(super) fn output(stdio: Stdio) -> io::Result<(OwnedFd, Option<pipe::Receiver>)> {
    match stdio {
        Stdio::Piped => {
            let (read, write) = cloexec_pipe()?;
            Ok((write, Some(pipe::Receiver::from_owned_fd(read)?)))
        }
        other => Ok((other.into_fd()?, None)),
    }
}
