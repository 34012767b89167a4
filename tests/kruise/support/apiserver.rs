//! A small stateful **fake** of the Kubernetes API server for the two OpenKruise kinds.
//!
//! It is a test double, not Kubernetes. It copies the apiserver behaviours the SDK relies on
//! (each rule below names the behaviour it imitates) and nothing else: no schema validation or
//! pruning, no defaulting, no RBAC, no admission, no controllers — a Sandbox only becomes Ready
//! because a test writes its status. Real-cluster behaviour is checked by the opt-in
//! `AGENTTIER_KRUISE_E2E=1` tests only.
//!
//! Knobs for fault tests: require a bearer token (and reject one token with 401), close every
//! watch connection after N events, ignore `timeoutSeconds`, compact the event log (watches from
//! older versions get `ERROR 410 Expired`), serve over TLS with client-certificate checks. Every
//! request is recorded.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const ROOT: &str = "/apis/agents.kruise.io/v1alpha1";

/// A recorded request.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub headers: BTreeMap<String, String>,
}

#[derive(Default)]
struct State {
    objects: BTreeMap<(String, String, String), Value>,
    events: Vec<(u64, String, String, Value)>,
    rv: u64,
    compacted: u64,
    seen: Vec<Seen>,
    token: Option<String>,
    reject_token: Option<String>,
    close_watch_after: Option<usize>,
    ignore_timeout: bool,
}

/// Knobs and state, shared with the server threads.
pub struct FakeApiServer {
    url: String,
    state: Arc<(Mutex<State>, Condvar)>,
}

type Reply = (u16, Value);

fn status(code: u16, reason: &str, message: &str) -> Reply {
    (
        code,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}),
    )
}

impl FakeApiServer {
    /// Serves plain HTTP on 127.0.0.1.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// Serves over TLS with this rustls configuration.
    pub fn start_tls(config: Arc<rustls::ServerConfig>) -> Self {
        Self::start_with(Some(config))
    }

    fn start_with(tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let url = format!("{scheme}://{}", listener.local_addr().unwrap());
        let state = Arc::new((Mutex::new(State::default()), Condvar::new()));
        let shared = state.clone();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                let tls = tls.clone();
                thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(30)));
                    match tls {
                        None => serve(stream, &shared),
                        Some(config) => {
                            let Ok(conn) = rustls::ServerConnection::new(config) else {
                                return;
                            };
                            serve(rustls::StreamOwned::new(conn, stream), &shared);
                        }
                    }
                });
            }
        });
        FakeApiServer { url, state }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.0.lock().unwrap()
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.lock().seen.clone()
    }

    /// Requires `Authorization: Bearer <token>` (401 otherwise).
    pub fn require_token(&self, token: &str) {
        self.lock().token = Some(token.to_owned());
    }

    /// Answers 401 to this token even if it was the required one (a revoked credential).
    pub fn reject_token(&self, token: &str) {
        self.lock().reject_token = Some(token.to_owned());
    }

    /// Ends every watch connection after `n` events (a load balancer cutting long requests).
    pub fn close_watches_after(&self, n: usize) {
        self.lock().close_watch_after = Some(n);
    }

    /// Keeps watch connections open past `timeoutSeconds` (a server or proxy that ignores it).
    pub fn ignore_watch_timeout(&self) {
        self.lock().ignore_timeout = true;
    }

    /// Forgets events up to now: watches from older versions get `ERROR 410 Expired`, as after
    /// etcd compaction.
    pub fn compact(&self) {
        let mut s = self.lock();
        s.compacted = s.rv;
        s.events.clear();
    }

    /// The stored object.
    pub fn object(&self, plural: &str, ns: &str, name: &str) -> Option<Value> {
        self.lock()
            .objects
            .get(&(plural.into(), ns.into(), name.into()))
            .cloned()
    }

    /// Writes an object's status as a controller would (through the `status` subresource rules).
    pub fn set_status(&self, plural: &str, ns: &str, name: &str, status: Value) {
        let mut obj = self.object(plural, ns, name).expect("object exists");
        obj["status"] = status;
        self.write(plural, ns, name, obj, "MODIFIED");
    }

    /// Removes finalizers as a controller would; a deleting object then goes away.
    pub fn clear_finalizers(&self, plural: &str, ns: &str, name: &str) {
        let mut obj = self.object(plural, ns, name).expect("object exists");
        obj["metadata"]["finalizers"] = json!([]);
        if obj["metadata"].get("deletionTimestamp").is_some() {
            self.remove(plural, ns, name, obj);
        } else {
            self.write(plural, ns, name, obj, "MODIFIED");
        }
    }

    fn write(&self, plural: &str, ns: &str, name: &str, obj: Value, kind: &str) -> Value {
        write(&mut self.lock(), plural, ns, name, obj, kind, &self.state.1)
    }

    fn remove(&self, plural: &str, ns: &str, name: &str, obj: Value) {
        remove(&mut self.lock(), plural, ns, name, obj, &self.state.1);
    }
}

