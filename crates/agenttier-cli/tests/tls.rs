//! The `agenttier` binary against the real Router behind a private CA (a loopback TLS front):
//! refused with the OS roots alone, trusted with `--cacert` or `SSL_CERT_FILE`.

use std::process::{Command, Output};

use agenttier_router::{LocalRouter, RouterOptions};

#[path = "../../../tests/e2e/support/tls.rs"]
mod tls;

const BIN: &str = env!("CARGO_BIN_EXE_agenttier");

/// `agenttier templates list -o json` against `url`, with the router's admin key, in a clean
/// environment (no config file, no inherited certificate settings).
fn templates(
    url: &str,
    key: &str,
    home: &std::path::Path,
    extra: &[(&str, &std::path::Path)],
    args: &[&str],
) -> Output {
    let mut cmd = Command::new(BIN);
    for var in ["AGENTTIER_CACERT", "SSL_CERT_FILE", "SSL_CERT_DIR", "AGENTTIER_TOKEN"] {
        cmd.env_remove(var);
    }
    cmd.env("HOME", home)
        .env("AGENTTIER_CONFIG", home.join("config.json"))
        .env("AGENTTIER_API_URL", url)
        .env("AGENTTIER_API_KEY", key);
    for (name, value) in extra {
        cmd.env(name, value);
    }
    cmd.args(["template", "list", "-o", "json"])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn cacert_and_ssl_cert_file_trust_a_private_ca() {
    let router = LocalRouter::start(RouterOptions::default()).unwrap();
    let front = tls::TlsFront::start(router.url());
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, tls::CA_PEM).unwrap();
    let key = router.admin_key();

    let refused = templates(&front.url(), key, dir.path(), &[], &[]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_ne!(refused.status.code(), Some(0), "{stderr}");
    assert!(stderr.to_ascii_lowercase().contains("certificate"), "{stderr}");

    let flag = templates(&front.url(), key, dir.path(), &[], &["--cacert", ca.to_str().unwrap()]);
    assert_eq!(flag.status.code(), Some(0), "{}", String::from_utf8_lossy(&flag.stderr));
    assert!(String::from_utf8_lossy(&flag.stdout).contains("general-coding"));

    // SSL_CERT_FILE replaces the OS store, as OpenSSL and curl do.
    let env = templates(&front.url(), key, dir.path(), &[("SSL_CERT_FILE", &ca)], &[]);
    assert_eq!(env.status.code(), Some(0), "{}", String::from_utf8_lossy(&env.stderr));

    // A missing file is a usage error that names it.
    let missing = dir.path().join("missing.pem");
    let bad = templates(
        &front.url(),
        key,
        dir.path(),
        &[],
        &["--cacert", missing.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("missing.pem"), "{stderr}");
}
