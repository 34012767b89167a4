//! Async client of the AgentTier sandbox platform, on reqwest and tokio.
//!
//! Same API as the blocking client (`agenttier-blocking`), with `.await`: both are compiled from
//! one source, so they cannot drift apart. Futures are `Send`; one [`Client`] serves many tasks
//! at once over one connection pool. Most users depend on the `agenttier` facade instead.
//!
//! ```no_run
//! use std::time::Duration;
//! use agenttier_async::{Client, models::CreateSandbox};
//!
//! #[tokio::main]
//! async fn main() -> agenttier_async::Result<()> {
//!     let client = Client::from_env()?; // AGENTTIER_API_URL + the auth chain
//!     let sandbox = client.create_sandbox(CreateSandbox::new("general-coding", "hello")).await?;
//!     sandbox.wait_until_running(Duration::from_secs(120)).await?;
//!     let out = sandbox.exec("echo hello from $(hostname)").await?;
//!     print!("{}", out.stdout);
//!     sandbox.terminate().await
//! }
//! ```

// docs.rs (nightly, `--cfg docsrs`) labels feature-gated items with the features they need.
#![cfg_attr(docsrs, feature(doc_cfg))]

use maybe_async::must_be_async as maybe;

mod client;
mod fileio;
mod scoped;
mod transport;
mod websocket;

#[cfg(feature = "kruise")]
mod kruise_io;

crate::client_exports!(client);
client::flavour_root!();
/// The reqwest this client is built on (its exact version), for [`ClientBuilder::reqwest_client`].
pub use reqwest;

impl futures_core::Stream for client::InvokeStream {
    type Item = Result<models::InvokeEvent>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let item = std::task::ready!(this.inner.poll_event(cx));
        std::task::Poll::Ready(this.decode(item))
    }
}

impl futures_core::Stream for client::TerminalReader {
    type Item = Result<TerminalEvent>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        let this = self.get_mut();
        while !this.done {
            let item = std::task::ready!(this.ws.poll_recv(cx));
            if let Some(event) = this.accept(item) {
                return std::task::Poll::Ready(event);
            }
        }
        std::task::Poll::Ready(None)
    }
}

impl futures_core::Stream for client::Terminal {
    type Item = Result<TerminalEvent>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        std::pin::Pin::new(self.get_mut().reader()).poll_next(cx)
    }
}

impl tokio::io::AsyncRead for client::FileReader {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        self.get_mut().inner.body.poll_read_into(cx, buf)
    }
}
