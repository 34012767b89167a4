//! WebSocket glue of the blocking flavour (tungstenite, rustls for `wss://`): what the shared
//! terminal code calls,
//! under the same names as the async flavour's (`Transport::open_websocket`, `WsReader::recv`,
//! `WsWriter::send`, `WsWriter::close`).
//!
//! One socket serves a reader and a writer on different threads: both share it behind a mutex.
//! After the handshake the socket is non-blocking, and nobody holds the mutex while waiting: the
//! reader takes it for one read, which returns at once when no message is complete, then waits
//! for bytes with `poll` without it; a writer whose bytes do not fit the kernel's buffer waits
//! the same way. So typing never waits for output to arrive, nor output for typing. Pings from
//! the server are answered by tungstenite on the next read.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use agenttier_core::{Error, Result, TimeoutKind, response};
use rustix::event::{PollFd, PollFlags, Timespec};
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

use agenttier_core::proxy::Tunnel;

use crate::client::wire::{self, websocket_failure};
use crate::transport::Transport;

/// How long a closing handshake may wait for the kernel to take its bytes.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// What the socket runs over: TCP, or TLS over TCP.
trait Io: Read + Write + Send {}
impl<T: Read + Write + Send> Io for T {}

type Socket = WebSocket<Box<dyn Io>>;

struct Shared {
    socket: Mutex<Socket>,
    /// The TCP connection under the WebSocket (and TLS), waited on without the mutex.
    tcp: TcpStream,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Socket> {
        self.socket.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The receiving half of a WebSocket.
pub(crate) struct WsReader {
    shared: Arc<Shared>,
    idle_timeout: Duration,
    path: String,
}

/// The sending half of a WebSocket.
pub(crate) struct WsWriter {
    shared: Arc<Shared>,
    /// How long a send may wait for the kernel to take its bytes (the client's request timeout).
    timeout: Duration,
    path: String,
}

/// The TLS configuration of `wss://`: the client's own (same roots, client certificate and
/// provider as its HTTP calls).
#[cfg(feature = "rustls")]
fn wss_config(config: &agenttier_core::ClientConfig) -> Result<WssConfig> {
    crate::client::tls::rustls_config(config).map(Arc::new)
}

#[cfg(feature = "rustls")]
type WssConfig = Arc<rustls::ClientConfig>;

/// TLS over `tcp` for `wss://`.
#[cfg(feature = "rustls")]
fn wss_stream(tls: WssConfig, host: &str, tcp: TcpStream, path: &str) -> Result<Box<dyn Io>> {
    let name = crate::client::tls::server_name(host)?;
    let conn = rustls::ClientConnection::new(tls, name)
        .map_err(|e| websocket_failure(path, format!("TLS setup failed: {e}"), Some(Box::new(e))))?;
    Ok(Box::new(rustls::StreamOwned::new(conn, tcp)))
}

#[cfg(not(feature = "rustls"))]
type WssConfig = std::convert::Infallible;

#[cfg(not(feature = "rustls"))]
fn wss_config(_: &agenttier_core::ClientConfig) -> Result<WssConfig> {
    Err(Error::config(
        "terminals over wss:// need the `rustls` feature of the agenttier crate",
    ))
}

#[cfg(not(feature = "rustls"))]
fn wss_stream(tls: WssConfig, _: &str, _: TcpStream, _: &str) -> Result<Box<dyn Io>> {
    match tls {}
}

impl Transport {
    /// Opens a WebSocket to `url` (`ws://` or `wss://`), sending the client's credentials and
    /// user agent. A refused upgrade becomes the typed error of its status.
    pub(crate) fn open_websocket(&self, url: &str) -> Result<(WsReader, WsWriter)> {
        let config = self.config();
        let endpoint = crate::client::endpoint::endpoint(url)?;
        let path = endpoint.path.clone();
        let tls = match endpoint.secure {
            true => Some(wss_config(config)?),
            false => None,
        };
        let mut request = url
            .into_client_request()
            .map_err(|e| Error::invalid_input(format!("cannot build the terminal request: {e}")))?;
        if let Some((name, value)) = config.auth.header()? {
            request.headers_mut().insert(name, value);
        }
        if let Ok(agent) = config.user_agent.parse() {
            request.headers_mut().insert(http::header::USER_AGENT, agent);
        }
        let tunnel = wire::tunnel_for(config, &endpoint.host, endpoint.secure)?;
        let first_hop = tunnel.as_ref().map_or(&endpoint.address, |t| &t.address);
        let mut tcp = connect(first_hop, config.connect_timeout, &path)?;
        let _ = tcp.set_nodelay(true);
        let io_failure = |e: std::io::Error| websocket_failure(&path, e.to_string(), Some(Box::new(e)));
        tcp.set_read_timeout(Some(config.timeout)).map_err(io_failure)?;
        if let Some(tunnel) = &tunnel {
            open_tunnel(&mut tcp, tunnel, &endpoint.address, &path)?;
        }
        // A second handle on the same socket, to wait on it and make it non-blocking after the
        // handshake.
        let control = tcp.try_clone().map_err(io_failure)?;
        let stream: Box<dyn Io> = match tls {
            Some(tls) => wss_stream(tls, &endpoint.host, tcp, &path)?,
            None => Box::new(tcp),
        };
        let socket = match tungstenite::client(request, stream) {
            Ok((socket, _)) => socket,
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
                let body = resp.body().clone().unwrap_or_default();
                return Err(response::error_from(resp.status().as_u16(), resp.headers(), &body, 1));
            }
            Err(e) => {
                return Err(websocket_failure(
                    &path,
                    format!("WebSocket handshake failed: {e}"),
                    None,
                ));
            }
        };
        control.set_nonblocking(true).map_err(io_failure)?;
        let shared = Arc::new(Shared {
            socket: Mutex::new(socket),
            tcp: control,
        });
        Ok((
            WsReader {
                shared: shared.clone(),
                idle_timeout: config.stream_idle_timeout,
                path: path.clone(),
            },
            WsWriter {
                shared,
                timeout: config.timeout,
                path,
            },
        ))
    }
}

/// Asks the proxy at the other end of `tcp` for a tunnel to `target` (`host:port`).
fn open_tunnel(tcp: &mut TcpStream, tunnel: &Tunnel, target: &str, path: &str) -> Result<()> {
    let io_failure = |e: std::io::Error| {
        let message = format!("proxy {}: {e}", tunnel.address);
        websocket_failure(path, message, Some(Box::new(e)))
    };
    tcp.write_all(&tunnel.connect_request(target)).map_err(io_failure)?;
    // Byte by byte: nothing of the tunnel's own traffic may be taken for the proxy's answer.
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !wire::tunnel_answer(&head, tunnel, path)? {
        match tcp.read(&mut byte).map_err(io_failure)? {
            0 => return Err(io_failure(ErrorKind::UnexpectedEof.into())),
            _ => head.push(byte[0]),
        }
    }
    Ok(())
}

/// Connects to the first address of `address` that answers within `timeout`.
fn connect(address: &str, timeout: Duration, path: &str) -> Result<TcpStream> {
    let addrs: Vec<_> = address
        .to_socket_addrs()
        .map_err(|e| websocket_failure(path, format!("cannot resolve {address}: {e}"), Some(Box::new(e))))?
        .collect();
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e) if e.kind() == ErrorKind::TimedOut => Err(Error::Timeout {
            kind: TimeoutKind::Connect,
            after: timeout,
            method: "GET".into(),
            path: path.to_owned(),
        }),
        Some(e) => Err(websocket_failure(
            path,
            format!("cannot connect to {address}: {e}"),
            Some(Box::new(e)),
        )),
        None => Err(websocket_failure(path, format!("{address} has no address"), None)),
    }
}

