//! Webhook subscriptions and their deliveries (wire spec §11.1).
//!
//! Subscriptions and the last 20 deliveries of each are kept in SQLite. A background task takes
//! every audit event, maps it to the platform's event type (`sandbox.running`, `backup.created`,
//! ...) and POSTs it to each enabled subscription that wants it (matching `sandboxId` and
//! `namespace` when the subscription has them), signed with
//! `X-AgentTier-Signature: sha256=<hex HMAC-SHA256 of the raw body keyed by the secret>`. Five
//! attempts with 1/2/4/8 s between them, 10 s per attempt, redirects not followed; a
//! subscription is disabled after 15 consecutive failed deliveries. Unlike the platform, which
//! reports `attempt` as the configured maximum, a delivery record carries the number of
//! attempts really made.
//!
//! Only `http://` URLs reach anything: the local router has no TLS client, so an `https://`
//! subscription (accepted under the platform's rules) records failed deliveries.

use std::collections::BTreeMap;
use std::net::{IpAddr, ToSocketAddrs};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Body;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::errors::{ApiError, RouterError};
use crate::events::Events;
use crate::store::{AuditRow, Store};

/// The event types a subscription may ask for, as the platform names them.
pub(crate) const EVENT_TYPES: &[&str] = &[
    "sandbox.creating",
    "sandbox.running",
    "sandbox.stopped",
    "sandbox.error",
    "sandbox.deleting",
    "backup.created",
    "backup.pruned",
    "share.granted",
    "share.revoked",
    "agent.invoke.started",
    "agent.invoke.completed",
    "agent.invoke.failed",
];

/// Sleeps between delivery attempts.
const BACKOFF: [u64; 4] = [1, 2, 4, 8];
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const DISABLE_AFTER: u32 = 15;
const KEEP_DELIVERIES: usize = 20;

/// The webhook event type of an audit event, if it has one.
fn webhook_type(audit_type: &str) -> Option<&'static str> {
    Some(match audit_type {
        "Creating" | "Resuming" => "sandbox.creating",
        "Running" => "sandbox.running",
        "Stopped" => "sandbox.stopped",
        "Error" => "sandbox.error",
        "Deleting" => "sandbox.deleting",
        "BackupCreated" => "backup.created",
        "BackupDeleted" => "backup.pruned",
        "ShareGranted" => "share.granted",
        "ShareRevoked" => "share.revoked",
        "AgentInvokeStarted" => "agent.invoke.started",
        "AgentInvokeCompleted" => "agent.invoke.completed",
        "AgentInvokeFailed" => "agent.invoke.failed",
        _ => return None,
    })
}

/// One subscription, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Subscription {
    pub id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub created_at: i64,
    pub disabled: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sandbox_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    pub secret: String,
    pub owner_sub: String,
    #[serde(default)]
    pub failures: u32,
}

/// One delivery, as `GET /webhooks/{id}/deliveries` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Delivery {
    pub event_type: String,
    pub timestamp: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
    pub attempt: u32,
    pub success: bool,
}

/// The subscriptions, in memory and in SQLite.
pub(crate) struct Webhooks {
    subs: RwLock<BTreeMap<String, Subscription>>,
    store: Arc<Store>,
    client: Client<HttpConnector, Body>,
}

impl Webhooks {
    pub(crate) fn load(store: Arc<Store>) -> Result<Webhooks, RouterError> {
        let mut subs = BTreeMap::new();
        for doc in store.load_webhooks()? {
            match serde_json::from_str::<Subscription>(&doc) {
                Ok(s) => {
                    subs.insert(s.id.clone(), s);
                }
                Err(e) => tracing::warn!(error = %e, "ignoring unreadable webhook record"),
            }
        }
        Ok(Webhooks {
            subs: RwLock::new(subs),
            store,
            client: Client::builder(TokioExecutor::new()).build_http(),
        })
    }

    fn save(&self, s: &Subscription) -> Result<(), ApiError> {
        let doc = serde_json::to_string(s).unwrap_or_default();
        self.store
            .save_webhook(&s.id, &s.owner_sub, &doc)
            .map_err(|e| ApiError::internal(format!("failed to save webhook subscription: {e}")))
    }

