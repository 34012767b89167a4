//! kubectl as an oracle: our kubeconfig resolution against `kubectl config view`, and the fake
//! API server's wire format against a real client. Skipped, saying so, without kubectl.

use std::path::Path;
use std::process::Command;

use agenttier::kruise::{ClusterConfig, KubeAuth, Kubeconfig, SandboxSet};
use serde_json::Value;

use crate::support::{self, FakeApiServer};

fn kubectl() -> Option<&'static str> {
    let found = Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        println!("SKIPPED: kubectl is not installed; the kubectl oracle tests did not run");
    }
    found.then_some("kubectl")
}

fn run(args: &[&str], kubeconfig: &Path) -> (bool, String) {
    let out = Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env_remove("HTTPS_PROXY")
        .env_remove("HTTP_PROXY")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn kubeconfig_resolution_matches_kubectl() {
    let Some(_) = kubectl() else { return };
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("a");
    let second = dir.path().join("b");
    std::fs::create_dir_all(&first).unwrap();
    std::fs::create_dir_all(&second).unwrap();
    std::fs::copy(support::pki("ca.crt"), first.join("ca.crt")).unwrap();
    std::fs::write(
        first.join("config"),
        "apiVersion: v1\nkind: Config\ncurrent-context: dev\nclusters:\n- name: c1\n  cluster:\n    server: https://10.0.0.1:6443\n    certificate-authority: ca.crt\ncontexts:\n- name: dev\n  context: {cluster: c1, user: u1, namespace: team-a}\nusers:\n- name: u1\n  user: {token: first-token}\n",
    )
    .unwrap();
    std::fs::write(
        second.join("config"),
        "apiVersion: v1\nkind: Config\ncurrent-context: other\nclusters:\n- name: c1\n  cluster: {server: https://shadowed:6443}\n- name: c2\n  cluster: {server: https://10.0.0.2:6443, insecure-skip-tls-verify: true}\ncontexts:\n- name: dev\n  context: {cluster: c2, user: u2}\n- name: other\n  context: {cluster: c2, user: u2}\nusers:\n- name: u2\n  user: {username: admin, password: pw}\n",
    )
    .unwrap();
    let list = format!("{}:{}", first.join("config").display(), second.join("config").display());
    for context in [None, Some("other")] {
        let mut args = vec!["config", "view", "--minify", "--flatten", "--raw", "-o", "json"];
        if let Some(c) = context {
            args.extend(["--context", c]);
        }
        let out = Command::new("kubectl")
            .args(&args)
            .env("KUBECONFIG", &list)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
        let paths: Vec<_> = list.split(':').map(Into::into).collect();
        let ours = ClusterConfig::from_kubeconfig(&Kubeconfig::read_merged(&paths).unwrap(), context).unwrap();
        let cluster = &theirs["clusters"][0]["cluster"];
        assert_eq!(cluster["server"], ours.server.as_str(), "{context:?}");
        let ns = theirs["contexts"][0]["context"]["namespace"]
            .as_str()
            .unwrap_or("default");
        assert_eq!(ns, ours.namespace);
        use base64::Engine as _;
        let ca = cluster["certificate-authority-data"]
            .as_str()
            .map(|d| base64::engine::general_purpose::STANDARD.decode(d).unwrap());
        assert_eq!(ca, ours.root_certificates_pem, "{context:?}");
        assert_eq!(
            cluster["insecure-skip-tls-verify"].as_bool().unwrap_or(false),
            ours.insecure_skip_tls_verify
        );
        let user = &theirs["users"][0]["user"];
        match &ours.auth {
            KubeAuth::Token(t) => assert_eq!(user["token"], t.expose()),
            KubeAuth::Basic { username, .. } => assert_eq!(user["username"], username.as_str()),
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn kubectl_speaks_to_the_fake() {
    let Some(_) = kubectl() else { return };
    let server = FakeApiServer::start();
    let dir = tempfile::tempdir().unwrap();
    let config = support::kubeconfig(dir.path(), server.url(), "", "    token: t\n");
    let client = agenttier::blocking::kruise::KruiseClient::new(ClusterConfig::new(server.url())).unwrap();
    let sets = client.sandbox_sets("team-a");
    sets.create(&SandboxSet::from_template_ref("pool", "python", 1))
        .unwrap();
    let (ok, out) = run(&["get", "sandboxsets", "-o", "json"], &config);
    assert!(ok, "kubectl get: {out}");
    let listed: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed["items"][0]["metadata"]["name"], "pool");
    let (ok, out) = run(&["get", "sbs", "pool", "-o", "name"], &config);
    assert!(ok && out.contains("pool"), "kubectl get by short name: {out}");
    let (ok, out) = run(
        &[
            "patch",
            "sandboxset",
            "pool",
            "--type",
            "merge",
            "-p",
            r#"{"metadata":{"labels":{"via":"kubectl"}}}"#,
        ],
        &config,
    );
    assert!(ok, "kubectl patch: {out}");
    let (ok, out) = run(&["scale", "sandboxset", "pool", "--replicas", "4"], &config);
    assert!(ok, "kubectl scale: {out}");
    let got = sets.get("pool").unwrap();
    assert_eq!(
        (got.spec.replicas, got.metadata.labels.get("via").map(String::as_str)),
        (4, Some("kubectl"))
    );
    let (ok, out) = run(&["delete", "sandboxset", "pool"], &config);
    assert!(ok, "kubectl delete: {out}");
    assert!(sets.get_opt("pool").unwrap().is_none());
}
