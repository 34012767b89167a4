//! Forwarded ports and their preview URLs.

use serde::{Deserialize, Serialize};

use super::nullable;
use crate::{Error, Result};

/// Body of `POST /sandboxes/{id}/ports`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ForwardPortRequest {
    /// Port inside the sandbox.
    pub port: u16,
    /// Protocol, `http` by default.
    pub protocol: String,
}

impl ForwardPortRequest {
    /// Checks the port (1–65535) and protocol (not empty).
    pub fn new(port: u16, protocol: &str) -> Result<Self> {
        if port == 0 {
            return Err(Error::invalid_input("port must be between 1 and 65535"));
        }
        if protocol.trim().is_empty() {
            return Err(Error::invalid_input("protocol must not be empty (use \"http\")"));
        }
        Ok(ForwardPortRequest {
            port,
            protocol: protocol.to_owned(),
        })
    }
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
