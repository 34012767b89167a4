//! Health, request ids, auth replies, current user, templates and mux quirks.

use agenttier_router::{LocalRouter, RouterOptions};

use super::common::*;

#[test]
fn health_readiness_and_request_ids() {
    let (_r, http) = start();
    let anon = Http::new(&http.base, None);
    for path in ["/healthz", "/readyz"] {
        let r = anon.get(path);
        assert_eq!((r.status, r.body.as_str()), (200, "ok"));
        let id = r.header("x-request-id").unwrap();
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }
    let r = http.send("GET", "/api/v1/user/me", None, &[("X-Request-ID", "my-req-1")]);
    assert_eq!(r.header("x-request-id"), Some("my-req-1"));
    let r = anon.get("/api/v1/user/me");
    assert_eq!(r.status, 401);
    assert!(r.header("x-request-id").is_some());
}

#[test]
fn auth_failures_are_platform_401s() {
    let (_r, http) = start();
    let anon = Http::new(&http.base, None);
    let cases = [
        (vec![], r#"{"error":"missing_authorization"}"#),
        (
            vec![("Authorization", "Basic abc")],
            r#"{"error":"invalid_authorization_format"}"#,
        ),
        (
            vec![("Authorization", "bearer abc")],
            r#"{"error":"invalid_authorization_format"}"#,
        ),
        (
            vec![("Authorization", "Bearer abc")],
            r#"{"error":"invalid_token","message":"OIDC authentication is not configured on this server"}"#,
        ),
        (vec![("X-API-Key", "atk_wrong")], r#"{"error":"invalid_api_key"}"#),
        // A valid bearer does not rescue an invalid key.
        (
            vec![("X-API-Key", "atk_wrong"), ("Authorization", "Bearer x")],
            r#"{"error":"invalid_api_key"}"#,
        ),
    ];
    for (headers, body) in cases {
        let r = anon.send("GET", "/api/v1/sandboxes", None, &headers);
        assert_eq!(r.status, 401, "{headers:?}");
        assert_eq!(r.body, format!("{body}\n"), "{headers:?}");
        assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    }
}

#[test]
fn current_user_for_keys_and_dev_auth() {
    let (router, http) = start();
    let alice = router.create_key("alice", false, &[]).unwrap();
    let r = http.with_key(&alice).get("/api/v1/user/me");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        r.body,
        "{\"sub\":\"alice\",\"email\":\"alice@agenttier.local\",\"name\":\"alice\",\"groups\":[],\"isAdmin\":false}\n"
    );
    let ops = router.create_key("ops", true, &["sre", "oncall"]).unwrap();
    let j = http.with_key(&ops).get("/api/v1/user/me").json();
    assert_eq!(j["isAdmin"], true);
    assert_eq!(j["groups"], serde_json::json!(["sre", "oncall"]));
    assert!(ops.starts_with("atk_") && ops.len() == 47);

    let (_dev, dev_http) = start_with(RouterOptions {
        dev_auth: true,
        ..fast_opts()
    });
    let anon = Http::new(&dev_http.base, None);
    let r = anon.get("/api/v1/user/me");
    assert_eq!(
        r.body,
        "{\"sub\":\"dev-user\",\"email\":\"dev@agenttier.local\",\"name\":\"Dev User\",\"groups\":[\"agenttier-admins\"],\"isAdmin\":true}\n"
    );
    // Dev-auth ignores whatever credentials are sent; the admin key still works.
    assert_eq!(
        anon.send("GET", "/api/v1/user/me", None, &[("X-API-Key", "junk")])
            .status,
        200
    );
    assert_eq!(dev_http.get("/api/v1/user/me").json()["sub"], "dev-user");
}

#[test]
fn templates_list_and_get() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ml.json"),
        r#"{"name":"ml-notebook","description":"ML","spec":{"mode":"code","image":{"repository":"local/ml"}}}"#,
    )
    .unwrap();
    let (_r, http) = start_with(RouterOptions {
        templates_dir: Some(dir.path().to_path_buf()),
        ..fast_opts()
    });
    let j = http.get("/api/v1/templates").json();
    let list = j["templates"].as_array().unwrap();
    let names: Vec<_> = list.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["agent-python", "general-coding", "ml-notebook"]);
    let agent = &list[0];
    assert_eq!(agent["spec"]["mode"], "agent");
    assert_eq!(list[1]["spec"]["mode"], "code");
    assert!(agent["resourceVersion"].is_string() && agent["description"].is_string());
    let r = http.get("/api/v1/templates/ml-notebook");
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["image"], "local/ml");
    let r = http.get("/api/v1/templates/nope");
    assert_eq!((r.status, r.error().as_str()), (404, "template not found"));

    // A broken template file is a start-up error, not a silent skip.
    std::fs::write(dir.path().join("bad.json"), "{").unwrap();
    let err = LocalRouter::start(RouterOptions {
        templates_dir: Some(dir.path().to_path_buf()),
        ..fast_opts()
    })
    .unwrap_err();
    assert!(err.to_string().contains("bad.json"), "{err}");
}

