//! Serving the MCP server: over stdio, or over Streamable HTTP at `/mcp`.
//!
//! The HTTP transport binds loopback by default. A non-loopback address needs an explicit
//! opt-in *and* a token that every request must present (`Authorization: Bearer <token>`):
//! the server acts with the platform credentials it was started with, so an open listener
//! would hand them to anyone who can reach it. On loopback, `Host` is checked too (against
//! DNS rebinding by web pages), and a token is honoured when one is configured. Requests from
//! browsers (any `Origin` header) are refused everywhere.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use agenttier::{Auth, Client, Secret};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::ServiceExt;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::server::AgentTierServer;

/// Where and how the platform is reached, and how MCP clients reach this server.
#[derive(Debug)]
#[non_exhaustive]
pub struct Options {
    /// The Router's base URL.
    pub api_url: String,
    /// The credentials every tool acts with.
    pub auth: Auth,
    /// How MCP clients connect.
    pub transport: Transport,
}

impl Options {
    /// Options for the Router at `api_url` with `auth`, served over `transport`.
    pub fn new(api_url: impl Into<String>, auth: Auth, transport: Transport) -> Self {
        Options {
            api_url: api_url.into(),
            auth,
            transport,
        }
    }
}

/// How MCP clients connect.
#[derive(Debug)]
#[non_exhaustive]
pub enum Transport {
    /// JSON-RPC over standard input and output (the client starts the server).
    Stdio,
    /// Streamable HTTP at `http://<listen>/mcp`.
    Http(HttpAccess),
}

/// Who may use the HTTP transport.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct HttpAccess {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// Allow a non-loopback `listen` address (it then also needs a `token`).
    pub allow_remote: bool,
    /// A token every request must present as `Authorization: Bearer <token>`.
    pub token: Option<Secret>,
}

impl HttpAccess {
    /// Loopback access on `listen`, without a token.
    pub fn new(listen: SocketAddr) -> Self {
        HttpAccess {
            listen,
            allow_remote: false,
            token: None,
        }
    }

    /// Requires `token` on every request.
    pub fn token(mut self, token: Secret) -> Self {
        self.token = Some(token);
        self
    }

    /// Allows a non-loopback address (a token is then mandatory).
    pub fn allow_remote(mut self, allow: bool) -> Self {
        self.allow_remote = allow;
        self
    }

    /// Refuses an unsafe combination before anything is bound.
    pub fn validate(&self) -> Result<(), ServeError> {
        if self.listen.ip().is_loopback() {
            return Ok(());
        }
        if !self.allow_remote {
            return Err(ServeError::Config(format!(
                "{} is not a loopback address: the MCP server acts with your AgentTier credentials, so it listens on \
                 loopback only unless you pass --allow-remote together with a token (--http-token or AGENTTIER_MCP_TOKEN)",
                self.listen
            )));
        }
        if self.token.as_ref().is_none_or(|t| t.expose().is_empty()) {
            return Err(ServeError::Config(format!(
                "listening on {} needs a token that clients must present: set AGENTTIER_MCP_TOKEN (or --http-token)",
                self.listen
            )));
        }
        Ok(())
    }
}

/// Why serving failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The configuration is unsafe or incomplete.
    #[error("{0}")]
    Config(String),
    /// The SDK client could not be built.
    #[error("{0}")]
    Client(#[from] agenttier::Error),
    /// Binding, reading or writing failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The MCP session failed to start.
    #[error("MCP session failed: {0}")]
    Session(String),
}

