//! Request descriptors: what a call sends, independent of the HTTP library that sends it.

use std::fmt::Write as _;
use std::time::Duration;

use http::Method;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde::Serialize;

use crate::{Error, Result};

/// Characters escaped inside one path segment (everything but RFC 3986 unreserved characters
/// and a few safe sub-delimiters).
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\')
    .add(b'^')
    .add(b'|')
    .add(b'[')
    .add(b']');

/// Query-string escaping: also `&`, `=` and `+`.
const QUERY: &AsciiSet = &SEGMENT.add(b'&').add(b'=').add(b'+').add(b';');

/// Percent-encodes one path segment (an id, a port, a name).
///
/// ```
/// assert_eq!(agenttier_core::request::segment("a b/c"), "a%20b%2Fc");
/// ```
pub fn segment(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// A request body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Body {
    /// No body.
    Empty,
    /// A JSON document (sent with `Content-Type: application/json`).
    Json(Vec<u8>),
    /// Raw bytes with their content type.
    Bytes {
        /// The bytes.
        data: Vec<u8>,
        /// Their `Content-Type`.
        content_type: String,
    },
}

/// What the caller expects back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Accept {
    /// A JSON body (or none).
    Json,
    /// A Server-Sent Events stream; such calls are never retried and use the idle timeout.
    EventStream,
    /// Raw bytes (downloads).
    Bytes,
    /// A stream of JSON documents (a Kubernetes watch): never retried, idle timeout per read,
    /// and [`Request::timeout`], when set, caps the whole stream.
    JsonStream,
}

impl Accept {
    /// The `Accept` header value.
    pub fn header_value(self) -> &'static str {
        match self {
            Accept::Json => "application/json",
            Accept::EventStream => "text/event-stream",
            Accept::Bytes => "*/*",
            Accept::JsonStream => "application/json",
        }
    }
}

/// The path prefix of Router calls.
pub const API_PREFIX: &str = "/api/v1";

/// One call to the Router, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// HTTP method.
    pub method: Method,
    /// Path under [`Request::prefix`], starting with `/`, segments already encoded.
    pub path: String,
    /// What goes between the base URL and the path: [`API_PREFIX`] for the Router, empty for
    /// other APIs (the Kubernetes API server's paths are complete).
    pub prefix: &'static str,
    /// Extra headers (credentials other than the client's, impersonation), sent as given.
    pub headers: Vec<(http::HeaderName, http::HeaderValue)>,
    /// Query parameters (not yet encoded).
    pub query: Vec<(String, String)>,
    /// Body.
    pub body: Body,
    /// Expected response.
    pub accept: Accept,
    /// Per-call timeout overriding the client's (for example exec's own timeout plus a margin).
    pub timeout: Option<Duration>,
}

