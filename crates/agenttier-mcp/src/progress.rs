//! MCP progress notifications for long tools (waits, commands, agent configure and invoke).
//!
//! A client asks for progress by putting a `progressToken` in the request's `_meta`; without
//! one, reporting does nothing. A notification that cannot be delivered (the client went away)
//! is dropped: progress is advisory and must never fail the tool. Long tools also stop when
//! the client cancels the request.

use std::future::Future;
use std::time::{Duration, Instant};

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

/// Runs `work` unless the request is cancelled first (`None`): dropping the SDK call closes its
/// connection, which makes the Router end what it was doing.
pub(crate) async fn with_cancel<T>(context: &RequestContext<RoleServer>, work: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        value = work => Some(value),
        () = context.ct.cancelled() => None,
    }
}

/// [`with_cancel`], also reporting elapsed seconds as progress once a second.
pub(crate) async fn with_heartbeat<T>(
    context: &RequestContext<RoleServer>,
    total: Option<f64>,
    message: &str,
    work: impl Future<Output = T>,
) -> Option<T> {
    let progress = Progress::of(context);
    let started = Instant::now();
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    ticks.tick().await;
    tokio::pin!(work);
    loop {
        tokio::select! {
            value = &mut work => return Some(value),
            () = context.ct.cancelled() => return None,
            _ = ticks.tick() => {
                let elapsed = started.elapsed().as_secs_f64();
                progress.report(elapsed, total, format!("{message} ({elapsed:.0} s)")).await;
            }
        }
    }
}
