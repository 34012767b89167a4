//! Agent mode: configure a tiny agent, then print its streamed output as it is produced.
//!
//! ```text
//! cargo run --example agent_stream
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agenttier::Client;
use agenttier::models::{Configure, CreateSandbox, Invoke, InvokeEvent};
use futures_util::StreamExt;

/// A shell agent: reads its task from stdin, then reports progress line by line.
const AGENT: &str = r#"#!/bin/sh
task=$(cat)
echo "task: $task ($*)"
for step in 1 2 3 4 5; do
  echo "step $step/5"
  sleep 0.2
done
echo "done" >&2
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let target = agenttier_examples::target()?;
    let client = Client::from_config(target.config)?;
    let suffix = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() % 100_000;
    let sandbox = client
        .create_sandbox(CreateSandbox::new("agent-python", format!("agent-{suffix}")))
        .await?;
    sandbox.wait_until_running(Duration::from_secs(120)).await?;
    let agent = sandbox.agent();

    let configure = Configure::new()
        .file_text("/workspace/agent.sh", AGENT)
        .install_command(["chmod", "+x", "/workspace/agent.sh"])
        .entrypoint(["/workspace/agent.sh"]);
    let configured = agent
        .configure_with_log(configure, |stream, line| println!("  configure [{stream}] {line}"))
        .await?;
    println!(
        "configured: install exit {}, skipped {}",
        configured.install_exit_code, configured.skipped
    );

    let mut events = agent
        .invoke_stream(Invoke::json(&serde_json::json!({"summarize": "README"}))?.prompt("be brief"))
        .await?;
    while let Some(event) = events.next().await {
        match event? {
            InvokeEvent::Start { invoke_id, .. } => println!("started {invoke_id}"),
            InvokeEvent::Log { stream, line } => println!("  [{stream}] {line}"),
            InvokeEvent::Exit(exit) => println!("exit {} ({}, {} ms)", exit.exit_code, exit.reason, exit.duration_ms),
            other => println!("  {other:?}"),
        }
    }
    sandbox.terminate().await?;
    Ok(())
}
