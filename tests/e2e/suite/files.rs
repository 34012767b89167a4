//! Files: round trips with checksums (empty, small, binary, exactly 32 MiB), the limit refused
//! locally, listings, archives unpacked, path escapes refused, not-found errors, and the wire form
//! of paths (never a double slash).

use std::io::Read as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use agenttier::Error;
use agenttier::models::{CreateSandbox, MAX_FILE_BYTES};
use sha2::{Digest, Sha256};

use super::super::read_all;
use super::{Env, maybe, sdk};
use crate::support::fake::{FakeServer, Reply};

const MAX: usize = MAX_FILE_BYTES as usize;

#[maybe]
async fn running(env: &Env, what: &str) -> sdk::Sandbox {
    let sandbox = env
        .client
        .create_sandbox(CreateSandbox::new("general-coding", env.name(what)))
        .await
        .unwrap();
    sandbox.wait_until_running(Duration::from_secs(30)).await.unwrap();
    sandbox
}

fn sha(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

/// Deterministic bytes that are not all alike (every byte value, not compressible to nothing).
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x9E37_79B9;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn is_invalid_input(err: &Error) -> bool {
    matches!(err, Error::InvalidInput { .. })
}

#[maybe]
pub async fn round_trips_keep_every_byte(env: Env) {
    let sandbox = running(&env, "files-rt").await;
    let files = sandbox.files();
    let dir = tempfile::tempdir().unwrap();
    let binary: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("/workspace/empty", Vec::new()),
        ("/workspace/small.txt", b"hello, files\n".to_vec()),
        ("workspace/bin/all-bytes.bin", binary),
        ("/workspace/big/exact-32MiB.bin", pattern(MAX)),
    ];
    for (path, data) in &cases {
        let want = sha(data);
        // write (in memory) → read, open
        let written = files.write(path, data.clone()).await.unwrap();
        assert_eq!(written.bytes, data.len() as u64, "{path}");
        assert_eq!(written.path, format!("/{}", path.trim_start_matches('/')));
        let back = files.read(path).await.unwrap();
        assert_eq!(sha(&back), want, "read {path}");
        let reader = files.open(path).await.unwrap();
        assert_eq!(reader.len(), Some(data.len() as u64));
        let streamed = read_all(reader).await;
        assert_eq!(sha(&streamed), want, "open {path}");

        // upload from a local path → download to a local path, with progress
        let local = dir.path().join("up.bin");
        std::fs::write(&local, data).unwrap();
        let remote = format!("{path}.uploaded");
        let last = Arc::new(AtomicU64::new(u64::MAX));
        let seen = last.clone();
        let with_progress = files
            .clone()
            .with_progress(move |done, _total| seen.store(done, Ordering::SeqCst));
        let up = with_progress.upload(&local, &remote).await.unwrap();
        assert_eq!(up.bytes, data.len() as u64);
        if !data.is_empty() {
            assert_eq!(last.load(Ordering::SeqCst), data.len() as u64, "upload progress");
        }
        let out = dir.path().join("down.bin");
        let n = with_progress.download(&remote, &out).await.unwrap();
        assert_eq!(n, data.len() as u64);
        assert_eq!(sha(&std::fs::read(&out).unwrap()), want, "download {path}");

        // upload from a reader → download into a writer
        let remote = format!("{path}.from-reader");
        let up = files.upload_from(&data[..], &remote).await.unwrap();
        assert_eq!(up.bytes, data.len() as u64);
        let mut sink: Vec<u8> = Vec::new();
        let n = files.download_to(&remote, &mut sink).await.unwrap();
        assert_eq!((n, sha(&sink)), (data.len() as u64, want.clone()), "download_to {path}");
    }
    let text = files.write("/workspace/t.txt", "héllo").await.unwrap();
    assert_eq!(text.bytes, 6);
    let text = files.read_to_string("/workspace/t.txt").await.unwrap();
    assert_eq!(text, "héllo");
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn over_32_mib_is_refused_locally(env: Env) {
    // Against a server that records requests: nothing is sent for a known size.
    let server = FakeServer::start(|_, _| Reply::json(201, r#"{"path":"/workspace/x","bytes":0}"#));
    let client = env.client_for(server.url()).build().unwrap();
    let files = client.sandbox("s1").files();
    let over = vec![0u8; MAX + 1];
    let err = files.write("/workspace/x", over.clone()).await.unwrap_err();
    assert!(is_invalid_input(&err), "{err}");
    assert!(err.to_string().contains("33554432"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("over.bin");
    std::fs::write(&local, &over).unwrap();
    let err = files.upload(&local, "/workspace/x").await.unwrap_err();
    assert!(is_invalid_input(&err), "{err}");
    assert_eq!(server.seen().len(), 0, "no request for a refused upload");

    // A reader of unknown length is cut off as soon as it passes the limit; nothing is stored.
    let sandbox = running(&env, "files-over").await;
    let files = sandbox.files();
    let err = files.upload_from(&over[..], "/workspace/over.bin").await.unwrap_err();
    assert!(is_invalid_input(&err), "{err}");
    let err = files.read("/workspace/over.bin").await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    // Exactly the limit still goes through a reader.
    let exact = files.upload_from(&over[..MAX], "/workspace/exact.bin").await.unwrap();
    assert_eq!(exact.bytes, MAX_FILE_BYTES);
    // A file grown past the limit inside the sandbox is refused by the Router (413).
    sandbox.exec("truncate -s 33554433 /workspace/grown.bin").await.unwrap();
    let err = files.read("/workspace/grown.bin").await.unwrap_err();
    assert_eq!(err.status(), Some(413), "{err}");
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn listing_a_directory(env: Env) {
    let sandbox = running(&env, "files-ls").await;
    let files = sandbox.files();
    files.write("/workspace/proj/a.py", "print(1)\n").await.unwrap();
    files.write("/workspace/proj/sub/b.txt", vec![0u8; 1234]).await.unwrap();
    sandbox
        .exec("chmod 0755 /workspace/proj/a.py && ln -s a.py /workspace/proj/link")
        .await
        .unwrap();
    let entries = files.list("/workspace/proj").await.unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["a.py", "link -> a.py", "sub"]);
    let a = &entries[0];
    assert_eq!((a.size, a.is_dir, a.mode.as_str()), (9, false, "-rwxr-xr-x"));
    assert!(a.modified().is_some());
    assert!(entries[1].is_symlink());
    assert_eq!(entries[1].symlink_target(), Some(("link", "a.py")));
    assert!(entries[2].is_dir && entries[2].mode.starts_with('d'));
    let sub = files.list("workspace/proj/sub/").await.unwrap();
    assert_eq!((sub.len(), sub[0].size), (1, 1234));
    let root = files.list("/workspace").await.unwrap();
    assert!(root.iter().any(|e| e.name == "proj" && e.is_dir));
    let err = files.list("/workspace/nope").await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert_eq!(err.api().unwrap().message, "path not found: /workspace/nope");
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn archive_unpacks_to_the_same_tree(env: Env) {
    let sandbox = running(&env, "files-zip").await;
    let files = sandbox.files();
    let blob = pattern(3 << 20);
    let tree: Vec<(&str, Vec<u8>)> = vec![
        ("/workspace/app/main.py", b"print('hi')\n".to_vec()),
        ("/workspace/app/data/blob.bin", blob),
        ("/workspace/app/data/empty", Vec::new()),
        ("/workspace/outside.txt", b"not in app".to_vec()),
    ];
    for (path, data) in &tree {
        files.write(path, data.clone()).await.unwrap();
    }
    sandbox
        .exec("mkdir -p /workspace/app/nothing && ln -s /etc/passwd /workspace/app/link")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("app.zip");
    let progress = Arc::new(AtomicU64::new(0));
    let seen = progress.clone();
    let size = files
        .clone()
        .with_progress(move |done, total| {
            assert!(total.is_none(), "archives have no announced size");
            seen.store(done, Ordering::SeqCst);
        })
        .archive("/workspace/app", &local)
        .await
        .unwrap();
    assert_eq!(size, std::fs::metadata(&local).unwrap().len());
    assert_eq!(progress.load(Ordering::SeqCst), size);
    let mut sink: Vec<u8> = Vec::new();
    let streamed = files.archive_to("/workspace/app", &mut sink).await.unwrap();
    assert_eq!(streamed, sink.len() as u64);

    let mut zip = zip::ZipArchive::new(std::fs::File::open(&local).unwrap()).unwrap();
    let mut names: Vec<String> = zip.file_names().map(str::to_owned).collect();
    names.sort();
    assert_eq!(
        names,
        ["data/", "data/blob.bin", "data/empty", "link", "main.py", "nothing/"]
    );
    for (path, data) in tree.iter().filter(|(p, _)| p.starts_with("/workspace/app/")) {
        let name = path.trim_start_matches("/workspace/app/");
        let mut entry = zip.by_name(name).unwrap();
        let mut got = Vec::new();
        entry.read_to_end(&mut got).unwrap();
        assert_eq!(sha(&got), sha(data), "{name}");
    }
    let mut link = String::new();
    zip.by_name("link").unwrap().read_to_string(&mut link).unwrap();
    assert_eq!(
        link, "/etc/passwd",
        "symlinks are stored as their target, never followed"
    );
    let in_memory = zip::ZipArchive::new(std::io::Cursor::new(sink)).unwrap();
    assert_eq!(in_memory.len(), 6);

    let err = files.archive_to("/workspace/missing", Vec::new()).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    let err = files
        .archive("/workspace/missing", &dir.path().join("m.zip"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert!(
        !dir.path().join("m.zip").exists(),
        "no local file for a refused archive"
    );
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn path_escapes_are_refused(env: Env) {
    let sandbox = running(&env, "files-esc").await;
    let files = sandbox.files();
    // Refused locally, before any request.
    for bad in [
        "/workspace/../etc/passwd",
        "../etc/passwd",
        "/workspace/a\0b",
        "/workspace/it's",
        "/workspace/a\\b",
        "/workspace/`id`",
        "/workspace/a\nb",
        "",
        "/",
    ] {
        let err = files.read(bad).await.unwrap_err();
        assert!(is_invalid_input(&err), "{bad:?}: {err}");
        let err = files.write(bad, "x").await.unwrap_err();
        assert!(is_invalid_input(&err), "{bad:?}: {err}");
    }
    let err = files.list("/workspace/..").await.unwrap_err();
    assert!(is_invalid_input(&err), "{err}");
    // Refused by the Router: outside /workspace, or through a symlink made inside the sandbox.
    for outside in ["/etc/passwd", "/tmp/x", "workspace2/x"] {
        let err = files.read(outside).await.unwrap_err();
        assert_eq!(err.status(), Some(400), "{outside}: {err}");
        assert_eq!(err.api().unwrap().message, "path must live under /workspace");
        let err = files.write(outside, "x").await.unwrap_err();
        assert_eq!(err.status(), Some(400), "{outside}: {err}");
    }
    let err = files.list("/etc").await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let err = files.archive_to("/", Vec::new()).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let made = sandbox
        .exec("ln -s /etc /workspace/etc && ln -s /etc/hostname /workspace/host && ln -s .. /workspace/up")
        .await
        .unwrap();
    assert!(made.success(), "{made:?}");
    for escape in ["/workspace/etc/passwd", "/workspace/host", "/workspace/up/etc/passwd"] {
        let err = files.read(escape).await.unwrap_err();
        assert_eq!(err.status(), Some(400), "{escape}: {err}");
        assert!(err.api().unwrap().message.contains("symlink"), "{err}");
        let err = files.write(escape, "pwned").await.unwrap_err();
        assert_eq!(err.status(), Some(400), "{escape}: {err}");
    }
    let err = files.list("/workspace/etc").await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    let err = files.archive_to("/workspace/etc", Vec::new()).await.unwrap_err();
    assert_eq!(err.status(), Some(400), "{err}");
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn missing_files_are_not_found(env: Env) {
    let sandbox = running(&env, "files-404").await;
    let files = sandbox.files();
    let err = files.read("/workspace/nope.txt").await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert_eq!(err.api().unwrap().message, "file not found: /workspace/nope.txt");
    let err = files.open("/workspace/nope.txt").await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("nope");
    let err = files.download("/workspace/nope.txt", &local).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err}");
    assert!(!local.exists(), "no local file for a missing remote one");
    let err = files.download_to("/workspace", Vec::new()).await.unwrap_err();
    assert!(
        matches!(err, Error::NotFound { .. }),
        "a directory is not a file: {err}"
    );
    // A stopped sandbox is a conflict.
    sandbox.stop().await.unwrap();
    let err = files.read("/workspace/nope.txt").await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn absolute_paths_never_make_a_double_slash(env: Env) {
    let server = FakeServer::start(|_, seen| {
        if seen.request_line.starts_with("PUT") {
            Reply::json(201, r#"{"path":"/workspace/x","bytes":2}"#)
        } else if seen.request_line.contains("/files/?") {
            Reply::json(200, r#"{"path":"/workspace","entries":null}"#)
        } else {
            Reply::with(200, "application/octet-stream", "ok", &[])
        }
    });
    let client = env.client_for(server.url()).build().unwrap();
    let files = client.sandbox("s1").files();
    let got = files.read("/workspace/a b#1.txt").await.unwrap();
    assert_eq!(got, b"ok");
    files.write("//workspace//dir/./x", "ok").await.unwrap();
    let listed = files.list("/workspace/").await.unwrap();
    assert!(listed.is_empty());
    let mut sink: Vec<u8> = Vec::new();
    files.archive_to("/workspace", &mut sink).await.unwrap();
    let lines: Vec<String> = server.seen().into_iter().map(|s| s.request_line).collect();
    assert_eq!(
        lines,
        [
            "GET /api/v1/sandboxes/s1/files/workspace/a%20b%231.txt HTTP/1.1",
            "PUT /api/v1/sandboxes/s1/files/workspace/dir/x HTTP/1.1",
            "GET /api/v1/sandboxes/s1/files/?path=%2Fworkspace HTTP/1.1",
            "GET /api/v1/sandboxes/s1/archive?path=%2Fworkspace HTTP/1.1",
        ]
    );
    let seen = server.seen();
    assert_eq!(seen[1].header("content-type"), Some("application/octet-stream"));
    assert_eq!(seen[1].body, b"ok");
}

#[maybe]
pub async fn cut_download_is_an_error_not_a_short_file(env: Env) {
    let server = FakeServer::start(|_, _| {
        Reply::Partial(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: 100\r\n\r\nonly ten b"
                .to_vec(),
            Duration::from_millis(50),
        )
    });
    let client = env.client_for(server.url()).build().unwrap();
    let files = client.sandbox("s1").files();
    let err = files.read("/workspace/x").await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. } | Error::Stream { .. }), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("x");
    let cut = files.download("/workspace/x", &local).await;
    assert!(cut.is_err());
    assert!(!local.exists(), "a cut download leaves no partial file");
}
