//! A state change that cannot be saved answers `500` and leaves memory as the disk has it. The
//! failure is real: another connection holds SQLite's write lock on `router.db` (the router
//! gives up after its 5 s busy timeout), as a backup tool or a second router would.

use super::common::{fast_opts, start_with};
use rusqlite::Connection;

fn on_disk(db: &Connection, name: &str) -> (String, String) {
    db.query_row("SELECT phase, extra FROM sandboxes WHERE name = ?1", [name], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .unwrap()
}

#[test]
fn unsaved_state_changes_answer_500_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (router, http) = start_with(agenttier_router::RouterOptions {
        data_dir: Some(dir.path().to_path_buf()),
        ..fast_opts()
    });
    http.create_running("kept");
    let r = http.send("PATCH", "/api/v1/sandboxes/kept", Some(r#"{"labels":{"a":"1"}}"#), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let mut db = Connection::open(router.data_dir().join("router.db")).unwrap();
    let before = on_disk(&db, "kept");

    let lock = db
        .transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)
        .unwrap();
    let r = http.post_empty("/api/v1/sandboxes/kept/stop");
    assert_eq!(r.status, 500, "{}", r.body);
    assert!(r.error().contains("failed to stop sandbox"), "{}", r.body);
    let r = http.send("PATCH", "/api/v1/sandboxes/kept", Some(r#"{"labels":{"b":"2"}}"#), &[]);
    assert_eq!(r.status, 500, "{}", r.body);
    let r = http.delete("/api/v1/sandboxes/kept");
    assert_eq!(r.status, 500, "{}", r.body);
    // Memory still shows what the disk has: Running, processes still running.
    assert_eq!(http.phase("kept").0, "Running");
    assert_eq!(http.exec("kept", "echo alive")["stdout"], "alive\n");
    lock.rollback().unwrap();
    assert_eq!(on_disk(&db, "kept"), before);

    // With the lock gone the same calls work, and what memory saves next has no trace of the
    // refused PATCH's label.
    let r = http.send("PATCH", "/api/v1/sandboxes/kept", Some(r#"{"labels":{"c":"3"}}"#), &[]);
    assert_eq!(r.status, 200, "{}", r.body);
    let extra = on_disk(&db, "kept").1;
    assert!(extra.contains("\"c\"") && !extra.contains("\"b\""), "{extra}");
    assert_eq!(http.post_empty("/api/v1/sandboxes/kept/stop").status, 200);
    assert_eq!(on_disk(&db, "kept").0, "Stopped");
    assert_eq!(http.delete("/api/v1/sandboxes/kept").status, 204);
}
