//! Agent mode (wire spec §9): configure, install-log, invoke over SSE, cancel.

use std::io::{BufRead, BufReader, Read, Write};
use std::time::{Duration, Instant};

use agenttier_router::{Policies, Policy, RouterOptions};
use serde_json::{Value, json};

use super::common::*;

/// Echoes its arguments, then stdin, then one line on stderr; the last line has no newline.
const ECHO_AGENT: &str = "#!/bin/sh\necho \"args:$*\"\ncat\necho\necho to-stderr >&2\nprintf tail";

/// Parses an SSE body strictly: every block is `event: X\ndata: <JSON>` or `: keepalive`.
fn events(body: &str) -> Vec<(String, Value)> {
    assert!(
        body.is_empty() || body.ends_with("\n\n"),
        "unterminated stream: {body:?}"
    );
    let mut out = Vec::new();
    for block in body.split_terminator("\n\n") {
        if block == ": keepalive" {
            out.push(("keepalive".to_owned(), Value::Null));
            continue;
        }
        let (event, data) = block
            .strip_prefix("event: ")
            .and_then(|b| b.split_once("\ndata: "))
            .unwrap_or_else(|| panic!("bad SSE block {block:?}"));
        assert!(!data.contains('\n'), "multi-line data {block:?}");
        let v: Value = serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {data}"));
        out.push((event.to_owned(), v));
    }
    out
}

fn agent_sandbox(http: &Http, name: &str) {
    http.create_from(name, "agent-python", "");
    http.wait_phase(name, "Running");
}

fn configure(http: &Http, name: &str, body: &Value) -> Vec<(String, Value)> {
    let r = http.post(&format!("/api/v1/sandboxes/{name}/configure"), &body.to_string());
    assert_eq!(r.status, 200, "configure: {}", r.body);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    events(&r.body)
}

fn result_of(evs: &[(String, Value)]) -> Value {
    let (name, v) = evs.last().expect("events");
    assert_eq!(name, "result", "{evs:?}");
    assert_eq!(evs.iter().filter(|(n, _)| n == "result" || n == "error").count(), 1);
    v.clone()
}

fn logs(evs: &[(String, Value)], stream: &str) -> Vec<String> {
    evs.iter()
        .filter(|(n, v)| n == "log" && v["stream"] == stream)
        .map(|(_, v)| v["data"].as_str().unwrap().to_owned())
        .collect()
}

fn echo_agent(http: &Http, name: &str) -> Value {
    let evs = configure(
        http,
        name,
        &json!({
            "files": [{"path": "/workspace/agent.sh", "content": ECHO_AGENT}],
            "installCommand": ["chmod", "+x", "/workspace/agent.sh"],
            "entrypoint": ["/workspace/agent.sh"],
        }),
    );
    result_of(&evs)
}

fn invoke(http: &Http, name: &str, query: &str, body: Option<&str>) -> Reply {
    http.send("POST", &format!("/api/v1/sandboxes/{name}/invoke{query}"), body, &[])
}