// resourceVersion is a global, monotonically increasing counter (etcd revision).
fn write(s: &mut State, plural: &str, ns: &str, name: &str, mut obj: Value, kind: &str, cv: &Condvar) -> Value {
    s.rv += 1;
    obj["metadata"]["resourceVersion"] = json!(s.rv.to_string());
    s.objects.insert((plural.into(), ns.into(), name.into()), obj.clone());
    s.events.push((s.rv, plural.into(), kind.into(), obj.clone()));
    cv.notify_all();
    obj
}

fn remove(s: &mut State, plural: &str, ns: &str, name: &str, mut obj: Value, cv: &Condvar) {
    s.rv += 1;
    obj["metadata"]["resourceVersion"] = json!(s.rv.to_string());
    s.objects.remove(&(plural.into(), ns.into(), name.into()));
    s.events.push((s.rv, plural.into(), "DELETED".into(), obj));
    cv.notify_all();
}

struct Req {
    method: String,
    path: String,
    query: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

fn read_request(reader: &mut impl BufRead) -> Option<Req> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let (path, q) = target.split_once('?').unwrap_or((&target, ""));
    let query = q
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    Some(Req {
        method,
        path: decode(path),
        query,
        headers,
        body,
    })
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn serve<S: Read + Write>(stream: S, shared: &Arc<(Mutex<State>, Condvar)>) {
    let mut reader = BufReader::new(stream);
    while let Some(req) = read_request(&mut reader) {
        {
            let mut s = shared.0.lock().unwrap();
            s.seen.push(Seen {
                method: req.method.clone(),
                path: req.path.clone(),
                query: req.query.clone(),
                headers: req.headers.clone(),
            });
            let auth = req.headers.get("authorization").cloned().unwrap_or_default();
            let rejected = s.reject_token.as_ref().is_some_and(|t| auth == format!("Bearer {t}"));
            let required = s.token.as_ref().is_some_and(|t| auth != format!("Bearer {t}"));
            if rejected || required {
                drop(s);
                let (code, body) = status(401, "Unauthorized", "Unauthorized");
                if respond(reader.get_mut(), code, &body).is_err() {
                    return;
                }
                continue;
            }
        }
        if req.method == "GET" && req.query.get("watch").map(String::as_str) == Some("true") {
            watch(reader.get_mut(), &req, shared);
            return;
        }
        let (code, body) = {
            let mut s = shared.0.lock().unwrap();
            handle(&mut s, &req, &shared.1)
        };
        if respond(reader.get_mut(), code, &body).is_err() {
            return;
        }
    }
}

fn respond(stream: &mut impl Write, code: u16, body: &Value) -> std::io::Result<()> {
    let text = body.to_string();
    write!(
        stream,
        "HTTP/1.1 {code} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{text}",
        text.len()
    )?;
    stream.flush()
}

fn chunk(stream: &mut impl Write, data: &str) -> std::io::Result<()> {
    write!(stream, "{:x}\r\n{data}\r\n", data.len())?;
    stream.flush()
}

struct Route<'a> {
    plural: &'a str,
    ns: Option<&'a str>,
    name: Option<&'a str>,
    sub: Option<&'a str>,
}

