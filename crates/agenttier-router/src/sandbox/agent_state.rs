//! What the last successful configure of an agent-mode sandbox left behind (the platform's
//! `status.agentConfigure`): the entrypoint invokes run, and what decides whether the next
//! configure may skip its install.

use serde::{Deserialize, Serialize};

/// The configure state kept with a sandbox's record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AgentConfigure {
    pub last_configured_at: String,
    pub install_command_hash: String,
    pub entrypoint: Vec<String>,
    pub install_exit_code: i32,
    pub install_log: String,
    pub max_concurrent_invokes: i64,
    pub default_invoke_timeout_seconds: u64,
}
