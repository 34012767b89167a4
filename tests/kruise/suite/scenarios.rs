//! The workflows against the stateful fake API server.

use std::time::Duration;

use agenttier::kruise::{
    DeleteOutcome, DeleteParams, KubeErrorKind, ListParams, PatchBody, Resource, Sandbox, SandboxSet, WatchEvent,
    WatchParams,
};
use serde_json::json;

use super::{Env, maybe, pause};

fn pod_template() -> serde_json::Value {
    json!({"metadata": {"labels": {"app": "agent"}}, "spec": {"containers": [{"name": "main", "image": "python:3.12", "futurePodField": {"kept": true}}]}})
}

#[maybe]
pub async fn sandbox_set_lifecycle(env: Env) {
    let (server, client) = env.fake();
    let sets = client.sandbox_sets("team-a");
    let name = env.name("pool");
    let created = sets
        .create(&SandboxSet::from_pod_template(&name, pod_template(), 1))
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert_eq!(
        created.spec.template.as_ref().unwrap()["spec"]["containers"][0]["futurePodField"]["kept"],
        true
    );

    // A controller makes it available (the fake has none: the test writes the status).
    let controller = {
        let (server, name) = (server.clone(), name.clone());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            let status =
                json!({"observedGeneration": 1, "replicas": 1, "availableReplicas": 1, "selector": "app=agent"});
            server.set_status("sandboxsets", "team-a", &name, status);
        })
    };
    let available = sets.wait_for_available(&name, Duration::from_secs(10)).await.unwrap();
    assert!(available.is_available());
    controller.join().unwrap();

    let invalid = sets
        .update(&name, json!({"spec": {"replicas": null}}))
        .await
        .unwrap_err();
    assert_eq!(invalid.kube_kind(), Some(KubeErrorKind::Validation));
    assert_eq!(invalid.kube_status().unwrap().causes()[0].field, "spec.replicas");

    let scale = sets.scale(&name, 3).await.unwrap();
    assert_eq!(scale.spec.replicas, Some(3));
    let got = sets.get_scale(&name).await.unwrap();
    assert_eq!(
        (got.spec.replicas, got.status.unwrap().selector.as_str()),
        (Some(3), "app=agent")
    );
    let replicas = sets.get_replicas(&name).await.unwrap();
    assert_eq!(replicas, 3);
    let after = sets.get(&name).await.unwrap();
    assert_eq!(after.metadata.generation, Some(2), "spec change bumps generation");
    assert!(!after.is_available(), "observedGeneration is stale after a scale");
    let seen = server.seen();
    assert!(seen.iter().any(|s| s.method == "PATCH"
        && s.path.ends_with(&format!("/sandboxsets/{name}/scale"))
        && s.headers.get("content-type").map(String::as_str) == Some("application/merge-patch+json")));
    let negative = sets.scale(&name, -1).await.unwrap_err();
    assert!(matches!(negative, agenttier::Error::InvalidInput { .. }));

    let deleted = sets.delete(&name, &DeleteParams::default()).await.unwrap();
    assert!(deleted.is_deleted());
    let gone = sets.get(&name).await.unwrap_err();
    assert_eq!(gone.kube_kind(), Some(KubeErrorKind::NotFound));
    assert_eq!(gone.status(), Some(404));
}

