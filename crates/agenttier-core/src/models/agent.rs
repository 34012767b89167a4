//! Agent mode: configure requests and results, invoke payloads, and the typed events of both
//! streams.

use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{nullable, nullable_list, string_enum};
use crate::sse::SseEvent;
use crate::{Error, Result, duration, timestamp};

/// Which output stream a log line came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum LogStream {
    /// Standard output.
    #[default]
    Stdout,
    /// Standard error.
    Stderr,
    /// A stream name this SDK version does not know.
    Unknown(String),
}

string_enum!(LogStream {
    Stdout => "stdout",
    Stderr => "stderr",
});

/// Why an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum ExitReason {
    /// The entrypoint exited by itself (with any exit code).
    #[default]
    Completed,
    /// Cancelled (by `invoke_cancel` or a dropped connection).
    Canceled,
    /// The invoke timeout elapsed.
    Timeout,
    /// The platform failed to run it.
    Error,
    /// A reason this SDK version does not know.
    Unknown(String),
}

string_enum!(ExitReason {
    Completed => "completed",
    Canceled => "canceled",
    Timeout => "timeout",
    Error => "error",
});

/// One file to upload with `configure`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ConfigureFile {
    /// Absolute path under `/workspace`.
    pub path: String,
    /// UTF-8 content.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Binary content, base64-encoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_base64: Option<String>,
}

impl ConfigureFile {
    /// A text file.
    pub fn text(path: impl Into<String>, content: impl Into<String>) -> Self {
        ConfigureFile {
            path: path.into(),
            content: Some(content.into()),
            content_base64: None,
        }
    }

    /// A file from bytes: sent as text when they are valid UTF-8, as base64 otherwise.
    pub fn bytes(path: impl Into<String>, data: impl Into<Vec<u8>>) -> Self {
        match String::from_utf8(data.into()) {
            Ok(text) => Self::text(path, text),
            Err(raw) => ConfigureFile {
                path: path.into(),
                content: None,
                content_base64: Some(base64::engine::general_purpose::STANDARD.encode(raw.as_bytes())),
            },
        }
    }

    /// A file read from the local disk.
    pub fn from_local(path: impl Into<String>, local: impl AsRef<Path>) -> Result<Self> {
        let local = local.as_ref();
        let data = std::fs::read(local)
            .map_err(|e| Error::invalid_input(format!("cannot read {} for configure: {e}", local.display())))?;
        Ok(Self::bytes(path, data))
    }
}

/// Parameters of `configure`: files to write, an install command run once, the entrypoint.
///
/// ```
/// use agenttier_core::models::Configure;
/// let cfg = Configure::new()
///     .file_text("/workspace/agent.sh", "#!/bin/sh\necho hi\n")
///     .install_command(["chmod", "+x", "/workspace/agent.sh"])
///     .entrypoint(["/workspace/agent.sh"]);
/// assert!(cfg.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Configure {
    /// Files to write.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<ConfigureFile>,
    /// The install command (argv), run once per distinct set of files and command.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub install_command: Vec<String>,
    /// The entrypoint (argv) each invoke runs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
}

impl Configure {
    /// Nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a file.
    pub fn file(mut self, file: ConfigureFile) -> Self {
        self.files.push(file);
        self
    }

    /// Adds a text file.
    pub fn file_text(self, path: impl Into<String>, content: impl Into<String>) -> Self {
        self.file(ConfigureFile::text(path, content))
    }

    /// Adds a file from bytes (text when valid UTF-8, else base64).
    pub fn file_bytes(self, path: impl Into<String>, data: impl Into<Vec<u8>>) -> Self {
        self.file(ConfigureFile::bytes(path, data))
    }

    /// Adds a file read from the local disk.
    pub fn file_from_local(self, path: impl Into<String>, local: impl AsRef<Path>) -> Result<Self> {
        Ok(self.file(ConfigureFile::from_local(path, local)?))
    }

