//! Where a terminal WebSocket connects, and its TLS (`wss://`), shared by both flavours: the
//! rustls configuration is built from the client's settings, so a terminal trusts what the HTTP
//! calls trust — the built-in Mozilla roots plus [`ClientConfig::root_certificates_pem`] (or
//! only those with [`ClientConfig::only_listed_roots`]) — and presents the client certificate,
//! if any.

use std::sync::Arc;

use agenttier_core::{ClientConfig, Error, Result};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

/// A WebSocket URL taken apart.
pub(crate) struct Endpoint {
    /// `wss://`.
    pub secure: bool,
    /// Host name or IP address (IPv6 in brackets).
    pub host: String,
    /// `host:port`, to connect to.
    pub address: String,
    /// Path without the query, for error messages.
    pub path: String,
}

/// Takes a `ws://` or `wss://` URL (as [`terminal_url`](agenttier_core::terminal::terminal_url)
/// builds it) apart.
pub(crate) fn endpoint(url: &str) -> Result<Endpoint> {
    let (secure, rest) = match url.split_once("://") {
        Some(("wss", rest)) => (true, rest),
        Some(("ws", rest)) => (false, rest),
        _ => return Err(Error::config(format!("{url:?} is not a ws:// or wss:// URL"))),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = path.split('?').next().unwrap_or("/").to_owned();
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => {
            let port = p
                .parse::<u16>()
                .map_err(|_| Error::config(format!("invalid port in {authority:?}")))?;
            (h.to_owned(), port)
        }
        _ => (authority.to_owned(), if secure { 443 } else { 80 }),
    };
    if host.is_empty() {
        return Err(Error::config(format!("{url:?} names no host")));
    }
    Ok(Endpoint {
        secure,
        address: format!("{host}:{port}"),
        host,
        path,
    })
}

/// The rustls client configuration for `config` (HTTP/1.1 only: WebSockets upgrade from it).
pub(crate) fn rustls_config(config: &ClientConfig) -> Result<Arc<rustls::ClientConfig>> {
    if config.danger_accept_invalid_certs {
        return Err(Error::config(
            "terminals do not support skipping certificate verification: add the server's CA with root_certificates_pem instead",
        ));
    }
    let mut roots = rustls::RootCertStore::empty();
    if !config.only_listed_roots {
        roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
    }
    for pem in &config.root_certificates_pem {
        let certs = CertificateDer::pem_slice_iter(pem)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::config(format!("invalid PEM root certificate: {e}")))?;
        if certs.is_empty() {
            return Err(Error::config("root certificate PEM holds no CERTIFICATE block"));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| Error::config(format!("unusable root certificate: {e}")))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(format!("TLS setup failed: {e}")))?
        .with_root_certificates(roots);
    let tls = match &config.client_identity {
        Some(identity) => {
            let chain = CertificateDer::pem_slice_iter(&identity.certificate_pem)
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| Error::config(format!("invalid client certificate PEM: {e}")))?;
            let key = PrivateKeyDer::from_pem_slice(&identity.private_key_pem)
                .map_err(|e| Error::config(format!("invalid client key PEM: {e}")))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| Error::config(format!("unusable client certificate: {e}")))?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(tls))
}

/// The server name to verify for `host` (a DNS name or an IP address, brackets removed).
pub(crate) fn server_name(host: &str) -> Result<ServerName<'static>> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_owned()).map_err(|e| Error::config(format!("invalid TLS server name {host:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::endpoint;

    #[test]
    fn endpoints() {
        let e = endpoint("wss://at.example/prefix/ws/terminal/a?namespace=n").unwrap();
        assert!(e.secure);
        assert_eq!(
            (e.host.as_str(), e.address.as_str(), e.path.as_str()),
            ("at.example", "at.example:443", "/prefix/ws/terminal/a")
        );
        let e = endpoint("ws://[::1]:8080/ws/terminal/a").unwrap();
        assert_eq!((e.host.as_str(), e.address.as_str()), ("[::1]", "[::1]:8080"));
        assert_eq!(endpoint("ws://[::1]/x").unwrap().address, "[::1]:80");
        assert!(endpoint("http://h/x").is_err());
        assert!(endpoint("ws://h:99999/x").is_err());
        assert!(endpoint("ws:///x").is_err());
    }
}
