//! The Model Context Protocol (MCP) server of AgentTier: AI agents use sandboxes through it.
//!
//! It offers every tool of the platform's own MCP server, with the same names and parameter
//! names (so prompts written for it work unchanged), plus agent mode (`agent_configure`,
//! `agent_invoke`, `agent_cancel`), `sandbox_wait`, progress notifications for long calls,
//! cancellation, workspace files as resources (`agenttier://{sandbox_id}/workspace/{path}`) and
//! prompts for the create → work → clean up loop. Every tool acts through the async SDK
//! client, with the credentials the server was started with.
//!
//! The `agenttier mcp` command of the CLI is the usual way to run it; [`run`] is what it calls:
//!
//! ```no_run
//! use agenttier::Auth;
//! use agenttier_mcp::{Options, Transport, run};
//!
//! let auth = Auth::api_key("atk_...")?;
//! run(Options::new("http://127.0.0.1:8080", auth, Transport::Stdio))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Results are JSON objects with snake_case field names. Errors are tool results with
//! `isError: true` and `{error, message, hint}` (the class of the SDK error, its message, and
//! what to do next), never protocol failures. Over stdio nothing but MCP messages is written to
//! stdout; logs go to stderr (`RUST_LOG`).

mod progress;
mod prompts;
mod reply;
mod resources;
mod serve;
mod server;
mod tools;

pub use serve::{HttpAccess, Options, ServeError, Transport, run, serve_http, serve_stdio};
pub use server::AgentTierServer;