    /// Sets the install command.
    pub fn install_command<S: Into<String>>(mut self, argv: impl IntoIterator<Item = S>) -> Self {
        self.install_command = argv.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the entrypoint.
    pub fn entrypoint<S: Into<String>>(mut self, argv: impl IntoIterator<Item = S>) -> Self {
        self.entrypoint = argv.into_iter().map(Into::into).collect();
        self
    }

    /// Checks what the Router would refuse, before sending anything.
    pub fn validate(&self) -> Result<()> {
        if self.files.is_empty() && self.install_command.is_empty() && self.entrypoint.is_empty() {
            return Err(Error::invalid_input(
                "configure needs at least one of files, install command or entrypoint",
            ));
        }
        for file in &self.files {
            if !file.path.starts_with('/') {
                return Err(Error::invalid_input(format!(
                    "configure file path {:?} must be absolute",
                    file.path
                )));
            }
            if file.path.split('/').any(|seg| seg == "..") {
                return Err(Error::invalid_input(format!(
                    "configure file path {:?} must not contain '..'",
                    file.path
                )));
            }
            if file.path.contains(['\'', '`', '\\', '\n', '\r', '\0']) {
                return Err(Error::invalid_input(format!(
                    "configure file path {:?} contains a character the Router refuses (' ` \\ newline NUL)",
                    file.path
                )));
            }
        }
        Ok(())
    }
}

/// What a finished `configure` reports.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct ConfigureResult {
    /// When the configuration was applied.
    #[serde(with = "timestamp::option")]
    pub last_configured_at: Option<OffsetDateTime>,
    /// Hash over the install command and files; equal hashes skip the install.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub install_command_hash: String,
    /// The entrypoint now in force.
    #[serde(deserialize_with = "nullable_list::deserialize")]
    pub entrypoint: Vec<String>,
    /// Exit code of the install command (non-zero means nothing was persisted).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub install_exit_code: i32,
    /// Whether files and install were skipped because they were already applied.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub skipped: bool,
}

/// The body of an invocation and its options.
///
/// ```
/// use std::time::Duration;
/// use agenttier_core::models::Invoke;
/// let call = Invoke::json(&serde_json::json!({"task": "summarize"})).unwrap()
///     .prompt("be brief")
///     .timeout(Duration::from_secs(60));
/// # let _ = call;
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Invoke {
    /// Bytes fed to the entrypoint's standard input.
    pub body: Vec<u8>,
    /// Their content type.
    pub content_type: String,
    /// Appended to argv as `--prompt=<value>`, and used as stdin when the body is empty.
    pub prompt: Option<String>,
    /// Invoke timeout; it can only lower the template's cap.
    pub timeout: Option<Duration>,
}

impl Invoke {
    /// No body.
    pub fn empty() -> Self {
        Invoke {
            content_type: "application/octet-stream".to_owned(),
            ..Default::default()
        }
    }

    /// A JSON body (`application/json`).
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self> {
        let body = serde_json::to_vec(value)
            .map_err(|e| Error::invalid_input(format!("invoke payload cannot be encoded as JSON: {e}")))?;
        Ok(Invoke {
            body,
            content_type: "application/json".to_owned(),
            ..Default::default()
        })
    }

    /// A text body (`text/plain; charset=utf-8`).
    pub fn text(text: impl Into<String>) -> Self {
        Invoke {
            body: text.into().into_bytes(),
            content_type: "text/plain; charset=utf-8".to_owned(),
            ..Default::default()
        }
    }

    /// A binary body (`application/octet-stream`).
    pub fn bytes(data: impl Into<Vec<u8>>) -> Self {
        Invoke {
            body: data.into(),
            ..Self::empty()
        }
    }

    /// Sets the prompt.
    pub fn prompt(mut self, prompt: impl Into<String>) -> Self {
        self.prompt = Some(prompt.into());
        self
    }

    /// Sets the invoke timeout (sent as a Go duration).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Largest body the Router accepts.
    pub const MAX_BODY: usize = 16 * 1024 * 1024;

    /// The query parameters of the call.
    pub fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(p) = &self.prompt {
            q.push(("prompt", p.clone()));
        }
        if let Some(t) = self.timeout {
            q.push(("timeout", duration::format(t)));
        }
        q
    }

    /// Refuses a body over 16 MiB or a zero timeout before sending.
    pub fn validate(&self) -> Result<()> {
        if self.body.len() > Self::MAX_BODY {
            return Err(Error::invalid_input(format!(
                "invoke body is {} bytes; the Router accepts at most {} (16 MiB): upload large inputs as files",
                self.body.len(),
                Self::MAX_BODY
            )));
        }
        if self.timeout.is_some_and(|t| t.is_zero()) {
            return Err(Error::invalid_input("invoke timeout must be positive"));
        }
        Ok(())
    }
}

