//! A local router, an MCP server over the async SDK client, and rmcp clients connected to it
//! over either transport, recording the progress notifications they receive.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use agenttier::Client;
use agenttier_mcp::{AgentTierServer, HttpAccess, serve_http};
use agenttier_router::{LocalRouter, RouterOptions};
use rmcp::model::{CallToolRequestParams, CallToolResult, ContentBlock, ProgressNotificationParam};
use rmcp::service::{NotificationContext, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::{ClientHandler, RoleClient, ServiceExt};
use serde_json::Value;
use tokio::sync::oneshot;

/// The two transports every scenario runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Newline-delimited JSON-RPC over a byte pipe: the stdio transport's codec, in process.
    Stdio,
    /// Streamable HTTP on 127.0.0.1.
    Http,
}

/// A client handler that records progress notifications.
#[derive(Clone, Default)]
pub struct Recorder {
    pub progress: Arc<Mutex<Vec<ProgressNotificationParam>>>,
}

impl ClientHandler for Recorder {
    async fn on_progress(&self, params: ProgressNotificationParam, _context: NotificationContext<RoleClient>) {
        self.progress.lock().unwrap().push(params);
    }
}

/// A running router and the means to talk to it.
pub struct Fixture {
    pub router: LocalRouter,
}

impl Fixture {
    pub fn start() -> Fixture {
        Fixture {
            router: LocalRouter::start(RouterOptions::default()).expect("router starts"),
        }
    }

    /// An SDK client with `key`.
    pub fn sdk(&self, key: &str) -> Client {
        Client::builder()
            .base_url(self.router.url())
            .api_key(key)
            .unwrap()
            .build()
            .unwrap()
    }

    /// An MCP server acting as the router's admin.
    pub fn admin_server(&self) -> AgentTierServer {
        AgentTierServer::new(self.sdk(self.router.admin_key()))
    }
}

/// An MCP client connected to a server.
pub struct Connection {
    pub client: RunningService<RoleClient, Recorder>,
    pub recorder: Recorder,
    stop_http: Option<oneshot::Sender<()>>,
}

impl Connection {
    /// Connects a fresh client to `server` over `via`.
    pub async fn open(server: AgentTierServer, via: Via) -> Connection {
        let recorder = Recorder::default();
        match via {
            Via::Stdio => {
                let (server_end, client_end) = tokio::io::duplex(1 << 20);
                tokio::spawn(async move {
                    if let Ok(running) = server.serve(server_end).await {
                        let _ = running.waiting().await;
                    }
                });
                let client = recorder.clone().serve(client_end).await.expect("client initializes");
                Connection {
                    client,
                    recorder,
                    stop_http: None,
                }
            }
            Via::Http => {
                let (addr, stop) = start_http(server, HttpAccess::new(([127, 0, 0, 1], 0).into())).await;
                let transport = StreamableHttpClientTransport::from_uri(format!("http://{addr}/mcp"));
                let client = recorder.clone().serve(transport).await.expect("client initializes");
                Connection {
                    client,
                    recorder,
                    stop_http: Some(stop),
                }
            }
        }
    }

    /// Calls a tool; a protocol-level failure fails the test (tools answer with results).
    pub async fn call(&self, name: &str, args: Value) -> CallToolResult {
        let Value::Object(args) = args else {
            panic!("arguments must be an object")
        };
        self.client
            .call_tool(CallToolRequestParams::new(name.to_owned()).with_arguments(args))
            .await
            .unwrap_or_else(|e| panic!("{name}: protocol error instead of a tool result: {e}"))
    }

    /// Calls a tool that must succeed and returns its JSON.
    pub async fn ok(&self, name: &str, args: Value) -> Value {
        let result = self.call(name, args.clone()).await;
        let body = json_of(&result);
        assert_eq!(result.is_error, Some(false), "{name}({args}) failed: {body}");
        body
    }

    /// Calls a tool that must fail with error class `class` and returns the error JSON.
    pub async fn err(&self, name: &str, args: Value, class: &str) -> Value {
        let result = self.call(name, args.clone()).await;
        let body = json_of(&result);
        assert_eq!(result.is_error, Some(true), "{name}({args}) should fail: {body}");
        assert_eq!(body["error"], class, "{name}({args}): {body}");
        assert!(!body["message"].as_str().unwrap_or_default().is_empty(), "{body}");
        assert!(!body["hint"].as_str().unwrap_or_default().is_empty(), "{body}");
        assert_eq!(result.structured_content.as_ref(), Some(&body));
        body
    }

    /// Progress notifications received so far.
    pub fn progress(&self) -> Vec<ProgressNotificationParam> {
        self.recorder.progress.lock().unwrap().clone()
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some(stop) = self.stop_http.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves `server` over HTTP on an ephemeral loopback port.
pub async fn start_http(server: AgentTierServer, mut access: HttpAccess) -> (SocketAddr, oneshot::Sender<()>) {
    install_crypto_provider();
    let listener = tokio::net::TcpListener::bind(access.listen).await.unwrap();
    let addr = listener.local_addr().unwrap();
    access.listen = addr;
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        serve_http(server, listener, &access, shutdown)
            .await
            .expect("HTTP server runs");
    });
    (addr, stop)
}

/// The JSON text of a tool result.
pub fn json_of(result: &CallToolResult) -> Value {
    let text = result
        .content
        .iter()
        .find_map(|c| match c {
            ContentBlock::Text(t) => Some(t.text.clone()),
            _ => None,
        })
        .expect("a text content block");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("tool result is not JSON ({e}): {text}"))
}

/// The HTTP clients of these tests (rmcp's, plain reqwest) are built outside the SDK, and reqwest
/// comes without a crypto provider of its own (the SDK's is ring, passed to its own clients):
/// install ring as the process default first, as reqwest's documentation asks.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
