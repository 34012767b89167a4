//! Request guards against web pages the developer visits (DNS rebinding and cross-site
//! requests), applied as one middleware layer before CORS, authentication and routing.
//!
//! A page on another site can make the browser send requests to `127.0.0.1:8080` (in dev-auth
//! mode, as the admin), and with DNS rebinding read the answers too. Three rules close that, the
//! way notebook servers do:
//!
//! * **Host.** The `Host` header must name this machine's loopback (`localhost`, `*.localhost`,
//!   `127.0.0.0/8`, `[::1]`), a host listed in `--allowed-hosts` (`*` = any), or — with
//!   `--allow-remote` — the listen address (any IP literal when listening on `0.0.0.0`/`[::]`).
//!   A rebound name (`attacker.example` → 127.0.0.1) fails it. Otherwise `403`.
//! * **Origin.** A state-changing request (any method but `GET`, `HEAD` and `OPTIONS`, and every
//!   WebSocket upgrade, which browsers send cross-origin without a preflight) that carries an
//!   `Origin` is refused with `403` unless that origin is in `--cors-allowed-origins` or is the
//!   request's own origin (same host and port as `Host`: the web UI behind a same-origin proxy).
//!   Non-browser clients (our SDKs, the Python SDK, curl) send no `Origin` and are unaffected.
//! * **Content-Type.** On routes whose body is JSON, a request that has a body must say
//!   `application/json` (or `…+json`): `text/plain`, forms, or no type at all with a declared
//!   length answer `415`, so a "simple" cross-site request cannot carry a JSON body. Invoke
//!   bodies (any type, fed to the entrypoint), file uploads and the preview proxy are not JSON
//!   routes.
//!
//! The checks look at headers only (no body is read), so they cost nothing and run before
//! authentication.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::errors::ApiError;

/// What the guards accept: built once from the options.
#[derive(Debug)]
pub(crate) struct Guard {
    /// `--allowed-hosts`, lowercased, ports dropped.
    hosts: Vec<String>,
    /// `*` was among the allowed hosts.
    any_host: bool,
    /// The listen address, when `--allow-remote` makes it a valid `Host`.
    remote: Option<IpAddr>,
    /// `--cors-allowed-origins` (exact match).
    origins: Arc<[String]>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `403`: the `Host` header is not one this router answers to.
    Host(String),
    /// `403`: a state-changing request from a foreign origin.
    Origin(String),
    /// `415`: a JSON route with a body that is not declared JSON.
    ContentType(String),
}

impl Refusal {
    /// The message a client gets.
    pub(crate) fn message(&self) -> &str {
        match self {
            Refusal::Host(m) | Refusal::Origin(m) | Refusal::ContentType(m) => m,
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = match self {
            Refusal::ContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::FORBIDDEN,
        };
        ApiError::Json(status, self.message().to_owned()).into_response()
    }
}

/// The request head the guards look at.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Head<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    pub host: Option<&'a [u8]>,
    pub origin: Option<&'a [u8]>,
    pub content_type: Option<&'a [u8]>,
    /// `Content-Length` declares a non-empty body (or is unreadable).
    pub declared_body: bool,
    /// `Upgrade: websocket`.
    pub websocket: bool,
}

impl<'a> Head<'a> {
    /// The head of a request with these headers.
    pub(crate) fn of(method: &'a Method, path: &'a str, headers: &'a HeaderMap) -> Head<'a> {
        let declared_body = headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()) != Some(0));
        Head {
            method,
            path,
            host: headers.get(header::HOST).map(|v| v.as_bytes()),
            origin: headers.get(header::ORIGIN).map(|v| v.as_bytes()),
            content_type: headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes()),
            declared_body,
            websocket: headers
                .get(header::UPGRADE)
                .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket")),
        }
    }
}

