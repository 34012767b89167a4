//! Webhook subscriptions and their deliveries (wire spec §11.1).
//!
//! Subscriptions and the last 20 deliveries of each are kept in SQLite. A background task takes
//! every audit event, maps it to the platform's event type (`sandbox.running`, `backup.created`,
//! ...) and POSTs it to each enabled subscription that wants it (matching `sandboxId` and
//! `namespace` when the subscription has them), signed with
//! `X-AgentTier-Signature: sha256=<hex HMAC-SHA256 of the raw body keyed by the secret>`. Five
//! attempts with 1/2/4/8 s between them; a subscription is disabled after 15 consecutive failed
//! deliveries. Unlike the platform, which reports `attempt` as the configured maximum, a
//! delivery record carries the number of attempts really made.
//!
//! Defences (a subscriber is not trusted):
//! * Each attempt resolves the host once (on tokio's blocking pool, never on a worker), checks
//!   every address against the URL's rule (`http://`: loopback only), connects to the checked
//!   address itself and verifies the connected peer, so DNS rebinding cannot turn an accepted
//!   name into a request to another address. Redirects are never followed.
//! * Connect within 5 s and answer within the webhook timeout (10 s by default); an attempt
//!   that times out ends the delivery at once as a failure (it counts for the disable rule
//!   without four more waits).
//! * At most 4 deliveries of one subscription and 64 in all are in flight; an event beyond
//!   that is recorded as a failed delivery (attempt 0) instead of opening a connection, so a
//!   subscriber that never answers cannot exhaust file descriptors.
//! * A subscription bound to a sandbox is removed when that sandbox is deleted (after its
//!   `sandbox.deleting` event), so a new sandbox of the same name never feeds it.
//!
//! Only `http://` URLs reach anything: the local router has no TLS client, so an `https://`
//! subscription (accepted under the platform's rules) records failed deliveries.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::body::Body;
use hyper_util::rt::TokioIo;
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
/// Time to resolve the host and connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const DISABLE_AFTER: u32 = 15;
/// Deliveries of one subscription in flight at once.
const IN_FLIGHT_PER_SUBSCRIPTION: usize = 4;
/// Deliveries in flight at once, all subscriptions together.
const IN_FLIGHT_TOTAL: usize = 64;
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
    /// Time a subscriber has to answer an attempt.
    timeout: Duration,
    in_flight: Mutex<InFlight>,
}

/// Deliveries under way, by subscription.
#[derive(Default)]
struct InFlight {
    by_subscription: HashMap<String, usize>,
    total: usize,
}

/// One delivery's place among those in flight; freed on drop.
struct Admitted<'a> {
    webhooks: &'a Webhooks,
    id: String,
}

impl Drop for Admitted<'_> {
    fn drop(&mut self) {
        let mut f = self.webhooks.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        f.total = f.total.saturating_sub(1);
        if let Some(n) = f.by_subscription.get_mut(&self.id) {
            *n -= 1;
            if *n == 0 {
                f.by_subscription.remove(&self.id);
            }
        }
    }
}

/// Why an attempt failed.
enum Failure {
    /// No answer in time: the delivery ends now.
    TimedOut,
    /// Anything else: the next attempt may succeed.
    Other(String),
}

