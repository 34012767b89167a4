//! Clone, update (PATCH) and the bulk calls.

use std::time::Duration;

use agenttier::Error;
use agenttier::models::{
    BulkAction, CreateSandbox, ItemStatus, Policy, QuotaWouldExceed, Resources, SandboxPhase, UpdateSandbox,
};

use super::{Env, maybe, sdk};
use crate::support;

#[maybe]
async fn running(env: &Env, client: &sdk::Client, what: &str) -> sdk::Sandbox {
    let sandbox = client
        .create_sandbox(CreateSandbox::new("general-coding", env.name(what)))
        .await
        .unwrap();
    sandbox.wait_until_running(sdk::DEFAULT_WAIT).await.unwrap();
    sandbox
}

#[maybe]
pub async fn clone_copies_the_workspace(env: Env) {
    let source = running(&env, &env.client, "src").await;
    source.exec("echo original > note.txt").await.unwrap();
    let name = env.name("copy");
    let clone = source.clone_sandbox(Some(&name)).await.unwrap();
    assert_eq!(clone.id(), name);
    clone.wait_until_running(sdk::DEFAULT_WAIT).await.unwrap();
    let info = clone.status().await.unwrap();
    assert_eq!(info.template_ref, "general-coding");
    let read = clone.exec("cat note.txt").await.unwrap();
    assert_eq!(read.stdout, "original\n");
    // Independent copies: a change in one is not seen by the other.
    clone.exec("echo changed > note.txt").await.unwrap();
    let still = source.exec("cat note.txt").await.unwrap();
    assert_eq!(still.stdout, "original\n");
    // The clone snapshot is listed with the source's backups.
    let backups = source.backups().list().await.unwrap();
    assert!(
        backups.iter().any(|b| b.kind == agenttier::models::BackupKind::Clone),
        "{backups:?}"
    );
    // Default name, invalid name, taken name.
    let (auto, answer) = source.clone_with(agenttier::models::CloneSandbox::new()).await.unwrap();
    assert!(auto.id().starts_with(&format!("{}-clone-", source.id())), "{answer:?}");
    assert_eq!(answer.cloned_from, source.id());
    assert_eq!(answer.phase, "Pending");
    let bad = source.clone_sandbox(Some("Not_Valid")).await.unwrap_err();
    assert!(matches!(bad, Error::InvalidInput { .. }), "{bad:?}");
    let taken = source.clone_sandbox(Some(&name)).await.unwrap_err();
    assert!(matches!(taken, Error::Conflict { .. }), "{taken:?}");
    // Another user may not clone it.
    let other = env.client_with_key(&support::user_key(&format!("{}-cloner", env.prefix)));
    let denied = other.sandbox(source.id()).clone_sandbox(None).await.unwrap_err();
    assert!(matches!(denied, Error::NotFound { .. }), "{denied:?}");
    for s in [&clone, &auto, &source] {
        s.terminate().await.unwrap();
    }
}

