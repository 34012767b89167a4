//! Exec and ports against the local router.

use std::time::Duration;

use agenttier::Error;
use agenttier::models::{CreateSandbox, Exec};

use super::{Env, maybe, sdk};

#[maybe]
async fn running(env: &Env, what: &str) -> sdk::Sandbox {
    let sandbox = env
        .client
        .create_sandbox(CreateSandbox::new("general-coding", env.name(what)))
        .await
        .unwrap();
    sandbox.wait_until_running(Duration::from_secs(30)).await.unwrap();
    sandbox
}

#[maybe]
pub async fn exec_output_exit_codes_and_newlines(env: Env) {
    let sandbox = running(&env, "exec").await;
    let out = sandbox
        .exec("printf 'out\\n\\n'; printf err >&2; exit 3")
        .await
        .unwrap();
    assert_eq!(out.stdout, "out\n\n");
    assert_eq!(out.stderr, "err");
    assert_eq!(out.exit_code, 3);
    assert!(!out.success());
    let pwd = sandbox.exec(Exec::new("pwd && echo $((6*7))")).await.unwrap();
    assert_eq!(pwd.stdout, "/workspace\n42\n");
    let quoting = sandbox.exec("echo \"a  b\" 'c\"d' $(echo e)").await.unwrap();
    assert_eq!(quoting.stdout, "a  b c\"d e\n");
    sandbox.terminate().await.unwrap();
}

/// The worst exec answer the router gives — both streams at their 8 MiB cap, every byte a NUL
/// that JSON escapes to six (`\u0000`), about 96 MiB — is read whole under the client's default
/// `max_response_bytes`.
#[maybe]
pub async fn the_largest_exec_answer_fits_the_default_limits(env: Env) {
    let sandbox = running(&env, "largest").await;
    let out = sandbox
        .exec("head -c 9000000 /dev/zero; head -c 9000000 /dev/zero >&2")
        .await
        .unwrap();
    let capped = 8 * 1024 * 1024;
    for stream in [&out.stdout, &out.stderr] {
        assert_eq!(stream.len(), capped + "\n[truncated]".len());
        assert!(stream.ends_with("\n[truncated]") && stream.bytes().take(capped).all(|b| b == 0));
    }
    assert_eq!(out.exit_code, 0);
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn exec_timeout_kills_the_command(env: Env) {
    let sandbox = running(&env, "timeout").await;
    let started = std::time::Instant::now();
    let out = sandbox
        .exec(Exec::new("sleep 30 & sleep 30; echo never").timeout(Duration::from_secs(1)))
        .await
        .unwrap();
    assert_eq!(out.exit_code, -1, "{out:?}");
    assert!(!out.stdout.contains("never"));
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the whole process group was killed"
    );
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn exec_refuses_bad_input_locally(env: Env) {
    // No request is sent for these: the sandbox does not even exist.
    let sandbox = env.client.sandbox("never-created");
    let empty = sandbox.exec("  ").await.unwrap_err();
    assert!(matches!(empty, Error::InvalidInput { .. }), "{empty:?}");
    let zero = sandbox
        .exec(Exec::new("true").timeout(Duration::ZERO))
        .await
        .unwrap_err();
    assert!(matches!(zero, Error::InvalidInput { .. }), "{zero:?}");
    let port = sandbox.forward_port(0).await.unwrap_err();
    assert!(matches!(port, Error::InvalidInput { .. }), "{port:?}");
    let missing = sandbox.exec("true").await.unwrap_err();
    assert!(matches!(missing, Error::NotFound { .. }), "{missing:?}");
}

#[maybe]
pub async fn ports_forward_list_remove(env: Env) {
    let sandbox = running(&env, "ports").await;
    let ports = sandbox.list_ports().await.unwrap();
    assert!(ports.is_empty());
    let port = sandbox.forward_port(3000).await.unwrap();
    assert_eq!(port.port, 3000);
    assert_eq!(port.protocol, "http");
    assert!(
        port.internal_url.as_deref().is_some_and(|u| u.contains("3000")),
        "{port:?}"
    );
    assert!(
        port.preview_url.as_deref().is_some_and(|u| u.contains("/preview/3000")),
        "{port:?}"
    );
    let again = sandbox.forward_port(3000).await.unwrap();
    assert_eq!(again.port, 3000);
    sandbox.forward_port_with_protocol(8081, "tcp").await.unwrap();
    let mut listed: Vec<u16> = sandbox.list_ports().await.unwrap().iter().map(|p| p.port).collect();
    listed.sort();
    assert_eq!(listed, [3000, 8081]);
    sandbox.remove_port(3000).await.unwrap();
    sandbox.remove_port(3000).await.unwrap();
    let left: Vec<u16> = sandbox.list_ports().await.unwrap().iter().map(|p| p.port).collect();
    assert_eq!(left, [8081]);
    sandbox.terminate().await.unwrap();
}