impl Webhooks {
    pub(crate) fn load(store: Arc<Store>, timeout: Duration) -> Result<Webhooks, RouterError> {
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
            timeout,
            in_flight: Mutex::default(),
        })
    }

    /// Takes a place for a delivery of subscription `id`, if one is free.
    fn admit(&self, id: &str) -> Option<Admitted<'_>> {
        let mut f = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let mine = f.by_subscription.get(id).copied().unwrap_or(0);
        if mine >= IN_FLIGHT_PER_SUBSCRIPTION || f.total >= IN_FLIGHT_TOTAL {
            return None;
        }
        f.total += 1;
        *f.by_subscription.entry(id.to_owned()).or_default() += 1;
        Some(Admitted {
            webhooks: self,
            id: id.to_owned(),
        })
    }

    /// Removes the subscriptions bound to sandbox `name` (it was deleted).
    fn forget_sandbox(&self, name: &str) {
        let bound: Vec<String> = self
            .subs
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .filter(|s| s.sandbox_id == name)
            .map(|s| s.id.clone())
            .collect();
        for id in bound {
            match self.remove(&id) {
                Ok(()) => tracing::info!(webhook = %id, sandbox = %name, "webhook removed with its sandbox"),
                Err(e) => {
                    tracing::error!(webhook = %id, error = ?e, "failed to remove the webhook of a deleted sandbox")
                }
            }
        }
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
                let deleted = (kind == "sandbox.deleting").then(|| row.sandbox.clone());
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
                let body = payload(kind, &row);
                for sub in targets {
                    let this = self.clone();
                    let body = body.clone();
                    tokio::spawn(async move { this.deliver(sub, kind, body).await });
                }
                // Events are handled in order: the deleted sandbox's subscriptions are gone
                // before any event of a new sandbox with the same name.
                if let Some(name) = deleted {
                    self.forget_sandbox(&name);
                }
            }
        })
    }

    async fn deliver(&self, sub: Subscription, kind: &str, body: Vec<u8>) {
        let signature = agenttier_core::webhook::sign(&sub.secret, &body);
        let mut last_status = None;
        let mut attempts = 0;
        let mut success = false;
        let admitted = self.admit(&sub.id);
        if admitted.is_none() {
            tracing::warn!(webhook = %sub.id, "too many webhook deliveries in flight; this one is recorded as failed");
        }
        for attempt in 0..=BACKOFF.len() {
            if admitted.is_none() {
                break;
            }
            attempts = attempt as u32 + 1;
            match self.post(&sub.url, &signature, body.clone()).await {
                Ok(status) => {
                    last_status = Some(status);
                    if (200..300).contains(&status) {
                        success = true;
                        break;
                    }
                }
                Err(Failure::TimedOut) => {
                    tracing::debug!(webhook = %sub.id, "webhook delivery attempt timed out; giving up");
                    break;
                }
                Err(Failure::Other(e)) => {
                    tracing::debug!(webhook = %sub.id, error = %e, "webhook delivery attempt failed")
                }
            }
            if let Some(wait) = BACKOFF.get(attempt) {
                tokio::time::sleep(Duration::from_secs(*wait)).await;
            }
        }
        drop(admitted);
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

    /// One attempt: resolve once, check, connect to the checked address, POST, read the status.
    async fn post(&self, url: &str, signature: &str, body: Vec<u8>) -> Result<u16, Failure> {
        let target = Target::parse(url).map_err(Failure::Other)?;
        if target.scheme != "http" {
            return Err(Failure::Other("the local router delivers only over plain http".into()));
        }
        let connect = async {
            let addr = resolve_checked(&target).await?;
            let tcp = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            let peer = tcp.peer_addr().map_err(|e| format!("connect: {e}"))?;
            if peer.ip() != addr.ip() || !allowed(&target.scheme, &peer.ip()) {
                return Err(format!("connected to {peer}, not the checked address {addr}"));
            }
            Ok(tcp)
        };
        let tcp = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| Failure::TimedOut)?
            .map_err(Failure::Other)?;
        let exchange = async {
            let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Body>(TokioIo::new(tcp)).await?;
            let driver = tokio::spawn(conn);
            let req = axum::http::Request::post(&target.path)
                .header("host", &target.authority)
                .header("content-type", "application/json")
                .header("user-agent", concat!("agenttier-router/", env!("CARGO_PKG_VERSION")))
                .header(agenttier_core::webhook::SIGNATURE_HEADER, signature)
                .body(Body::from(body));
            let Ok(req) = req else {
                driver.abort();
                return Ok(None);
            };
            let status = sender.send_request(req).await.map(|r| r.status().as_u16());
            driver.abort(); // the connection is not reused
            status.map(Some)
        };
        match tokio::time::timeout(self.timeout, exchange).await {
            Err(_) => Err(Failure::TimedOut),
            Ok(Err(e)) => Err(Failure::Other(e.to_string())),
            Ok(Ok(None)) => Err(Failure::Other("invalid request target".into())),
            Ok(Ok(Some(status))) => Ok(status),
        }
    }
}

/// A subscription URL taken apart.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    scheme: String,
    /// Host without brackets.
    host: String,
    port: u16,
    /// `host[:port]` as written, for the `Host` header.
    authority: String,
    /// Path and query, at least `/`.
    path: String,
}