/// How an invocation ended (`exit` event).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct InvokeExit {
    /// The invocation id (`inv-` + 24 hex).
    #[serde(deserialize_with = "nullable::deserialize")]
    pub invoke_id: String,
    /// Exit code; `-1` when cancelled, timed out or failed.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub exit_code: i32,
    /// Run time in milliseconds.
    #[serde(deserialize_with = "nullable::deserialize")]
    pub duration_ms: u64,
    /// Why it ended.
    pub reason: ExitReason,
}

/// One event of an invoke stream.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvokeEvent {
    /// Always first: the id to cancel with.
    Start {
        /// The invocation id.
        invoke_id: String,
        /// When it started.
        started_at: Option<OffsetDateTime>,
    },
    /// One line of output, without its newline.
    Log {
        /// Which stream.
        stream: LogStream,
        /// The line.
        line: String,
    },
    /// Always last, unless the connection broke.
    Exit(InvokeExit),
    /// The platform reported a failure (the SDKs tolerate it; today's Router does not send it).
    Error {
        /// What failed.
        message: String,
    },
    /// An event this SDK version does not know, kept raw.
    Unknown {
        /// The event type.
        event: String,
        /// The raw data.
        data: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StartData {
    #[serde(default, deserialize_with = "nullable::deserialize")]
    invoke_id: String,
    #[serde(default)]
    started_at: Option<i64>,
}

#[derive(Deserialize)]
struct LogData {
    #[serde(default)]
    stream: LogStream,
    #[serde(default, deserialize_with = "nullable::deserialize")]
    data: String,
}

#[derive(Deserialize)]
struct ErrorData {
    #[serde(default)]
    phase: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

impl ErrorData {
    fn text(self) -> String {
        let message = self
            .message
            .or(self.error)
            .unwrap_or_else(|| "unknown error".to_owned());
        match self.phase {
            Some(phase) if !phase.is_empty() => format!("{phase}: {message}"),
            _ => message,
        }
    }
}

fn data<'a, T: Deserialize<'a>>(event: &'a SseEvent) -> Result<T> {
    serde_json::from_str(&event.data).map_err(|e| {
        Error::stream(format!(
            "undecodable {:?} event ({e}): {}",
            event.event,
            event.data.chars().take(200).collect::<String>()
        ))
    })
}

impl InvokeEvent {
    /// Decodes one SSE event of `/invoke`.
    pub fn decode(event: &SseEvent) -> Result<Self> {
        Ok(match event.event.as_str() {
            "start" => {
                let d: StartData = data(event)?;
                let started_at = d
                    .started_at
                    .and_then(|ms| OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok());
                InvokeEvent::Start {
                    invoke_id: d.invoke_id,
                    started_at,
                }
            }
            "log" => {
                let d: LogData = data(event)?;
                InvokeEvent::Log {
                    stream: d.stream,
                    line: d.data,
                }
            }
            "exit" => InvokeEvent::Exit(data(event)?),
            "error" => InvokeEvent::Error {
                message: data::<ErrorData>(event)?.text(),
            },
            other => InvokeEvent::Unknown {
                event: other.to_owned(),
                data: event.data.clone(),
            },
        })
    }
}

/// One event of a configure stream.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ConfigureEvent {
    /// Upload or install output.
    Log {
        /// Which stream.
        stream: LogStream,
        /// The line.
        line: String,
    },
    /// Success (the install may still have failed: see `install_exit_code`).
    Result(ConfigureResult),
    /// Failure while writing files or installing.
    Error {
        /// `files` or `install`, with the message.
        message: String,
    },
    /// An event this SDK version does not know.
    Unknown {
        /// The event type.
        event: String,
        /// The raw data.
        data: String,
    },
}

impl ConfigureEvent {
    /// Decodes one SSE event of `/configure`.
    pub fn decode(event: &SseEvent) -> Result<Self> {
        Ok(match event.event.as_str() {
            "log" => {
                let d: LogData = data(event)?;
                ConfigureEvent::Log {
                    stream: d.stream,
                    line: d.data,
                }
            }
            "result" => ConfigureEvent::Result(data(event)?),
            "error" => ConfigureEvent::Error {
                message: data::<ErrorData>(event)?.text(),
            },
            other => ConfigureEvent::Unknown {
                event: other.to_owned(),
                data: event.data.clone(),
            },
        })
    }
}

/// The collected outcome of an invocation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct InvokeResult {
    /// The invocation id.
    pub invoke_id: String,
    /// Exit code.
    pub exit_code: i32,
    /// Run time in milliseconds.
    pub duration_ms: u64,
    /// Why it ended.
    pub reason: ExitReason,
    /// Standard output lines joined with `\n`.
    pub stdout: String,
    /// Standard error lines joined with `\n`.
    pub stderr: String,
}