/// Builds the SDK client for `options` and serves until the client disconnects (stdio) or the
/// process is interrupted (HTTP). Blocking: it runs its own tokio runtime. Nothing is written to
/// stdout but MCP messages; logs go to stderr when `RUST_LOG` is set.
pub fn run(options: Options) -> Result<(), ServeError> {
    init_logging();
    if let Transport::Http(access) = &options.transport {
        access.validate()?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|source| ServeError::Io {
            context: "starting the async runtime".into(),
            source,
        })?;
    runtime.block_on(async move {
        let client = Client::builder()
            .base_url(options.api_url)
            .auth(options.auth)
            .user_agent(concat!("agenttier-mcp/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let server = AgentTierServer::new(client);
        match options.transport {
            Transport::Stdio => serve_stdio(server).await,
            Transport::Http(access) => {
                let listener = TcpListener::bind(access.listen)
                    .await
                    .map_err(|source| ServeError::Io {
                        context: format!("binding {}", access.listen),
                        source,
                    })?;
                let bound = listener.local_addr().unwrap_or(access.listen);
                eprintln!("agenttier mcp: serving Streamable HTTP at http://{bound}/mcp");
                let interrupted = async {
                    let _ = tokio::signal::ctrl_c().await;
                };
                serve_http(server, listener, &access, interrupted).await
            }
        }
    })
}

fn init_logging() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .try_init();
    }
}

/// Serves one MCP client over stdin/stdout until it disconnects.
pub async fn serve_stdio(server: AgentTierServer) -> Result<(), ServeError> {
    let running = server
        .serve(rmcp::transport::stdio_pipes())
        .await
        .map_err(|e| ServeError::Session(e.to_string()))?;
    running
        .waiting()
        .await
        .map_err(|e| ServeError::Session(e.to_string()))?;
    Ok(())
}

/// Serves Streamable HTTP at `/mcp` on `listener` until `shutdown` completes. `access` decides
/// the token check and whether `Host` must be a loopback name (call [`HttpAccess::validate`]
/// first; [`run`] does).
pub async fn serve_http(
    server: AgentTierServer,
    listener: TcpListener,
    access: &HttpAccess,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let stop = CancellationToken::new();
    // Browsers send `Origin` on every cross-site request and MCP clients send none: refusing
    // any request that carries one keeps web pages from driving the server.
    let mut config = StreamableHttpServerConfig::default()
        .with_cancellation_token(stop.child_token())
        .enforce_origin_validation();
    if access.allow_remote {
        // Clients name this host however they reach it; the token is the guard here.
        config = config.disable_allowed_hosts();
    }
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(LocalSessionManager::default()),
        config,
    );
    let mut app = axum::Router::new().nest_service("/mcp", service);
    if let Some(token) = access.token.clone().filter(|t| !t.expose().is_empty()) {
        app = app.layer(axum::middleware::from_fn_with_state(Arc::new(token), require_token));
    }
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            stop.cancel();
        })
        .await;
    result.map_err(|source| ServeError::Io {
        context: "serving HTTP".into(),
        source,
    })
}

/// Lets a request through only with `Authorization: Bearer <token>`.
async fn require_token(State(token): State<Arc<Secret>>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if same_bytes(presented.as_bytes(), token.expose().as_bytes()) {
        return next.run(request).await;
    }
    let mut response = (
        StatusCode::UNAUTHORIZED,
        "missing or wrong token: send Authorization: Bearer <the token the MCP server was started with>\n",
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Compares in time independent of where the first difference is.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_needs_opt_in_and_token() {
        let remote: SocketAddr = "0.0.0.0:8765".parse().unwrap();
        assert!(HttpAccess::new("127.0.0.1:8765".parse().unwrap()).validate().is_ok());
        assert!(HttpAccess::new(remote).validate().is_err());
        assert!(HttpAccess::new(remote).allow_remote(true).validate().is_err());
        assert!(
            HttpAccess::new(remote)
                .allow_remote(true)
                .token(Secret::new(String::new()))
                .validate()
                .is_err()
        );
        assert!(
            HttpAccess::new(remote)
                .allow_remote(true)
                .token(Secret::new("t0ken".to_owned()))
                .validate()
                .is_ok()
        );
        assert!(same_bytes(b"abc", b"abc") && !same_bytes(b"abc", b"abd") && !same_bytes(b"abc", b"ab"));
    }
}
