//! Port forwarding and the preview reverse proxy.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;

use super::common::*;

/// A one-shot HTTP server on loopback that answers every request and reports the raw request.
fn upstream() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let mut buf = vec![0u8; 16384];
            let mut got = Vec::new();
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let _ = tx.send(String::from_utf8_lossy(&got).into_owned());
            let body = "hello from upstream";
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Upstream: yes\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (port, rx)
}

#[test]
fn forward_list_remove_and_bad_input() {
    let (_r, http) = start();
    http.create("pf");
    let r = http.post("/api/v1/sandboxes/pf/ports", r#"{"port":3000,"protocol":"http"}"#);
    assert_eq!(r.status, 201, "{}", r.body);
    let host = http.base.trim_start_matches("http://");
    assert_eq!(
        r.json(),
        serde_json::json!({
            "port": 3000, "protocol": "http",
            "previewUrl": format!("http://{host}/api/v1/sandboxes/pf/preview/3000/"),
            "internalUrl": "http://127.0.0.1:3000"
        })
    );
    // Idempotent; protocol defaults to http.
    assert_eq!(http.post("/api/v1/sandboxes/pf/ports", r#"{"port":3000}"#).status, 201);
    assert_eq!(
        http.post("/api/v1/sandboxes/pf/ports", r#"{"port":8080,"protocol":"tcp"}"#)
            .status,
        201
    );
    let j = http.get("/api/v1/sandboxes/pf/ports").json();
    let ports: Vec<_> = j["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["port"].as_i64().unwrap())
        .collect();
    assert_eq!(ports, [3000, 8080]);

    for (body, msg) in [
        (r#"{"port":0}"#, "port must be > 0"),
        (r#"{"port":-1}"#, "port must be > 0"),
        (r#"{}"#, "port must be > 0"),
        (r#"{"port":70000}"#, "port must be 1-65535 (got 70000)"),
    ] {
        let r = http.post("/api/v1/sandboxes/pf/ports", body);
        assert_eq!((r.status, r.error().as_str()), (400, msg), "{body}");
    }
    let r = http.post("/api/v1/sandboxes/pf/ports", r#"{"port":"80"}"#);
    assert_eq!(r.status, 400);
    assert!(r.error().starts_with("invalid request body: "));

    let r = http.delete("/api/v1/sandboxes/pf/ports/abc");
    assert_eq!((r.status, r.error().as_str()), (400, "invalid port: abc"));
    assert_eq!(http.delete("/api/v1/sandboxes/pf/ports/3000").status, 204);
    assert_eq!(http.delete("/api/v1/sandboxes/pf/ports/3000").status, 204);
    assert_eq!(http.delete("/api/v1/sandboxes/pf/ports/9").status, 204);
    let j = http.get("/api/v1/sandboxes/pf/ports").json();
    assert_eq!(j["ports"].as_array().unwrap().len(), 1);
    http.delete("/api/v1/sandboxes/pf/ports/8080");
    assert_eq!(http.get("/api/v1/sandboxes/pf/ports").body, "{\"ports\":[]}\n");
}

#[test]
fn preview_proxy() {
    let (_r, http) = start();
    http.create_running("web");
    let (port, seen) = upstream();
    let base = format!("/api/v1/sandboxes/web/preview/{port}");
    let r = http.get(&format!("{base}/"));
    assert_eq!((r.status, r.error()), (404, format!("port {port} is not forwarded")));
    http.post("/api/v1/sandboxes/web/ports", &format!(r#"{{"port":{port}}}"#));

    let r = http.send(
        "GET",
        &format!("{base}/some/page?x=1&y=two"),
        None,
        &[("Authorization", "Bearer secret-token"), ("X-Custom", "kept")],
    );
    assert_eq!((r.status, r.body.as_str()), (200, "hello from upstream"));
    assert_eq!(r.header("x-upstream"), Some("yes"));
    let req = seen.recv().unwrap();
    assert!(req.starts_with("GET /some/page?x=1&y=two HTTP/1.1\r\n"), "{req}");
    let lower = req.to_ascii_lowercase();
    assert!(!lower.contains("x-api-key"), "credentials forwarded: {req}");
    assert!(!lower.contains("authorization"), "credentials forwarded: {req}");
    assert!(lower.contains("x-custom: kept"));

    let r = http.send("POST", &base, Some("{}"), &[]);
    assert_eq!(r.status, 200);
    assert!(seen.recv().unwrap().starts_with("POST / HTTP/1.1"));

    let r = http.get("/api/v1/sandboxes/web/preview/notaport/");
    assert_eq!((r.status, r.error().as_str()), (400, "invalid port"));

    // Nothing listening → 502 plain text.
    let dead = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    http.post("/api/v1/sandboxes/web/ports", &format!(r#"{{"port":{dead}}}"#));
    let r = http.get(&format!("/api/v1/sandboxes/web/preview/{dead}/"));
    assert_eq!(r.status, 502);
    assert!(r.body.starts_with("port forward upstream unreachable: "), "{}", r.body);
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));

    // Not running → 409.
    http.post_empty("/api/v1/sandboxes/web/stop");
    let r = http.get(&format!("{base}/"));
    assert_eq!((r.status, r.error().as_str()), (409, "sandbox is not running"));
}
