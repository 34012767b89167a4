//! Forwarded ports and their preview URLs.

use serde::{Deserialize, Serialize};

use super::nullable;

/// Body of `POST /sandboxes/{id}/ports`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ForwardPortRequest {
    /// Port inside the sandbox.
    pub port: u16,
    /// Protocol, `http` by default.
    pub protocol: String,
}

/// A port of the sandbox made reachable from outside.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ForwardedPort {
    /// Port inside the sandbox.
    pub port: u16,
    /// Protocol (`http`).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub protocol: String,
    /// Public preview URL, when the Router has a preview domain.
    pub preview_url: Option<String>,
    /// URL reachable from inside the cluster (or the local machine).
    pub internal_url: Option<String>,
}
