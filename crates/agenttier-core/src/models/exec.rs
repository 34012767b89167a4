//! Exec: one shell command string run with `/bin/sh -c` in the sandbox.

use serde::{Deserialize, Serialize};

use super::nullable;

/// Body of `POST /sandboxes/{id}/exec`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ExecRequest {
    /// The command, run as `/bin/sh -c <command>`.
    pub command: String,
    /// Timeout in whole seconds.
    pub timeout: u64,
}

/// What a command printed and how it ended. A non-zero exit code is data, not an error.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct CommandResult {
    /// Everything written to standard output, trailing newlines kept.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub stdout: String,
    /// Everything written to standard error.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub stderr: String,
    /// Exit code; `-1` when the command was killed by its timeout.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub exit_code: i32,
}

impl CommandResult {
    /// Whether the command exited with code 0.
    pub fn success(&self) -> bool {
        self.exit_code == 0
    }
}