#[maybe]
pub async fn sandbox_crud_status_and_errors(env: Env) {
    let (_server, client) = env.fake();
    let sandboxes = client.sandboxes("team-a");
    let name = env.name("crud");
    let mut sbx = Sandbox::from_template_ref(&name, "python-runtime");
    sbx.metadata.labels.insert("tier".into(), "gold".into());
    let created = sandboxes.create(&sbx).await.unwrap();

    let again = sandboxes.create(&sbx).await.unwrap_err();
    assert_eq!(again.kube_kind(), Some(KubeErrorKind::Conflict));
    assert_eq!(
        again.kube_status().unwrap().reason.as_ref().unwrap().as_str(),
        "AlreadyExists"
    );

    // update = merge patch; patch = merge or JSON patch.
    let updated = sandboxes
        .update(
            &name,
            json!({"metadata": {"labels": {"owner": "me"}}, "spec": {"paused": true}}),
        )
        .await
        .unwrap();
    assert_eq!(updated.metadata.labels.get("owner").map(String::as_str), Some("me"));
    assert_eq!(updated.spec.paused, Some(true));
    let patched = sandboxes
        .patch(
            &name,
            &PatchBody::Json(vec![json!({"op": "replace", "path": "/spec/paused", "value": false})]),
        )
        .await
        .unwrap();
    assert_eq!(patched.spec.paused, Some(false));

    // replace round-trips unknown fields and checks the resourceVersion.
    let mut current = sandboxes.get(&name).await.unwrap();
    current.spec.extra.insert("newerField".into(), json!("kept"));
    let replaced = sandboxes.replace(&current).await.unwrap();
    assert_eq!(replaced.spec.extra["newerField"], "kept");
    let stale = sandboxes.replace(&created).await.unwrap_err();
    assert_eq!(stale.kube_kind(), Some(KubeErrorKind::Conflict));

    // status goes through /status only.
    let with_status = sandboxes
        .update_status(&name, json!({"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True", "reason": "PodReady"}]}}))
        .await
        .unwrap();
    assert_eq!(with_status.phase().map(|p| p.as_str()), Some("Running"));
    let mut read = sandboxes.get_status(&name).await.unwrap();
    read.status.as_mut().unwrap().message = "hello".into();
    let replaced_status = sandboxes.replace_status(&read).await.unwrap();
    assert_eq!(replaced_status.status.unwrap().message, "hello");
    let ignored = sandboxes
        .update(&name, json!({"status": {"phase": "Failed"}}))
        .await
        .unwrap();
    assert_eq!(
        ignored.phase().map(|p| p.as_str()),
        Some("Running"),
        "status is ignored on the main resource"
    );

    // Errors are typed on every operation.
    let listed = sandboxes
        .list(&ListParams::default().labels("tier=gold"))
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    let bad_field = sandboxes
        .list(&ListParams::default().fields("spec.paused=true"))
        .await
        .unwrap_err();
    assert_eq!(bad_field.kube_kind(), Some(KubeErrorKind::Validation));
    let missing = sandboxes.update("nope", json!({"spec": {}})).await.unwrap_err();
    assert_eq!(missing.kube_kind(), Some(KubeErrorKind::NotFound));
    let absent = sandboxes.get_opt("nope").await.unwrap();
    assert!(absent.is_none());
    let invalid = client
        .sandbox_sets("team-a")
        .update_status("nope", json!({}))
        .await
        .unwrap_err();
    assert_eq!(invalid.kube_kind(), Some(KubeErrorKind::NotFound));
    let local = sandboxes.get("").await.unwrap_err();
    assert!(matches!(local, agenttier::Error::InvalidInput { .. }));
}

#[maybe]
pub async fn list_all_follows_continue_tokens(env: Env) {
    let (server, client) = env.fake();
    let sandboxes = client.sandboxes("team-b");
    for i in 0..7 {
        sandboxes
            .create(&Sandbox::from_template_ref(format!("s{i}"), "t"))
            .await
            .unwrap();
    }
    let all = sandboxes.list_all(&ListParams::default().limit(3)).await.unwrap();
    let names: Vec<&str> = all.items.iter().map(|s| s.name()).collect();
    assert_eq!(names, ["s0", "s1", "s2", "s3", "s4", "s5", "s6"]);
    let pages: Vec<Option<String>> = server
        .seen()
        .iter()
        .filter(|s| s.method == "GET")
        .map(|s| s.query.get("continue").cloned())
        .collect();
    assert_eq!(pages, [None, Some("3".to_owned()), Some("6".to_owned())]);
    let everywhere = client
        .sandboxes_in_all_namespaces()
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(everywhere.items.len(), 7);
    let refused = client.sandboxes_in_all_namespaces().get("s0").await.unwrap_err();
    assert!(matches!(refused, agenttier::Error::InvalidInput { .. }));
}