impl Guard {
    /// A guard for a router listening on `listen`.
    pub(crate) fn new(
        allowed_hosts: &[String],
        listen: SocketAddr,
        allow_remote: bool,
        origins: Arc<[String]>,
    ) -> Guard {
        let mut hosts = Vec::new();
        let mut any_host = false;
        for entry in allowed_hosts {
            let entry = entry.trim();
            if entry == "*" {
                any_host = true;
            } else if let Some((host, _)) = split_authority(entry.as_bytes()) {
                hosts.push(host);
            } else if !entry.is_empty() {
                hosts.push(entry.to_ascii_lowercase());
            }
        }
        Guard {
            hosts,
            any_host,
            remote: allow_remote.then_some(listen.ip()),
            origins,
        }
    }

    /// Applies the three rules to a request head.
    pub(crate) fn check(&self, head: &Head<'_>) -> Result<(), Refusal> {
        self.check_host(head.host)?;
        let state_changing = !matches!(*head.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if let Some(origin) = head.origin {
            if (state_changing || head.websocket) && !self.origin_allowed(origin, head.host) {
                return Err(Refusal::Origin(format!(
                    "cross-origin request from {} refused: a {} from a web page needs its origin in \
                     --cors-allowed-origins",
                    String::from_utf8_lossy(origin),
                    if head.websocket {
                        "WebSocket connection"
                    } else {
                        "state-changing request"
                    },
                )));
            }
        }
        if state_changing && is_json_route(head.path) {
            check_content_type(head.content_type, head.declared_body)?;
        }
        Ok(())
    }

    fn check_host(&self, host: Option<&[u8]>) -> Result<(), Refusal> {
        // HTTP/1.0 clients may omit Host; browsers never do.
        let Some(raw) = host else {
            return Ok(());
        };
        if self.any_host {
            return Ok(());
        }
        let refuse = || {
            Refusal::Host(format!(
                "host {:?} is not allowed: this router answers to loopback names and addresses; \
                 add the name with --allowed-hosts (AGENTTIER_ALLOWED_HOSTS) to use it",
                String::from_utf8_lossy(raw)
            ))
        };
        let (name, _) = split_authority(raw).ok_or_else(refuse)?;
        if is_loopback_name(&name) || self.hosts.contains(&name) {
            return Ok(());
        }
        if let (Some(listen), Some(ip)) = (self.remote, parse_ip(&name)) {
            if listen.is_unspecified() || ip == listen {
                return Ok(());
            }
        }
        Err(refuse())
    }

    fn origin_allowed(&self, origin: &[u8], host: Option<&[u8]>) -> bool {
        if self.origins.iter().any(|o| o.as_bytes() == origin) {
            return true;
        }
        let (Some(origin), Some(host)) = (parse_origin(origin), host.and_then(split_authority)) else {
            return false;
        };
        let default_port = if origin.0 == "https" { 443 } else { 80 };
        origin.1 == host.0 && origin.2 == host.1.unwrap_or(default_port)
    }
}

/// Whether the body of `path` is JSON: every `/api/v1` route except invoke (its body goes to the
/// entrypoint as it is), file uploads and the preview proxy (the sandbox's own web app).
fn is_json_route(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/api/v1/") else {
        return false;
    };
    let segments: Vec<&str> = rest.split('/').collect();
    !matches!(
        segments.as_slice(),
        ["sandboxes", _, "invoke"] | ["sandboxes", _, "files" | "preview", ..]
    )
}

fn check_content_type(content_type: Option<&[u8]>, declared_body: bool) -> Result<(), Refusal> {
    let Some(raw) = content_type else {
        return if declared_body {
            Err(Refusal::ContentType(
                "a request body without Content-Type: this route takes JSON; send \
                 Content-Type: application/json"
                    .into(),
            ))
        } else {
            Ok(())
        };
    };
    let text = String::from_utf8_lossy(raw);
    let media = text.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let json = media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"));
    if json {
        return Ok(());
    }
    Err(Refusal::ContentType(format!(
        "unsupported Content-Type {text:?}: this route takes JSON; send Content-Type: application/json"
    )))
}