    pub(crate) fn insert(&self, s: Subscription) -> Result<(), ApiError> {
        self.save(&s)?;
        self.subs
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(s.id.clone(), s);
        Ok(())
    }

    pub(crate) fn get(&self, id: &str) -> Option<Subscription> {
        self.subs.read().unwrap_or_else(|p| p.into_inner()).get(id).cloned()
    }

    /// Subscriptions owned by `sub`, oldest first.
    pub(crate) fn owned_by(&self, sub: &str) -> Vec<Subscription> {
        let mut v: Vec<_> = self
            .subs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|s| s.owner_sub == sub)
            .cloned()
            .collect();
        v.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        v
    }

    pub(crate) fn remove(&self, id: &str) -> Result<(), ApiError> {
        self.store
            .delete_webhook(id)
            .map_err(|e| ApiError::internal(format!("failed to delete webhook subscription: {e}")))?;
        self.subs.write().unwrap_or_else(|p| p.into_inner()).remove(id);
        Ok(())
    }

    pub(crate) fn deliveries(&self, id: &str) -> Vec<Delivery> {
        self.store
            .deliveries(id)
            .unwrap_or_default()
            .iter()
            .filter_map(|d| serde_json::from_str(d).ok())
            .collect()
    }

    /// Starts delivering the events of `events`; abort the task to stop.
    pub(crate) fn start(self: Arc<Self>, events: &Events) -> tokio::task::JoinHandle<()> {
        let (tx, mut rx) = mpsc::unbounded_channel::<AuditRow>();
        events.subscribe(tx);
        tokio::spawn(async move {
            while let Some(row) = rx.recv().await {
                let Some(kind) = webhook_type(&row.event_type) else {
                    continue;
                };
                let targets: Vec<Subscription> = self
                    .subs
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .values()
                    .filter(|s| !s.disabled && s.event_types.iter().any(|t| t == kind))
                    .filter(|s| s.sandbox_id.is_empty() || s.sandbox_id == row.sandbox)
                    .filter(|s| s.namespace.is_empty() || s.namespace == row.namespace)
                    .cloned()
                    .collect();
                if targets.is_empty() {
                    continue;
                }
                let body = payload(kind, &row);
                for sub in targets {
                    let this = self.clone();
                    let body = body.clone();
                    tokio::spawn(async move { this.deliver(sub, kind, body).await });
                }
            }
        })
    }

    async fn deliver(&self, sub: Subscription, kind: &str, body: Vec<u8>) {
        let signature = agenttier_core::webhook::sign(&sub.secret, &body);
        let mut last_status = None;
        let mut attempts = 0;
        let mut success = false;
        for attempt in 0..=BACKOFF.len() {
            attempts = attempt as u32 + 1;
            match self.post(&sub.url, &signature, body.clone()).await {
                Ok(status) => {
                    last_status = Some(status);
                    if (200..300).contains(&status) {
                        success = true;
                        break;
                    }
                }
                Err(e) => tracing::debug!(webhook = %sub.id, error = %e, "webhook delivery attempt failed"),
            }
            if let Some(wait) = BACKOFF.get(attempt) {
                tokio::time::sleep(Duration::from_secs(*wait)).await;
            }
        }
        let record = Delivery {
            event_type: kind.to_owned(),
            timestamp: crate::gotime::rfc3339(crate::gotime::now_unix()),
            status_code: last_status,
            attempt: attempts,
            success,
        };
        let doc = serde_json::to_string(&record).unwrap_or_default();
        let mut subs = self.subs.write().unwrap_or_else(|p| p.into_inner());
        let Some(s) = subs.get_mut(&sub.id) else {
            return; // deleted meanwhile
        };
        if let Err(e) = self.store.add_delivery(&sub.id, &doc, KEEP_DELIVERIES) {
            tracing::error!(error = %e, "failed to record a webhook delivery");
        }
        s.failures = if success { 0 } else { s.failures + 1 };
        if s.failures >= DISABLE_AFTER {
            s.disabled = true;
            tracing::warn!(webhook = %s.id, "webhook disabled after {DISABLE_AFTER} consecutive failed deliveries");
        }
        let doc = serde_json::to_string(&*s).unwrap_or_default();
        let _ = self.store.save_webhook(&s.id, &s.owner_sub, &doc);
    }

    async fn post(&self, url: &str, signature: &str, body: Vec<u8>) -> Result<u16, String> {
        if !url.starts_with("http://") {
            return Err("the local router delivers only over plain http".into());
        }
        let req = axum::http::Request::post(url)
            .header("content-type", "application/json")
            .header("user-agent", concat!("agenttier-router/", env!("CARGO_PKG_VERSION")))
            .header(agenttier_core::webhook::SIGNATURE_HEADER, signature)
            .body(Body::from(body))
            .map_err(|e| e.to_string())?;
        let resp = tokio::time::timeout(ATTEMPT_TIMEOUT, self.client.request(req))
            .await
            .map_err(|_| "timed out".to_owned())?
            .map_err(|e| e.to_string())?;
        Ok(resp.status().as_u16())
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Payload<'a> {
    event: &'a str,
    sandbox_id: &'a str,
    namespace: &'a str,
    timestamp: String,
    data: PayloadData<'a>,
}

