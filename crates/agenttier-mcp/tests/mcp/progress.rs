//! Long tools: progress notifications while they run, and MCP cancellation that really stops
//! the work. Over both transports.

use std::time::{Duration, Instant};

use agenttier::models::{ExitReason, Invoke, InvokeEvent};
use rmcp::model::{CallToolRequestParams, ClientRequest, ProgressToken, Request};
use rmcp::service::PeerRequestOptions;
use serde_json::{Value, json};

use crate::fixture::{Connection, Fixture, Via, json_of};

#[tokio::test(flavor = "multi_thread")]
async fn progress_and_cancel_over_stdio() {
    progress_and_cancel(Via::Stdio).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn progress_and_cancel_over_http() {
    progress_and_cancel(Via::Http).await;
}

/// Sends a tool call that reports progress; returns the handle.
async fn start(c: &Connection, name: &str, args: Value) -> rmcp::service::RequestHandle<rmcp::RoleClient> {
    let Value::Object(args) = args else { unreachable!() };
    let request = ClientRequest::CallToolRequest(Request::new(
        CallToolRequestParams::new(name.to_owned()).with_arguments(args),
    ));
    c.client
        .send_cancellable_request(request, PeerRequestOptions::no_options())
        .await
        .expect("request sent")
}

/// The progress messages of `token`, in the order the server sent them: by their progress value,
/// which MCP makes increase. (rmcp's client runs each notification's handler in a task of its
/// own, so the recorder may see them out of order, and after the response: wait for what is
/// expected with [`until`] before asserting on it.)
fn messages(c: &Connection, token: &ProgressToken) -> Vec<String> {
    let mut progress: Vec<_> = c
        .progress()
        .into_iter()
        .filter(|p| &p.progress_token == token)
        .collect();
    progress.sort_by(|a, b| a.progress.total_cmp(&b.progress));
    progress.into_iter().map(|p| p.message.unwrap_or_default()).collect()
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn progress_and_cancel(via: Via) {
    let fx = Fixture::start();
    let c = Connection::open(fx.admin_server(), via).await;
    c.ok("sandbox_create", json!({"template": "general-coding", "name": "long"}))
        .await;

    // sandbox_wait reports the phases it sees.
    let wait = start(&c, "sandbox_wait", json!({"sandbox_id": "long", "timeout": 60})).await;
    let token = wait.progress_token.clone();
    let response = wait.await_response().await.unwrap();
    assert!(format!("{response:?}").contains("Running"), "{response:?}");
    until("a phase reported", || {
        messages(&c, &token).iter().any(|m| m.starts_with("phase "))
    })
    .await;

    // A command that runs for a while reports progress, with increasing values.
    let run = start(
        &c,
        "sandbox_run_command",
        json!({"sandbox_id": "long", "command": "sleep 2.5; echo ok", "timeout": 20}),
    )
    .await;
    let token = run.progress_token.clone();
    let response = run.await_response().await.unwrap();
    assert!(format!("{response:?}").contains("ok\\n"), "{response:?}");
    until("two heartbeats", || messages(&c, &token).len() >= 2).await;
    let mut beats: Vec<f64> = c
        .progress()
        .iter()
        .filter(|p| p.progress_token == token)
        .map(|p| p.progress)
        .collect();
    assert!(beats.len() >= 2, "heartbeats while the command ran: {beats:?}");
    // Handlers may record them out of order (see `messages`); no value is ever sent twice.
    beats.sort_by(f64::total_cmp);
    assert!(beats.windows(2).all(|w| w[0] < w[1]), "progress increases: {beats:?}");
    assert!(
        c.progress()
            .iter()
            .any(|p| p.progress_token == token && p.total == Some(20.0))
    );

    // Cancelling a long command kills it: its side effect never happens.
    let run = start(
        &c,
        "sandbox_run_command",
        json!({"sandbox_id": "long", "command": "sleep 3 && echo late > /workspace/marker", "timeout": 60}),
    )
    .await;
    let token = run.progress_token.clone();
    until("a heartbeat of the long command", || !messages(&c, &token).is_empty()).await;
    let cancelled_at = Instant::now();
    run.cancel(Some("the test changed its mind".into())).await.unwrap();
    // The server is free at once for the next call.
    c.ok("sandbox_status", json!({"sandbox_id": "long"})).await;
    tokio::time::sleep(Duration::from_secs(4).saturating_sub(cancelled_at.elapsed())).await;
    c.err(
        "file_read",
        json!({"sandbox_id": "long", "path": "/workspace/marker"}),
        "not_found",
    )
    .await;
    let ps = c
        .ok(
            "sandbox_run_command",
            json!({"sandbox_id": "long", "command": "ps -eo args | grep -c '^sleep 3' || true"}),
        )
        .await;
    assert_eq!(ps["stdout"], "0\n", "the cancelled command is gone: {ps}");

    // Agent invocations stream every output line as progress.
    c.ok(
        "sandbox_create",
        json!({"template": "agent-python", "name": "streamer"}),
    )
    .await;
    c.ok("sandbox_wait", json!({"sandbox_id": "streamer"})).await;
    let script = "#!/bin/sh\nfor i in 1 2 3; do echo step $i; done\necho warn >&2\n";
    let configure = start(
        &c,
        "agent_configure",
        json!({"sandbox_id": "streamer", "files": [{"path": "/workspace/a.sh", "content": script}],
               "install_command": ["sh", "-c", "chmod +x /workspace/a.sh && echo installed"],
               "entrypoint": ["/workspace/a.sh"]}),
    )
    .await;
    let token = configure.progress_token.clone();
    configure.await_response().await.unwrap();
    until("the install's output", || {
        messages(&c, &token).iter().any(|m| m.contains("installed"))
    })
    .await;
    let invoke = start(&c, "agent_invoke", json!({"sandbox_id": "streamer"})).await;
    let token = invoke.progress_token.clone();
    let response = invoke.await_response().await.unwrap();
    // The start line, three stdout lines and one stderr line.
    until("every line of the invocation", || messages(&c, &token).len() >= 5).await;
    let lines = messages(&c, &token);
    assert!(
        lines[0].starts_with("started inv-"),
        "the first line names the invocation: {lines:?}"
    );
    // Each stream keeps its order; the two pipes interleave as they please.
    let stdout: Vec<_> = lines.iter().filter(|l| l.starts_with("stdout: ")).collect();
    assert_eq!(
        stdout,
        ["stdout: step 1", "stdout: step 2", "stdout: step 3"],
        "{lines:?}"
    );
    assert!(lines.contains(&"stderr: warn".to_owned()), "{lines:?}");
    let rmcp::model::ServerResult::CallToolResult(result) = response else {
        panic!("{response:?}")
    };
    assert_eq!(json_of(&result)["stdout"], "step 1\nstep 2\nstep 3");

    // Cancelling agent_invoke through MCP ends the invocation: its side effect never happens.
    let slow = "#!/bin/sh\necho begin\nsleep 2\necho never > /workspace/never\n";
    c.ok(
        "agent_configure",
        json!({"sandbox_id": "streamer", "files": [{"path": "/workspace/a.sh", "content": slow}],
               "install_command": ["chmod", "+x", "/workspace/a.sh"], "entrypoint": ["/workspace/a.sh"]}),
    )
    .await;
    let invoke = start(&c, "agent_invoke", json!({"sandbox_id": "streamer"})).await;
    let token = invoke.progress_token.clone();
    until("the invocation's first line", || {
        messages(&c, &token).iter().any(|m| m.contains("begin"))
    })
    .await;
    invoke.cancel(None).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    c.err(
        "file_read",
        json!({"sandbox_id": "streamer", "path": "/workspace/never"}),
        "not_found",
    )
    .await;

    // agent_cancel ends an invocation started elsewhere (here by the SDK directly).
    let agent = fx.sdk(fx.router.admin_key()).sandbox("streamer").agent();
    let mut stream = agent.invoke_stream(Invoke::empty()).await.unwrap();
    let Some(Ok(InvokeEvent::Start { invoke_id, .. })) = stream.next_event().await else {
        panic!("no start event")
    };
    let cancelled = c
        .ok(
            "agent_cancel",
            json!({"sandbox_id": "streamer", "invoke_id": invoke_id}),
        )
        .await;
    assert_eq!(cancelled["status"], "cancelled");
    let mut reason = None;
    while let Some(event) = stream.next_event().await {
        if let Ok(InvokeEvent::Exit(exit)) = event {
            reason = Some(exit.reason);
        }
    }
    assert_eq!(reason, Some(ExitReason::Canceled));
}
