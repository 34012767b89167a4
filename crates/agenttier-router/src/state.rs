//! Shared state of the HTTP handlers.

use std::sync::Arc;

use axum::body::Body;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;

use crate::auth::Auth;
use crate::governance::Governance;
use crate::sandbox::Sandboxes;
use crate::templates::Templates;

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub(crate) struct AppState {
    pub sandboxes: Arc<Sandboxes>,
    pub auth: Arc<Auth>,
    pub templates: Arc<Templates>,
    pub governance: Arc<Governance>,
    /// Agent mode: in-flight invokes and their limits.
    pub agents: Arc<crate::agent::Agents>,
    /// HTTP client for the preview proxy.
    pub proxy_client: Client<HttpConnector, Body>,
    /// Workspace snapshots (backups, clones).
    pub snapshots: Arc<crate::snapshots::Snapshots>,
    /// The audit log, which also feeds webhook deliveries.
    pub events: Arc<crate::events::Events>,
    /// Webhook subscriptions and their deliveries.
    pub webhooks: Arc<crate::webhooks::Webhooks>,
    /// The state database, for the routes that keep small records of their own.
    pub store: Arc<crate::store::Store>,
    /// Agent-mode counters for `GET /metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Terminal WebSocket settings and open sessions.
    pub terminals: Arc<crate::terminal::Terminals>,
    /// Concurrent execs per sandbox and per user.
    pub exec_limits: Arc<crate::limits::ExecLimits>,
}

impl AppState {
    /// The parts a new sandbox touches, for [`crate::provision`].
    pub(crate) fn provision(&self) -> crate::provision::Provision<'_> {
        crate::provision::Provision {
            sandboxes: &self.sandboxes,
            templates: &self.templates,
            governance: &self.governance,
            snapshots: &self.snapshots,
            events: &self.events,
        }
    }
}
