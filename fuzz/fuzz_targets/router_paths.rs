//! Path confinement of the files API and of configure: against a fixed sandbox directory that
//! holds symlinks pointing inside, outside, relatively out, through a missing directory
//! (`nothere/../evil`, issue 20) and in loops, any path either is refused or is opened inside
//! the sandbox directory, as the kernel reports the descriptor it reached. Nothing panics.
#![no_main]

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use agenttier_router::fuzzing;
use libfuzzer_sys::fuzz_target;

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    canonical: PathBuf,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("sandbox");
        std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
        std::fs::create_dir_all(dir.path().join("secret")).unwrap();
        std::fs::write(dir.path().join("secret/key"), "secret").unwrap();
        std::fs::write(root.join("sub/file.txt"), "ok").unwrap();
        symlink("/workspace/sub", root.join("in-abs")).unwrap();
        symlink("sub/deeper", root.join("in-rel")).unwrap();
        symlink("/etc", root.join("out-abs")).unwrap();
        symlink("../secret", root.join("out-rel")).unwrap();
        symlink("../../..", root.join("sub/up")).unwrap();
        symlink(dir.path().join("secret"), root.join("out-host")).unwrap();
        symlink(&root, root.join("self-host")).unwrap();
        symlink("loop", root.join("loop")).unwrap();
        symlink("/workspace", root.join("sub/ws")).unwrap();
        symlink("/workspacex", root.join("near")).unwrap();
        // The issue-20 escape: a link through a missing directory to a link out.
        symlink("/etc", root.join("evil")).unwrap();
        symlink("nothere/../evil", root.join("a")).unwrap();
        symlink("nothere/../../secret", root.join("b")).unwrap();
        symlink("sub/nothere/../../out-rel", root.join("c")).unwrap();
        let canonical = root.canonicalize().unwrap();
        Fixture {
            _dir: dir,
            root,
            canonical,
        }
    })
}

fn inside(f: &Fixture, host: &Path) {
    assert!(host.starts_with(&f.root), "resolved outside: {host:?}");
    if let Ok(real) = host.canonicalize() {
        assert!(
            real.starts_with(&f.canonical),
            "kernel resolves {host:?} outside: {real:?}"
        );
    }
}

fuzz_target!(|input: &[u8]| {
    let Ok(raw) = std::str::from_utf8(input) else {
        return;
    };
    let f = fixture();
    if let Ok(cleaned) = fuzzing::files_clean(raw) {
        assert!(
            cleaned == "/workspace" || cleaned.starts_with("/workspace/"),
            "{cleaned:?}"
        );
        assert!(!cleaned.split('/').any(|c| c == ".." || c == "."), "{cleaned:?}");
        assert!(!cleaned.contains('\0'));
    }
    if let Ok((wire, real)) = fuzzing::files_resolve(&f.root, raw) {
        assert!(wire == "/workspace" || wire.starts_with("/workspace/"), "{wire:?}");
        // `real` is where the kernel says the walk ended (the descriptor's own path).
        assert!(real.starts_with(&f.canonical), "opened outside: {real:?}");
        if let Ok(end) = real.canonicalize() {
            assert!(end.starts_with(&f.canonical), "kernel resolves {real:?} outside: {end:?}");
        }
    }
    if let Ok(parts) = fuzzing::configure_path(&f.root, raw) {
        assert!(!parts.is_empty());
        let host = parts.iter().fold(f.root.clone(), |p, c| p.join(c));
        // `..` is refused by configure before this check; the lexical join must stay inside
        // for anything the check accepted that has none.
        if !parts.iter().any(|c| c == "..") {
            inside(f, &host);
        }
    }
});
