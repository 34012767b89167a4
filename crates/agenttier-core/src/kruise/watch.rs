//! Watches: the event decoder and the reconnect/relist state machine.
//!
//! A watch response is a chunked stream of JSON objects `{"type": T, "object": O}`, newline
//! separated in practice; [`WatchDecoder`] does not rely on the newlines nor on one event per
//! chunk. [`WatchState`] decides what a long-lived watch does next: list first (unless a
//! `resourceVersion` was given), watch from the last seen `resourceVersion`, reconnect when the
//! server ends a connection, relist after `410 Gone`, stop at the deadline. The client crates
//! only move bytes between the two.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::models::List;
use super::params::{ListParams, WatchParams};
use super::request;
use super::resource::Resource;
use super::status::{KubeErrorKind, KubeStatus};
use crate::request::Request;
use crate::response::decode_error;
use crate::{Error, Result};

/// One watch event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WatchEvent<K> {
    /// The object appeared (or was listed when the watch started or relisted).
    Added(K),
    /// The object changed.
    Modified(K),
    /// The object is gone (its last state).
    Deleted(K),
    /// Only advances the resume point. The clients' watch streams consume these.
    Bookmark {
        /// The new resume point.
        resource_version: String,
    },
    /// The server reported an error in the stream (`410 Expired` most often). The clients'
    /// watch streams relist on 410 and return other errors as `Err`.
    Error(Box<KubeStatus>),
}

impl<K> WatchEvent<K> {
    /// The object of an `Added`, `Modified` or `Deleted` event.
    pub fn object(&self) -> Option<&K> {
        match self {
            WatchEvent::Added(k) | WatchEvent::Modified(k) | WatchEvent::Deleted(k) => Some(k),
            _ => None,
        }
    }

    /// The event type as on the wire (`ADDED`, `MODIFIED`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            WatchEvent::Added(_) => "ADDED",
            WatchEvent::Modified(_) => "MODIFIED",
            WatchEvent::Deleted(_) => "DELETED",
            WatchEvent::Bookmark { .. } => "BOOKMARK",
            WatchEvent::Error(_) => "ERROR",
        }
    }
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(rename = "type")]
    type_: String,
    #[serde(default)]
    object: Value,
}

/// Splits a watch body into events, whatever the chunking.
///
/// ```
/// use agenttier_core::kruise::{Sandbox, WatchDecoder, WatchEvent};
/// let mut decoder = WatchDecoder::<Sandbox>::new();
/// assert!(decoder.push(br#"{"type":"ADDED","object":{"metadata":{"name":"a","resour"#).is_empty());
/// let events = decoder.push(b"ceVersion\":\"5\"}}}\n{\"type\":\"BOOKMARK\",\"object\":{\"metadata\":{\"resourceVersion\":\"6\"}}}\n");
/// assert!(matches!(&events[0], Ok(WatchEvent::Added(s)) if s.metadata.name.as_deref() == Some("a")));
/// assert!(matches!(&events[1], Ok(WatchEvent::Bookmark { resource_version }) if resource_version == "6"));
/// assert!(decoder.finish().is_ok());
/// ```
#[derive(Debug)]
pub struct WatchDecoder<K> {
    buf: Vec<u8>,
    _kind: std::marker::PhantomData<fn() -> K>,
}

impl<K> Default for WatchDecoder<K> {
    fn default() -> Self {
        WatchDecoder {
            buf: Vec::new(),
            _kind: std::marker::PhantomData,
        }
    }
}

impl<K: DeserializeOwned> WatchDecoder<K> {
    /// An empty decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds bytes; returns every event they complete. A syntax error skips to the next line.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Result<WatchEvent<K>>> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut consumed = 0;
        loop {
            let rest = &self.buf[consumed..];
            let start = rest.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(rest.len());
            if start == rest.len() {
                consumed = self.buf.len();
                break;
            }
            let mut stream = serde_json::Deserializer::from_slice(&rest[start..]).into_iter::<RawEvent>();
            match stream.next() {
                Some(Ok(raw)) => {
                    consumed += start + stream.byte_offset();
                    out.push(convert(raw));
                }
                Some(Err(e)) if e.is_eof() => {
                    consumed += start;
                    break;
                }
                Some(Err(e)) => {
                    let bad = &rest[start..];
                    let skip = bad.iter().position(|&b| b == b'\n').map_or(bad.len(), |n| n + 1);
                    out.push(Err(decode_error("a watch event", &e.to_string(), &bad[..skip])));
                    consumed += start + skip;
                }
                None => {
                    consumed = self.buf.len();
                    break;
                }
            }
        }
        self.buf.drain(..consumed);
        out
    }

    /// Ends the stream: an error if a partial event is left over (the connection was cut mid-event).
    pub fn finish(&mut self) -> Result<()> {
        let tail = std::mem::take(&mut self.buf);
        if tail.iter().all(u8::is_ascii_whitespace) {
            Ok(())
        } else {
            Err(Error::stream(format!(
                "watch stream ended inside an event ({} bytes left over)",
                tail.len()
            )))
        }
    }
}

