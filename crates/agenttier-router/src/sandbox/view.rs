//! The filesystem a sandbox sees, built by system calls in the holder's forked child (no shell,
//! no `mount` program per step: starting a sandbox stays as fast as before isolation).
//!
//! | path | what it is |
//! |------|------------|
//! | `/usr`, `/bin`, `/sbin`, `/lib*`, `/etc`, `/opt` | the host's, bound read-only, `nosuid,nodev` (links kept as links) |
//! | `/workspace` | the sandbox directory, read-write, `nosuid,nodev` |
//! | `/tmp`, `/dev/shm` | fresh tmpfs, `nosuid,nodev` (counted in the sandbox's memory limit) |
//! | `/proc` | a fresh procfs of the sandbox's PID namespace (mounted by its init) |
//! | `/dev` | `null zero full random urandom tty`, a private `pts` instance, `ptmx`, `fd` links |
//! | `/`, `/var/tmp` | a read-only tmpfs root; `/var/tmp` links to `/tmp` |
//!
//! Nothing else exists there: not the router's data directory, not other sandboxes, not `/root`,
//! `/home`, `/run`, `/sys` or the rest of `/var`. The old root is detached after `pivot_root`.
//! These are the system directories a shell, compilers and interpreters installed from the
//! distribution need; everything they contain is owned by host users, so the sandbox's
//! unprivileged root can read it but not change it.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{Mode, OFlags};
use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};

/// Host directories bound read-only into every sandbox (or recreated as links where the host
/// has links, as on merged-`/usr` systems).
const SYSTEM_DIRS: [&str; 9] = ["usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "opt"];
/// Device nodes bound from the host's `/dev`.
const DEVICES: [&str; 6] = ["null", "zero", "full", "random", "urandom", "tty"];

/// One step of building the view; every path prepared before the fork.
enum Step {
    Dir(CString),
    File(CString),
    Link {
        target: CString,
        path: CString,
    },
    /// A bind mount, then a remount with `flags` (when not empty).
    Bind {
        src: CString,
        dst: CString,
        flags: MountFlags,
    },
    Mount {
        fs: &'static std::ffi::CStr,
        dst: CString,
        flags: MountFlags,
        data: CString,
    },
}

/// The prepared view of one sandbox.
pub(crate) struct View {
    root: CString,
    steps: Vec<Step>,
    hostname: Vec<u8>,
}

fn c(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::other("path contains NUL"))
}

fn text(s: &str) -> CString {
    CString::new(s).unwrap_or_default()
}

