//! Rust SDK of [AgentTier](https://github.com/khanrubd/agenttier), the Kubernetes-native
//! sandbox platform for AI agents and developers.
//!
//! Two equally first-class flavours, compiled from one source so they cannot drift apart:
//!
//! * feature `async` (default): [`Client`], on reqwest and tokio; futures are `Send`;
//! * feature `blocking`: [`blocking::Client`], on ureq, for scripts and CLIs.
//!
//! Both can be enabled together. Models and the error type are shared.
//!
//! ```no_run
//! use std::time::Duration;
//! use agenttier::{Client, models::CreateSandbox};
//!
//! # #[cfg(feature = "async")]
//! #[tokio::main]
//! async fn main() -> agenttier::Result<()> {
//!     let client = Client::from_env()?; // AGENTTIER_API_URL + the auth chain
//!     let sandbox = client.create_sandbox(CreateSandbox::new("general-coding", "hello")).await?;
//!     sandbox.wait_until_running(Duration::from_secs(120)).await?;
//!     let out = sandbox.exec("uname -a").await?;
//!     println!("exit {}: {}", out.exit_code, out.stdout);
//!     sandbox.terminate().await
//! }
//! # #[cfg(not(feature = "async"))] fn main() {}
//! ```
//!
//! Credentials come from the first of: an explicit [`Auth`] given to the builder,
//! `AGENTTIER_API_KEY` (`X-API-Key`), `AGENTTIER_TOKEN` (bearer), the in-cluster
//! service-account token file (re-read when it rotates), or none.

pub use agenttier_core::{ApiError, Auth, ClientConfig, Error, Result, RetryPolicy, Secret, TimeoutKind, models};
pub use agenttier_core::{BoxError, HeaderMap, Method, TokenSource};

/// This SDK's version (the `agenttier` crate's).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

#[cfg(feature = "async")]
pub use agenttier_async::{
    Admin, Analytics, ApiKeys, Audit, Backups, Cluster, Governance, PreferenceMap, Preferences, Sharing, WarmPools,
    Webhooks,
};
#[cfg(feature = "async")]
pub use agenttier_async::{Agent, Client, ClientBuilder, DEFAULT_WAIT, InvokeStream, Sandbox};
#[cfg(feature = "async")]
pub use agenttier_async::{FileReader, Files, ReadSource, WriteSink};
#[cfg(feature = "async")]
pub use agenttier_async::{HttpResponse, RawRequest, SandboxGuard, StreamedResponse};
pub use agenttier_core::webhook;

/// Typed clients of the OpenKruise `Sandbox` and `SandboxSet` custom resources in Kubernetes
/// (feature `kruise`; the async client here, the blocking one in `blocking::kruise`).
#[cfg(all(feature = "kruise", feature = "async"))]
pub use agenttier_async::kruise;
/// Models, requests and errors of the OpenKruise resources (feature `kruise`; enable `async` or
/// `blocking` for a client).
#[cfg(all(feature = "kruise", not(feature = "async")))]
pub use agenttier_core::kruise;

/// The blocking client: the same API as the async one, without `.await`.
///
/// ```no_run
/// use agenttier::blocking::Client;
/// use agenttier::models::CreateSandbox;
///
/// fn main() -> agenttier::Result<()> {
///     let client = Client::from_env()?;
///     let sandbox = client.create_sandbox(CreateSandbox::new("general-coding", "hello"))?;
///     sandbox.wait_until_running(agenttier::blocking::DEFAULT_WAIT)?;
///     print!("{}", sandbox.exec("ls /workspace")?.stdout);
///     sandbox.terminate()
/// }
/// ```
#[cfg(feature = "blocking")]
pub mod blocking {
    #[cfg(feature = "kruise")]
    pub use agenttier_blocking::kruise;
    pub use agenttier_blocking::{
        Admin, Analytics, ApiKeys, Audit, Backups, Cluster, Governance, PreferenceMap, Preferences, Sharing, WarmPools,
        Webhooks,
    };
    pub use agenttier_blocking::{Agent, Client, ClientBuilder, DEFAULT_WAIT, InvokeStream, Sandbox};
    pub use agenttier_blocking::{FileReader, Files, ReadSource, WriteSink};
    pub use agenttier_blocking::{HttpResponse, RawRequest, SandboxGuard, StreamedResponse};
}

/// The local and remote paths of `upload`, `download` and `archive` cannot be swapped: the
/// local one is a `&Path`, the remote one a `&str`. The right order compiles:
///
/// ```no_run
/// fn f(files: &agenttier::blocking::Files) {
///     let _ = files.upload(std::path::Path::new("a.csv"), "/workspace/a.csv");
///     let _ = files.download("/workspace/a.csv", std::path::Path::new("a.csv"));
/// }
/// ```
///
/// the swapped one does not:
///
/// ```compile_fail
/// fn f(files: &agenttier::blocking::Files) {
///     let _ = files.upload("/workspace/a.csv", std::path::Path::new("a.csv"));
/// }
/// ```
#[cfg(feature = "blocking")]
mod path_order {}
