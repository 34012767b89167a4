//! Fault injection beyond `faults`: TCP resets (RST, not FIN) mid-response and mid-event,
//! 503/429 storms with `Retry-After` under a real policy, truncated JSON on every list
//! endpoint, and an endless SSE line that must end in a bounded-memory error.

use std::time::{Duration, Instant};

use agenttier::models::{Invoke, InvokeEvent, SandboxFilter};
use agenttier::{Error, RetryPolicy};

use super::{Env, maybe, pause};
use crate::support::fake::{FakeServer, Reply};

const START: &str =
    "event: start\ndata: {\"invokeId\":\"inv-000000000000000000000001\",\"startedAt\":1753201785123}\n\n";

fn sse_then(tail: &[u8]) -> Vec<u8> {
    let mut out = Reply::sse_head();
    out.extend_from_slice(START.as_bytes());
    out.extend_from_slice(tail);
    out
}

#[maybe]
pub async fn reset_mid_event_is_a_typed_error_not_a_hang(env: Env) {
    let server = FakeServer::start(|_, _| Reply::Reset(sse_then(b"event: log\ndata: {\"stream\":\"stdout\",\"da")));
    let client = env
        .client_for(server.url())
        .stream_idle_timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let started = Instant::now();
    let mut stream = client
        .sandbox("s1")
        .agent()
        .invoke_stream(Invoke::empty())
        .await
        .unwrap();
    let first = stream.next_event().await.unwrap().unwrap();
    assert!(matches!(first, InvokeEvent::Start { .. }), "{first:?}");
    let err = stream.next_event().await.unwrap().unwrap_err();
    assert!(
        matches!(err, Error::Stream { .. } | Error::Transport { .. }),
        "a reset mid-event is a stream or transport error: {err:?}"
    );
    let after = stream.next_event().await;
    assert!(after.is_none(), "a reset stream ends");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the reset is noticed at once, not at the idle timeout: {:?}",
        started.elapsed()
    );
    // The collecting form fails the same way.
    let collected = client.sandbox("s1").agent().invoke(Invoke::empty()).await.unwrap_err();
    assert!(
        matches!(collected, Error::Stream { .. } | Error::Transport { .. }),
        "{collected:?}"
    );
}