fn route(path: &str) -> Option<Route<'_>> {
    let rest = path.strip_prefix(ROOT)?.strip_prefix('/')?;
    let parts: Vec<&str> = rest.split('/').collect();
    let (ns, rest) = match parts.as_slice() {
        ["namespaces", ns, rest @ ..] => (Some(*ns), rest),
        rest => (None, rest),
    };
    match rest {
        [plural] => Some(Route {
            plural,
            ns,
            name: None,
            sub: None,
        }),
        [plural, name] => Some(Route {
            plural,
            ns,
            name: Some(name),
            sub: None,
        }),
        [plural, name, sub] => Some(Route {
            plural,
            ns,
            name: Some(name),
            sub: Some(sub),
        }),
        _ => None,
    }
    .filter(|r| matches!(r.plural, "sandboxes" | "sandboxsets"))
}

fn kind_of(plural: &str) -> &'static str {
    if plural == "sandboxes" { "Sandbox" } else { "SandboxSet" }
}

// Label selectors: `k=v`, `k==v`, `k!=v`, `k`, `!k`, comma = AND (the `in` forms are not emulated).
fn labels_match(obj: &Value, selector: Option<&String>) -> bool {
    let labels = &obj["metadata"]["labels"];
    selector.is_none_or(|sel| {
        sel.split(',').filter(|t| !t.is_empty()).all(|term| {
            if let Some((k, v)) = term.split_once("!=") {
                labels[k.trim()].as_str() != Some(v.trim())
            } else if let Some((k, v)) = term.split_once('=') {
                labels[k.trim()].as_str() == Some(v.trim_start_matches('=').trim())
            } else if let Some(k) = term.strip_prefix('!') {
                labels.get(k.trim()).is_none()
            } else {
                labels.get(term.trim()).is_some()
            }
        })
    })
}

// Field selectors on custom resources: only metadata.name and metadata.namespace (400 otherwise).
fn fields_match(obj: &Value, selector: Option<&String>) -> Result<bool, Reply> {
    let Some(sel) = selector else { return Ok(true) };
    for term in sel.split(',').filter(|t| !t.is_empty()) {
        let (k, v, eq) = match term.split_once("!=") {
            Some((k, v)) => (k, v, false),
            None => match term.split_once('=') {
                Some((k, v)) => (k, v.trim_start_matches('='), true),
                None => return Err(status(400, "BadRequest", &format!("invalid field selector {term:?}"))),
            },
        };
        let actual = match k {
            "metadata.name" => obj["metadata"]["name"].as_str(),
            "metadata.namespace" => obj["metadata"]["namespace"].as_str(),
            _ => return Err(status(400, "BadRequest", &format!("field label not supported: {k}"))),
        };
        if (actual == Some(v)) != eq {
            return Ok(false);
        }
    }
    Ok(true)
}

fn matching<'a>(s: &'a State, r: &Route<'_>, q: &BTreeMap<String, String>) -> Result<Vec<&'a Value>, Reply> {
    let mut out = Vec::new();
    for ((plural, ns, _), obj) in &s.objects {
        if plural != r.plural || r.ns.is_some_and(|n| n != ns) || !labels_match(obj, q.get("labelSelector")) {
            continue;
        }
        if fields_match(obj, q.get("fieldSelector"))? {
            out.push(obj);
        }
    }
    Ok(out)
}

