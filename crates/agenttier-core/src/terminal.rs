//! The terminal WebSocket's frames (wire spec §11.5) and a UTF-8 decoder for terminal output,
//! without any I/O: the client flavours, the CLI and the local router all speak through these.
//!
//! Every frame is one JSON text message `{"type": ..., ...}`. The client sends [`ClientFrame`]s
//! (`input`, `resize`, `ping`); the server sends [`ServerFrame`]s (`output`, `pong`, `heartbeat`,
//! `error`, `close`). Decoding is forgiving the way the protocol asks: a frame that is not a JSON
//! object with a known `type` is reported as `None` (the receiver ignores it) and never an error.
//!
//! ```
//! use agenttier_core::terminal::{ClientFrame, ServerFrame, CloseReason};
//! assert_eq!(ClientFrame::input("ls\r").encode(), r#"{"type":"input","data":"ls\r"}"#);
//! let frame = ServerFrame::decode(r#"{"type":"close","reason":"sandbox_stopped","code":1000}"#);
//! assert_eq!(frame, Some(ServerFrame::Close { reason: CloseReason::SandboxStopped, code: Some(1000) }));
//! assert_eq!(ServerFrame::decode("not json"), None);
//! ```

use serde::{Deserialize, Serialize};

/// What a client sends.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientFrame {
    /// Keystrokes or pasted text for the shell (`\r` is Enter, `\u{3}` is Ctrl-C).
    Input {
        /// The text typed.
        data: String,
    },
    /// The window changed size.
    Resize {
        /// Columns.
        cols: u16,
        /// Rows.
        rows: u16,
    },
    /// Application-level ping; the server answers [`ServerFrame::Pong`].
    Ping,
}

/// What a server sends.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerFrame {
    /// Terminal output (always valid UTF-8; the server replaces invalid bytes).
    Output {
        /// The stream: `stdout` (a terminal merges stderr into it).
        stream: String,
        /// The text.
        data: String,
    },
    /// The answer to [`ClientFrame::Ping`].
    Pong,
    /// Sent every 30 s while the session is open, with the server's clock in Unix milliseconds.
    Heartbeat {
        /// Server time, Unix milliseconds.
        ts: Option<i64>,
    },
    /// Something went wrong; the session may go on or be closed after it.
    Error {
        /// What happened.
        message: String,
    },
    /// The server ends the session; the socket closes after this frame.
    Close {
        /// Why.
        reason: CloseReason,
        /// A status code the server attached, if any.
        code: Option<i64>,
    },
}

/// Why a server ended a terminal session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CloseReason {
    /// The sandbox was stopped.
    SandboxStopped,
    /// The sandbox was deleted.
    SandboxDeleted,
    /// The sandbox stopped after its idle timeout.
    IdleTimeout,
    /// The session (or the sandbox's maximum runtime) expired.
    SessionExpired,
    /// The caller lost access (a share was revoked).
    AccessRevoked,
    /// The session failed, or the shell ended (`exit`).
    Error,
    /// A reason this SDK does not know yet.
    Unknown(String),
}