/// An invoke that ran: its events, checked for the start/log…/exit shape.
fn invoked(http: &Http, name: &str, query: &str, body: Option<&str>) -> (Vec<(String, Value)>, Value) {
    let r = invoke(http, name, query, body);
    assert_eq!(r.status, 200, "{}", r.body);
    for (h, v) in [
        ("content-type", "text/event-stream"),
        ("cache-control", "no-cache"),
        ("x-accel-buffering", "no"),
    ] {
        assert_eq!(r.header(h), Some(v), "{h}");
    }
    let evs = events(&r.body);
    let (first, start) = &evs[0];
    assert_eq!(first, "start");
    let id = start["invokeId"].as_str().unwrap().to_owned();
    assert!(id.len() == 28 && id.starts_with("inv-") && id[4..].bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(start["startedAt"].as_i64().unwrap() > 1_700_000_000_000);
    let (last, exit) = evs.last().unwrap();
    assert_eq!(last, "exit", "{evs:?}");
    assert_eq!(exit["invokeId"], id.as_str());
    assert!(exit["durationMs"].is_i64());
    let exit = exit.clone();
    (evs, exit)
}

#[test]
fn configure_files_install_and_idempotence() {
    let (_r, http) = start();
    agent_sandbox(&http, "cfg");
    let body = json!({
        "files": [
            {"path": "/workspace/agent.sh", "content": ECHO_AGENT},
            {"path": "/workspace//sub/./blob.bin", "contentBase64": "AJ+Slg=="},
        ],
        "installCommand": ["sh", "-c", "chmod +x agent.sh && echo installed && echo warn >&2 && printf 'no newline'"],
        "entrypoint": ["/workspace/agent.sh"],
    });
    let evs = configure(&http, "cfg", &body);
    let out = logs(&evs, "stdout");
    assert_eq!(
        out,
        [
            "[configure] uploading /workspace/agent.sh",
            "[configure] uploading /workspace/sub/blob.bin",
            "[configure] running install: sh -c chmod +x agent.sh && echo installed && echo warn >&2 && printf 'no newline'",
            "installed",
            "no newline",
        ]
    );
    assert_eq!(logs(&evs, "stderr"), ["warn"]);
    let first = result_of(&evs);
    assert_eq!(first["skipped"], false);
    assert_eq!(first["installExitCode"], 0);
    assert_eq!(first["entrypoint"], json!(["/workspace/agent.sh"]));
    let hash = first["installCommandHash"].as_str().unwrap();
    assert!(hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()));
    let at = first["lastConfiguredAt"].as_str().unwrap();
    assert!(at.len() == 20 && at.ends_with('Z') && at.as_bytes()[10] == b'T', "{at}");
    let od = http.exec("cfg", "od -An -tu1 /workspace/sub/blob.bin");
    assert_eq!(
        od["stdout"].as_str().unwrap().split_whitespace().collect::<Vec<_>>(),
        ["0", "159", "146", "150"]
    );
    assert_eq!(http.exec("cfg", "cat agent.sh")["stdout"], ECHO_AGENT);

    // Same files (other order) and command: skipped, nothing uploaded or run; entrypoint refreshed.
    let mut again = body.clone();
    again["files"].as_array_mut().unwrap().reverse();
    again["entrypoint"] = json!(["/workspace/agent.sh", "x"]);
    let evs = configure(&http, "cfg", &again);
    assert_eq!(evs.len(), 1, "{evs:?}");
    let second = result_of(&evs);
    assert_eq!(second["skipped"], true);
    assert_eq!(second["installCommandHash"], hash);
    let (evs, _) = invoked(&http, "cfg", "", None);
    assert_eq!(logs(&evs, "stdout")[0], "args:x");
    // A skipped configure ran no install: no install log (as on the platform).
    let r = http.get("/api/v1/sandboxes/cfg/configure/install-log");
    assert_eq!(
        (r.status, r.error().as_str()),
        (404, "no install log available for this sandbox")
    );
}

