//! `agenttier mcp`: the Model Context Protocol server (crate `agenttier-mcp`), with the CLI's
//! configuration (flags, environment, config file, auth chain).

use std::net::SocketAddr;

use agenttier::Secret;
use agenttier_mcp::{HttpAccess, Options, ServeError, Transport};
use clap::Args;

use crate::cli::Global;
use crate::config;
use crate::exit::{Failure, OK, OTHER};
use crate::output::Out;

/// Flags of `agenttier mcp`.
#[derive(Debug, Args)]
pub struct McpArgs {
    /// Serve Streamable HTTP at http://ADDR/mcp instead of stdio, e.g. 127.0.0.1:8765
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
    /// Allow a non-loopback --http address (then a token is required)
    #[arg(long, requires = "http")]
    pub allow_remote: bool,
    /// Token HTTP clients must send as `Authorization: Bearer <token>` (prefer the environment variable)
    #[arg(
        long,
        env = "AGENTTIER_MCP_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        requires = "http"
    )]
    pub http_token: Option<String>,
}

/// Serves until the MCP client disconnects (stdio) or Ctrl-C (HTTP).
pub fn serve(global: &Global, args: McpArgs, out: Out) -> Result<i32, Failure> {
    // MCP messages are written to stdout by the transport itself: the CLI's lock on it must go.
    drop(out);
    let endpoint = config::resolve(global)?;
    let transport = match args.http {
        None => Transport::Stdio,
        Some(listen) => {
            let mut access = HttpAccess::new(listen).allow_remote(args.allow_remote);
            if let Some(token) = args.http_token.filter(|t| !t.is_empty()) {
                access = access.token(Secret::new(token));
            }
            Transport::Http(access)
        }
    };
    match agenttier_mcp::run(Options::new(endpoint.url, endpoint.auth, transport)) {
        Ok(()) => Ok(OK),
        Err(ServeError::Config(message)) => Err(Failure::config(message)),
        Err(e) => Err(Failure {
            code: OTHER,
            message: e.to_string(),
            quiet: false,
        }),
    }
}
