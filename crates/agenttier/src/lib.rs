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
//! # Guide
//!
//! **Choosing a flavour.** Async ([`Client`]) for services and anything already on tokio: one
//! client serves many tasks over one connection pool. Blocking ([`blocking::Client`]) for
//! scripts, CLIs and synchronous code: no runtime, plain iterators and `std::io::Read`. The API
//! is the same, method for method; only `.await` differs.
//!
//! **Configuration.** [`Client::from_env`] reads `AGENTTIER_API_URL`; [`Client::builder`]
//! ([`ClientBuilder`]) sets everything else: credentials, timeouts, retries, proxy, trusted
//! roots, or your own reqwest client ([`ClientBuilder::reqwest_client`]).
//!
//! **Auth.** Credentials come from the first of: an explicit [`Auth`] given to the builder,
//! `AGENTTIER_API_KEY` (`X-API-Key`), `AGENTTIER_TOKEN` (bearer), the in-cluster
//! service-account token file (re-read when it rotates), or none. Secrets never appear in
//! `Debug` output or errors.
//!
//! **Timeouts.** Connect 10 s, unary calls 30 s ([`ClientBuilder::timeout`]), streams 5 min of
//! silence ([`ClientBuilder::stream_idle_timeout`]) and no total limit; `exec` adds the
//! command's own timeout. Waiting for a sandbox takes an explicit deadline
//! ([`Sandbox::wait_until_running`]).
//!
//! **Retries.** Connection failures, 408, 429 and most 5xx are retried for idempotent methods
//! with exponential backoff and jitter, honouring `Retry-After` ([`RetryPolicy`];
//! [`RetryPolicy::disabled`] turns them off). Streams and uploads are never retried.
//!
//! **Errors.** One [`Error`] enum for every failure: the server's answers by class
//! ([`Error::NotFound`], [`Error::Conflict`], [`Error::PolicyViolation`], ...), timeouts with
//! their kind ([`Error::Timeout`], [`TimeoutKind`]), transport failures with the number of
//! attempts ([`Error::Transport`]), bad local input ([`Error::InvalidInput`]) and configuration
//! ([`Error::Config`]). [`Error::status`] gives the HTTP status where there is one.
//!
//! **Streaming.** [`Agent::invoke_stream`] yields the agent's events as they come (a
//! `futures::Stream` here, an `Iterator` in the blocking flavour); dropping it closes the
//! connection.
//!
//! **Files.** [`Sandbox::files`] reads, writes, uploads and downloads (streamed, any size up to
//! the Router's 32 MiB per file), lists directories and fetches archives; [`FileReader`] reads a
//! download progressively.
//!
//! **TLS.** rustls with the ring provider and the operating system's trusted roots by default
//! (`SSL_CERT_FILE` / `SSL_CERT_DIR` honoured); feature `native-tls` for the platform's library,
//! `webpki-roots` for the compiled-in Mozilla bundle ([`BuiltInRoots`]).
//!
//! **Kubernetes.** With feature `kruise`, `kruise::KruiseClient` manages the OpenKruise
//! `Sandbox` and `SandboxSet` custom resources directly through the Kubernetes API (kubeconfig
//! or in-cluster credentials, watches, exec plugins). Feature `kube` adds `kruise::kube`, whose
//! `Sandbox` and `SandboxSet` implement `kube::Resource` for kube-rs users' `Api<Sandbox>`.

// docs.rs (nightly, `--cfg docsrs`) labels feature-gated items with the features they need.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use agenttier_core::{
    ApiError, Auth, BuiltInRoots, ClientConfig, Error, Result, RetryPolicy, Secret, TimeoutKind, models,
};
pub use agenttier_core::{BoxError, HeaderMap, Method, TokenSource};

/// This SDK's version (the `agenttier` crate's).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The reqwest the async client is built on, for [`ClientBuilder::reqwest_client`].
#[cfg(feature = "async")]
pub use agenttier_async::reqwest;
// The client types, listed once in the shared client source; the `cfg` inside labels them on
// docs.rs, the one outside keeps the path from being resolved without the feature.
#[cfg(feature = "async")]
agenttier_async::client_exports!(agenttier_async, #[cfg(feature = "async")]);
pub use agenttier_core::terminal::{CloseReason, TerminalEvent, TerminalOptions};
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
    /// The ureq the blocking client is built on, for [`ClientBuilder::ureq_agent`].
    pub use agenttier_blocking::ureq;
    agenttier_blocking::client_exports!(agenttier_blocking);
}

/// The README's Rust examples, compiled as doctests so that they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;

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
