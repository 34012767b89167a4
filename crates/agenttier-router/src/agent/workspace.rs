//! Writing configure files inside a sandbox's workspace without ever leaving it.
//!
//! The router writes on the host, as itself, into `<data-dir>/sandboxes/<name>`, a directory the
//! sandbox's own processes can change at any time. Paths are therefore resolved one component at
//! a time through directory file descriptors (`openat` with `O_NOFOLLOW`), following symbolic
//! links by hand: a link is followed only while its target stays inside the workspace (an
//! absolute target must start with `/workspace/`, or with the host path of the workspace in a
//! sandbox without namespaces); a link that leads out is refused. A link swapped in between the
//! check and the write makes the write fail instead of escaping.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat, readlinkat};
use nix::sys::stat::{Mode, SFlag, fstatat, mkdirat};

/// The sandbox-side workspace path.
pub(crate) const WORKSPACE: &str = "/workspace";

/// Most symbolic links followed for one path (as Linux's `MAXSYMLINKS`).
const MAX_LINKS: usize = 40;

/// Why a path could not be resolved or written.
#[derive(Debug)]
pub(crate) enum PathError {
    /// A symbolic link (or `..` in a link target) leads outside the workspace.
    Escapes,
    /// Any other failure, with its text.
    Io(String),
}

/// The components below `/workspace` of a cleaned absolute path, or `None` when the path is not
/// strictly inside `/workspace`.
pub(crate) fn workspace_relative(cleaned: &str) -> Option<Vec<String>> {
    let rest = cleaned.strip_prefix(WORKSPACE)?.strip_prefix('/')?;
    let parts: Vec<String> = rest.split('/').filter(|p| !p.is_empty()).map(str::to_owned).collect();
    if parts.is_empty() { None } else { Some(parts) }
}

/// Go's `path.Clean` for an absolute path without `..`: collapses `//` and `/./`, drops a
/// trailing slash.
pub(crate) fn clean(path: &str) -> String {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    format!("/{}", parts.join("/"))
}

fn io(what: &str, e: Errno) -> PathError {
    PathError::Io(format!("{what}: {}", e.desc().to_lowercase()))
}

