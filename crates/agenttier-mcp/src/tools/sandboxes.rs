//! Sandbox lifecycle, commands, ports, templates and identity; plus `sandbox_wait`, which the
//! platform's server leaves out, with progress and a bound.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use agenttier::models::{CreateSandbox, Exec, Resources, SandboxFilter, SandboxPhase, UpdateSandbox};
use agenttier::{Client, Error};
use rmcp::handler::server::wrapper::Parameters;
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{SandboxRef, arg, duration};
use crate::progress::{Progress, with_cancel, with_heartbeat};
use crate::reply::{Outcome, cancelled, failure, invalid_argument, ok, reply, reply_with};
use crate::server::AgentTierServer;

/// Arguments of `sandbox_create`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateArgs {
    /// Name of the ClusterSandboxTemplate to start from (template_list shows them), e.g. "general-coding".
    pub template: String,
    /// Name of the new sandbox, which is also its id: lowercase letters, digits and '-', at most 63 characters.
    pub name: String,
    /// Kubernetes namespace to create it in.
    #[serde(default = "default_namespace")]
    #[schemars(default = "default_namespace")]
    pub namespace: String,
    /// Maximum lifetime as a Go duration ("8h"); the platform stops the sandbox after it.
    #[serde(default)]
    pub timeout: Option<String>,
    /// Idle time after which the platform stops the sandbox, as a Go duration ("30m").
    #[serde(default)]
    pub idle_timeout: Option<String>,
    /// Workspace volume size as a Kubernetes quantity ("20Gi").
    #[serde(default)]
    pub storage_size: Option<String>,
}

fn default_namespace() -> String {
    "default".to_owned()
}

/// A sandbox lifecycle phase, as the platform spells it.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
pub(crate) enum Phase {
    /// Being created.
    Creating,
    /// Ready for commands and files.
    Running,
    /// Stopped; the workspace is kept.
    Stopped,
    /// Failed.
    Error,
    /// Being deleted.
    Deleting,
}

impl Phase {
    fn as_str(self) -> &'static str {
        match self {
            Phase::Creating => "Creating",
            Phase::Running => "Running",
            Phase::Stopped => "Stopped",
            Phase::Error => "Error",
            Phase::Deleting => "Deleting",
        }
    }
}

/// Arguments of `sandbox_list`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListArgs {
    /// Only sandboxes in this namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Only sandboxes in this phase.
    #[serde(default)]
    pub status: Option<Phase>,
}

/// Arguments of `sandbox_clone`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CloneArgs {
    /// The sandbox to clone.
    pub sandbox_id: String,
    /// Name of the clone (default: `<id>-clone-<unix time>`).
    #[serde(default)]
    pub name: Option<String>,
    /// VolumeSnapshotClass for the workspace snapshot (default: the cluster's).
    #[serde(default)]
    pub snapshot_class: Option<String>,
}

/// Arguments of `sandbox_run_command`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunCommandArgs {
    /// The sandbox to run the command in (it must be Running).
    pub sandbox_id: String,
    /// A shell command line, run with `/bin/sh -c` in /workspace.
    pub command: String,
    /// Seconds the command may run before it is killed.
    #[serde(default = "default_command_timeout")]
    #[schemars(default = "default_command_timeout", range(min = 1, max = 86400))]
    pub timeout: u64,
}

fn default_command_timeout() -> u64 {
    30
}

/// Arguments of `sandbox_wait`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WaitArgs {
    /// The sandbox to wait for.
    pub sandbox_id: String,
    /// Seconds to wait at most (at most 600: call again to wait longer).
    #[serde(default = "default_wait")]
    #[schemars(default = "default_wait", range(min = 1, max = 600))]
    pub timeout: u64,
}

fn default_wait() -> u64 {
    120
}

/// Longest single `sandbox_wait`, so that one call never holds a client for long.
const MAX_WAIT: u64 = 600;