#[maybe]
pub async fn update_changes_mutable_fields(env: Env) {
    let sandbox = running(&env, &env.client, "patch").await;
    let result = sandbox
        .update(
            UpdateSandbox::new()
                .idle_timeout(Duration::from_secs(3600))
                .label("team", "platform")
                .annotation("note", "x"),
        )
        .await
        .unwrap();
    assert_eq!(result.sandbox_id, sandbox.id());
    assert_eq!(result.applied["idleTimeout"], "immediately");
    assert_eq!(result.applied["labels"], "immediately");
    assert!(!result.restart_required);
    let resources = sandbox
        .update(UpdateSandbox::new().resources(Resources::new().request("cpu", "500m").limit("memory", "1Gi")))
        .await
        .unwrap();
    assert!(resources.restart_required);
    assert_eq!(resources.applied["resources"], "on-restart");
    assert!(!resources.message.is_empty());
    let empty = sandbox.update(UpdateSandbox::new()).await.unwrap_err();
    assert!(matches!(empty, Error::InvalidInput { .. }), "{empty:?}");
    // A short idle timeout applies at once: the sandbox stops by itself.
    sandbox
        .update(UpdateSandbox::new().idle_timeout(Duration::from_millis(300)))
        .await
        .unwrap();
    let mut stopped = false;
    for _ in 0..100 {
        let phase = sandbox.phase().await.unwrap();
        if phase == SandboxPhase::Stopped {
            stopped = true;
            break;
        }
        super::pause(Duration::from_millis(50)).await;
    }
    assert!(stopped, "the new idle timeout stopped the sandbox");
    let other = env.client_with_key(&support::user_key(&format!("{}-patcher", env.prefix)));
    let denied = other
        .sandbox(sandbox.id())
        .update(UpdateSandbox::new().label("a", "b"))
        .await
        .unwrap_err();
    assert!(matches!(denied, Error::NotFound { .. }), "{denied:?}");
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn update_is_checked_against_policy(env: Env) {
    let ns = env.name("capns");
    let policy = {
        let mut p = Policy::default();
        p.max_idle_timeout = "1h".into();
        p.max_cpu = "1".into();
        p
    };
    env.client
        .governance()
        .set_namespace_policy(&ns, &policy)
        .await
        .unwrap();
    let sandbox = env
        .client
        .create_sandbox(CreateSandbox::new("general-coding", env.name("capped")).namespace(&ns))
        .await
        .unwrap();
    let err = sandbox
        .update(
            UpdateSandbox::new()
                .idle_timeout(Duration::from_secs(7200))
                .resources(Resources::new().limit("cpu", "2")),
        )
        .await
        .unwrap_err();
    match &err {
        Error::PolicyViolation { violations, .. } => {
            let codes: Vec<_> = violations.iter().map(|v| v.code.as_str()).collect();
            assert!(
                codes.contains(&"idle_timeout_exceeded") && codes.contains(&"cpu_limit_exceeded"),
                "{codes:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    sandbox.terminate().await.unwrap();
    env.client.governance().delete_namespace_policy(&ns).await.unwrap();
}

#[maybe]
pub async fn bulk_create_and_actions_report_per_item(env: Env) {
    let user = env.client_with_key(&support::user_key(&format!("{}-bulk", env.prefix)));
    let a = env.name("bulk-a");
    let b = env.name("bulk-b");
    let items = [
        CreateSandbox::new("general-coding", &a),
        CreateSandbox::new("no-such-template", env.name("bulk-x")),
        CreateSandbox::new("general-coding", &b),
    ];
    let results = user.bulk_create(&items).await.unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0].status, ItemStatus::Created);
    assert_eq!(results[0].sandbox_id, a);
    assert_eq!(results[1].status, ItemStatus::Error);
    assert_eq!(results[1].index, 1);
    assert!(results[1].error.contains("template"), "{:?}", results[1]);
    assert!(results[2].status.is_success());
    for id in [&a, &b] {
        user.sandbox(id.as_str())
            .wait_until_running(sdk::DEFAULT_WAIT)
            .await
            .unwrap();
    }
    // Someone else's sandbox fails on its own; the others still happen.
    let admin_owned = env
        .client
        .create_sandbox(CreateSandbox::new("general-coding", env.name("bulk-admin")))
        .await
        .unwrap();
    let ids = [a.clone(), admin_owned.id().to_owned(), b.clone()];
    let stopped = user.bulk_action(BulkAction::Stop, &ids).await.unwrap();
    assert_eq!(stopped[0].status, ItemStatus::Ok);
    assert_eq!(stopped[1].status, ItemStatus::Error);
    assert!(stopped[1].error.contains(admin_owned.id()), "{:?}", stopped[1]);
    assert_eq!(stopped[2].status, ItemStatus::Ok);
    let again = user.bulk_action(BulkAction::Stop, &[a.as_str()]).await.unwrap();
    assert!(
        again[0].error.contains("cannot stop sandbox in phase Stopped"),
        "{again:?}"
    );
    let deleted = user.bulk_action(BulkAction::Delete, &[&a, &b]).await.unwrap();
    assert!(deleted.iter().all(|r| r.status.is_success()), "{deleted:?}");
    let gone = user.get_sandbox(&a).await.unwrap_err();
    assert!(matches!(gone, Error::NotFound { .. }));
    let empty = user.bulk_action::<&str>(BulkAction::Resume, &[]).await.unwrap_err();
    assert!(matches!(empty, Error::InvalidInput { .. }));
    let none = user.bulk_create(&[]).await.unwrap_err();
    assert!(matches!(none, Error::InvalidInput { .. }));
    admin_owned.terminate().await.unwrap();
}

#[maybe]
pub async fn bulk_create_refuses_a_quota_breach_whole(env: Env) {
    let ns = env.name("quota");
    let policy = {
        let mut p = Policy::default();
        p.max_sandboxes_total = 2;
        p
    };
    env.client
        .governance()
        .set_namespace_policy(&ns, &policy)
        .await
        .unwrap();
    let names: Vec<String> = (0..3).map(|i| env.name(&format!("q{i}"))).collect();
    let items: Vec<CreateSandbox> = names
        .iter()
        .map(|n| CreateSandbox::new("general-coding", n).namespace(&ns))
        .collect();
    let err = env.client.bulk_create(&items).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err:?}");
    let refusal = QuotaWouldExceed::from_error(&err).expect("quota_would_exceed body");
    assert_eq!(refusal.namespace, ns);
    assert_eq!(refusal.violations[0].code, "namespace_quota_exceeded");
    for n in &names {
        let missing = env.client.get_sandbox(n).await.unwrap_err();
        assert!(matches!(missing, Error::NotFound { .. }), "nothing was created");
    }
    let two = env.client.bulk_create(&items[..2]).await.unwrap();
    assert!(two.iter().all(|r| r.status.is_success()), "{two:?}");
    let ids: Vec<&str> = names[..2].iter().map(String::as_str).collect();
    env.client.bulk_action(BulkAction::Delete, &ids).await.unwrap();
    env.client.governance().delete_namespace_policy(&ns).await.unwrap();
}
