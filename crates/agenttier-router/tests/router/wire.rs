//! Raw response shapes of the rest of the API against the wire spec (§3.8–§3.11, §6.5,
//! §8.2–§8.3, §10, §11.1–§11.3): status codes, exact key sets, id and timestamp formats, and
//! `[]` rather than `null` for empty lists (§16).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use agenttier_router::LocalRouter;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::common::{Http, Reply, start};

/// The keys of a JSON object, sorted.
fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

/// A client for the non-admin user `name`.
fn user(router: &LocalRouter, admin: &Http, name: &str) -> Http {
    admin.with_key(&router.create_key(name, false, &[]).unwrap())
}

/// Asserts `status` and returns the JSON body.
fn json_of(r: Reply, status: u16) -> Value {
    assert_eq!(r.status, status, "{}", r.body);
    r.json()
}

fn assert_rfc3339(v: &Value) {
    let s = v.as_str().unwrap_or_else(|| panic!("not a string: {v}"));
    assert!(OffsetDateTime::parse(s, &Rfc3339).is_ok(), "not RFC 3339: {s:?}");
}

/// RFC 3339 with whole seconds in UTC, as Kubernetes `metav1.Time` renders it.
fn assert_rfc3339_seconds_utc(v: &Value) {
    assert_rfc3339(v);
    let s = v.as_str().unwrap();
    assert!(s.len() == 20 && s.ends_with('Z'), "not seconds UTC: {s:?}");
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn is_base64url(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `name` is `prefix` followed by unix seconds.
fn is_unix_suffixed(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix)
        .is_some_and(|d| d.len() >= 10 && d.bytes().all(|b| b.is_ascii_digit()))
}

/// `403 {"error":"admin_required"}` as plain text (§1.5).
fn assert_admin_required(r: &Reply) {
    assert_eq!((r.status, r.body.as_str()), (403, "{\"error\":\"admin_required\"}\n"));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
}

/// PATCH (§3.8) reports what was applied and when; clone (§3.9) answers 202 with the new name
/// and snapshot; another user's sandbox is a 404 on both.
#[test]
fn patch_and_clone() {
    let (router, admin) = start();
    let alice = user(&router, &admin, "alice");
    alice.create_running("box");

    let body =
        r#"{"idleTimeout":"1h","resources":{"requests":{"cpu":"1"}},"labels":{"team":"a"},"annotations":{"note":"x"}}"#;
    let j = json_of(alice.send("PATCH", "/api/v1/sandboxes/box", Some(body), &[]), 200);
    assert_eq!(keys(&j), ["applied", "message", "restartRequired", "sandboxId"]);
    assert_eq!(
        j["applied"],
        json!({"idleTimeout":"immediately","labels":"immediately","annotations":"immediately","resources":"on-restart"})
    );
    assert_eq!((&j["sandboxId"], &j["restartRequired"]), (&json!("box"), &json!(true)));
    assert_eq!(
        j["message"],
        "resource changes take effect after the sandbox is stopped and resumed"
    );
    // `message` only when a restart is required.
    let r = alice.send("PATCH", "/api/v1/sandboxes/box", Some(r#"{"labels":{"b":"c"}}"#), &[]);
    let j = json_of(r, 200);
    assert_eq!(keys(&j), ["applied", "restartRequired", "sandboxId"]);
    assert_eq!(j["restartRequired"], false);
    let r = alice.send("PATCH", "/api/v1/sandboxes/box", Some("{}"), &[]);
    assert_eq!(
        (r.status, r.error().as_str()),
        (
            400,
            "at least one of idleTimeout, resources, labels, annotations is required"
        )
    );

    let j = json_of(alice.post_empty("/api/v1/sandboxes/box/clone"), 202);
    assert_eq!(
        keys(&j),
        ["clonedFrom", "message", "name", "namespace", "phase", "snapshot"]
    );
    assert_eq!(
        (&j["clonedFrom"], &j["namespace"], &j["phase"]),
        (&json!("box"), &json!("default"), &json!("Pending"))
    );
    let name = j["name"].as_str().unwrap();
    assert!(is_unix_suffixed(name, "box-clone-"), "{name}");
    assert!(is_unix_suffixed(j["snapshot"].as_str().unwrap(), "box-snap-"), "{j}");
    assert_eq!(alice.get(&format!("/api/v1/sandboxes/{name}")).status, 200);
    let j = json_of(alice.post("/api/v1/sandboxes/box/clone", r#"{"name":"twin"}"#), 202);
    assert_eq!(j["name"], "twin");

    let bob = user(&router, &admin, "bob");
    let r = bob.send("PATCH", "/api/v1/sandboxes/box", Some(r#"{"labels":{"x":"y"}}"#), &[]);
    assert_eq!((r.status, r.error().as_str()), (404, "sandbox box not found"));
    let r = bob.post_empty("/api/v1/sandboxes/box/clone");
    assert_eq!((r.status, r.error().as_str()), (404, "sandbox box not found"));
}

/// Bulk create and bulk action (§3.10) answer 200 with one result per item, whose keys depend
/// on the outcome.
#[test]
fn bulk_results_per_item() {
    let (router, admin) = start();
    let alice = user(&router, &admin, "alice");
    let body = r#"{"items":[{"name":"w1","templateRef":{"name":"general-coding","kind":"ClusterSandboxTemplate"}},{"templateRef":{"name":"general-coding"}}]}"#;
    let j = json_of(alice.post("/api/v1/sandboxes/bulk", body), 200);
    assert_eq!(keys(&j), ["results"]);
    assert_eq!(
        j["results"],
        json!([
            {"index":0,"status":"created","sandboxId":"w1"},
            {"index":1,"status":"error","error":"name is required"}
        ])
    );
    let r = alice.post("/api/v1/sandboxes/bulk", r#"{"items":[]}"#);
    assert_eq!((r.status, r.error().as_str()), (400, "items must be a non-empty array"));

    admin.create("admins");
    let body = r#"{"action":"delete","ids":["w1","admins","nope"]}"#;
    let j = json_of(alice.post("/api/v1/sandboxes/bulk-action", body), 200);
    assert_eq!(keys(&j), ["results"]);
    assert_eq!(
        j["results"],
        json!([
            {"id":"w1","status":"ok"},
            {"id":"admins","status":"error","error":"sandbox admins not found"},
            {"id":"nope","status":"error","error":"sandbox nope not found"}
        ])
    );
    let r = alice.post("/api/v1/sandboxes/bulk-action", r#"{"action":"explode","ids":["a"]}"#);
    assert_eq!(
        (r.status, r.error().as_str()),
        (400, r#"action must be one of "stop", "resume", "delete""#)
    );
    let r = alice.post("/api/v1/sandboxes/bulk-action", r#"{"action":"stop","ids":[]}"#);
    assert_eq!((r.status, r.error().as_str()), (400, "ids must be a non-empty array"));
}

/// Backups (§3.11): the list is `[]` when empty, BackupInfo has its five keys, restore answers
/// 202 and delete 200; snapshots are named `<pvc>-backup-<unix>`.
#[test]
fn backups_create_list_restore_delete() {
    let (router, admin) = start();
    let alice = user(&router, &admin, "alice");
    alice.create_running("box");
    let r = alice.get("/api/v1/sandboxes/box/backups");
    assert_eq!((r.status, r.body.as_str()), (200, "{\"backups\":[]}\n"));

    let created = json_of(alice.post_empty("/api/v1/sandboxes/box/backups"), 201);
    assert_eq!(
        keys(&created),
        ["createdAt", "kind", "name", "readyToUse", "restoreSize"]
    );
    let name = created["name"].as_str().unwrap();
    assert!(is_unix_suffixed(name, "box-workspace-backup-"), "{name}");
    assert_eq!(created["kind"], "scheduled-backup");
    assert!(created["readyToUse"].is_boolean() && created["restoreSize"].is_string());
    assert_rfc3339(&created["createdAt"]);
    let j = json_of(alice.get("/api/v1/sandboxes/box/backups"), 200);
    assert_eq!(keys(&j), ["backups"]);
    assert_eq!(j["backups"], json!([created.clone()]));

    let r = alice.post_empty(&format!("/api/v1/sandboxes/box/backups/{name}/restore"));
    let j = json_of(r, 202);
    assert_eq!(
        keys(&j),
        ["message", "name", "namespace", "phase", "restoredFrom", "snapshot"]
    );
    assert!(is_unix_suffixed(j["name"].as_str().unwrap(), "box-restore-"), "{j}");
    assert_eq!(
        (&j["restoredFrom"], &j["snapshot"], &j["phase"]),
        (&json!("box"), &json!(name), &json!("Pending"))
    );

    let r = alice.delete(&format!("/api/v1/sandboxes/box/backups/{name}"));
    assert_eq!(json_of(r, 200), json!({"status":"deleted","name":name}));
    let r = alice.delete(&format!("/api/v1/sandboxes/box/backups/{name}"));
    assert_eq!(
        (r.status, r.error().as_str()),
        (404, "snapshot not found (it may have been pruned)")
    );
    let r = user(&router, &admin, "bob").get("/api/v1/sandboxes/box/backups");
    assert_eq!((r.status, r.error().as_str()), (404, "sandbox box not found"));
}

/// Sharing (§6.5): SharingInfo always has its three arrays, grants and links have their pinned
/// keys and formats, revoke echoes the identity, and another user's sandbox is a 403.
#[test]
fn sharing_and_share_links() {
    let (router, admin) = start();
    let alice = user(&router, &admin, "alice");
    alice.create("box");
    let r = alice.get("/api/v1/sandboxes/box/share");
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "{\"users\":[],\"groups\":[],\"shareLinks\":[]}\n")
    );

    let grant = r#"{"identity":"a@x.com","level":"viewer"}"#;
    let j = json_of(alice.post("/api/v1/sandboxes/box/share", grant), 200);
    assert_eq!(keys(&j), ["groups", "shareLinks", "users"]);
    assert_eq!(j["users"], json!([{"identity":"a@x.com","level":"viewer"}]));
    let grant = r#"{"identity":"devs","level":"collaborator","kind":"group"}"#;
    let j = json_of(alice.post("/api/v1/sandboxes/box/share", grant), 200);
    assert_eq!(j["groups"], json!([{"identity":"devs","level":"collaborator"}]));

    let r = alice.post(
        "/api/v1/sandboxes/box/share-links",
        r#"{"expiresIn":"24h","maxUses":3}"#,
    );
    let link = json_of(r, 201);
    assert_eq!(keys(&link), ["expiresAt", "id", "level", "maxUses", "token", "warning"]);
    assert!(is_hex(link["id"].as_str().unwrap(), 16), "{link}");
    assert!(is_base64url(link["token"].as_str().unwrap(), 43), "{link}");
    assert_eq!((&link["level"], &link["maxUses"]), (&json!("viewer"), &json!(3)));
    assert_rfc3339_seconds_utc(&link["expiresAt"]);
    let open = json_of(alice.post_empty("/api/v1/sandboxes/box/share-links"), 201);
    assert_eq!((&open["expiresAt"], &open["maxUses"]), (&Value::Null, &json!(0)));

    let j = json_of(alice.get("/api/v1/sandboxes/box/share"), 200);
    let links = j["shareLinks"].as_array().unwrap();
    assert_eq!(links.len(), 2);
    assert_eq!(keys(&links[0]), ["expiresAt", "id", "level", "maxUses", "usedCount"]);
    assert_eq!((&links[0]["id"], &links[0]["usedCount"]), (&link["id"], &json!(0)));

    let r = alice.delete("/api/v1/sandboxes/box/share/a%40x.com");
    assert_eq!(json_of(r, 200), json!({"status":"revoked","identity":"a@x.com"}));
    let j = json_of(alice.get("/api/v1/sandboxes/box/share"), 200);
    assert_eq!(j["users"], json!([]));

    let bob = user(&router, &admin, "bob");
    let r = bob.get("/api/v1/sandboxes/box/share");
    assert_eq!((r.status, r.error().as_str()), (403, "sandbox box not found"));
    let r = bob.post_empty("/api/v1/sandboxes/box/share-links");
    assert_eq!(r.status, 403);
}

/// Preferences (§8.2) are a free-form object, `{}` until set; API keys (§8.3) have their
/// create and metadata shapes, id and key formats, and owner-only revocation.
#[test]
fn preferences_and_api_keys() {
    let (router, admin) = start();
    let alice = user(&router, &admin, "alice");
    let r = alice.get("/api/v1/user/preferences");
    assert_eq!((r.status, r.body.as_str()), (200, "{}\n"));
    let prefs = json!({"theme":"dark","editor":{"tabs":4}});
    let r = alice.send("PUT", "/api/v1/user/preferences", Some(&prefs.to_string()), &[]);
    assert_eq!(json_of(r, 200), prefs);
    assert_eq!(json_of(alice.get("/api/v1/user/preferences"), 200), prefs);
    let r = alice.send("PUT", "/api/v1/user/preferences", Some("[1]"), &[]);
    assert_eq!(r.status, 400);
    assert!(r.error().starts_with("invalid request body"), "{}", r.body);

    let plain = json_of(alice.post("/api/v1/user/api-keys", r#"{"name":"ci"}"#), 201);
    assert_eq!(
        keys(&plain),
        [
            "actionGroups",
            "createdAt",
            "expiresAt",
            "id",
            "key",
            "name",
            "sandboxId",
            "warning"
        ]
    );
    assert_eq!(
        (&plain["sandboxId"], &plain["actionGroups"], &plain["expiresAt"]),
        (&json!(""), &Value::Null, &Value::Null)
    );
    let id = plain["id"].as_str().unwrap();
    assert!(
        id.strip_prefix("agenttier-apikey-").is_some_and(|h| is_hex(h, 40)),
        "{id}"
    );
    assert!(
        plain["key"]
            .as_str()
            .unwrap()
            .strip_prefix("atk_")
            .is_some_and(|k| is_base64url(k, 43)),
        "{plain}"
    );
    assert_rfc3339(&plain["createdAt"]);

    alice.create("box");
    let body = r#"{"name":"scoped","sandboxId":"box","scopes":["run-command"],"expiresIn":"720h"}"#;
    let scoped = json_of(alice.post("/api/v1/user/api-keys", body), 201);
    assert_eq!(
        (&scoped["sandboxId"], &scoped["actionGroups"]),
        (&json!("box"), &json!(["run-command"]))
    );
    assert_rfc3339(&scoped["expiresAt"]);
    let r = alice.post("/api/v1/user/api-keys", r#"{"actionGroups":["stop"]}"#);
    assert_eq!(r.status, 400);
    assert!(r.error().contains("unknown field"), "{}", r.body);

    let j = json_of(alice.get("/api/v1/user/api-keys"), 200);
    assert_eq!(keys(&j), ["keys"]);
    let listed = |id: &Value| {
        j["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| &k["id"] == id)
            .unwrap_or_else(|| panic!("{id} not listed: {j}"))
            .clone()
    };
    let meta = listed(&plain["id"]);
    assert_eq!(keys(&meta), ["createdAt", "id", "name", "userId"]);
    assert_eq!((&meta["userId"], &meta["name"]), (&json!("alice"), &json!("ci")));
    let meta = listed(&scoped["id"]);
    assert_eq!(
        keys(&meta),
        [
            "actionGroups",
            "createdAt",
            "expiresAt",
            "id",
            "name",
            "sandboxId",
            "userId"
        ]
    );

    let path = format!("/api/v1/user/api-keys/{id}");
    let r = user(&router, &admin, "bob").delete(&path);
    assert_eq!((r.status, r.error().as_str()), (403, "you do not own this API key"));
    assert_eq!(json_of(alice.delete(&path), 200), json!({"status":"revoked","id":id}));
    let r = alice.delete(&path);
    assert_eq!((r.status, r.error().as_str()), (404, "api key not found"));
}

/// A loopback webhook receiver answering every request with 200; returns its URL.
fn receiver() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 && line != "\r\n" {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let _ = reader.read_exact(&mut vec![0; length]);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    url
}

/// Webhooks (§11.1): create shows the secret once, the list omits it, deliveries are `[]` and
/// then carry their pinned keys; delete is 204 then 404.
#[test]
fn webhooks_and_deliveries() {
    let (router, admin) = start();
    let alice = user(&router, &admin, "alice");
    alice.create("box");
    let url = receiver();
    let body = json!({"url": url, "eventTypes": ["share.granted"], "sandboxId": "box", "namespace": "default"});
    let created = json_of(alice.post("/api/v1/webhooks", &body.to_string()), 201);
    assert_eq!(
        keys(&created),
        [
            "createdAt",
            "disabled",
            "eventTypes",
            "id",
            "namespace",
            "sandboxId",
            "secret",
            "url",
            "warning"
        ]
    );
    let id = created["id"].as_str().unwrap();
    assert!(is_hex(id, 32), "{id}");
    assert!(is_base64url(created["secret"].as_str().unwrap(), 43), "{created}");
    assert_rfc3339(&created["createdAt"]);
    assert_eq!(created["disabled"], false);

    let j = json_of(alice.get("/api/v1/webhooks"), 200);
    assert_eq!(keys(&j), ["webhooks"]);
    let listed = &j["webhooks"][0];
    assert_eq!(
        keys(listed),
        [
            "createdAt",
            "disabled",
            "eventTypes",
            "id",
            "namespace",
            "sandboxId",
            "url"
        ]
    );
    assert_eq!(
        (&listed["id"], &listed["eventTypes"]),
        (&created["id"], &json!(["share.granted"]))
    );
    let r = admin.get("/api/v1/webhooks");
    assert_eq!(r.body, "{\"webhooks\":[]}\n", "only the caller's own, even for admins");

    let deliveries = format!("/api/v1/webhooks/{id}/deliveries");
    assert_eq!(alice.get(&deliveries).body, "{\"deliveries\":[]}\n");
    let grant = r#"{"identity":"bob","level":"viewer"}"#;
    assert_eq!(alice.post("/api/v1/sandboxes/box/share", grant).status, 200);
    let deadline = Instant::now() + Duration::from_secs(15);
    let j = loop {
        let j = json_of(alice.get(&deliveries), 200);
        if !j["deliveries"].as_array().unwrap().is_empty() {
            break j;
        }
        assert!(Instant::now() < deadline, "no delivery recorded");
        std::thread::sleep(Duration::from_millis(20));
    };
    let d = &j["deliveries"][0];
    assert_eq!(keys(d), ["attempt", "eventType", "statusCode", "success", "timestamp"]);
    assert_eq!(
        (&d["eventType"], &d["statusCode"], &d["success"]),
        (&json!("share.granted"), &json!(200), &json!(true))
    );
    assert!(d["attempt"].is_u64());
    assert_rfc3339(&d["timestamp"]);

    let body = json!({"url": url, "eventTypes": ["sandbox.running"]}).to_string();
    let r = alice.post("/api/v1/webhooks", &body);
    assert_eq!(
        (r.status, r.error().as_str()),
        (403, "sandboxId is required for non-admin subscriptions")
    );
    let r = alice.delete(&format!("/api/v1/webhooks/{id}"));
    assert_eq!((r.status, r.body.as_str()), (204, ""));
    let r = alice.delete(&format!("/api/v1/webhooks/{id}"));
    assert_eq!((r.status, r.error().as_str()), (404, "webhook subscription not found"));
}

/// Governance (§10.1): policy routes and the effective policy have their pinned shapes, empty
/// policies are `{}`, policy edits are admin-only; audit events (§10.2) have their keys.
#[test]
fn governance_policies_and_audit_events() {
    let (router, admin) = start();
    let alice = user(&router, &admin, "alice");
    let r = alice.get("/api/v1/governance/policies");
    assert_eq!(
        (r.status, r.body.as_str()),
        (200, "{\"cluster\":null,\"namespaces\":[]}\n")
    );

    let cluster = json!({"maxSandboxesPerUser":5,"allowedTemplates":["general-coding"]});
    let r = admin.send("PUT", "/api/v1/governance/policies", Some(&cluster.to_string()), &[]);
    assert_eq!(json_of(r, 200), json!({"scope":"cluster","policy":cluster}));
    let team = json!({"maxTimeout":"2h"});
    let r = admin.send("PUT", "/api/v1/governance/policies/team", Some(&team.to_string()), &[]);
    assert_eq!(json_of(r, 200), json!({"namespace":"team","policy":team}));
    let j = json_of(alice.get("/api/v1/governance/policies"), 200);
    assert_eq!(keys(&j), ["cluster", "namespaces"]);
    assert_eq!(j["cluster"], cluster);
    assert_eq!(j["namespaces"], json!([{"namespace":"team","policy":team}]));
    let r = alice.get("/api/v1/governance/policies/other");
    assert_eq!(json_of(r, 200), json!({"namespace":"other","policy":{}}));

    let j = json_of(alice.get("/api/v1/governance/effective?namespace=team"), 200);
    assert_eq!(keys(&j), ["namespace", "policy"]);
    assert_eq!(
        j["policy"],
        json!({"maxSandboxesPerUser":5,"maxTimeout":"2h","allowedTemplates":["general-coding"]})
    );
    let j = json_of(alice.get("/api/v1/governance/effective"), 200);
    assert_eq!((&j["namespace"], &j["policy"]), (&json!("default"), &cluster));

    assert_admin_required(&alice.send("PUT", "/api/v1/governance/policies", Some("{}"), &[]));
    assert_admin_required(&alice.delete("/api/v1/governance/policies/team"));
    assert_eq!(admin.delete("/api/v1/governance/policies/team").status, 204);
    assert_eq!(admin.delete("/api/v1/governance/policies/team").status, 204);

    alice.create("box");
    assert_admin_required(&alice.get("/api/v1/audit/events"));
    let j = json_of(admin.get("/api/v1/audit/events"), 200);
    assert_eq!(keys(&j), ["events"]);
    let events = j["events"].as_array().unwrap();
    let event = events
        .iter()
        .find(|e| e["sandboxId"] == "box")
        .unwrap_or_else(|| panic!("no event of box: {j}"));
    assert_eq!(
        keys(event),
        [
            "details",
            "eventType",
            "namespace",
            "sandboxId",
            "sandboxName",
            "timestamp",
            "userEmail"
        ]
    );
    assert_eq!(keys(&event["details"]), ["reason"]);
    assert_eq!(event["sandboxName"], "box");
    assert_rfc3339(&event["timestamp"]);
    assert!(events.iter().all(|e| keys(e) == keys(event)), "{j}");
}

/// Analytics (§10.3) use snake_case keys; `per_template` is `[]` when empty; admin-only.
#[test]
fn analytics_usage_and_costs() {
    let (router, admin) = start();
    let j = json_of(admin.get("/api/v1/analytics/costs"), 200);
    assert_eq!(j["per_template"], json!([]));
    admin.create_running("box");

    let j = json_of(admin.get("/api/v1/analytics/usage"), 200);
    assert_eq!(
        keys(&j),
        [
            "avg_startup_ms",
            "startup_sample_count",
            "status_breakdown",
            "template_breakdown",
            "total_sandboxes"
        ]
    );
    assert_eq!(j["total_sandboxes"], 1);
    assert_eq!(j["status_breakdown"], json!({"Running":1}));
    assert_eq!(j["template_breakdown"], json!({"general-coding":1}));
    assert!(j["avg_startup_ms"].is_i64() && j["startup_sample_count"].is_i64());

    let j = json_of(admin.get("/api/v1/analytics/costs"), 200);
    // `recorded_*` are local additions (decoded as optional by the SDK).
    assert_eq!(
        keys(&j),
        [
            "per_template",
            "recorded_compute_cost",
            "recorded_running_hours",
            "running_sandboxes",
            "stopped_sandboxes",
            "total_estimated_monthly",
            "total_hourly_compute",
            "total_hourly_storage"
        ]
    );
    assert_eq!(
        (&j["running_sandboxes"], &j["stopped_sandboxes"]),
        (&json!(1), &json!(0))
    );
    let item = &j["per_template"][0];
    assert_eq!(keys(item), ["count", "hourly_cost", "template"]);
    assert_eq!(
        (&item["template"], &item["count"]),
        (&json!("general-coding"), &json!(1))
    );
    assert!(item["hourly_cost"].is_f64() && j["total_hourly_compute"].is_f64());

    let alice = user(&router, &admin, "alice");
    assert_admin_required(&alice.get("/api/v1/analytics/usage"));
    assert_admin_required(&alice.get("/api/v1/analytics/costs"));
}

/// Admin routes (§10.4): every owner's sandboxes, with `scopedApiKeys` only where a scoped key
/// exists; the sharing overview; both admin-only.
#[test]
fn admin_routes() {
    let (router, admin) = start();
    let alice = user(&router, &admin, "alice");
    let r = admin.get("/api/v1/admin/sandboxes");
    assert_eq!((r.status, r.body.as_str()), (200, "{\"sandboxes\":[]}\n"));
    alice.create_running("keyed");
    admin.create_running("plain");
    let body = r#"{"sandboxId":"keyed","scopes":["stop"]}"#;
    assert_eq!(alice.post("/api/v1/user/api-keys", body).status, 201);

    let j = json_of(admin.get("/api/v1/admin/sandboxes"), 200);
    assert_eq!(keys(&j), ["sandboxes"]);
    let by_name = |name: &str| {
        j["sandboxes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("{name} not listed: {j}"))
            .clone()
    };
    // The sandbox object of §3.1 (a Running one, so with `lastActivityAt`).
    let sandbox = [
        "createdAt",
        "createdBy",
        "lastActivityAt",
        "message",
        "mode",
        "name",
        "namespace",
        "podName",
        "pvcName",
        "sandboxId",
        "status",
        "templateRef",
    ];
    assert_eq!(keys(&by_name("plain")), sandbox);
    let keyed = by_name("keyed");
    let mut with_keys = sandbox.to_vec();
    with_keys.push("scopedApiKeys");
    with_keys.sort_unstable();
    assert_eq!(keys(&keyed), with_keys);
    let key = &keyed["scopedApiKeys"][0];
    assert_eq!(
        keys(key),
        ["actionGroups", "createdAt", "id", "name", "sandboxId", "userId"]
    );
    assert_eq!(
        (&key["sandboxId"], &key["actionGroups"]),
        (&json!("keyed"), &json!(["stop"]))
    );

    // The Router answers `{}` (a stub); the local router lists shared sandboxes here.
    let j = json_of(admin.get("/api/v1/admin/sharing"), 200);
    assert_eq!(j, json!({"sandboxes":[]}));
    assert_admin_required(&alice.get("/api/v1/admin/sandboxes"));
    assert_admin_required(&alice.get("/api/v1/admin/sharing"));
}

/// Warm pool (§11.2): `{}` when unconfigured, legacy top-level fields only for exactly one
/// pool and only when non-zero; config is admin-only.
#[test]
fn warm_pool_status_and_config() {
    let (router, admin) = start();
    let alice = user(&router, &admin, "alice");
    let r = alice.get("/api/v1/warmpool/status");
    assert_eq!((r.status, r.body.as_str()), (200, "{}\n"));

    let one = r#"{"pools":[{"template":"general-coding","desiredCount":2}]}"#;
    let j = json_of(admin.send("PUT", "/api/v1/warmpool/config", Some(one), &[]), 200);
    assert_eq!(
        j,
        json!({"status":"updated","pools":[{"template":"general-coding","desiredCount":2}]})
    );
    let j = json_of(alice.get("/api/v1/warmpool/status"), 200);
    assert_eq!(keys(&j), ["desiredCount", "pools", "template"]);
    assert_eq!(
        (&j["template"], &j["desiredCount"]),
        (&json!("general-coding"), &json!(2))
    );
    assert_eq!(
        keys(&j["pools"][0]),
        ["desiredCount", "pendingCount", "readyCount", "template"]
    );

    let two =
        r#"{"pools":[{"template":"general-coding","desiredCount":1},{"template":"agent-python","desiredCount":1}]}"#;
    assert_eq!(admin.send("PUT", "/api/v1/warmpool/config", Some(two), &[]).status, 200);
    let j = json_of(alice.get("/api/v1/warmpool/status"), 200);
    assert_eq!(keys(&j), ["pools"]);
    assert_eq!(j["pools"].as_array().unwrap().len(), 2);

    let r = admin.send("PUT", "/api/v1/warmpool/config", Some("{}"), &[]);
    assert_eq!(json_of(r, 200), json!({"status":"updated","pools":[]}));
    assert_eq!(alice.get("/api/v1/warmpool/status").body, "{}\n");
    assert_admin_required(&alice.send("PUT", "/api/v1/warmpool/config", Some(one), &[]));
}

/// Cluster (§11.3): status, nodes and headroom have their pinned keys; headroom without a
/// deployment is exactly the Router's disabled shape; nodes and headroom updates are admin-only.
#[test]
fn cluster_status_nodes_and_headroom() {
    let (router, admin) = start();
    let alice = user(&router, &admin, "alice");
    let j = json_of(alice.get("/api/v1/cluster/status"), 200);
    assert_eq!(
        keys(&j),
        [
            "autoscalerEnabled",
            "headroomReady",
            "nodes",
            "nodesReady",
            "pods",
            "sandboxPods"
        ]
    );
    assert!(j["autoscalerEnabled"].is_boolean());
    for k in ["headroomReady", "nodes", "nodesReady", "pods", "sandboxPods"] {
        assert!(j[k].is_i64(), "{k}: {j}");
    }

    let j = json_of(admin.get("/api/v1/cluster/nodes"), 200);
    assert_eq!(keys(&j), ["nodes", "summary"]);
    let node = &j["nodes"][0];
    assert!(
        keys(node)
            .iter()
            .all(|k| ["allocatable", "instanceType", "name", "nodeGroup", "ready", "requests"].contains(k))
    );
    for k in ["allocatable", "name", "ready", "requests"] {
        assert!(node.get(k).is_some(), "{k}: {node}");
    }
    assert_eq!(keys(&node["allocatable"]), ["cpuMillis", "memBytes"]);
    assert_eq!(keys(&node["requests"]), ["cpuMillis", "memBytes"]);
    assert_eq!(
        keys(&j["summary"]),
        [
            "allocatable",
            "cpuSaturationPct",
            "memSaturationPct",
            "ready",
            "requests",
            "total"
        ]
    );
    assert_admin_required(&alice.get("/api/v1/cluster/nodes"));

    let r = alice.get("/api/v1/cluster/headroom");
    assert_eq!(
        json_of(r, 200),
        json!({"replicas":0,"cpu":"","memory":"","enabled":false})
    );
    let body = r#"{"replicas":2,"cpu":"500m","memory":"1Gi"}"#;
    let j = json_of(admin.send("PUT", "/api/v1/cluster/headroom", Some(body), &[]), 200);
    assert_eq!(keys(&j), ["cpu", "enabled", "memory", "replicas"]);
    assert_eq!(
        (&j["replicas"], &j["cpu"], &j["memory"]),
        (&json!(2), &json!("500m"), &json!("1Gi"))
    );
    let r = admin.send("PUT", "/api/v1/cluster/headroom", Some(r#"{"replicas":51}"#), &[]);
    assert_eq!((r.status, r.error().as_str()), (400, "replicas must be in [0, 50]"));
    assert_admin_required(&alice.send("PUT", "/api/v1/cluster/headroom", Some(body), &[]));
}