#[derive(Serialize)]
struct PayloadData<'a> {
    message: &'a str,
}

fn payload(kind: &str, row: &AuditRow) -> Vec<u8> {
    let message = if row.reason.is_empty() {
        &row.event_type
    } else {
        &row.reason
    };
    crate::respond::go_json_bytes(&Payload {
        event: kind,
        sandbox_id: &row.sandbox,
        namespace: &row.namespace,
        timestamp: crate::gotime::rfc3339(row.at_ms / 1000),
        data: PayloadData { message },
    })
}

/// Checks a subscription URL: `https://` to a public address (the platform's rule), or — a
/// local extension — `http://` to a loopback address.
pub(crate) fn check_url(raw: &str) -> Result<(), String> {
    let (scheme, rest) = raw.split_once("://").ok_or("missing scheme")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Err("missing or invalid host".into());
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => {
            if h.contains(':') && !h.starts_with('[') {
                (authority, None) // bare IPv6 without brackets
            } else {
                (h, Some(p.parse::<u16>().map_err(|_| format!("invalid port {p:?}"))?))
            }
        }
        _ => (authority, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let port = port.unwrap_or(if scheme == "https" { 443 } else { 80 });
    let addrs: Vec<IpAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve host {host:?}: {e}"))?
        .map(|a| a.ip())
        .collect();
    if addrs.is_empty() {
        return Err(format!("cannot resolve host {host:?}"));
    }
    match scheme {
        "https" => match addrs.iter().find(|ip| !is_public(ip)) {
            Some(ip) => Err(format!("host {host:?} resolves to a non-public address {ip}")),
            None => Ok(()),
        },
        "http" => {
            if addrs.iter().all(IpAddr::is_loopback) {
                Ok(())
            } else {
                Err("url must use https:// (the local router also accepts http:// to a loopback address)".into())
            }
        }
        _ => Err("url must use https://".into()),
    }
}

fn is_public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => !(v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified()),
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback() || v6.is_unspecified() || (first & 0xfe00) == 0xfc00 || (first & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(check_url("http://localhost:9/x").is_ok());
        assert!(check_url("http://[::1]:9/x").is_ok());
        assert!(check_url("https://127.0.0.1/x").is_err());
        assert!(check_url("https://10.1.2.3/x").is_err());
        assert!(check_url("http://10.1.2.3/x").is_err());
        assert!(check_url("ftp://127.0.0.1/x").is_err());
        assert!(check_url("127.0.0.1/x").is_err());
        assert!(check_url("http://user@127.0.0.1/x").is_err());
    }

    #[test]
    fn event_mapping() {
        assert_eq!(webhook_type("Running"), Some("sandbox.running"));
        assert_eq!(webhook_type("BackupDeleted"), Some("backup.pruned"));
        assert_eq!(webhook_type("PolicyUpdated"), None);
        for t in [
            "Creating",
            "Stopped",
            "Error",
            "Deleting",
            "ShareGranted",
            "ShareRevoked",
        ] {
            assert!(EVENT_TYPES.contains(&webhook_type(t).unwrap()));
        }
    }
}
