//! The Router API's request descriptors (`agenttier_core::api`) against the wire spec
//! (`agenttier-wire.md`): one table row per operation, asserting the method, the URL (path and
//! query, percent-encoded), what the response is expected to be, and the body.
//!
//! JSON bodies are compared, as `serde_json::Value`s, with fixtures in `tests/data/wire/`, one
//! per operation, copied from the spec's example request bodies. Where the spec shows a
//! placeholder (`"<new-id>"`, `"…"`) the fixture has a concrete value; the create example's
//! `templateRef.namespace` (only meaningful with kind `SandboxTemplate`, as its annotation
//! says) is left out. Go durations are compared by value, not spelling: the clients send what
//! Go's `Duration.String()` renders (`"8h0m0s"`), the spec's examples are shorter (`"8h"`), and
//! the Router parses both with `time.ParseDuration`.
//!
//! Operations without an example body in the spec (preferences, policies, template replace)
//! are checked by method and URL, and for a JSON body, not its content.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use agenttier_core::api::{
    account, admin, agent, backups, bulk, cluster, files, governance, health, sandboxes, sharing, templates, webhooks,
};
use agenttier_core::duration;
use agenttier_core::models::{
    ActionGroup, BulkAction, CloneSandbox, Configure, CreateApiKey, CreateSandbox, CreateShareLink, CreateWebhook,
    Exec, GrantShare, HeadroomConfig, Invoke, Policy, PoolTarget, Resources, SandboxFilter, SandboxPhase, ShareLevel,
    TemplateDefinition, UpdateSandbox, WebhookEvent,
};
use agenttier_core::request::{Accept, Request};
use agenttier_core::{Method, Result};
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/wire")
}

/// What the body of a request must be.
enum Body {
    /// None at all.
    Empty,
    /// JSON equal to `tests/data/wire/<op>.json`.
    Fixture,
    /// JSON not shown in the spec: only its presence is checked.
    AnyJson,
    /// Raw bytes with their content type.
    Raw(&'static str, &'static [u8]),
}

/// One operation: its name, the request the descriptor built, and what the spec says.
struct Case {
    op: &'static str,
    req: Request,
    /// `"METHOD /url?query"`, the URL as [`Request::url`] renders it under an empty base.
    route: &'static str,
    body: Body,
    accept: Accept,
}

fn case(op: &'static str, req: Result<Request>, route: &'static str) -> Case {
    Case {
        op,
        req: req.unwrap_or_else(|e| panic!("{op}: {e}")),
        route,
        body: Body::Empty,
        accept: Accept::Json,
    }
}

impl Case {
    fn fixture(self) -> Self {
        Case {
            body: Body::Fixture,
            ..self
        }
    }

    fn any_json(self) -> Self {
        Case {
            body: Body::AnyJson,
            ..self
        }
    }

    fn raw(self, content_type: &'static str, data: &'static [u8]) -> Self {
        Case {
            body: Body::Raw(content_type, data),
            ..self
        }
    }

    fn accept(self, accept: Accept) -> Self {
        Case { accept, ..self }
    }
}

/// The create body of the spec's §3.3 example.
fn create_params() -> CreateSandbox {
    CreateSandbox::new("general-coding", "demo")
        .namespace("team-a")
        .timeout(Duration::from_secs(8 * 3600))
        .idle_timeout(Duration::from_secs(30 * 60))
        .storage_size("20Gi")
        .storage_class("gp3")
        .mount_path("/workspace")
        .snapshot_on_stop(false)
        .shared_storage(false)
}

