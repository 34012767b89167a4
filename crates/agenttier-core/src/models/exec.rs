//! Exec: one shell command string run with `/bin/sh -c` in the sandbox.

use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

use super::nullable;
use crate::{Error, Result};

/// A command to run, with its timeout.
///
/// ```
/// use std::time::Duration;
/// use agenttier_core::models::Exec;
/// let quick: Exec = "uname -a".into();
/// let slow = Exec::new("make test").timeout(Duration::from_secs(600));
/// assert_eq!(quick.timeout_value(), Duration::from_secs(30));
/// # let _ = slow;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Exec {
    command: String,
    #[serde(serialize_with = "whole_seconds")]
    timeout: Duration,
}

fn whole_seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_secs() + u64::from(d.subsec_nanos() > 0))
}

impl Exec {
    /// Default command timeout, as the Router's.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// Extra time the HTTP call gets beyond the command's own timeout.
    pub const HTTP_MARGIN: Duration = Duration::from_secs(10);

    /// `command` with the default 30 s timeout.
    pub fn new(command: impl Into<String>) -> Self {
        Exec {
            command: command.into(),
            timeout: Self::DEFAULT_TIMEOUT,
        }
    }

    /// Sets the command's timeout (rounded up to whole seconds); the Router kills it after that.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The command string.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The command's timeout.
    pub fn timeout_value(&self) -> Duration {
        self.timeout
    }

    /// The timeout of the HTTP call carrying the command.
    pub fn http_timeout(&self) -> Duration {
        self.timeout + Self::HTTP_MARGIN
    }

    /// Refuses an empty command or a zero timeout.
    pub fn validate(&self) -> Result<()> {
        if self.command.trim().is_empty() {
            return Err(Error::invalid_input("command must not be empty"));
        }
        if self.timeout.is_zero() {
            return Err(Error::invalid_input("exec timeout must be at least one second"));
        }
        Ok(())
    }
}

impl From<&str> for Exec {
    fn from(command: &str) -> Self {
        Exec::new(command)
    }
}

impl From<String> for Exec {
    fn from(command: String) -> Self {
        Exec::new(command)
    }
}

impl From<&String> for Exec {
    fn from(command: &String) -> Self {
        Exec::new(command.as_str())
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_uses_whole_seconds() {
        let body = serde_json::to_value(Exec::new("ls").timeout(Duration::from_millis(1500))).unwrap();
        assert_eq!(body, serde_json::json!({"command":"ls","timeout":2}));
        assert!(Exec::new(" ").validate().is_err());
        assert!(Exec::new("ls").timeout(Duration::ZERO).validate().is_err());
    }
}
