//! Tier-1 tests of the Kubernetes layer: golden request shapes for every operation and
//! kubeconfig resolution over committed fixtures (`tests/data/kruise/`). The request fixture is
//! marked `synthetic`: written from the Kubernetes API conventions and kubectl's observed
//! shapes, not recorded from a cluster (the opt-in e2e suite can record real ones).

#![cfg(feature = "kruise")]

use std::path::{Path, PathBuf};

use agenttier_core::kruise::{
    ClusterConfig, DeleteParams, KubeAuth, Kubeconfig, ListParams, PatchBody, PropagationPolicy, SandboxSet,
    WatchParams, request,
};
use agenttier_core::request::Request;
use serde_json::{Value, json};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/kruise")
        .join(rel)
}

fn set() -> SandboxSet {
    SandboxSet::from_template_ref("pool", "python", 2)
}

fn stored() -> SandboxSet {
    let mut s = set();
    s.metadata.resource_version = Some("42".into());
    s
}

fn build(op: &str) -> Request {
    let ns = "team-a";
    match op {
        "create" => request::create(ns, &set()).unwrap(),
        "get" => request::get::<SandboxSet>(ns, "pool").unwrap(),
        "list" => request::list::<SandboxSet>(
            Some(ns),
            &ListParams::default()
                .labels("app=agent,tier in (a,b)")
                .fields("metadata.name=pool")
                .limit(500)
                .continue_from("abc"),
        )
        .unwrap(),
        "list_all_namespaces" => request::list::<SandboxSet>(None, &ListParams::default()).unwrap(),
        "replace" => request::replace(ns, &stored()).unwrap(),
        "merge_patch" => request::patch::<SandboxSet>(
            ns,
            "pool",
            &PatchBody::Merge(json!({"metadata": {"labels": {"x": "y"}}})),
        )
        .unwrap(),
        "json_patch" => request::patch::<SandboxSet>(
            ns,
            "pool",
            &PatchBody::Json(vec![json!({"op": "replace", "path": "/spec/replicas", "value": 3})]),
        )
        .unwrap(),
        "get_status" => request::get_status::<SandboxSet>(ns, "pool").unwrap(),
        "patch_status" => {
            request::patch_status::<SandboxSet>(ns, "pool", &request::status_patch(json!({"replicas": 1}))).unwrap()
        }
        "replace_status" => request::replace_status(ns, &stored()).unwrap(),
        "get_scale" => request::get_scale::<SandboxSet>(ns, "pool").unwrap(),
        "patch_scale" => request::patch_scale::<SandboxSet>(ns, "pool", 5).unwrap(),
        "delete" => request::delete::<SandboxSet>(
            ns,
            "pool",
            &DeleteParams::default()
                .grace_period(0)
                .propagation(PropagationPolicy::Foreground)
                .if_resource_version("42"),
        )
        .unwrap(),
        "delete_collection" => request::delete_collection::<SandboxSet>(
            ns,
            &ListParams::default().labels("run=1").limit(7),
            &DeleteParams::default().dry_run(),
        )
        .unwrap(),
        "watch" => request::watch::<SandboxSet>(
            Some(ns),
            &WatchParams::object("pool"),
            Some("42"),
            std::time::Duration::from_millis(29_100),
        )
        .unwrap(),
        other => panic!("unknown op {other}"),
    }
}

#[test]
fn golden_request_shapes() {
    let cases: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(data("requests.synthetic.json")).unwrap()).unwrap();
    assert_eq!(cases.len(), 15);
    for case in cases {
        let op = case["op"].as_str().unwrap();
        let req = build(op);
        assert_eq!(req.method.as_str(), case["method"], "{op}");
        assert_eq!(req.url(""), case["url"], "{op}");
        assert_eq!(
            req.content_type().map(str::to_owned),
            case["content_type"].as_str().map(str::to_owned),
            "{op}"
        );
        let body: Value = if req.body_bytes().is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(req.body_bytes()).unwrap()
        };
        assert_eq!(body, case["body"], "{op}");
        assert_eq!(req.is_streaming(), op == "watch", "{op}");
        assert_eq!(req.accept.header_value(), "application/json", "{op}");
    }
}

#[test]
fn requests_refuse_bad_input_locally() {
    assert!(request::get::<SandboxSet>("ns", "").is_err());
    assert!(request::get::<SandboxSet>("", "x").is_err());
    assert!(request::get::<SandboxSet>("ns", "a/b").is_err());
    assert!(
        request::replace("ns", &set()).is_err(),
        "replace needs a resourceVersion"
    );
    assert!(request::patch_scale::<SandboxSet>("ns", "x", -1).is_err());
    assert!(
        request::get_scale::<agenttier_core::kruise::Sandbox>("ns", "x").is_err(),
        "Sandbox has no scale"
    );
    assert!(request::patch::<SandboxSet>("ns", "x", &PatchBody::Merge(json!([1]))).is_err());
    assert!(request::patch::<SandboxSet>("ns", "x", &PatchBody::Json(vec![json!({"path": "/a"})])).is_err());
    assert!(request::delete::<SandboxSet>("ns", "x", &DeleteParams::default().grace_period(-1)).is_err());
    let mut other_ns = set();
    other_ns.metadata.namespace = Some("elsewhere".into());
    assert!(request::create("ns", &other_ns).is_err());
    let mut unnamed = set();
    unnamed.metadata.name = None;
    assert!(request::create("ns", &unnamed).is_err());
    unnamed.metadata.generate_name = Some("pool-".into());
    assert!(request::create("ns", &unnamed).is_ok());
}

