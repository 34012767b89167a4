//! OpenKruise agents: create a SandboxSet (a warm pool of sandboxes), wait until it is
//! available, scale it, and watch its sandboxes — against a real Kubernetes cluster with the
//! `agents.kruise.io` CRDs and controllers installed.
//!
//! ```text
//! KUBECONFIG=~/.kube/config cargo run -p agenttier-examples --example kruise_sandboxset -- [TEMPLATE]
//! ```
//!
//! With a `SandboxTemplate` name as argument the set uses `templateRef`; without, an inline pod
//! template running `busybox`. The namespace is the kubeconfig context's (override with
//! `KRUISE_NAMESPACE`). Everything it creates is deleted at the end.
//!
//! Verified only against the SDK's fake API server (tests/kruise): run it on a real cluster to
//! see the Kruise controllers' actual timing.

use std::time::Duration;

use agenttier::kruise::{DeleteParams, KruiseClient, ListParams, SandboxSet, WatchEvent, WatchParams};
use futures_util::StreamExt;
use serde_json::json;

#[tokio::main]
async fn main() -> agenttier::Result<()> {
    // KUBECONFIG / ~/.kube/config, else the pod's service account.
    let client = KruiseClient::infer()?;
    if !client.has_kruise_resources().await? {
        eprintln!("this cluster does not serve agents.kruise.io/v1alpha1 sandboxes and sandboxsets");
        std::process::exit(2);
    }
    let namespace = std::env::var("KRUISE_NAMESPACE").unwrap_or_else(|_| client.default_namespace().to_owned());
    let sets = client.sandbox_sets(&namespace);
    let sandboxes = client.sandboxes(&namespace);

    let name = format!("agenttier-example-{}", std::process::id());
    let mut set = match std::env::args().nth(1) {
        Some(template) => SandboxSet::from_template_ref(&name, template, 1),
        None => SandboxSet::from_pod_template(
            &name,
            json!({"spec": {"containers": [{"name": "main", "image": "busybox", "command": ["sleep", "3600"]}]}}),
            1,
        ),
    };
    set.metadata
        .labels
        .insert("app.kubernetes.io/created-by".into(), "agenttier-example".into());
    sets.create(&set).await?;
    println!("created SandboxSet {namespace}/{name}");

    let result = run(&sets, &sandboxes, &name).await;

    // Clean up the set whatever happened.
    sets.delete(&name, &DeleteParams::default()).await?;
    println!("deleted SandboxSet {name}");
    result
}

async fn run(
    sets: &agenttier::kruise::SandboxSetClient,
    sandboxes: &agenttier::kruise::SandboxClient,
    name: &str,
) -> agenttier::Result<()> {
    // SandboxSets set no conditions: availability is observedGeneration + availableReplicas.
    let ready = sets.wait_for_available(name, Duration::from_secs(300)).await?;
    println!(
        "available: {} sandbox(es)",
        ready.status.map(|s| s.available_replicas).unwrap_or(0)
    );

    let scale = sets.scale(name, 2).await?;
    println!("scaled to {:?} through the scale subresource", scale.spec.replicas);

    // Watch the set's sandboxes for a minute: the list first (as Added), then changes.
    let selector = sets
        .get_scale(name)
        .await?
        .status
        .map(|s| s.selector)
        .unwrap_or_default();
    let mut params = WatchParams::default().timeout(Duration::from_secs(60));
    if !selector.is_empty() {
        params = params.labels(selector.clone());
    }
    let mut events = sandboxes.watch(&params).await?;
    while let Some(event) = events.next().await {
        match event? {
            WatchEvent::Added(s) | WatchEvent::Modified(s) => {
                let phase = s.phase().map(|p| p.to_string()).unwrap_or_else(|| "-".into());
                println!("{:<40} {phase}", s.metadata.name.unwrap_or_default());
            }
            WatchEvent::Deleted(s) => println!("{:<40} deleted", s.metadata.name.unwrap_or_default()),
            _ => {}
        }
    }
    let left = sandboxes.list(&ListParams::default().labels(selector)).await?;
    println!("{} sandbox(es) in the set after the watch", left.items.len());
    Ok(())
}