fn convert<K: DeserializeOwned>(raw: RawEvent) -> Result<WatchEvent<K>> {
    let object = |value: Value| -> Result<K> {
        serde_json::from_value(value.clone())
            .map_err(|e| decode_error("a watch event object", &e.to_string(), value.to_string().as_bytes()))
    };
    match raw.type_.as_str() {
        "ADDED" => Ok(WatchEvent::Added(object(raw.object)?)),
        "MODIFIED" => Ok(WatchEvent::Modified(object(raw.object)?)),
        "DELETED" => Ok(WatchEvent::Deleted(object(raw.object)?)),
        "BOOKMARK" => {
            let rv = raw.object.pointer("/metadata/resourceVersion").and_then(Value::as_str);
            Ok(WatchEvent::Bookmark {
                resource_version: rv.unwrap_or_default().to_owned(),
            })
        }
        "ERROR" => Ok(WatchEvent::Error(Box::new(KubeStatus::from_value(&raw.object)))),
        other => Err(Error::stream(format!("unknown watch event type {other:?}"))),
    }
}

/// What a watch does next.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum WatchStep {
    /// List everything (following `continue` tokens), then hand the result to
    /// [`WatchState::on_list`].
    List(ListParams),
    /// Open this watch request and feed its events to [`WatchState::on_event`].
    Watch(Request),
    /// The deadline has passed: the watch is over.
    End,
}

/// What one decoded event means to the watch.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Seen<K> {
    /// Give this event to the caller.
    Event(WatchEvent<K>),
    /// Nothing for the caller (a bookmark).
    Quiet,
    /// Events were lost (410): drop the connection; the next step relists.
    Restart,
}

/// The reconnect/relist state machine of a long-lived watch.
///
/// It remembers the last seen `resourceVersion` and the objects seen (by name), so that a
/// relist after `410 Gone` reports what changed during the gap: objects that are new or
/// changed as `Added`/`Modified`, objects that vanished as `Deleted`.
#[derive(Debug)]
pub struct WatchState<K> {
    namespace: Option<String>,
    params: WatchParams,
    last_rv: Option<String>,
    relist: bool,
    known: BTreeMap<String, K>,
    deadline: Option<Instant>,
    read_timeout: Duration,
}

/// Seconds kept between the server's `timeoutSeconds` and the client's read timeout, so that a
/// quiet watch is ended by the server, not by the client.
const MARGIN: Duration = Duration::from_secs(5);

impl<K: Resource> WatchState<K> {
    /// A watch of `namespace` (`None`: all namespaces) starting at `now`. `read_timeout` is the
    /// client's idle read timeout; each connection asks the server to end sooner.
    pub fn new(namespace: Option<String>, params: WatchParams, now: Instant, read_timeout: Duration) -> Self {
        let last_rv = params.resource_version.clone().filter(|rv| !rv.is_empty());
        WatchState {
            namespace,
            relist: last_rv.is_none(),
            last_rv,
            deadline: params.timeout.map(|t| now + t),
            params,
            known: BTreeMap::new(),
            read_timeout,
        }
    }

    /// The resume point: the `resourceVersion` of the last event, bookmark or list.
    pub fn resource_version(&self) -> Option<&str> {
        self.last_rv.as_deref()
    }

    /// Time left before the deadline (`None`: no deadline).
    pub fn remaining(&self, now: Instant) -> Option<Duration> {
        self.deadline.map(|d| d.saturating_duration_since(now))
    }

    /// The next thing to do.
    pub fn next_step(&mut self, now: Instant) -> Result<WatchStep> {
        let remaining = self.remaining(now);
        if remaining.is_some_and(|r| r.is_zero()) {
            return Ok(WatchStep::End);
        }
        if self.relist {
            return Ok(WatchStep::List(self.params.list_params()));
        }
        let cap = self.read_timeout.saturating_sub(MARGIN).max(Duration::from_secs(1));
        let server = remaining.map_or(cap, |r| r.min(cap));
        let mut req = request::watch::<K>(self.namespace.as_deref(), &self.params, self.last_rv.as_deref(), server)?;
        if let Some(r) = remaining {
            // The client's own cap: a server that ignores timeoutSeconds cannot hold us past the deadline.
            req = req.timeout(r + Duration::from_secs(1));
        }
        Ok(WatchStep::Watch(req))
    }