impl View {
    /// The view of sandbox `hostname` whose directory is `workspace`, to be built on the empty
    /// directory `root`.
    pub(crate) fn new(root: &Path, workspace: &Path, hostname: &str) -> io::Result<View> {
        let at = |p: &str| c(&root.join(p));
        let ro = MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV;
        let mut steps = Vec::new();
        for d in SYSTEM_DIRS {
            let host = Path::new("/").join(d);
            let Ok(meta) = std::fs::symlink_metadata(&host) else {
                continue;
            };
            if meta.file_type().is_symlink() {
                steps.push(Step::Link {
                    target: c(&std::fs::read_link(&host)?)?,
                    path: at(d)?,
                });
            } else if meta.is_dir() {
                steps.push(Step::Dir(at(d)?));
                steps.push(Step::Bind {
                    src: c(&host)?,
                    dst: at(d)?,
                    flags: ro,
                });
            }
        }
        for d in ["workspace", "tmp", "proc", "dev", "var"] {
            steps.push(Step::Dir(at(d)?));
        }
        steps.push(Step::Link {
            target: text("/tmp"),
            path: at("var/tmp")?,
        });
        steps.push(Step::Bind {
            src: c(workspace)?,
            dst: at("workspace")?,
            flags: MountFlags::NOSUID | MountFlags::NODEV,
        });
        steps.push(Step::Mount {
            fs: c"tmpfs",
            dst: at("tmp")?,
            flags: MountFlags::NOSUID | MountFlags::NODEV,
            data: text("mode=1777"),
        });
        steps.push(Step::Mount {
            fs: c"tmpfs",
            dst: at("dev")?,
            flags: MountFlags::NOSUID,
            data: text("mode=0755,size=64k"),
        });
        for d in DEVICES {
            steps.push(Step::File(at(&format!("dev/{d}"))?));
            steps.push(Step::Bind {
                src: text(&format!("/dev/{d}")),
                dst: at(&format!("dev/{d}"))?,
                flags: MountFlags::empty(),
            });
        }
        for d in ["dev/pts", "dev/shm"] {
            steps.push(Step::Dir(at(d)?));
        }
        steps.push(Step::Mount {
            fs: c"devpts",
            dst: at("dev/pts")?,
            flags: MountFlags::NOSUID | MountFlags::NOEXEC,
            data: text("newinstance,ptmxmode=0666,mode=0620"),
        });
        steps.push(Step::Mount {
            fs: c"tmpfs",
            dst: at("dev/shm")?,
            flags: MountFlags::NOSUID | MountFlags::NODEV,
            data: text("mode=1777"),
        });
        for (target, link) in [
            ("pts/ptmx", "dev/ptmx"),
            ("/proc/self/fd", "dev/fd"),
            ("/proc/self/fd/0", "dev/stdin"),
            ("/proc/self/fd/1", "dev/stdout"),
            ("/proc/self/fd/2", "dev/stderr"),
        ] {
            steps.push(Step::Link {
                target: text(target),
                path: at(link)?,
            });
        }
        Ok(View {
            root: c(root)?,
            steps,
            hostname: hostname.as_bytes().to_vec(),
        })
    }

    /// Moves the calling (freshly forked, single-threaded) process into new mount, UTS and IPC
    /// namespaces and makes the view its root. System calls only, on data prepared before the
    /// fork.
    pub(crate) fn enter(&self) -> io::Result<()> {
        use nix::sched::CloneFlags;
        nix::sched::unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_NEWUTS | CloneFlags::CLONE_NEWIPC)?;
        rustix::mount::mount_change(c"/", MountPropagationFlags::PRIVATE | MountPropagationFlags::REC)?;
        rustix::mount::mount(
            c"agenttier-root",
            self.root.as_c_str(),
            c"tmpfs",
            MountFlags::NOSUID | MountFlags::NODEV,
            c"mode=0755,size=64k",
        )?;
        for step in &self.steps {
            match step {
                Step::Dir(p) => rustix::fs::mkdir(p.as_c_str(), Mode::from_bits_truncate(0o755))?,
                Step::File(p) => {
                    rustix::fs::open(
                        p.as_c_str(),
                        OFlags::CREATE | OFlags::WRONLY | OFlags::CLOEXEC,
                        Mode::from_bits_truncate(0o644),
                    )?;
                }
                Step::Link { target, path } => rustix::fs::symlink(target.as_c_str(), path.as_c_str())?,
                Step::Bind { src, dst, flags } => {
                    rustix::mount::mount_bind(src.as_c_str(), dst.as_c_str())?;
                    if !flags.is_empty() {
                        rustix::mount::mount_remount(dst.as_c_str(), MountFlags::BIND | *flags, c"")?;
                    }
                }
                Step::Mount { fs, dst, flags, data } => {
                    rustix::mount::mount(*fs, dst.as_c_str(), *fs, *flags, data.as_c_str())?
                }
            }
        }
        rustix::process::chdir(self.root.as_c_str())?;
        rustix::process::pivot_root(c".", c".")?;
        rustix::mount::unmount(c".", UnmountFlags::DETACH)?;
        rustix::process::chdir(c"/")?;
        rustix::mount::mount_remount(
            c"/",
            MountFlags::BIND | MountFlags::RDONLY | MountFlags::NOSUID | MountFlags::NODEV,
            c"",
        )?;
        rustix::system::sethostname(&self.hostname)?;
        Ok(())
    }
}
