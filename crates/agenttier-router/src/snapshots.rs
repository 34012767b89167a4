//! Workspace snapshots: the local form of the platform's VolumeSnapshots, behind backups (§3.11)
//! and clone (§3.9).
//!
//! A snapshot is a copy of a sandbox's workspace directory under `<data-dir>/snapshots/<name>`,
//! with a row in SQLite. Copies keep regular files (with their permission bits), directories
//! and symlinks (as links, never followed); sockets, fifos and devices are skipped. A snapshot
//! is written to a temporary name first and renamed when complete, so a crash never leaves a
//! half-written snapshot that looks ready.

use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::errors::ApiError;
use crate::gotime::now_unix;
use crate::store::{SnapshotRow, Store};

/// Where snapshots live, and their records.
pub(crate) struct Snapshots {
    root: PathBuf,
    staging: PathBuf,
    store: Arc<Store>,
}

impl Snapshots {
    pub(crate) fn new(data_dir: &Path, store: Arc<Store>) -> Snapshots {
        Snapshots {
            root: data_dir.join("snapshots"),
            staging: data_dir.join("staging"),
            store,
        }
    }

    fn dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// A name `<base>-<unix>` not taken yet (`-2`, `-3`, ... appended within one second).
    pub(crate) fn fresh_name(&self, base: &str) -> String {
        let first = format!("{base}-{}", now_unix());
        let mut name = first.clone();
        let mut n = 2;
        while self.get(&name).is_some() || self.dir(&name).exists() {
            name = format!("{first}-{n}");
            n += 1;
        }
        name
    }

    /// Copies `workspace` into a new snapshot `name` of `sandbox`.
    pub(crate) async fn take(
        &self,
        name: &str,
        sandbox: &str,
        kind: &str,
        workspace: PathBuf,
    ) -> Result<SnapshotRow, ApiError> {
        let target = self.dir(name);
        let temp = self.root.join(format!(".partial-{name}-{:08x}", crate::random::u32()));
        let temp2 = temp.clone();
        let bytes = tokio::task::spawn_blocking(move || -> std::io::Result<u64> {
            std::fs::create_dir_all(&temp2)?;
            let n = if workspace.is_dir() {
                copy_tree(&workspace, &temp2)?
            } else {
                0
            };
            Ok(n)
        })
        .await
        .map_err(|e| ApiError::internal(format!("failed to create snapshot: {e}")))?
        .inspect_err(|_| remove(&temp))
        .map_err(|e| ApiError::internal(format!("failed to create snapshot: {e}")))?;
        std::fs::rename(&temp, &target).map_err(|e| {
            remove(&temp);
            ApiError::internal(format!("failed to create snapshot: {e}"))
        })?;
        let row = SnapshotRow {
            name: name.to_owned(),
            sandbox: sandbox.to_owned(),
            kind: kind.to_owned(),
            created_at: now_unix(),
            size_bytes: bytes as i64,
        };
        self.store.save_snapshot(&row).map_err(|e| {
            remove(&target);
            ApiError::internal(format!("failed to create snapshot: {e}"))
        })?;
        Ok(row)
    }

    /// Copies snapshot `name` into a fresh staging directory (to become a new workspace).
    pub(crate) async fn stage(&self, name: &str) -> Result<PathBuf, ApiError> {
        let from = self.dir(name);
        let to = self.staging_dir();
        let to2 = to.clone();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::create_dir_all(&to2)?;
            copy_tree(&from, &to2).map(|_| ())
        })
        .await
        .map_err(|e| ApiError::internal(format!("failed to copy snapshot: {e}")))?
        .map_err(|e| {
            remove(&to);
            ApiError::internal(format!("failed to copy snapshot: {e}"))
        })?;
        Ok(to)
    }

    /// A fresh, not yet existing directory under the staging area.
    pub(crate) fn staging_dir(&self) -> PathBuf {
        self.staging.join(format!("{:016x}", crate::random::u64()))
    }

    pub(crate) fn get(&self, name: &str) -> Option<SnapshotRow> {
        self.store.snapshot(name).ok().flatten()
    }

    /// Snapshots of one sandbox, oldest first.
    pub(crate) fn list(&self, sandbox: &str) -> Vec<SnapshotRow> {
        self.store.list_snapshots(Some(sandbox)).unwrap_or_default()
    }

    /// Removes one snapshot (record first, then its files in the background).
    pub(crate) fn delete(&self, name: &str) -> Result<(), ApiError> {
        self.store
            .delete_snapshot(name)
            .map_err(|e| ApiError::internal(format!("failed to delete snapshot: {e}")))?;
        let dir = self.dir(name);
        std::thread::spawn(move || remove(&dir));
        Ok(())
    }

    /// Removes every snapshot of a deleted sandbox.
    pub(crate) fn delete_all_of(&self, sandbox: &str) {
        for s in self.list(sandbox) {
            let _ = self.delete(&s.name);
        }
    }

    /// Ends half-written copies a killed router left behind.
    pub(crate) fn clean_partial(&self) {
        remove(&self.staging);
        if let Ok(entries) = std::fs::read_dir(&self.root) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(".partial-") {
                    remove(&e.path());
                }
            }
        }
    }
}