/// Arguments of `sandbox_forward_port`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ForwardArgs {
    /// The sandbox.
    pub sandbox_id: String,
    /// The container port to expose (1-65535).
    pub port: u16,
    /// Protocol of the port.
    #[serde(default = "default_protocol")]
    #[schemars(default = "default_protocol")]
    pub protocol: PortProtocol,
}

/// Protocol of a forwarded port.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PortProtocol {
    /// HTTP (previewed through the Router).
    Http,
    /// Plain TCP.
    Tcp,
}

fn default_protocol() -> PortProtocol {
    PortProtocol::Http
}

/// Arguments of `sandbox_remove_port`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PortArgs {
    /// The sandbox.
    pub sandbox_id: String,
    /// The forwarded port to remove.
    pub port: u16,
}

/// Arguments of `sandbox_update`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateArgs {
    /// The sandbox to change.
    pub sandbox_id: String,
    /// New idle timeout as a Go duration ("1h").
    #[serde(default)]
    pub idle_timeout: Option<String>,
    /// New resources: `{"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {...}}`.
    #[serde(default)]
    pub resources: Option<ResourcesArg>,
    /// Labels to set.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations to set.
    #[serde(default)]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// Resource requests and limits, as Kubernetes quantities.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ResourcesArg {
    /// Guaranteed amounts, e.g. `{"cpu": "500m", "memory": "1Gi"}`.
    #[serde(default)]
    pub requests: BTreeMap<String, String>,
    /// Caps, e.g. `{"cpu": "2", "memory": "4Gi"}`.
    #[serde(default)]
    pub limits: BTreeMap<String, String>,
}

/// Arguments of `template_get`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TemplateArgs {
    /// The template name.
    pub name: String,
}

/// Builds a `CreateSandbox` from tool arguments (shared with bulk create).
pub(crate) fn create_params(args: &CreateArgs) -> Result<CreateSandbox, Outcome> {
    let mut params = CreateSandbox::new(&args.template, &args.name).namespace(&args.namespace);
    if let Some(d) = duration("timeout", args.timeout.as_deref())? {
        params = params.timeout(d);
    }
    if let Some(d) = duration("idle_timeout", args.idle_timeout.as_deref())? {
        params = params.idle_timeout(d);
    }
    if let Some(size) = args.storage_size.as_deref().filter(|s| !s.trim().is_empty()) {
        params = params.storage_size(size);
    }
    Ok(params)
}

/// The sandbox's new state after a lifecycle call, as the platform's server reports it.
fn lifecycle(result: agenttier::Result<()>, sandbox_id: &str, status: &str) -> Outcome {
    reply_with(result, json!({ "sandbox_id": sandbox_id, "status": status }))
}