#[test]
fn configure_rejections_and_error_events() {
    let (_r, http) = start();
    agent_sandbox(&http, "rej");
    http.create_running("code");
    let url = "/api/v1/sandboxes/rej/configure";
    let cases: &[(Value, &str)] = &[
        (
            json!({}),
            "at least one of files, installCommand, or entrypoint is required",
        ),
        (json!({"files": [{"content": "x"}]}), "files[0].path is required"),
        (
            json!({"files": [{"path": "a.txt", "content": "x"}]}),
            "files[0].path must be absolute (got \"a.txt\")",
        ),
        (
            json!({"files": [{"path": "/workspace/../etc/x", "content": "x"}]}),
            "files[0].path must not contain '..'",
        ),
        (
            json!({"files": [{"path": "/workspace/a'b", "content": "x"}]}),
            "files[0].path contains disallowed characters",
        ),
        (
            json!({"files": [{"path": "/workspace/a", "content": ""}]}),
            "files[0] must set content or contentBase64",
        ),
        (
            json!({"files": [{"path": "/workspace/a", "content": "x", "contentBase64": "eA=="}]}),
            "files[0]: set content OR contentBase64, not both",
        ),
        (
            json!({"files": [{"path": "/etc/passwd", "content": "x"}]}),
            "files[0].path must live under /workspace (got \"/etc/passwd\")",
        ),
        (
            json!({"files": [{"path": "/workspace", "content": "x"}]}),
            "files[0].path must live under /workspace (got \"/workspace\")",
        ),
    ];
    for (body, msg) in cases {
        let r = http.post(url, &body.to_string());
        assert_eq!((r.status, r.error().as_str()), (400, *msg), "{body}");
    }
    let r = http.post(url, "{");
    assert_eq!(r.status, 400);
    assert!(r.error().starts_with("invalid request body: "), "{}", r.body);
    let many: Vec<Value> = (0..201)
        .map(|i| json!({"path": format!("/workspace/f{i}"), "content": "x"}))
        .collect();
    let r = http.post(url, &json!({ "files": many }).to_string());
    assert_eq!(
        (r.status, r.error().as_str()),
        (403, "too many files in request: 201 (max 200)")
    );

    // A symbolic link that leads out of the workspace is refused before anything is written.
    let outside = tempfile::tempdir().unwrap();
    http.exec("rej", &format!("ln -s {} /workspace/out", outside.path().display()));
    let r = http.post(
        url,
        &json!({"files": [{"path": "/workspace/out/evil", "content": "x"}]}).to_string(),
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.error(),
        "files[0].path \"/workspace/out/evil\" leads outside /workspace through a symbolic link"
    );
    assert!(std::fs::read_dir(outside.path()).unwrap().next().is_none());
    // A link that stays inside is followed.
    http.exec("rej", "mkdir -p real && ln -s /workspace/real /workspace/in");
    result_of(&configure(
        &http,
        "rej",
        &json!({"files": [{"path": "/workspace/in/ok", "content": "ok"}]}),
    ));
    assert_eq!(http.exec("rej", "cat real/ok")["stdout"], "ok");

    // A write that fails is an error event of phase files; nothing after it.
    http.exec("rej", "echo plain > /workspace/plain");
    let evs = configure(
        &http,
        "rej",
        &json!({"files": [{"path": "/workspace/plain/x", "content": "x"}], "entrypoint": ["true"]}),
    );
    let (name, err) = evs.last().unwrap();
    assert_eq!(name, "error", "{evs:?}");
    assert_eq!(err["phase"], "files");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .starts_with("write /workspace/plain/x: "),
        "{err}"
    );
    let evs = configure(
        &http,
        "rej",
        &json!({"files": [{"path": "/workspace/b", "contentBase64": "!!"}]}),
    );
    assert_eq!(evs.last().unwrap().1["phase"], "files");
    // Nothing was persisted by the failures.
    let r = invoke(&http, "rej", "", None);
    assert_eq!(r.status, 424);

    // Mode, phase, existence.
    let r = http.post("/api/v1/sandboxes/code/configure", r#"{"entrypoint":["true"]}"#);
    assert_eq!(r.status, 400);
    assert_eq!(
        r.error(),
        "sandbox code is in mode \"code\" — /configure is only valid for mode: agent. Use the file-transfer and exec APIs for interactive sandboxes."
    );
    assert_eq!(http.post("/api/v1/sandboxes/ghost/configure", "{}").status, 404);
    http.post_empty("/api/v1/sandboxes/rej/stop");
    let r = http.post(url, r#"{"entrypoint":["true"]}"#);
    assert_eq!(
        (r.status, r.error().as_str()),
        (
            409,
            "sandbox is in phase \"Stopped\" — wait for Running before configuring"
        )
    );
}

#[test]
fn install_exit_code_log_and_timeout() {
    let (_r, http) = start_with(RouterOptions {
        install_timeout: Duration::from_millis(700),
        ..fast_opts()
    });
    agent_sandbox(&http, "inst");
    // Non-zero exit: still a result, nothing persisted.
    let evs = configure(
        &http,
        "inst",
        &json!({"installCommand": ["sh", "-c", "echo failing; exit 3"], "entrypoint": ["echo", "hi"]}),
    );
    let res = result_of(&evs);
    assert_eq!(res["installExitCode"], 3);
    assert_eq!(res["skipped"], false);
    assert_eq!(invoke(&http, "inst", "", None).status, 424);
    assert_eq!(http.get("/api/v1/sandboxes/inst/configure/install-log").status, 404);
    // A log with ANSI escapes and quotes is served as valid JSON.
    let script = r#"printf '\033[32mok\033[0m "quoted" \\ tab\t\n'; echo done >&2"#;
    let res = result_of(&configure(
        &http,
        "inst",
        &json!({"installCommand": ["sh", "-c", script], "entrypoint": ["echo", "hi"]}),
    ));
    assert_eq!(res["installExitCode"], 0);
    let r = http.get("/api/v1/sandboxes/inst/configure/install-log");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let log = r.json()["log"].as_str().unwrap().to_owned();
    assert!(
        log.contains("\u{1b}[32mok\u{1b}[0m \"quoted\" \\ tab\t\n") && log.contains("done\n"),
        "{log:?}"
    );
    // Soft timeout: an error event of phase install.
    let evs = configure(
        &http,
        "inst",
        &json!({"installCommand": ["sleep", "30"], "entrypoint": ["true"]}),
    );
    assert_eq!(
        evs.last().unwrap(),
        &(
            "error".to_owned(),
            json!({"phase": "install", "message": "install timed out after 700ms"})
        )
    );
    let (_, exit) = invoked(&http, "inst", "", None);
    assert_eq!(exit["exitCode"], 0, "the last good configure still holds");
}

#[test]
fn entrypoint_survives_a_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = RouterOptions {
        data_dir: Some(tmp.path().to_path_buf()),
        ..fast_opts()
    };
    let (router, http) = start_with(opts.clone());
    agent_sandbox(&http, "keep");
    echo_agent(&http, "keep");
    router.shutdown();
    let (_router, http) = start_with(opts);
    http.wait_phase("keep", "Running");
    let (evs, exit) = invoked(&http, "keep", "", Some("after restart"));
    assert_eq!(exit["reason"], "completed");
    assert_eq!(logs(&evs, "stdout"), ["args:", "after restart", "tail"]);
    // Same configure again: skipped, the stored hash survived too.
    assert_eq!(echo_agent(&http, "keep")["skipped"], true);
}