impl Target {
    fn parse(raw: &str) -> Result<Target, String> {
        let (scheme, rest) = raw.split_once("://").ok_or("missing scheme")?;
        let scheme = scheme.to_ascii_lowercase();
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.is_empty() || authority.contains('@') {
            return Err("missing or invalid host".into());
        }
        let port_of = |p: &str| p.parse::<u16>().map_err(|_| format!("invalid port {p:?}"));
        let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
            let (host, after) = bracketed.split_once(']').ok_or("missing or invalid host")?;
            match after {
                "" => (host, None),
                p => (
                    host,
                    Some(port_of(p.strip_prefix(':').ok_or("missing or invalid host")?)?),
                ),
            }
        } else {
            match authority.split_once(':') {
                Some((h, p)) => (h, Some(port_of(p)?)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err("missing or invalid host".into());
        }
        let tail = tail.split('#').next().unwrap_or("");
        let path = match tail {
            "" => "/".to_owned(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_owned(),
        };
        Ok(Target {
            port: port.unwrap_or(if scheme == "https" { 443 } else { 80 }),
            scheme,
            host: host.to_owned(),
            authority: authority.to_owned(),
            path,
        })
    }
}

/// Whether a subscription of `scheme` may reach `ip`: `https://` public addresses (the
/// platform's rule), `http://` loopback ones (a local extension).
fn allowed(scheme: &str, ip: &IpAddr) -> bool {
    match scheme {
        "https" => is_public(ip),
        "http" => ip.is_loopback(),
        _ => false,
    }
}

/// Resolves the target's host once (tokio runs the lookup on its blocking pool) and returns an
/// address to connect to, when every address it resolves to is allowed.
async fn resolve_checked(target: &Target) -> Result<SocketAddr, String> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((target.host.as_str(), target.port))
        .await
        .map_err(|e| format!("cannot resolve host {:?}: {e}", target.host))?
        .collect();
    checked(&target.scheme, &target.host, &addrs)
}

/// The first of `addrs` when all of them are allowed for `scheme`.
fn checked(scheme: &str, host: &str, addrs: &[SocketAddr]) -> Result<SocketAddr, String> {
    let first = addrs.first().ok_or_else(|| format!("cannot resolve host {host:?}"))?;
    match addrs.iter().find(|a| !allowed(scheme, &a.ip())) {
        None => Ok(*first),
        Some(bad) if scheme == "https" => Err(format!("host {host:?} resolves to a non-public address {}", bad.ip())),
        Some(_) if scheme == "http" => {
            Err("url must use https:// (the local router also accepts http:// to a loopback address)".into())
        }
        Some(_) => Err("url must use https://".into()),
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
/// local extension — `http://` to a loopback address. Resolves without blocking a worker.
pub(crate) async fn check_url(raw: &str) -> Result<(), String> {
    let target = Target::parse(raw)?;
    if !matches!(target.scheme.as_str(), "http" | "https") {
        return Err("url must use https://".into());
    }
    resolve_checked(&target).await.map(|_| ())
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

    #[tokio::test]
    async fn urls() {
        assert!(check_url("http://127.0.0.1:9000/hook").await.is_ok());
        assert!(check_url("http://localhost:9/x").await.is_ok());
        assert!(check_url("http://[::1]:9/x").await.is_ok());
        assert!(check_url("https://127.0.0.1/x").await.is_err());
        assert!(check_url("https://10.1.2.3/x").await.is_err());
        assert!(check_url("http://10.1.2.3/x").await.is_err());
        assert!(check_url("ftp://127.0.0.1/x").await.is_err());
        assert!(check_url("127.0.0.1/x").await.is_err());
        assert!(check_url("http://user@127.0.0.1/x").await.is_err());
    }

    #[test]
    fn targets() {
        let t = Target::parse("http://LOCALHOST:9000?a=1#frag").unwrap();
        assert_eq!(
            (
                t.scheme.as_str(),
                t.host.as_str(),
                t.port,
                t.authority.as_str(),
                t.path.as_str()
            ),
            ("http", "LOCALHOST", 9000, "LOCALHOST:9000", "/?a=1")
        );
        let t = Target::parse("https://[::1]/hook/x").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.path.as_str()), ("::1", 443, "/hook/x"));
        assert!(Target::parse("http://:80/").is_err());
        assert!(Target::parse("http://h:99999/").is_err());
    }

    /// DNS rebinding: the name that resolved to loopback when the subscription was made now
    /// resolves (also) elsewhere; the attempt refuses to connect at all.
    #[test]
    fn rebound_addresses_are_refused_at_send_time() {
        let lo: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let lan: SocketAddr = "192.168.1.10:9".parse().unwrap();
        let public: SocketAddr = "93.184.216.34:443".parse().unwrap();
        assert_eq!(checked("http", "h", &[lo]), Ok(lo));
        assert!(checked("http", "h", &[lan]).is_err());
        assert!(checked("http", "h", &[lo, lan]).is_err(), "one bad address is enough");
        assert!(checked("https", "h", &[public, lo]).is_err());
        assert_eq!(checked("https", "h", &[public]), Ok(public));
        assert!(checked("http", "h", &[]).is_err());
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