    /// Takes a complete list (all pages) and returns the events it implies.
    pub fn on_list(&mut self, list: List<K>) -> Vec<WatchEvent<K>> {
        self.relist = false;
        self.last_rv = Some(list.resource_version).filter(|rv| !rv.is_empty());
        let mut fresh = BTreeMap::new();
        let mut events = Vec::new();
        for item in list.items {
            let key = key_of(&item);
            match self.known.remove(&key) {
                None => events.push(WatchEvent::Added(item.clone())),
                Some(old) if old.resource_version() != item.resource_version() => {
                    events.push(WatchEvent::Modified(item.clone()))
                }
                Some(_) => {}
            }
            fresh.insert(key, item);
        }
        events.extend(std::mem::take(&mut self.known).into_values().map(WatchEvent::Deleted));
        self.known = fresh;
        events
    }

    /// Takes one decoded event.
    pub fn on_event(&mut self, event: WatchEvent<K>) -> Result<Seen<K>> {
        match &event {
            WatchEvent::Added(k) | WatchEvent::Modified(k) => {
                self.advance(k.resource_version());
                self.known.insert(key_of(k), k.clone());
            }
            WatchEvent::Deleted(k) => {
                self.advance(k.resource_version());
                self.known.remove(&key_of(k));
            }
            WatchEvent::Bookmark { resource_version } => {
                let rv = resource_version.clone();
                self.advance(&rv);
                return Ok(Seen::Quiet);
            }
            WatchEvent::Error(status) => {
                if status.kind() == KubeErrorKind::Gone {
                    self.on_gone();
                    return Ok(Seen::Restart);
                }
                return Err(Error::Kubernetes { status: status.clone() });
            }
        }
        Ok(Seen::Event(event))
    }

    /// The watch or list request itself answered 410: relist.
    pub fn on_gone(&mut self) {
        self.relist = true;
    }

    fn advance(&mut self, rv: &str) {
        if !rv.is_empty() {
            self.last_rv = Some(rv.to_owned());
        }
    }
}

fn key_of<K: Resource>(k: &K) -> String {
    format!("{}/{}", k.metadata().namespace.as_deref().unwrap_or(""), k.name())
}

