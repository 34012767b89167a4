//! The `agenttier-router serve` program: settings from the environment, `RUST_LOG`, a bad log
//! filter refused, and the first start telling how to point clients at the router.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_agenttier-router");

/// The router program with no inherited settings.
fn router() -> Command {
    let mut cmd = Command::new(BIN);
    for (name, _) in std::env::vars() {
        if name.starts_with("AGENTTIER_") || name == "RUST_LOG" {
            cmd.env_remove(name);
        }
    }
    cmd
}

#[test]
fn a_bad_log_filter_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for (flag, env) in [(Some("debgu"), None), (None, Some("info,x=loud"))] {
        let mut cmd = router();
        cmd.args(["serve", "--data-dir"]).arg(dir.path());
        if let Some(level) = flag {
            cmd.args(["--log-level", level]);
        }
        if let Some(filter) = env {
            cmd.env("RUST_LOG", filter);
        }
        let out = cmd.output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(stderr.contains("invalid log"), "{stderr}");
        assert!(stderr.contains("error, warn, info, debug"), "{stderr}");
    }
    // Nothing was started, so no state was written.
    assert!(!dir.path().join("router.db").exists());
}

#[test]
fn first_start_prints_the_url_and_how_to_mint_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("state");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = router()
        .arg("serve")
        .env("AGENTTIER_ROUTER_LISTEN", format!("127.0.0.1:{port}"))
        .env("AGENTTIER_ROUTER_DATA_DIR", &data)
        .env("RUST_LOG", "warn")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !seen.contains("keys create") && Instant::now() < deadline {
        match lines.next() {
            Some(Ok(line)) => seen.push_str(&format!("{line}\n")),
            _ => break,
        }
    }
    // The router answers on the port from the environment.
    let answered = std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() || {
        std::thread::sleep(Duration::from_millis(500));
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    };
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        seen.contains(&format!("export AGENTTIER_API_URL=http://127.0.0.1:{port}")),
        "{seen}"
    );
    assert!(
        seen.contains("agenttier-router keys create --name me --admin --data-dir"),
        "{seen}"
    );
    assert!(answered, "nothing listens on {port}: {seen}");
    assert!(data.join("router.db").exists());
}
