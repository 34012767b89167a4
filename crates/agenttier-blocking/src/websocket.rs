//! WebSocket glue of the blocking flavour (tungstenite): what the shared terminal code calls,
//! under the same names as the async flavour's (`Transport::open_websocket`, `WsReader::recv`,
//! `WsWriter::send`, `WsWriter::close`).
//!
//! One socket serves a reader and a writer on different threads: both share it behind a mutex.
//! The reader holds it only while reading, with a short read timeout ([`POLL`]), and steps aside
//! whenever a writer is waiting; so typing never waits for output to arrive. Pings from the
//! server are answered by tungstenite on the next read.

use std::io::ErrorKind;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use agenttier_core::{Error, Result, TimeoutKind, response};
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

use crate::transport::Transport;

/// How long the reader holds the socket waiting for a message before letting a writer in.
const POLL: Duration = Duration::from_millis(10);

struct Shared {
    socket: Mutex<WebSocket<TcpStream>>,
    /// Writers waiting for the socket.
    writers: AtomicUsize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, WebSocket<TcpStream>> {
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
    path: String,
}

fn failure(path: &str, message: String, source: Option<Box<dyn std::error::Error + Send + Sync>>) -> Error {
    Error::Transport {
        method: "GET".into(),
        path: path.to_owned(),
        message,
        attempts: 1,
        source,
    }
}

impl Transport {
    /// Opens a WebSocket to `url` (`ws://` only for now), sending the client's credentials and
    /// user agent. A refused upgrade becomes the typed error of its status.
    pub(crate) fn open_websocket(&self, url: &str) -> Result<(WsReader, WsWriter)> {
        let config = self.config();
        let path = url.split_once("://").map_or(url, |(_, r)| r);
        let path = path.find('/').map_or("/", |i| &path[i..]);
        let path = path.split('?').next().unwrap_or(path).to_owned();
        let Some(rest) = url.strip_prefix("ws://") else {
            return Err(Error::config(
                "terminals over https:// (wss://) are not supported by this client yet: reach the router over http:// (e.g. through a tunnel)",
            ));
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
        let authority = rest.split('/').next().unwrap_or(rest);
        let with_port = if authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        let addrs: Vec<_> = with_port
            .to_socket_addrs()
            .map_err(|e| failure(&path, format!("cannot resolve {authority}: {e}"), Some(Box::new(e))))?
            .collect();
        let mut last = None;
        let mut stream = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, config.connect_timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = Some(e),
            }
        }
        let stream = match (stream, last) {
            (Some(s), _) => s,
            (None, Some(e)) if e.kind() == ErrorKind::TimedOut => {
                return Err(Error::Timeout {
                    kind: TimeoutKind::Connect,
                    after: config.connect_timeout,
                    method: "GET".into(),
                    path,
                });
            }
            (None, e) => {
                let message = e.as_ref().map_or("no address".to_owned(), ToString::to_string);
                return Err(failure(
                    &path,
                    format!("cannot connect to {authority}: {message}"),
                    None,
                ));
            }
        };
        let _ = stream.set_nodelay(true);
        stream
            .set_read_timeout(Some(config.timeout))
            .map_err(|e| failure(&path, e.to_string(), Some(Box::new(e))))?;
        let socket = match tungstenite::client(request, stream) {
            Ok((socket, _)) => socket,
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(resp))) => {
                let body = resp.body().clone().unwrap_or_default();
                return Err(response::error_from(resp.status().as_u16(), resp.headers(), &body, 1));
            }
            Err(e) => return Err(failure(&path, format!("WebSocket handshake failed: {e}"), None)),
        };
        socket
            .get_ref()
            .set_read_timeout(Some(POLL))
            .map_err(|e| failure(&path, e.to_string(), Some(Box::new(e))))?;
        let shared = Arc::new(Shared {
            socket: Mutex::new(socket),
            writers: AtomicUsize::new(0),
        });
        Ok((
            WsReader {
                shared: shared.clone(),
                idle_timeout: config.stream_idle_timeout,
                path: path.clone(),
            },
            WsWriter { shared, path },
        ))
    }
}

impl WsReader {
    /// The next text message; `None` once the connection closed.
    pub(crate) fn recv(&mut self) -> Option<Result<String>> {
        let started = Instant::now();
        loop {
            while self.shared.writers.load(Ordering::Acquire) > 0 {
                std::thread::yield_now();
            }
            let read = self.shared.lock().read();
            match read {
                Ok(Message::Text(text)) => return Some(Ok(text.as_str().to_owned())),
                Ok(Message::Close(_)) => return None,
                Ok(_) => {}
                Err(tungstenite::Error::Io(e)) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    if started.elapsed() >= self.idle_timeout {
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
                    return Some(Err(failure(
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
        self.shared.writers.fetch_add(1, Ordering::AcqRel);
        let sent = self.shared.lock().send(Message::text(text));
        self.shared.writers.fetch_sub(1, Ordering::AcqRel);
        sent.map_err(|e| {
            failure(
                &self.path,
                format!("sending to the terminal failed: {e}"),
                Some(Box::new(e)),
            )
        })
    }

    /// Starts the closing handshake (best effort: the session ends either way).
    pub(crate) fn close(&mut self) {
        self.shared.writers.fetch_add(1, Ordering::AcqRel);
        let mut socket = self.shared.lock();
        let _ = socket.close(None);
        let _ = socket.flush();
        self.shared.writers.fetch_sub(1, Ordering::AcqRel);
    }
}
