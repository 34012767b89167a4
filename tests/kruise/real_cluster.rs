//! Opt-in tests against a real cluster with the OpenKruise agents CRDs installed:
//!
//! ```text
//! AGENTTIER_KRUISE_E2E=1 KUBECONFIG=~/.kube/config cargo test -p agenttier-e2e --test kruise \
//!     real_cluster -- --ignored --test-threads=1
//! ```
//!
//! Optional: `AGENTTIER_KRUISE_NAMESPACE` (default: the context's), `AGENTTIER_KRUISE_TEMPLATE`
//! (a `SandboxTemplate` name; without it an inline pod template with `busybox` is used), and
//! `AGENTTIER_KRUISE_RECORD=<dir>`, which writes what the cluster answered at each step (created,
//! available and scaled SandboxSet, its scale, the ready Sandbox, the labelled list, the patched
//! Sandbox) as pretty JSON files into `<dir>`, to be kept as fixtures for the offline tiers (the
//! models round-trip unknown fields, so nothing the cluster sent is lost).
//! Everything created carries the label `agenttier-e2e-run=<id>` and is removed by
//! `delete_collection` at the end, even on failure. A cluster without the CRDs prints
//! `SKIPPED: ...` and passes without claiming anything.

use std::time::Duration;

use agenttier::blocking::kruise::KruiseClient;
use agenttier::kruise::{DeleteOutcome, DeleteParams, ListParams, Sandbox, SandboxSet, WatchParams};
use serde_json::json;

fn enabled() -> bool {
    let on = std::env::var("AGENTTIER_KRUISE_E2E").is_ok_and(|v| v == "1");
    if !on {
        println!("SKIPPED: set AGENTTIER_KRUISE_E2E=1 (and KUBECONFIG) to run against a real cluster");
    }
    on
}

struct Cleanup {
    client: KruiseClient,
    namespace: String,
    selector: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let list = ListParams::default().labels(self.selector.as_str());
        let _ = self
            .client
            .sandboxes(&self.namespace)
            .delete_collection(&list, &DeleteParams::default());
        let _ = self
            .client
            .sandbox_sets(&self.namespace)
            .delete_collection(&list, &DeleteParams::default());
    }
}

/// Writes `value` as `<AGENTTIER_KRUISE_RECORD>/<name>.json` when recording is asked for.
fn record<T: serde::Serialize>(name: &str, value: &T) {
    let Ok(dir) = std::env::var("AGENTTIER_KRUISE_RECORD") else {
        return;
    };
    let dir = std::path::Path::new(&dir);
    std::fs::create_dir_all(dir).expect("create the fixture directory");
    let text = serde_json::to_string_pretty(value).expect("encode a fixture");
    std::fs::write(dir.join(format!("{name}.json")), text + "\n").expect("write a fixture");
    println!("recorded {}", dir.join(format!("{name}.json")).display());
}

fn template() -> serde_json::Value {
    json!({"spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"]}]}})
}

#[test]
#[ignore = "needs a cluster with OpenKruise agents; set AGENTTIER_KRUISE_E2E=1"]
fn real_cluster_sandbox_set_and_sandbox() {
    if !enabled() {
        return;
    }
    let client = KruiseClient::infer().expect("a kubeconfig or in-cluster config");
    if !client.has_kruise_resources().expect("discovery") {
        println!("SKIPPED: the cluster does not serve agents.kruise.io/v1alpha1 sandboxes and sandboxsets");
        return;
    }
    let namespace =
        std::env::var("AGENTTIER_KRUISE_NAMESPACE").unwrap_or_else(|_| client.default_namespace().to_owned());
    let run = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    let _cleanup = Cleanup {
        client: client.clone(),
        namespace: namespace.clone(),
        selector: format!("agenttier-e2e-run={run}"),
    };
    let sets = client.sandbox_sets(&namespace);
    let sandboxes = client.sandboxes(&namespace);
    let name = format!("e2e-{run}");
    let mut set = match std::env::var("AGENTTIER_KRUISE_TEMPLATE") {
        Ok(t) => SandboxSet::from_template_ref(&name, t, 1),
        Err(_) => SandboxSet::from_pod_template(&name, template(), 1),
    };
    set.metadata.labels.insert("agenttier-e2e-run".into(), run.clone());
    record("sandboxset-created", &sets.create(&set).unwrap());
    sets.wait_for_available(&name, Duration::from_secs(300)).unwrap();
    record("sandboxset-available", &sets.get(&name).unwrap());
    sets.scale(&name, 2).unwrap();
    let scale = sets.get_scale(&name).unwrap();
    assert_eq!(scale.spec.replicas, Some(2));
    record("sandboxset-scale", &scale);
    let stored = sets.get(&name).unwrap();
    let mut sbx = Sandbox::new(format!("{name}-sbx"), Default::default());
    sbx.spec.template = stored.spec.template.clone();
    sbx.spec.template_ref = stored.spec.template_ref.clone();
    sbx.metadata.labels.insert("agenttier-e2e-run".into(), run.clone());
    let sbx_name = sbx.metadata.name.clone().unwrap();
    sandboxes.create(&sbx).unwrap();
    let ready = sandboxes
        .wait_for_condition(&sbx_name, "Ready", "True", Duration::from_secs(300))
        .unwrap();
    record("sandbox-ready", &ready);
    let listed = sandboxes
        .list(&ListParams::default().labels(format!("agenttier-e2e-run={run}").as_str()))
        .unwrap();
    record("sandbox-list-items", &listed.items);
    let events = sandboxes
        .watch(&WatchParams::object(&sbx_name).timeout(Duration::from_secs(5)))
        .unwrap()
        .count();
    assert!(events >= 1);
    let patched = sandboxes
        .update(&sbx_name, json!({"metadata": {"labels": {"patched": "yes"}}}))
        .unwrap();
    record("sandbox-patched", &patched);
    match sandboxes.delete(&sbx_name, &DeleteParams::default()).unwrap() {
        DeleteOutcome::Pending(_) => println!("delete pending on finalizers, as expected for a Sandbox"),
        other => println!("delete answered {other:?}"),
    }
    sandboxes.wait_for_deleted(&sbx_name, Duration::from_secs(300)).unwrap();
}
