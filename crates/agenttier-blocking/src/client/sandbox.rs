//! The sandbox handle: lifecycle (stop, resume, delete, clone, update), exec and ports of one
//! sandbox.

use std::time::{Duration, Instant};

use agenttier_core::models::{
    CloneResult, CloneSandbox, CommandResult, Exec, ForwardedPort, SandboxInfo, SandboxPhase, UpdateResult,
    UpdateSandbox,
};
use agenttier_core::{Error, Result, api};

use super::{Client, exchange};
use crate::maybe;

/// Default limit of [`Sandbox::wait_until_running`].
pub const DEFAULT_WAIT: Duration = Duration::from_secs(120);

/// A handle on one sandbox. Cheap to clone; it holds no state beyond its identity, so every
/// query asks the Router.
#[derive(Clone, Debug)]
pub struct Sandbox {
    pub(crate) client: Client,
    id: String,
    name: String,
    namespace: String,
}

impl Sandbox {
    pub(crate) fn new(client: Client, id: String, name: String, namespace: String) -> Self {
        Sandbox {
            client,
            id,
            name,
            namespace,
        }
    }

    /// The sandbox id (its name on the platform).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The sandbox name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace it lives in.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The client this handle uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A handle on the sandbox a clone or restore of this one is creating.
    pub(crate) fn made_from(&self, result: &CloneResult) -> Sandbox {
        let namespace = if result.namespace.is_empty() {
            self.namespace.clone()
        } else {
            result.namespace.clone()
        };
        Sandbox::new(self.client.clone(), result.name.clone(), result.name.clone(), namespace)
    }
}

#[maybe]
impl Sandbox {
    /// The sandbox as the Router describes it now.
    pub async fn status(&self) -> Result<SandboxInfo> {
        self.client.sandbox_info(&self.id).await
    }

    /// The current phase (one request).
    pub async fn phase(&self) -> Result<SandboxPhase> {
        Ok(self.status().await?.phase)
    }

    /// Polls until the sandbox is `Running`: at once, then after 25 ms, at intervals growing by
    /// half up to 2 s, so a start is seen at most about half its duration late (a fast one within
    /// tens of milliseconds) and a slow one costs few requests.
    ///
    /// Returns [`Error::SandboxErrorState`] when it reaches `Error`, and
    /// [`Error::SandboxTimeout`] when `timeout` passes first ([`DEFAULT_WAIT`] is a good default).
    pub async fn wait_until_running(&self, timeout: Duration) -> Result<SandboxInfo> {
        self.wait_for_running(timeout, None).await
    }

    /// [`wait_until_running`](Self::wait_until_running), polling every `poll_interval` instead
    /// (at least 1 ms).
    pub async fn wait_until_running_every(&self, timeout: Duration, poll_interval: Duration) -> Result<SandboxInfo> {
        self.wait_for_running(timeout, Some(poll_interval.max(Duration::from_millis(1))))
            .await
    }

    async fn wait_for_running(&self, timeout: Duration, fixed: Option<Duration>) -> Result<SandboxInfo> {
        let started = Instant::now();
        let mut interval = fixed.unwrap_or(Duration::from_millis(25));
        loop {
            let info = self.status().await?;
            match &info.phase {
                SandboxPhase::Running => return Ok(info),
                SandboxPhase::Error => {
                    let message = if info.message.is_empty() {
                        "no message".to_owned()
                    } else {
                        info.message
                    };
                    return Err(Error::SandboxErrorState {
                        sandbox_id: self.id.clone(),
                        message,
                    });
                }
                _ => {}
            }
            let elapsed = started.elapsed();
            if elapsed >= timeout {
                return Err(Error::SandboxTimeout {
                    sandbox_id: self.id.clone(),
                    last_phase: info.phase.to_string(),
                    waited: elapsed,
                });
            }
            self.client.transport.sleep(interval.min(timeout - elapsed)).await;
            if fixed.is_none() {
                interval = (interval * 3 / 2).min(Duration::from_secs(2));
            }
        }
    }

