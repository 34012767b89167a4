//! What the router refuses: path escapes on every path-taking route, another user's key on
//! every sandbox route, API keys in logs or in the process list, and remote listening without
//! `--allow-remote`.

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

use super::common::*;

const BIN: &str = env!("CARGO_BIN_EXE_agenttier-router");

/// The attempts: relative `..`, absolute outside, symlinks out (absolute, relative, to the
/// host), NUL, and overlong (whole path and one component).
fn escapes() -> Vec<(&'static str, String)> {
    vec![
        ("dotdot", "/workspace/../etc/passwd".to_owned()),
        ("dotdot-deep", "/workspace/sub/../../../../etc/passwd".to_owned()),
        ("relative", "../etc/passwd".to_owned()),
        ("absolute", "/etc/passwd".to_owned()),
        ("host-root", "/".to_owned()),
        ("link-abs", "/workspace/out-abs/passwd".to_owned()),
        ("link-rel", "/workspace/out-rel/passwd".to_owned()),
        ("link-host", "/workspace/out-host/router.db".to_owned()),
        ("link-dir-write", "/workspace/out-abs/agenttier-pwned".to_owned()),
        ("nul", "/workspace/a\0b".to_owned()),
        ("overlong", format!("/workspace/{}", "a/".repeat(2100))),
        ("overlong-name", format!("/workspace/{}", "n".repeat(300))),
    ]
}