#[test]
fn invoke_stdin_prompt_framing_and_exit_codes() {
    let (_r, http) = start();
    agent_sandbox(&http, "inv");
    echo_agent(&http, "inv");
    let (evs, exit) = invoked(&http, "inv", "", Some(r#"{"task":"sum"}"#));
    assert_eq!(logs(&evs, "stdout"), ["args:", r#"{"task":"sum"}"#, "tail"]);
    assert_eq!(logs(&evs, "stderr"), ["to-stderr"]);
    assert_eq!(
        (exit["exitCode"].as_i64(), exit["reason"].as_str()),
        (Some(0), Some("completed"))
    );
    // Prompt: argv and stdin (body empty); shell-sensitive characters arrive intact.
    let (evs, _) = invoked(&http, "inv", "?prompt=what%27s+%24HOME+%60x%60%3F", None);
    assert_eq!(
        logs(&evs, "stdout"),
        ["args:--prompt=what's $HOME `x`?", "what's $HOME `x`?", "tail"]
    );
    // Body wins over the prompt on stdin.
    let (evs, _) = invoked(&http, "inv", "?prompt=p", Some("body"));
    assert_eq!(logs(&evs, "stdout"), ["args:--prompt=p", "body", "tail"]);

    // Byte-exact framing of a whole stream.
    configure(
        &http,
        "inv",
        &json!({"entrypoint": ["sh", "-c", "echo '<a&b>'; printf 'x\\ty' >&2; exit 5"]}),
    );
    let r = invoke(&http, "inv", "", None);
    let evs = events(&r.body);
    let id = evs[0].1["invokeId"].as_str().unwrap();
    let started = evs[0].1["startedAt"].as_i64().unwrap();
    let ms = evs.last().unwrap().1["durationMs"].as_i64().unwrap();
    let out = "event: log\ndata: {\"data\":\"\\u003ca\\u0026b\\u003e\",\"stream\":\"stdout\"}\n\n";
    let err = "event: log\ndata: {\"data\":\"x\\ty\",\"stream\":\"stderr\"}\n\n";
    let head = format!("event: start\ndata: {{\"invokeId\":\"{id}\",\"startedAt\":{started}}}\n\n");
    let tail = format!(
        "event: exit\ndata: {{\"invokeId\":\"{id}\",\"exitCode\":5,\"durationMs\":{ms},\"reason\":\"completed\"}}\n\n"
    );
    assert!(
        r.body == format!("{head}{out}{err}{tail}") || r.body == format!("{head}{err}{out}{tail}"),
        "{:?}",
        r.body
    );
}

#[test]
fn invoke_preconditions_in_order() {
    let policy = Policies {
        cluster: Some(Policy {
            max_concurrent_invokes_per_sandbox: 1,
            ..Policy::default()
        }),
        ..Policies::default()
    };
    let (router, http) = start_with(RouterOptions {
        policy: Some(policy),
        ..fast_opts()
    });
    let alice = http.with_key(&router.create_key("alice", false, &[]).unwrap());
    http.create_running("code");
    agent_sandbox(&http, "pre");
    let err = |r: Reply| (r.status, r.error());
    assert_eq!(
        err(invoke(&http, "ghost", "", None)),
        (404, "sandbox ghost not found".into())
    );
    assert_eq!(
        err(invoke(&alice, "pre", "", None)),
        (404, "sandbox pre not found".into())
    );
    assert_eq!(
        err(invoke(&http, "code", "", None)),
        (
            400,
            "sandbox code is in mode \"code\" — /invoke is only valid for mode: agent".into()
        )
    );
    assert_eq!(
        err(invoke(&http, "pre", "", None)),
        (
            424,
            "sandbox pre has no entrypoint — call POST /configure first to set one".into()
        )
    );
    configure(
        &http,
        "pre",
        &json!({"entrypoint": ["sh", "-c", "cat >/dev/null; sleep 30"]}),
    );

    // 429 while one invoke runs (agent-python allows 4, governance clamps to 1).
    let running = Streaming::open(&http, "pre", "");
    let r = invoke(&http, "pre", "", Some("x"));
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.header("retry-after"), Some("5"));
    assert_eq!(
        r.body,
        "{\"error\":\"concurrency_exceeded\",\"inflight\":1,\"limit\":1,\"message\":\"sandbox pre already has 1 concurrent invokes (max 1)\"}\n"
    );
    running.cancel(&http);
    let exit = running.finish();
    assert_eq!(
        (exit["exitCode"].as_i64(), exit["reason"].as_str()),
        (Some(-1), Some("canceled"))
    );

    // 413 over 16 MiB, answered from Content-Length without reading the body.
    let (status, body) = raw_post_len(&http, "/api/v1/sandboxes/pre/invoke", 16 * 1024 * 1024 + 1);
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("request body exceeds 16777216 bytes"), "{body}");
    // Exactly 16 MiB is fine.
    let big = "y".repeat(16 * 1024 * 1024);
    configure(&http, "pre", &json!({"entrypoint": ["wc", "-c"]}));
    let (evs, _) = invoked(&http, "pre", "", Some(&big));
    assert_eq!(logs(&evs, "stdout"), ["16777216"]);

    http.post_empty("/api/v1/sandboxes/pre/stop");
    http.wait_phase("pre", "Stopped");
    assert_eq!(
        err(invoke(&http, "pre", "", None)),
        (
            409,
            "sandbox is in phase \"Stopped\" — must be Running to invoke".into()
        )
    );

    // What `/metrics` (unauthenticated) counted: calls past the sandbox checks, by outcome.
    let metrics = Http::new(&http.base, None).get("/metrics");
    assert_eq!(metrics.status, 200);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    for line in [
        r#"agenttier_invoke_requests_total{template="agent-python",outcome="body_too_large"} 1"#,
        r#"agenttier_invoke_requests_total{template="agent-python",outcome="canceled"} 1"#,
        r#"agenttier_invoke_requests_total{template="agent-python",outcome="completed"} 1"#,
        r#"agenttier_invoke_requests_total{template="agent-python",outcome="throttled"} 1"#,
        r#"agenttier_invoke_duration_seconds_count{template="agent-python",outcome="completed"} 1"#,
        "agenttier_invoke_throttled_total 1",
        r#"agenttier_configure_requests_total{template="agent-python",outcome="ok"} 2"#,
        r#"agenttier_sandboxes{phase="Running"} 1"#,
        r#"agenttier_sandboxes{phase="Stopped"} 1"#,
    ] {
        assert!(metrics.body.lines().any(|l| l == line), "{line} in\n{}", metrics.body);
    }
}

/// POSTs `len` bytes with a raw socket; returns status and body. Write errors are ignored: the
/// server may answer and close before reading everything.
fn raw_post_len(http: &Http, path: &str, len: usize) -> (u16, String) {
    let addr = http.base.trim_start_matches("http://").to_owned();
    let mut s = std::net::TcpStream::connect(&addr).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nX-API-Key: {}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n",
        http.key.as_deref().unwrap_or_default()
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut w = s.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'z'; 1 << 20];
        let mut left = len;
        while left > 0 {
            let n = left.min(chunk.len());
            if w.write_all(&chunk[..n]).is_err() {
                return;
            }
            left -= n;
        }
    });
    let mut resp = Vec::new();
    let _ = s.read_to_end(&mut resp);
    let _ = writer.join();
    let text = String::from_utf8_lossy(&resp).into_owned();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (status, text)
}

