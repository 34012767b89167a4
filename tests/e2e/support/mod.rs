//! What the cases share across flavours: the in-process router, unique names, the fake server.

pub mod connect_proxy;
pub mod fake;
pub mod routes;
pub mod spans;
pub mod tls;
pub mod tls_proxy;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use agenttier_router::{LocalRouter, RouterOptions};

/// The router most cases share (key-protected, short start delay), started on first use.
pub fn router() -> &'static LocalRouter {
    static ROUTER: OnceLock<LocalRouter> = OnceLock::new();
    ROUTER.get_or_init(|| LocalRouter::start(RouterOptions::default()).expect("start the local router"))
}

/// A sandbox name unique within this test process: `<prefix>-<what>-<n>`.
pub fn unique_name(prefix: &str, what: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{what}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// A user key on the shared router, minted once per name.
pub fn user_key(name: &str) -> String {
    router().create_key(name, false, &[]).expect("mint a user key")
}
