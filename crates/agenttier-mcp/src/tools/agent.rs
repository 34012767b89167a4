//! Agent mode, which the platform's server does not expose: configure an agent sandbox,
//! invoke it with every output line streamed as a progress notification, cancel it.

use agenttier::models::{Configure, ConfigureFile, Invoke, InvokeCollector, InvokeEvent, InvokeResult};
use rmcp::RoleServer;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::files::Encoding;
use crate::progress::{Progress, with_cancel};
use crate::reply::{Outcome, cancelled, failure, invalid_argument, ok, reply, reply_with};
use crate::server::AgentTierServer;

/// One file `agent_configure` writes.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileArg {
    /// Absolute path under /workspace.
    pub path: String,
    /// The content.
    pub content: String,
    /// How `content` is encoded.
    #[serde(default = "utf8")]
    #[schemars(default = "utf8")]
    pub encoding: Encoding,
}

fn utf8() -> Encoding {
    Encoding::Utf8
}

/// Arguments of `agent_configure`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigureArgs {
    /// An agent-mode sandbox (created from an agent template such as "agent-python").
    pub sandbox_id: String,
    /// Files to write before the install command runs.
    #[serde(default)]
    pub files: Vec<FileArg>,
    /// The install command as an argv list, e.g. ["pip", "install", "-r", "requirements.txt"];
    /// it runs once per distinct set of files and command.
    #[serde(default)]
    pub install_command: Vec<String>,
    /// The entrypoint each invocation runs, as an argv list, e.g. ["python", "/workspace/agent.py"].
    #[serde(default)]
    pub entrypoint: Vec<String>,
}

/// Arguments of `agent_invoke`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InvokeArgs {
    /// The configured agent sandbox.
    pub sandbox_id: String,
    /// Text fed to the entrypoint's standard input.
    #[serde(default)]
    pub input: Option<String>,
    /// A JSON value fed to standard input instead of `input` (as application/json).
    #[serde(default)]
    pub json: Option<Value>,
    /// Appended to the entrypoint's argv as `--prompt=<value>` (and its stdin when there is no input).
    #[serde(default)]
    pub prompt: Option<String>,
    /// Seconds the invocation may run (it can only lower the template's limit).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub timeout: Option<u64>,
}

/// Arguments of `agent_cancel`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CancelArgs {
    /// The agent sandbox.
    pub sandbox_id: String,
    /// The invocation to cancel, as agent_invoke's progress and result name it.
    pub invoke_id: String,
}

fn invoke_json(r: &InvokeResult) -> Value {
    json!({
        "invoke_id": r.invoke_id, "exit_code": r.exit_code, "duration_ms": r.duration_ms,
        "reason": r.reason.as_str(), "success": r.success(), "stdout": r.stdout, "stderr": r.stderr,
    })
}

#[tool_router(router = agent_tools, vis = "pub(crate)")]
impl AgentTierServer {
    /// Configure an agent-mode sandbox: write files, run the install command (skipped when
    /// nothing changed) and set the entrypoint. Install output lines arrive as progress.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = true
    ))]
    async fn agent_configure(
        &self,
        Parameters(args): Parameters<ConfigureArgs>,
        context: RequestContext<RoleServer>,
    ) -> Outcome {
        let mut configure = Configure::new()
            .install_command(args.install_command)
            .entrypoint(args.entrypoint);
        for file in args.files {
            configure = configure.file(match file.encoding {
                Encoding::Utf8 => ConfigureFile::text(file.path, file.content),
                Encoding::Base64 => {
                    use base64::Engine;
                    match base64::engine::general_purpose::STANDARD.decode(file.content.trim()) {
                        Ok(bytes) => ConfigureFile::bytes(file.path, bytes),
                        Err(e) => return invalid_argument(format!("file {} is not valid base64: {e}", file.path)),
                    }
                }
            });
        }
        let agent = self.client.sandbox(&args.sandbox_id).agent();
        let progress = Progress::of(&context);
        // The SDK calls back synchronously per line; a channel hands the lines to an async
        // forwarder, which ends when the configure call (holding the sender) is done.
        let (lines, mut received) = mpsc::unbounded_channel::<String>();
        let run = agent.configure_with_log(configure, move |stream, line| {
            let _ = lines.send(format!("{stream}: {line}"));
        });
        let forward = async {
            let mut count = 0.0;
            while let Some(line) = received.recv().await {
                count += 1.0;
                progress.report(count, None, line).await;
            }
        };
        match with_cancel(&context, async { tokio::join!(run, forward).0 }).await {
            Some(result) => reply(result),
            None => cancelled("the configure stream was closed"),
        }
    }

    /// Run an agent sandbox's entrypoint once with the given input. Each output line arrives
    /// as a progress notification (the first names the invoke_id, for agent_cancel); returns
    /// {invoke_id, exit_code, reason, success, stdout, stderr, duration_ms}. Cancelling the
    /// request cancels the invocation.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn agent_invoke(
        &self,
        Parameters(args): Parameters<InvokeArgs>,
        context: RequestContext<RoleServer>,
    ) -> Outcome {
        let mut invoke = match (args.json, args.input) {
            (Some(_), Some(_)) => return invalid_argument("give either input or json, not both"),
            (Some(value), None) => match Invoke::json(&value) {
                Ok(invoke) => invoke,
                Err(e) => return failure(&e),
            },
            (None, Some(text)) => Invoke::text(text),
            (None, None) => Invoke::empty(),
        };
        if let Some(prompt) = args.prompt {
            invoke = invoke.prompt(prompt);
        }
        if let Some(seconds) = args.timeout {
            if seconds == 0 {
                return invalid_argument("timeout must be at least 1 second");
            }
            invoke = invoke.timeout(std::time::Duration::from_secs(seconds));
        }
        let agent = self.client.sandbox(&args.sandbox_id).agent();
        let mut stream = match agent.invoke_stream(invoke).await {
            Ok(stream) => stream,
            Err(e) => return failure(&e),
        };
        let progress = Progress::of(&context);
        let mut collector = InvokeCollector::default();
        let mut count = 0.0;
        loop {
            let Some(next) = with_cancel(&context, stream.next_event()).await else {
                if let Some(id) = stream.invoke_id().map(str::to_owned) {
                    // Closing the stream cancels too; saying so explicitly ends it at once.
                    drop(stream);
                    let _ = agent.invoke_cancel(&id).await;
                }
                return cancelled("the invocation was cancelled");
            };
            let Some(event) = next else { break };
            let event = match event {
                Ok(event) => event,
                Err(e) => return failure(&e),
            };
            let message = match &event {
                InvokeEvent::Start { invoke_id, .. } => Some(format!("started {invoke_id}")),
                InvokeEvent::Log { stream, line } => Some(format!("{stream}: {line}")),
                _ => None,
            };
            if let Some(message) = message {
                count += 1.0;
                progress.report(count, None, message).await;
            }
            if let Err(e) = collector.push(event) {
                return failure(&e);
            }
        }
        match collector.finish() {
            Ok(result) => ok(invoke_json(&result)),
            Err(e) => failure(&e),
        }
    }

    /// Cancel a running invocation of an agent sandbox: its processes end and its
    /// agent_invoke returns with reason "canceled".
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn agent_cancel(&self, Parameters(args): Parameters<CancelArgs>) -> Outcome {
        let result = self
            .client
            .sandbox(&args.sandbox_id)
            .agent()
            .invoke_cancel(&args.invoke_id)
            .await;
        reply_with(
            result,
            json!({ "sandbox_id": args.sandbox_id, "invoke_id": args.invoke_id, "status": "cancelled" }),
        )
    }
}
