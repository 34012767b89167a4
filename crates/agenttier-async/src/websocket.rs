//! WebSocket glue of the async flavour (tokio-tungstenite, tokio-rustls for `wss://`): what the
//! shared terminal code calls,
//! under the same names as the blocking flavour's (`Transport::open_websocket`, `WsReader::recv`,
//! `WsWriter::send`, `WsWriter::close`).
//!
//! The socket is split into a stream and a sink, so one task can read while another writes;
//! pings from the server are answered by tungstenite as the reader reads.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use agenttier_core::{Error, Result, TimeoutKind, response};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

use agenttier_core::proxy::Tunnel;

use crate::client::wire::{self, websocket_failure};
use crate::transport::Transport;

/// What the socket runs over: TCP, or TLS over TCP.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

type Socket = WebSocketStream<Box<dyn Io>>;

/// The receiving half of a WebSocket.
pub(crate) struct WsReader {
    stream: SplitStream<Socket>,
    idle_timeout: Duration,
    idle: Pin<Box<tokio::time::Sleep>>,
    path: String,
}

/// The sending half of a WebSocket.
pub(crate) struct WsWriter {
    sink: SplitSink<Socket, Message>,
    path: String,
}

/// The TLS configuration of `wss://`: the client's own (same roots, client certificate and
/// provider as its HTTP calls).
#[cfg(feature = "rustls")]
fn wss_config(config: &agenttier_core::ClientConfig) -> Result<WssConfig> {
    crate::client::tls::rustls_config(config).map(std::sync::Arc::new)
}

#[cfg(feature = "rustls")]
type WssConfig = std::sync::Arc<rustls::ClientConfig>;

/// TLS over `tcp` for `wss://`, the handshake bounded by the connect timeout.
#[cfg(feature = "rustls")]
async fn wss_stream(tls: WssConfig, host: &str, tcp: TcpStream, path: &str, limit: Duration) -> Result<Box<dyn Io>> {
    let name = crate::client::tls::server_name(host)?;
    let connector = tokio_rustls::TlsConnector::from(tls);
    match tokio::time::timeout(limit, connector.connect(name, tcp)).await {
        Ok(Ok(s)) => Ok(Box::new(s)),
        Ok(Err(e)) => Err(websocket_failure(
            path,
            format!("TLS handshake with {host} failed: {e}"),
            Some(Box::new(e)),
        )),
        Err(_) => Err(Error::Timeout {
            kind: TimeoutKind::Connect,
            after: limit,
            method: "GET".into(),
            path: path.to_owned(),
        }),
    }
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
async fn wss_stream(tls: WssConfig, _: &str, _: TcpStream, _: &str, _: Duration) -> Result<Box<dyn Io>> {
    match tls {}
}

/// Asks the proxy at the other end of `tcp` for a tunnel to `target` (`host:port`).
async fn open_tunnel(tcp: &mut TcpStream, tunnel: &Tunnel, target: &str, path: &str) -> Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let io_failure = |e: std::io::Error| {
        let message = format!("proxy {}: {e}", tunnel.address);
        websocket_failure(path, message, Some(Box::new(e)))
    };
    tcp.write_all(&tunnel.connect_request(target))
        .await
        .map_err(io_failure)?;
    // Byte by byte: nothing of the tunnel's own traffic may be taken for the proxy's answer.
    let mut head = Vec::new();
    let mut byte = [0u8];
    while !wire::tunnel_answer(&head, tunnel, path)? {
        match tcp.read(&mut byte).await.map_err(io_failure)? {
            0 => return Err(io_failure(std::io::ErrorKind::UnexpectedEof.into())),
            _ => head.push(byte[0]),
        }
    }
    Ok(())
}