impl CloseReason {
    /// The reason as it is written on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            CloseReason::SandboxStopped => "sandbox_stopped",
            CloseReason::SandboxDeleted => "sandbox_deleted",
            CloseReason::IdleTimeout => "idle_timeout",
            CloseReason::SessionExpired => "session_expired",
            CloseReason::AccessRevoked => "access_revoked",
            CloseReason::Error => "error",
            CloseReason::Unknown(s) => s,
        }
    }

    /// Reads a wire reason; unknown ones are kept as [`CloseReason::Unknown`].
    pub fn parse(s: &str) -> CloseReason {
        match s {
            "sandbox_stopped" => CloseReason::SandboxStopped,
            "sandbox_deleted" => CloseReason::SandboxDeleted,
            "idle_timeout" => CloseReason::IdleTimeout,
            "session_expired" => CloseReason::SessionExpired,
            "access_revoked" => CloseReason::AccessRevoked,
            "error" => CloseReason::Error,
            other => CloseReason::Unknown(other.to_owned()),
        }
    }

    /// A sentence for people (the CLI prints it when a session ends).
    pub fn describe(&self) -> String {
        match self {
            CloseReason::SandboxStopped => "the sandbox was stopped".into(),
            CloseReason::SandboxDeleted => "the sandbox was deleted".into(),
            CloseReason::IdleTimeout => "the sandbox stopped after its idle timeout".into(),
            CloseReason::SessionExpired => "the session expired".into(),
            CloseReason::AccessRevoked => "your access to the sandbox was revoked".into(),
            CloseReason::Error => "the session ended".into(),
            CloseReason::Unknown(s) => format!("the server closed the session ({s})"),
        }
    }
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The JSON shape shared by every frame: the union of their fields.
#[derive(Default, Serialize, Deserialize)]
struct Wire<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    stream: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cols: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    rows: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ts: Option<serde_json::Value>,
}

impl<'a> Wire<'a> {
    fn of(kind: &'a str) -> Wire<'a> {
        Wire {
            kind: kind.into(),
            ..Wire::default()
        }
    }

    fn encode(&self) -> String {
        // Serializing strings and integers into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    fn decode(text: &'a str) -> Option<Wire<'a>> {
        serde_json::from_str(text).ok()
    }
}

/// An integer field, accepting any JSON number that is a whole value (browsers send `80.0`).
fn int(v: &Option<serde_json::Value>) -> Option<i64> {
    match v.as_ref()? {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        _ => None,
    }
}

impl ClientFrame {
    /// An `input` frame.
    pub fn input(data: impl Into<String>) -> ClientFrame {
        ClientFrame::Input { data: data.into() }
    }

    /// The JSON text of this frame.
    pub fn encode(&self) -> String {
        match self {
            ClientFrame::Input { data } => Wire {
                data: Some(data.clone()),
                ..Wire::of("input")
            },
            ClientFrame::Resize { cols, rows } => Wire {
                cols: Some((*cols).into()),
                rows: Some((*rows).into()),
                ..Wire::of("resize")
            },
            ClientFrame::Ping => Wire::of("ping"),
        }
        .encode()
    }

    /// Reads a client frame; `None` for anything malformed (unknown type, missing or wrong
    /// fields, a resize outside 1..=65535), which a server ignores.
    pub fn decode(text: &str) -> Option<ClientFrame> {
        let w = Wire::decode(text)?;
        match w.kind.as_ref() {
            "input" => Some(ClientFrame::Input { data: w.data? }),
            "resize" => {
                let dim = |v: &Option<serde_json::Value>| int(v).and_then(|n| u16::try_from(n).ok()).filter(|n| *n > 0);
                Some(ClientFrame::Resize {
                    cols: dim(&w.cols)?,
                    rows: dim(&w.rows)?,
                })
            }
            "ping" => Some(ClientFrame::Ping),
            _ => None,
        }
    }
}

impl ServerFrame {
    /// A `stdout` output frame.
    pub fn output(data: impl Into<String>) -> ServerFrame {
        ServerFrame::Output {
            stream: "stdout".into(),
            data: data.into(),
        }
    }

    /// The JSON text of this frame.
    pub fn encode(&self) -> String {
        match self {
            ServerFrame::Output { stream, data } => Wire {
                stream: Some(stream.clone()),
                data: Some(data.clone()),
                ..Wire::of("output")
            },
            ServerFrame::Pong => Wire::of("pong"),
            ServerFrame::Heartbeat { ts } => Wire {
                ts: ts.map(Into::into),
                ..Wire::of("heartbeat")
            },
            ServerFrame::Error { message } => Wire {
                message: Some(message.clone()),
                ..Wire::of("error")
            },
            ServerFrame::Close { reason, code } => Wire {
                reason: Some(reason.as_str().to_owned()),
                code: code.map(Into::into),
                ..Wire::of("close")
            },
        }
        .encode()
    }