impl InvokeResult {
    /// Whether the entrypoint completed with exit code 0.
    pub fn success(&self) -> bool {
        self.reason == ExitReason::Completed && self.exit_code == 0
    }
}

/// Folds invoke events into an [`InvokeResult`].
#[derive(Debug, Default)]
pub struct InvokeCollector {
    result: InvokeResult,
    exited: bool,
}

impl InvokeCollector {
    /// Takes one event; an `error` event ends the collection with an error.
    pub fn push(&mut self, event: InvokeEvent) -> Result<()> {
        match event {
            InvokeEvent::Start { invoke_id, .. } => self.result.invoke_id = invoke_id,
            InvokeEvent::Log { stream, line } => {
                let out = if stream == LogStream::Stderr {
                    &mut self.result.stderr
                } else {
                    &mut self.result.stdout
                };
                if !out.is_empty() {
                    out.push('\n');
                }
                out.push_str(&line);
            }
            InvokeEvent::Exit(exit) => {
                if self.result.invoke_id.is_empty() {
                    self.result.invoke_id = exit.invoke_id;
                }
                self.result.exit_code = exit.exit_code;
                self.result.duration_ms = exit.duration_ms;
                self.result.reason = exit.reason;
                self.exited = true;
            }
            InvokeEvent::Error { message } => return Err(Error::stream(format!("invoke failed: {message}"))),
            InvokeEvent::Unknown { .. } => {}
        }
        Ok(())
    }

    /// The result, or an error when the stream ended without an `exit` event.
    pub fn finish(self) -> Result<InvokeResult> {
        if self.exited {
            Ok(self.result)
        } else {
            Err(Error::stream(format!(
                "invoke stream ended without an exit event (invoke {:?}); the connection was probably cut",
                self.result.invoke_id
            )))
        }
    }
}

