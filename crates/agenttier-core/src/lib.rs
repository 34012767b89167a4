//! Sans-IO core of the AgentTier Rust SDK.
//!
//! Everything here is pure: models, the error type, the auth chain, request descriptors,
//! response mapping, the SSE parser, the retry decision and Go-duration handling. The blocking
//! and async client crates only move bytes and sleep; every decision they make is taken here,
//! once. Most users want the `agenttier` facade crate instead of this one.

pub mod auth;
pub mod config;
pub mod deprecation;
pub mod duration;
pub mod error;
#[cfg(feature = "kruise")]
pub mod kruise;
pub mod models;
pub mod request;
pub mod response;
pub mod retry;
pub mod sse;
pub mod timestamp;
pub mod webhook;

pub use auth::{Auth, Secret, TokenSource};
pub use config::{ClientConfig, ClientIdentity};
pub use error::{ApiError, BoxError, Error, Result, TimeoutKind};
/// The `http` crate's method and header types, as used by [`request`] and the escape hatch.
pub use http::{HeaderMap, Method};
pub use retry::RetryPolicy;
