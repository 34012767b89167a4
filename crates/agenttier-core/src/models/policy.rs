//! Governance: the violations a policy rejection carries.

use serde::{Deserialize, Serialize};

use super::nullable;

/// One rule a request broke (`code` is one of the platform's codes, such as
/// `user_quota_exceeded` or `template_not_allowed`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Violation {
    /// Machine-readable code.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub code: String,
    /// Human-readable explanation.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub message: String,
}
