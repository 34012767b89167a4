//! One TLS policy for both flavours and every connection a client makes (HTTP requests, and
//! WebSocket connections through [`rustls_config`]): which roots are trusted, the client
//! certificate, and with rustls the one crypto provider, ring.
//!
//! Roots: the operating system's store by default ([`BuiltInRoots::Os`], read with
//! `rustls-native-certs`, which honours `SSL_CERT_FILE` and `SSL_CERT_DIR`), or the compiled-in
//! Mozilla bundle ([`BuiltInRoots::WebPki`], feature `webpki-roots`), plus the extra PEM roots
//! of the configuration; or only those extra roots (`only_listed_roots`, a cluster's own CA).
//! Roots are read only when the client will speak TLS (an `https` base URL or proxy), so a
//! client of a local `http` Router never touches the certificate store.

use agenttier_core::{BuiltInRoots, ClientConfig, Error, Result};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// The trust anchors of a configuration.
pub(crate) enum Anchors {
    /// The operating system's roots, plus these extra ones.
    Os(Vec<CertificateDer<'static>>),
    /// Exactly these roots.
    Exactly(Vec<CertificateDer<'static>>),
}

impl Anchors {
    /// The anchors `config` asks for (the extra PEM roots parsed, the OS store not read yet).
    pub(crate) fn of(config: &ClientConfig) -> Result<Anchors> {
        let mut extra = Vec::new();
        for pem in &config.root_certificates_pem {
            extra.extend(certificates(pem, "root certificate")?);
        }
        if config.only_listed_roots {
            return Ok(Anchors::Exactly(extra));
        }
        match config.built_in_roots {
            BuiltInRoots::WebPki => webpki_bundle(extra),
            _ => Ok(Anchors::Os(extra)),
        }
    }

    /// Every root, the OS store read now.
    pub(crate) fn resolve(self) -> Result<Vec<CertificateDer<'static>>> {
        match self {
            Anchors::Exactly(roots) => Ok(roots),
            Anchors::Os(extra) => {
                let mut roots = os_roots()?;
                roots.extend(extra);
                Ok(roots)
            }
        }
    }
}

#[cfg(feature = "webpki-roots")]
fn webpki_bundle(extra: Vec<CertificateDer<'static>>) -> Result<Anchors> {
    let mut roots: Vec<CertificateDer<'static>> = webpki_root_certs::TLS_SERVER_ROOT_CERTS.to_vec();
    roots.extend(extra);
    Ok(Anchors::Exactly(roots))
}

#[cfg(not(feature = "webpki-roots"))]
fn webpki_bundle(_: Vec<CertificateDer<'static>>) -> Result<Anchors> {
    Err(Error::config(
        "BuiltInRoots::WebPki needs the `webpki-roots` feature of the agenttier crate",
    ))
}

/// The operating system's roots. An empty store is an error, since no server could be trusted.
fn os_roots() -> Result<Vec<CertificateDer<'static>>> {
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        let why = match found.errors.first() {
            Some(e) => format!(": {e}"),
            None => String::new(),
        };
        return Err(Error::config(format!(
            "no trusted root certificates found in the operating system's store{why}. Install the CA \
             bundle (ca-certificates), point SSL_CERT_FILE or SSL_CERT_DIR at one, add the Router's CA \
             (ClientBuilder::add_root_certificates_file, agenttier --cacert), or enable the \
             `webpki-roots` feature"
        )));
    }
    Ok(found.certs)
}

/// The certificates of a PEM document; an error when it holds none.
pub(crate) fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::config(format!("invalid PEM {what}: {e}")))?;
    if certs.is_empty() {
        return Err(Error::config(format!("{what} PEM holds no CERTIFICATE block")));
    }
    Ok(certs)
}

/// The crypto provider of every rustls connection: ring (see the README's TLS notes for why).
#[cfg(feature = "rustls")]
pub(crate) fn crypto_provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}

/// The rustls configuration a client's TLS connections use: its roots (or no verification at
/// all with `danger_accept_invalid_certs`), its client certificate, the ring provider. For any
/// TLS connection to the client's server, WebSockets included, so that they all trust the same.
#[cfg(feature = "rustls")]
pub(crate) fn rustls_config(config: &ClientConfig) -> Result<rustls::ClientConfig> {
    let builder = rustls::ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config(format!("TLS setup failed: {e}")))?;
    let builder = if config.danger_accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(std::sync::Arc::new(danger::AcceptAnyCertificate(crypto_provider())))
    } else {
        let mut store = rustls::RootCertStore::empty();
        if config.uses_tls() {
            let (_, ignored) = store.add_parsable_certificates(Anchors::of(config)?.resolve()?);
            if store.is_empty() {
                return Err(Error::config(format!(
                    "none of the {ignored} trusted root certificates could be used"
                )));
            }
        }
        builder.with_root_certificates(store)
    };
    match &config.client_identity {
        None => Ok(builder.with_no_client_auth()),
        Some(identity) => {
            let chain = certificates(&identity.certificate_pem, "client certificate")?;
            let key = rustls_pki_types::PrivateKeyDer::from_pem_slice(&identity.private_key_pem)
                .map_err(|e| Error::config(format!("invalid client key PEM: {e}")))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| Error::config(format!("unusable client certificate or key: {e}")))
        }
    }
}

/// The server name to verify for `host` (a DNS name or an IP address, brackets removed).
#[cfg(feature = "rustls")]
pub(crate) fn server_name(host: &str) -> Result<rustls_pki_types::ServerName<'static>> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    rustls_pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| Error::config(format!("invalid TLS server name {host:?}: {e}")))
}

/// `danger_accept_invalid_certs`: the server's certificate is not checked at all (the handshake
/// signatures still are, so the connection is encrypted, just not authenticated).
#[cfg(feature = "rustls")]
mod danger {
    use std::sync::Arc;

    use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
    use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
    use rustls::{DigitallySignedStruct, SignatureScheme};
    use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

    #[derive(Debug)]
    pub(super) struct AcceptAnyCertificate(pub(super) Arc<CryptoProvider>);

    impl ServerCertVerifier for AcceptAnyCertificate {
        fn verify_server_cert(
            &self,
            _: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            self.0.signature_verification_algorithms.supported_schemes()
        }
    }
}
