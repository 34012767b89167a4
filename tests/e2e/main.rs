//! End-to-end tests of both client flavours.
//!
//! Every case in `suite/` is written once with maybe-async and compiled twice: `blocking.rs`
//! binds it to `agenttier::blocking`, `asynchronous.rs` to the async client. The cases drive
//! the real client against a real router started in-process (`support::router`), or against a
//! loopback server that misbehaves on purpose (`support::fake`).

#![allow(missing_docs)]
// The suite is compiled once per flavour on purpose: that is how one source tests both clients.
#![allow(clippy::duplicate_mod)]

mod asynchronous;
mod blocking;
mod facade;
mod layers;
mod routes;
mod support;