impl Request {
    /// A request with no body and no query.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Request {
            method,
            path: path.into(),
            prefix: API_PREFIX,
            headers: Vec::new(),
            query: Vec::new(),
            body: Body::Empty,
            accept: Accept::Json,
            timeout: None,
        }
    }

    /// `GET path`.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// `POST path`.
    pub fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }

    /// `PUT path`.
    pub fn put(path: impl Into<String>) -> Self {
        Self::new(Method::PUT, path)
    }

    /// `DELETE path`.
    pub fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }

    /// Replaces the path prefix ([`API_PREFIX`] by default).
    pub fn prefix(mut self, prefix: &'static str) -> Self {
        self.prefix = prefix;
        self
    }

    /// Adds a header.
    pub fn header(mut self, name: http::HeaderName, value: http::HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Adds a query parameter.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// Adds several query parameters.
    pub fn queries<K: Into<String>, V: Into<String>>(mut self, pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        self.query.extend(pairs.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Sets a JSON body.
    pub fn json<T: Serialize + ?Sized>(mut self, value: &T) -> Result<Self> {
        let bytes = serde_json::to_vec(value)
            .map_err(|e| Error::invalid_input(format!("request body cannot be encoded as JSON: {e}")))?;
        self.body = Body::Json(bytes);
        Ok(self)
    }

    /// Sets a raw body.
    pub fn bytes(mut self, data: Vec<u8>, content_type: impl Into<String>) -> Self {
        self.body = Body::Bytes {
            data,
            content_type: content_type.into(),
        };
        self
    }

    /// Sets what the response should be.
    pub fn accept(mut self, accept: Accept) -> Self {
        self.accept = accept;
        self
    }

    /// Sets a per-call timeout.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Whether the response is a stream (never retried, idle timeout only).
    pub fn is_streaming(&self) -> bool {
        matches!(self.accept, Accept::EventStream | Accept::JsonStream)
    }

    /// The `Content-Type` of the body, if any.
    pub fn content_type(&self) -> Option<&str> {
        match &self.body {
            Body::Empty => None,
            Body::Json(_) => Some("application/json"),
            Body::Bytes { content_type, .. } => Some(content_type),
        }
    }

    /// The body bytes (empty when there is none).
    pub fn body_bytes(&self) -> &[u8] {
        match &self.body {
            Body::Empty => &[],
            Body::Json(b) | Body::Bytes { data: b, .. } => b,
        }
    }

    /// Whether the request goes out with a body, an empty one included: a `POST`, `PUT` or
    /// `PATCH` always announces one (`Content-Length: 0` when empty), as other HTTP clients do,
    /// so no server waits for, or gives up on, a body it was not told the size of.
    pub fn has_body(&self) -> bool {
        !matches!(self.body, Body::Empty) || matches!(self.method, Method::POST | Method::PUT | Method::PATCH)
    }

    /// The full URL under `base` (the Router root, without a trailing slash).
    ///
    /// ```
    /// use agenttier_core::request::Request;
    /// let r = Request::get("/sandboxes").query("status", "Running");
    /// assert_eq!(r.url("http://127.0.0.1:8080"), "http://127.0.0.1:8080/api/v1/sandboxes?status=Running");
    /// ```
    pub fn url(&self, base: &str) -> String {
        let mut url = format!("{base}{}{}", self.prefix, self.path);
        for (i, (k, v)) in self.query.iter().enumerate() {
            let sep = if i == 0 { '?' } else { '&' };
            let _ = write!(
                url,
                "{sep}{}={}",
                utf8_percent_encode(k, QUERY),
                utf8_percent_encode(v, QUERY)
            );
        }
        url
    }
}

/// Checks a path given whole by a caller (the escape hatch, a preview path): it must start
/// with `/` and be canonical, since the Router answers `//`, `.` and `..` with a redirect, and
/// it may hold no query, fragment, whitespace or control character (queries go through
/// [`Request::query`], so they are encoded).
///
/// ```
/// use agenttier_core::request::check_raw_path;
/// assert!(check_raw_path("/api/v1/sandboxes/demo%20x").is_ok());
/// assert!(check_raw_path("/api/v1//x").is_err() && check_raw_path("/a?b=1").is_err());
/// ```
pub fn check_raw_path(path: &str) -> Result<()> {
    let why = if !path.starts_with('/') {
        "must start with /"
    } else if path.contains(['?', '#']) {
        "must not contain ? or # (add query parameters with .query(key, value))"
    } else if path.chars().any(|c| c.is_whitespace() || c.is_control()) {
        "must not contain whitespace or control characters (percent-encode them)"
    } else if path[1..].split('/').enumerate().any(|(i, seg)| {
        let last = i == path[1..].split('/').count() - 1;
        seg == "." || seg == ".." || (seg.is_empty() && !last)
    }) {
        "must not contain empty, . or .. segments (the Router redirects those)"
    } else {
        return Ok(());
    };
    Err(Error::invalid_input(format!("request path {path:?} {why}")))
}

/// The route template of a request path, for tracing and metrics: ids and names become
/// placeholders (`/api/v1/sandboxes/{id}/files/{path}`), so that values from one route group
/// together. `prefix` and `path` are as in [`Request`]; paths outside the Router API (the
/// Kubernetes API of the `kruise` feature) are returned as they are.
///
/// ```
/// use agenttier_core::request::route_template;
/// assert_eq!(route_template("/api/v1", "/sandboxes/demo/files/workspace/a.txt"), "/api/v1/sandboxes/{id}/files/{path}");
/// assert_eq!(route_template("", "/healthz"), "/healthz");
/// ```
pub fn route_template(prefix: &str, path: &str) -> String {
    /// Path segments that are part of a route, never values.
    const LITERALS: &[&str] = &[
        "sandboxes",
        "bulk",
        "bulk-action",
        "stop",
        "resume",
        "clone",
        "backups",
        "restore",
        "exec",
        "files",
        "archive",
        "ports",
        "preview",
        "share",
        "share-links",
        "configure",
        "install-log",
        "invoke",
        "cancel",
        "templates",
        "webhooks",
        "deliveries",
        "governance",
        "policies",
        "effective",
        "audit",
        "events",
        "analytics",
        "usage",
        "costs",
        "admin",
        "sharing",
        "user",
        "me",
        "preferences",
        "api-keys",
        "warmpool",
        "status",
        "config",
        "cluster",
        "nodes",
        "headroom",
    ];
    let full = format!("{prefix}{path}");
    let Some(rest) = full.strip_prefix(API_PREFIX).filter(|r| r.starts_with('/')) else {
        return full;
    };
    let mut out = String::from(API_PREFIX);
    let mut previous = "";
    for seg in rest.split('/').skip(1) {
        out.push('/');
        if seg.is_empty() || LITERALS.contains(&seg) && previous != "preview" {
            out.push_str(seg);
            previous = seg;
            continue;
        }
        let placeholder = match previous {
            "files" => {
                out.push_str("{path}");
                return out;
            }
            "preview" => "{port}",
            "templates" => "{name}",
            "backups" => "{snapshot}",
            "ports" => "{port}",
            "share" => "{identity}",
            "api-keys" => "{keyId}",
            "policies" => "{namespace}",
            _ if out.ends_with("/preview/{port}/") => {
                out.push_str("{rest}");
                return out;
            }
            _ => "{id}",
        };
        out.push_str(placeholder);
        previous = placeholder;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_templates() {
        for (path, want) in [
            ("/sandboxes", "/api/v1/sandboxes"),
            ("/sandboxes/x", "/api/v1/sandboxes/{id}"),
            (
                "/sandboxes/x/backups/s1/restore",
                "/api/v1/sandboxes/{id}/backups/{snapshot}/restore",
            ),
            ("/sandboxes/x/files/", "/api/v1/sandboxes/{id}/files/"),
            (
                "/sandboxes/x/files/workspace/a/b",
                "/api/v1/sandboxes/{id}/files/{path}",
            ),
            (
                "/sandboxes/x/preview/80/a/b",
                "/api/v1/sandboxes/{id}/preview/{port}/{rest}",
            ),
            ("/sandboxes/x/ports/80", "/api/v1/sandboxes/{id}/ports/{port}"),
            ("/templates/t", "/api/v1/templates/{name}"),
            ("/user/api-keys/k", "/api/v1/user/api-keys/{keyId}"),
            ("/governance/policies/ns", "/api/v1/governance/policies/{namespace}"),
            ("/webhooks/w/deliveries", "/api/v1/webhooks/{id}/deliveries"),
        ] {
            assert_eq!(route_template(API_PREFIX, path), want, "{path}");
        }
        assert_eq!(
            route_template("", "/api/v1/sandboxes/x/stop"),
            "/api/v1/sandboxes/{id}/stop"
        );
        assert_eq!(route_template("", "/apis/x/v1/namespaces/n"), "/apis/x/v1/namespaces/n");
    }

    #[test]
    fn raw_paths() {
        for ok in ["/", "/healthz", "/api/v1/sandboxes/a/preview/80/", "/x/%2F/y"] {
            assert!(check_raw_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "x", "//", "/a//b", "/a/./b", "/a/..", "/a b", "/a?x", "/a#f", "/a\u{7}",
        ] {
            assert!(check_raw_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn writes_announce_a_body_even_when_empty() {
        assert!(Request::post("/sandboxes/s/stop").has_body());
        assert!(Request::new(Method::PUT, "/x").has_body());
        assert!(Request::new(Method::PATCH, "/x").has_body());
        assert!(!Request::get("/sandboxes").has_body());
        assert!(!Request::delete("/sandboxes/s").has_body());
    }

    #[test]
    fn encodes_segments_and_queries() {
        assert_eq!(segment("demo"), "demo");
        assert_eq!(segment("../x"), "..%2Fx");
        assert_eq!(segment("ü"), "%C3%BC");
        let r = Request::get(format!("/sandboxes/{}", segment("a/b"))).query("q", "a&b=c d+e");
        assert_eq!(r.url("http://h"), "http://h/api/v1/sandboxes/a%2Fb?q=a%26b%3Dc%20d%2Be");
    }

    #[test]
    fn bodies_and_content_types() {
        let r = Request::post("/x").json(&serde_json::json!({"a": 1})).unwrap();
        assert_eq!(r.content_type(), Some("application/json"));
        assert_eq!(r.body_bytes(), br#"{"a":1}"#);
        let r = Request::put("/f").bytes(vec![1, 2], "application/octet-stream");
        assert_eq!(r.content_type(), Some("application/octet-stream"));
        assert!(Request::get("/x").content_type().is_none());
        assert!(Request::post("/i").accept(Accept::EventStream).is_streaming());
    }
}