    /// Reads a server frame; `None` for anything that is not a known frame (ignored by clients,
    /// so a server that grows new frame types does not break them).
    pub fn decode(text: &str) -> Option<ServerFrame> {
        let w = Wire::decode(text)?;
        match w.kind.as_ref() {
            "output" => Some(ServerFrame::Output {
                stream: w.stream.unwrap_or_else(|| "stdout".into()),
                data: w.data?,
            }),
            "pong" => Some(ServerFrame::Pong),
            "heartbeat" => Some(ServerFrame::Heartbeat { ts: int(&w.ts) }),
            "error" => Some(ServerFrame::Error {
                message: w.message.unwrap_or_default(),
            }),
            "close" => Some(ServerFrame::Close {
                reason: CloseReason::parse(w.reason.as_deref().unwrap_or("error")),
                code: int(&w.code),
            }),
            _ => None,
        }
    }
}

/// What a client reads from a terminal session.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TerminalEvent {
    /// Terminal output (stdout and stderr merged, as on any terminal).
    Output(String),
    /// The server reported a problem.
    Error(String),
    /// The server ended the session; nothing follows.
    Close {
        /// Why.
        reason: CloseReason,
        /// The code the server attached, if any.
        code: Option<i64>,
    },
}

impl TerminalEvent {
    /// The event a server text message carries: `None` for heartbeats, pongs and anything
    /// unknown or malformed (ignored, as the protocol asks).
    pub fn from_text(text: &str) -> Option<TerminalEvent> {
        match ServerFrame::decode(text)? {
            ServerFrame::Output { data, .. } => Some(TerminalEvent::Output(data)),
            ServerFrame::Error { message } => Some(TerminalEvent::Error(message)),
            ServerFrame::Close { reason, code } => Some(TerminalEvent::Close { reason, code }),
            ServerFrame::Pong | ServerFrame::Heartbeat { .. } => None,
        }
    }
}

/// How to open a terminal ([`TerminalOptions::default`]: an interactive shell, 80×24).
///
/// ```
/// use agenttier_core::terminal::TerminalOptions;
/// let opts = TerminalOptions::default().size(120, 40).command("htop");
/// # let _ = opts;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TerminalOptions {
    /// Columns of the window, sent as the first frame.
    pub cols: u16,
    /// Rows of the window.
    pub rows: u16,
    /// Run this command on the terminal instead of an interactive shell (`?command=`; an
    /// extension of the local router: other servers ignore it and open a shell).
    pub command: Option<String>,
    /// Pin the sandbox lookup to this namespace (`?namespace=`).
    pub namespace: Option<String>,
}

impl Default for TerminalOptions {
    fn default() -> Self {
        TerminalOptions {
            cols: 80,
            rows: 24,
            command: None,
            namespace: None,
        }
    }
}

impl TerminalOptions {
    /// Window size.
    pub fn size(mut self, cols: u16, rows: u16) -> Self {
        self.cols = cols;
        self.rows = rows;
        self
    }

    /// A command to run instead of the interactive shell.
    pub fn command(mut self, command: impl Into<String>) -> Self {
        self.command = Some(command.into());
        self
    }

    /// The namespace the sandbox lives in.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }
}

