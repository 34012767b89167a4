//! Audit events (wire spec §10.2) and the feed of webhook deliveries (§11.1).
//!
//! Every state change the router makes is recorded here, persisted in SQLite with a millisecond
//! timestamp, and handed to the webhook dispatcher. Sandbox lifecycle transitions arrive through
//! the sandbox table's observer; the routes record the rest (clone, update, backups, sharing,
//! keys, policies, webhooks, warm pool, headroom). Analytics read the same records to measure
//! start-up times and running lifetimes.
//!
//! The log is bounded: only the newest `retention` events are kept (50 000 by default,
//! [`crate::RouterOptions::audit_retention`]); each new event prunes the oldest beyond that.

use std::sync::{Arc, OnceLock};

use tokio::sync::mpsc::UnboundedSender;

use crate::auth::Identity;
use crate::sandbox::record::SandboxRecord;
use crate::store::{AuditRow, Store};

/// The audit log and the webhook feed.
pub(crate) struct Events {
    store: Arc<Store>,
    feed: OnceLock<UnboundedSender<AuditRow>>,
    /// Events kept (0 = all).
    retention: usize,
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

impl Events {
    pub(crate) fn new(store: Arc<Store>, retention: usize) -> Events {
        Events {
            store,
            feed: OnceLock::new(),
            retention,
        }
    }

    /// Sends every later event to `feed` too (the webhook dispatcher); once.
    pub(crate) fn subscribe(&self, feed: UnboundedSender<AuditRow>) {
        let _ = self.feed.set(feed);
    }

    fn push(&self, row: AuditRow) {
        if let Err(e) = self.store.add_audit(&row, self.retention) {
            tracing::error!(error = %e, event = %row.event_type, "failed to record audit event");
        }
        if let Some(feed) = self.feed.get() {
            let _ = feed.send(row);
        }
    }

    /// An event about a sandbox, caused by `who` (`None`: the router itself).
    pub(crate) fn sandbox(&self, rec: &SandboxRecord, event_type: &str, reason: &str, who: Option<&Identity>) {
        self.push(AuditRow {
            at_ms: now_ms(),
            event_type: event_type.to_owned(),
            sandbox: rec.name.clone(),
            namespace: rec.namespace.clone(),
            template: rec.template.clone(),
            user_email: who.map_or_else(|| rec.owner.email.clone(), |w| w.email.clone()),
            reason: reason.to_owned(),
        });
    }

    /// An event about something other than a sandbox (keys, policies, webhooks, settings).
    pub(crate) fn other(&self, event_type: &str, reason: &str, who: &Identity) {
        self.push(AuditRow {
            at_ms: now_ms(),
            event_type: event_type.to_owned(),
            sandbox: String::new(),
            namespace: String::new(),
            template: String::new(),
            user_email: who.email.clone(),
            reason: reason.to_owned(),
        });
    }

    /// Every recorded event, oldest first.
    pub(crate) fn all(&self) -> Vec<AuditRow> {
        self.store.audit_events().unwrap_or_default()
    }
}
