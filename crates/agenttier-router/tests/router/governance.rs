//! Governance policy enforcement on create.

use std::collections::BTreeMap;

use agenttier_router::{Policies, Policy, RouterOptions};

use super::common::*;

#[test]
fn policy_violations_answer_403_with_codes() {
    let mut namespaces = BTreeMap::new();
    namespaces.insert(
        "big".to_owned(),
        Policy {
            max_sandboxes_per_user: 10,
            ..Policy::default()
        },
    );
    let policy = Policies {
        cluster: Some(Policy {
            max_sandboxes_per_user: 1,
            max_sandboxes_total: 2,
            allowed_templates: vec!["general-coding".into()],
            max_timeout: "1h".into(),
            max_idle_timeout: "10m".into(),
            max_storage: "5Gi".into(),
            ..Policy::default()
        }),
        namespaces,
    };
    let (router, admin) = start_with(RouterOptions {
        policy: Some(policy),
        ..fast_opts()
    });
    let alice = admin.with_key(&router.create_key("alice", false, &[]).unwrap());
    let bob = admin.with_key(&router.create_key("bob", false, &[]).unwrap());
    alice.create("a1");

    let codes = |r: &Reply| -> Vec<String> {
        assert_eq!(r.status, 403, "{}", r.body);
        let j = r.json();
        assert_eq!(j["error"], "policy_violation");
        j["violations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                assert!(!v["message"].as_str().unwrap().is_empty());
                v["code"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    let r = alice.post(
        "/api/v1/sandboxes",
        r#"{"name":"a2","templateRef":{"name":"general-coding"}}"#,
    );
    assert_eq!(codes(&r), ["user_quota_exceeded"]);
    let r = bob.post(
        "/api/v1/sandboxes",
        r#"{"name":"b1","templateRef":{"name":"agent-python"},"timeout":"2h","idleTimeout":"1h","storage":{"size":"10Gi"}}"#,
    );
    assert_eq!(
        codes(&r),
        [
            "template_not_allowed",
            "timeout_exceeded",
            "idle_timeout_exceeded",
            "storage_limit_exceeded"
        ]
    );
    bob.create_from("b1", "general-coding", r#","timeout":"30m""#);
    let r = admin.post(
        "/api/v1/sandboxes",
        r#"{"name":"c1","templateRef":{"name":"general-coding"}}"#,
    );
    assert_eq!(codes(&r), ["namespace_quota_exceeded"]);
    // Namespace policy overrides the per-user cap; the cluster total applies per namespace.
    alice.create_from("a2", "general-coding", r#","namespace":"big""#);
    alice.create_from("a3", "general-coding", r#","namespace":"big""#);
    // Error-phase and deleted sandboxes do not count.
    alice.delete("/api/v1/sandboxes/a1");
    alice.create("a4");
}

#[test]
fn policy_file_forms() {
    let dir = tempfile::tempdir().unwrap();
    let single = dir.path().join("single.json");
    std::fs::write(
        &single,
        r#"{"maxSandboxesPerUser":3,"allowedTemplates":["general-coding"]}"#,
    )
    .unwrap();
    let p = Policies::from_file(&single).unwrap();
    assert_eq!(p.cluster.unwrap().max_sandboxes_per_user, 3);
    let full = dir.path().join("full.json");
    std::fs::write(
        &full,
        r#"{"cluster":{"maxTimeout":"1h"},"namespaces":{"team":{"maxSandboxesTotal":4}}}"#,
    )
    .unwrap();
    let p = Policies::from_file(&full).unwrap();
    assert_eq!(p.effective("team").max_sandboxes_total, 4);
    assert_eq!(p.effective("team").max_timeout, "1h");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"maxSandboxesPerUsr":3}"#).unwrap();
    assert!(Policies::from_file(&bad).is_err());
}

/// Governance fails closed: a quantity that cannot be read — in a request, a policy put through
/// the API, or a policy file — is a 400 (or a refused start), never "no limit".
#[test]
fn unreadable_quantities_are_refused_not_unlimited() {
    let (_r, http) = start_with(RouterOptions {
        policy: Some(Policies {
            cluster: Some(Policy {
                max_storage: "5Gi".into(),
                max_cpu: "2".into(),
                max_memory: "4Gi".into(),
                ..Policy::default()
            }),
            namespaces: BTreeMap::new(),
        }),
        ..fast_opts()
    });
    for size in ["1E", "NaN", "inf", "1e12", "-1Gi"] {
        let body = format!(r#"{{"name":"q","templateRef":{{"name":"general-coding"}},"storage":{{"size":"{size}"}}}}"#);
        let r = http.post("/api/v1/sandboxes", &body);
        assert_eq!(r.status, 400, "storage {size}: {}", r.body);
        assert!(
            r.error().contains("storage.size") && r.error().contains("not a quantity"),
            "{}",
            r.body
        );
    }
    http.create_running("q");
    for resources in [
        r#"{"limits":{"cpu":"NaN"}}"#,
        r#"{"requests":{"cpu":"inf"},"limits":{"cpu":"1"}}"#,
        r#"{"limits":{"memory":"1E"}}"#,
        r#"{"limits":{"cpu":2}}"#,
    ] {
        let r = http.send(
            "PATCH",
            "/api/v1/sandboxes/q",
            Some(&format!(r#"{{"resources":{resources}}}"#)),
            &[],
        );
        assert_eq!(r.status, 400, "{resources}: {}", r.body);
    }
    let r = http.send(
        "PATCH",
        "/api/v1/sandboxes/q",
        Some(r#"{"resources":{"limits":{"cpu":"3"}}}"#),
        &[],
    );
    assert_eq!(r.status, 403, "a readable quantity over the cap: {}", r.body);
    for policy in [
        r#"{"maxCpu":"NaN"}"#,
        r#"{"maxStorage":"1E"}"#,
        r#"{"maxMemory":"inf"}"#,
    ] {
        let r = http.send("PUT", "/api/v1/governance/policies", Some(policy), &[]);
        assert_eq!(r.status, 400, "{policy}: {}", r.body);
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.json");
    std::fs::write(&file, r#"{"maxCpu":"NaN"}"#).unwrap();
    let err = Policies::from_file(&file).unwrap_err().to_string();
    assert!(err.contains("maxCpu") && err.contains("NaN"), "{err}");
}