impl Transport {
    /// Opens a WebSocket to `url` (`ws://` or `wss://`), sending the client's credentials and
    /// user agent. A refused upgrade becomes the typed error of its status.
    pub(crate) async fn open_websocket(&self, url: &str) -> Result<(WsReader, WsWriter)> {
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
        let connect_timeout = |path: &str| Error::Timeout {
            kind: TimeoutKind::Connect,
            after: config.connect_timeout,
            method: "GET".into(),
            path: path.to_owned(),
        };
        let tunnel = wire::tunnel_for(config, &endpoint.host, endpoint.secure)?;
        let first_hop = tunnel.as_ref().map_or(&endpoint.address, |t| &t.address);
        let mut tcp = match tokio::time::timeout(config.connect_timeout, TcpStream::connect(first_hop.as_str())).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                let message = format!("cannot connect to {first_hop}: {e}");
                return Err(websocket_failure(&path, message, Some(Box::new(e))));
            }
            Err(_) => return Err(connect_timeout(&path)),
        };
        let _ = tcp.set_nodelay(true);
        if let Some(tunnel) = &tunnel {
            let opened = tokio::time::timeout(config.timeout, open_tunnel(&mut tcp, tunnel, &endpoint.address, &path));
            opened.await.map_err(|_| Error::Timeout {
                kind: TimeoutKind::Request,
                after: config.timeout,
                method: "GET".into(),
                path: path.clone(),
            })??;
        }
        let stream: Box<dyn Io> = match tls {
            Some(tls) => wss_stream(tls, &endpoint.host, tcp, &path, config.connect_timeout).await?,
            None => Box::new(tcp),
        };
        let handshake = tokio::time::timeout(config.timeout, tokio_tungstenite::client_async(request, stream)).await;
        let socket = match handshake {
            Ok(Ok((socket, _))) => socket,
            Ok(Err(tungstenite::Error::Http(resp))) => {
                let body = resp.body().clone().unwrap_or_default();
                return Err(response::error_from(resp.status().as_u16(), resp.headers(), &body, 1));
            }
            Ok(Err(e)) => {
                return Err(websocket_failure(
                    &path,
                    format!("WebSocket handshake failed: {e}"),
                    None,
                ));
            }
            Err(_) => {
                return Err(Error::Timeout {
                    kind: TimeoutKind::Request,
                    after: config.timeout,
                    method: "GET".into(),
                    path,
                });
            }
        };
        let (sink, stream) = socket.split();
        let idle_timeout = config.stream_idle_timeout;
        Ok((
            WsReader {
                stream,
                idle_timeout,
                idle: Box::pin(tokio::time::sleep(idle_timeout)),
                path: path.clone(),
            },
            WsWriter { sink, path },
        ))
    }
}

impl WsReader {
    /// The next text message; `None` once the connection closed.
    pub(crate) async fn recv(&mut self) -> Option<Result<String>> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next text message (the `Stream` impl of the terminal reader).
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<String>>> {
        loop {
            match self.stream.poll_next_unpin(cx) {
                Poll::Ready(Some(Ok(msg))) => {
                    let deadline = tokio::time::Instant::now() + self.idle_timeout;
                    self.idle.as_mut().reset(deadline);
                    match msg {
                        Message::Text(text) => return Poll::Ready(Some(Ok(text.as_str().to_owned()))),
                        Message::Close(_) => return Poll::Ready(None),
                        _ => continue,
                    }
                }
                Poll::Ready(Some(Err(tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed)))
                | Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => {
                    return Poll::Ready(Some(Err(websocket_failure(
                        &self.path,
                        format!("the terminal connection broke: {e}"),
                        Some(Box::new(e)),
                    ))));
                }
                Poll::Pending => {
                    if self.idle.as_mut().poll(cx).is_ready() {
                        return Poll::Ready(Some(Err(Error::Timeout {
                            kind: TimeoutKind::Idle,
                            after: self.idle_timeout,
                            method: "GET".into(),
                            path: self.path.clone(),
                        })));
                    }
                    return Poll::Pending;
                }
            }
        }
    }
}

impl WsWriter {
    /// Sends one text message.
    pub(crate) async fn send(&mut self, text: String) -> Result<()> {
        self.sink.send(Message::text(text)).await.map_err(|e| {
            websocket_failure(
                &self.path,
                format!("sending to the terminal failed: {e}"),
                Some(Box::new(e)),
            )
        })
    }

    /// Starts the closing handshake (best effort: the session ends either way).
    pub(crate) async fn close(&mut self) {
        let _ = self.sink.close().await;
    }
}
