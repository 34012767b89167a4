//! Restarts: `kill -9` of a served binary loses nothing; a library router reopens its data dir.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use agenttier_router::{LocalRouter, RouterOptions};

use super::common::*;

fn holders(data: &Path) -> usize {
    let dir = data.join("sandboxes").join("keep");
    let dir = dir.to_str().unwrap().as_bytes().to_vec();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| {
                let args: Vec<&[u8]> = c.split(|b| *b == 0).collect();
                args.contains(&&b"agenttier-sandbox"[..]) && args.contains(&dir.as_slice())
            })
        })
        .count()
}

#[test]
fn kill_9_and_restart_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().canonicalize().unwrap();
    let key = keys(&data, &["create", "--name", "tester"]).trim().to_owned();
    assert!(key.starts_with("atk_"));
    let spare = keys(&data, &["create", "--name", "spare", "--admin", "--group", "g1"])
        .trim()
        .to_owned();
    let listing = keys(&data, &["list"]);
    assert!(listing.contains("tester") && listing.contains("spare"), "{listing}");
    assert!(!listing.contains(&key), "secrets must never be listed");

    let port = free_port();
    let mut first = serve_binary(&data, port);
    let http = Http::new(&format!("http://127.0.0.1:{port}"), Some(&key));
    http.create_running("keep");
    assert_eq!(http.exec("keep", "echo durable > data.txt")["exitCode"], 0);
    assert_eq!(
        http.post("/api/v1/sandboxes/keep/ports", r#"{"port":5000}"#).status,
        201
    );
    http.create_running("parked");
    http.post_empty("/api/v1/sandboxes/parked/stop");
    http.create("fresh");

    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();

    let mut second = serve_binary(&data, port);
    assert_eq!(http.get("/api/v1/user/me").json()["sub"], "tester");
    let msg = http.wait_phase("keep", "Running");
    assert_eq!(msg, "");
    assert_eq!(http.exec("keep", "cat data.txt")["stdout"], "durable\n");
    let ports = http.get("/api/v1/sandboxes/keep/ports").json();
    assert_eq!(ports["ports"][0]["port"], 5000);
    assert_eq!(
        http.phase("parked"),
        ("Stopped".to_owned(), "User requested stop".to_owned())
    );
    http.wait_phase("fresh", "Running");
    if namespaces_available().is_ok() {
        // The killed router's namespace holder was ended; only the new one remains
        // (its unshare process and its init).
        assert_eq!(holders(&data), 2);
    }

    // Keys minted and revoked on the command line apply to the running server.
    let spare_http = http.with_key(&spare);
    assert_eq!(spare_http.get("/api/v1/user/me").json()["isAdmin"], true);
    let spare_id = keys(&data, &["list"])
        .lines()
        .find(|l| l.contains(" spare "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();
    keys(&data, &["revoke", &spare_id]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while spare_http.get("/api/v1/user/me").status != 401 {
        assert!(Instant::now() < deadline, "revoked key still accepted");
        std::thread::sleep(Duration::from_millis(200));
    }

    // SIGTERM: clean exit, every sandbox process ended.
    let status = Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let code = second.wait().unwrap();
    assert!(code.success(), "{code:?}");
    if namespaces_available().is_ok() {
        let deadline = Instant::now() + Duration::from_secs(3);
        while holders(&data) != 0 {
            assert!(Instant::now() < deadline, "sandbox processes survived SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn library_router_restarts_on_same_data_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = RouterOptions {
        data_dir: Some(tmp.path().to_path_buf()),
        ..fast_opts()
    };
    let router = LocalRouter::start(opts.clone()).unwrap();
    let http = Http::new(router.url(), Some(router.admin_key()));
    http.create_running("again");
    http.exec("again", "echo 1 > one");
    router.shutdown();

    let router = LocalRouter::start(opts).unwrap();
    let http = Http::new(router.url(), Some(router.admin_key()));
    http.wait_phase("again", "Running");
    assert_eq!(http.exec("again", "cat one")["stdout"], "1\n");
    drop(router);
    assert!(tmp.path().join("router.db").exists(), "a caller-owned data dir is kept");
}

#[test]
fn temporary_data_dir_is_removed() {
    let router = LocalRouter::start(fast_opts()).unwrap();
    let dir = router.data_dir().to_path_buf();
    assert!(dir.join("router.db").exists());
    router.shutdown();
    assert!(!dir.exists());
}
