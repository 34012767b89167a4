//! API keys, preferences, sharing, governance, audit, analytics and the admin views, with their
//! permission boundaries.

use agenttier::Error;
use agenttier::models::{
    ActionGroup, CreateApiKey, CreateSandbox, CreateShareLink, GrantShare, Policy, SandboxFilter, ShareLevel,
};
use agenttier_router::{LocalRouter, RouterOptions};

use super::{Env, maybe, sdk};
use crate::support;

fn admin_required(err: &Error) -> bool {
    matches!(err, Error::Authorization { api } if api.message == "admin_required" && api.status == 403)
}

#[maybe]
pub async fn api_keys_work_at_once_and_stop_when_revoked(env: Env) {
    let user = env.client_with_key(&support::user_key(&format!("{}-keys", env.prefix)));
    let created = user.api_keys().create(CreateApiKey::new("ci")).await.unwrap();
    assert!(created.key.expose().starts_with("atk_") && created.key.expose().len() == 47);
    assert!(created.id.starts_with("agenttier-apikey-"));
    assert!(created.action_groups.is_empty());
    let minted = env.client_with_key(created.key.expose());
    let me = minted.current_user().await.unwrap();
    assert_eq!(me.name, "ci", "an API key's name is its label");
    assert_eq!(me.sub, format!("{}-keys", env.prefix));
    assert!(!me.is_admin);
    let listed = user.api_keys().list().await.unwrap();
    assert!(
        listed.iter().any(|k| k.id == created.id && k.name == "ci"),
        "{listed:?}"
    );
    // Others cannot revoke it; the owner can, and it stops working at once.
    let other = env.client_with_key(&support::user_key(&format!("{}-keys-other", env.prefix)));
    let denied = other.api_keys().revoke(&created.id).await.unwrap_err();
    assert!(matches!(denied, Error::Authorization { .. }), "{denied:?}");
    user.api_keys().revoke(&created.id).await.unwrap();
    let dead = minted.current_user().await.unwrap_err();
    assert!(matches!(dead, Error::Authentication { .. }), "{dead:?}");
    let again = user.api_keys().revoke(&created.id).await.unwrap_err();
    assert!(matches!(again, Error::NotFound { .. }), "{again:?}");
    // Scopes without a sandbox are refused before sending.
    let local = user
        .api_keys()
        .create(CreateApiKey::new("x").scopes([ActionGroup::Stop]))
        .await
        .unwrap_err();
    assert!(matches!(local, Error::InvalidInput { .. }));
}

#[maybe]
pub async fn scoped_keys_are_confined(env: Env) {
    let user = env.client_with_key(&support::user_key(&format!("{}-scoper", env.prefix)));
    let sandbox = user
        .create_sandbox(CreateSandbox::new("general-coding", env.name("scoped")))
        .await
        .unwrap();
    sandbox.wait_until_running(sdk::DEFAULT_WAIT).await.unwrap();
    let other = user
        .create_sandbox(CreateSandbox::new("general-coding", env.name("unscoped")))
        .await
        .unwrap();
    let created = user
        .api_keys()
        .create(
            CreateApiKey::new("runner")
                .sandbox(sandbox.id())
                .scopes([ActionGroup::RunCommand]),
        )
        .await
        .unwrap();
    assert_eq!(created.sandbox_id, sandbox.id());
    assert_eq!(created.action_groups, [ActionGroup::RunCommand]);
    let scoped = env.client_with_key(created.key.expose());
    let out = scoped.sandbox(sandbox.id()).exec("echo ok").await.unwrap();
    assert_eq!(out.stdout, "ok\n");
    let stop = scoped.sandbox(sandbox.id()).stop().await.unwrap_err();
    assert!(stop.to_string().contains("\"stop\" action group"), "{stop}");
    let elsewhere = scoped.sandbox(other.id()).exec("true").await.unwrap_err();
    assert!(
        elsewhere.to_string().contains("not bound to this sandbox"),
        "{elsewhere}"
    );
    let list = scoped.list_sandboxes(SandboxFilter::all()).await.unwrap_err();
    assert!(matches!(list, Error::Authorization { .. }), "{list:?}");
    let bulk = scoped
        .bulk_action(agenttier::models::BulkAction::Stop, &[sandbox.id()])
        .await
        .unwrap_err();
    assert!(bulk.to_string().contains("may not perform bulk operations"), "{bulk}");
    // The admin view lists the key with its sandbox.
    let all = env.client.admin().sandboxes(SandboxFilter::all()).await.unwrap();
    let mine = all.iter().find(|s| s.sandbox.id() == sandbox.id()).unwrap();
    assert!(mine.scoped_api_keys.iter().any(|k| k.id == created.id), "{mine:?}");
    sandbox.terminate().await.unwrap();
    other.terminate().await.unwrap();
}