fn merged() -> Kubeconfig {
    Kubeconfig::read_merged(&[
        data("kubeconfig/a/config"),
        data("kubeconfig/missing"),
        data("kubeconfig/b/config"),
    ])
    .unwrap()
}

#[test]
fn kubeconfig_merge_first_file_wins() {
    let config = merged();
    assert_eq!(config.current_context.as_deref(), Some("dev"));
    let dev = ClusterConfig::from_kubeconfig(&config, None).unwrap();
    assert_eq!(dev.server, "https://10.0.0.1:6443", "the first file's dev-cluster wins");
    assert_eq!(dev.namespace, "team-a");
    assert_eq!(
        dev.root_certificates_pem.as_deref(),
        Some(&b"CA-PEM-BYTES"[..]),
        "relative to a/"
    );
    let identity = dev.client_identity.unwrap();
    assert_eq!(
        (identity.certificate_pem.as_slice(), identity.private_key_pem.as_slice()),
        (&b"CERT"[..], &b"KEY"[..])
    );
    assert_eq!(dev.impersonate_user.as_deref(), Some("jane"));
    assert_eq!(dev.impersonate_groups, ["ops"]);
    assert!(!format!("{identity:?}").contains("KEY"));
}

#[test]
fn kubeconfig_contexts_token_files_and_refusals() {
    let config = merged();
    let prod = ClusterConfig::from_kubeconfig(&config, Some("prod")).unwrap();
    assert_eq!(prod.server, "https://prod.example:443/k8s/clusters/c-1");
    assert_eq!(prod.namespace, "default");
    assert!(prod.insecure_skip_tls_verify);
    let KubeAuth::TokenFile(file) = &prod.auth else {
        panic!("{:?}", prod.auth)
    };
    assert_eq!(file.path(), data("kubeconfig/b/token"));
    assert_eq!(file.token().unwrap().unwrap().expose(), "prod-token");
    let legacy = ClusterConfig::from_kubeconfig(&config, Some("legacy"))
        .unwrap_err()
        .to_string();
    assert!(
        legacy.contains("auth-provider") && legacy.contains("exec plugin"),
        "{legacy}"
    );
    assert!(
        ClusterConfig::from_kubeconfig(&config, Some("sni"))
            .unwrap_err()
            .to_string()
            .contains("sni-cluster")
    );
    assert!(ClusterConfig::from_kubeconfig(&config, Some("nope")).is_err());
    let sni = Kubeconfig::from_yaml(
        "clusters: [{name: c, cluster: {server: 'https://x', tls-server-name: y}}]\ncontexts: [{name: c, context: {cluster: c}}]\ncurrent-context: c\n",
        None,
    )
    .unwrap();
    assert!(
        ClusterConfig::from_kubeconfig(&sni, None)
            .unwrap_err()
            .to_string()
            .contains("tls-server-name")
    );
    assert!(Kubeconfig::read_merged(&[data("kubeconfig/missing")]).is_err());
}

#[test]
fn infer_prefers_kubeconfig_then_in_cluster() {
    let sa = tempfile::tempdir().unwrap();
    std::fs::write(sa.path().join("token"), "sa-token").unwrap();
    std::fs::write(sa.path().join("ca.crt"), "SA-CA").unwrap();
    std::fs::write(sa.path().join("namespace"), "agents\n").unwrap();
    let list = format!(
        "{}:{}",
        data("kubeconfig/a/config").display(),
        data("kubeconfig/b/config").display()
    );
    let env = |kubeconfig: Option<String>, host: &'static str| {
        move |name: &str| match name {
            "KUBECONFIG" => kubeconfig.clone(),
            "KUBERNETES_SERVICE_HOST" => Some(host.to_owned()),
            "KUBERNETES_SERVICE_PORT" => Some("443".to_owned()),
            _ => None,
        }
    };
    let from_file = ClusterConfig::infer_with(&env(Some(list), "10.96.0.1"), sa.path()).unwrap();
    assert_eq!(from_file.context.as_deref(), Some("dev"));
    let in_cluster = ClusterConfig::infer_with(&env(None, "fd00::1"), sa.path()).unwrap();
    assert_eq!(in_cluster.server, "https://[fd00::1]:443");
    assert_eq!(in_cluster.namespace, "agents");
    assert_eq!(in_cluster.root_certificates_pem.as_deref(), Some(&b"SA-CA"[..]));
    assert!(matches!(in_cluster.auth, KubeAuth::TokenFile(_)));
    let nothing = ClusterConfig::infer_with(&|_| None, &sa.path().join("absent")).unwrap_err();
    assert!(nothing.to_string().contains("no Kubernetes configuration"), "{nothing}");
    assert!(!ClusterConfig::new("http://127.0.0.1:1").sends_credentials());
    assert!(ClusterConfig::new("https://k").sends_credentials());
}
