//! Faults on purpose: cut and expired watches, servers that ignore `timeoutSeconds`, mutual TLS
//! with the committed test PKI, exec plugins, token files.

use std::time::{Duration, Instant};

use agenttier::kruise::{ClusterConfig, KubeAuth, Kubeconfig, ListParams, Resource, Sandbox, WatchEvent, WatchParams};
use base64::Engine as _;

use super::scenarios::next;
use super::{Env, maybe};
use crate::support::{self, FakeApiServer};

fn names<K: Resource>(events: &[WatchEvent<K>]) -> Vec<String> {
    events
        .iter()
        .map(|e| format!("{} {}", e.type_name(), e.object().map(|o| o.name()).unwrap_or("")))
        .collect()
}

#[maybe]
pub async fn watch_reconnects_from_the_last_version(env: Env) {
    let (server, client) = env.fake();
    server.close_watches_after(1);
    let sandboxes = client.sandboxes("w1");
    sandboxes.create(&Sandbox::from_template_ref("a", "t")).await.unwrap();
    let mut stream = sandboxes
        .watch(&WatchParams::default().timeout(Duration::from_secs(10)))
        .await
        .unwrap();
    let first = next(&mut stream).await.unwrap().unwrap();
    let listed_at = server.seen().last().unwrap().clone();
    assert_eq!(
        (
            listed_at.method.as_str(),
            listed_at.query.get("limit").map(String::as_str)
        ),
        ("GET", Some("500"))
    );
    let b = sandboxes.create(&Sandbox::from_template_ref("b", "t")).await.unwrap();
    sandboxes.create(&Sandbox::from_template_ref("c", "t")).await.unwrap();
    let second = next(&mut stream).await.unwrap().unwrap();
    let third = next(&mut stream).await.unwrap().unwrap();
    assert_eq!(names(&[first, second, third]), ["ADDED a", "ADDED b", "ADDED c"]);
    let watches: Vec<_> = server
        .seen()
        .into_iter()
        .filter(|s| s.query.contains_key("watch"))
        .collect();
    assert!(watches.len() >= 2, "the server cut the first watch after one event");
    assert_eq!(
        watches[1].query.get("resourceVersion").map(String::as_str),
        Some(b.resource_version())
    );
    assert_eq!(
        watches[0].query.get("allowWatchBookmarks").map(String::as_str),
        Some("true")
    );
    let timeout: u64 = watches[0].query["timeoutSeconds"].parse().unwrap();
    assert!((1..=10).contains(&timeout), "{timeout}");
}

#[maybe]
pub async fn watch_relists_after_gone(env: Env) {
    let (server, client) = env.fake();
    let sandboxes = client.sandboxes("w2");
    for name in ["a", "b"] {
        sandboxes.create(&Sandbox::from_template_ref(name, "t")).await.unwrap();
    }
    let mut stream = sandboxes
        .watch(&WatchParams::default().timeout(Duration::from_secs(10)))
        .await
        .unwrap();
    let mut events = Vec::new();
    for _ in 0..2 {
        events.push(next(&mut stream).await.unwrap().unwrap());
    }
    // While nobody watches: b goes, c comes, and etcd compacts the history.
    sandboxes.delete("b", &Default::default()).await.unwrap();
    sandboxes.create(&Sandbox::from_template_ref("c", "t")).await.unwrap();
    server.compact();
    for _ in 0..2 {
        events.push(next(&mut stream).await.unwrap().unwrap());
    }
    assert_eq!(names(&events), ["ADDED a", "ADDED b", "ADDED c", "DELETED b"]);
    let lists = server
        .seen()
        .iter()
        .filter(|s| s.method == "GET" && !s.query.contains_key("watch"))
        .count();
    assert_eq!(lists, 2, "one list at the start, one after the 410");
}

#[maybe]
pub async fn watch_ends_at_its_deadline_even_if_the_server_does_not(env: Env) {
    let (server, client) = env.fake();
    server.ignore_watch_timeout();
    let started = Instant::now();
    let mut stream = client
        .sandboxes("w3")
        .watch(&WatchParams::default().timeout(Duration::from_millis(1500)))
        .await
        .unwrap();
    let mut count = 0;
    while let Some(item) = next(&mut stream).await {
        item.unwrap();
        count += 1;
    }
    let took = started.elapsed();
    assert_eq!(count, 0);
    assert!(
        took >= Duration::from_millis(1400) && took < Duration::from_secs(6),
        "{took:?}"
    );
}

#[maybe]
pub async fn wait_times_out_on_a_quiet_object(env: Env) {
    let (server, client) = env.fake();
    server.ignore_watch_timeout();
    let sandboxes = client.sandboxes("w4");
    sandboxes
        .create(&Sandbox::from_template_ref("quiet", "t"))
        .await
        .unwrap();
    let started = Instant::now();
    let err = sandboxes
        .wait_for_condition("quiet", "Ready", "True", Duration::from_secs(1))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, agenttier::Error::WaitTimeout { .. }), "{err}");
    assert!(
        err.to_string().contains("Sandbox w4/quiet condition Ready=True"),
        "{err}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    let missing = sandboxes
        .wait_for_condition("absent", "Ready", "True", Duration::from_secs(1))
        .await
        .unwrap_err();
    assert_eq!(missing.status(), Some(404));
}

fn b64(file: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(std::fs::read(support::pki(file)).unwrap())
}