/// The WebSocket URL of a sandbox's terminal: the client's base URL with `ws`/`wss` for
/// `http`/`https`, `/ws/terminal/<id>` and the options' query. Credentials travel in headers
/// (never in the URL, where logs would keep them).
///
/// ```
/// use agenttier_core::terminal::{TerminalOptions, terminal_url};
/// let url = terminal_url("https://at.example/prefix", "my box", &TerminalOptions::default().namespace("team a")).unwrap();
/// assert_eq!(url, "wss://at.example/prefix/ws/terminal/my%20box?namespace=team%20a");
/// ```
pub fn terminal_url(base_url: &str, sandbox_id: &str, options: &TerminalOptions) -> crate::Result<String> {
    if sandbox_id.is_empty() {
        return Err(crate::Error::invalid_input("sandbox id must not be empty"));
    }
    if options.cols == 0 || options.rows == 0 {
        return Err(crate::Error::invalid_input("terminal size must be at least 1x1"));
    }
    let rest = if let Some(r) = base_url.strip_prefix("https://") {
        format!("wss://{r}")
    } else if let Some(r) = base_url.strip_prefix("http://") {
        format!("ws://{r}")
    } else {
        return Err(crate::Error::config(format!(
            "base URL {base_url:?} must start with http:// or https://"
        )));
    };
    let mut url = format!("{rest}/ws/terminal/{}", crate::request::segment(sandbox_id));
    let mut sep = '?';
    for (key, value) in [("namespace", &options.namespace), ("command", &options.command)] {
        if let Some(v) = value {
            let v = percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC);
            url.push_str(&format!("{sep}{key}={v}"));
            sep = '&';
        }
    }
    Ok(url)
}

/// Turns terminal output, read in arbitrary chunks, into valid UTF-8 text: a multi-byte
/// character split between two reads is held back until its end arrives, and invalid bytes
/// become U+FFFD, exactly as [`String::from_utf8_lossy`] would render the whole output.
///
/// ```
/// use agenttier_core::terminal::Utf8Decoder;
/// let mut d = Utf8Decoder::default();
/// let euro = "€".as_bytes();
/// assert_eq!(d.push(&euro[..1]), "");
/// assert_eq!(d.push(&euro[1..]), "€");
/// assert_eq!(d.push(b"\xffok"), "\u{fffd}ok");
/// assert_eq!(d.push(&euro[..2]), "");
/// assert_eq!(d.finish(), "\u{fffd}");
/// ```
#[derive(Debug, Default, Clone)]
pub struct Utf8Decoder {
    pending: Vec<u8>,
}