fn cases() -> Vec<Case> {
    let id = "demo";
    let hour = Duration::from_secs(3600);
    vec![
        // Sandboxes (§3.3–§3.9).
        case(
            "create_sandbox",
            sandboxes::create(&create_params()),
            "POST /api/v1/sandboxes",
        )
        .fixture(),
        case(
            "list_sandboxes",
            Ok(sandboxes::list(
                &SandboxFilter::all().namespace("team-a").phase(SandboxPhase::Running),
            )),
            "GET /api/v1/sandboxes?namespace=team-a&status=Running",
        ),
        case(
            "get_sandbox",
            sandboxes::get("a b/c"),
            "GET /api/v1/sandboxes/a%20b%2Fc",
        ),
        case(
            "update_sandbox",
            sandboxes::update(
                id,
                &UpdateSandbox::new()
                    .idle_timeout(hour)
                    .resources(
                        Resources::new()
                            .request("cpu", "1")
                            .request("memory", "2Gi")
                            .limit("cpu", "2")
                            .limit("memory", "4Gi"),
                    )
                    .label("team", "platform")
                    .annotation("note", "x"),
            ),
            "PATCH /api/v1/sandboxes/demo",
        )
        .fixture(),
        case("delete_sandbox", sandboxes::delete(id), "DELETE /api/v1/sandboxes/demo"),
        case("stop", sandboxes::stop(id), "POST /api/v1/sandboxes/demo/stop"),
        case("resume", sandboxes::resume(id), "POST /api/v1/sandboxes/demo/resume"),
        case(
            "clone_sandbox",
            sandboxes::clone_sandbox(
                id,
                &CloneSandbox::new().name("demo-copy").snapshot_class("csi-snapclass"),
            ),
            "POST /api/v1/sandboxes/demo/clone",
        )
        .fixture(),
        // Bulk (§3.10).
        case(
            "bulk_create",
            bulk::create(&[create_params()]),
            "POST /api/v1/sandboxes/bulk",
        )
        .fixture(),
        case(
            "bulk_action",
            bulk::action(BulkAction::Stop, &["a", "b"]),
            "POST /api/v1/sandboxes/bulk-action",
        )
        .fixture(),
        // Backups (§3.11).
        case("list_backups", backups::list(id), "GET /api/v1/sandboxes/demo/backups"),
        case(
            "create_backup",
            backups::create(id, Some("csi-snapclass")),
            "POST /api/v1/sandboxes/demo/backups",
        )
        .fixture(),
        case(
            "restore_backup",
            backups::restore(id, "demo-workspace-backup-1", Some("demo-restored")),
            "POST /api/v1/sandboxes/demo/backups/demo-workspace-backup-1/restore",
        )
        .fixture(),
        case(
            "delete_backup",
            backups::delete(id, "demo-workspace-backup-1"),
            "DELETE /api/v1/sandboxes/demo/backups/demo-workspace-backup-1",
        ),
        // Exec (§4).
        case(
            "exec",
            sandboxes::exec(id, &Exec::new("ls -la /workspace")),
            "POST /api/v1/sandboxes/demo/exec",
        )
        .fixture(),
        // Files (§5).
        case(
            "list_files",
            files::list(id, "/workspace/src"),
            "GET /api/v1/sandboxes/demo/files/?path=%2Fworkspace%2Fsrc",
        ),
        case(
            "download_file",
            files::download(id, "/workspace/src/main.py"),
            "GET /api/v1/sandboxes/demo/files/workspace/src/main.py",
        )
        .accept(Accept::Bytes),
        case(
            "write_file",
            files::write(id, "/workspace/a.txt", b"hello".to_vec()),
            "PUT /api/v1/sandboxes/demo/files/workspace/a.txt",
        )
        .raw("application/octet-stream", b"hello"),
        case(
            "upload_file",
            files::upload(id, "workspace/a b.txt"),
            "PUT /api/v1/sandboxes/demo/files/workspace/a%20b.txt",
        ),
        case(
            "archive",
            files::archive(id, "/workspace"),
            "GET /api/v1/sandboxes/demo/archive?path=%2Fworkspace",
        )
        .accept(Accept::Bytes),
        // Ports and preview (§6.1–§6.4).
        case(
            "forward_port",
            sandboxes::forward_port(id, 3000, "http"),
            "POST /api/v1/sandboxes/demo/ports",
        )
        .fixture(),
        case(
            "list_ports",
            sandboxes::list_ports(id),
            "GET /api/v1/sandboxes/demo/ports",
        ),
        case(
            "remove_port",
            sandboxes::remove_port(id, 3000),
            "DELETE /api/v1/sandboxes/demo/ports/3000",
        ),
        case(
            "preview",
            sandboxes::preview(Method::GET, id, 3000, "/index.html"),
            "GET /api/v1/sandboxes/demo/preview/3000/index.html",
        ),
        // Sharing (§6.5).
        case("get_sharing", sharing::get(id), "GET /api/v1/sandboxes/demo/share"),
        case(
            "grant_share",
            sharing::grant(id, &GrantShare::user("a@x.com", ShareLevel::Viewer)),
            "POST /api/v1/sandboxes/demo/share",
        )
        .fixture(),
        case(
            "revoke_share",
            sharing::revoke(id, "dev team"),
            "DELETE /api/v1/sandboxes/demo/share/dev%20team",
        ),
        case(
            "create_share_link",
            sharing::create_link(id, &CreateShareLink::new(ShareLevel::Viewer).expires_in(24 * hour)),
            "POST /api/v1/sandboxes/demo/share-links",
        )
        .fixture(),
        // Templates (§7).
        case("list_templates", Ok(templates::list()), "GET /api/v1/templates"),
        case(
            "get_template",
            templates::get("general-coding"),
            "GET /api/v1/templates/general-coding",
        ),
        case(
            "create_template",
            templates::create(&TemplateDefinition::new("general-coding", json!({"mode": "code"}))),
            "POST /api/v1/templates",
        )
        .fixture(),
        case(
            "update_template",
            templates::update(&TemplateDefinition::new("general-coding", json!({"mode": "code"}))),
            "PUT /api/v1/templates/general-coding",
        )
        .any_json(),
        case(
            "delete_template",
            templates::delete("general-coding"),
            "DELETE /api/v1/templates/general-coding",
        ),
        // User, preferences, API keys (§8).
        case("current_user", Ok(account::current_user()), "GET /api/v1/user/me"),
        case(
            "get_preferences",
            Ok(account::preferences()),
            "GET /api/v1/user/preferences",
        ),
        case(
            "put_preferences",
            account::put_preferences(&serde_json::Map::new()),
            "PUT /api/v1/user/preferences",
        )
        .any_json(),
        case(
            "list_api_keys",
            Ok(account::list_api_keys()),
            "GET /api/v1/user/api-keys",
        ),
        case(
            "create_api_key",
            account::create_api_key(
                &CreateApiKey::new("ci")
                    .expires_in(720 * hour)
                    .sandbox("demo")
                    .scopes([ActionGroup::RunCommand, ActionGroup::FilesRead]),
            ),
            "POST /api/v1/user/api-keys",
        )
        .fixture(),
        case(
            "revoke_api_key",
            account::revoke_api_key("agenttier-apikey-0123"),
            "DELETE /api/v1/user/api-keys/agenttier-apikey-0123",
        ),
        // Agent mode (§9).
        case(
            "configure",
            agent::configure(
                id,
                &Configure::new()
                    .file_text("/workspace/agent.py", "print('hi')\n")
                    .file_bytes("/workspace/model.bin", [0u8, 1, 2, 0xff])
                    .install_command(["pip", "install", "-r", "/workspace/requirements.txt"])
                    .entrypoint(["python", "/workspace/agent.py"]),
            ),
            "POST /api/v1/sandboxes/demo/configure",
        )
        .fixture()
        .accept(Accept::EventStream),
        case(
            "install_log",
            agent::install_log(id),
            "GET /api/v1/sandboxes/demo/configure/install-log",
        ),
        case(
            "invoke",
            agent::invoke(
                id,
                Invoke::text("hi").prompt("be brief").timeout(Duration::from_secs(300)),
            ),
            "POST /api/v1/sandboxes/demo/invoke?prompt=be%20brief&timeout=5m0s",
        )
        .raw("text/plain; charset=utf-8", b"hi")
        .accept(Accept::EventStream),
        case(
            "invoke_cancel",
            agent::invoke_cancel(id, "inv-0123456789abcdef01234567"),
            "POST /api/v1/sandboxes/demo/invoke/cancel",
        )
        .fixture(),
        // Governance, audit, analytics, admin (§10).
        case(
            "get_policies",
            Ok(governance::policies()),
            "GET /api/v1/governance/policies",
        ),
        case(
            "set_cluster_policy",
            governance::set_cluster_policy(&Policy::default()),
            "PUT /api/v1/governance/policies",
        )
        .any_json(),
        case(
            "get_namespace_policy",
            governance::namespace_policy("team-a"),
            "GET /api/v1/governance/policies/team-a",
        ),
        case(
            "set_namespace_policy",
            governance::set_namespace_policy("team-a", &Policy::default()),
            "PUT /api/v1/governance/policies/team-a",
        )
        .any_json(),
        case(
            "delete_namespace_policy",
            governance::delete_namespace_policy("team-a"),
            "DELETE /api/v1/governance/policies/team-a",
        ),
        case(
            "effective_policy",
            Ok(governance::effective(Some("team-a"))),
            "GET /api/v1/governance/effective?namespace=team-a",
        ),
        case("audit_events", Ok(admin::audit_events()), "GET /api/v1/audit/events"),
        case("usage", Ok(admin::usage()), "GET /api/v1/analytics/usage"),
        case("costs", Ok(admin::costs()), "GET /api/v1/analytics/costs"),
        case(
            "admin_sandboxes",
            Ok(admin::sandboxes(
                &SandboxFilter::all().namespace("team-a").phase(SandboxPhase::Running),
            )),
            "GET /api/v1/admin/sandboxes?namespace=team-a",
        ),
        case("admin_sharing", Ok(admin::sharing()), "GET /api/v1/admin/sharing"),
        // Webhooks, warm pool, cluster (§11.1–§11.3).
        case(
            "create_webhook",
            webhooks::create(
                &CreateWebhook::new(
                    "https://hooks.example.com/agenttier",
                    [WebhookEvent::SandboxRunning, WebhookEvent::SandboxStopped],
                )
                .sandbox("demo")
                .namespace("team-a"),
            ),
            "POST /api/v1/webhooks",
        )
        .fixture(),
        case("list_webhooks", Ok(webhooks::list()), "GET /api/v1/webhooks"),
        case(
            "delete_webhook",
            webhooks::delete("0123abcd"),
            "DELETE /api/v1/webhooks/0123abcd",
        ),
        case(
            "webhook_deliveries",
            webhooks::deliveries("0123abcd"),
            "GET /api/v1/webhooks/0123abcd/deliveries",
        ),
        case(
            "warm_pool_status",
            Ok(cluster::warm_pool_status()),
            "GET /api/v1/warmpool/status",
        ),
        case(
            "configure_warm_pool",
            cluster::configure_warm_pool(&[PoolTarget::new("t", 2)]),
            "PUT /api/v1/warmpool/config",
        )
        .fixture(),
        case("cluster_status", Ok(cluster::status()), "GET /api/v1/cluster/status"),
        case("cluster_nodes", Ok(cluster::nodes()), "GET /api/v1/cluster/nodes"),
        case("headroom", Ok(cluster::headroom()), "GET /api/v1/cluster/headroom"),
        case(
            "set_headroom",
            cluster::set_headroom(&HeadroomConfig::new(2).size("500m", "1Gi")),
            "PUT /api/v1/cluster/headroom",
        )
        .fixture(),
        // Health and metrics (§11.4), outside /api/v1.
        case("healthz", Ok(health::healthz()), "GET /healthz"),
        case("readyz", Ok(health::readyz()), "GET /readyz"),
        case("metrics", Ok(health::metrics()), "GET /metrics").accept(Accept::Bytes),
    ]
}