/// Splits `host[:port]` (or `[v6]:port`) into a lowercased host without a trailing dot, and the
/// port. `None` when it is not a well-formed authority.
fn split_authority(raw: &[u8]) -> Option<(String, Option<u16>)> {
    let text = std::str::from_utf8(raw).ok()?;
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (v6, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (format!("[{}]", v6), port)
    } else {
        match text.split_once(':') {
            Some((h, p)) => (h.to_owned(), Some(p)),
            None => (text.to_owned(), None),
        }
    };
    let port = match port {
        None => None,
        Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => Some(p.parse().ok()?),
        Some(_) => return None,
    };
    let host = host.strip_suffix('.').unwrap_or(&host).to_ascii_lowercase();
    let valid = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'[' | b']' | b':'));
    valid.then_some((host, port))
}

/// `localhost`, a name under `.localhost` (RFC 6761: always loopback) or a loopback address.
fn is_loopback_name(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost") || parse_ip(host).is_some_and(|ip| ip.is_loopback())
}

/// An IP literal as it appears in a `Host` (IPv6 in brackets).
fn parse_ip(host: &str) -> Option<IpAddr> {
    match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6),
        None => host.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4),
    }
}

/// `scheme://host[:port]` → (scheme, host, port with the scheme's default).
fn parse_origin(raw: &[u8]) -> Option<(String, String, u16)> {
    let text = std::str::from_utf8(raw).ok()?;
    let (scheme, authority) = text.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let (host, port) = split_authority(authority.as_bytes())?;
    Some((scheme, host, port.unwrap_or(default_port)))
}