impl Utf8Decoder {
    /// Decodes what can be decoded of `pending + bytes`, keeping an unfinished trailing
    /// sequence (at most 3 bytes) for the next call.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        let joined;
        let input: &[u8] = if self.pending.is_empty() {
            bytes
        } else {
            self.pending.extend_from_slice(bytes);
            joined = std::mem::take(&mut self.pending);
            &joined
        };
        let mut out = String::with_capacity(input.len());
        let mut rest = input;
        loop {
            match std::str::from_utf8(rest) {
                Ok(s) => {
                    out.push_str(s);
                    break;
                }
                Err(e) => {
                    let (good, bad) = rest.split_at(e.valid_up_to());
                    // `good` was just validated.
                    out.push_str(std::str::from_utf8(good).unwrap_or_default());
                    match e.error_len() {
                        Some(n) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            rest = &bad[n..];
                        }
                        None => {
                            // An incomplete sequence at the end: wait for the rest of it.
                            self.pending = bad.to_vec();
                            break;
                        }
                    }
                }
            }
        }
        out
    }

    /// Ends the output: an unfinished sequence still held becomes U+FFFD.
    pub fn finish(&mut self) -> String {
        if self.pending.is_empty() {
            return String::new();
        }
        let out = String::from_utf8_lossy(&self.pending).into_owned();
        self.pending.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn client_frames_round_trip() {
        for f in [
            ClientFrame::input("ls -la\r\u{3}é"),
            ClientFrame::Resize { cols: 120, rows: 40 },
            ClientFrame::Ping,
        ] {
            assert_eq!(ClientFrame::decode(&f.encode()), Some(f));
        }
        assert_eq!(
            ClientFrame::decode(r#"{"type":"resize","cols":80.0,"rows":24,"extra":1}"#),
            Some(ClientFrame::Resize { cols: 80, rows: 24 })
        );
    }

    #[test]
    fn malformed_client_frames_are_none() {
        for text in [
            "",
            "null",
            "[]",
            "{}",
            r#"{"type":"input"}"#,
            r#"{"type":"input","data":5}"#,
            r#"{"type":"resize","cols":0,"rows":10}"#,
            r#"{"type":"resize","cols":70000,"rows":10}"#,
            r#"{"type":"resize","cols":-1,"rows":10}"#,
            r#"{"type":"resize","cols":"80","rows":10}"#,
            r#"{"type":"resize","cols":80.5,"rows":10}"#,
            r#"{"type":"explode"}"#,
            r#"{"type":7}"#,
        ] {
            assert_eq!(ClientFrame::decode(text), None, "{text}");
        }
    }

    #[test]
    fn server_frames_round_trip() {
        for f in [
            ServerFrame::output("hi\r\n"),
            ServerFrame::Pong,
            ServerFrame::Heartbeat {
                ts: Some(1_700_000_000_000),
            },
            ServerFrame::Error { message: "boom".into() },
            ServerFrame::Close {
                reason: CloseReason::AccessRevoked,
                code: Some(1000),
            },
            ServerFrame::Close {
                reason: CloseReason::Unknown("maintenance".into()),
                code: None,
            },
        ] {
            assert_eq!(ServerFrame::decode(&f.encode()), Some(f));
        }
        assert_eq!(
            ServerFrame::output("x").encode(),
            r#"{"type":"output","stream":"stdout","data":"x"}"#
        );
        assert_eq!(ServerFrame::decode(r#"{"type":"surprise"}"#), None);
    }

    #[test]
    fn close_reasons_round_trip() {
        for r in [
            "sandbox_stopped",
            "sandbox_deleted",
            "idle_timeout",
            "session_expired",
            "access_revoked",
            "error",
        ] {
            let parsed = CloseReason::parse(r);
            assert!(!matches!(parsed, CloseReason::Unknown(_)));
            assert_eq!(parsed.as_str(), r);
        }
    }

    #[test]
    fn events_skip_heartbeats_and_pongs() {
        assert_eq!(TerminalEvent::from_text(r#"{"type":"heartbeat","ts":1}"#), None);
        assert_eq!(TerminalEvent::from_text(r#"{"type":"pong"}"#), None);
        assert_eq!(
            TerminalEvent::from_text(r#"{"type":"output","stream":"stdout","data":"x"}"#),
            Some(TerminalEvent::Output("x".into()))
        );
        assert_eq!(
            TerminalEvent::from_text(r#"{"type":"close","reason":"idle_timeout"}"#),
            Some(TerminalEvent::Close {
                reason: CloseReason::IdleTimeout,
                code: None
            })
        );
    }

    #[test]
    fn urls() {
        let o = TerminalOptions::default();
        assert_eq!(
            terminal_url("http://127.0.0.1:1", "a", &o).unwrap(),
            "ws://127.0.0.1:1/ws/terminal/a"
        );
        let o = o.command("ls -l /").namespace("n");
        assert_eq!(
            terminal_url("http://h", "a/b", &o).unwrap(),
            "ws://h/ws/terminal/a%2Fb?namespace=n&command=ls%20%2Dl%20%2F"
        );
        assert!(terminal_url("ftp://h", "a", &o).is_err());
        assert!(terminal_url("http://h", "", &o).is_err());
        assert!(terminal_url("http://h", "a", &TerminalOptions::default().size(0, 5)).is_err());
    }

    proptest! {
        #[test]
        fn decoder_matches_lossy_whatever_the_chunking(bytes in proptest::collection::vec(any::<u8>(), 0..200), cuts in proptest::collection::vec(0usize..200, 0..6)) {
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(bytes.len())).collect();
            cuts.sort_unstable();
            let mut d = Utf8Decoder::default();
            let mut out = String::new();
            let mut at = 0;
            for c in cuts {
                out.push_str(&d.push(&bytes[at..c]));
                at = c;
            }
            out.push_str(&d.push(&bytes[at..]));
            out.push_str(&d.finish());
            prop_assert_eq!(out, String::from_utf8_lossy(&bytes).into_owned());
        }
    }
}