/// An invoke whose events are read as they arrive.
struct Streaming {
    reader: BufReader<Box<dyn Read + Send>>,
    invoke_id: String,
    sandbox: String,
}

impl Streaming {
    fn open(http: &Http, sandbox: &str, query: &str) -> Streaming {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let resp = agent
            .post(format!("{}/api/v1/sandboxes/{sandbox}/invoke{query}", http.base))
            .header("X-API-Key", http.key.as_deref().unwrap_or_default())
            .send(&b"x"[..])
            .unwrap();
        assert_eq!(resp.status(), 200);
        let reader: Box<dyn Read + Send> = Box::new(resp.into_body().into_reader());
        let mut s = Streaming {
            reader: BufReader::new(reader),
            invoke_id: String::new(),
            sandbox: sandbox.to_owned(),
        };
        let (name, start) = s.next().expect("start event");
        assert_eq!(name, "start");
        s.invoke_id = start["invokeId"].as_str().unwrap().to_owned();
        s
    }

    fn next(&mut self) -> Option<(String, Value)> {
        let mut block = String::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).unwrap_or(0) == 0 {
                return None;
            }
            if line == "\n" {
                if block == ": keepalive\n" {
                    block.clear();
                    continue;
                }
                let ev = events(&format!("{block}\n"));
                return ev.into_iter().next();
            }
            block.push_str(&line);
        }
    }

    fn cancel(&self, http: &Http) {
        let r = http.post(
            &format!("/api/v1/sandboxes/{}/invoke/cancel", self.sandbox),
            &json!({"invokeId": self.invoke_id}).to_string(),
        );
        assert_eq!(r.status, 204, "{}", r.body);
        assert!(r.body.is_empty());
    }

    /// Reads to the end; returns the exit event's data.
    fn finish(mut self) -> Value {
        let mut last = None;
        while let Some(ev) = self.next() {
            last = Some(ev);
        }
        let (name, exit) = last.expect("an exit event");
        assert_eq!(name, "exit");
        assert_eq!(exit["invokeId"], self.invoke_id.as_str());
        exit
    }
}

