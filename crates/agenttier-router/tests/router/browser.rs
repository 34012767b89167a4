//! Web pages attacking the router through the developer's browser (dev-auth makes every request
//! an admin): cross-site "simple" requests, DNS rebinding, cross-site WebSocket upgrades — and
//! the legitimate shapes that must keep working: curl, the official Python SDK's requests, a web
//! UI behind a same-origin proxy, the CORS preflight flow, `--allowed-hosts`.
//!
//! Requests are written by hand on a socket, so every header is exactly what a browser (or the
//! client being imitated) sends.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use agenttier_router::{LocalRouter, RouterOptions};

use super::common::{Http, fast_opts};

struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// Sends `method path` with exactly `headers` (plus `Content-Length` when there is a body and
/// `Connection: close`) and reads the answer.
fn send(router: &LocalRouter, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let addr = router.url().trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    for (n, v) in headers {
        req.push_str(&format!("{n}: {v}\r\n"));
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    Answer {
        status: head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0),
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

fn dev_router(extra: RouterOptions) -> LocalRouter {
    LocalRouter::start(RouterOptions {
        dev_auth: true,
        ..extra
    })
    .expect("router starts")
}

fn host(router: &LocalRouter) -> String {
    router.url().trim_start_matches("http://").to_owned()
}

const CREATE: &str =
    r#"{"name":"pwned","namespace":"default","templateRef":{"name":"general-coding","kind":"ClusterSandboxTemplate"}}"#;

fn sandbox_count(router: &LocalRouter) -> usize {
    let r = Http::new(router.url(), None).get("/api/v1/sandboxes");
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["sandboxes"].as_array().map_or(0, Vec::len)
}

/// `fetch(url, {method:'POST', mode:'no-cors', body:'{...}'})` from another site: the browser
/// sends `Origin` and `Content-Type: text/plain;charset=UTF-8`. A form post sends a form type.
/// A page that hides its origin (sandboxed iframe, `Origin: null`) is refused too.
#[test]
fn cross_site_simple_requests_are_refused() {
    let router = dev_router(fast_opts());
    let h = host(&router);
    for (origin, content_type, status) in [
        ("https://evil.example", "text/plain;charset=UTF-8", 403),
        ("https://evil.example", "application/x-www-form-urlencoded", 403),
        ("null", "text/plain;charset=UTF-8", 403),
        ("http://127.0.0.1", "application/json", 403), // another port is another origin
    ] {
        let r = send(
            &router,
            "POST",
            "/api/v1/sandboxes",
            &[("Host", &h), ("Origin", origin), ("Content-Type", content_type)],
            CREATE,
        );
        assert_eq!(r.status, status, "{origin} {content_type}: {}", r.body);
        assert!(r.body.contains("--cors-allowed-origins"), "{}", r.body);
    }
    // Without an Origin (an old browser, a proxy that strips it), the content type still stops it.
    for content_type in [
        Some("text/plain;charset=UTF-8"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut headers = vec![("Host", h.as_str())];
        if let Some(ct) = content_type {
            headers.push(("Content-Type", ct));
        }
        let r = send(&router, "POST", "/api/v1/sandboxes", &headers, CREATE);
        assert_eq!(r.status, 415, "{content_type:?}: {}", r.body);
        assert!(r.body.contains("application/json"), "{}", r.body);
    }
    assert_eq!(sandbox_count(&router), 0, "a refused request created a sandbox");
}

/// DNS rebinding: `attacker.example` first resolves to the attacker, then to 127.0.0.1, so the
/// page's same-origin requests (no Origin on GET) reach the router with the attacker's name in
/// `Host`.
#[test]
fn dns_rebinding_is_refused_by_host() {
    let router = dev_router(fast_opts());
    let port = router.url().rsplit(':').next().unwrap().to_owned();
    let rebound = format!("attacker.example:{port}");
    for (method, path, body) in [
        ("GET", "/api/v1/sandboxes", ""),
        ("GET", "/healthz", ""),
        ("POST", "/api/v1/sandboxes", CREATE),
    ] {
        let origin = format!("http://{rebound}");
        let mut headers = vec![("Host", rebound.as_str()), ("Content-Type", "application/json")];
        if method == "POST" {
            headers.push(("Origin", &origin));
        }
        let r = send(&router, method, path, &headers, body);
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
        assert!(r.body.contains("--allowed-hosts"), "{}", r.body);
    }
    assert_eq!(sandbox_count(&router), 0);
}

/// A browser opens WebSockets across origins without a preflight: an upgrade from a foreign
/// origin is refused like a state-changing request, on any path.
#[test]
fn cross_site_websocket_upgrades_are_refused() {
    let router = dev_router(fast_opts());
    let h = host(&router);
    let upgrade = |origin: &str| {
        send(
            &router,
            "GET",
            "/api/v1/sandboxes",
            &[
                ("Host", &h),
                ("Origin", origin),
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Version", "13"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ],
            "",
        )
    };
    let r = upgrade("https://evil.example");
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("WebSocket"), "{}", r.body);
    // The page served by the router itself (same origin) is not refused by the guard.
    assert_ne!(upgrade(&format!("http://{h}")).status, 403);
}

/// What must keep working: curl (no Origin, JSON), the official Python SDK's requests (httpx:
/// JSON bodies with `application/json`, body-less POSTs with `Content-Length: 0` and no type),
/// `localhost` and `[::1]`-style loopback names.
#[test]
fn curl_and_python_sdk_shapes_keep_working() {
    let router = dev_router(fast_opts());
    let h = host(&router);
    let port = router.url().rsplit(':').next().unwrap().to_owned();
    let curl = [
        ("Host", h.as_str()),
        ("User-Agent", "curl/8.5.0"),
        ("Accept", "*/*"),
        ("Content-Type", "application/json"),
    ];
    let r = send(&router, "POST", "/api/v1/sandboxes", &curl, CREATE);
    assert_eq!(r.status, 201, "{}", r.body);
    let localhost = format!("localhost:{port}");
    let httpx = [
        ("Host", localhost.as_str()),
        ("Accept", "*/*"),
        ("Accept-Encoding", "gzip, deflate"),
        ("User-Agent", "agenttier-python/0.8.1"),
    ];
    let python = Http::new(router.url(), None);
    python.wait_phase("pwned", "Running");
    let mut json = httpx.to_vec();
    json.push(("Content-Type", "application/json"));
    let r = send(
        &router,
        "POST",
        "/api/v1/sandboxes/pwned/exec",
        &json,
        r#"{"command":"echo hi","timeout":30}"#,
    );
    assert_eq!((r.status, r.body.contains("hi\\n")), (200, true), "{}", r.body);
    let r = send(&router, "POST", "/api/v1/sandboxes/pwned/stop", &httpx, "");
    assert_eq!(r.status, 200, "{}", r.body);
    // An invoke body is the entrypoint's input, of any type (the SDK sends text as text/plain).
    let mut text = httpx.to_vec();
    text.push(("Content-Type", "text/plain"));
    let r = send(&router, "POST", "/api/v1/sandboxes/pwned/invoke", &text, "hello");
    assert_ne!(r.status, 415, "{}", r.body);
    let r = send(&router, "DELETE", "/api/v1/sandboxes/pwned", &httpx, "");
    assert_eq!(r.status, 204, "{}", r.body);
}

/// A web UI served by a proxy at `localhost:3000` that forwards `/api` to the router keeping the
/// `Host` header: its requests are same-origin (Origin = the Host). A proxy that rewrites `Host`
/// needs the UI's origin in `--cors-allowed-origins`, and then the browser's CORS flow (preflight,
/// then the request) works.
#[test]
fn same_origin_proxy_and_cors_preflight_keep_working() {
    let router = dev_router(RouterOptions {
        cors_allowed_origins: vec!["http://ui.localhost:5173".into()],
        ..fast_opts()
    });
    let r = send(
        &router,
        "POST",
        "/api/v1/sandboxes",
        &[
            ("Host", "localhost:3000"),
            ("Origin", "http://localhost:3000"),
            ("Content-Type", "application/json"),
            ("X-Forwarded-For", "127.0.0.1"),
        ],
        CREATE,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let h = host(&router);
    let ui = "http://ui.localhost:5173";
    let pre = send(
        &router,
        "OPTIONS",
        "/api/v1/sandboxes/pwned",
        &[
            ("Host", &h),
            ("Origin", ui),
            ("Access-Control-Request-Method", "DELETE"),
            ("Access-Control-Request-Headers", "content-type,x-api-key"),
        ],
        "",
    );
    assert_eq!(pre.status, 204, "{}", pre.body);
    assert_eq!(pre.header("access-control-allow-origin"), Some(ui));
    let r = send(
        &router,
        "DELETE",
        "/api/v1/sandboxes/pwned",
        &[("Host", &h), ("Origin", ui)],
        "",
    );
    assert_eq!(r.status, 204, "{}", r.body);
    assert_eq!(r.header("access-control-allow-origin"), Some(ui));
}

/// `--allowed-hosts` (and `*`) admits other names; the loopback ones stay admitted.
#[test]
fn allowed_hosts_admit_other_names() {
    let router = dev_router(RouterOptions {
        allowed_hosts: vec!["devbox.internal".into()],
        ..fast_opts()
    });
    for (host, status) in [
        ("devbox.internal:8080", 200),
        ("DEVBOX.INTERNAL", 200),
        ("localhost", 200),
        ("127.0.0.1", 200),
        ("[::1]:1", 200),
        ("other.internal", 403),
    ] {
        let r = send(&router, "GET", "/api/v1/sandboxes", &[("Host", host)], "");
        assert_eq!(r.status, status, "{host}: {}", r.body);
    }
    let any = dev_router(RouterOptions {
        allowed_hosts: vec!["*".into()],
        ..fast_opts()
    });
    let r = send(&any, "GET", "/api/v1/sandboxes", &[("Host", "anything.example")], "");
    assert_eq!(r.status, 200, "{}", r.body);
}
