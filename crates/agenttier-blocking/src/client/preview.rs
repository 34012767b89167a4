//! The preview proxy (wire spec §6.4): HTTP requests to a forwarded port of a sandbox, through
//! the Router, with the client's credentials (the local router strips them before proxying;
//! the platform's Router passes them on to the sandbox app).

use agenttier_core::request::{check_raw_path, segment};
use agenttier_core::{Error, Result};
use http::Method;

use super::{RawRequest, Sandbox, StreamedResponse};
use crate::maybe;

impl Sandbox {
    /// The Router path of `path` on the forwarded `port` (`path` like `/index.html`, percent-
    /// encoded, no query; empty for the root).
    fn preview_path(&self, port: u16, path: &str) -> Result<String> {
        if port == 0 {
            return Err(Error::invalid_input("port must be between 1 and 65535"));
        }
        let rest = if path.is_empty() { "/" } else { path };
        check_raw_path(rest)?;
        Ok(format!("/api/v1/sandboxes/{}/preview/{port}{rest}", segment(self.id())))
    }

    /// The URL of `path` on the forwarded `port` through the Router's preview proxy. It needs
    /// the client's credentials (a browser cannot open it as is; the `previewUrl` of a
    /// [`ForwardedPort`](agenttier_core::models::ForwardedPort) is the public one, when the
    /// Router has a preview domain).
    pub fn preview_url(&self, port: u16, path: &str) -> Result<String> {
        Ok(format!(
            "{}{}",
            self.client.config().base_url,
            self.preview_path(port, path)?
        ))
    }

    /// Any request to the sandbox app on `port`, sent like [`Client::request`](super::Client::request)
    /// (add a body, query, headers, then `send`). The upstream's error statuses come back as
    /// [`Error`], as the Router's own do.
    pub fn preview_request(&self, method: Method, port: u16, path: &str) -> RawRequest {
        match self.preview_path(port, path) {
            Ok(p) => self.client.request(method, &p),
            // An impossible path; `send` reports the reason.
            Err(e) => self.client.request(method, "").with_error(e),
        }
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
