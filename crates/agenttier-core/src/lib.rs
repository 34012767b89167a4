//! Sans-IO core of the AgentTier Rust SDK.
//!
//! Everything here is pure: models, the error type, the auth chain, request descriptors (one
//! per Router operation, in [`api`]), response mapping, the SSE parser, the retry decision and
//! Go-duration handling. The blocking and async client crates only move bytes and sleep; every
//! decision they make is taken here, once. Most users want the `agenttier` facade crate instead of this one.

// docs.rs (nightly, `--cfg docsrs`) labels feature-gated items with the features they need.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod api;
pub mod auth;
pub mod config;
// Plumbing of the client crates, not part of the semver-stable API.
#[doc(hidden)]
pub mod deprecation;
pub mod duration;
pub mod error;
#[cfg(feature = "kruise")]
pub mod kruise;
pub mod models;
#[doc(hidden)]
pub mod proxy;
pub mod request;
#[doc(hidden)]
pub mod response;
pub mod retry;
#[doc(hidden)]
pub mod sse;
pub mod terminal;
pub mod timestamp;
pub mod webhook;

pub use auth::{Auth, Secret, TokenSource};
pub use config::{BuiltInRoots, ClientConfig, ClientIdentity};
pub use error::{ApiError, BoxError, Error, Result, TimeoutKind};
/// The `http` crate's method and header types, as used by [`request`] and the escape hatch.
pub use http::{HeaderMap, Method};
pub use retry::RetryPolicy;