#[tool_router(router = sandbox_tools, vis = "pub(crate)")]
impl AgentTierServer {
    /// Create a sandbox from a template. It starts in phase Creating: call sandbox_wait before
    /// running commands. Returns {sandbox_id, name, namespace}.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn sandbox_create(&self, Parameters(args): Parameters<CreateArgs>) -> Outcome {
        let params = arg!(create_params(&args));
        match self.client.create_sandbox(params).await {
            Ok(sb) => ok(json!({ "sandbox_id": sb.id(), "name": sb.name(), "namespace": sb.namespace() })),
            Err(e) => failure(&e),
        }
    }

    /// List the sandboxes the caller can see, optionally only one namespace or one phase.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn sandbox_list(&self, Parameters(args): Parameters<ListArgs>) -> Outcome {
        let mut filter = SandboxFilter::all();
        if let Some(ns) = args.namespace.filter(|ns| !ns.is_empty()) {
            filter = filter.namespace(ns);
        }
        if let Some(phase) = args.status {
            filter = filter.phase(SandboxPhase::from(phase.as_str()));
        }
        reply(self.client.list_sandboxes(filter).await)
    }

    /// The latest state of a sandbox: status (phase), pod and volume names, template, timestamps, message.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn sandbox_status(&self, Parameters(args): Parameters<SandboxRef>) -> Outcome {
        reply(self.client.sandbox_info(&args.sandbox_id).await)
    }

    /// Stop a sandbox: its processes end, its workspace is kept; sandbox_resume starts it again.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn sandbox_stop(&self, Parameters(args): Parameters<SandboxRef>) -> Outcome {
        let result = self.client.sandbox(&args.sandbox_id).stop().await;
        lifecycle(result, &args.sandbox_id, "stopped")
    }

    /// Resume a stopped sandbox on the same workspace. Call sandbox_wait before using it.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn sandbox_resume(&self, Parameters(args): Parameters<SandboxRef>) -> Outcome {
        let result = self.client.sandbox(&args.sandbox_id).resume().await;
        lifecycle(result, &args.sandbox_id, "resuming")
    }

    /// Delete a sandbox and its workspace for good. This cannot be undone.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn sandbox_terminate(&self, Parameters(args): Parameters<SandboxRef>) -> Outcome {
        let result = self.client.sandbox(&args.sandbox_id).terminate().await;
        lifecycle(result, &args.sandbox_id, "terminated")
    }

    /// Clone a sandbox: its workspace is snapshotted and a new sandbox starts from the copy
    /// (phase Creating). Returns the clone's name and the snapshot.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = false,
        open_world_hint = false
    ))]
    async fn sandbox_clone(&self, Parameters(args): Parameters<CloneArgs>) -> Outcome {
        let mut params = agenttier::models::CloneSandbox::new();
        if let Some(name) = args.name.filter(|n| !n.is_empty()) {
            params = params.name(name);
        }
        if let Some(class) = args.snapshot_class.filter(|c| !c.is_empty()) {
            params = params.snapshot_class(class);
        }
        let result = self.client.sandbox(&args.sandbox_id).clone_with(params).await;
        reply(result.map(|(_, answer)| answer))
    }

    /// Run a non-interactive shell command in a Running sandbox and wait for it; returns
    /// {stdout, stderr, exit_code} (a non-zero exit code is a result, not an error). Reports
    /// progress while it runs; cancelling the request kills the command.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = false,
        open_world_hint = true
    ))]
    async fn sandbox_run_command(
        &self,
        Parameters(args): Parameters<RunCommandArgs>,
        context: RequestContext<RoleServer>,
    ) -> Outcome {
        if args.timeout == 0 {
            return invalid_argument("timeout must be at least 1 second");
        }
        let sandbox = self.client.sandbox(&args.sandbox_id);
        let exec = Exec::new(args.command).timeout(Duration::from_secs(args.timeout));
        let total = args.timeout as f64;
        let run = with_heartbeat(&context, Some(total), "command running", sandbox.exec(exec));
        match run.await {
            Some(result) => reply(result),
            None => cancelled("the command was killed"),
        }
    }

    /// Wait until a sandbox is Running (at most `timeout` seconds, 600 at most per call),
    /// reporting its phase as progress. Returns its status; fails if it reaches Error.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn sandbox_wait(
        &self,
        Parameters(args): Parameters<WaitArgs>,
        context: RequestContext<RoleServer>,
    ) -> Outcome {
        if args.timeout == 0 || args.timeout > MAX_WAIT {
            return invalid_argument(format!(
                "timeout must be between 1 and {MAX_WAIT} seconds; call sandbox_wait again to wait longer"
            ));
        }
        let wait = wait_running(
            &self.client,
            &args.sandbox_id,
            Duration::from_secs(args.timeout),
            &context,
        );
        match with_cancel(&context, wait).await {
            Some(result) => reply(result),
            None => cancelled("stopped waiting"),
        }
    }

    /// List the ports forwarded from a sandbox.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn sandbox_list_ports(&self, Parameters(args): Parameters<SandboxRef>) -> Outcome {
        reply(self.client.sandbox(&args.sandbox_id).list_ports().await)
    }

    /// Expose a port of a sandbox; returns where it can be reached.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn sandbox_forward_port(&self, Parameters(args): Parameters<ForwardArgs>) -> Outcome {
        let protocol = match args.protocol {
            PortProtocol::Http => "http",
            PortProtocol::Tcp => "tcp",
        };
        reply(
            self.client
                .sandbox(&args.sandbox_id)
                .forward_port_with_protocol(args.port, protocol)
                .await,
        )
    }

    /// Stop forwarding a port (removing a port that is not forwarded is not an error).
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = true,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn sandbox_remove_port(&self, Parameters(args): Parameters<PortArgs>) -> Outcome {
        let result = self.client.sandbox(&args.sandbox_id).remove_port(args.port).await;
        reply_with(
            result,
            json!({ "sandbox_id": args.sandbox_id, "port": args.port, "status": "removed" }),
        )
    }

    /// Change a sandbox's idle timeout, resources, labels or annotations while it lives.
    #[tool(annotations(
        read_only_hint = false,
        destructive_hint = false,
        idempotent_hint = true,
        open_world_hint = false
    ))]
    async fn sandbox_update(&self, Parameters(args): Parameters<UpdateArgs>) -> Outcome {
        let mut update = UpdateSandbox::new();
        if let Some(d) = arg!(duration("idle_timeout", args.idle_timeout.as_deref())) {
            update = update.idle_timeout(d);
        }
        if let Some(r) = args.resources {
            let mut resources = Resources::new();
            for (k, v) in r.requests {
                resources = resources.request(k, v);
            }
            for (k, v) in r.limits {
                resources = resources.limit(k, v);
            }
            update = update.resources(resources);
        }
        if let Some(labels) = args.labels {
            update = update.labels(labels);
        }
        for (k, v) in args.annotations.unwrap_or_default() {
            update = update.annotation(k, v);
        }
        reply(self.client.sandbox(&args.sandbox_id).update(update).await)
    }

    /// List the sandbox templates (ClusterSandboxTemplates) a sandbox can be created from.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn template_list(&self) -> Outcome {
        reply(self.client.list_templates().await)
    }

    /// One template's details.
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn template_get(&self, Parameters(args): Parameters<TemplateArgs>) -> Outcome {
        reply(self.client.get_template(&args.name).await)
    }

    /// Who the platform thinks the caller is (checks that the server's credentials work).
    #[tool(annotations(read_only_hint = true, open_world_hint = false))]
    async fn current_user(&self) -> Outcome {
        reply(self.client.current_user().await)
    }
}

