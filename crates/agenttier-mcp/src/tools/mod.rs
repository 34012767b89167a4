//! The tools, one module per area, each an `impl AgentTierServer` block whose `#[tool]` methods
//! are one SDK call wrapped by [`crate::reply`]. Names and parameter names are the platform's
//! own MCP server's, so prompts written for it work unchanged; argument structs carry the JSON
//! Schema (doc comments become descriptions, Rust enums become `enum`s).

pub(crate) mod agent;
pub(crate) mod backups;
pub(crate) mod bulk;
pub(crate) mod files;
pub(crate) mod fleet;
pub(crate) mod sandboxes;
pub(crate) mod sharing;
pub(crate) mod webhooks;

use std::time::Duration;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use time::OffsetDateTime;

use crate::reply::{Outcome, invalid_argument};

/// Arguments of the tools that act on one sandbox and need nothing else.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SandboxRef {
    /// The sandbox id, as sandbox_create or sandbox_list return it.
    pub sandbox_id: String,
}

/// Parses an optional Go duration argument (`"30m"`, `"8h"`, `"1h30m"`).
pub(crate) fn duration(name: &str, value: Option<&str>) -> Result<Option<Duration>, Outcome> {
    match value.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(text) => agenttier_core::duration::parse(text).map(Some).map_err(|e| {
            invalid_argument(format!(
                "{name} {text:?} is not a duration ({e}): write it like \"30m\", \"8h\" or \"1h30m\""
            ))
        }),
    }
}

/// Unwraps a parsed argument or returns the tool error it carries.
macro_rules! arg {
    ($parsed:expr) => {
        match $parsed {
            Ok(value) => value,
            Err(outcome) => return outcome,
        }
    };
}
pub(crate) use arg;

/// A timestamp as the tools show them (RFC 3339), or null.
pub(crate) fn time(t: Option<OffsetDateTime>) -> Value {
    agenttier_core::timestamp::option::serialize(&t, serde_json::value::Serializer).unwrap_or(Value::Null)
}