/// Rewrites every Go duration string under a key ending in `imeout` or `expiresIn` to Go's own
/// spelling, so that `"8h"` and `"8h0m0s"` compare equal.
fn canonical_durations(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let is_duration = key.ends_with("imeout") || key == "expiresIn";
                match v {
                    Value::String(s) if is_duration => {
                        let parsed = duration::parse(s).unwrap_or_else(|e| panic!("{key}: {s:?}: {e}"));
                        *s = duration::format(parsed);
                    }
                    other => canonical_durations(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(canonical_durations),
        _ => {}
    }
}

fn json_of(bytes: &[u8], what: &str) -> Value {
    let mut value: Value = serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{what}: {e}"));
    canonical_durations(&mut value);
    value
}

#[test]
fn every_operation_matches_the_wire_spec() {
    let mut used = BTreeSet::new();
    let mut ops = BTreeSet::new();
    for Case {
        op,
        req,
        route,
        body,
        accept,
    } in cases()
    {
        assert!(ops.insert(op), "{op} is in the table twice");
        assert_eq!(format!("{} {}", req.method, req.url("")), route, "{op}");
        assert_eq!(req.accept, accept, "{op}");
        match body {
            Body::Empty => {
                assert!(req.body_bytes().is_empty() && req.content_type().is_none(), "{op}")
            }
            Body::AnyJson => {
                assert_eq!(req.content_type(), Some("application/json"), "{op}");
                json_of(req.body_bytes(), op);
            }
            Body::Fixture => {
                assert_eq!(req.content_type(), Some("application/json"), "{op}");
                let name = format!("{op}.json");
                let want = std::fs::read(fixtures().join(&name)).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(json_of(req.body_bytes(), op), json_of(&want, &name), "{op}");
                used.insert(name);
            }
            Body::Raw(content_type, data) => {
                assert_eq!(req.content_type(), Some(content_type), "{op}");
                assert_eq!(req.body_bytes(), data, "{op}");
            }
        }
    }
    let on_disk: BTreeSet<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(on_disk, used, "every fixture belongs to one operation");
    // Wire spec §14: 63 routes under /api/v1 (the preview counts once), /healthz, /readyz and
    // /metrics (the terminal's WebSocket and OPTIONS are not requests of this kind), and the
    // streamed upload, a second way to the file PUT.
    assert_eq!(ops.len(), 67, "one row per operation");
}

#[test]
fn exec_carries_its_own_timeout() {
    let req = sandboxes::exec("demo", &Exec::new("sleep 100").timeout(Duration::from_secs(120))).unwrap();
    assert_eq!(
        req.timeout,
        Some(Exec::new("x").timeout(Duration::from_secs(120)).http_timeout())
    );
}

#[test]
fn descriptors_refuse_what_the_router_would_refuse() {
    let refused: Vec<(&str, Result<Request>)> = vec![
        ("empty sandbox id", sandboxes::get("")),
        ("empty sandbox id to stop", sandboxes::stop("")),
        ("sandbox id ..", sandboxes::delete("..")),
        ("sandbox id .", files::list(".", "/workspace")),
        ("empty sandbox id for sharing", sharing::get("")),
        ("invalid name", sandboxes::create(&CreateSandbox::new("t", "Bad_Name"))),
        (
            "update without a field",
            sandboxes::update("demo", &UpdateSandbox::new()),
        ),
        (
            "invalid clone name",
            sandboxes::clone_sandbox("demo", &CloneSandbox::new().name("Bad_Name")),
        ),
        ("empty command", sandboxes::exec("demo", &Exec::new(" "))),
        ("port 0", sandboxes::forward_port("demo", 0, "http")),
        ("empty protocol", sandboxes::forward_port("demo", 80, " ")),
        ("remove port 0", sandboxes::remove_port("demo", 0)),
        ("preview port 0", sandboxes::preview(Method::GET, "demo", 0, "/")),
        (
            "preview path with a query",
            sandboxes::preview(Method::GET, "demo", 80, "/a?b=1"),
        ),
        (
            "preview path without /",
            sandboxes::preview(Method::GET, "demo", 80, "a"),
        ),
        ("preview of an empty id", sandboxes::preview(Method::GET, "", 80, "/")),
        ("file path with ..", files::download("demo", "/workspace/../etc/passwd")),
        ("empty bulk create", bulk::create(&[])),
        ("invalid bulk item", bulk::create(&[CreateSandbox::new("", "demo")])),
        ("empty bulk action", bulk::action::<&str>(BulkAction::Delete, &[])),
        (
            "empty id in a bulk action",
            bulk::action(BulkAction::Delete, &["a", ""]),
        ),
        ("empty snapshot", backups::restore("demo", "", None)),
        ("invalid restore name", backups::restore("demo", "s", Some("Bad_Name"))),
        ("empty snapshot to delete", backups::delete("demo", "")),
        ("empty identity", sharing::revoke("demo", "")),
        ("empty invoke id", agent::invoke_cancel("demo", "")),
        ("empty template name", templates::get("")),
        ("empty key id", account::revoke_api_key("")),
        (
            "scopes without a sandbox",
            account::create_api_key(&CreateApiKey::new("k").scopes([ActionGroup::Stop])),
        ),
        ("empty namespace", governance::namespace_policy("")),
        ("empty webhook id", webhooks::deliveries("")),
        ("pool of 11", cluster::configure_warm_pool(&[PoolTarget::new("t", 11)])),
        (
            "pool without a template",
            cluster::configure_warm_pool(&[PoolTarget::new("", 1)]),
        ),
        ("headroom of 51", cluster::set_headroom(&HeadroomConfig::new(51))),
    ];
    for (what, result) in refused {
        let err = result.expect_err(what);
        assert!(
            matches!(err, agenttier_core::Error::InvalidInput { .. }),
            "{what}: {err:?}"
        );
    }
    // Optional parts left out are left out of the request too.
    assert_eq!(backups::restore("demo", "s", None).unwrap().body_bytes(), b"{}");
    assert_eq!(backups::create("demo", None).unwrap().body_bytes(), b"{}");
    assert_eq!(governance::effective(Some("")).url(""), "/api/v1/governance/effective");
    assert_eq!(
        cluster::configure_warm_pool(&[]).unwrap().body_bytes(),
        br#"{"pools":[]}"#
    );
}
