//! Kernel-confined access to a sandbox directory, shared by the files API, configure writes and
//! snapshot/backup copies.
//!
//! The router works on the host, as root, inside `<data-dir>/sandboxes/<name>`: a directory the
//! sandbox's own processes change at any time. Paths are therefore walked one component at a
//! time through directory file descriptors, every step an `openat`/`fstatat` with `O_NOFOLLOW`
//! relative to the directory before: the kernel never follows a link on our behalf, so no path
//! check can be raced (a link swapped in between two steps is seen by the next step). Links are
//! followed by hand, only while they stay inside the workspace: an absolute target must start
//! with `/workspace/` (or with the host path of the workspace, as plain-mode sandboxes see it),
//! and `..` may not climb above the workspace. A missing component ends the walk, as the
//! kernel's own lookup would (`nothere/../x` does not exist).
//!
//! Only directories and regular files are ever opened for data: FIFOs, sockets and devices are
//! reported as [`Kind::Special`] (files are opened `O_NONBLOCK` and checked again after the
//! open, so a FIFO swapped in cannot block a thread). Whatever the router creates (directories,
//! uploads, configure files) is given to the owner of the workspace directory, the sandbox's
//! root uid.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat, readlinkat};
use nix::sys::stat::{FileStat, Mode, SFlag, fstat, fstatat, mkdirat};
use nix::unistd::{Gid, Uid, fchown, fchownat};

/// Name prefix of the temporary files; leftovers of a killed router are swept on restart.
pub(crate) const TEMP_PREFIX: &str = ".agenttier-upload-";

/// The sandbox-side workspace path.
pub(crate) const WORKSPACE: &str = "/workspace";

/// Most symbolic links followed for one path (as Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// Why a path could not be resolved, opened or written.
#[derive(Debug)]
pub(crate) enum PathError {
    /// A symbolic link (or `..` in a link target) leads outside the workspace.
    Escapes,
    /// A FIFO, socket or device where a file or directory was expected.
    Special,
    /// Any other failure, with its text.
    Io(String),
}

fn io_err(what: &str, e: Errno) -> PathError {
    PathError::Io(format!("{what}: {}", e.desc().to_lowercase()))
}

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Dir,
    File,
    Link,
    /// FIFO, socket, character or block device.
    Special,
}

/// The kind of a `stat` result.
pub(crate) fn kind_of(st: &FileStat) -> Kind {
    match SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT {
        SFlag::S_IFDIR => Kind::Dir,
        SFlag::S_IFREG => Kind::File,
        SFlag::S_IFLNK => Kind::Link,
        _ => Kind::Special,
    }
}

/// An opened workspace: the directory, who owns it (and so what the router creates in it), and
/// its host path (the absolute link prefix plain-mode sandboxes see).
pub(crate) struct Root {
    fd: OwnedFd,
    owner: (Uid, Gid),
    host: String,
}

