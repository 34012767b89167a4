//! Interactive terminals (`Sandbox::terminal`, `run_in_terminal`) against the local router.

use std::time::Duration;

use agenttier::Error;
use agenttier::models::CreateSandbox;
use agenttier::{CloseReason, TerminalEvent, TerminalOptions};

use super::{Env, maybe, sdk};
use crate::support;

#[maybe]
async fn running(env: &Env, client: &sdk::Client, what: &str) -> sdk::Sandbox {
    let sandbox = client
        .create_sandbox(CreateSandbox::new("general-coding", env.name(what)))
        .await
        .unwrap();
    sandbox.wait_until_running(Duration::from_secs(30)).await.unwrap();
    sandbox
}

/// Reads output events until `needle` shows up; returns everything read.
#[maybe]
async fn read_until(reader: &mut sdk::TerminalReader, needle: &str) -> String {
    let mut seen = String::new();
    while !seen.contains(needle) {
        match reader.next_event().await {
            Some(Ok(TerminalEvent::Output(text))) => seen.push_str(&text),
            other => panic!("waiting for {needle:?}, got {other:?}; output so far: {seen:?}"),
        }
    }
    seen
}

#[maybe]
pub async fn terminal_shell_sizes_types_and_exits(env: Env) {
    let sandbox = running(&env, &env.client, "term").await;
    let mut terminal = sandbox
        .terminal(TerminalOptions::default().size(101, 33))
        .await
        .unwrap();
    // The size given at open time reached the PTY before the first command.
    terminal
        .send_input("stty size; echo \"t=$TERM $((6*7))\"; pwd\r")
        .await
        .unwrap();
    let out = read_until(terminal.reader(), "/workspace").await;
    assert!(out.contains("33 101"), "{out:?}");
    assert!(out.contains("t=xterm-256color 42"), "{out:?}");
    terminal.resize(120, 40).await.unwrap();
    terminal.writer().ping().await.unwrap();
    terminal.send_input("stty size\r").await.unwrap();
    read_until(terminal.reader(), "40 120").await;
    let refused = terminal.resize(0, 10).await.unwrap_err();
    assert!(matches!(refused, Error::InvalidInput { .. }), "{refused:?}");
    // `exit` ends the shell: the events end without a close reason.
    terminal.send_input("exit\r").await.unwrap();
    loop {
        match terminal.next_event().await {
            None => break,
            Some(Ok(TerminalEvent::Output(_))) => {}
            other => panic!("unexpected after exit: {other:?}"),
        }
    }
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn terminal_halves_and_close_reasons(env: Env) {
    let sandbox = running(&env, &env.client, "halves").await;
    let (mut reader, mut writer) = sandbox.terminal(TerminalOptions::default()).await.unwrap().split();
    writer.send_input("echo half-$((2+3))\r").await.unwrap();
    read_until(&mut reader, "half-5").await;
    sandbox.stop().await.unwrap();
    let mut reason = None;
    while let Some(event) = reader.next_event().await {
        if let TerminalEvent::Close { reason: r, .. } = event.unwrap() {
            reason = Some(r);
        }
    }
    assert_eq!(reason, Some(CloseReason::SandboxStopped));
    // Nothing more once the session ended.
    let after = reader.next_event().await;
    assert!(after.is_none());
    drop(writer);
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn run_in_terminal_streams_output_live(env: Env) {
    let sandbox = running(&env, &env.client, "run").await;
    let mut chunks: Vec<String> = Vec::new();
    sandbox
        .run_in_terminal("for i in 1 2 3; do echo line-$i; sleep 0.3; done; tty", |text| {
            chunks.push(text.to_owned())
        })
        .await
        .unwrap();
    let all = chunks.concat();
    assert!(all.contains("line-1\r\nline-2\r\nline-3\r\n"), "{all:?}");
    assert!(all.contains("/dev/pts/"), "a real terminal: {all:?}");
    assert!(chunks.len() >= 3, "output arrived as it was written: {chunks:?}");
    let empty = sandbox.run_in_terminal(" ", |_| {}).await.unwrap_err();
    assert!(matches!(empty, Error::InvalidInput { .. }), "{empty:?}");
    sandbox.stop().await.unwrap();
    let stopped = sandbox.run_in_terminal("true", |_| {}).await.unwrap_err();
    assert!(matches!(stopped, Error::Conflict { .. }), "{stopped:?}");
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn terminal_over_tls_trusts_the_clients_roots(env: Env) {
    let sandbox = running(&env, &env.client, "tls").await;
    let url = support::tls_proxy::url();
    let trusting = sdk::Client::builder()
        .base_url(url)
        .api_key(support::router().admin_key())
        .unwrap()
        .add_root_certificates_pem(support::tls_proxy::ca_pem())
        .build()
        .unwrap();
    let mut terminal = trusting
        .sandbox(sandbox.id())
        .terminal(TerminalOptions::default())
        .await
        .unwrap();
    terminal.send_input("echo over-$((7*6))-tls\r").await.unwrap();
    read_until(terminal.reader(), "over-42-tls").await;
    drop(terminal);
    // Without the CA the server's certificate is not trusted: no session, a transport error.
    let doubting = sdk::Client::builder()
        .base_url(url)
        .api_key(support::router().admin_key())
        .unwrap()
        .build()
        .unwrap();
    let refused = doubting
        .sandbox(sandbox.id())
        .terminal(TerminalOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(refused, Error::Transport { .. }), "{refused:?}");
    assert!(refused.to_string().to_lowercase().contains("certificate"), "{refused}");
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn terminal_refusals_are_typed_errors(env: Env) {
    let missing = env
        .client
        .sandbox(env.name("nosuch"))
        .terminal(TerminalOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }), "{missing:?}");
    assert_eq!(missing.status(), Some(404));
    let owner = env.client_with_key(&support::user_key(&format!("{}-term-owner", env.prefix)));
    let sandbox = running(&env, &owner, "private").await;
    let stranger = env.client_with_key(&support::user_key(&format!("{}-term-stranger", env.prefix)));
    let denied = stranger
        .sandbox(sandbox.id())
        .terminal(TerminalOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(denied, Error::Authorization { .. }), "{denied:?}");
    let bad = env.client_with_key("atk_not-a-key");
    let unauthenticated = bad
        .sandbox(sandbox.id())
        .terminal(TerminalOptions::default())
        .await
        .unwrap_err();
    assert!(
        matches!(unauthenticated, Error::Authentication { .. }),
        "{unauthenticated:?}"
    );
    let text = format!("{unauthenticated} {unauthenticated:?}");
    assert!(!text.contains("atk_not-a-key"), "the key leaked: {text}");
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn terminal_tunnels_through_the_clients_proxy(env: Env) {
    let sandbox = running(&env, &env.client, "proxied").await;
    let proxy = support::connect_proxy::ConnectProxy::start(Some("alice:pr0xy-Pass"));
    let router = support::router().url().trim_start_matches("http://").to_owned();
    let through = |credentials: &str| {
        sdk::Client::builder()
            .base_url(support::router().url())
            .api_key(support::router().admin_key())
            .unwrap()
            .proxy(proxy.url(Some(credentials)))
            .build()
            .unwrap()
    };
    let mut terminal = through("alice:pr0xy-Pass")
        .sandbox(sandbox.id())
        .terminal(TerminalOptions::default())
        .await
        .unwrap();
    terminal.send_input("echo via-$((6*7))-proxy\r").await.unwrap();
    read_until(terminal.reader(), "via-42-proxy").await;
    drop(terminal);
    assert_eq!(proxy.targets(), [router], "one tunnel, to the router");
    // Wrong proxy credentials: the proxy's 407 as a transport error that never shows them.
    let refused = through("alice:wr0ng-Pass")
        .sandbox(sandbox.id())
        .terminal(TerminalOptions::default())
        .await
        .unwrap_err();
    let text = format!("{refused} {refused:?}");
    assert!(matches!(refused, Error::Transport { .. }), "{refused:?}");
    assert!(
        text.contains("407") && !text.contains("wr0ng") && !text.contains("pr0xy"),
        "{text}"
    );
    assert_eq!(proxy.targets().len(), 1);
    sandbox.terminate().await.unwrap();
}
