//! Sandbox lifecycle against the local router.

use std::time::Duration;

use agenttier::Error;
use agenttier::models::{CreateSandbox, SandboxFilter, SandboxMode, SandboxPhase};

use super::{Env, maybe, pause, sdk};

const WAIT: Duration = Duration::from_secs(30);

#[maybe]
async fn wait_for_phase(sandbox: &sdk::Sandbox, phase: SandboxPhase) {
    for _ in 0..300 {
        let now = sandbox.phase().await.unwrap();
        if now == phase {
            return;
        }
        pause(Duration::from_millis(20)).await;
    }
    panic!("sandbox {} never reached {phase}", sandbox.id());
}

#[maybe]
pub async fn create_wait_inspect_terminate(env: Env) {
    let name = env.name("life");
    let sandbox = env
        .client
        .create_sandbox(CreateSandbox::new("general-coding", &name))
        .await
        .unwrap();
    assert_eq!(sandbox.id(), name);
    assert_eq!(sandbox.namespace(), "default");
    let info = sandbox.wait_until_running(WAIT).await.unwrap();
    assert_eq!(info.phase, SandboxPhase::Running);
    assert_eq!(info.template_ref, "general-coding");
    assert_eq!(info.mode, SandboxMode::Code);
    assert!(
        info.created_at.is_some(),
        "createdAt parsed from the Go layout: {info:?}"
    );
    assert!(info.created_by.is_some());
    let again = env.client.get_sandbox(&name).await.unwrap();
    assert_eq!(again.id(), name);
    sandbox.terminate().await.unwrap();
    let gone = env.client.get_sandbox(&name).await.unwrap_err();
    assert!(matches!(gone, Error::NotFound { .. }), "{gone:?}");
    assert_eq!(gone.status(), Some(404));
    assert!(gone.request_id().is_some_and(|id| id.len() == 16), "{gone:?}");
    let twice = sandbox.delete().await.unwrap_err();
    assert!(matches!(twice, Error::NotFound { .. }), "{twice:?}");
}

#[maybe]
pub async fn stop_resume_keeps_the_workspace(env: Env) {
    let name = env.name("keep");
    let sandbox = env
        .client
        .create_sandbox(CreateSandbox::new("general-coding", &name))
        .await
        .unwrap();
    sandbox.wait_until_running(WAIT).await.unwrap();
    let wrote = sandbox.exec("echo kept > /workspace/state.txt").await.unwrap();
    assert!(wrote.success(), "{wrote:?}");
    sandbox.stop().await.unwrap();
    wait_for_phase(&sandbox, SandboxPhase::Stopped).await;
    let stopped = sandbox.status().await.unwrap();
    assert_eq!(stopped.message, "User requested stop");
    sandbox.resume().await.unwrap();
    sandbox.wait_until_running(WAIT).await.unwrap();
    let read = sandbox.exec("cat /workspace/state.txt").await.unwrap();
    assert_eq!(read.stdout, "kept\n");
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn wrong_state_is_a_conflict(env: Env) {
    let name = env.name("conflict");
    let sandbox = env
        .client
        .create_sandbox(CreateSandbox::new("general-coding", &name))
        .await
        .unwrap();
    sandbox.wait_until_running(WAIT).await.unwrap();
    let resume = sandbox.resume().await.unwrap_err();
    assert!(matches!(resume, Error::Conflict { .. }), "{resume:?}");
    assert!(
        resume.to_string().contains("cannot resume sandbox in phase Running"),
        "{resume}"
    );
    sandbox.stop().await.unwrap();
    wait_for_phase(&sandbox, SandboxPhase::Stopped).await;
    let stop = sandbox.stop().await.unwrap_err();
    assert!(matches!(stop, Error::Conflict { .. }), "{stop:?}");
    let exec = sandbox.exec("true").await.unwrap_err();
    assert!(matches!(exec, Error::Conflict { .. }), "{exec:?}");
    let duplicate = env
        .client
        .create_sandbox(CreateSandbox::new("general-coding", &name))
        .await
        .unwrap_err();
    assert!(matches!(duplicate, Error::Conflict { .. }), "{duplicate:?}");
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn list_filters_by_phase_and_namespace(env: Env) {
    let name = env.name("list");
    let sandbox = env
        .client
        .create_sandbox(CreateSandbox::new("general-coding", &name).namespace("team-list"))
        .await
        .unwrap();
    assert_eq!(sandbox.namespace(), "team-list");
    sandbox.wait_until_running(WAIT).await.unwrap();
    let all = env.client.list_sandboxes(SandboxFilter::all()).await.unwrap();
    assert!(all.iter().any(|s| s.id() == name));
    let running = env
        .client
        .list_sandboxes(SandboxFilter::all().phase(SandboxPhase::Running))
        .await
        .unwrap();
    assert!(running.iter().any(|s| s.id() == name));
    assert!(running.iter().all(|s| s.phase == SandboxPhase::Running));
    let stopped = env
        .client
        .list_sandboxes(SandboxFilter::all().phase(SandboxPhase::Stopped))
        .await
        .unwrap();
    assert!(!stopped.iter().any(|s| s.id() == name));
    let in_ns = env
        .client
        .list_sandboxes(SandboxFilter::all().namespace("team-list"))
        .await
        .unwrap();
    assert!(in_ns.iter().any(|s| s.id() == name) && in_ns.iter().all(|s| s.namespace == "team-list"));
    let other_ns = env
        .client
        .list_sandboxes(SandboxFilter::all().namespace("nobody-here"))
        .await
        .unwrap();
    assert!(other_ns.is_empty());
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn wait_times_out_with_the_last_phase(env: Env) {
    let name = env.name("slow");
    let sandbox = env
        .client
        .create_sandbox(CreateSandbox::new("general-coding", &name))
        .await
        .unwrap();
    let err = sandbox.wait_until_running(Duration::from_millis(1)).await.unwrap_err();
    match &err {
        Error::SandboxTimeout {
            sandbox_id, last_phase, ..
        } => {
            assert_eq!(sandbox_id, &name);
            assert_ne!(last_phase, "Running");
        }
        other => panic!("expected a sandbox timeout, got {other:?}"),
    }
    sandbox.wait_until_running(WAIT).await.unwrap();
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn bad_create_input(env: Env) {
    let local = env
        .client
        .create_sandbox(CreateSandbox::new("general-coding", "Not_A_Label"))
        .await
        .unwrap_err();
    assert!(matches!(local, Error::InvalidInput { .. }), "{local:?}");
    let unknown = env
        .client
        .create_sandbox(CreateSandbox::new("no-such-template", env.name("tmpl")))
        .await
        .unwrap_err();
    assert!(
        matches!(unknown, Error::NotFound { .. } | Error::Api { .. }),
        "{unknown:?}"
    );
    assert!(unknown.to_string().contains("template"), "{unknown}");
}