fn open_dir_at(dir: &impl AsFd, name: &str) -> Result<OwnedFd, Errno> {
    openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

impl Root {
    /// Opens the sandbox directory `dir`.
    pub(crate) fn open(dir: &Path) -> Result<Root, PathError> {
        let fd = nix::fcntl::open(
            dir,
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| io_err("open workspace", e))?;
        let st = fstat(&fd).map_err(|e| io_err("open workspace", e))?;
        Ok(Root {
            fd,
            owner: (Uid::from_raw(st.st_uid), Gid::from_raw(st.st_gid)),
            host: dir.to_string_lossy().into_owned(),
        })
    }

    /// Gives a file the router just made (`name` in `dir`, or `dir` itself) to the workspace owner.
    pub(crate) fn own(&self, dir: &impl AsFd, name: Option<&str>) -> Result<(), PathError> {
        let (uid, gid) = self.owner;
        let done = match name {
            Some(n) => fchownat(dir, n, Some(uid), Some(gid), AtFlags::AT_SYMLINK_NOFOLLOW),
            None => fchown(dir, Some(uid), Some(gid)),
        };
        done.map_err(|e| io_err("chown", e))
    }

    /// A new descriptor of the workspace directory itself.
    pub(crate) fn dir(&self) -> Result<OwnedFd, PathError> {
        self.fd
            .try_clone()
            .map_err(|e| PathError::Io(format!("open workspace: {e}")))
    }

    /// Walks `parts` (components below `/workspace`, non-empty). Returns the directory holding
    /// the last component and its name, every link on the way (the last component's included)
    /// followed inside the workspace; the name `.` means the returned directory itself (a link
    /// to a directory). With `create`, missing directories are made (0755, given to
    /// the workspace owner); without, `None` at the first missing directory.
    pub(crate) fn locate(&self, parts: &[String], create: bool) -> Result<Option<(OwnedFd, String)>, PathError> {
        let mut stack: Vec<OwnedFd> = vec![self.dir()?];
        let mut queue: VecDeque<String> = parts.iter().cloned().collect();
        let mut links = 0;
        while let Some(name) = queue.pop_front() {
            let last = queue.is_empty();
            if name == ".." {
                if stack.len() == 1 {
                    return Err(PathError::Escapes);
                }
                stack.pop();
            }
            if name == "." || name.is_empty() || name == ".." {
                if last {
                    // A link target ending in `.`, `..` or `/`: the directory itself.
                    return Ok(Some((stack.pop().expect("root"), ".".into())));
                }
                continue;
            }
            let dir = stack.last().expect("root is never popped");
            let kind = match fstatat(dir, name.as_str(), AtFlags::AT_SYMLINK_NOFOLLOW) {
                Ok(st) => Some(kind_of(&st)),
                Err(Errno::ENOENT) => None,
                Err(e) => return Err(io_err(&name, e)),
            };
            if kind == Some(Kind::Link) {
                links += 1;
                if links > MAX_LINKS {
                    return Err(PathError::Io(format!("{name}: too many levels of symbolic links")));
                }
                let target = readlinkat(dir, name.as_str()).map_err(|e| io_err(&name, e))?;
                let target = String::from_utf8(OsString::into_vec(target))
                    .map_err(|_| PathError::Io(format!("{name}: link target is not UTF-8")))?;
                let relative = if let Some(abs) = target.strip_prefix('/') {
                    let abs = format!("/{abs}");
                    let inside = [WORKSPACE, self.host.as_str()].iter().find_map(|r| {
                        abs.strip_prefix(r)
                            .filter(|rest| rest.is_empty() || rest.starts_with('/'))
                    });
                    let Some(rest) = inside else {
                        return Err(PathError::Escapes);
                    };
                    stack.truncate(1);
                    rest.to_owned()
                } else {
                    target
                };
                for p in relative.split('/').rev() {
                    queue.push_front(p.to_owned());
                }
                continue;
            }
            if last {
                return Ok(Some((stack.pop().expect("root"), name)));
            }
            match kind {
                Some(Kind::Dir) => {}
                Some(_) => return Err(PathError::Io(format!("{name}: not a directory"))),
                None if !create => return Ok(None),
                None => match mkdirat(dir, name.as_str(), Mode::from_bits_truncate(0o755)) {
                    Ok(()) => self.own(dir, Some(&name))?,
                    Err(Errno::EEXIST) => {}
                    Err(e) => return Err(io_err(&name, e)),
                },
            }
            let next = open_dir_at(dir, &name).map_err(|e| io_err(&name, e))?;
            stack.push(next);
        }
        Err(PathError::Io("empty path".into()))
    }

    /// Opens the directory `parts` names (the workspace itself when empty); `None` when missing.
    pub(crate) fn open_dir(&self, parts: &[String]) -> Result<Option<OwnedFd>, PathError> {
        if parts.is_empty() {
            return self.dir().map(Some);
        }
        let Some((dir, name)) = self.locate(parts, false)? else {
            return Ok(None);
        };
        if name == "." {
            return Ok(Some(dir));
        }
        match fstatat(&dir, name.as_str(), AtFlags::AT_SYMLINK_NOFOLLOW).map(|st| kind_of(&st)) {
            Ok(Kind::Dir) => open_dir_at(&dir, &name).map(Some).map_err(|e| io_err(&name, e)),
            Ok(Kind::Special) => Err(PathError::Special),
            Ok(_) | Err(Errno::ENOENT) => Ok(None),
            Err(e) => Err(io_err(&name, e)),
        }
    }

    /// Opens the regular file `parts` names for reading. `Ok(None)` when it does not exist or
    /// is a directory; [`PathError::Special`] for a FIFO, socket or device.
    pub(crate) fn open_file(&self, parts: &[String]) -> Result<Option<(File, u64)>, PathError> {
        let Some((dir, name)) = self.locate(parts, false)? else {
            return Ok(None);
        };
        if name == "." {
            return Ok(None);
        }
        open_regular(&dir, &name)
    }

    /// Writes `data` to `parts`, creating directories as needed (files 0644, given to the
    /// workspace owner). An existing FIFO, socket or device is refused, never opened.
    pub(crate) fn write(&self, parts: &[String], data: &[u8]) -> Result<(), PathError> {
        use std::io::Write;
        let Some((dir, name)) = self.locate(parts, true)? else {
            return Err(PathError::Io("path vanished while writing".into()));
        };
        match fstatat(&dir, name.as_str(), AtFlags::AT_SYMLINK_NOFOLLOW).map(|st| kind_of(&st)) {
            Ok(Kind::Special) => return Err(PathError::Special),
            Ok(Kind::Dir) => return Err(PathError::Io(format!("{name}: is a directory"))),
            _ => {}
        }
        let fd = openat(
            &dir,
            name.as_str(),
            OFlag::O_WRONLY
                | OFlag::O_CREAT
                | OFlag::O_TRUNC
                | OFlag::O_NOFOLLOW
                | OFlag::O_NONBLOCK
                | OFlag::O_NOCTTY
                | OFlag::O_CLOEXEC,
            Mode::from_bits_truncate(0o644),
        )
        .map_err(|e| io_err(&name, e))?;
        let st = fstat(&fd).map_err(|e| io_err(&name, e))?;
        if kind_of(&st) != Kind::File {
            return Err(PathError::Special);
        }
        self.own(&fd, None)?;
        let mut f = File::from(fd);
        f.write_all(data).map_err(|e| PathError::Io(format!("{name}: {e}")))?;
        Ok(())
    }
}

/// Opens `name` in `dir` for reading if it is a regular file (see [`Root::open_file`]).
pub(crate) fn open_regular(dir: &impl AsFd, name: &str) -> Result<Option<(File, u64)>, PathError> {
    match fstatat(dir, name, AtFlags::AT_SYMLINK_NOFOLLOW).map(|st| kind_of(&st)) {
        Ok(Kind::File) => {}
        Ok(Kind::Special) => return Err(PathError::Special),
        Ok(_) | Err(Errno::ENOENT) => return Ok(None),
        Err(e) => return Err(io_err(name, e)),
    }
    let fd = match openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::ENOENT | Errno::ELOOP) => return Ok(None),
        Err(e) => return Err(io_err(name, e)),
    };
    let st = fstat(&fd).map_err(|e| io_err(name, e))?;
    match kind_of(&st) {
        Kind::File => {}
        Kind::Special => return Err(PathError::Special),
        _ => return Ok(None),
    }
    // Back to blocking reads: a regular file never blocks.
    let _ = nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFL(OFlag::empty()));
    Ok(Some((File::from(fd), st.st_size as u64)))
}

