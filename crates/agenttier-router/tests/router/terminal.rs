//! The terminal WebSocket (`GET /ws/terminal/{id}`, wire spec §11.5) at the protocol level: a
//! raw WebSocket client (tungstenite) against a real router and a real PTY.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use agenttier_router::RouterOptions;
use serde_json::{Value, json};
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

use super::common::{Http, fast_opts, processes_matching, sleep_marker, start_with};

/// A raw terminal connection.
struct Term {
    ws: WebSocket<TcpStream>,
    /// Every output frame's text so far.
    output: String,
    /// Every frame received, decoded.
    frames: Vec<Value>,
    /// Whether the server closed the socket.
    ended: bool,
}

/// Opens `/ws/terminal/<path>` (path may carry a query) with extra headers; a refusal gives
/// its status and body.
fn open(base: &str, path: &str, headers: &[(&str, &str)]) -> Result<Term, (u16, String)> {
    let url = format!("{}/ws/terminal/{path}", base.replacen("http://", "ws://", 1));
    let mut req = url.as_str().into_client_request().unwrap();
    for (k, v) in headers {
        req.headers_mut().insert(
            tungstenite::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    let host = base.trim_start_matches("http://");
    let stream = TcpStream::connect(host).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    match tungstenite::client(req, stream) {
        Ok((ws, _)) => Ok(Term {
            // Short reads from here on, so `pump` can poll.
            ws: {
                ws.get_ref().set_read_timeout(Some(Duration::from_millis(50))).unwrap();
                ws
            },
            output: String::new(),
            frames: Vec::new(),
            ended: false,
        }),
        Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp))) => Err((
            resp.status().as_u16(),
            String::from_utf8_lossy(resp.body().as_deref().unwrap_or_default()).into_owned(),
        )),
        Err(e) => panic!("handshake failed: {e}"),
    }
}

fn open_ok(base: &str, path: &str, headers: &[(&str, &str)]) -> Term {
    open(base, path, headers).unwrap_or_else(|(s, b)| panic!("refused {s}: {b}"))
}

impl Term {
    fn send(&mut self, frame: Value) {
        self.ws.send(Message::text(frame.to_string())).unwrap();
    }

    fn type_text(&mut self, text: &str) {
        self.send(json!({"type": "input", "data": text}));
    }

    /// Reads one message (or nothing within the read timeout); false once the socket ended.
    fn pump(&mut self) -> bool {
        if self.ended {
            return false;
        }
        match self.ws.read() {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(&t).unwrap_or_else(|e| panic!("frame not JSON ({e}): {t}"));
                if v["type"] == "output" {
                    assert_eq!(v["stream"], "stdout");
                    self.output.push_str(v["data"].as_str().unwrap());
                }
                self.frames.push(v);
                true
            }
            Ok(Message::Close(_)) => true,
            Ok(_) => true,
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) =>
            {
                true
            }
            Err(_) => {
                self.ended = true;
                false
            }
        }
    }

    /// Reads until `done` holds (panics after `secs`).
    fn until(&mut self, secs: u64, what: &str, done: impl Fn(&Term) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; output so far: {:?}; frames: {:?}",
                self.output,
                self.frames.iter().filter(|f| f["type"] != "output").collect::<Vec<_>>()
            );
            self.pump();
        }
    }

    fn until_output(&mut self, needle: &str) {
        let n = needle.to_owned();
        self.until(15, needle, move |t| t.output.contains(&n));
    }

    /// Waits for the server to end the session; returns the JSON close frame, if any.
    fn until_closed(&mut self, secs: u64) -> Option<Value> {
        self.until(secs, "the socket to close", |t| t.ended);
        self.frames.iter().find(|f| f["type"] == "close").cloned()
    }
}

fn dev_router() -> (agenttier_router::LocalRouter, Http) {
    start_with(RouterOptions {
        dev_auth: true,
        ..fast_opts()
    })
}

