//! TLS: the real Router behind a private CA (through a loopback TLS front), trusted only when
//! told to; the Mozilla bundle instead of the OS store; verification switched off; and the
//! user's own HTTP client, which still gets the SDK's statuses, errors and timeouts.

use std::sync::OnceLock;
use std::time::Duration;

use agenttier::models::CreateSandbox;
use agenttier::{BuiltInRoots, Error, RetryPolicy};

use super::{Env, maybe, own_http, sdk};
use crate::support::{self, tls::CA_PEM, tls::TlsFront};

/// The TLS front before the shared router, started on first use.
fn front() -> &'static TlsFront {
    static FRONT: OnceLock<TlsFront> = OnceLock::new();
    FRONT.get_or_init(|| TlsFront::start(support::router().url()))
}

/// A builder for the Router over `https`, as its admin, without retries (a refused certificate
/// is a connection failure, which would otherwise be retried).
fn over_tls() -> sdk::ClientBuilder {
    sdk::Client::builder()
        .base_url(front().url())
        .api_key(support::router().admin_key())
        .unwrap()
        .retry(RetryPolicy::disabled())
}

/// Whether `err` is the transport error of a refused server certificate (rustls or OpenSSL words).
fn is_certificate_error(err: &Error) -> bool {
    let text = format!("{err} {err:?}").to_ascii_lowercase();
    matches!(err, Error::Transport { .. }) && text.contains("certificate")
}

#[maybe]
pub async fn tls_router_behind_a_private_ca_with_its_ca_added(env: Env) {
    let client = over_tls().add_root_certificates_pem(CA_PEM).build().unwrap();
    assert!(client.config().uses_tls());
    let templates = client.list_templates().await.unwrap();
    assert!(!templates.is_empty());
    // Unary calls, an upload, a download and a command, all through the TLS connection pool.
    let sandbox = client
        .create_sandbox(CreateSandbox::new("general-coding", env.name("tls")))
        .await
        .unwrap();
    sandbox.wait_until_running(Duration::from_secs(30)).await.unwrap();
    let files = sandbox.files();
    files.upload_from(&b"over tls"[..], "/workspace/t.txt").await.unwrap();
    let read = files.read("/workspace/t.txt").await.unwrap();
    assert_eq!(read, b"over tls");
    let out = sandbox.exec("cat /workspace/t.txt").await.unwrap();
    assert_eq!(out.stdout, "over tls");
    sandbox.terminate().await.unwrap();
}

#[maybe]
pub async fn tls_unknown_ca_is_refused(_env: Env) {
    // The OS store (the default) does not hold the test CA.
    let err = over_tls().build().unwrap().list_templates().await.unwrap_err();
    assert!(is_certificate_error(&err), "{err:?}");
    // Nor does the compiled-in Mozilla bundle; with the CA added, it is trusted.
    let bundle = over_tls().built_in_roots(BuiltInRoots::WebPki);
    let err = bundle.clone().build().unwrap().list_templates().await.unwrap_err();
    assert!(is_certificate_error(&err), "{err:?}");
    let trusted = bundle.add_root_certificates_pem(CA_PEM).build().unwrap();
    let templates = trusted.list_templates().await.unwrap();
    assert!(!templates.is_empty());
    // A PEM without a certificate is refused when the client is built, not at the first call.
    let err = over_tls()
        .add_root_certificates_pem(&b"not a certificate"[..])
        .build()
        .unwrap_err();
    assert!(
        matches!(&err, Error::Config { message } if message.contains("CERTIFICATE")),
        "{err:?}"
    );
}

#[maybe]
pub async fn tls_danger_accept_invalid_certs_skips_verification(_env: Env) {
    let client = over_tls().danger_accept_invalid_certs(true).build().unwrap();
    let templates = client.list_templates().await.unwrap();
    assert!(!templates.is_empty());
    let checked = over_tls().danger_accept_invalid_certs(false).build().unwrap();
    let err = checked.list_templates().await.unwrap_err();
    assert!(is_certificate_error(&err), "{err:?}");
}

#[maybe]
pub async fn own_http_client_keeps_the_sdk_contract(env: Env) {
    // The user's client follows its own defaults (ureq's turn error statuses into errors); the SDK
    // still sees every answer, maps it to its typed error, and reads streams and bodies.
    let client = own_http(
        sdk::Client::builder()
            .base_url(support::router().url())
            .api_key(support::router().admin_key())
            .unwrap(),
    )
    .build()
    .unwrap();
    let err = client.get_sandbox("no-such-sandbox").await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    let err = own_http(
        env.client_for(support::router().url())
            .auth(agenttier::Auth::api_key("atk_wrong").unwrap()),
    )
    .build()
    .unwrap()
    .list_templates()
    .await
    .unwrap_err();
    assert_eq!(err.status(), Some(401), "{err:?}");
    let sandbox = client
        .create_sandbox(CreateSandbox::new("general-coding", env.name("own-http")))
        .await
        .unwrap();
    sandbox.wait_until_running(Duration::from_secs(30)).await.unwrap();
    sandbox.files().write("/workspace/a.txt", "own client").await.unwrap();
    let read = sandbox.files().read("/workspace/a.txt").await.unwrap();
    assert_eq!(read, b"own client");
    sandbox.terminate().await.unwrap();
}
