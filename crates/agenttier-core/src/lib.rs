//! Sans-IO core of the AgentTier Rust SDK.
//!
//! Everything here is pure: models, the error type, the auth chain, request descriptors, the
//! SSE parser, the retry decision and Go-duration handling. The blocking and async client crates
//! only move bytes and sleep; every decision they make is taken here, once.

pub mod duration;
