//! The preview proxy (wire spec §6.4): HTTP requests to a forwarded port of a sandbox, through
//! the Router, with the client's credentials (the local router strips them before proxying;
//! the platform's Router passes them on to the sandbox app).

use agenttier_core::{Result, api};
use http::Method;

use super::{RawRequest, Sandbox, StreamedResponse};
use crate::maybe;

impl Sandbox {
    /// The URL of `path` on the forwarded `port` through the Router's preview proxy (`path`
    /// like `/index.html`, percent-encoded, no query; empty for the root). It needs the
    /// client's credentials (a browser cannot open it as is; the `previewUrl` of a
    /// [`ForwardedPort`](agenttier_core::models::ForwardedPort) is the public one, when the
    /// Router has a preview domain).
    pub fn preview_url(&self, port: u16, path: &str) -> Result<String> {
        let req = api::sandboxes::preview(Method::GET, self.id(), port, path)?;
        Ok(req.url(&self.client.config().base_url))
    }

    /// Any request to the sandbox app on `port`, sent like [`Client::request`](super::Client::request)
    /// (add a body, query, headers, then `send`). The upstream's error statuses come back as
    /// [`Error`](agenttier_core::Error), as the Router's own do; an impossible path is reported
    /// by `send`.
    pub fn preview_request(&self, method: Method, port: u16, path: &str) -> RawRequest {
        RawRequest::new(
            self.client.clone(),
            api::sandboxes::preview(method, self.id(), port, path),
        )
    }
}

#[maybe]
impl Sandbox {
    /// `GET path` on the forwarded `port`; the upstream answer is returned before its body is
    /// read, to stream it.
    pub async fn preview(&self, port: u16, path: &str) -> Result<StreamedResponse> {
        self.preview_request(Method::GET, port, path).send_streamed().await
    }
}
