//! `agenttier mcp`: the real binary as an MCP server over stdio (stdout carries nothing but
//! JSON-RPC), and its refusal of an unprotected non-loopback HTTP address.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use agenttier_router::{LocalRouter, RouterOptions};
use serde_json::{Value, json};

fn agenttier(router: &LocalRouter) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_agenttier"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env(
            "AGENTTIER_CONFIG",
            std::env::temp_dir().join("agenttier-mcp-test-none.json"),
        )
        .env("AGENTTIER_API_URL", router.url())
        .env("AGENTTIER_API_KEY", router.admin_key());
    cmd
}

#[test]
fn mcp_serves_stdio_with_the_cli_configuration() {
    let router = LocalRouter::start(RouterOptions::default()).expect("router starts");
    let mut child = agenttier(&router)
        .arg("mcp")
        .env("RUST_LOG", "debug")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut send = |message: Value| writeln!(stdin, "{message}").unwrap();
    let mut receive = || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let message: Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("stdout is not JSON-RPC ({e}): {line:?}"));
        assert_eq!(message["jsonrpc"], "2.0", "{line}");
        message
    };
    send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "cli-test", "version": "1"}}}));
    assert_eq!(receive()["result"]["serverInfo"]["name"], "agenttier");
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    send(
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "current_user", "arguments": {}}}),
    );
    let me = receive();
    assert_eq!(me["id"], 2);
    assert_eq!(
        me["result"]["isError"], false,
        "the CLI's credentials reach the tools: {me}"
    );
    send(
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "sandbox_status", "arguments": {"sandbox_id": "nope"}}}),
    );
    let missing = receive();
    assert_eq!(missing["result"]["isError"], true, "{missing}");
    assert_eq!(
        missing["result"]["structuredContent"]["error"], "not_found",
        "{missing}"
    );
    drop(stdin);
    let status = child.wait().unwrap();
    assert!(status.success(), "exits cleanly when the client closes stdin: {status}");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    assert!(rest.trim().is_empty(), "nothing else on stdout: {rest:?}");
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut logs).unwrap();
    assert!(!logs.is_empty(), "RUST_LOG logs go to stderr");
    assert!(!logs.contains(router.admin_key()), "no secret in the logs");
}

#[test]
fn mcp_refuses_an_open_remote_listener() {
    let router = LocalRouter::start(RouterOptions::default()).expect("router starts");
    let out = agenttier(&router)
        .args(["mcp", "--http", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("loopback") && stderr.contains("--allow-remote"),
        "{stderr}"
    );
    let out = agenttier(&router)
        .args(["mcp", "--http", "0.0.0.0:0", "--allow-remote"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("AGENTTIER_MCP_TOKEN"));
}