    /// Stops a `Running` sandbox; the workspace is kept. Asynchronous on the platform: the phase
    /// becomes `Stopped` shortly after.
    pub async fn stop(&self) -> Result<()> {
        exchange::send(&self.client.transport, &api::sandboxes::stop(&self.id)?).await?;
        Ok(())
    }

    /// Resumes a `Stopped` (or `Error`) sandbox; wait for `Running` again before using it.
    pub async fn resume(&self) -> Result<()> {
        exchange::send(&self.client.transport, &api::sandboxes::resume(&self.id)?).await?;
        Ok(())
    }

    /// Deletes the sandbox and its workspace, permanently.
    pub async fn terminate(&self) -> Result<()> {
        exchange::send(&self.client.transport, &api::sandboxes::delete(&self.id)?).await?;
        Ok(())
    }

    /// Alias of [`terminate`](Self::terminate).
    pub async fn delete(&self) -> Result<()> {
        self.terminate().await
    }

    /// Clones the sandbox: its workspace is snapshotted and a new sandbox with the same template
    /// and spec starts from a copy (202 on the platform; the clone starts `Creating`). `name`
    /// defaults to `<id>-clone-<unix>`. Returns a handle on the clone; wait for it to be Running.
    pub async fn clone_sandbox(&self, name: Option<&str>) -> Result<Sandbox> {
        let params = name.map_or_else(CloneSandbox::new, |n| CloneSandbox::new().name(n));
        Ok(self.clone_with(params).await?.0)
    }

    /// [`clone_sandbox`](Self::clone_sandbox) with every option (snapshot class), also returning
    /// the Router's answer (snapshot name, ...).
    pub async fn clone_with(&self, params: CloneSandbox) -> Result<(Sandbox, CloneResult)> {
        let req = api::sandboxes::clone_sandbox(&self.id, &params)?;
        let result: CloneResult = exchange::json(&self.client.transport, &req, "clone sandbox").await?;
        Ok((self.made_from(&result), result))
    }

    /// Changes the mutable fields (idle timeout, resources, labels, annotations); see
    /// [`UpdateResult::applied`] for when each takes effect.
    pub async fn update(&self, update: UpdateSandbox) -> Result<UpdateResult> {
        let req = api::sandboxes::update(&self.id, &update)?;
        exchange::json(&self.client.transport, &req, "update sandbox").await
    }

    /// Runs one shell command (`/bin/sh -c`) and returns its output; a non-zero exit is data,
    /// not an error. Pass a string for the default 30 s timeout, or an [`Exec`] to set one.
    pub async fn exec(&self, command: impl Into<Exec>) -> Result<CommandResult> {
        let req = api::sandboxes::exec(&self.id, &command.into())?;
        exchange::json(&self.client.transport, &req, "exec").await
    }

    /// Makes a port of the sandbox reachable (protocol `http`).
    pub async fn forward_port(&self, port: u16) -> Result<ForwardedPort> {
        self.forward_port_with_protocol(port, "http").await
    }

    /// Makes a port reachable with an explicit protocol.
    pub async fn forward_port_with_protocol(&self, port: u16, protocol: &str) -> Result<ForwardedPort> {
        let req = api::sandboxes::forward_port(&self.id, port, protocol)?;
        exchange::json(&self.client.transport, &req, "forward port").await
    }

    /// The forwarded ports.
    pub async fn list_ports(&self) -> Result<Vec<ForwardedPort>> {
        let req = api::sandboxes::list_ports(&self.id)?;
        exchange::list(&self.client.transport, &req, "ports", "list ports").await
    }

    /// Stops forwarding a port (a port that was not forwarded is not an error).
    pub async fn remove_port(&self, port: u16) -> Result<()> {
        exchange::send(&self.client.transport, &api::sandboxes::remove_port(&self.id, port)?).await?;
        Ok(())
    }
}