/// Middleware: refuses what [`Guard::check`] refuses.
pub(crate) async fn guard(State(guard): State<Arc<Guard>>, req: Request, next: Next) -> Response {
    let verdict = guard.check(&Head::of(req.method(), req.uri().path(), req.headers()));
    match verdict {
        Ok(()) => next.run(req).await,
        Err(refusal) => {
            tracing::warn!(
                method = %req.method(),
                path = %req.uri().path(),
                why = refusal.message(),
                "request refused by the browser-attack guards"
            );
            refusal.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(hosts: &[&str], remote: Option<&str>, origins: &[&str]) -> Guard {
        let listen = remote.unwrap_or("127.0.0.1:8080").parse().unwrap();
        Guard::new(
            &hosts.iter().map(|h| h.to_string()).collect::<Vec<_>>(),
            listen,
            remote.is_some(),
            origins.iter().map(|o| o.to_string()).collect::<Vec<_>>().into(),
        )
    }

    fn head<'a>(method: &'a Method, path: &'a str, host: &'a str) -> Head<'a> {
        Head {
            method,
            path,
            host: Some(host.as_bytes()),
            origin: None,
            content_type: None,
            declared_body: false,
            websocket: false,
        }
    }

    #[test]
    fn hosts() {
        let g = guard(&["dev.example:9", "Box.Internal."], None, &[]);
        for ok in [
            "localhost",
            "LOCALHOST:8080",
            "app.localhost:1",
            "127.0.0.1:8080",
            "127.9.9.9",
            "[::1]:8080",
            "dev.example",
            "box.internal:80",
            "localhost.",
        ] {
            assert_eq!(g.check_host(Some(ok.as_bytes())), Ok(()), "{ok}");
        }
        for bad in [
            "attacker.example",
            "localhost.attacker.example",
            "127.0.0.1.nip.io",
            "10.0.0.1:8080",
            "[::2]",
            "",
            ":80",
            "localhost:http",
            "localhost:99999999",
            "loc alhost",
            "[::1",
        ] {
            assert!(g.check_host(Some(bad.as_bytes())).is_err(), "{bad}");
        }
        let remote = guard(&[], Some("192.0.2.7:8080"), &[]);
        assert_eq!(remote.check_host(Some(b"192.0.2.7:8080")), Ok(()));
        assert!(remote.check_host(Some(b"192.0.2.8:8080")).is_err());
        let any_ip = guard(&[], Some("0.0.0.0:8080"), &[]);
        assert_eq!(any_ip.check_host(Some(b"192.0.2.8:8080")), Ok(()));
        assert!(any_ip.check_host(Some(b"rebound.example:8080")).is_err());
        assert_eq!(guard(&["*"], None, &[]).check_host(Some(b"anything.example")), Ok(()));
    }

    #[test]
    fn origins() {
        let g = guard(&[], None, &["http://ui.localhost:3000"]);
        let post = Method::POST;
        let get = Method::GET;
        let mut h = head(&post, "/api/v1/sandboxes/x/stop", "127.0.0.1:8080");
        assert_eq!(g.check(&h), Ok(()));
        for (origin, ok) in [
            ("http://ui.localhost:3000", true),
            ("http://127.0.0.1:8080", true),
            ("https://127.0.0.1:8080", true),
            ("http://127.0.0.1", false),
            ("http://localhost:8080", false),
            ("https://evil.example", false),
            ("null", false),
            ("http://127.0.0.1:8080/", false),
        ] {
            h.origin = Some(origin.as_bytes());
            assert_eq!(g.check(&h).is_ok(), ok, "{origin}");
        }
        h.host = Some(b"localhost");
        h.origin = Some(b"http://localhost");
        assert_eq!(g.check(&h), Ok(()));
        // Reads are not refused (the browser withholds the answer without CORS headers) ...
        let mut r = head(&get, "/api/v1/sandboxes", "127.0.0.1:8080");
        r.origin = Some(b"https://evil.example");
        assert_eq!(g.check(&r), Ok(()));
        // ... but a WebSocket upgrade is.
        r.websocket = true;
        assert!(matches!(g.check(&r), Err(Refusal::Origin(_))));
    }

    #[test]
    fn content_types() {
        let g = guard(&[], None, &[]);
        let post = Method::POST;
        for (path, ct, declared, ok) in [
            ("/api/v1/sandboxes", Some("application/json"), true, true),
            ("/api/v1/sandboxes", Some("Application/JSON; charset=utf-8"), true, true),
            ("/api/v1/sandboxes", Some("application/merge-patch+json"), true, true),
            ("/api/v1/sandboxes", Some("text/plain;charset=UTF-8"), true, false),
            (
                "/api/v1/sandboxes",
                Some("application/x-www-form-urlencoded"),
                true,
                false,
            ),
            (
                "/api/v1/sandboxes",
                Some("multipart/form-data; boundary=x"),
                true,
                false,
            ),
            ("/api/v1/sandboxes", None, true, false),
            ("/api/v1/sandboxes/x/stop", None, false, true),
            ("/api/v1/sandboxes/x/stop", Some("text/plain"), false, false),
            ("/api/v1/sandboxes/x/invoke", Some("text/plain"), true, true),
            ("/api/v1/sandboxes/x/invoke/cancel", Some("text/plain"), true, false),
            ("/api/v1/sandboxes/x/files/workspace/a", Some("text/plain"), true, true),
            (
                "/api/v1/sandboxes/x/preview/3000/form",
                Some("multipart/form-data"),
                true,
                true,
            ),
            // Found by the fuzz target's first run (its oracle missed this form; the guard was right).
            ("/api/v1/sandboxes/x/preview", None, true, true),
            ("/healthz", Some("text/plain"), true, true),
        ] {
            let mut h = head(&post, path, "localhost");
            h.content_type = ct.map(str::as_bytes);
            h.declared_body = declared;
            assert_eq!(g.check(&h).is_ok(), ok, "{path} {ct:?}");
        }
    }
}
