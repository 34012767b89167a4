//! The client, written once and compiled twice.
//!
//! This directory is the single source of both flavours: `agenttier-blocking` compiles it with
//! `maybe_async::must_be_sync` bound to `maybe`, and `agenttier-async` (through a symlink) with
//! `must_be_async`. It only calls what both transports define under the same names (the
//! contract in [`wire`]), and never names ureq, reqwest or tokio.

mod account;
mod admin;
mod agent;
mod backups;
mod builder;
mod bulk;
mod cluster;
pub(crate) mod endpoint;
mod exchange;
mod files;
mod guard;
mod handle;
#[cfg(feature = "kruise")]
pub mod kruise;
mod preview;
mod raw;
mod sandbox;
mod sharing;
mod templates;
mod terminal;
#[cfg(any(feature = "rustls", feature = "native-tls"))]
pub(crate) mod tls;
mod trace;
mod webhooks;
pub(crate) mod wire;

pub use agent::{Agent, InvokeStream};
pub use builder::ClientBuilder;
pub use files::{FileReader, Files};
pub use handle::Client;
pub use sandbox::{DEFAULT_WAIT, Sandbox};
pub use terminal::{Terminal, TerminalReader, TerminalWriter};

pub use account::{ApiKeys, PreferenceMap, Preferences};
pub use admin::{Admin, Analytics, Audit, Governance};
pub use backups::Backups;
pub use cluster::{Cluster, WarmPools};
pub use guard::SandboxGuard;
pub use raw::{HttpResponse, RawRequest, StreamedResponse};
pub use sharing::Sharing;
pub use webhooks::Webhooks;
// The streamed-transfer traits are the flavour's own (`fileio.rs`) but part of the client's API.
pub use crate::fileio::{ReadSource, WriteSink};

/// Re-exports every public client type from `$from`: `client` in the flavour crates, the
/// flavour crate in the facade. The attributes given (the facade's `cfg`) are put on the
/// re-export, so docs.rs labels the items with the feature they need. The one list of these
/// names; a type added to the client is added here.
#[doc(hidden)]
#[macro_export]
macro_rules! client_exports {
    ($from:ident $(, #[$attr:meta])*) => {
        $(#[$attr])*
        pub use $from::{
            Admin, Agent, Analytics, ApiKeys, Audit, Backups, Client, ClientBuilder, Cluster, DEFAULT_WAIT, FileReader,
            Files, Governance, HttpResponse, InvokeStream, PreferenceMap, Preferences, RawRequest, ReadSource, Sandbox,
            SandboxGuard, Sharing, StreamedResponse, Terminal, TerminalReader, TerminalWriter, WarmPools, Webhooks,
            WriteSink,
        };
    };
}

/// The rest of a flavour crate's root, the same in both: the core types users name and the
/// Kruise module (feature `kruise`). Invoked once in each `lib.rs`, after `client_exports!`.
macro_rules! flavour_root {
    () => {
        /// Typed clients of the OpenKruise `Sandbox` and `SandboxSet` custom resources (feature
        /// `kruise`): [`KruiseClient`](kruise::KruiseClient), its per-namespace handles, the models
        /// and errors.
        #[cfg(feature = "kruise")]
        pub mod kruise {
            pub use crate::client::kruise::{
                KruiseClient, KruiseClientBuilder, Resources, SandboxClient, SandboxSetClient, WatchStream,
            };
            pub use agenttier_core::kruise::*;
        }

        pub use agenttier_core::terminal::{CloseReason, TerminalEvent, TerminalOptions};
        pub use agenttier_core::{
            ApiError, Auth, BuiltInRoots, ClientConfig, Error, Result, RetryPolicy, TimeoutKind, models,
        };
    };
}
pub(crate) use flavour_root;