/// Polls the sandbox until it is Running, reporting each phase seen.
async fn wait_running(
    client: &Client,
    id: &str,
    limit: Duration,
    context: &RequestContext<RoleServer>,
) -> agenttier::Result<agenttier::models::SandboxInfo> {
    let progress = Progress::of(context);
    let started = Instant::now();
    let mut interval = Duration::from_millis(250);
    loop {
        let info = client.sandbox_info(id).await?;
        let elapsed = started.elapsed();
        progress
            .report(
                elapsed.as_secs_f64(),
                Some(limit.as_secs_f64()),
                format!("phase {}", info.phase),
            )
            .await;
        match info.phase {
            SandboxPhase::Running => return Ok(info),
            SandboxPhase::Error => {
                return Err(Error::SandboxErrorState {
                    sandbox_id: id.to_owned(),
                    message: if info.message.is_empty() {
                        "no message".into()
                    } else {
                        info.message
                    },
                });
            }
            _ => {}
        }
        if elapsed >= limit {
            return Err(Error::SandboxTimeout {
                sandbox_id: id.to_owned(),
                last_phase: info.phase.to_string(),
                waited: elapsed,
            });
        }
        tokio::time::sleep(interval.min(limit - elapsed)).await;
        interval = (interval * 3 / 2).min(Duration::from_secs(2));
    }
}
