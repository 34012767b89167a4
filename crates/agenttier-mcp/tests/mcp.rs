//! End-to-end tests of the MCP server: real MCP clients (rmcp's, and the official Python SDK's
//! when it is installed) against the server over stdio and Streamable HTTP, the server talking
//! to an in-process local router.

#[path = "mcp/access.rs"]
mod access;
#[path = "mcp/catalog.rs"]
mod catalog;
#[path = "mcp/fixture.rs"]
mod fixture;
#[path = "mcp/progress.rs"]
mod progress;
#[path = "mcp/python.rs"]
mod python;
#[path = "mcp/tools.rs"]
mod tools;