fn remove(p: &Path) {
    let _ = std::fs::remove_dir_all(p);
}

/// Copies the tree under `from` into the existing directory `to`; returns the bytes of regular
/// files copied. The source is a workspace its sandbox may be changing meanwhile, so it is
/// walked by directory descriptors without following any link ([`crate::files::confined`]):
/// links are copied as links, directories and regular files with their mode and owner (a
/// restored workspace is then given to its new sandbox's uids), FIFOs, sockets and devices are
/// skipped unopened.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> std::io::Result<u64> {
    use nix::fcntl::{OFlag, open};
    use nix::sys::stat::Mode;
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    let src = open(from, flags, Mode::empty())?;
    let dst = open(to, flags, Mode::empty())?;
    copy_dir(&src, &dst)
}

fn copy_dir(src: &OwnedFd, dst: &OwnedFd) -> std::io::Result<u64> {
    use crate::files::confined::{self, Kind};
    use nix::fcntl::{AtFlags, OFlag, openat, readlinkat};
    use nix::sys::stat::{Mode, fchmod, fstatat, mkdirat};
    use nix::unistd::{Gid, Uid, fchown, fchownat, symlinkat};
    let mut total = 0;
    for name in confined::names(src)? {
        let Ok(st) = fstatat(src, name.as_str(), AtFlags::AT_SYMLINK_NOFOLLOW) else {
            continue; // removed meanwhile
        };
        let owner = (Some(Uid::from_raw(st.st_uid)), Some(Gid::from_raw(st.st_gid)));
        let mode = Mode::from_bits_truncate(st.st_mode & 0o7777);
        match confined::kind_of(&st) {
            Kind::Link => {
                let target = readlinkat(src, name.as_str())?;
                symlinkat(target.as_os_str(), dst, name.as_str())?;
                // Owners are kept where the router may set them (as root); a plain-mode router
                // running as a user keeps its own.
                let _ = fchownat(dst, name.as_str(), owner.0, owner.1, AtFlags::AT_SYMLINK_NOFOLLOW);
            }
            Kind::Dir => {
                let Ok(from) = confined::open_subdir(src, &name) else {
                    continue;
                };
                mkdirat(dst, name.as_str(), Mode::from_bits_truncate(0o700))?;
                let to = confined::open_subdir(dst, &name)?;
                total += copy_dir(&from, &to)?;
                let _ = fchown(&to, owner.0, owner.1);
                fchmod(&to, mode)?;
            }
            Kind::File => {
                let Ok(Some((mut from, _))) = confined::open_regular(src, &name) else {
                    continue;
                };
                let fd = openat(
                    dst,
                    name.as_str(),
                    OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
                    Mode::from_bits_truncate(0o600),
                )?;
                let mut to = std::fs::File::from(fd);
                total += std::io::copy(&mut from, &mut to)?;
                let _ = fchown(&to, owner.0, owner.1);
                fchmod(&to, mode)?;
            }
            Kind::Special => {}
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_files_dirs_and_links_without_following() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(a.path().join("d/e")).unwrap();
        std::fs::write(a.path().join("d/e/f.txt"), b"hello").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", a.path().join("link")).unwrap();
        let n = copy_tree(a.path(), b.path()).unwrap();
        assert_eq!(n, 5);
        assert_eq!(std::fs::read(b.path().join("d/e/f.txt")).unwrap(), b"hello");
        assert_eq!(
            std::fs::read_link(b.path().join("link")).unwrap(),
            Path::new("/etc/passwd")
        );
    }
}
