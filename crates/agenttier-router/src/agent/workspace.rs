//! Writing configure files inside a sandbox's workspace without ever leaving it: paths are
//! cleaned here and walked by [`crate::files::confined`] (directory descriptors, `O_NOFOLLOW`,
//! links followed by hand only while they stay inside), so a link swapped in between the check
//! and the write makes the write fail instead of escaping.

use std::path::Path;

pub(crate) use crate::files::confined::PathError;
use crate::files::confined::{Root, WORKSPACE};

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

/// Fails with [`PathError::Escapes`] when writing `parts` would leave the workspace.
pub(crate) fn check(root: &Path, parts: &[String]) -> Result<(), PathError> {
    Root::open(root)?.locate(parts, false).map(|_| ())
}

/// Writes `data` to `parts` under `root`, creating directories as needed (files 0644, owned by
/// the sandbox's root).
pub(crate) fn write(root: &Path, parts: &[String], data: &[u8]) -> Result<(), PathError> {
    Root::open(root)?.write(parts, data)
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