/// Waits until `tcp` is ready for `what` (or has an error or hung up), at most `timeout`;
/// `false` when the time ran out. A signal only ends the wait early.
fn wait_for(tcp: &TcpStream, what: PollFlags, timeout: Duration) -> std::io::Result<bool> {
    let mut fds = [PollFd::new(tcp, what)];
    let limit = Timespec::try_from(timeout).unwrap_or(Timespec {
        tv_sec: i64::MAX,
        tv_nsec: 0,
    });
    match rustix::event::poll(&mut fds, Some(&limit)) {
        Ok(n) => Ok(n > 0),
        Err(rustix::io::Errno::INTR) => Ok(true),
        Err(e) => Err(e.into()),
    }
}

fn would_block(e: &tungstenite::Error) -> bool {
    matches!(e, tungstenite::Error::Io(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted))
}

impl WsReader {
    /// The next text message; `None` once the connection closed.
    pub(crate) fn recv(&mut self) -> Option<Result<String>> {
        let started = Instant::now();
        loop {
            let read = self.shared.lock().read();
            match read {
                Ok(Message::Text(text)) => return Some(Ok(text.as_str().to_owned())),
                Ok(Message::Close(_)) => return None,
                Ok(_) => {}
                // No complete message yet (or a signal cut the read short): wait for bytes
                // without holding the socket.
                Err(e) if would_block(&e) => {
                    let left = self.idle_timeout.saturating_sub(started.elapsed());
                    let waited = wait_for(&self.shared.tcp, PollFlags::IN, left);
                    if let Err(e) = waited {
                        return Some(Err(websocket_failure(
                            &self.path,
                            format!("the terminal connection broke: {e}"),
                            Some(Box::new(e)),
                        )));
                    }
                    if left.is_zero() || waited.is_ok_and(|ready| !ready) {
                        return Some(Err(Error::Timeout {
                            kind: TimeoutKind::Idle,
                            after: self.idle_timeout,
                            method: "GET".into(),
                            path: self.path.clone(),
                        }));
                    }
                }
                Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed) => return None,
                Err(e) => {
                    return Some(Err(websocket_failure(
                        &self.path,
                        format!("the terminal connection broke: {e}"),
                        Some(Box::new(e)),
                    )));
                }
            }
        }
    }
}

impl WsWriter {
    /// Sends one text message.
    pub(crate) fn send(&mut self, text: String) -> Result<()> {
        let sent = self.shared.lock().send(Message::text(text));
        self.finish(sent, self.timeout).map_err(|e| {
            websocket_failure(
                &self.path,
                format!("sending to the terminal failed: {e}"),
                Some(Box::new(e)),
            )
        })
    }

    /// Flushes what a send or close left queued (the kernel's buffer was full, or a signal cut
    /// the write short), waiting for room without holding the socket, at most `timeout` in all.
    fn finish(&self, mut sent: tungstenite::Result<()>, timeout: Duration) -> tungstenite::Result<()> {
        let deadline = Instant::now() + timeout;
        while sent.as_ref().is_err_and(would_block) {
            let left = deadline.saturating_duration_since(Instant::now());
            if !wait_for(&self.shared.tcp, PollFlags::OUT, left)? {
                return Err(tungstenite::Error::Io(ErrorKind::TimedOut.into()));
            }
            sent = self.shared.lock().flush();
        }
        sent
    }

    /// Starts the closing handshake (best effort: the session ends either way).
    pub(crate) fn close(&mut self) {
        let started = self.shared.lock().close(None);
        let _ = self.finish(started, CLOSE_WAIT);
    }
}