/// A FIFO of events waiting to be handed out (used by the clients' watch streams).
pub type Pending<K> = VecDeque<Result<WatchEvent<K>>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kruise::Sandbox;

    fn sbx(name: &str, rv: &str) -> Sandbox {
        let mut s = Sandbox::from_template_ref(name, "t");
        s.metadata.resource_version = Some(rv.into());
        s
    }

    fn event(t: &str, name: &str, rv: &str) -> String {
        format!(
            r#"{{"type":"{t}","object":{{"kind":"Sandbox","metadata":{{"name":"{name}","resourceVersion":"{rv}"}}}}}}"#
        ) + "\n"
    }

    #[test]
    fn decoder_copes_with_any_chunking() {
        let body = [
            event("ADDED", "a", "1"),
            event("MODIFIED", "a", "2"),
            r#"{"type":"BOOKMARK","object":{"kind":"Sandbox","metadata":{"resourceVersion":"3","annotations":{"k8s.io/initial-events-end":"true"}}}}"#.to_owned() + "\n",
            event("DELETED", "a", "4"),
            r#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410}}"#.to_owned() + "\n",
        ]
        .concat();
        let bytes = body.as_bytes();
        for chunk in [1, 2, 7, 64, bytes.len()] {
            let mut d = WatchDecoder::<Sandbox>::new();
            let mut types = Vec::new();
            for piece in bytes.chunks(chunk) {
                for e in d.push(piece) {
                    types.push(e.unwrap().type_name());
                }
            }
            d.finish().unwrap();
            assert_eq!(
                types,
                ["ADDED", "MODIFIED", "BOOKMARK", "DELETED", "ERROR"],
                "chunk {chunk}"
            );
        }
        // Several events per chunk, without newlines between them.
        let mut d = WatchDecoder::<Sandbox>::new();
        let glued = event("ADDED", "a", "1").trim().to_owned() + event("ADDED", "b", "2").trim();
        assert_eq!(d.push(glued.as_bytes()).len(), 2);
    }

    #[test]
    fn decoder_reports_garbage_and_truncation() {
        let mut d = WatchDecoder::<Sandbox>::new();
        let out = d.push(format!("{{not json}}\n{}", event("ADDED", "a", "1")).as_bytes());
        assert!(out[0].is_err());
        assert!(matches!(out[1], Ok(WatchEvent::Added(_))));
        assert!(d.push(br#"{"type":"ADDED","obj"#).is_empty());
        assert!(matches!(d.finish(), Err(Error::Stream { .. })));
        let mut d = WatchDecoder::<Sandbox>::new();
        let out = d.push(b"{\"type\":\"EXPLODED\",\"object\":{}}\n");
        assert!(out[0].is_err());
    }

    #[test]
    fn lists_first_then_watches_from_the_list() {
        let now = Instant::now();
        let mut w =
            WatchState::<Sandbox>::new(Some("ns".into()), WatchParams::default(), now, Duration::from_secs(300));
        let WatchStep::List(lp) = w.next_step(now).unwrap() else {
            panic!()
        };
        assert_eq!(lp.limit, Some(500));
        let events = w.on_list(List {
            items: vec![sbx("a", "3"), sbx("b", "4")],
            resource_version: "10".into(),
            ..Default::default()
        });
        assert_eq!(events.len(), 2);
        let WatchStep::Watch(req) = w.next_step(now).unwrap() else {
            panic!()
        };
        let url = req.url("https://k");
        assert_eq!(
            url,
            "https://k/apis/agents.kruise.io/v1alpha1/namespaces/ns/sandboxes?watch=true&resourceVersion=10&allowWatchBookmarks=true&timeoutSeconds=295"
        );
        assert!(req.is_streaming() && req.timeout.is_none());
    }

    #[test]
    fn reconnects_from_last_rv_and_relists_on_gone() {
        let now = Instant::now();
        let params = WatchParams::default()
            .resource_version("5")
            .timeout(Duration::from_secs(60));
        let mut w = WatchState::<Sandbox>::new(None, params, now, Duration::from_secs(300));
        let WatchStep::Watch(req) = w.next_step(now).unwrap() else {
            panic!()
        };
        assert!(
            req.url("")
                .contains("resourceVersion=5&allowWatchBookmarks=true&timeoutSeconds=60")
        );
        assert_eq!(req.timeout, Some(Duration::from_secs(61)));
        assert!(matches!(
            w.on_event(WatchEvent::Added(sbx("a", "6"))).unwrap(),
            Seen::Event(_)
        ));
        assert!(matches!(
            w.on_event(WatchEvent::Added(sbx("b", "7"))).unwrap(),
            Seen::Event(_)
        ));
        assert_eq!(
            w.on_event(WatchEvent::Bookmark {
                resource_version: "9".into()
            })
            .unwrap(),
            Seen::Quiet
        );
        // The server closed the connection: reconnect from the bookmark, with less time left.
        let later = now + Duration::from_secs(20);
        let WatchStep::Watch(req) = w.next_step(later).unwrap() else {
            panic!()
        };
        assert!(
            req.url("")
                .contains("resourceVersion=9&allowWatchBookmarks=true&timeoutSeconds=40"),
            "{}",
            req.url("")
        );
        // 410 in the stream: relist, and report what changed in the gap.
        let gone = KubeStatus::from_body(
            410,
            br#"{"kind":"Status","reason":"Expired","code":410,"message":"too old"}"#,
        );
        assert_eq!(w.on_event(WatchEvent::Error(Box::new(gone))).unwrap(), Seen::Restart);
        assert!(matches!(w.next_step(later).unwrap(), WatchStep::List(_)));
        let events = w.on_list(List {
            items: vec![sbx("a", "6"), sbx("c", "12")],
            resource_version: "15".into(),
            ..Default::default()
        });
        let summary: Vec<_> = events
            .iter()
            .map(|e| (e.type_name(), e.object().unwrap().name().to_owned()))
            .collect();
        assert_eq!(summary, [("ADDED", "c".to_owned()), ("DELETED", "b".to_owned())]);
        assert_eq!(w.resource_version(), Some("15"));
        // Other errors are errors; the deadline ends the watch.
        let forbidden = KubeStatus::from_body(
            403,
            br#"{"kind":"Status","reason":"Forbidden","code":403,"message":"no"}"#,
        );
        assert!(w.on_event(WatchEvent::Error(Box::new(forbidden))).is_err());
        assert_eq!(w.next_step(now + Duration::from_secs(60)).unwrap(), WatchStep::End);
    }
}
