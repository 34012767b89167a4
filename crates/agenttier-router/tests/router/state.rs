//! The router's state on disk: private to its user, cleaned up after a crash, bounded.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use agenttier_router::{LocalRouter, RouterOptions};

use super::common::{Http, fast_opts, keys, start_with};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn state_is_private_and_trash_is_swept_at_start() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("state");
    // A fresh data directory: everything created private.
    let opts = || RouterOptions {
        data_dir: Some(data.clone()),
        ..fast_opts()
    };
    let router = LocalRouter::start(opts()).unwrap();
    let http = Http::new(router.url(), Some(router.admin_key()));
    http.create_running("p");
    assert_eq!(mode(&data), 0o700);
    for sub in ["sandboxes", "snapshots", "trash"] {
        assert_eq!(mode(&data.join(sub)), 0o700, "{sub}");
    }
    for file in ["router.db", "router.db-wal", "router.db-shm"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    router.shutdown();

    // Loosened by hand (or an older version), with a workspace left in trash/ by a crash.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(data.join("router.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let left = data.join("trash/old-0123456789abcdef");
    std::fs::create_dir_all(left.join("deep/er")).unwrap();
    std::fs::write(left.join("deep/er/file"), "x").unwrap();
    let outside = tmp.path().join("outside");
    std::fs::write(&outside, "keep me").unwrap();
    std::os::unix::fs::symlink(&outside, left.join("link")).unwrap();
    let router = LocalRouter::start(opts()).unwrap();
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("router.db")), 0o600);
    let deadline = Instant::now() + Duration::from_secs(20);
    while left.exists() {
        assert!(Instant::now() < deadline, "trash/ was not swept");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        std::fs::read_to_string(&outside).unwrap(),
        "keep me",
        "a link was followed"
    );
    router.shutdown();

    // `keys create` on a new directory makes it private too.
    let fresh = tmp.path().join("keys-only");
    keys(&fresh, &["create", "--name", "k"]);
    assert_eq!((mode(&fresh), mode(&fresh.join("router.db"))), (0o700, 0o600));
}

#[test]
fn the_audit_log_keeps_only_the_newest_events() {
    let (_r, http) = start_with(RouterOptions {
        audit_retention: 5,
        ..fast_opts()
    });
    for i in 0..4 {
        http.create_running(&format!("a{i}"));
    }
    assert_eq!(http.post_empty("/api/v1/sandboxes/a3/stop").status, 200);
    let j = http.get("/api/v1/audit/events").json();
    let events = j["events"].as_array().unwrap();
    assert_eq!(events.len(), 5, "{j}");
    assert!(
        events
            .iter()
            .any(|e| e["sandboxId"] == "a3" && e["eventType"] == "Stopped"),
        "the newest event is kept: {j}"
    );
    assert!(
        !events.iter().any(|e| e["sandboxId"] == "a0"),
        "the oldest are dropped: {j}"
    );
}
