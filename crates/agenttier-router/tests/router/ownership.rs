//! One user cannot see or touch another's sandboxes; admins see all.

use super::common::*;

#[test]
fn users_only_see_their_own_sandboxes() {
    let (router, admin) = start();
    let alice = admin.with_key(&router.create_key("alice", false, &[]).unwrap());
    let bob = admin.with_key(&router.create_key("bob", false, &["devs"]).unwrap());
    alice.create_running("alices");
    bob.create("bobs");

    let j = alice.get("/api/v1/sandboxes/alices").json();
    assert_eq!(
        j["createdBy"],
        serde_json::json!({"email":"alice@agenttier.local","displayName":"alice"})
    );

    let names = |h: &Http| -> Vec<String> {
        h.get("/api/v1/sandboxes").json()["sandboxes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&alice), ["alices"]);
    assert_eq!(names(&bob), ["bobs"]);
    assert_eq!(names(&admin), ["alices", "bobs"]);

    let not_found = "sandbox alices not found";
    for (m, p, body) in [
        ("GET", "/api/v1/sandboxes/alices", None),
        ("DELETE", "/api/v1/sandboxes/alices", None),
        ("POST", "/api/v1/sandboxes/alices/stop", None),
        ("POST", "/api/v1/sandboxes/alices/resume", None),
        ("POST", "/api/v1/sandboxes/alices/exec", Some(r#"{"command":"true"}"#)),
        ("GET", "/api/v1/sandboxes/alices/ports", None),
        ("POST", "/api/v1/sandboxes/alices/ports", Some(r#"{"port":3000}"#)),
        ("DELETE", "/api/v1/sandboxes/alices/ports/3000", None),
        ("GET", "/api/v1/sandboxes/alices/preview/3000/", None),
    ] {
        let r = bob.send(m, p, body, &[]);
        assert_eq!((r.status, r.error().as_str()), (404, not_found), "{m} {p}");
    }
    // Bob cannot take the name either (names are global), but learns nothing more than 409.
    let r = bob.post(
        "/api/v1/sandboxes",
        r#"{"name":"alices","templateRef":{"name":"general-coding"}}"#,
    );
    assert_eq!(r.status, 409);
    // Still intact for Alice; the admin can act on it.
    assert_eq!(alice.exec("alices", "echo hi")["stdout"], "hi\n");
    assert_eq!(admin.exec("alices", "echo admin")["stdout"], "admin\n");
    assert_eq!(admin.delete("/api/v1/sandboxes/alices").status, 204);
    assert_eq!(alice.get("/api/v1/sandboxes/alices").status, 404);
}
