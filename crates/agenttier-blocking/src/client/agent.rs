//! Agent mode of a sandbox: configure once, invoke many times, with streamed output.

use agenttier_core::models::{
    Configure, ConfigureEvent, ConfigureResult, Invoke, InvokeCollector, InvokeEvent, InvokeResult, LogStream,
    fold_configure,
};
use agenttier_core::sse::SseEvent;
use agenttier_core::{Error, Result, api};

use super::{Sandbox, exchange};
use crate::client::wire::SseStream;
use crate::maybe;

/// Agent-mode calls on one sandbox; obtained from [`Sandbox::agent`].
#[derive(Clone, Debug)]
pub struct Agent {
    sandbox: Sandbox,
}

/// The live events of one invocation, in order: `Start` first, `Log` lines, `Exit` last.
///
/// An `Iterator` in the blocking client and a `Stream` in the async one. Dropping it closes the
/// connection, which the Router treats as a cancel. Reads use the client's stream idle timeout,
/// never a total one, so a long run is never cut off by the client.
#[derive(Debug)]
#[must_use = "a stream does nothing unless its events are read"]
pub struct InvokeStream {
    pub(crate) inner: SseStream,
    invoke_id: Option<String>,
}

impl InvokeStream {
    /// The invocation id, once the `Start` event has been read.
    pub fn invoke_id(&self) -> Option<&str> {
        self.invoke_id.as_deref()
    }

    /// Decodes one raw event, remembering the invocation id.
    pub(crate) fn decode(&mut self, item: Option<Result<SseEvent>>) -> Option<Result<InvokeEvent>> {
        let event = item?.and_then(|raw| InvokeEvent::decode(&raw));
        if let Ok(InvokeEvent::Start { invoke_id, .. }) = &event {
            self.invoke_id = Some(invoke_id.clone());
        }
        Some(event)
    }
}

#[maybe]
impl InvokeStream {
    /// The next event, or `None` at the end of the stream.
    pub async fn next_event(&mut self) -> Option<Result<InvokeEvent>> {
        let item = self.inner.next_item().await;
        self.decode(item)
    }
}

impl Sandbox {
    /// Agent-mode calls (the sandbox's template must be an agent template).
    pub fn agent(&self) -> Agent {
        Agent { sandbox: self.clone() }
    }
}

#[maybe]
impl Agent {
    /// Uploads files, runs the install command (skipped when the same files and command were
    /// already installed) and sets the entrypoint.
    ///
    /// A non-zero install exit code is reported in the result, not as an error; an `error`
    /// event from the Router is [`Error::Stream`].
    pub async fn configure(&self, configure: Configure) -> Result<ConfigureResult> {
        self.configure_with_log(configure, |_, _| {}).await
    }

    /// [`configure`](Self::configure), calling `on_log(stream, line)` for every upload and
    /// install output line as it arrives.
    pub async fn configure_with_log(
        &self,
        configure: Configure,
        mut on_log: impl FnMut(&LogStream, &str) + Send,
    ) -> Result<ConfigureResult> {
        let req = api::agent::configure(self.sandbox.id(), &configure)?;
        let mut stream = exchange::stream(&self.sandbox.client.transport, &req).await?;
        while let Some(raw) = stream.next_item().await {
            let event = ConfigureEvent::decode(&raw?)?;
            if let Some(result) = fold_configure(event, &mut on_log)? {
                return Ok(result);
            }
        }
        Err(Error::stream(
            "configure stream ended without a result event; the connection was probably cut",
        ))
    }

    /// Runs the entrypoint once and collects its output.
    pub async fn invoke(&self, invoke: Invoke) -> Result<InvokeResult> {
        let mut stream = self.invoke_stream(invoke).await?;
        let mut collector = InvokeCollector::default();
        while let Some(event) = stream.next_event().await {
            collector.push(event?)?;
        }
        collector.finish()
    }

    /// Runs the entrypoint once and returns its events as they happen.
    pub async fn invoke_stream(&self, invoke: Invoke) -> Result<InvokeStream> {
        let req = api::agent::invoke(self.sandbox.id(), invoke)?;
        let inner = exchange::stream(&self.sandbox.client.transport, &req).await?;
        Ok(InvokeStream { inner, invoke_id: None })
    }

    /// Cancels a running invocation: its whole process tree ends, and its stream ends with an
    /// `Exit` event whose reason is `Canceled`.
    pub async fn invoke_cancel(&self, invoke_id: &str) -> Result<()> {
        let req = api::agent::invoke_cancel(self.sandbox.id(), invoke_id)?;
        exchange::send(&self.sandbox.client.transport, &req).await?;
        Ok(())
    }

    /// The last 8 KiB of output of the last install run by [`configure`](Self::configure);
    /// [`Error::NotFound`] when none ran (or the last configure skipped its install).
    pub async fn install_log(&self) -> Result<String> {
        let req = api::agent::install_log(self.sandbox.id())?;
        let resp = exchange::send(&self.sandbox.client.transport, &req).await?;
        agenttier_core::models::decode_install_log(&resp.body)
    }
}
