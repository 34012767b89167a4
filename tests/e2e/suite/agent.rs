//! Agent mode against the local router: configure, invoke, streams, cancel, timeouts.

use std::time::Duration;

use agenttier::Error;
use agenttier::models::{Configure, CreateSandbox, ExitReason, Invoke, InvokeEvent, LogStream};

use super::{Env, maybe, sdk};

/// Echoes its arguments, then stdin, then one line on stderr; the last line has no newline.
const ECHO_AGENT: &str = "#!/bin/sh\necho \"args:$*\"\ncat\necho\necho to-stderr >&2\nprintf tail\n";

#[maybe]
async fn agent_sandbox(env: &Env, what: &str) -> sdk::Sandbox {
    let sandbox = env
        .client
        .create_sandbox(CreateSandbox::new("agent-python", env.name(what)))
        .await
        .unwrap();
    sandbox.wait_until_running(Duration::from_secs(30)).await.unwrap();
    sandbox
}

fn echo_configure() -> Configure {
    Configure::new()
        .file_text("/workspace/agent.sh", ECHO_AGENT)
        .file_bytes("/workspace/blob.bin", vec![0u8, 159, 146, 150])
        .install_command(["sh", "-c", "chmod +x /workspace/agent.sh && echo installed"])
        .entrypoint(["/workspace/agent.sh"])
}

