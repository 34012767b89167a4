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

/// The client key as a PKCS#8 PEM document, the only form native-tls takes: RSA (PKCS#1) and
/// EC (SEC1) keys, as `openssl` and kubeconfigs often hold them, are wrapped in a PKCS#8 envelope.
#[cfg(feature = "native-tls")]
pub(crate) fn pkcs8_pem(pem: &[u8]) -> Result<String> {
    use base64::Engine as _;

    let der = pkcs8_der(pem)?;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::from("-----BEGIN PRIVATE KEY-----\n");
    for line in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(line));
        out.push('\n');
    }
    out.push_str("-----END PRIVATE KEY-----\n");
    Ok(out)
}

#[cfg(feature = "native-tls")]
fn pkcs8_der(pem: &[u8]) -> Result<Vec<u8>> {
    use rustls_pki_types::PrivateKeyDer;

    let invalid = |why: &str| Error::config(format!("invalid client key PEM: {why}"));
    let key = PrivateKeyDer::from_pem_slice(pem).map_err(|e| invalid(&e.to_string()))?;
    match key {
        PrivateKeyDer::Pkcs8(der) => Ok(der.secret_pkcs8_der().to_vec()),
        PrivateKeyDer::Pkcs1(der) => Ok(der::pkcs8(der::RSA_ALGORITHM, der.secret_pkcs1_der())),
        PrivateKeyDer::Sec1(der) => {
            let sec1 = der.secret_sec1_der();
            let curve = der::sec1_curve(sec1).ok_or_else(|| invalid("the EC key does not name its curve"))?;
            let algorithm = der::tlv(0x30, &[der::EC_PUBLIC_KEY_OID, curve].concat());
            Ok(der::pkcs8(&algorithm, sec1))
        }
        _ => Err(invalid("unsupported key type")),
    }
}

/// The few DER structures [`pkcs8_pem`] writes and reads (ITU-T X.690).
#[cfg(feature = "native-tls")]
mod der {
    /// AlgorithmIdentifier of RSA keys: rsaEncryption (1.2.840.113549.1.1.1), NULL parameters.
    pub(super) const RSA_ALGORITHM: &[u8] = &[
        0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    /// The OID id-ecPublicKey (1.2.840.10045.2.1), tag and length included.
    pub(super) const EC_PUBLIC_KEY_OID: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

    /// A tag-length-value with a definite length.
    pub(super) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }

    /// PrivateKeyInfo (RFC 5208): version 0, the algorithm, the key in an OCTET STRING.
    pub(super) fn pkcs8(algorithm: &[u8], key: &[u8]) -> Vec<u8> {
        tlv(0x30, &[&[0x02, 0x01, 0x00][..], algorithm, &tlv(0x04, key)].concat())
    }

    /// Splits one TLV off `input`: (tag, content, rest); `None` on anything malformed.
    fn next(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > std::mem::size_of::<usize>() || rest.len() < n {
                return None;
            }
            let (bytes, rest) = rest.split_at(n);
            (bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b)), rest)
        };
        (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
    }

    /// The curve OID (tag and length included) in the `[0]` parameters of an ECPrivateKey
    /// (RFC 5915): `SEQUENCE { version, privateKey, [0] parameters OPTIONAL, [1] publicKey OPTIONAL }`.
    pub(super) fn sec1_curve(sec1: &[u8]) -> Option<&[u8]> {
        let (0x30, mut fields, _) = next(sec1)? else {
            return None;
        };
        while !fields.is_empty() {
            let (tag, content, rest) = next(fields)?;
            if tag == 0xa0 {
                let (0x06, _, after) = next(content)? else {
                    return None;
                };
                return Some(&content[..content.len() - after.len()]);
            }
            fields = rest;
        }
        None
    }
}