fn open_dir(dir: &OwnedFd, name: &str) -> Result<OwnedFd, Errno> {
    openat(
        dir,
        name,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
}

/// Resolves `parts` under `root`. Returns the directory that holds the last component and its
/// name. With `create`, missing directories are made (0755); without, resolution stops with
/// success at the first missing component (nothing below it can be a link).
fn resolve(
    root: &Path,
    host_root: &str,
    parts: &[String],
    create: bool,
) -> Result<Option<(OwnedFd, String)>, PathError> {
    let root_fd = nix::fcntl::open(
        root,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| io("open workspace", e))?;
    let mut stack: Vec<OwnedFd> = vec![root_fd];
    let mut queue: VecDeque<String> = parts.iter().cloned().collect();
    let mut links = 0;
    while let Some(name) = queue.pop_front() {
        let last = queue.is_empty();
        if name == "." || name.is_empty() {
            continue;
        }
        if name == ".." {
            if stack.len() == 1 {
                return Err(PathError::Escapes);
            }
            stack.pop();
            continue;
        }
        let dir = stack.last().expect("root is never popped");
        let stat = match fstatat(dir, name.as_str(), AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => Some(st),
            Err(Errno::ENOENT) => None,
            Err(e) => return Err(io(&name, e)),
        };
        let kind = stat.map(|st| SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT);
        if kind == Some(SFlag::S_IFLNK) {
            links += 1;
            if links > MAX_LINKS {
                return Err(PathError::Io(format!("{name}: too many levels of symbolic links")));
            }
            let target = readlinkat(dir, name.as_str()).map_err(|e| io(&name, e))?;
            let target = String::from_utf8(OsString::into_vec(target))
                .map_err(|_| PathError::Io(format!("{name}: link target is not UTF-8")))?;
            let relative = if let Some(abs) = target.strip_prefix('/') {
                let abs = format!("/{abs}");
                let inside = [WORKSPACE, host_root].iter().find_map(|r| {
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
            Some(SFlag::S_IFDIR) => {}
            Some(_) => return Err(PathError::Io(format!("{name}: not a directory"))),
            None if !create => return Ok(None),
            None => match mkdirat(dir, name.as_str(), Mode::from_bits_truncate(0o755)) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => return Err(io(&name, e)),
            },
        }
        let next = open_dir(dir, &name).map_err(|e| io(&name, e))?;
        stack.push(next);
    }
    Err(PathError::Io("empty path".into()))
}

/// Fails with [`PathError::Escapes`] when writing `parts` would leave the workspace.
pub(crate) fn check(root: &Path, parts: &[String]) -> Result<(), PathError> {
    resolve(root, &root.to_string_lossy(), parts, false).map(|_| ())
}

/// Writes `data` to `parts` under `root`, creating directories as needed (files 0644).
pub(crate) fn write(root: &Path, parts: &[String], data: &[u8]) -> Result<(), PathError> {
    let Some((dir, name)) = resolve(root, &root.to_string_lossy(), parts, true)? else {
        return Err(PathError::Io("path vanished while writing".into()));
    };
    let fd = openat(
        &dir,
        name.as_str(),
        OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_TRUNC | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::from_bits_truncate(0o644),
    )
    .map_err(|e| io(&name, e))?;
    let mut f = File::from(fd);
    f.write_all(data).map_err(|e| PathError::Io(format!("{name}: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(p: &str) -> Vec<String> {
        workspace_relative(&clean(p)).unwrap()
    }

    #[test]
    fn paths() {
        assert_eq!(clean("/workspace//a/./b/"), "/workspace/a/b");
        assert!(workspace_relative("/workspace").is_none());
        assert!(workspace_relative("/workspacex/a").is_none());
        assert!(workspace_relative("/etc/passwd").is_none());
        assert_eq!(parts("/workspace/a/b"), ["a", "b"]);
    }

    #[test]
    fn links_inside_are_followed_and_links_out_refused() {
        let ws = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        let root = ws.path();
        std::fs::create_dir(root.join("real")).unwrap();
        std::os::unix::fs::symlink("real", root.join("rel")).unwrap();
        std::os::unix::fs::symlink("/workspace/real", root.join("abs")).unwrap();
        std::os::unix::fs::symlink(out.path(), root.join("out")).unwrap();
        std::os::unix::fs::symlink("../..", root.join("real/up")).unwrap();
        std::os::unix::fs::symlink(out.path().join("f"), root.join("file-out")).unwrap();
        write(root, &parts("/workspace/rel/a.txt"), b"1").unwrap();
        write(root, &parts("/workspace/abs/b.txt"), b"2").unwrap();
        write(root, &parts("/workspace/new/dir/c.txt"), b"3").unwrap();
        assert_eq!(std::fs::read(root.join("real/a.txt")).unwrap(), b"1");
        assert_eq!(std::fs::read(root.join("real/b.txt")).unwrap(), b"2");
        assert_eq!(std::fs::read(root.join("new/dir/c.txt")).unwrap(), b"3");
        for p in ["/workspace/out/x", "/workspace/real/up/x", "/workspace/file-out"] {
            assert!(matches!(check(root, &parts(p)), Err(PathError::Escapes)), "{p}");
            assert!(matches!(write(root, &parts(p), b"x"), Err(PathError::Escapes)), "{p}");
        }
        assert!(std::fs::read_dir(out.path()).unwrap().next().is_none());
        std::fs::write(root.join("plain"), b"").unwrap();
        assert!(matches!(
            write(root, &parts("/workspace/plain/x"), b"x"),
            Err(PathError::Io(_))
        ));
    }
}
