//! Tests of the OpenKruise clients (feature `kruise`), both flavours.
//!
//! * `suite/`: every case written once with maybe-async, compiled against the blocking client
//!   (`blocking.rs`) and the async one (`asynchronous.rs`), run against `support::FakeApiServer`
//!   — a small stateful **fake** of the API server (see its docs for what it emulates) with
//!   fault knobs, plain or with mutual TLS from the committed test PKI in `pki/`;
//! * `kubectl.rs`: kubectl as an oracle for kubeconfig resolution and the fake's wire format
//!   (skipped, saying so, where kubectl is not installed);
//! * `real_cluster.rs`: the opt-in suite against a real cluster with OpenKruise agents
//!   (`AGENTTIER_KRUISE_E2E=1`, ignored otherwise).

#![allow(missing_docs)]
#![allow(clippy::duplicate_mod)]

mod asynchronous;
mod blocking;
mod kubectl;
mod real_cluster;
mod support;
