//! Test support: the fake API server, the committed test PKI, kubeconfig and exec-plugin fixtures.

pub mod apiserver;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use apiserver::FakeApiServer;

/// The directory of the committed test PKI (`pki/make-pki.sh`).
pub fn pki(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("kruise/pki").join(file)
}

fn pem(file: &str) -> Vec<u8> {
    std::fs::read(pki(file)).unwrap()
}

/// A rustls server configuration with the test server certificate that requires a client
/// certificate signed by the test CA.
pub fn mtls_server_config() -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(&pem("ca.crt")) {
        roots.add(cert.unwrap()).unwrap();
    }
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .unwrap();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem("server.crt"))
        .map(|c| c.unwrap())
        .collect();
    let key = PrivateKeyDer::from_pem_slice(&pem("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    Arc::new(config)
}

/// Writes a kubeconfig for `server` into `dir` with `user` (YAML lines under `user:`).
pub fn kubeconfig(dir: &Path, server: &str, cluster_extra: &str, user: &str) -> PathBuf {
    let path = dir.join("config");
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: test\nclusters:\n- name: test\n  cluster:\n    server: {server}\n{cluster_extra}contexts:\n- name: test\n  context:\n    cluster: test\n    user: tester\n    namespace: team-a\nusers:\n- name: tester\n  user:\n{user}"
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// An exec credential plugin: a shell script that counts its runs in `count` and prints a token
/// `tok-<n>` (a `client.authentication.k8s.io/v1` ExecCredential), after saving the
/// `KUBERNETES_EXEC_INFO` it was given.
#[cfg(unix)]
pub fn exec_plugin(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = bin.join("token-plugin.sh");
    std::fs::write(
        &script,
        r#"#!/bin/sh
dir="$(dirname "$0")"
n=$(( $(cat "$dir/count" 2>/dev/null || echo 0) + 1 ))
echo "$n" > "$dir/count"
printf '%s' "$KUBERNETES_EXEC_INFO" > "$dir/exec-info.json"
printf '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","status":{"token":"tok-%s"}}\n' "$n"
"#,
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// How many times the exec plugin of `dir` ran.
pub fn exec_runs(dir: &Path) -> u32 {
    std::fs::read_to_string(dir.join("bin/count"))
        .map(|c| c.trim().parse().unwrap_or(0))
        .unwrap_or(0)
}