#[maybe]
pub async fn preferences_persist_per_user(env: Env) {
    let alice = env.client_with_key(&support::user_key(&format!("{}-prefs-a", env.prefix)));
    let bob = env.client_with_key(&support::user_key(&format!("{}-prefs-b", env.prefix)));
    let empty = alice.preferences().get().await.unwrap();
    assert!(empty.is_empty());
    let mut prefs = serde_json::Map::new();
    prefs.insert("theme".into(), "dark".into());
    prefs.insert("nested".into(), serde_json::json!({"a": [1, 2]}));
    let stored = alice.preferences().put(&prefs).await.unwrap();
    assert_eq!(stored, prefs);
    let read = alice.preferences().get().await.unwrap();
    assert_eq!(read, prefs);
    let theirs = bob.preferences().get().await.unwrap();
    assert!(theirs.is_empty(), "preferences are per user");
}

#[maybe]
pub async fn sharing_grants_read_access(env: Env) {
    let owner = env.client_with_key(&support::user_key(&format!("{}-sharer", env.prefix)));
    let friend_name = format!("{}-friend", env.prefix);
    let friend = env.client_with_key(&support::user_key(&friend_name));
    let group_key = support::router()
        .create_key(&format!("{}-member", env.prefix), false, &["reviewers"])
        .unwrap();
    let member = env.client_with_key(&group_key);
    let sandbox = owner
        .create_sandbox(CreateSandbox::new("general-coding", env.name("shared")))
        .await
        .unwrap();
    let before = friend.get_sandbox(sandbox.id()).await.unwrap_err();
    assert!(matches!(before, Error::NotFound { .. }));
    let info = sandbox
        .sharing()
        .grant(GrantShare::user(&friend_name, ShareLevel::Viewer))
        .await
        .unwrap();
    assert_eq!(info.users[0].identity, friend_name);
    sandbox
        .sharing()
        .grant(GrantShare::group("reviewers", ShareLevel::Collaborator))
        .await
        .unwrap();
    let seen = friend.get_sandbox(sandbox.id()).await.unwrap();
    assert_eq!(seen.id(), sandbox.id());
    let by_group = member.sandbox_info(sandbox.id()).await.unwrap();
    assert_eq!(by_group.name, sandbox.id());
    // Read only: no exec, not listed, no sharing changes (403 on sharing routes).
    let exec = friend.sandbox(sandbox.id()).exec("true").await.unwrap_err();
    assert!(matches!(exec, Error::NotFound { .. }), "{exec:?}");
    let listed = friend.list_sandboxes(SandboxFilter::all()).await.unwrap();
    assert!(!listed.iter().any(|s| s.id() == sandbox.id()));
    let reshare = friend
        .sandbox(sandbox.id())
        .sharing()
        .grant(GrantShare::user("x", ShareLevel::Viewer))
        .await
        .unwrap_err();
    assert!(matches!(reshare, Error::Authorization { .. }), "{reshare:?}");
    // Links: minted with expiry and use limit, token shown once.
    let link = sandbox
        .sharing()
        .create_link(
            CreateShareLink::new(ShareLevel::Viewer)
                .expires_in(std::time::Duration::from_secs(3600))
                .max_uses(2),
        )
        .await
        .unwrap();
    assert_eq!(link.id.len(), 16);
    assert_eq!(link.token.expose().len(), 43);
    assert!(link.expires_at.is_some() && link.max_uses == 2);
    let now = sandbox.sharing().get().await.unwrap();
    assert_eq!(now.share_links.len(), 1);
    assert_eq!(now.share_links[0].max_uses, 2);
    assert_eq!(now.groups[0].level, ShareLevel::Collaborator);
    // Revoke: access ends.
    sandbox.sharing().revoke(&friend_name).await.unwrap();
    let after = friend.get_sandbox(sandbox.id()).await.unwrap_err();
    assert!(matches!(after, Error::NotFound { .. }));
    let overview = env.client.admin().sharing().await.unwrap();
    let overview = serde_json::Value::Object(overview).to_string();
    assert!(overview.contains(sandbox.id()), "{overview}");
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn governance_edits_apply_live(env: Env) {
    let ns = env.name("gov");
    let user = env.client_with_key(&support::user_key(&format!("{}-governed", env.prefix)));
    let policy = {
        let mut p = Policy::default();
        p.max_sandboxes_per_user = 1;
        p.allowed_templates = vec!["general-coding".into()];
        p
    };
    let denied = user.governance().set_namespace_policy(&ns, &policy).await.unwrap_err();
    assert!(admin_required(&denied), "{denied:?}");
    let stored = env
        .client
        .governance()
        .set_namespace_policy(&ns, &policy)
        .await
        .unwrap();
    assert_eq!(stored, policy);
    let read = user.governance().namespace_policy(&ns).await.unwrap();
    assert_eq!(read.max_sandboxes_per_user, 1);
    let all = user.governance().policies().await.unwrap();
    assert!(all.namespaces.iter().any(|n| n.namespace == ns));
    let effective = user.governance().effective(Some(&ns)).await.unwrap();
    assert_eq!(effective.namespace, ns);
    assert_eq!(effective.policy.allowed_templates, ["general-coding"]);
    // Enforced at once.
    let first = user
        .create_sandbox(CreateSandbox::new("general-coding", env.name("gov1")).namespace(&ns))
        .await
        .unwrap();
    let second = user
        .create_sandbox(CreateSandbox::new("general-coding", env.name("gov2")).namespace(&ns))
        .await
        .unwrap_err();
    match &second {
        Error::PolicyViolation { violations, .. } => assert_eq!(violations[0].code, "user_quota_exceeded"),
        other => panic!("{other:?}"),
    }
    let agent = user
        .create_sandbox(CreateSandbox::new("agent-python", env.name("gov3")).namespace(&ns))
        .await
        .unwrap_err();
    assert!(matches!(agent, Error::PolicyViolation { .. }), "{agent:?}");
    // Relaxed live too.
    env.client
        .governance()
        .set_namespace_policy(&ns, &{
            let mut p = Policy::default();
            p.max_sandboxes_per_user = 2;
            p
        })
        .await
        .unwrap();
    let now_ok = user
        .create_sandbox(CreateSandbox::new("general-coding", env.name("gov4")).namespace(&ns))
        .await
        .unwrap();
    let refuse_delete = user.governance().delete_namespace_policy(&ns).await.unwrap_err();
    assert!(admin_required(&refuse_delete));
    env.client.governance().delete_namespace_policy(&ns).await.unwrap();
    let gone = user.governance().namespace_policy(&ns).await.unwrap();
    assert_eq!(gone, Policy::default());
    let cluster = user
        .governance()
        .set_cluster_policy(&Policy::default())
        .await
        .unwrap_err();
    assert!(admin_required(&cluster));
    first.terminate().await.unwrap();
    now_ok.terminate().await.unwrap();
}

#[maybe]
pub async fn cluster_policy_round_trip_on_a_private_router(env: Env) {
    let router = LocalRouter::start(RouterOptions::default()).unwrap();
    let admin = env
        .client_for(router.url())
        .api_key(router.admin_key())
        .unwrap()
        .build()
        .unwrap();
    let policy = {
        let mut p = Policy::default();
        p.max_sandboxes_total = 1;
        p.description = "one at a time".into();
        p
    };
    let set = admin.governance().set_cluster_policy(&policy).await.unwrap();
    assert_eq!(set, policy);
    let all = admin.governance().policies().await.unwrap();
    assert_eq!(all.cluster, Some(policy));
    let effective = admin.governance().effective(None).await.unwrap();
    assert_eq!(effective.namespace, "default");
    assert_eq!(effective.policy.max_sandboxes_total, 1);
    let one = admin
        .create_sandbox(CreateSandbox::new("general-coding", "one"))
        .await
        .unwrap();
    let two = admin
        .create_sandbox(CreateSandbox::new("general-coding", "two"))
        .await
        .unwrap_err();
    assert!(matches!(two, Error::PolicyViolation { .. }), "{two:?}");
    one.terminate().await.unwrap();
    drop(admin);
    router.shutdown();
}

#[maybe]
pub async fn audit_analytics_and_admin_views_are_admin_only(env: Env) {
    let user = env.client_with_key(&support::user_key(&format!("{}-auditee", env.prefix)));
    let sandbox = user
        .create_sandbox(CreateSandbox::new("general-coding", env.name("audited")))
        .await
        .unwrap();
    sandbox.wait_until_running(sdk::DEFAULT_WAIT).await.unwrap();
    sandbox.stop().await.unwrap();
    for err in [
        user.audit().events().await.unwrap_err(),
        user.analytics().usage().await.unwrap_err(),
        user.analytics().costs().await.unwrap_err(),
        user.admin().sandboxes(SandboxFilter::all()).await.unwrap_err(),
        user.admin().sharing().await.unwrap_err(),
    ] {
        assert!(admin_required(&err), "{err:?}");
    }
    let events = env.client.audit().events().await.unwrap();
    let mine: Vec<_> = events.iter().filter(|e| e.sandbox_id == sandbox.id()).collect();
    let kinds: Vec<&str> = mine.iter().map(|e| e.event_type.as_str()).collect();
    for want in ["Creating", "Running", "Stopped"] {
        assert!(kinds.contains(&want), "{want} in {kinds:?}");
    }
    assert_eq!(kinds[0], "Stopped", "newest first: {kinds:?}");
    assert!(mine.iter().all(|e| e.timestamp.is_some()));
    assert_eq!(mine[0].reason(), "User requested stop");
    let usage = env.client.analytics().usage().await.unwrap();
    assert!(usage.total_sandboxes >= 1);
    assert!(
        usage.startup_sample_count >= 1 && usage.avg_startup_ms >= 0,
        "{usage:?}"
    );
    assert!(usage.template_breakdown.contains_key("general-coding"));
    let costs = env.client.analytics().costs().await.unwrap();
    assert!(costs.stopped_sandboxes >= 1, "{costs:?}");
    assert!(costs.recorded_running_hours.is_some_and(|h| h >= 0.0), "{costs:?}");
    let all = env.client.admin().sandboxes(SandboxFilter::all()).await.unwrap();
    assert!(all.iter().any(|s| s.sandbox.id() == sandbox.id()), "across owners");
    sandbox.terminate().await.unwrap();
}