#[maybe]
pub async fn configure_is_idempotent(env: Env) {
    let sandbox = agent_sandbox(&env, "cfg").await;
    let agent = sandbox.agent();
    let mut lines = Vec::new();
    let first = agent
        .configure_with_log(echo_configure(), |stream, line| {
            lines.push((stream.clone(), line.to_owned()))
        })
        .await
        .unwrap();
    assert!(!first.skipped);
    assert_eq!(first.install_exit_code, 0);
    assert_eq!(first.entrypoint, ["/workspace/agent.sh"]);
    assert_eq!(first.install_command_hash.len(), 64);
    assert!(first.last_configured_at.is_some());
    assert!(
        lines.iter().any(|(s, l)| *s == LogStream::Stdout && l == "installed"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|(_, l)| l.contains("uploading /workspace/agent.sh")),
        "{lines:?}"
    );
    let second = agent.configure(echo_configure()).await.unwrap();
    assert!(second.skipped, "same files and command: install skipped");
    assert_eq!(second.install_command_hash, first.install_command_hash);
    let blob = sandbox.exec("od -An -tu1 /workspace/blob.bin").await.unwrap();
    assert_eq!(
        blob.stdout.split_whitespace().collect::<Vec<_>>(),
        ["0", "159", "146", "150"]
    );
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn invoke_payloads_and_prompt(env: Env) {
    let sandbox = agent_sandbox(&env, "inv").await;
    let agent = sandbox.agent();
    agent.configure(echo_configure()).await.unwrap();

    let json = agent
        .invoke(Invoke::json(&serde_json::json!({"task": "sum", "n": [1, 2]})).unwrap())
        .await
        .unwrap();
    assert!(json.success(), "{json:?}");
    assert_eq!(json.stdout, "args:\n{\"n\":[1,2],\"task\":\"sum\"}\ntail");
    assert_eq!(json.stderr, "to-stderr");
    assert!(
        json.invoke_id.starts_with("inv-") && json.invoke_id.len() == 28,
        "{json:?}"
    );

    let text = agent.invoke(Invoke::text("plain text")).await.unwrap();
    assert_eq!(text.stdout, "args:\nplain text\ntail");
    let bytes = agent.invoke(Invoke::bytes(b"raw\x01".to_vec())).await.unwrap();
    assert_eq!(bytes.stdout, "args:\nraw\u{1}\ntail");
    let prompted = agent.invoke(Invoke::empty().prompt("what's up?")).await.unwrap();
    assert_eq!(prompted.stdout, "args:--prompt=what's up?\nwhat's up?\ntail");
    // Every invocation is audited (and so can trigger agent.invoke.* webhooks).
    let events = env.client.audit().events().await.unwrap();
    let mine: Vec<&str> = events
        .iter()
        .filter(|e| e.sandbox_id == sandbox.id())
        .map(|e| e.event_type.as_str())
        .collect();
    assert_eq!(
        mine.iter().filter(|t| **t == "AgentInvokeStarted").count(),
        4,
        "{mine:?}"
    );
    assert_eq!(
        mine.iter().filter(|t| **t == "AgentInvokeCompleted").count(),
        4,
        "{mine:?}"
    );
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn invoke_stream_of_100k_lines_in_order(env: Env) {
    let sandbox = agent_sandbox(&env, "many").await;
    let agent = sandbox.agent();
    agent
        .configure(Configure::new().entrypoint(["seq", "1", "100000"]))
        .await
        .unwrap();
    let mut stream = agent.invoke_stream(Invoke::empty()).await.unwrap();
    let first = stream.next_event().await.unwrap().unwrap();
    assert!(matches!(first, InvokeEvent::Start { .. }), "{first:?}");
    let mut expected = 1u64;
    let mut exit = None;
    while let Some(event) = stream.next_event().await {
        match event.unwrap() {
            InvokeEvent::Log { line, .. } => {
                assert_eq!(line, expected.to_string());
                expected += 1;
            }
            InvokeEvent::Exit(e) => exit = Some(e),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(expected, 100_001, "every line arrived");
    let exit = exit.expect("an exit event");
    assert_eq!((exit.exit_code, exit.reason), (0, ExitReason::Completed));
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn cancel_ends_a_running_invoke(env: Env) {
    let sandbox = agent_sandbox(&env, "cancel").await;
    let agent = sandbox.agent();
    let looping = "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.05; done";
    agent
        .configure(Configure::new().entrypoint(["sh", "-c", looping]))
        .await
        .unwrap();
    let mut stream = agent.invoke_stream(Invoke::empty()).await.unwrap();
    let mut ticks = 0;
    let mut exit = None;
    while let Some(event) = stream.next_event().await {
        match event.unwrap() {
            InvokeEvent::Start { .. } => {}
            InvokeEvent::Log { .. } => {
                ticks += 1;
                if ticks == 3 {
                    let id = stream.invoke_id().unwrap().to_owned();
                    agent.invoke_cancel(&id).await.unwrap();
                }
            }
            InvokeEvent::Exit(e) => exit = Some(e),
            other => panic!("unexpected {other:?}"),
        }
    }
    let exit = exit.expect("an exit event after cancel");
    assert_eq!((exit.exit_code, exit.reason), (-1, ExitReason::Canceled));
    let again = agent.invoke_cancel(&exit.invoke_id).await.unwrap_err();
    assert!(matches!(again, Error::NotFound { .. }), "{again:?}");
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn invoke_timeout_and_preconditions(env: Env) {
    let sandbox = agent_sandbox(&env, "limits").await;
    let agent = sandbox.agent();
    let early = agent.invoke(Invoke::empty()).await.unwrap_err();
    assert_eq!(early.status(), Some(424), "{early:?}");
    agent
        .configure(Configure::new().entrypoint(["sleep", "30"]))
        .await
        .unwrap();
    let slow = agent
        .invoke(Invoke::empty().timeout(Duration::from_secs(1)))
        .await
        .unwrap();
    assert_eq!((slow.exit_code, slow.reason), (-1, ExitReason::Timeout));

    let code = env
        .client
        .create_sandbox(CreateSandbox::new("general-coding", env.name("codemode")))
        .await
        .unwrap();
    code.wait_until_running(Duration::from_secs(30)).await.unwrap();
    let wrong_mode = code.agent().invoke(Invoke::empty()).await.unwrap_err();
    assert_eq!(wrong_mode.status(), Some(400), "{wrong_mode:?}");
    code.terminate().await.unwrap();
    sandbox.stop().await.unwrap();
    sandbox.terminate().await.unwrap();
}
