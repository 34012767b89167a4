//! MCP progress notifications for long tools (waits, commands, agent configure and invoke).
//!
//! A client asks for progress by putting a `progressToken` in the request's `_meta`; without
//! one, reporting does nothing. A notification that cannot be delivered (the client went away)
//! is dropped: progress is advisory and must never fail the tool.

use rmcp::RoleServer;
use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::service::{Peer, RequestContext};

/// Sends progress notifications for one request.
#[derive(Clone)]
pub(crate) struct Progress {
    peer: Peer<RoleServer>,
    token: Option<ProgressToken>,
}

impl Progress {
    /// The reporter of the request `context` belongs to.
    pub(crate) fn of(context: &RequestContext<RoleServer>) -> Self {
        Progress {
            peer: context.peer.clone(),
            token: context.meta.get_progress_token(),
        }
    }

    /// Reports `progress` (out of `total` when known) with a message. Progress must increase
    /// from one call to the next, as MCP requires.
    pub(crate) async fn report(&self, progress: f64, total: Option<f64>, message: impl Into<String>) {
        let Some(token) = &self.token else { return };
        let mut param = ProgressNotificationParam::new(token.clone(), progress).with_message(message.into());
        if let Some(total) = total {
            param = param.with_total(total);
        }
        if let Err(e) = self.peer.notify_progress(param).await {
            tracing::debug!("progress notification not delivered: {e}");
        }
    }
}
