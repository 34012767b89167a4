//! Client knobs: scoped cleanup, wait polling, retry policy settings, every create field.

use std::time::{Duration, Instant};

use agenttier::models::CreateSandbox;
use agenttier::{Error, RetryPolicy};

use super::super::{pause, scoped_exec};
use super::{Env, maybe};
use crate::support::fake::{FakeServer, Reply};

/// Polls until the sandbox is gone (an async guard terminates from a task).
#[maybe]
async fn gone(env: &Env, id: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Err(Error::NotFound { .. }) = env.client.sandbox_info(id).await {
            return true;
        }
        pause(Duration::from_millis(20)).await;
    }
    false
}

#[maybe]
pub async fn guards_terminate_at_the_end_of_a_scope(env: Env) {
    // Dropped: terminated.
    let name = env.name("guard");
    {
        let guard = env
            .client
            .create_sandbox(CreateSandbox::new("general-coding", &name))
            .await
            .unwrap()
            .into_guard();
        guard.wait_until_running(Duration::from_secs(30)).await.unwrap();
        let out = guard.exec("echo inside").await.unwrap();
        assert_eq!(out.stdout, "inside\n");
    }
    let dropped = gone(&env, &name).await;
    assert!(dropped, "a dropped guard terminates its sandbox");

    // Kept: not terminated. Terminated explicitly: gone at once.
    let kept_name = env.name("kept");
    let guard = env
        .client
        .create_sandbox(CreateSandbox::new("general-coding", &kept_name))
        .await
        .unwrap()
        .into_guard();
    let kept = guard.keep();
    pause(Duration::from_millis(100)).await;
    let info = kept.status().await.unwrap();
    assert_eq!(info.name, kept_name);
    kept.into_guard().terminate().await.unwrap();
    let after = env.client.sandbox_info(&kept_name).await.unwrap_err();
    assert!(matches!(after, Error::NotFound { .. }), "{after:?}");

    // with_sandbox: the closure's value, or its error; the sandbox is gone either way.
    let ok_name = env.name("scoped");
    let out = scoped_exec(
        &env.client,
        CreateSandbox::new("general-coding", &ok_name),
        "echo $((6*7))",
        false,
    )
    .await
    .unwrap();
    assert_eq!(out, "42\n");
    let ended = gone(&env, &ok_name).await;
    assert!(ended);
    let failing = env.name("scoped-fail");
    let err = scoped_exec(
        &env.client,
        CreateSandbox::new("general-coding", &failing),
        "true",
        true,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { message } if message.contains("the closure failed")),
        "{err:?}"
    );
    let ended = gone(&env, &failing).await;
    assert!(ended);
    // A create that fails never reaches the closure.
    let bad = scoped_exec(
        &env.client,
        CreateSandbox::new("no-such-template", env.name("x")),
        "true",
        false,
    )
    .await
    .unwrap_err();
    assert!(!matches!(bad, Error::InvalidInput { .. }), "{bad:?}");
}