/// Percent-encodes everything but letters, digits, `-`, `_` and `/` (dots too, so that no
/// client-side layer cleans `..`: only the router's mux does, as the Router's).
fn enc(path: &str) -> String {
    path.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Links made from inside the sandbox, pointing out of its workspace.
fn plant_links(http: &Http, name: &str, data_dir: &std::path::Path) {
    let host = data_dir.display();
    let out = http.exec(
        name,
        &format!("mkdir -p sub && ln -s /etc out-abs && ln -s ../../.. out-rel && ln -s {host} out-host && echo ok"),
    );
    assert_eq!(out["stdout"], "ok\n", "{out}");
}

#[test]
fn path_escapes_are_refused_on_every_path_taking_route() {
    let (router, http) = start();
    http.create_running("conf");
    plant_links(&http, "conf", router.data_dir());
    http.create_from("agent", "agent-python", "");
    http.wait_phase("agent", "Running");
    plant_links(&http, "agent", router.data_dir());
    for (what, path) in escapes() {
        let url_path = match enc(path.trim_start_matches('/')) {
            p if p.is_empty() => "%2F".to_owned(),
            p => p,
        };
        let query = enc(&path);
        let routes = [
            ("GET", format!("/api/v1/sandboxes/conf/files/{url_path}"), None),
            ("PUT", format!("/api/v1/sandboxes/conf/files/{url_path}"), Some("pwned")),
            ("GET", format!("/api/v1/sandboxes/conf/files/?path={query}"), None),
            ("GET", format!("/api/v1/sandboxes/conf/archive?path={query}"), None),
        ];
        for (method, url, body) in routes {
            let r = http.send(method, &url, body, &[]);
            // 400 is the refusal. The mux first cleans a URL path holding `..` or `//` (a 301 the
            // test client follows, as the Router does), so such a path may land on a route that
            // answers otherwise: 404, 405, or the listing of `/workspace` itself.
            let cleaned = !url.contains("?path=") && (path.contains("..") || path == "/");
            let refused = r.status == 400
                || (r.status == 404 && (cleaned || what == "relative"))
                || (cleaned && r.status == 405)
                || (cleaned && r.status == 200 && r.body.starts_with(r#"{"path":"/workspace","#));
            assert!(
                refused,
                "{what}: {method} {url} → {} {}",
                r.status,
                r.body.chars().take(200).collect::<String>()
            );
            assert!(!r.body.contains("root:x:0:0"), "{what}: /etc/passwd leaked");
        }
        let body = json!({
            "files": [{"path": path, "content": "pwned"}],
            "entrypoint": ["true"],
        })
        .to_string();
        let r = http.post("/api/v1/sandboxes/agent/configure", &body);
        assert_eq!(
            r.status,
            400,
            "{what}: configure {:?} → {} {}",
            path.chars().take(80).collect::<String>(),
            r.status,
            r.body.chars().take(300).collect::<String>()
        );
    }
    assert!(
        !std::path::Path::new("/etc/agenttier-pwned").exists(),
        "a write escaped"
    );
    // Inside paths still work, links inside included.
    http.exec("conf", "ln -s /workspace/sub in-abs && echo hi > sub/f.txt");
    let r = http.get("/api/v1/sandboxes/conf/files/workspace/in-abs/f.txt");
    assert_eq!((r.status, r.body.as_str()), (200, "hi\n"));
}

/// Every `/api/v1/sandboxes/{id}...` route of the route table, read from the source so that a
/// new route is covered the day it lands.
fn sandbox_routes() -> Vec<String> {
    let table = include_str!("../../src/routes/mod.rs");
    let mut out: Vec<String> = table
        .split('"')
        .filter(|s| s.starts_with("/api/v1/sandboxes/{id}"))
        .map(str::to_owned)
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn another_users_key_never_reaches_a_sandbox_on_any_route() {
    let (router, admin) = start();
    let alice = admin.with_key(&router.create_key("alice", false, &[]).unwrap());
    let bob = admin.with_key(&router.create_key("bob", false, &["devs"]).unwrap());
    alice.create_running("alices");
    alice.exec("alices", "echo alice-secret-content > secret.txt");
    assert_eq!(
        alice.post("/api/v1/sandboxes/alices/ports", r#"{"port":3000}"#).status,
        201
    );
    let backup = alice.post("/api/v1/sandboxes/alices/backups", "{}");
    let snapshot = if backup.status == 201 {
        backup.json()["name"].as_str().unwrap_or("snap").to_owned()
    } else {
        "snap".to_owned()
    };
    let routes = sandbox_routes();
    assert!(routes.len() >= 15, "route table not found: {routes:?}");
    // One body that every route would accept from the owner (unknown fields are ignored).
    let body = json!({
        "command": "echo pwned > /workspace/pwned",
        "port": 3001,
        "name": "stolen",
        "files": [{"path": "/workspace/pwned", "content": "x"}],
        "entrypoint": ["true"],
        "identity": "bob@agenttier.local",
        "users": ["bob@agenttier.local"],
        "invokeId": "inv-000000000000000000000001",
        "idleTimeout": "1h",
    })
    .to_string();
    let mut checked = 0;
    for route in &routes {
        let path = route
            .replace("{id}", "alices")
            .replace("{port}", "3000")
            .replace("{snapshot}", &snapshot)
            .replace("{identity}", "alice@agenttier.local")
            .replace("{*rest}", "x")
            .replace("{*path}", "workspace/secret.txt");
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
            let with_body = matches!(method, "POST" | "PUT" | "PATCH").then_some(body.as_str());
            let r = bob.send(method, &path, with_body, &[]);
            let allowed = match r.status {
                404 | 405 => true,
                // Sharing routes answer any failure to authorize with 403 (wire spec §6.5).
                403 => route.contains("/share"),
                _ => false,
            };
            assert!(allowed, "bob: {method} {path} → {} {}", r.status, r.body);
            assert!(
                !r.body.contains("alice-secret-content"),
                "{method} {path} leaked the file"
            );
            checked += usize::from(r.status != 405);
        }
    }
    assert!(checked >= routes.len(), "every route answered at least one method");
    // Nothing happened to Alice's sandbox.
    assert_eq!(alice.phase("alices").0, "Running");
    assert_eq!(
        alice.exec("alices", "cat secret.txt; ls")["stdout"],
        "alice-secret-content\nsecret.txt\n"
    );
    let ports = alice.get("/api/v1/sandboxes/alices/ports").json();
    assert_eq!(ports["ports"].as_array().unwrap().len(), 1, "{ports}");
    assert_eq!(admin.get("/api/v1/sandboxes/stolen").status, 404, "no clone was made");
}

/// A served router, ended with SIGTERM (so it ends its sandboxes) even when the test fails.
struct Terminated(std::process::Child);

impl Drop for Terminated {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
            let _ = self.0.wait();
        }
    }
}

#[test]
fn api_keys_never_reach_logs_or_the_process_list() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().canonicalize().unwrap();
    let out = Command::new(BIN)
        .args(["keys", "create", "--name", "quiet"])
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success());
    let key = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let secret = key.trim_start_matches("atk_").to_owned();
    assert!(secret.len() >= 16, "{key}");
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let log = data.join("router.log");
    let child = Command::new(BIN)
        .args(["serve", "--start-delay", "20ms", "--log-level", "trace", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(&data)
        .env_remove("AGENTTIER_DEV_AUTH")
        .env("RUST_LOG", "trace")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(data.join("router.err")).unwrap())
        .spawn()
        .unwrap();
    let mut child = Terminated(child);
    let child = &mut child.0;
    let http = Http::new(&format!("http://127.0.0.1:{port}"), Some(&key));
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "router did not come up");
        std::thread::sleep(Duration::from_millis(30));
    }
    // Good key by header and as a bearer token, a wrong key that shares its prefix, requests
    // that fail, a sandbox with commands: everything that could log a credential.
    assert_eq!(http.get("/api/v1/user/me").status, 200);
    let wrong = format!("{key}x");
    assert_eq!(http.with_key(&wrong).get("/api/v1/user/me").status, 401);
    let bearer = Http::new(&http.base, None);
    let r = bearer.send(
        "GET",
        "/api/v1/user/me",
        None,
        &[("Authorization", &format!("Bearer {key}"))],
    );
    assert!(r.status == 200 || r.status == 401, "{}", r.status);
    assert!(!r.body.contains(&secret));
    let r = http.with_key(&wrong).get("/api/v1/sandboxes/nope");
    assert!(!r.body.contains(&secret), "an error body echoes the key: {}", r.body);
    http.create_running("quiet");
    assert_eq!(http.exec("quiet", "echo hi")["stdout"], "hi\n");
    assert_eq!(
        http.post("/api/v1/sandboxes/quiet/ports", r#"{"port":3999}"#).status,
        201
    );
    let _ = http.get("/api/v1/sandboxes/quiet/preview/3999/");
    let _ = http.get("/api/v1/sandboxes/quiet/files/workspace/missing");

    // The process list: the router and every sandbox process it started.
    let leaks: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&secret))
        .collect();
    let router_cmdline = std::fs::read(format!("/proc/{}/cmdline", child.id())).unwrap();
    assert!(!router_cmdline.is_empty());
    let sandbox_procs = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).contains(data.to_str().unwrap()))
        .count();
    assert!(sandbox_procs >= 1, "the sandbox processes were seen");

    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    child.wait().unwrap();
    assert!(leaks.is_empty(), "the key is in a command line: {leaks:?}");
    let mut text = String::new();
    std::fs::File::open(&log).unwrap().read_to_string(&mut text).unwrap();
    text.push_str(&std::fs::read_to_string(data.join("router.err")).unwrap());
    assert!(text.len() > 200, "trace logging produced output: {text}");
    assert!(!text.contains(&secret), "the key is in the router's trace log");
    assert!(
        !text.to_lowercase().contains("x-api-key: atk"),
        "a key header is logged"
    );
}

#[test]
fn serve_refuses_a_remote_listen_without_allow_remote_and_says_why() {
    let out = Command::new(BIN)
        .args(["serve", "--listen", "0.0.0.0:0", "--dev-auth"])
        .arg("--data-dir")
        .arg(tempfile::tempdir().unwrap().path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "a remote listen must not start");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--allow-remote"), "names the flag: {err}");
    assert!(err.contains("0.0.0.0") || err.contains("loopback"), "says why: {err}");
}
