//! Typed clients of the OpenKruise `Sandbox` and `SandboxSet` custom resources (feature `kruise`).
//!
//! Written once for both flavours, like the rest of the client: the Kubernetes API server is
//! reached through the same transport as the Router (configured with the cluster's CA, client
//! certificate and proxy), requests and decisions come from `agenttier_core::kruise`.

mod client;
mod resources;
mod watch;

pub use client::{KruiseClient, KruiseClientBuilder};
pub use resources::{Resources, SandboxClient, SandboxSetClient};
pub use watch::WatchStream;
pub(crate) use watch::Watcher;
