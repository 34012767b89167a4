//! Template management, install log, preview proxy, health, metrics and the escape hatch.

use std::time::Duration;

use agenttier::models::{Configure, CreateSandbox, SandboxMode, TemplateDefinition};
use agenttier::{Error, Method};
use serde_json::json;

use super::super::read_all;
use super::{Env, maybe};
use crate::support::{self, fake::FakeServer, fake::Reply};

fn admin_only(err: &Error) -> bool {
    matches!(err, Error::Authorization { api } if api.message == "admin_required")
}

#[maybe]
pub async fn templates_are_managed_end_to_end(env: Env) {
    let name = env.name("tpl");
    let def =
        TemplateDefinition::new(&name, json!({"mode": "agent", "harness": {"shell": "/bin/sh"}})).description("mine");
    let created = env.client.create_template(&def).await.unwrap();
    assert_eq!(
        (created.name.as_str(), created.description.as_str()),
        (name.as_str(), "mine")
    );
    assert_eq!(
        (created.mode(), created.resource_version.as_str()),
        (SandboxMode::Agent, "1")
    );
    let again = env.client.create_template(&def).await.unwrap_err();
    assert!(matches!(again, Error::Conflict { .. }), "{again:?}");
    let listed = env.client.list_templates().await.unwrap();
    assert!(listed.iter().any(|t| t.name == name));

    // Non-admins read but may not write.
    let user = env.client_with_key(&support::user_key(&format!("{}-tpl-user", env.prefix)));
    let read = user.get_template(&name).await.unwrap();
    assert_eq!(read.name, name);
    let denied = [
        user.create_template(&def.clone().with_name(env.name("tpl")))
            .await
            .unwrap_err(),
        user.update_template(&def).await.unwrap_err(),
        user.delete_template(&name).await.unwrap_err(),
    ];
    assert!(denied.iter().all(admin_only), "{denied:?}");

    // A sandbox made from it; a running one keeps it from being deleted.
    let sandbox = env
        .client
        .create_sandbox(CreateSandbox::new(&name, env.name("from-tpl")))
        .await
        .unwrap();
    sandbox.wait_until_running(Duration::from_secs(30)).await.unwrap();
    let info = sandbox.status().await.unwrap();
    assert_eq!(info.mode, SandboxMode::Agent);
    let busy = env.client.delete_template(&name).await.unwrap_err();
    assert!(matches!(busy, Error::Conflict { .. }), "{busy:?}");

    let updated = env
        .client
        .update_template(&TemplateDefinition::new(
            &name,
            json!({"mode": "code", "description": "now code"}),
        ))
        .await
        .unwrap();
    assert_eq!(
        (updated.description.as_str(), updated.resource_version.as_str()),
        ("now code", "2")
    );
    let fetched = env.client.get_template(&name).await.unwrap();
    assert_eq!(fetched, updated);

    sandbox.terminate().await.unwrap();
    env.client.delete_template(&name).await.unwrap();
    let gone = env.client.get_template(&name).await.unwrap_err();
    assert!(matches!(gone, Error::NotFound { .. }), "{gone:?}");

    // Built-ins are read-only; bad definitions never leave the client.
    let builtin = TemplateDefinition::new("general-coding", json!({}));
    let read_only = env.client.update_template(&builtin).await.unwrap_err();
    assert!(matches!(read_only, Error::Conflict { .. }), "{read_only:?}");
    for bad in [
        TemplateDefinition::new("", json!({})),
        TemplateDefinition::new("x", json!([1])),
    ] {
        let err = env.client.create_template(&bad).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    }
    let err = env.client.delete_template("").await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
}

