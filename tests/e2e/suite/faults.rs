//! Misbehaving servers: retries, timeouts, garbage, cut connections, huge bodies.

use std::time::{Duration, Instant};

use agenttier::models::{Configure, CreateSandbox, Invoke, InvokeEvent, LogStream, SandboxFilter};
use agenttier::{Error, RetryPolicy, TimeoutKind};

use super::{Env, maybe, pause};
use crate::support::fake::{FakeServer, Reply};

const SANDBOX: &str = r#"{"sandboxId":"s1","name":"s1","namespace":"default","status":"Running","createdAt":"2026-07-22 16:29:45 +0000 UTC"}"#;

#[maybe]
pub async fn retries_idempotent_calls_until_success(env: Env) {
    let server = FakeServer::start(|n, _| {
        if n < 2 {
            Reply::json(503, r#"{"error":"busy"}"#)
        } else {
            Reply::json(200, SANDBOX)
        }
    });
    let client = env.client_for(server.url()).build().unwrap();
    let sandbox = client.get_sandbox("s1").await.unwrap();
    assert_eq!(sandbox.id(), "s1");
    assert_eq!(server.seen().len(), 3);
}

#[maybe]
pub async fn retry_storm_reports_attempts(env: Env) {
    let server =
        FakeServer::start(|_, _| Reply::with(503, "text/plain", "overloaded", &[("x-request-id", "abcdef0123456789")]));
    let client = env.client_for(server.url()).build().unwrap();
    let err = client.list_sandboxes(SandboxFilter::all()).await.unwrap_err();
    let api = err.api().expect("an API error");
    assert_eq!((api.status, api.attempts, api.message.as_str()), (503, 4, "overloaded"));
    assert!(err.is_retryable());
    assert!(err.to_string().contains("after 4 attempts"), "{err}");
    assert_eq!(server.seen().len(), 4);

    let off = env
        .client_for(server.url())
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    let err = off.list_sandboxes(SandboxFilter::all()).await.unwrap_err();
    assert_eq!(err.api().unwrap().attempts, 1);
}

#[maybe]
pub async fn post_is_not_retried(env: Env) {
    let server = FakeServer::start(|_, _| Reply::json(503, r#"{"error":"busy"}"#));
    let client = env.client_for(server.url()).build().unwrap();
    let err = client.create_sandbox(CreateSandbox::new("t", "n")).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(server.seen().len(), 1, "a create must not be replayed");
    let opted_in = env
        .client_for(server.url())
        .retry(
            RetryPolicy::default()
                .retry_post(true)
                .initial_backoff(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let _ = opted_in.create_sandbox(CreateSandbox::new("t", "n")).await.unwrap_err();
    assert_eq!(server.seen().len(), 5);
}

#[maybe]
pub async fn retry_after_is_honoured(env: Env) {
    let server = FakeServer::start(|n, _| {
        if n == 0 {
            Reply::with(
                429,
                "application/json",
                r#"{"error":"rate_limited","retryAfter":1,"message":"too many requests; retry after 1 seconds"}"#,
                &[("retry-after", "1")],
            )
        } else {
            Reply::json(200, r#"{"templates":null}"#)
        }
    });
    let client = env.client_for(server.url()).build().unwrap();
    let started = Instant::now();
    let templates = client.list_templates().await.unwrap();
    assert!(templates.is_empty());
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "waited {:?}",
        started.elapsed()
    );

    let too_long = FakeServer::start(|_, _| {
        Reply::with(
            429,
            "application/json",
            r#"{"error":"rate_limited","message":"later"}"#,
            &[("retry-after", "3600")],
        )
    });
    let client = env.client_for(too_long.url()).build().unwrap();
    let err = client.list_templates().await.unwrap_err();
    let api = err.api().unwrap();
    assert_eq!(
        (api.code.as_deref(), api.retry_after),
        (Some("rate_limited"), Some(Duration::from_secs(3600)))
    );
    assert_eq!(
        too_long.seen().len(),
        1,
        "a Retry-After beyond the cap ends the retries at once"
    );
}

#[maybe]
pub async fn stalled_server_is_a_request_timeout(env: Env) {
    let server = FakeServer::start(|_, _| Reply::Stall(Duration::from_secs(5)));
    let client = env
        .client_for(server.url())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.current_user().await.unwrap_err();
    match &err {
        Error::Timeout { kind, after, path, .. } => {
            assert_eq!(*kind, TimeoutKind::Request);
            assert_eq!(*after, Duration::from_millis(300));
            assert_eq!(path, "/user/me");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3), "timeouts are not retried");
    assert!(err.to_string().contains("request timeout"), "{err}");
}

#[maybe]
pub async fn garbage_json_is_a_decode_error_with_snippet(env: Env) {
    let server = FakeServer::start(|n, _| match n {
        0 => Reply::with(200, "application/json", r#"{"sandboxId":"s1","status":"#, &[]),
        _ => Reply::with(200, "text/html", "<html>proxy error page</html>", &[]),
    });
    let client = env.client_for(server.url()).build().unwrap();
    let truncated = client.sandbox("s1").status().await.unwrap_err();
    assert!(
        matches!(&truncated, Error::Decode { snippet, .. } if snippet.contains("sandboxId")),
        "{truncated:?}"
    );
    let html = client.sandbox("s1").status().await.unwrap_err();
    assert!(
        matches!(&html, Error::Decode { snippet, .. } if snippet.contains("proxy error page")),
        "{html:?}"
    );
}

#[maybe]
pub async fn text_error_bodies_keep_their_class(env: Env) {
    let server = FakeServer::start(|n, _| match n {
        0 => Reply::with(
            401,
            "text/plain; charset=utf-8",
            "{\"error\":\"invalid_api_key\"}\n",
            &[],
        ),
        1 => Reply::with(
            403,
            "text/plain; charset=utf-8",
            "{\"error\":\"admin_required\"}\n",
            &[],
        ),
        2 => Reply::with(404, "text/plain; charset=utf-8", "404 page not found\n", &[]),
        3 => Reply::with(
            401,
            "text/plain",
            r#"{"error":"invalid_token","message":"bad "alg" header"}"#,
            &[],
        ),
        _ => Reply::json(
            403,
            r#"{"error":"policy_violation","violations":[{"code":"user_quota_exceeded","message":"user has 2 sandboxes (max 2)"}]}"#,
        ),
    });
    let client = env.client_for(server.url()).build().unwrap();
    let e = client.current_user().await.unwrap_err();
    assert!(
        matches!(&e, Error::Authentication { api } if api.message == "invalid_api_key"),
        "{e:?}"
    );
    let e = client.current_user().await.unwrap_err();
    assert!(
        matches!(&e, Error::Authorization { api } if api.message == "admin_required"),
        "{e:?}"
    );
    let e = client.current_user().await.unwrap_err();
    assert!(
        matches!(&e, Error::NotFound { api } if api.message == "404 page not found"),
        "{e:?}"
    );
    let e = client.current_user().await.unwrap_err();
    assert!(
        matches!(&e, Error::Authentication { api } if api.message == "invalid_token"),
        "{e:?}"
    );
    let e = client.create_sandbox(CreateSandbox::new("t", "n")).await.unwrap_err();
    match e {
        Error::PolicyViolation { violations, .. } => assert_eq!(violations[0].code, "user_quota_exceeded"),
        other => panic!("{other:?}"),
    }
}

#[maybe]
pub async fn refused_connection_is_a_transport_error(env: Env) {
    // Bind then drop a listener so that the port is (almost certainly) closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = env.client_for(&format!("http://127.0.0.1:{port}")).build().unwrap();
    let err = client.list_templates().await.unwrap_err();
    match &err {
        Error::Transport { attempts, path, .. } => {
            assert_eq!(*attempts, 4, "connection failures are retried");
            assert_eq!(path, "/templates");
        }
        other => panic!("expected a transport error, got {other:?}"),
    }
    assert!(err.is_retryable());
}

#[maybe]
pub async fn oversized_body_is_refused(env: Env) {
    let server = FakeServer::start(|_, _| Reply::Endless { chunk: 64 * 1024 });
    let client = env
        .client_for(server.url())
        .max_response_bytes(1024 * 1024)
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    let err = client.list_templates().await.unwrap_err();
    assert!(
        matches!(&err, Error::Transport { message, .. } if message.contains("limit")),
        "{err:?}"
    );
}

#[maybe]
pub async fn cut_connection_is_a_transport_error(env: Env) {
    let server = FakeServer::start(|n, _| match n {
        0 => Reply::Close,
        _ => Reply::Raw(b"HTTP/1.1 200 OK\r\ncontent-length: 500\r\n\r\n{\"templates\":[".to_vec()),
    });
    let client = env
        .client_for(server.url())
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    let closed = client.list_templates().await.unwrap_err();
    assert!(matches!(closed, Error::Transport { .. }), "{closed:?}");
    let truncated = client.list_templates().await.unwrap_err();
    assert!(matches!(truncated, Error::Transport { .. }), "{truncated:?}");
}

#[maybe]
pub async fn error_phase_ends_the_wait(env: Env) {
    let server = FakeServer::start(|_, _| {
        Reply::json(
            200,
            r#"{"sandboxId":"s1","name":"s1","namespace":"default","status":"Error","message":"image pull failed"}"#,
        )
    });
    let client = env.client_for(server.url()).build().unwrap();
    let err = client
        .sandbox("s1")
        .wait_until_running(Duration::from_secs(30))
        .await
        .unwrap_err();
    match err {
        Error::SandboxErrorState { sandbox_id, message } => {
            assert_eq!((sandbox_id.as_str(), message.as_str()), ("s1", "image pull failed"));
        }
        other => panic!("{other:?}"),
    }
}

#[maybe]
pub async fn requests_carry_credentials_and_agent(env: Env) {
    let server = FakeServer::start(|_, _| Reply::json(200, r#"{"stdout":"hi\n","stderr":"","exitCode":0}"#));
    let client = env.client_for(server.url()).user_agent("e2e-agent/1").build().unwrap();
    assert!(!format!("{client:?}").contains("atk_test"), "Debug never shows the key");
    let out = client
        .sandbox("s 1")
        .exec(agenttier::models::Exec::new("echo hi").timeout(Duration::from_secs(5)))
        .await
        .unwrap();
    assert_eq!(out.stdout, "hi\n");
    let seen = &server.seen()[0];
    assert_eq!(seen.request_line, "POST /api/v1/sandboxes/s%201/exec HTTP/1.1");
    assert_eq!(seen.header("x-api-key"), Some("atk_test"));
    assert_eq!(seen.header("user-agent"), Some("e2e-agent/1"));
    assert_eq!(seen.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(body, serde_json::json!({"command":"echo hi","timeout":5}));
}

/// Body-less POSTs announce an empty body (`Content-Length: 0`) rather than an empty chunked one,
/// whose end a server answering early may not wait for before closing the connection.
#[maybe]
pub async fn bodiless_posts_announce_an_empty_body(env: Env) {
    let server = FakeServer::start(|_, _| Reply::json(200, r#"{"status":"stopping"}"#));
    let client = env.client_for(server.url()).build().unwrap();
    client.sandbox("s1").stop().await.unwrap();
    client.sandbox("s1").resume().await.unwrap();
    for seen in server.seen() {
        assert_eq!(seen.header("content-length"), Some("0"), "{}", seen.request_line);
        assert_eq!(seen.header("transfer-encoding"), None, "{}", seen.request_line);
    }
    assert_eq!(server.seen().len(), 2);
}

fn sse(events: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Reply::sse_head();
    for (event, data) in events {
        out.extend_from_slice(format!("event: {event}\ndata: {data}\n\n").as_bytes());
    }
    out
}

const START: (&str, &str) = (
    "start",
    r#"{"invokeId":"inv-000000000000000000000001","startedAt":1753201785123}"#,
);

#[maybe]
pub async fn stream_cut_mid_event_is_a_stream_error(env: Env) {
    let server = FakeServer::start(|_, _| {
        let mut bytes = sse(&[START, ("log", r#"{"stream":"stdout","data":"one"}"#)]);
        bytes.extend_from_slice(b"event: log\ndata: {\"stream\":\"std");
        Reply::Partial(bytes, Duration::ZERO)
    });
    let client = env.client_for(server.url()).build().unwrap();
    let agent = client.sandbox("s1").agent();
    let mut stream = agent.invoke_stream(Invoke::text("hi")).await.unwrap();
    let first = stream.next_event().await.unwrap().unwrap();
    assert!(matches!(first, InvokeEvent::Start { .. }), "{first:?}");
    assert_eq!(stream.invoke_id(), Some("inv-000000000000000000000001"));
    let second = stream.next_event().await.unwrap().unwrap();
    assert_eq!(
        second,
        InvokeEvent::Log {
            stream: LogStream::Stdout,
            line: "one".into()
        }
    );
    let cut = stream.next_event().await.unwrap().unwrap_err();
    assert!(matches!(cut, Error::Stream { .. }), "{cut:?}");
    let after = stream.next_event().await;
    assert!(after.is_none(), "a broken stream ends");
    let collected = agent.invoke(Invoke::text("hi")).await.unwrap_err();
    assert!(matches!(collected, Error::Stream { .. }), "{collected:?}");
}

#[maybe]
pub async fn silent_stream_hits_the_idle_timeout(env: Env) {
    let server = FakeServer::start(|_, _| Reply::Partial(sse(&[START]), Duration::from_secs(5)));
    let client = env
        .client_for(server.url())
        .stream_idle_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let mut stream = client
        .sandbox("s1")
        .agent()
        .invoke_stream(Invoke::empty())
        .await
        .unwrap();
    let first = stream.next_event().await.unwrap();
    assert!(first.is_ok());
    let started = Instant::now();
    let err = stream.next_event().await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            Error::Timeout {
                kind: TimeoutKind::Idle,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
}

#[maybe]
pub async fn stream_error_statuses_keep_their_class(env: Env) {
    let server = FakeServer::start(|n, _| match n {
        0 => Reply::json(
            424,
            r#"{"error":"sandbox s1 has no entrypoint — call POST /configure first to set one"}"#,
        ),
        _ => Reply::with(
            429,
            "application/json",
            r#"{"error":"concurrency_exceeded","limit":1,"inflight":1,"message":"too many concurrent invokes"}"#,
            &[("retry-after", "5")],
        ),
    });
    let client = env.client_for(server.url()).build().unwrap();
    let agent = client.sandbox("s1").agent();
    let missing = agent.invoke(Invoke::empty()).await.unwrap_err();
    assert_eq!(missing.status(), Some(424));
    assert!(missing.to_string().contains("no entrypoint"), "{missing}");
    let busy = agent.invoke_stream(Invoke::empty()).await.unwrap_err();
    let api = busy.api().unwrap();
    assert_eq!(
        (api.status, api.code.as_deref(), api.retry_after),
        (429, Some("concurrency_exceeded"), Some(Duration::from_secs(5)))
    );
    assert_eq!(server.seen().len(), 2, "streams are never retried");
}

#[maybe]
pub async fn dropping_a_stream_closes_the_connection(env: Env) {
    let server = FakeServer::start(|_, _| Reply::Drip {
        head: sse(&[START]),
        chunk: b"event: log\ndata: {\"stream\":\"stdout\",\"data\":\"tick\"}\n\n".to_vec(),
        every: Duration::from_millis(20),
    });
    let client = env.client_for(server.url()).build().unwrap();
    let mut stream = client
        .sandbox("s1")
        .agent()
        .invoke_stream(Invoke::empty())
        .await
        .unwrap();
    for _ in 0..3 {
        stream.next_event().await.unwrap().unwrap();
    }
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.hangups() == 0 && Instant::now() < deadline {
        pause(Duration::from_millis(20)).await;
    }
    assert_eq!(server.hangups(), 1, "the server saw the client go away");
}

#[maybe]
pub async fn configure_error_event_is_a_stream_error(env: Env) {
    let server = FakeServer::start(|n, seen| {
        assert_eq!(seen.header("accept"), Some("text/event-stream"));
        match n {
            0 => Reply::Partial(
                sse(&[
                    (
                        "log",
                        r#"{"stream":"stdout","data":"[configure] uploading /workspace/a.sh"}"#,
                    ),
                    (
                        "error",
                        r#"{"phase":"install","message":"install timed out after 15m0s"}"#,
                    ),
                ]),
                Duration::ZERO,
            ),
            _ => Reply::Partial(sse(&[("log", r#"{"stream":"stdout","data":"x"}"#)]), Duration::ZERO),
        }
    });
    let client = env.client_for(server.url()).build().unwrap();
    let agent = client.sandbox("s1").agent();
    let mut lines = Vec::new();
    let configure = Configure::new()
        .file_text("/workspace/a.sh", "echo hi")
        .entrypoint(["sh", "/workspace/a.sh"]);
    let err = agent
        .configure_with_log(configure.clone(), |_, line| lines.push(line.to_owned()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Stream { message } if message.contains("install timed out")),
        "{err:?}"
    );
    assert_eq!(lines, ["[configure] uploading /workspace/a.sh"]);
    let no_result = agent.configure(configure).await.unwrap_err();
    assert!(
        matches!(&no_result, Error::Stream { message } if message.contains("without a result")),
        "{no_result:?}"
    );
    let body: serde_json::Value = serde_json::from_slice(&server.seen()[0].body).unwrap();
    assert_eq!(body["entrypoint"], serde_json::json!(["sh", "/workspace/a.sh"]));
}