fn merge(target: &mut Value, patch: &Value) {
    // RFC 7386: objects merge recursively, null deletes, anything else (arrays too) replaces.
    match (target.as_object_mut(), patch.as_object()) {
        (Some(t), Some(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        _ => *target = patch.clone(),
    }
}

fn json_patch(target: &mut Value, ops: &Value) -> Result<(), Reply> {
    // RFC 6902, the add/replace/remove/test operations on object paths.
    for op in ops
        .as_array()
        .ok_or_else(|| status(400, "BadRequest", "json patch must be an array"))?
    {
        let path = op["path"].as_str().unwrap_or("");
        let (parent, key) = path.rsplit_once('/').unwrap_or(("", path));
        let key = key.replace("~1", "/").replace("~0", "~");
        let holder = target
            .pointer_mut(parent)
            .ok_or_else(|| status(422, "Invalid", "path not found"))?;
        match op["op"].as_str() {
            Some("add" | "replace") => {
                holder[key.as_str()] = op["value"].clone();
            }
            Some("remove") => {
                holder.as_object_mut().and_then(|o| o.remove(&key));
            }
            Some("test") if holder[key.as_str()] != op["value"] => {
                return Err(status(422, "Invalid", "test operation failed"));
            }
            Some("test") => {}
            _ => return Err(status(400, "BadRequest", "unsupported json patch operation")),
        }
    }
    Ok(())
}

fn validate(plural: &str, obj: &Value) -> Result<(), Reply> {
    // The CRD schema's required fields: spec everywhere, spec.replicas on SandboxSets (422 Invalid with causes).
    let missing = if obj.get("spec").is_none_or(Value::is_null) {
        Some("spec")
    } else if plural == "sandboxsets" && !obj["spec"]["replicas"].is_i64() {
        Some("spec.replicas")
    } else {
        None
    };
    match missing {
        None => Ok(()),
        Some(field) => {
            let (code, mut body) = status(
                422,
                "Invalid",
                &format!("{} is invalid: {field}: Required value", kind_of(plural)),
            );
            body["details"] = json!({"kind": plural, "group": "agents.kruise.io", "causes": [{"reason": "FieldValueRequired", "message": "Required value", "field": field}]});
            Err((code, body))
        }
    }
}

fn handle(s: &mut State, req: &Req, cv: &Condvar) -> Reply {
    if req.method == "GET" && req.path == ROOT {
        return (200, discovery());
    }
    if req.method == "GET" && req.path == "/apis" {
        return (
            200,
            json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": [{"name": "agents.kruise.io", "versions": [{"groupVersion": "agents.kruise.io/v1alpha1", "version": "v1alpha1"}], "preferredVersion": {"groupVersion": "agents.kruise.io/v1alpha1", "version": "v1alpha1"}}]}),
        );
    }
    if req.method == "GET" && req.path == "/api" {
        return (
            200,
            json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
        );
    }
    if req.method == "GET" && req.path == "/api/v1" {
        return (
            200,
            json!({"kind": "APIResourceList", "groupVersion": "v1", "resources": []}),
        );
    }
    let Some(r) = route(&req.path) else {
        return status(404, "NotFound", "the server could not find the requested resource");
    };
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let ct = req.headers.get("content-type").map(String::as_str).unwrap_or("");
    let ns = r.ns.unwrap_or("");
    let key = |name: &str| (r.plural.to_owned(), ns.to_owned(), name.to_owned());
    let not_found = |name: &str| {
        status(
            404,
            "NotFound",
            &format!("{}.agents.kruise.io \"{name}\" not found", r.plural),
        )
    };
    match (req.method.as_str(), r.name, r.sub) {
        ("GET", None, None) => {
            let items = match matching(s, &r, &req.query) {
                Ok(items) => items,
                Err(e) => return e,
            };
            // Paging: `limit` + an opaque `continue` token (here: the offset).
            let start: usize = req.query.get("continue").and_then(|c| c.parse().ok()).unwrap_or(0);
            let limit: usize = req
                .query
                .get("limit")
                .and_then(|l| l.parse().ok())
                .unwrap_or(usize::MAX);
            let page: Vec<Value> = items.iter().skip(start).take(limit).map(|v| (*v).clone()).collect();
            let next = start + page.len();
            let mut meta = json!({"resourceVersion": s.rv.to_string()});
            if next < items.len() {
                meta["continue"] = json!(next.to_string());
                meta["remainingItemCount"] = json!(items.len() - next);
            }
            (
                200,
                json!({"apiVersion": "agents.kruise.io/v1alpha1", "kind": format!("{}List", kind_of(r.plural)), "metadata": meta, "items": page}),
            )
        }
        ("POST", None, None) => {
            if let Err(e) = validate(r.plural, &body) {
                return e;
            }
            let name = body["metadata"]["name"].as_str().unwrap_or("").to_owned();
            if s.objects.contains_key(&key(&name)) {
                return status(
                    409,
                    "AlreadyExists",
                    &format!("{}.agents.kruise.io \"{name}\" already exists", r.plural),
                );
            }
            let mut obj = body.clone();
            // Creation: uid, creationTimestamp, generation 1; status is not writable through the main resource.
            obj["metadata"]["namespace"] = json!(ns);
            obj["metadata"]["uid"] = json!(format!("uid-{}-{}", r.plural, s.rv + 1));
            obj["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
            obj["metadata"]["generation"] = json!(1);
            obj.as_object_mut().unwrap().remove("status");
            (201, write(s, r.plural, ns, &name, obj, "ADDED", cv))
        }
        ("DELETE", None, None) => {
            let names: Vec<String> = match matching(s, &r, &req.query) {
                Ok(items) => items
                    .iter()
                    .map(|o| o["metadata"]["name"].as_str().unwrap_or("").to_owned())
                    .collect(),
                Err(e) => return e,
            };
            let mut deleted = Vec::new();
            // The answer lists the objects as they were when deleted (or are, with finalizers pending).
            for name in names {
                let before = s.objects[&key(&name)].clone();
                let (_, answer) = delete_one(s, r.plural, ns, &name, cv);
                deleted.push(if answer["kind"] == "Status" { before } else { answer });
            }
            (
                200,
                json!({"apiVersion": "agents.kruise.io/v1alpha1", "kind": format!("{}List", kind_of(r.plural)), "metadata": {"resourceVersion": s.rv.to_string()}, "items": deleted}),
            )
        }
        (method, Some(name), sub) => {
            let Some(current) = s.objects.get(&key(name)).cloned() else {
                return not_found(name);
            };
            match (method, sub) {
                ("GET", None | Some("status")) => (200, current),
                ("GET", Some("scale")) if r.plural == "sandboxsets" => (200, scale_of(&current)),
                ("PUT", None | Some("status")) => {
                    // Optimistic concurrency: a PUT must carry the current resourceVersion (409 Conflict).
                    if body["metadata"]["resourceVersion"] != current["metadata"]["resourceVersion"] {
                        return status(
                            409,
                            "Conflict",
                            &format!(
                                "Operation cannot be fulfilled on {}.agents.kruise.io \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                                r.plural
                            ),
                        );
                    }
                    update(s, r.plural, ns, name, current, body, sub, cv)
                }
                ("PATCH", None | Some("status") | Some("scale")) => {
                    let mut next = if sub == Some("scale") {
                        scale_of(&current)
                    } else {
                        current.clone()
                    };
                    if ct.starts_with("application/merge-patch+json") {
                        // A resourceVersion inside a merge patch is a precondition.
                        if let Some(rv) = body["metadata"]["resourceVersion"].as_str() {
                            if Some(rv) != current["metadata"]["resourceVersion"].as_str() {
                                return status(409, "Conflict", "the object has been modified");
                            }
                        }
                        merge(&mut next, &body);
                    } else if ct.starts_with("application/json-patch+json") {
                        if let Err(e) = json_patch(&mut next, &body) {
                            return e;
                        }
                    } else {
                        // Strategic merge patch is not supported for custom resources.
                        return status(
                            415,
                            "UnsupportedMediaType",
                            "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                        );
                    }
                    if sub == Some("scale") {
                        if next["spec"]["replicas"].as_i64().is_some_and(|n| n < 0) {
                            return status(422, "Invalid", "spec.replicas must be non-negative");
                        }
                        let mut obj = current.clone();
                        obj["spec"]["replicas"] = next["spec"]["replicas"].clone();
                        let (code, stored) = update(s, r.plural, ns, name, current, obj, None, cv);
                        return if code == 200 {
                            (200, scale_of(&stored))
                        } else {
                            (code, stored)
                        };
                    }
                    update(s, r.plural, ns, name, current, next, sub, cv)
                }
                ("DELETE", None) => delete_one(s, r.plural, ns, name, cv),
                _ => status(405, "MethodNotAllowed", "method not allowed"),
            }
        }
        _ => status(405, "MethodNotAllowed", "method not allowed"),
    }
}

#[allow(clippy::too_many_arguments)]
fn update(
    s: &mut State,
    plural: &str,
    ns: &str,
    name: &str,
    current: Value,
    mut next: Value,
    sub: Option<&str>,
    cv: &Condvar,
) -> Reply {
    if sub == Some("status") {
        // The status subresource only changes status.
        let mut obj = current.clone();
        obj["status"] = next["status"].clone();
        next = obj;
    } else {
        // The main resource ignores status changes; identity fields cannot change.
        match current.get("status") {
            Some(st) => next["status"] = st.clone(),
            None => {
                next.as_object_mut().map(|o| o.remove("status"));
            }
        }
        for field in [
            "uid",
            "creationTimestamp",
            "namespace",
            "name",
            "generation",
            "deletionTimestamp",
        ] {
            next["metadata"][field] = current["metadata"][field].clone();
            if next["metadata"][field].is_null() {
                next["metadata"].as_object_mut().map(|o| o.remove(field));
            }
        }
        if let Err(e) = validate(plural, &next) {
            return e;
        }
        // generation bumps on spec changes only.
        if next["spec"] != current["spec"] {
            next["metadata"]["generation"] = json!(current["metadata"]["generation"].as_i64().unwrap_or(0) + 1);
        }
    }
    let finalizers_gone = next["metadata"]["finalizers"].as_array().is_none_or(Vec::is_empty);
    if current["metadata"].get("deletionTimestamp").is_some() && finalizers_gone {
        remove(s, plural, ns, name, next.clone(), cv);
        return (200, next);
    }
    (200, write(s, plural, ns, name, next, "MODIFIED", cv))
}

fn delete_one(s: &mut State, plural: &str, ns: &str, name: &str, cv: &Condvar) -> Reply {
    let mut obj = s.objects[&(plural.to_owned(), ns.to_owned(), name.to_owned())].clone();
    // Finalizers hold the object: it gets a deletionTimestamp and the answer is the object.
    if obj["metadata"]["finalizers"].as_array().is_some_and(|f| !f.is_empty()) {
        if obj["metadata"].get("deletionTimestamp").is_none() {
            obj["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:01Z");
            return (200, write(s, plural, ns, name, obj, "MODIFIED", cv));
        }
        return (200, obj);
    }
    remove(s, plural, ns, name, obj.clone(), cv);
    (
        200,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": {"name": name, "group": "agents.kruise.io", "kind": plural, "uid": obj["metadata"]["uid"]}}),
    )
}

fn scale_of(set: &Value) -> Value {
    json!({
        "kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": set["metadata"]["name"], "namespace": set["metadata"]["namespace"], "uid": set["metadata"]["uid"],
                     "resourceVersion": set["metadata"]["resourceVersion"], "creationTimestamp": set["metadata"]["creationTimestamp"]},
        "spec": {"replicas": set["spec"]["replicas"]},
        "status": {"replicas": set["status"]["replicas"].as_i64().unwrap_or(0), "selector": set["status"]["selector"].as_str().unwrap_or("")}
    })
}

fn discovery() -> Value {
    let verbs = json!([
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "create",
        "update",
        "watch"
    ]);
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "agents.kruise.io/v1alpha1", "resources": [
        {"name": "sandboxes", "singularName": "sandbox", "namespaced": true, "kind": "Sandbox", "verbs": verbs, "shortNames": ["sbx"]},
        {"name": "sandboxes/status", "singularName": "", "namespaced": true, "kind": "Sandbox", "verbs": ["get", "patch", "update"]},
        {"name": "sandboxsets", "singularName": "sandboxset", "namespaced": true, "kind": "SandboxSet", "verbs": verbs, "shortNames": ["sbs"]},
        {"name": "sandboxsets/status", "singularName": "", "namespaced": true, "kind": "SandboxSet", "verbs": ["get", "patch", "update"]},
        {"name": "sandboxsets/scale", "singularName": "", "namespaced": true, "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]}
    ]})
}

fn watch<S: Write>(stream: &mut S, req: &Req, shared: &Arc<(Mutex<State>, Condvar)>) {
    let Some(r) = route(&req.path) else {
        let _ = respond(stream, 404, &status(404, "NotFound", "not found").1);
        return;
    };
    let from: u64 = req
        .query
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let bookmarks = req.query.get("allowWatchBookmarks").map(String::as_str) == Some("true");
    let timeout = req
        .query
        .get("timeoutSeconds")
        .and_then(|t| t.parse().ok())
        .map(Duration::from_secs);
    let (lock, cv) = &**shared;
    let mut s = lock.lock().unwrap();
    if let Err((code, body)) = fields_match(&json!({}), req.query.get("fieldSelector")) {
        drop(s);
        let _ = respond(stream, code, &body);
        return;
    }
    if write!(
        stream,
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    .is_err()
    {
        return;
    }
    // Unset resourceVersion: the current state as synthetic ADDED events first.
    let mut pending: Vec<String> = Vec::new();
    let mut cursor = from;
    if from == 0 {
        if let Ok(items) = matching(&s, &r, &req.query) {
            pending.extend(items.iter().map(|o| json!({"type": "ADDED", "object": o}).to_string()));
        }
        cursor = s.rv;
    } else if from < s.compacted {
        // Too old a version after compaction: ERROR 410 Expired in the stream.
        let gone = status(
            410,
            "Expired",
            &format!("too old resource version: {from} ({})", s.compacted),
        )
        .1;
        drop(s);
        let _ = chunk(stream, &format!("{}\n", json!({"type": "ERROR", "object": gone})));
        let _ = stream.write_all(b"0\r\n\r\n");
        return;
    }
    let started = Instant::now();
    let mut sent = 0usize;
    let mut last_bookmark = Instant::now();
    loop {
        for (rv, plural, kind, obj) in s.events.iter() {
            if *rv > cursor
                && plural == r.plural
                && r.ns.is_none_or(|n| obj["metadata"]["namespace"] == n)
                && labels_match(obj, req.query.get("labelSelector"))
                && fields_match(obj, req.query.get("fieldSelector")).unwrap_or(false)
            {
                pending.push(json!({"type": kind, "object": obj}).to_string());
            }
        }
        cursor = s.rv;
        let close_after = s.close_watch_after;
        let ignore_timeout = s.ignore_timeout;
        drop(s);
        for event in pending.drain(..) {
            if chunk(stream, &format!("{event}\n")).is_err() {
                return;
            }
            sent += 1;
            if close_after.is_some_and(|n| sent >= n) {
                let _ = stream.write_all(b"0\r\n\r\n");
                return;
            }
        }
        if bookmarks && last_bookmark.elapsed() > Duration::from_millis(300) {
            let kind = kind_of(r.plural);
            let bm = json!({"type": "BOOKMARK", "object": {"kind": kind, "apiVersion": "agents.kruise.io/v1alpha1", "metadata": {"resourceVersion": cursor.to_string()}}});
            if chunk(stream, &format!("{bm}\n")).is_err() {
                return;
            }
            last_bookmark = Instant::now();
        }
        if !ignore_timeout && timeout.is_some_and(|t| started.elapsed() >= t) {
            let _ = stream.write_all(b"0\r\n\r\n");
            return;
        }
        s = lock.lock().unwrap();
        s = cv.wait_timeout(s, Duration::from_millis(100)).unwrap().0;
    }
}