#[maybe]
pub async fn delete_waits_for_finalizers(env: Env) {
    let (server, client) = env.fake();
    let sandboxes = client.sandboxes("team-a");
    let name = env.name("held");
    let mut sbx = Sandbox::from_template_ref(&name, "t");
    sbx.metadata.finalizers.push("agents.kruise.io/sandbox".into());
    sandboxes.create(&sbx).await.unwrap();
    let outcome = sandboxes
        .delete(&name, &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    let DeleteOutcome::Pending(held) = outcome else {
        panic!("expected Pending, got {outcome:?}")
    };
    assert!(held.metadata.deletion_timestamp.is_some());
    let delete = server.seen().into_iter().find(|s| s.method == "DELETE").unwrap();
    assert_eq!(
        delete.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    let controller = {
        let server = server.clone();
        let name = name.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            server.clear_finalizers("sandboxes", "team-a", &name);
        })
    };
    sandboxes
        .wait_for_deleted(&name, Duration::from_secs(10))
        .await
        .unwrap();
    controller.join().unwrap();
    let absent = sandboxes.get_opt(&name).await.unwrap();
    assert!(absent.is_none());
    sandboxes.wait_for_deleted(&name, Duration::from_secs(1)).await.unwrap();
}

#[maybe]
pub async fn delete_collection_by_label(env: Env) {
    let (_server, client) = env.fake();
    let sandboxes = client.sandboxes("team-c");
    for (name, run) in [("a", "1"), ("b", "1"), ("c", "2")] {
        let mut s = Sandbox::from_template_ref(name, "t");
        s.metadata.labels.insert("run".into(), run.into());
        sandboxes.create(&s).await.unwrap();
    }
    let deleted = sandboxes
        .delete_collection(&ListParams::default().labels("run=1"), &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(deleted.len(), 2);
    let left = sandboxes.list(&ListParams::default()).await.unwrap();
    assert_eq!(left.items.iter().map(|s| s.name()).collect::<Vec<_>>(), ["c"]);
}

#[maybe]
pub async fn wait_for_condition_sees_the_status_write(env: Env) {
    let (server, client) = env.fake();
    let sandboxes = client.sandboxes("team-a");
    let name = env.name("ready");
    sandboxes.create(&Sandbox::from_template_ref(&name, "t")).await.unwrap();
    let mut events = sandboxes
        .watch(&WatchParams::object(&name).timeout(Duration::from_secs(3)))
        .await
        .unwrap();
    let controller = {
        let server = server.clone();
        let name = name.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            server.set_status("sandboxes", "team-a", &name, json!({"phase": "Pending"}));
            std::thread::sleep(Duration::from_millis(200));
            server.set_status(
                "sandboxes",
                "team-a",
                &name,
                json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True", "reason": "PodReady"}]}),
            );
        })
    };
    let ready = sandboxes
        .wait_for_condition(&name, "Ready", "True", Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(ready.phase().map(|p| p.as_str()), Some("Running"));
    controller.join().unwrap();
    // The watch opened before saw the same history: listed as Added, then two Modified.
    let mut kinds = Vec::new();
    while let Some(event) = next(&mut events).await {
        let event = event.unwrap();
        kinds.push(event.type_name());
        if matches!(event, WatchEvent::Modified(ref s) if s.condition("Ready").is_some()) {
            break;
        }
    }
    assert_eq!(kinds, ["ADDED", "MODIFIED", "MODIFIED"]);
    pause(Duration::from_millis(1)).await;
}

/// The next item of a watch stream, in either flavour.
#[maybe]
pub async fn next<K: Resource>(events: &mut super::sdk::WatchStream<K>) -> Option<agenttier::Result<WatchEvent<K>>> {
    super::sdk::next_event(events).await
}