/// Folds configure events into a [`ConfigureResult`], passing log lines to a callback.
pub fn fold_configure(
    event: ConfigureEvent,
    on_log: &mut dyn FnMut(&LogStream, &str),
) -> Result<Option<ConfigureResult>> {
    match event {
        ConfigureEvent::Log { stream, line } => {
            on_log(&stream, &line);
            Ok(None)
        }
        ConfigureEvent::Result(result) => Ok(Some(result)),
        ConfigureEvent::Error { message } => Err(Error::stream(format!("configure failed: {message}"))),
        ConfigureEvent::Unknown { .. } => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: event.to_owned(),
            data: data.to_owned(),
            id: None,
            retry: None,
        }
    }

    #[test]
    fn decodes_the_router_events() {
        let start = InvokeEvent::decode(&ev(
            "start",
            r#"{"invokeId":"inv-0123456789abcdef01234567","startedAt":1753201785123}"#,
        ))
        .unwrap();
        let InvokeEvent::Start { invoke_id, started_at } = start else {
            panic!()
        };
        assert_eq!(invoke_id, "inv-0123456789abcdef01234567");
        assert_eq!(started_at.unwrap().millisecond(), 123);
        let log = InvokeEvent::decode(&ev("log", r#"{"stream":"stderr","data":"warn"}"#)).unwrap();
        assert_eq!(
            log,
            InvokeEvent::Log {
                stream: LogStream::Stderr,
                line: "warn".into()
            }
        );
        let exit = InvokeEvent::decode(&ev(
            "exit",
            r#"{"invokeId":"inv-1","exitCode":-1,"durationMs":12,"reason":"canceled"}"#,
        ))
        .unwrap();
        assert!(matches!(
            exit,
            InvokeEvent::Exit(InvokeExit {
                exit_code: -1,
                reason: ExitReason::Canceled,
                ..
            })
        ));
        let future = InvokeEvent::decode(&ev("progress", r#"{"pct":50}"#)).unwrap();
        assert!(matches!(future, InvokeEvent::Unknown { ref event, .. } if event == "progress"));
        let weird_reason = InvokeEvent::decode(&ev(
            "exit",
            r#"{"invokeId":"i","exitCode":0,"durationMs":1,"reason":"evicted"}"#,
        ))
        .unwrap();
        assert!(matches!(
            weird_reason,
            InvokeEvent::Exit(InvokeExit {
                reason: ExitReason::Unknown(_),
                ..
            })
        ));
        assert!(matches!(
            InvokeEvent::decode(&ev("log", "not json")),
            Err(Error::Stream { .. })
        ));
    }

    #[test]
    fn collects_results() {
        let mut c = InvokeCollector::default();
        for e in [
            InvokeEvent::Start {
                invoke_id: "inv-1".into(),
                started_at: None,
            },
            InvokeEvent::Log {
                stream: LogStream::Stdout,
                line: "a".into(),
            },
            InvokeEvent::Log {
                stream: LogStream::Stderr,
                line: "e".into(),
            },
            InvokeEvent::Log {
                stream: LogStream::Stdout,
                line: "".into(),
            },
            InvokeEvent::Log {
                stream: LogStream::Stdout,
                line: "b".into(),
            },
            InvokeEvent::Exit(InvokeExit {
                invoke_id: "inv-1".into(),
                exit_code: 2,
                duration_ms: 5,
                reason: ExitReason::Completed,
            }),
        ] {
            c.push(e).unwrap();
        }
        let r = c.finish().unwrap();
        assert_eq!((r.stdout.as_str(), r.stderr.as_str(), r.exit_code), ("a\n\nb", "e", 2));
        assert!(!r.success());
        let mut cut = InvokeCollector::default();
        cut.push(InvokeEvent::Start {
            invoke_id: "inv-2".into(),
            started_at: None,
        })
        .unwrap();
        assert!(matches!(cut.finish(), Err(Error::Stream { .. })));
        let mut failed = InvokeCollector::default();
        assert!(failed.push(InvokeEvent::Error { message: "x".into() }).is_err());
    }

    #[test]
    fn configure_bodies() {
        let cfg = Configure::new()
            .file_text("/workspace/a.py", "print(1)\n")
            .file_bytes("/workspace/b.bin", vec![0xff, 0, 1])
            .file_bytes("/workspace/c.txt", b"plain".to_vec())
            .install_command(["true"])
            .entrypoint(["python3", "/workspace/a.py"]);
        let body = serde_json::to_value(&cfg).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"files":[{"path":"/workspace/a.py","content":"print(1)\n"},
                {"path":"/workspace/b.bin","contentBase64":"/wAB"},{"path":"/workspace/c.txt","content":"plain"}],
                "installCommand":["true"],"entrypoint":["python3","/workspace/a.py"]})
        );
        assert!(Configure::new().validate().is_err());
        assert!(Configure::new().file_text("rel.txt", "").validate().is_err());
        assert!(
            Configure::new()
                .file_text("/workspace/../etc/x", "")
                .validate()
                .is_err()
        );
        assert!(Configure::new().file_text("/workspace/it's", "").validate().is_err());
        let ev = ConfigureEvent::decode(&ev(
            "error",
            r#"{"phase":"install","message":"install timed out after 15m0s"}"#,
        ))
        .unwrap();
        let err = fold_configure(ev, &mut |_, _| {}).unwrap_err();
        assert!(err.to_string().contains("install: install timed out"), "{err}");
    }

    #[test]
    fn invoke_options() {
        let call = Invoke::text("hi").prompt("p q").timeout(Duration::from_secs(90));
        assert_eq!(
            call.query(),
            vec![("prompt", "p q".to_owned()), ("timeout", "1m30s".to_owned())]
        );
        assert_eq!(call.content_type, "text/plain; charset=utf-8");
        assert!(Invoke::bytes(vec![0; Invoke::MAX_BODY + 1]).validate().is_err());
        assert_eq!(Invoke::json(&[1, 2]).unwrap().body, b"[1,2]");
    }
}
