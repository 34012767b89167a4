//! Exit codes, and turning every failure into one readable line that says what to do.

use std::io::Write;
use std::time::Duration;

use agenttier::Error;

/// Success.
pub const OK: i32 = 0;
/// Any other failure (API error, sandbox in the `Error` phase, undecodable answer ...).
pub const OTHER: i32 = 1;
/// Usage or configuration error.
pub const USAGE: i32 = 2;
/// Authentication failed (401).
pub const AUTHENTICATION: i32 = 3;
/// Not authorized or refused by policy (403).
pub const AUTHORIZATION: i32 = 4;
/// Not found (404).
pub const NOT_FOUND: i32 = 5;
/// Conflict (409).
pub const CONFLICT: i32 = 6;
/// A timeout, or a sandbox that did not become `Running` in time.
pub const TIMEOUT: i32 = 7;
/// The Router could not be reached.
pub const UNREACHABLE: i32 = 8;

/// A command that failed: the exit code and the line to print.
#[derive(Debug)]
pub struct Failure {
    /// Exit code.
    pub code: i32,
    /// What went wrong and what to do, without the `agenttier:` prefix.
    pub message: String,
    /// Exit quietly (the reader of our output went away: `agenttier ... | head`).
    pub quiet: bool,
}

impl Failure {
    /// A usage or configuration failure (exit 2).
    pub fn config(message: impl Into<String>) -> Failure {
        Failure {
            code: USAGE,
            message: message.into(),
            quiet: false,
        }
    }

    /// A local I/O failure (exit 1), or a quiet exit when stdout was closed.
    pub fn io(what: &str, e: &std::io::Error) -> Failure {
        Failure {
            code: OTHER,
            message: format!("{what}: {e}"),
            quiet: e.kind() == std::io::ErrorKind::BrokenPipe,
        }
    }

    /// Prints the failure on stderr and returns its exit code.
    pub fn report(self) -> i32 {
        if self.quiet {
            return OK;
        }
        let line = self.message.replace(['\n', '\r'], " ");
        let _ = writeln!(std::io::stderr(), "agenttier: {line}");
        self.code
    }

    /// Describes an SDK error for a command about `subject` (for example `sandbox "demo"`),
    /// talking to the Router at `url`.
    pub fn sdk(err: Error, subject: Option<&str>, url: &str) -> Failure {
        let code = code_of(&err);
        let message = match &err {
            Error::Authentication { api } => format!(
                "authentication failed: {}; set AGENTTIER_API_KEY or AGENTTIER_TOKEN (or pass --api-key/--token, or run `agenttier login`)",
                api
            ),
            Error::Authorization { api } => {
                format!("not authorized: {api}; the credentials in use may not do this, ask an admin for access")
            }
            Error::NotFound { api } => match subject {
                Some(s) => {
                    let list = if s.starts_with("template") {
                        "template"
                    } else {
                        "sandbox"
                    };
                    format!(
                        "{s} not found ({}); `agenttier {list} list` shows what exists",
                        api.message
                    )
                }
                None => format!("not found: {api}"),
            },
            Error::Conflict { api } => match subject {
                Some(s) => format!("conflict on {s}: {api}"),
                None => format!("conflict: {api}"),
            },
            Error::SandboxTimeout {
                sandbox_id,
                last_phase,
                waited,
            } => format!(
                "sandbox {sandbox_id:?} did not become Running within {} (last phase: {last_phase}); wait longer with --timeout/--wait-timeout, or check `agenttier sandbox get {sandbox_id}`",
                seconds(*waited)
            ),
            Error::SandboxErrorState { sandbox_id, message } => format!(
                "sandbox {sandbox_id:?} is in the Error phase: {message}; see `agenttier sandbox get {sandbox_id}`"
            ),
            Error::Timeout {
                kind,
                after,
                method,
                path,
            } => format!(
                "{kind} timeout after {} ({method} {path}) talking to {url}; check the Router, or raise --timeout where the command has one",
                seconds(*after)
            ),
            Error::Transport { message, .. } => format!(
                "could not reach the AgentTier router at {url}: {message}; check --api-url, AGENTTIER_API_URL or the URL saved by `agenttier login`"
            ),
            Error::Config { message } => {
                format!(
                    "configuration error: {message}; set AGENTTIER_API_URL or run `agenttier login --api-url <URL>`"
                )
            }
            other => other.to_string(),
        };
        Failure {
            code,
            message,
            quiet: false,
        }
    }
}

impl From<Error> for Failure {
    fn from(err: Error) -> Failure {
        let code = code_of(&err);
        Failure {
            code,
            message: err.to_string(),
            quiet: false,
        }
    }
}

/// The exit code of an SDK error.
pub fn code_of(err: &Error) -> i32 {
    match err {
        Error::Authentication { .. } => AUTHENTICATION,
        Error::Authorization { .. } | Error::PolicyViolation { .. } => AUTHORIZATION,
        Error::NotFound { .. } => NOT_FOUND,
        Error::Conflict { .. } => CONFLICT,
        Error::SandboxTimeout { .. } | Error::Timeout { .. } => TIMEOUT,
        Error::Transport { .. } => UNREACHABLE,
        Error::InvalidInput { .. } | Error::Config { .. } => USAGE,
        _ => OTHER,
    }
}

/// A remote command's exit code as ours: itself when it fits in 0..=255, else 1.
pub fn remote(code: i32) -> i32 {
    if (0..=255).contains(&code) { code } else { OTHER }
}

fn seconds(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs >= 10.0 {
        format!("{}s", secs.round())
    } else {
        format!("{secs:.1}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_codes_fit_a_process_exit() {
        assert_eq!(remote(0), 0);
        assert_eq!(remote(42), 42);
        assert_eq!(remote(255), 255);
        assert_eq!(remote(-1), 1);
        assert_eq!(remote(256), 1);
    }

    #[test]
    fn messages_are_one_line_with_a_hint() {
        let f = Failure::sdk(
            Error::SandboxTimeout {
                sandbox_id: "demo".into(),
                last_phase: "Creating".into(),
                waited: Duration::from_millis(180_200),
            },
            None,
            "http://x",
        );
        assert_eq!(f.code, TIMEOUT);
        assert!(f.message.contains("within 180s"), "{}", f.message);
        assert!(!f.message.contains('\n'));
    }
}
