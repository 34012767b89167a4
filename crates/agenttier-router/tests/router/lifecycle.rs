//! Create / list / get / stop / resume / delete, timeouts and the Error phase.

use super::common::*;

#[test]
fn full_lifecycle() {
    let (_r, http) = start();
    let r = http.create("demo");
    assert_eq!(
        r.json(),
        serde_json::json!({"sandboxId":"demo","name":"demo","namespace":"default","status":"Creating","templateRef":"general-coding"})
    );
    let (phase, _) = http.phase("demo");
    assert!(["", "Creating", "Running"].contains(&phase.as_str()), "{phase}");
    http.wait_phase("demo", "Running");

    let j = http.get("/api/v1/sandboxes/demo").json();
    assert_eq!(j["sandboxId"], "demo");
    assert_eq!(j["namespace"], "default");
    assert_eq!(j["podName"], "demo-pod");
    assert_eq!(j["pvcName"], "demo-workspace");
    assert_eq!(j["templateRef"], "general-coding");
    assert_eq!(j["mode"], "code");
    let created = j["createdAt"].as_str().unwrap();
    assert!(created.ends_with(" +0000 UTC") && created.len() == 29, "{created}");
    assert!(j["lastActivityAt"].as_str().unwrap().ends_with(" +0000 UTC"));
    assert_eq!(
        j["createdBy"],
        serde_json::json!({"email":"admin@agenttier.local","displayName":"admin"})
    );

    assert_eq!(http.exec("demo", "echo kept > note.txt")["exitCode"], 0);

    let r = http.post_empty("/api/v1/sandboxes/demo/stop");
    assert_eq!((r.status, r.body.as_str()), (200, "{\"status\":\"stopping\"}\n"));
    assert_eq!(http.wait_phase("demo", "Stopped"), "User requested stop");
    let r = http.post_empty("/api/v1/sandboxes/demo/stop");
    assert_eq!(
        (r.status, r.error().as_str()),
        (409, "cannot stop sandbox in phase Stopped")
    );
    let r = http.post("/api/v1/sandboxes/demo/exec", r#"{"command":"true"}"#);
    assert_eq!((r.status, r.error().as_str()), (409, "sandbox is not running"));

    let r = http.post_empty("/api/v1/sandboxes/demo/resume");
    assert_eq!((r.status, r.body.as_str()), (200, "{\"status\":\"resuming\"}\n"));
    let (phase, message) = http.phase("demo");
    if phase == "Creating" {
        assert_eq!(message, "Resuming");
    }
    http.wait_phase("demo", "Running");
    let r = http.post_empty("/api/v1/sandboxes/demo/resume");
    assert_eq!(
        (r.status, r.error().as_str()),
        (409, "cannot resume sandbox in phase Running")
    );
    // The workspace survived stop/resume.
    assert_eq!(http.exec("demo", "cat note.txt")["stdout"], "kept\n");

    let r = http.delete("/api/v1/sandboxes/demo");
    assert_eq!((r.status, r.body.as_str()), (204, ""));
    let r = http.get("/api/v1/sandboxes/demo");
    assert_eq!((r.status, r.error().as_str()), (404, "sandbox demo not found"));
    assert_eq!(http.delete("/api/v1/sandboxes/demo").status, 404);
    assert_eq!(http.get("/api/v1/sandboxes").body, "{\"sandboxes\":[]}\n");
    // The name is free again, with a fresh workspace.
    http.create_running("demo");
    assert_eq!(http.exec("demo", "ls")["stdout"], "");
}

#[test]
fn list_filters_by_namespace_and_status() {
    let (_r, http) = start();
    http.create_running("a1");
    http.create_from("b1", "general-coding", r#","namespace":"team-b""#);
    http.wait_phase("b1", "Running");
    http.post_empty("/api/v1/sandboxes/b1/stop");
    let names = |q: &str| -> Vec<String> {
        http.get(&format!("/api/v1/sandboxes{q}")).json()["sandboxes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(""), ["a1", "b1"]);
    assert_eq!(names("?namespace=team-b"), ["b1"]);
    assert_eq!(names("?status=Running"), ["a1"]);
    assert_eq!(names("?status=Stopped&namespace=default"), Vec::<String>::new());
    assert_eq!(names("?status=running"), Vec::<String>::new());
}

#[test]
fn agent_template_gives_agent_mode() {
    let (_r, http) = start();
    http.create_from("agent1", "agent-python", "");
    assert_eq!(http.get("/api/v1/sandboxes/agent1").json()["mode"], "agent");
}

#[test]
fn max_runtime_and_idle_timeout_stop_the_sandbox() {
    let (_r, http) = start();
    http.create_from("short", "general-coding", r#","timeout":"1s""#);
    http.create_from("idle", "general-coding", r#","idleTimeout":"1s""#);
    http.wait_phase("short", "Running");
    assert_eq!(http.wait_phase("short", "Stopped"), "Max runtime exceeded");
    assert_eq!(http.wait_phase("idle", "Stopped"), "Idle timeout exceeded");
}

#[test]
fn unpreparable_workspace_gives_error_phase() {
    let (router, http) = start();
    let sandboxes = router.data_dir().join("sandboxes");
    std::fs::create_dir_all(&sandboxes).unwrap();
    std::fs::write(sandboxes.join("broken"), "not a directory").unwrap();
    http.create("broken");
    let message = http.wait_phase("broken", "Error");
    assert!(message.contains("workspace"), "{message}");
    // Error can be resumed (and fails again the same way), and deleted.
    assert_eq!(http.post_empty("/api/v1/sandboxes/broken/resume").status, 200);
    http.wait_phase("broken", "Error");
    assert_eq!(http.delete("/api/v1/sandboxes/broken").status, 204);
}

#[test]
fn bad_create_input() {
    let (_r, http) = start();
    let cases: &[(&str, u16, &str)] = &[
        ("{", 400, "invalid request body: "),
        ("", 400, "invalid request body: EOF"),
        ("[1]", 400, "invalid request body: "),
        (r#"{"name":5}"#, 400, "invalid request body: "),
        (r#"{"templateRef":{"name":"general-coding"}}"#, 400, "name is required"),
        (r#"{"name":"x"}"#, 400, "templateRef.name is required"),
        (r#"{"name":"x","templateRef":{}}"#, 400, "templateRef.name is required"),
        (
            r#"{"name":"Bad_Name","templateRef":{"name":"general-coding"}}"#,
            400,
            "name must match RFC 1123 label rules",
        ),
        (
            r#"{"name":"-x","templateRef":{"name":"general-coding"}}"#,
            400,
            "name must match RFC 1123",
        ),
        (
            r#"{"name":"x","namespace":"Team A","templateRef":{"name":"general-coding"}}"#,
            400,
            "namespace must match RFC 1123",
        ),
        (
            r#"{"name":"x","templateRef":{"name":"general-coding"},"timeout":"soon"}"#,
            400,
            "invalid timeout: ",
        ),
        (
            r#"{"name":"x","templateRef":{"name":"general-coding"},"timeout":"0s"}"#,
            400,
            "invalid timeout: must be positive",
        ),
        (
            r#"{"name":"x","templateRef":{"name":"general-coding"},"idleTimeout":"-5m"}"#,
            400,
            "invalid idleTimeout: ",
        ),
        (
            r#"{"name":"x","templateRef":{"name":"nope"}}"#,
            404,
            "template not found",
        ),
    ];
    for (body, status, msg) in cases {
        let r = http.post("/api/v1/sandboxes", body);
        assert_eq!(r.status, *status, "{body}: {}", r.body);
        assert!(r.error().starts_with(msg), "{body}: {}", r.body);
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    let long = "a".repeat(64);
    let r = http.post(
        "/api/v1/sandboxes",
        &format!(r#"{{"name":"{long}","templateRef":{{"name":"general-coding"}}}}"#),
    );
    assert_eq!(r.status, 400);
    // Garbage bytes never produce a 500 or kill the router.
    for body in [
        "\u{0}\u{1}",
        "{\"name\":\"\u{7f}\"}",
        "null",
        "{\"name\":null,\"templateRef\":null}",
    ] {
        let r = http.post("/api/v1/sandboxes", body);
        assert_eq!(r.status, 400, "{body:?}: {}", r.body);
    }
    http.create("dup");
    let r = http.post(
        "/api/v1/sandboxes",
        r#"{"name":"dup","templateRef":{"name":"general-coding"}}"#,
    );
    assert_eq!((r.status, r.error().as_str()), (409, "sandbox dup already exists"));
    // Unknown fields are ignored.
    let r = http.post(
        "/api/v1/sandboxes",
        r#"{"name":"extra","templateRef":{"name":"general-coding","kind":"ClusterSandboxTemplate"},"image":"x","storage":{"size":"1Gi","shared":true}}"#,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    // Operations on a missing sandbox.
    for (m, p) in [
        ("GET", "/api/v1/sandboxes/ghost"),
        ("DELETE", "/api/v1/sandboxes/ghost"),
        ("POST", "/api/v1/sandboxes/ghost/stop"),
        ("POST", "/api/v1/sandboxes/ghost/resume"),
        ("GET", "/api/v1/sandboxes/ghost/ports"),
    ] {
        let r = http.send(m, p, None, &[]);
        assert_eq!(
            (r.status, r.error().as_str()),
            (404, "sandbox ghost not found"),
            "{m} {p}"
        );
    }
}