#[test]
fn terminal_speaks_every_frame_type_on_a_real_pty() {
    let (router, http) = start_with(RouterOptions {
        dev_auth: true,
        terminal_heartbeat: Duration::from_millis(200),
        ..fast_opts()
    });
    http.create_running("term");
    let mut t = open_ok(router.url(), "term", &[]);
    t.send(json!({"type": "ping"}));
    t.until(10, "pong", |t| t.frames.iter().any(|f| f["type"] == "pong"));
    // Malformed frames are ignored; the session goes on.
    for junk in [
        "not json",
        "{}",
        r#"{"type":"explode"}"#,
        r#"{"type":"resize","cols":"x"}"#,
        "[1,2]",
    ] {
        t.ws.send(Message::text(junk)).unwrap();
    }
    t.ws.send(Message::binary(vec![0u8, 1, 2])).unwrap();
    t.type_text("echo \"sum=$((40+2)) term=$TERM\"; tty\r");
    t.until_output("sum=42 term=xterm-256color");
    t.until_output("/dev/pts/");
    t.send(json!({"type": "resize", "cols": 123, "rows": 45}));
    t.type_text("stty size\r");
    t.until_output("45 123");
    // Heartbeats carry the server's clock in Unix milliseconds.
    t.until(10, "a heartbeat", |t| t.frames.iter().any(|f| f["type"] == "heartbeat"));
    let beat = t.frames.iter().find(|f| f["type"] == "heartbeat").unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!((beat["ts"].as_i64().unwrap() - now_ms).abs() < 60_000, "{beat}");
    // The shell is a session leader with the PTY as its controlling terminal: Ctrl-C reaches
    // the foreground program and the shell survives it.
    t.type_text("sleep 30; echo end-$((6*7))\r");
    std::thread::sleep(Duration::from_millis(400));
    t.type_text("\u{3}");
    t.type_text("echo still-alive\r");
    t.until_output("still-alive");
    assert!(!t.output.contains("end-42"), "Ctrl-C did not interrupt: {}", t.output);
    // `exit` ends the shell and with it the session (a normal close, no close frame).
    t.type_text("exit\r");
    assert_eq!(t.until_closed(10), None);
}