#[maybe]
pub async fn install_log_follows_configure(env: Env) {
    let sandbox = env
        .client
        .create_sandbox(CreateSandbox::new("agent-python", env.name("ilog")))
        .await
        .unwrap();
    sandbox.wait_until_running(Duration::from_secs(30)).await.unwrap();
    let agent = sandbox.agent();
    let none = agent.install_log().await.unwrap_err();
    assert!(matches!(none, Error::NotFound { .. }), "{none:?}");
    let configure = Configure::new()
        .file_text("/workspace/a.sh", "#!/bin/sh\ncat\n")
        .install_command(["sh", "-c", "printf 'step one\\n\\033[1mbold\\033[0m\\n'; echo oops >&2"])
        .entrypoint(["sh", "/workspace/a.sh"]);
    agent.configure(configure).await.unwrap();
    let log = agent.install_log().await.unwrap();
    assert!(
        log.contains("step one") && log.contains("\u{1b}[1mbold") && log.contains("oops"),
        "{log:?}"
    );
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn preview_streams_the_upstream_answer(env: Env) {
    let upstream = FakeServer::start(|_, seen| {
        let body = format!("you asked for {}", seen.request_line);
        Reply::with(200, "text/plain", &body, &[("x-upstream", "yes")])
    });
    let port: u16 = upstream.url().rsplit(':').next().unwrap().parse().unwrap();
    let sandbox = env
        .client
        .create_sandbox(CreateSandbox::new("general-coding", env.name("preview")))
        .await
        .unwrap();
    sandbox.wait_until_running(Duration::from_secs(30)).await.unwrap();
    let url = sandbox.preview_url(port, "/page").unwrap();
    assert_eq!(
        url,
        format!(
            "{}/api/v1/sandboxes/{}/preview/{port}/page",
            env.client.config().base_url,
            sandbox.id()
        )
    );

    let unforwarded = sandbox.preview(port, "/page").await.unwrap_err();
    assert!(matches!(unforwarded, Error::NotFound { .. }), "{unforwarded:?}");
    sandbox.forward_port(port).await.unwrap();
    let resp = sandbox.preview(port, "/page").await.unwrap();
    assert_eq!(resp.status, 200);
    assert_eq!(resp.headers.get("x-upstream").unwrap(), "yes");
    let body = read_all(resp.body).await;
    assert_eq!(String::from_utf8(body).unwrap(), "you asked for GET /page HTTP/1.1");

    let posted = sandbox
        .preview_request(Method::POST, port, "")
        .query("q", "a b")
        .json(&json!({"x": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(posted.text(), "you asked for POST /?q=a%20b HTTP/1.1");
    let seen = upstream.seen();
    let last = seen.last().unwrap();
    assert_eq!(last.body, br#"{"x":1}"#);
    assert_eq!(last.header("content-type"), Some("application/json"));
    assert!(
        last.header("x-api-key").is_none(),
        "the local router strips credentials"
    );

    for bad in [
        sandbox.preview(0, "/").await.unwrap_err(),
        sandbox.preview(port, "/a?b").await.unwrap_err(),
    ] {
        assert!(matches!(bad, Error::InvalidInput { .. }), "{bad:?}");
    }
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn health_and_metrics(env: Env) {
    let health = env.client.health().await.unwrap();
    assert!(health.ready && health.reason.is_empty(), "{health:?}");
    let metrics = env.client.metrics().await.unwrap();
    assert!(metrics.contains("agenttier_sandboxes"), "{metrics}");

    let not_ready = FakeServer::start(|_, seen| {
        if seen.request_line.starts_with("GET /readyz") {
            Reply::with(503, "text/plain; charset=utf-8", "not ready: store unreachable\n", &[])
        } else {
            Reply::with(200, "text/plain; charset=utf-8", "ok", &[])
        }
    });
    let client = env.client_for(not_ready.url()).build().unwrap();
    let health = client.health().await.unwrap();
    assert!(!health.ready && health.reason == "store unreachable", "{health:?}");
    let paths: Vec<_> = not_ready.seen().iter().map(|s| s.request_line.clone()).collect();
    assert_eq!(
        paths.first().map(String::as_str),
        Some("GET /healthz HTTP/1.1"),
        "{paths:?}"
    );
}

#[maybe]
pub async fn escape_hatch_goes_through_auth_retries_and_errors(env: Env) {
    let resp = env
        .client
        .request(Method::GET, "/api/v1/warmpool/status")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status, 200);
    let _: serde_json::Value = resp.json().unwrap();
    let me: serde_json::Value = env
        .client
        .request(Method::GET, "/api/v1/user/me")
        .send()
        .await
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(me["isAdmin"], true, "sent with the client's key");
    let missing = env
        .client
        .request(Method::GET, "/api/v1/sandboxes/no-such-box")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }), "{missing:?}");
    let text = env
        .client
        .request(Method::GET, "/healthz")
        .send_streamed()
        .await
        .unwrap();
    let body = read_all(text.body).await;
    assert_eq!(body, b"ok");
    for bad in ["api/v1/x", "/api/v1//x", "/api/v1/x?y=1", "/a/../b"] {
        let err = env.client.request(Method::GET, bad).send().await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{bad}: {err:?}");
    }
    let err = env
        .client
        .request(Method::GET, "/x")
        .header("bad name", "v")
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    let pending = env.client.request(Method::GET, "/x").header("x-session", "hush-123");
    assert!(
        !format!("{pending:?}").contains("hush-123"),
        "header values stay out of Debug"
    );

    // Retries and credentials, seen from the server's side.
    let flaky = FakeServer::start(|n, _| {
        if n < 2 {
            Reply::json(503, r#"{"error":"busy"}"#)
        } else {
            Reply::json(200, r#"{"fine":true}"#)
        }
    });
    let client = env.client_for(flaky.url()).build().unwrap();
    let resp = client
        .request(Method::PUT, "/api/v1/new/thing")
        .header("x-extra", "1")
        .json(&json!({"a": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.json::<serde_json::Value>().unwrap()["fine"], true);
    let seen = flaky.seen();
    assert_eq!(seen.len(), 3, "two 503s retried");
    assert!(seen.iter().all(|s| s.request_line == "PUT /api/v1/new/thing HTTP/1.1"
        && s.header("x-api-key") == Some("atk_test")
        && s.header("x-extra") == Some("1")
        && s.header("content-type") == Some("application/json")));
}

/// Calls every client method against a server that records what it is asked, then checks the
/// requests against the spec's route table: each route has a call (so a new route without one
/// fails here), and no call goes outside the table.
#[maybe]
pub async fn every_spec_route_has_a_client_call(env: Env) {
    use agenttier::models::{
        BulkAction, CreateApiKey, CreateShareLink, CreateWebhook, GrantShare, HeadroomConfig, Invoke, Policy,
        PoolTarget, SandboxFilter, ShareLevel, UpdateSandbox, WebhookEvent,
    };

    let recorder = FakeServer::start(|_, _| Reply::json(200, "{}"));
    let c = env.client_for(recorder.url()).build().unwrap();
    let sb = c.sandbox("x");
    let local = tempfile::tempdir().unwrap();
    let zip = local.path().join("a.zip");

    let _ = c.health().await;
    let _ = c.metrics().await;
    let _ = c.list_sandboxes(SandboxFilter::default()).await;
    let _ = c.create_sandbox(CreateSandbox::new("general-coding", "x")).await;
    let _ = c.sandbox_info("x").await;
    let _ = sb.update(UpdateSandbox::new().label("a", "b")).await;
    let _ = sb.terminate().await;
    let _ = sb.stop().await;
    let _ = sb.resume().await;
    let _ = sb.clone_sandbox(None).await;
    let _ = c.bulk_create(&[CreateSandbox::new("general-coding", "y")]).await;
    let _ = c.bulk_action(BulkAction::Stop, &["x"]).await;
    let _ = sb.backups().list().await;
    let _ = sb.backups().create().await;
    let _ = sb.backups().restore("snap", None).await;
    let _ = sb.backups().delete("snap").await;
    let _ = sb.exec("true").await;
    let _ = sb.files().list("/workspace").await;
    let _ = sb.files().read("/workspace/a").await;
    let _ = sb.files().write("/workspace/a", b"x".to_vec()).await;
    let _ = sb.files().archive("/workspace", &zip).await;
    let _ = sb.list_ports().await;
    let _ = sb.forward_port(3000).await;
    let _ = sb.remove_port(3000).await;
    let _ = sb.preview(3000, "/").await;
    let _ = sb.sharing().get().await;
    let _ = sb.sharing().grant(GrantShare::user("a@b.c", ShareLevel::Viewer)).await;
    let _ = sb.sharing().revoke("a@b.c").await;
    let _ = sb.sharing().create_link(CreateShareLink::new(ShareLevel::Viewer)).await;
    let _ = sb.agent().configure(Configure::new().entrypoint(["true"])).await;
    let _ = sb.agent().install_log().await;
    let _ = sb.agent().invoke(Invoke::text("hi")).await;
    let _ = sb.agent().invoke_cancel("inv-1").await;
    let _ = c.list_templates().await;
    let _ = c.get_template("t").await;
    let _ = c.create_template(&TemplateDefinition::new("t", json!({}))).await;
    let _ = c.update_template(&TemplateDefinition::new("t", json!({}))).await;
    let _ = c.delete_template("t").await;
    let _ = c
        .webhooks()
        .create(CreateWebhook::new(
            "https://h.example/x",
            [WebhookEvent::SandboxRunning],
        ))
        .await;
    let _ = c.webhooks().list().await;
    let _ = c.webhooks().delete("w").await;
    let _ = c.webhooks().deliveries("w").await;
    let _ = c.governance().policies().await;
    let _ = c.governance().set_cluster_policy(&Policy::default()).await;
    let _ = c.governance().namespace_policy("ns").await;
    let _ = c.governance().set_namespace_policy("ns", &Policy::default()).await;
    let _ = c.governance().delete_namespace_policy("ns").await;
    let _ = c.governance().effective(None).await;
    let _ = c.audit().events().await;
    let _ = c.analytics().usage().await;
    let _ = c.analytics().costs().await;
    let _ = c.admin().sandboxes(SandboxFilter::default()).await;
    let _ = c.admin().sharing().await;
    let _ = c.current_user().await;
    let _ = c.preferences().get().await;
    let _ = c.preferences().put(&Default::default()).await;
    let _ = c.api_keys().list().await;
    let _ = c.api_keys().create(CreateApiKey::new("k")).await;
    let _ = c.api_keys().revoke("k").await;
    let _ = c.warm_pool().status().await;
    let _ = c.warm_pool().configure(&[PoolTarget::new("general-coding", 1)]).await;
    let _ = c.cluster().status().await;
    let _ = c.cluster().nodes().await;
    let _ = c.cluster().headroom().await;
    let _ = c.cluster().set_headroom(&HeadroomConfig::new(1)).await;

    let table = support::routes::spec_routes();
    let mut called = std::collections::BTreeSet::new();
    for seen in recorder.seen() {
        let route = support::routes::route_of(&table, &seen.request_line);
        let route = route.unwrap_or_else(|| panic!("a client call outside the spec's routes: {}", seen.request_line));
        called.insert(route.key());
    }
    let uncalled: Vec<_> = table
        .iter()
        .map(|r| r.key())
        .filter(|k| !called.contains(k) && !support::routes::NOT_CLIENT_CALLS.iter().any(|(n, _)| n == k))
        .collect();
    assert!(uncalled.is_empty(), "spec routes without a client call: {uncalled:#?}");
}