fn wait_gone(pattern: &[&str]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !processes_matching(pattern).is_empty() {
        assert!(Instant::now() < deadline, "{pattern:?} still running");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn cancel_kills_the_group_and_reports_canceled() {
    let (router, http) = start();
    let alice = http.with_key(&router.create_key("alice", false, &[]).unwrap());
    alice.create_from("can", "agent-python", "");
    alice.wait_phase("can", "Running");
    let (first, second) = (sleep_marker(5151), sleep_marker(5152));
    agent_sandbox(&http, "other");
    http.create_running("code");
    configure(
        &alice,
        "can",
        &json!({"entrypoint": ["sh", "-c", format!("echo begun; sleep {first} & sleep {second}")]}),
    );
    let cancel = |h: &Http, sb: &str, body: &str| {
        let r = h.post(&format!("/api/v1/sandboxes/{sb}/invoke/cancel"), body);
        (r.status, r.error())
    };

    let mut s = Streaming::open(&alice, "can", "");
    assert_eq!(s.next().unwrap().1["data"], "begun");
    let deadline = Instant::now() + Duration::from_secs(5);
    while processes_matching(&["sleep", &first]).is_empty() {
        assert!(Instant::now() < deadline, "the background sleep never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    let body = json!({"invokeId": s.invoke_id}).to_string();
    assert_eq!(
        cancel(&alice, "can", "{}"),
        (400, "invokeId is required in request body".into())
    );
    assert_eq!(
        cancel(&alice, "can", "nope"),
        (400, "invokeId is required in request body".into())
    );
    assert_eq!(
        cancel(&alice, "can", r#"{"invokeId":"inv-000000000000000000000000"}"#),
        (404, "invoke inv-000000000000000000000000 not in flight".into())
    );
    assert_eq!(
        cancel(&http, "other", &body),
        (404, "invoke does not belong to this sandbox".into())
    );
    assert_eq!(
        cancel(&http, "code", &body),
        (400, "sandbox is not in mode: agent".into())
    );
    s.cancel(&alice);
    // The whole group is gone when the 204 has arrived (or very soon after).
    wait_gone(&["sleep", &first]);
    wait_gone(&["sleep", &second]);
    let id = s.invoke_id.clone();
    let exit = s.finish();
    assert_eq!(
        (exit["exitCode"].as_i64(), exit["reason"].as_str()),
        (Some(-1), Some("canceled"))
    );
    assert_eq!(
        cancel(&alice, "can", &body),
        (404, format!("invoke {id} not in flight"))
    );

    // An admin's invoke on alice's sandbox: alice may not cancel it.
    let s = Streaming::open(&http, "can", "");
    let body = json!({"invokeId": s.invoke_id}).to_string();
    assert_eq!(cancel(&alice, "can", &body), (403, "you do not own this invoke".into()));
    s.cancel(&http);
    assert_eq!(s.finish()["reason"], "canceled");
}

#[test]
fn disconnect_cancels_and_timeout_lowers_the_cap() {
    let tpl = tempfile::tempdir().unwrap();
    std::fs::write(
        tpl.path().join("short.json"),
        json!({"name": "short-agent", "spec": {"mode": "agent", "harness": {"agent": {"defaultInvokeTimeout": "1s"}}}})
            .to_string(),
    )
    .unwrap();
    let (_r, http) = start_with(RouterOptions {
        templates_dir: Some(tpl.path().to_path_buf()),
        invoke_keepalive: Duration::from_millis(300),
        ..fast_opts()
    });
    agent_sandbox(&http, "dis");
    configure(
        &http,
        "dis",
        &json!({"entrypoint": ["sh", "-c", "echo up; sleep 6161 & sleep 6162"]}),
    );
    let mut s = Streaming::open(&http, "dis", "");
    assert_eq!(s.next().unwrap().1["data"], "up");
    drop(s);
    wait_gone(&["sleep", "6161"]);
    wait_gone(&["sleep", "6162"]);

    // ?timeout lowers the 30 min default.
    let (evs, exit) = invoked(&http, "dis", "?timeout=700ms", None);
    assert_eq!(
        (exit["exitCode"].as_i64(), exit["reason"].as_str()),
        (Some(-1), Some("timeout"))
    );
    let ms = exit["durationMs"].as_i64().unwrap();
    assert!((700..5000).contains(&ms), "{ms}");
    // Keep-alive comments while silent.
    assert!(evs.iter().any(|(n, _)| n == "keepalive"), "{evs:?}");
    wait_gone(&["sleep", "6161"]);

    // ... but cannot raise a template's cap.
    http.create_from("short", "short-agent", "");
    http.wait_phase("short", "Running");
    configure(&http, "short", &json!({"entrypoint": ["sleep", "30"]}));
    let (_, exit) = invoked(&http, "short", "?timeout=1h", None);
    assert_eq!(exit["reason"], "timeout");
    assert!(exit["durationMs"].as_i64().unwrap() < 5000);
}

#[test]
fn hundred_thousand_lines_in_order_and_long_lines() {
    let (_r, http) = start();
    agent_sandbox(&http, "many");
    configure(&http, "many", &json!({"entrypoint": ["seq", "1", "100000"]}));
    let (evs, exit) = invoked(&http, "many", "", None);
    assert_eq!(exit["exitCode"], 0);
    let lines = logs(&evs, "stdout");
    assert_eq!(lines.len(), 100_000);
    assert!(lines.iter().enumerate().all(|(i, l)| l.parse::<usize>() == Ok(i + 1)));

    // A 200 000-byte line arrives in pieces of at most 64 KiB, nothing lost.
    configure(
        &http,
        "many",
        &json!({"entrypoint": ["sh", "-c", "head -c 200000 /dev/zero | tr '\\0' a; echo; echo end"]}),
    );
    let (evs, _) = invoked(&http, "many", "", None);
    let lines = logs(&evs, "stdout");
    assert_eq!(lines.last().unwrap(), "end");
    let long = &lines[..lines.len() - 1];
    assert!(long.len() > 1 && long.iter().all(|l| l.len() <= 64 * 1024));
    assert_eq!(long.concat(), "a".repeat(200_000));
}

/// The same text sent as `content` and then as `contentBase64` is two different files (`aGk=`
/// and `hi`): the second configure is not skipped, and the file ends up as `hi`.
#[test]
fn configure_tells_content_from_content_base64() {
    let (_r, http) = start();
    agent_sandbox(&http, "forms");
    let text = json!({"files": [{"path": "/workspace/f", "content": "aGk="}], "installCommand": ["true"]});
    let first = result_of(&configure(&http, "forms", &text));
    assert_eq!(first["skipped"], false);
    assert_eq!(http.exec("forms", "cat /workspace/f")["stdout"], "aGk=");
    let b64 = json!({"files": [{"path": "/workspace/f", "contentBase64": "aGk="}], "installCommand": ["true"]});
    let second = result_of(&configure(&http, "forms", &b64));
    assert_eq!(second["skipped"], false, "{second}");
    assert_ne!(second["installCommandHash"], first["installCommandHash"]);
    assert_eq!(http.exec("forms", "cat /workspace/f")["stdout"], "hi");
}