#[maybe]
pub async fn wait_polls_at_the_interval_asked(env: Env) {
    let server = FakeServer::start(|n, _| {
        let phase = if n < 3 { "Creating" } else { "Running" };
        Reply::json(200, &format!(r#"{{"sandboxId":"w","name":"w","status":"{phase}"}}"#))
    });
    let client = env.client_for(server.url()).build().unwrap();
    let info = client
        .sandbox("w")
        .wait_until_running_every(Duration::from_secs(10), Duration::from_millis(1))
        .await
        .unwrap();
    assert_eq!(info.name, "w");
    assert_eq!(server.seen().len(), 4, "three Creating answers, then Running");

    // The default schedule starts fast: the local router's start shows up after a few polls.
    let sandbox = env
        .client
        .create_sandbox(CreateSandbox::new("general-coding", env.name("fast")))
        .await
        .unwrap();
    sandbox.wait_until_running(Duration::from_secs(30)).await.unwrap();
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn retry_policy_statuses_and_retry_after_are_settable(env: Env) {
    // 409 is not retried by default; asked for, it is.
    let conflicts = || {
        FakeServer::start(|n, _| {
            if n < 2 {
                Reply::with(
                    409,
                    "application/json",
                    r#"{"error":"busy"}"#,
                    &[("retry-after", "3600")],
                )
            } else {
                Reply::json(200, r#"{"sandboxes":[]}"#)
            }
        })
    };
    let server = conflicts();
    let client = env.client_for(server.url()).build().unwrap();
    let err = client.list_sandboxes(Default::default()).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    assert_eq!(server.seen().len(), 1);

    // Retried, but the hour-long Retry-After would end the retries when honoured...
    let server = conflicts();
    let fast = RetryPolicy::default()
        .initial_backoff(Duration::from_millis(5))
        .retry_statuses([409]);
    let client = env.client_for(server.url()).retry(fast.clone()).build().unwrap();
    let err = client.list_sandboxes(Default::default()).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    assert_eq!(server.seen().len(), 1, "a Retry-After beyond max_retry_after gives up");

    // ...and is ignored when not: the backoff applies and the third attempt succeeds.
    let server = conflicts();
    let client = env
        .client_for(server.url())
        .retry(fast.honor_retry_after(false))
        .build()
        .unwrap();
    let list = client.list_sandboxes(Default::default()).await.unwrap();
    assert!(list.is_empty());
    assert_eq!(server.seen().len(), 3);
}

#[maybe]
pub async fn create_sends_every_wire_field(env: Env) {
    let server =
        FakeServer::start(|_, _| Reply::json(201, r#"{"sandboxId":"full","name":"full","status":"Creating"}"#));
    let client = env.client_for(server.url()).build().unwrap();
    let params = CreateSandbox::new("general-coding", "full")
        .namespace("team-a")
        .timeout(Duration::from_secs(3600))
        .idle_timeout(Duration::from_secs(600))
        .storage_size("20Gi")
        .storage_class("gp3")
        .mount_path("/data")
        .snapshot_on_stop(true)
        .shared_storage(true);
    let sandbox = client.create_sandbox(params).await.unwrap();
    assert_eq!((sandbox.id(), sandbox.namespace()), ("full", "team-a"));
    client
        .create_sandbox(CreateSandbox::new("general-coding", "minimal"))
        .await
        .unwrap();
    let bodies: Vec<serde_json::Value> = server
        .seen()
        .iter()
        .map(|s| serde_json::from_slice(&s.body).unwrap())
        .collect();
    assert_eq!(
        bodies[0],
        serde_json::json!({"name": "full", "namespace": "team-a",
            "templateRef": {"name": "general-coding", "kind": "ClusterSandboxTemplate"},
            "timeout": "1h0m0s", "idleTimeout": "10m0s",
            "storage": {"size": "20Gi", "storageClass": "gp3", "mountPath": "/data", "snapshotOnStop": true, "shared": true}})
    );
    assert!(
        bodies[1].get("namespace").is_none(),
        "no namespace unless set: {}",
        bodies[1]
    );
}

/// Counts its calls and hands out `t1`, `t2`, ...; remembers which asked for a refresh.
struct CountingSource(std::sync::Arc<std::sync::Mutex<Vec<bool>>>);

impl agenttier::TokenSource for CountingSource {
    fn token(&self, refresh: bool) -> Result<agenttier::Secret, agenttier::BoxError> {
        let mut calls = self.0.lock().unwrap();
        calls.push(refresh);
        Ok(agenttier::Secret::new(format!("t{}", calls.len())))
    }
}

#[maybe]
pub async fn token_source_is_asked_per_request_and_refreshed_after_a_401(env: Env) {
    // The Router accepts only tokens from the second one on.
    let server = FakeServer::start(|_, seen| match seen.header("authorization") {
        Some("Bearer t1") => Reply::with(401, "text/plain; charset=utf-8", "{\"error\":\"invalid_token\"}\n", &[]),
        Some(_) => Reply::json(200, r#"{"templates":[]}"#),
        None => Reply::json(400, r#"{"error":"no token"}"#),
    });
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let client = env
        .client_for(server.url())
        .auth(agenttier::Auth::token_source(CountingSource(calls.clone())))
        .build()
        .unwrap();
    for _ in 0..2 {
        let templates = client.list_templates().await.unwrap();
        assert!(templates.is_empty());
    }
    let asked = calls.lock().unwrap().clone();
    assert_eq!(
        asked,
        [false, true, false],
        "before each request, and refreshing after the 401"
    );
    let tokens: Vec<_> = server
        .seen()
        .iter()
        .map(|s| s.header("authorization").unwrap_or_default().to_owned())
        .collect();
    assert_eq!(tokens, ["Bearer t1", "Bearer t2", "Bearer t3"]);

    // A token refused twice is an authentication error after one resend, not a loop.
    let never = FakeServer::start(|_, _| Reply::with(401, "text/plain", "{\"error\":\"invalid_token\"}\n", &[]));
    let client = env
        .client_for(never.url())
        .auth(agenttier::Auth::token_source(CountingSource(Default::default())))
        .build()
        .unwrap();
    let err = client.list_templates().await.unwrap_err();
    assert!(matches!(err, Error::Authentication { .. }), "{err:?}");
    assert_eq!(never.seen().len(), 2);
}

#[maybe]
pub async fn requests_are_traced_as_spans(env: Env) {
    crate::support::spans::capture();
    let name = env.name("traced");
    let missing = env.client.sandbox_info(&name).await.unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }));
    let flaky = FakeServer::start(move |n, _| {
        if n == 0 {
            Reply::json(503, r#"{"error":"busy"}"#)
        } else {
            Reply::with(
                200,
                "application/json",
                r#"{"templates":[]}"#,
                &[("x-request-id", "req-42")],
            )
        }
    });
    let client = env.client_for(flaky.url()).build().unwrap();
    let path = format!("/templates/{name}");
    let _ = client
        .request(agenttier::Method::GET, &format!("/api/v1{path}"))
        .send()
        .await
        .unwrap();

    let spans = crate::support::spans::closed_with_path(&name);
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let router = &spans[0];
    assert_eq!(router["http.request.method"], "GET");
    assert_eq!(router["http.route"], "/api/v1/sandboxes/{id}");
    assert_eq!(router["http.response.status_code"], "404");
    assert_eq!(router["attempts"], "1");
    assert_eq!(router["request_id"].len(), 16, "the router's request id: {router:?}");
    let retried = &spans[1];
    assert_eq!(retried["http.route"], "/api/v1/templates/{name}");
    assert_eq!(
        (
            retried["attempts"].as_str(),
            retried["request_id"].as_str(),
            retried["http.response.status_code"].as_str()
        ),
        ("2", "req-42", "200")
    );
}