#[maybe]
pub async fn reset_mid_response_is_a_transport_error(env: Env) {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4000\r\n\r\n";
    let server =
        FakeServer::start(move |_, _| Reply::Reset(format!("{head}{{\"sandboxes\":[{{\"sandboxId\":\"s").into_bytes()));
    let client = env
        .client_for(server.url())
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.list_sandboxes(SandboxFilter::all()).await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert!(err.is_retryable(), "a reset is a connection failure: {err:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    // Reset before any byte: retried by the policy, then reported.
    let early = FakeServer::start(|_, _| Reply::Reset(Vec::new()));
    let client = env
        .client_for(early.url())
        .retry(
            RetryPolicy::default()
                .max_retries(2)
                .initial_backoff(Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    let err = client.current_user().await.unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(early.seen().len(), 3, "a reset GET is retried within the policy");
}

#[maybe]
pub async fn storms_with_retry_after_are_retried_within_the_policy(env: Env) {
    // Alternate 429 and 503, each asking for one second.
    let server = FakeServer::start(|n, _| {
        let (status, body) = if n % 2 == 0 {
            (
                429,
                r#"{"error":"rate_limited","retryAfter":1,"message":"too many requests; retry after 1 seconds"}"#,
            )
        } else {
            (503, r#"{"error":"overloaded"}"#)
        };
        Reply::with(status, "application/json", body, &[("retry-after", "1")])
    });
    let policy = RetryPolicy::default()
        .max_retries(2)
        .initial_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(20))
        .max_retry_after(Duration::from_secs(5));
    let client = env.client_for(server.url()).retry(policy).build().unwrap();
    let started = Instant::now();
    let err = client.list_templates().await.unwrap_err();
    let elapsed = started.elapsed();
    let api = err.api().expect("an API error");
    assert_eq!((api.status, api.attempts), (429, 3), "{err:?}");
    assert_eq!(api.code.as_deref(), Some("rate_limited"));
    assert_eq!(api.retry_after, Some(Duration::from_secs(1)));
    assert!(err.to_string().contains("after 3 attempts"), "{err}");
    assert_eq!(server.seen().len(), 3, "1 try + max_retries");
    assert!(
        elapsed >= Duration::from_millis(1900),
        "Retry-After (not the 5 ms backoff) set the pace: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(8), "{elapsed:?}");

    // A storm that clears within the policy succeeds, and the caller never sees it.
    let clears = FakeServer::start(|n, _| match n {
        0 | 1 => Reply::with(503, "text/plain", "busy", &[("retry-after", "0")]),
        _ => Reply::json(200, r#"{"templates":[{"name":"t"}]}"#),
    });
    let client = env
        .client_for(clears.url())
        .retry(
            RetryPolicy::default()
                .max_retries(2)
                .initial_backoff(Duration::from_millis(5)),
        )
        .build()
        .unwrap();
    let templates = client.list_templates().await.unwrap();
    assert_eq!(templates.len(), 1);
    assert_eq!(clears.seen().len(), 3);
}

#[maybe]
pub async fn truncated_json_on_list_endpoints_is_a_decode_error(env: Env) {
    let cases: [&'static str; 4] = [
        r#"{"sandboxes":[{"sandboxId":"s1","status":"Runn"#,
        r#"{"templates":[{"name":"general-co"#,
        r#"{"ports":[{"port":80"#,
        r#"{"path":"/workspace","entries":[{"name":"a.t"#,
    ];
    let server = FakeServer::start(move |n, _| Reply::json(200, cases[n % cases.len()]));
    let client = env.client_for(server.url()).build().unwrap();
    let sandbox = client.sandbox("s1");
    let errors = [
        client
            .list_sandboxes(SandboxFilter::all())
            .await
            .map(|_| ())
            .unwrap_err(),
        client.list_templates().await.map(|_| ()).unwrap_err(),
        sandbox.list_ports().await.map(|_| ()).unwrap_err(),
        sandbox.files().list("/workspace").await.map(|_| ()).unwrap_err(),
    ];
    for (err, body) in errors.iter().zip(cases) {
        match err {
            Error::Decode { snippet, .. } => assert_eq!(snippet, body, "the snippet is the body"),
            other => panic!("truncated {body:?} gave {other:?}"),
        }
        assert!(!err.is_retryable(), "a decode error is not retried");
    }
    assert_eq!(server.seen().len(), 4, "no decode error was retried");

    // Valid JSON of the wrong shape is a decode error too, naming what was expected.
    let shapes = FakeServer::start(|n, _| match n {
        0 => Reply::json(200, r#"["not","an","object"]"#),
        _ => Reply::json(200, r#"{"sandboxes":{"sandboxId":"s1"}}"#),
    });
    let client = env.client_for(shapes.url()).build().unwrap();
    for _ in 0..2 {
        let err = client.list_sandboxes(SandboxFilter::all()).await.unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    }
}

#[maybe]
pub async fn endless_sse_line_is_a_bounded_error(env: Env) {
    let server = FakeServer::start(|_, _| Reply::Drip {
        head: sse_then(b"data: "),
        chunk: vec![b'x'; 256 * 1024],
        every: Duration::ZERO,
    });
    let client = env.client_for(server.url()).build().unwrap();
    let started = Instant::now();
    let mut stream = client
        .sandbox("s1")
        .agent()
        .invoke_stream(Invoke::empty())
        .await
        .unwrap();
    stream.next_event().await.unwrap().unwrap();
    let err = stream.next_event().await.unwrap().unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(err, Error::Stream { .. }) && text.contains("16777216"),
        "the parser's 16 MiB cap ends the stream with a clear error: {err:?}"
    );
    let after = stream.next_event().await;
    assert!(after.is_none(), "the stream ends after the error");
    drop(stream);
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.hangups() == 0 && Instant::now() < deadline {
        pause(Duration::from_millis(20)).await;
    }
    assert_eq!(server.hangups(), 1, "the client closed the endless connection");
    assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());
}

#[maybe]
pub async fn credentials_never_appear_in_debug_or_errors(env: Env) {
    const KEY: &str = "atk_s3cr3tKeyThatMustNeverLeak0123456789";
    const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.s3cr3tT0kenThatMustNeverLeak";
    // A 401, a cut connection and a refused one: nothing the SDK renders carries the secret.
    let server = FakeServer::start(|n, _| match n {
        0 => Reply::with(401, "text/plain", r#"{"error":"invalid_api_key"}"#, &[]),
        _ => Reply::Close,
    });
    let client = env.client_for(server.url()).api_key(KEY).unwrap().build().unwrap();
    let bearer = env
        .client_for(server.url())
        .bearer_token(TOKEN)
        .unwrap()
        .build()
        .unwrap();
    // Every public type that can hold one: the client, its builder and configuration (with a
    // proxy and a base URL carrying `user:password`), the auth, the Kubernetes configurations.
    let builder = env
        .client_for("http://admin:s3cr3tBasePass@127.0.0.1:9")
        .api_key(KEY)
        .unwrap()
        .proxy("http://alice:s3cr3tProxyPass@127.0.0.1:3128");
    let proxied = builder.clone().build().unwrap();
    let mut cluster = agenttier::kruise::ClusterConfig::new("https://kube:s3cr3tKubePass@127.0.0.1:6443");
    cluster.proxy_url = Some("http://bob:s3cr3tKubeProxy@127.0.0.1:3128".into());
    cluster.auth = agenttier::kruise::KubeAuth::Token(agenttier::Secret::new("s3cr3tKubeToken"));
    let kubeconfig = agenttier::kruise::Kubeconfig::from_yaml(
        "clusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:6443\n    proxy-url: http://carol:s3cr3tCfgProxy@127.0.0.1:3128\n\
         users:\n- name: u\n  user:\n    token: s3cr3tCfgToken\n    password: s3cr3tCfgPass\n",
        None,
    )
    .unwrap();
    let debug = [
        format!("{client:?}"),
        format!("{:?}", client.config()),
        format!("{bearer:?}"),
        format!("{:?}", bearer.config()),
        format!("{:?}", agenttier::Auth::api_key(KEY).unwrap()),
        format!("{:?}", agenttier::Auth::bearer_token(TOKEN).unwrap()),
        format!("{builder:?}"),
        format!("{proxied:?}"),
        format!("{:?}", proxied.config()),
        format!("{cluster:?}"),
        format!("{kubeconfig:?}"),
    ];
    for text in &debug {
        assert!(!text.contains("s3cr3t"), "Debug shows a credential: {text}");
    }
    let unauthorized = client.current_user().await.unwrap_err();
    let closed = client
        .sandbox("s1")
        .exec(agenttier::models::Exec::new("true"))
        .await
        .unwrap_err();
    let refused = env
        .client_for("http://127.0.0.1:9")
        .api_key(KEY)
        .unwrap()
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap()
        .current_user()
        .await
        .unwrap_err();
    let through_proxy = proxied.current_user().await.unwrap_err();
    for err in [&unauthorized, &closed, &refused, &through_proxy] {
        let text = format!("{err} {err:?}");
        assert!(!text.contains("s3cr3t"), "an error carries the credential: {text}");
    }
    assert!(matches!(unauthorized, Error::Authentication { .. }), "{unauthorized:?}");
}