/// Opens the directory `name` in `dir`, never following a link.
pub(crate) fn open_subdir(dir: &impl AsFd, name: &str) -> io::Result<OwnedFd> {
    Ok(open_dir_at(dir, name)?)
}

/// Names in an opened directory (without `.` and `..`), in byte order.
pub(crate) fn names(dir: &impl AsFd) -> io::Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in rustix::fs::Dir::read_from(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        out.push(String::from_utf8_lossy(name).into_owned());
    }
    out.sort();
    Ok(out)
}

/// Gives the tree under `dir` to the sandbox whose root is host uid/gid `root`: ids that belong
/// to some sandbox range keep their offset inside it (uid 1000 inside stays 1000 inside),
/// anything else (the router's files) becomes the new root. Links are changed, never followed.
pub(crate) fn give_tree(dir: &Path, root: u32) -> io::Result<()> {
    use crate::sandbox::confine::{IDS_PER_SLOT, is_sandbox_uid};
    let map = |id: u32| {
        if is_sandbox_uid(id) {
            root + id % IDS_PER_SLOT
        } else {
            root
        }
    };
    let top = nix::fcntl::open(
        dir,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let st = fstat(&top)?;
    fchown(
        &top,
        Some(Uid::from_raw(map(st.st_uid))),
        Some(Gid::from_raw(map(st.st_gid))),
    )?;
    let mut dirs = vec![top];
    while let Some(d) = dirs.pop() {
        for name in names(&d)? {
            let Ok(st) = fstatat(&d, name.as_str(), AtFlags::AT_SYMLINK_NOFOLLOW) else {
                continue;
            };
            let (uid, gid) = (Uid::from_raw(map(st.st_uid)), Gid::from_raw(map(st.st_gid)));
            fchownat(&d, name.as_str(), Some(uid), Some(gid), AtFlags::AT_SYMLINK_NOFOLLOW)?;
            if kind_of(&st) == Kind::Dir {
                if let Ok(sub) = open_dir_at(&d, &name) {
                    dirs.push(sub);
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(p: &str) -> Vec<String> {
        p.split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect()
    }

    #[test]
    fn links_are_followed_inside_only() {
        let ws = tempfile::tempdir().unwrap();
        let root = ws.path();
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/f"), "x").unwrap();
        std::os::unix::fs::symlink("/etc", root.join("evil")).unwrap();
        std::os::unix::fs::symlink("nothere/../evil", root.join("a")).unwrap();
        std::os::unix::fs::symlink("/workspace/sub", root.join("abs")).unwrap();
        std::os::unix::fs::symlink("sub/f", root.join("rel")).unwrap();
        std::os::unix::fs::symlink(".", root.join("dot")).unwrap();
        let r = Root::open(root).unwrap();
        let read = |p: &str| r.open_file(&parts(p));
        assert!(read("abs/f").unwrap().is_some());
        assert!(read("rel").unwrap().is_some());
        assert!(read("dot/sub/f").unwrap().is_some());
        assert!(r.open_dir(&parts("dot")).unwrap().is_some());
        assert!(matches!(read("evil/passwd"), Err(PathError::Escapes)));
        // The kernel would fail `nothere/..`; so does the walk, before reaching `evil`.
        assert!(read("a/passwd").unwrap().is_none());
        assert!(read("missing").unwrap().is_none());
    }

    #[test]
    fn special_files_are_refused_without_blocking() {
        let ws = tempfile::tempdir().unwrap();
        nix::unistd::mkfifo(&ws.path().join("fifo"), Mode::from_bits_truncate(0o644)).unwrap();
        let r = Root::open(ws.path()).unwrap();
        assert!(matches!(r.open_file(&parts("fifo")), Err(PathError::Special)));
        assert!(matches!(r.write(&parts("fifo"), b"x"), Err(PathError::Special)));
        assert!(matches!(r.open_dir(&parts("fifo")), Err(PathError::Special)));
    }
}
