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
