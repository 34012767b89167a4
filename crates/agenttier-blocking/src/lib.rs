//! Blocking client of the AgentTier sandbox platform, on ureq.
//!
//! Same API as the async client (`agenttier-async`), without `.await`: both are compiled from one
//! source. Most users depend on the `agenttier` facade with its `blocking` feature instead.
//!
//! ```no_run
//! use std::time::Duration;
//! use agenttier_blocking::{Client, models::CreateSandbox};
//!
//! fn main() -> agenttier_blocking::Result<()> {
//!     let client = Client::from_env()?; // AGENTTIER_API_URL + the auth chain
//!     let sandbox = client.create_sandbox(CreateSandbox::new("general-coding", "hello"))?;
//!     sandbox.wait_until_running(Duration::from_secs(120))?;
//!     let out = sandbox.exec("echo hello from $(hostname)")?;
//!     print!("{}", out.stdout);
//!     sandbox.terminate()
//! }
//! ```

// docs.rs (nightly, `--cfg docsrs`) labels feature-gated items with the features they need.
#![cfg_attr(docsrs, feature(doc_cfg))]

use maybe_async::must_be_sync as maybe;

mod client;
mod fileio;
mod scoped;
mod transport;
mod websocket;

#[cfg(feature = "kruise")]
mod kruise_io;

crate::client_exports!(client);
client::flavour_root!();
/// The ureq this client is built on (its exact version), for [`ClientBuilder::ureq_agent`].
pub use ureq;

impl Iterator for client::InvokeStream {
    type Item = Result<models::InvokeEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event()
    }
}

impl Iterator for client::TerminalReader {
    type Item = Result<TerminalEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event()
    }
}

impl Iterator for client::Terminal {
    type Item = Result<TerminalEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event()
    }
}

impl std::io::Read for client::FileReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.body.read_into(buf)
    }
}
