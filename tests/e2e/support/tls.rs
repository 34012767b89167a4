//! A loopback TLS front for a plain-HTTP server: it terminates TLS with a certificate from a
//! private test CA (`tests/kruise/pki`, committed; `make-pki.sh` regenerates it) and pipes the
//! bytes to the server behind it, so that the real Router can be reached as `https://`, the way
//! a Router behind a corporate or internal CA is.
//!
//! Shared by the e2e suite and the CLI's tests (included there with `#[path]`).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The test CA's certificate (PEM): trusting it makes the front's certificate valid.
pub const CA_PEM: &[u8] = include_bytes!("../../kruise/pki/ca.crt");
const SERVER_CERT_PEM: &[u8] = include_bytes!("../../kruise/pki/server.crt");
const SERVER_KEY_PEM: &[u8] = include_bytes!("../../kruise/pki/server.key");

/// A TLS front listening on 127.0.0.1, serving until the process ends.
pub struct TlsFront {
    addr: SocketAddr,
}

impl TlsFront {
    /// Terminates TLS on a new port and forwards every connection to `backend` (`http://host:port`).
    pub fn start(backend: &str) -> TlsFront {
        let backend = backend.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let config = Arc::new(server_config());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let config = config.clone();
                let backend = backend.clone();
                thread::spawn(move || serve(stream, config, &backend));
            }
        });
        TlsFront { addr }
    }

    /// `https://127.0.0.1:<port>`, the name the certificate is valid for.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

fn server_config() -> rustls::ServerConfig {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(SERVER_CERT_PEM)
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY_PEM).unwrap();
    rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap()
}

/// One connection: the handshake, then bytes both ways until either side closes. A client that
/// refuses the certificate just ends the handshake, which ends this thread.
fn serve(stream: TcpStream, config: Arc<rustls::ServerConfig>, backend: &str) {
    let Ok(conn) = rustls::ServerConnection::new(config) else {
        return;
    };
    let mut tls = rustls::StreamOwned::new(conn, stream);
    let Ok(mut upstream) = TcpStream::connect(backend) else {
        return;
    };
    // rustls streams cannot be split across threads, so one thread polls both directions.
    tls.sock
        .set_read_timeout(Some(std::time::Duration::from_millis(5)))
        .unwrap();
    upstream
        .set_read_timeout(Some(std::time::Duration::from_millis(5)))
        .unwrap();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                if upstream.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(e) if would_block(&e) => {}
            Err(_) => return,
        }
        match upstream.read(&mut buf) {
            Ok(0) => {
                tls.conn.send_close_notify();
                let _ = tls.flush();
                return;
            }
            Ok(n) => {
                if tls.write_all(&buf[..n]).and_then(|_| tls.flush()).is_err() {
                    return;
                }
            }
            Err(e) if would_block(&e) => {}
            Err(_) => return,
        }
    }
}

fn would_block(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
}
