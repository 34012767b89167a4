//! HTTP-level tests of the local router: every route, auth, ownership, bad input, lifecycle,
//! exec limits, ports and the preview proxy, namespace isolation, governance and restarts.
//! One test binary (CI has 2 cores); each test starts its own in-process router.

mod router {
    mod agent;
    mod api;
    mod browser;
    pub mod common;
    mod crash;
    mod escape;
    mod exec;
    mod files;
    mod governance;
    mod hooks;
    mod isolation;
    mod lifecycle;
    mod memory;
    mod ownership;
    mod persist;
    mod ports;
    mod restart;
    mod security;
    mod slow;
    mod state;
    mod templates;
    mod terminal;
    mod wire;
}
