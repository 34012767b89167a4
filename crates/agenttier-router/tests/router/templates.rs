//! Template management (§7): create, update and delete by admins, persisted, built-ins and
//! directory templates read-only, a template in use kept.

use agenttier_router::{LocalRouter, RouterOptions};

use super::common::*;

const AGENT_SPEC: &str =
    r#"{"name":"my-agent","description":"mine","spec":{"mode":"agent","harness":{"shell":"/bin/sh"}}}"#;

#[test]
fn admin_creates_updates_and_deletes_a_template() {
    let (_r, http) = start();
    let r = http.post("/api/v1/templates", AGENT_SPEC);
    assert_eq!(r.status, 201, "{}", r.body);
    let t = r.json();
    assert_eq!(
        (
            t["name"].as_str(),
            t["description"].as_str(),
            t["resourceVersion"].as_str()
        ),
        (Some("my-agent"), Some("mine"), Some("1"))
    );
    assert_eq!(t["spec"]["mode"], "agent");
    let names: Vec<_> = http.get("/api/v1/templates").json()["templates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.contains(&"my-agent".to_owned()) && names.contains(&"general-coding".to_owned()));

    // Sandboxes made from it take its mode.
    assert_eq!(http.create_from("uses-it", "my-agent", "").status, 201);
    http.wait_phase("uses-it", "Running");
    assert_eq!(http.get("/api/v1/sandboxes/uses-it").json()["mode"], "agent");

    // PUT is a full replace; the description falls back to spec.description.
    let r = http.send(
        "PUT",
        "/api/v1/templates/my-agent",
        Some(r#"{"spec":{"mode":"code","description":"now code"}}"#),
        &[],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let t = r.json();
    assert_eq!(
        (t["description"].as_str(), t["resourceVersion"].as_str()),
        (Some("now code"), Some("2"))
    );
    assert_eq!(t["spec"], serde_json::json!({"mode":"code","description":"now code"}));
    assert_eq!(http.get("/api/v1/templates/my-agent").json(), t);

    // A Running sandbox keeps its template.
    let r = http.delete("/api/v1/templates/my-agent");
    assert_eq!(r.status, 409);
    assert_eq!(
        r.error(),
        r#"cannot delete template: sandbox "uses-it" is still using it"#
    );
    assert_eq!(http.delete("/api/v1/sandboxes/uses-it").status, 204);
    let r = http.delete("/api/v1/templates/my-agent");
    assert_eq!((r.status, r.body.as_str()), (204, ""));
    assert_eq!(http.get("/api/v1/templates/my-agent").status, 404);
    assert_eq!(http.delete("/api/v1/templates/my-agent").error(), "template not found");
    let r = http.send("PUT", "/api/v1/templates/my-agent", Some("{}"), &[]);
    assert_eq!((r.status, r.error().as_str()), (404, "template not found"));
}

#[test]
fn only_admins_manage_templates() {
    let (router, http) = start();
    let user = http.with_key(&router.create_key("user", false, &[]).unwrap());
    assert_eq!(http.post("/api/v1/templates", AGENT_SPEC).status, 201);
    for r in [
        user.post("/api/v1/templates", r#"{"name":"other"}"#),
        user.send("PUT", "/api/v1/templates/my-agent", Some("{}"), &[]),
        user.delete("/api/v1/templates/my-agent"),
    ] {
        assert_eq!((r.status, r.body.as_str()), (403, "{\"error\":\"admin_required\"}\n"));
    }
    // Reading stays open to every caller.
    assert_eq!(user.get("/api/v1/templates/my-agent").status, 200);
    assert_eq!(user.get("/api/v1/templates/my-agent").json()["resourceVersion"], "1");
}

#[test]
fn bad_template_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ops.json"),
        r#"{"name":"ops-template","spec":{"mode":"code"}}"#,
    )
    .unwrap();
    let (_r, http) = start_with(RouterOptions {
        templates_dir: Some(dir.path().to_path_buf()),
        ..fast_opts()
    });
    let cases = [
        (r#"{"spec":{}}"#, 400, "name is required"),
        (r#"{"name":"Bad_Name"}"#, 400, "name must match RFC 1123 label rules"),
        (
            r#"{"name":"x","spec":[1]}"#,
            400,
            "invalid request body: spec must be an object",
        ),
        (
            r#"{"name":"x","spec":{"mode":"turbo"}}"#,
            400,
            r#"spec.mode must be "code" or "agent""#,
        ),
        ("not json", 400, "invalid request body"),
        (
            r#"{"name":"general-coding"}"#,
            409,
            "template general-coding already exists",
        ),
    ];
    for (body, status, error) in cases {
        let r = http.post("/api/v1/templates", body);
        assert_eq!(r.status, status, "{body}: {}", r.body);
        assert!(r.error().starts_with(error), "{body}: {}", r.error());
    }
    assert_eq!(http.get("/api/v1/templates/x").status, 404, "nothing was created");
    for (name, origin) in [
        ("general-coding", "built in"),
        ("ops-template", "loaded from the templates directory"),
    ] {
        let put = http.send("PUT", &format!("/api/v1/templates/{name}"), Some("{}"), &[]);
        let del = http.delete(&format!("/api/v1/templates/{name}"));
        for r in [put, del] {
            assert_eq!(r.status, 409, "{name}");
            assert!(r.error().contains(origin), "{}", r.error());
        }
    }
    assert_eq!(
        http.get("/api/v1/templates/general-coding").json()["resourceVersion"],
        "1"
    );
}

#[test]
fn created_templates_survive_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = RouterOptions {
        data_dir: Some(tmp.path().to_path_buf()),
        ..fast_opts()
    };
    let router = LocalRouter::start(opts.clone()).unwrap();
    let http = Http::new(router.url(), Some(router.admin_key()));
    assert_eq!(http.post("/api/v1/templates", AGENT_SPEC).status, 201);
    assert_eq!(
        http.send(
            "PUT",
            "/api/v1/templates/my-agent",
            Some(r#"{"description":"v2","spec":{"mode":"agent"}}"#),
            &[]
        )
        .status,
        200
    );
    assert_eq!(http.post("/api/v1/templates", r#"{"name":"gone"}"#).status, 201);
    assert_eq!(http.delete("/api/v1/templates/gone").status, 204);
    router.shutdown();

    let router = LocalRouter::start(opts).unwrap();
    let http = Http::new(router.url(), Some(router.admin_key()));
    let t = http.get("/api/v1/templates/my-agent").json();
    assert_eq!(
        (
            t["description"].as_str(),
            t["resourceVersion"].as_str(),
            t["spec"]["mode"].as_str()
        ),
        (Some("v2"), Some("2"), Some("agent"))
    );
    assert_eq!(http.get("/api/v1/templates/gone").status, 404);
}