#[maybe]
pub async fn mutual_tls_from_a_kubeconfig(env: Env) {
    let server = FakeApiServer::start_tls(support::mtls_server_config());
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(support::pki("ca.crt"), dir.path().join("ca.crt")).unwrap();
    std::fs::copy(support::pki("client-ec.crt"), dir.path().join("client.crt")).unwrap();
    std::fs::copy(support::pki("client-ec.key"), dir.path().join("client.key")).unwrap();
    // RSA (PKCS#1) key embedded as data; CA by a path relative to the kubeconfig.
    let rsa = format!(
        "    client-certificate-data: {}\n    client-key-data: {}\n",
        b64("client-rsa.crt"),
        b64("client-rsa.key")
    );
    let path = support::kubeconfig(dir.path(), server.url(), "    certificate-authority: ca.crt\n", &rsa);
    let config = ClusterConfig::from_kubeconfig(&Kubeconfig::read(&path).unwrap(), None).unwrap();
    assert_eq!(config.namespace, "team-a");
    let client = env.client(config);
    assert_eq!(client.default_namespace(), "team-a");
    let sandboxes = client.sandboxes(client.default_namespace());
    sandboxes
        .create(&Sandbox::from_template_ref(env.name("tls"), "t"))
        .await
        .unwrap();
    // EC (SEC1) key and certificate by relative paths.
    let files = "    client-certificate: client.crt\n    client-key: client.key\n";
    let path = support::kubeconfig(dir.path(), server.url(), "    certificate-authority: ca.crt\n", files);
    let config = ClusterConfig::from_kubeconfig(&Kubeconfig::read(&path).unwrap(), None).unwrap();
    let listed = env
        .client(config)
        .sandboxes("team-a")
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(listed.items.len(), 1);
    let kinds = env.client(ClusterConfig::from_kubeconfig(&Kubeconfig::read(&path).unwrap(), None).unwrap());
    let has = kinds.has_kruise_resources().await.unwrap();
    assert!(has);
}

#[maybe]
pub async fn mutual_tls_needs_the_client_certificate(env: Env) {
    let server = FakeApiServer::start_tls(support::mtls_server_config());
    let ca = std::fs::read(support::pki("ca.crt")).unwrap();
    let no_cert = env.client(ClusterConfig::new(server.url()).root_certificates_pem(ca.clone()));
    let err = no_cert.sandboxes("x").get("y").await.unwrap_err();
    assert!(matches!(err, agenttier::Error::Transport { .. }), "{err}");
    // A server certificate from another CA is refused too (the built-in roots are not trusted).
    let wrong_ca = std::fs::read(support::pki("client-rsa.crt")).unwrap();
    let other = env.client(ClusterConfig::new(server.url()).root_certificates_pem(wrong_ca));
    let err = other.sandboxes("x").get("y").await.unwrap_err();
    assert!(matches!(err, agenttier::Error::Transport { .. }), "{err}");
}

#[maybe]
pub async fn exec_plugin_token_is_cached_and_renewed_after_401(env: Env) {
    #[cfg(not(unix))]
    {
        let _ = env;
        println!("skipped: the exec plugin fixture is a shell script");
    }
    #[cfg(unix)]
    {
        let (server, _) = env.fake();
        let dir = tempfile::tempdir().unwrap();
        support::exec_plugin(dir.path());
        let user = "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ./bin/token-plugin.sh\n      interactiveMode: Never\n      provideClusterInfo: true\n";
        let path = support::kubeconfig(dir.path(), server.url(), "", user);
        let config = ClusterConfig::from_kubeconfig(&Kubeconfig::read(&path).unwrap(), None)
            .unwrap()
            .allow_credentials_over_http(true);
        let client = env.client(config);
        server.require_token("tok-1");
        let sandboxes = client.sandboxes("e");
        sandboxes.list(&ListParams::default()).await.unwrap();
        sandboxes.list(&ListParams::default()).await.unwrap();
        assert_eq!(support::exec_runs(dir.path()), 1, "the token is cached");
        server.require_token("tok-2");
        server.reject_token("tok-1");
        sandboxes.list(&ListParams::default()).await.unwrap();
        assert_eq!(support::exec_runs(dir.path()), 2, "a 401 re-runs the plugin once");
        let info: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("bin/exec-info.json")).unwrap()).unwrap();
        assert_eq!(info["kind"], "ExecCredential");
        assert_eq!(info["spec"]["interactive"], false);
        assert_eq!(info["spec"]["cluster"]["server"], server.url());
        server.require_token("tok-99");
        let err = sandboxes.list(&ListParams::default()).await.unwrap_err();
        assert_eq!(
            err.kube_kind(),
            Some(agenttier::kruise::KubeErrorKind::PermissionDenied)
        );
    }
}

#[maybe]
pub async fn token_file_rotation_is_picked_up(env: Env) {
    let (server, _) = env.fake();
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "first\n").unwrap();
    let auth = KubeAuth::TokenFile(agenttier::kruise::TokenFile::new(&token));
    let client = env.client(
        ClusterConfig::new(server.url())
            .allow_credentials_over_http(true)
            .auth(auth),
    );
    server.require_token("first");
    client.sandboxes("t").list(&ListParams::default()).await.unwrap();
    std::fs::write(&token, "second-rotated\n").unwrap();
    server.require_token("second-rotated");
    client.sandboxes("t").list(&ListParams::default()).await.unwrap();
}

#[maybe]
pub async fn credentials_never_go_over_plain_http_by_default(env: Env) {
    let server = FakeApiServer::start();
    let config = ClusterConfig::new(server.url()).auth(KubeAuth::Token(agenttier::Secret::new("secret")));
    env.client(config)
        .sandboxes("h")
        .list(&ListParams::default())
        .await
        .unwrap();
    assert!(server.seen().iter().all(|s| !s.headers.contains_key("authorization")));
    let with = env.client_with_token(&server, "secret");
    with.sandboxes("h").list(&ListParams::default()).await.unwrap();
    assert_eq!(
        server
            .seen()
            .last()
            .unwrap()
            .headers
            .get("authorization")
            .map(String::as_str),
        Some("Bearer secret")
    );
}