#[test]
fn mux_quirks() {
    let (_r, http) = start();
    let r = http.get("/api/v1/nope");
    assert_eq!((r.status, r.body.as_str()), (404, "404 page not found\n"));
    assert_eq!(r.header("x-request-id"), None, "mux replies carry no request id");
    let r = http.get("/api/v1/sandboxes/x/files");
    assert_eq!(r.status, 404);
    let r = http.send("PUT", "/api/v1/sandboxes", Some("{}"), &[]);
    assert_eq!((r.status, r.body.as_str()), (405, ""));
    assert_eq!(r.header("x-request-id"), None);
    let r = http.get("/");
    assert_eq!(r.status, 405);
    let r = http.send("POST", "/healthz", None, &[]);
    assert_eq!(r.status, 405);
    // The other methods of the bulk paths reach `/sandboxes/{id}`, as with mux's route order.
    let r = http.get("/api/v1/sandboxes/bulk");
    assert_eq!((r.status, r.error().as_str()), (404, "sandbox bulk not found"));
    let r = http.send("DELETE", "/api/v1/sandboxes/bulk-action", None, &[]);
    assert_eq!(r.status, 404);
}

#[test]
fn non_canonical_paths_redirect_before_anything_else() {
    let (_r, http) = start();
    let http = http.without_redirects();
    let anon = Http::new(&http.base, None).without_redirects();
    for (path, location) in [
        ("/api/v1//sandboxes", "/api/v1/sandboxes"),
        (
            "/api/v1/sandboxes/x/files//workspace/a%20b?x=1",
            "/api/v1/sandboxes/x/files/workspace/a%20b?x=1",
        ),
        ("/api/v1/sandboxes/x/./files/", "/api/v1/sandboxes/x/files/"),
        (
            "/api/v1/sandboxes/x/files/workspace/%2E%2E/etc",
            "/api/v1/sandboxes/x/files/etc",
        ),
        ("/healthz/..", "/"),
    ] {
        for caller in [&http, &anon] {
            let r = caller.get(path);
            assert_eq!((r.status, r.header("location")), (301, Some(location)), "{path}");
            assert_eq!(r.header("x-request-id"), None, "mux replies carry no request id");
            assert_eq!(r.body, "");
        }
    }
    assert_eq!(http.get("/api/v1/sandboxes").status, 200);
}

#[test]
fn options_and_cors() {
    let (_r, http) = start_with(RouterOptions {
        cors_allowed_origins: vec!["http://localhost:3000".into()],
        ..fast_opts()
    });
    let anon = Http::new(&http.base, None);
    let r = anon.send("OPTIONS", "/api/v1/sandboxes", None, &[]);
    assert_eq!((r.status, r.header("access-control-allow-origin")), (204, None));
    let r = anon.send("OPTIONS", "/anything", None, &[("Origin", "https://evil.example")]);
    assert_eq!((r.status, r.body.as_str()), (403, ""));
    let allowed = [("Origin", "http://localhost:3000")];
    let r = anon.send("OPTIONS", "/api/v1/sandboxes/x", None, &allowed);
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), Some("http://localhost:3000"));
    assert_eq!(r.header("vary"), Some("Origin"));
    assert!(r.header("access-control-allow-methods").unwrap().contains("PATCH"));
    assert_eq!(r.header("access-control-max-age"), Some("86400"));
    let r = http.send("GET", "/api/v1/sandboxes", None, &allowed);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("http://localhost:3000"));
    assert_eq!(r.header("access-control-expose-headers"), Some("X-Request-ID"));
    let r = http.send("GET", "/api/v1/sandboxes", None, &[("Origin", "https://evil.example")]);
    assert_eq!((r.status, r.header("access-control-allow-origin")), (200, None));
    // Without allowed origins (the default) any `Origin` is refused on OPTIONS.
    let (_plain, plain) = start();
    let r = Http::new(&plain.base, None).send("OPTIONS", "/", None, &allowed);
    assert_eq!(r.status, 403);
}

#[test]
fn refuses_non_loopback_listen_without_allow_remote() {
    let err = LocalRouter::start(RouterOptions {
        listen: "0.0.0.0:0".parse().unwrap(),
        ..fast_opts()
    })
    .unwrap_err();
    assert!(err.to_string().contains("allow-remote"), "{err}");
}

/// Sends `head` and then, after a pause, `body` on `sock`, and reads one response (its status).
fn answer_after_late_body(sock: &mut std::net::TcpStream, head: &str, body: &str) -> u16 {
    use std::io::{BufRead, BufReader, Read, Write};
    sock.write_all(head.as_bytes()).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    sock.write_all(body.as_bytes()).unwrap();
    let mut reader = BufReader::new(sock.try_clone().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let status = line.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).unwrap();
        if header == "\r\n" || header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
    }
    let mut rest = vec![0; length];
    reader.read_exact(&mut rest).unwrap();
    status
}

/// A chunked body whose end arrives after the router could answer (ureq sends a body-less POST as
/// an empty chunked body) is read before routing, so the connection stays usable: hyper would
/// otherwise close it under a client about to send its next request.
#[test]
fn late_chunked_bodies_keep_the_connection_alive() {
    let (_r, http) = start();
    http.create_running("ka");
    let addr = http.base.trim_start_matches("http://");
    let key = http.key.as_deref().unwrap();
    let mut sock = std::net::TcpStream::connect(addr).unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let head = |path: &str| {
        format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nX-API-Key: {key}\r\nTransfer-Encoding: chunked\r\n\r\n")
    };
    // Refused before any handler reads a body: a wrong phase, an unknown sandbox, no credentials.
    let cases = [
        (head("/api/v1/sandboxes/ka/resume"), "0\r\n\r\n", 409),
        (head("/api/v1/sandboxes/nope/stop"), "5\r\nhello\r\n0\r\n\r\n", 404),
        (head("/api/v1/sandboxes/ka/stop"), "0\r\n\r\n", 200),
        (head("/api/v1/sandboxes/ka/stop"), "0\r\n\r\n", 409),
    ];
    for (head, body, status) in cases {
        assert_eq!(answer_after_late_body(&mut sock, &head, body), status, "{head}");
    }
}