#[test]
fn a_closed_socket_kills_the_shell_and_everything_it_started() {
    let (router, http) = dev_router();
    http.create_running("kill");
    let marker = sleep_marker(71);
    let mut t = open_ok(router.url(), "kill", &[]);
    t.type_text(&format!("sleep {marker} & sleep {marker}\r"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while processes_matching(&["sleep", &marker]).len() < 2 {
        assert!(Instant::now() < deadline, "sleeps never started: {}", t.output);
        t.pump();
    }
    drop(t);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !processes_matching(&["sleep", &marker]).is_empty() {
        assert!(Instant::now() < deadline, "the shell outlived its socket");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The sandbox may idle out again: nothing of the session still counts as running.
    assert_eq!(http.phase("kill").0, "Running");
}

#[test]
fn a_client_that_never_answers_pings_is_dropped() {
    let (router, http) = start_with(RouterOptions {
        dev_auth: true,
        terminal_heartbeat: Duration::from_millis(100),
        terminal_pong_timeout: Duration::from_millis(1000),
        ..fast_opts()
    });
    http.create_running("silent");
    let mut t = open_ok(router.url(), "silent", &[]);
    // Not reading means not answering the server's pings.
    std::thread::sleep(Duration::from_millis(3000));
    assert_eq!(t.until_closed(10), None);
    assert!(t.frames.iter().any(|f| f["type"] == "heartbeat"));
    // A client that reads (and so answers pings) stays.
    let mut t = open_ok(router.url(), "silent", &[]);
    let until = Instant::now() + Duration::from_millis(3000);
    while Instant::now() < until {
        assert!(t.pump(), "a client answering pings was dropped");
    }
}

#[test]
fn close_reasons_for_stop_delete_and_max_runtime() {
    let (router, http) = dev_router();
    http.create_running("stopme");
    let mut t = open_ok(router.url(), "stopme", &[]);
    t.type_text("echo ready\r");
    t.until_output("ready");
    assert_eq!(http.post_empty("/api/v1/sandboxes/stopme/stop").status, 200);
    let close = t.until_closed(10).expect("a close frame");
    assert_eq!(close["reason"], "sandbox_stopped", "{close}");

    http.create_running("deleteme");
    let mut t = open_ok(router.url(), "deleteme", &[]);
    t.type_text("echo ready\r");
    t.until_output("ready");
    assert_eq!(http.delete("/api/v1/sandboxes/deleteme").status, 204);
    assert_eq!(t.until_closed(10).expect("a close frame")["reason"], "sandbox_deleted");

    http.create_from("brief", "general-coding", r#","timeout":"2s""#);
    http.wait_phase("brief", "Running");
    let mut t = open_ok(router.url(), "brief", &[]);
    assert_eq!(t.until_closed(15).expect("a close frame")["reason"], "session_expired");
}

#[test]
fn idle_terminals_keep_the_sandbox_while_used_and_close_when_abandoned() {
    let (router, http) = dev_router();
    http.create_from("idle", "general-coding", r#","idleTimeout":"1s""#);
    http.wait_phase("idle", "Running");
    let mut t = open_ok(router.url(), "idle", &[]);
    // Typing keeps the sandbox (and the session) alive past its idle timeout.
    let until = Instant::now() + Duration::from_millis(2500);
    while Instant::now() < until {
        t.type_text("true\r");
        for _ in 0..6 {
            t.pump();
        }
    }
    assert_eq!(http.phase("idle").0, "Running");
    assert!(!t.ended);
    // Abandoned: the session is closed, then the sandbox idles out.
    assert_eq!(t.until_closed(10).expect("a close frame")["reason"], "idle_timeout");
    http.wait_phase("idle", "Stopped");
}

#[test]
fn revoking_a_share_closes_the_viewers_session() {
    let (router, admin) = start_with(fast_opts());
    let alice = admin.with_key(&router.create_key("alice", false, &[]).unwrap());
    let bob_key = router.create_key("bob", false, &[]).unwrap();
    alice.create_running("shared");
    let r = alice.post(
        "/api/v1/sandboxes/shared/share",
        r#"{"identity":"bob@agenttier.local","level":"viewer"}"#,
    );
    assert!(r.status == 200 || r.status == 201, "{}", r.body);
    let mut t = open_ok(router.url(), "shared", &[("X-API-Key", &bob_key)]);
    t.type_text("echo bob-was-here\r");
    t.until_output("bob-was-here");
    let r = alice.delete("/api/v1/sandboxes/shared/share/bob@agenttier.local");
    assert!(r.status == 200 || r.status == 204, "{}", r.body);
    assert_eq!(t.until_closed(10).expect("a close frame")["reason"], "access_revoked");
}

#[test]
fn auth_matrix_before_the_upgrade() {
    let (router, admin) = start_with(fast_opts());
    let base = router.url();
    let alice_key = router.create_key("alice", false, &[]).unwrap();
    let bob_key = router.create_key("bob", false, &[]).unwrap();
    let alice = admin.with_key(&alice_key);
    alice.create_running("mine");
    alice.create_running("other");
    let refused = |path: &str, headers: &[(&str, &str)]| match open(base, path, headers) {
        Ok(_) => panic!("{path} {headers:?} was accepted"),
        Err((status, body)) => (status, body.trim_end().to_owned()),
    };
    let text = |s: u16, b: &str| (s, b.to_owned());
    assert_eq!(refused("mine", &[]), text(401, "missing authentication"));
    assert_eq!(
        refused("mine", &[("X-API-Key", "atk_nope")]),
        text(401, "invalid api key")
    );
    // An invalid key is not rescued by a valid bearer token (§1.1).
    let bearer = format!("Bearer {alice_key}");
    assert_eq!(
        refused("mine", &[("X-API-Key", "atk_nope"), ("Authorization", &bearer)]),
        text(401, "invalid api key")
    );
    let (s, b) = refused("mine", &[("Authorization", "Bearer eyJhbGciOi.x.y")]);
    assert_eq!(s, 401);
    assert!(b.starts_with("invalid token: "), "{b}");
    assert_eq!(refused("mine?token=atk_nope", &[]).0, 401);
    assert_eq!(
        refused("nosuch", &[("X-API-Key", &alice_key)]),
        text(404, "sandbox not found")
    );
    assert_eq!(
        refused("mine?namespace=elsewhere", &[("X-API-Key", &alice_key)]),
        text(404, "sandbox not found")
    );
    assert_eq!(refused("mine", &[("X-API-Key", &bob_key)]), text(403, "access denied"));
    // A web page of another origin cannot open a shell, even with the key in the URL.
    let foreign = refused(
        &format!("mine?token={alice_key}"),
        &[("Origin", "https://evil.example")],
    );
    assert_eq!(foreign.0, 403);

    // Accepted: header key, bearer header, ?token= (a browser: no custom headers, own origin),
    // the namespace pinned right.
    open_ok(base, "mine", &[("X-API-Key", &alice_key)]);
    open_ok(base, "mine", &[("Authorization", &bearer)]);
    let origin = base.to_owned();
    open_ok(base, &format!("mine?token={alice_key}"), &[("Origin", &origin)]);
    open_ok(base, "mine?namespace=default", &[("X-API-Key", &alice_key)]);
    open_ok(base, "mine", &[("X-API-Key", router.admin_key())]);

    // Sandbox-scoped keys (checked here, unlike the Router): bound and holding run-command.
    let scoped = |scopes: Value| {
        let body = json!({"name": "k", "sandboxId": "mine", "scopes": scopes}).to_string();
        let r = alice.post("/api/v1/user/api-keys", &body);
        assert_eq!(r.status, 201, "{}", r.body);
        r.json()["key"].as_str().unwrap().to_owned()
    };
    let run = scoped(json!(["run-command"]));
    let files = scoped(json!(["files:read"]));
    open_ok(base, "mine", &[("X-API-Key", &run)]);
    assert_eq!(
        refused("other", &[("X-API-Key", &run)]),
        text(403, "scoped key is not bound to this sandbox")
    );
    assert_eq!(
        refused("mine", &[("X-API-Key", &files)]),
        text(403, "scoped key lacks the \"run-command\" action group")
    );

    assert_eq!(alice.post_empty("/api/v1/sandboxes/other/stop").status, 200);
    alice.wait_phase("other", "Stopped");
    assert_eq!(
        refused("other", &[("X-API-Key", &alice_key)]),
        text(409, "sandbox is not running")
    );
    // A plain GET without the upgrade handshake is refused too.
    assert_eq!(alice.get("/ws/terminal/mine").status / 100, 4);
}

#[test]
fn dev_auth_browsers_need_no_credentials_but_the_right_origin() {
    let (router, http) = dev_router();
    http.create_running("dev");
    let base = router.url();
    let mut t = open_ok(base, "dev", &[("Origin", base)]);
    t.type_text("echo dev-ok\r");
    t.until_output("dev-ok");
    assert_eq!(
        open(base, "dev", &[("Origin", "http://localhost.evil.example")])
            .err()
            .map(|e| e.0),
        Some(403)
    );
}

#[test]
fn two_sessions_at_once_and_a_bound_per_sandbox() {
    let (router, http) = dev_router();
    http.create_running("pair");
    let mut a = open_ok(router.url(), "pair", &[]);
    let mut b = open_ok(router.url(), "pair", &[]);
    a.type_text("echo from-$((1+1))-a\r");
    b.type_text("echo from-$((2+2))-b\r");
    a.until_output("from-2-a");
    b.until_output("from-4-b");
    assert!(!a.output.contains("from-4-b") && !b.output.contains("from-2-a"));
    let mut more: Vec<Term> = (2..8).map(|_| open_ok(router.url(), "pair", &[])).collect();
    let (status, body) = open(router.url(), "pair", &[])
        .err()
        .expect("a ninth session is refused");
    assert_eq!(status, 429, "{body}");
    more.pop();
    std::thread::sleep(Duration::from_millis(300));
    open_ok(router.url(), "pair", &[]);
}

#[test]
fn output_is_valid_utf8_even_split_across_reads_or_invalid() {
    let (router, http) = dev_router();
    http.create_running("utf");
    let mut t = open_ok(router.url(), "utf", &[]);
    // The euro sign's three bytes in two writes 300 ms apart, then an invalid byte.
    t.type_text("printf 'x\\342\\202'; sleep 0.3; printf '\\254y\\n'; printf 'bad:\\377:end\\n'\r");
    t.until_output("bad:\u{fffd}:end");
    assert!(t.output.contains("x€y"), "{:?}", t.output);
}

#[test]
fn a_megabyte_of_output_arrives_complete_and_in_order() {
    let (router, http) = dev_router();
    http.create_running("bulk");
    // `?command=` runs one program on the terminal instead of an interactive shell.
    let mut t = open_ok(router.url(), "bulk?command=seq%201%20200000", &[]);
    assert_eq!(t.until_closed(60), None);
    let lines: Vec<&str> = t.output.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert!(t.output.len() > 1 << 20, "only {} bytes", t.output.len());
    assert_eq!(lines.len(), 200_000);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line.parse::<usize>().ok(), Some(i + 1), "line {i}");
    }
}
