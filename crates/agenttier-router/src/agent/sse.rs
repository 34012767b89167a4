//! SSE framing of the agent routes (wire spec §9.1), byte for byte as the Router writes it:
//! `event: <name>\ndata: <single-line JSON>\n\n`, JSON as Go's `encoding/json` encodes it
//! (map keys sorted, `<` `>` `&` U+2028 U+2029 escaped, one `\ufffd` per invalid UTF-8 byte).
//!
//! Output lines are split by [`LineSplitter`]: one `log` event per line without its `\n`; a last
//! line without a trailing newline is still emitted (§16); a line longer than [`MAX_LINE`] is
//! sent as several events of at most that many bytes. Events are formatted straight into the
//! chunk that goes on the wire, so a read of 64 KiB of output becomes one body chunk.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use tokio::sync::mpsc;

/// Longest `data` of one `log` event, in bytes of output; longer lines are split.
pub(crate) const MAX_LINE: usize = 64 * 1024;

/// The keep-alive comment of invokes.
pub(crate) const KEEPALIVE: &[u8] = b": keepalive\n\n";

/// Which output stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Bytes that can be copied as they are in ASCII text.
fn plain(b: u8) -> bool {
    (0x20..0x80).contains(&b) && !matches!(b, b'"' | b'\\' | b'<' | b'>' | b'&')
}

fn escape_ascii(out: &mut Vec<u8>, b: u8) {
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        _ => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 0xf) as usize]]),
    }
}

/// Appends the escaped body of a valid UTF-8 string (without quotes).
fn escape_valid(out: &mut Vec<u8>, s: &[u8]) {
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if plain(b) {
            i += 1;
            continue;
        }
        if b >= 0x80 {
            // U+2028 / U+2029 are E2 80 A8 / E2 80 A9.
            if b == 0xE2 && i + 2 < s.len() && s[i + 1] == 0x80 && (s[i + 2] == 0xA8 || s[i + 2] == 0xA9) {
                out.extend_from_slice(&s[start..i]);
                out.extend_from_slice(if s[i + 2] == 0xA8 { b"\\u2028" } else { b"\\u2029" });
                i += 3;
                start = i;
            } else {
                i += 1;
            }
            continue;
        }
        out.extend_from_slice(&s[start..i]);
        escape_ascii(out, b);
        i += 1;
        start = i;
    }
    out.extend_from_slice(&s[start..]);
}

/// Appends `bytes` as a JSON string, quotes included, the way Go encodes a `string`.
pub(crate) fn push_json_str(out: &mut Vec<u8>, bytes: &[u8]) {
    out.push(b'"');
    if std::str::from_utf8(bytes).is_ok() {
        escape_valid(out, bytes);
    } else {
        for chunk in bytes.utf8_chunks() {
            escape_valid(out, chunk.valid().as_bytes());
            for _ in chunk.invalid() {
                out.extend_from_slice(b"\\ufffd");
            }
        }
    }
    out.push(b'"');
}

/// Appends one `log` event (`{"data":…,"stream":…}`, Go's sorted map keys).
pub(crate) fn push_log(out: &mut Vec<u8>, stream: Stream, line: &[u8]) {
    out.extend_from_slice(b"event: log\ndata: {\"data\":");
    push_json_str(out, line);
    out.extend_from_slice(b",\"stream\":\"");
    out.extend_from_slice(stream.as_str().as_bytes());
    out.extend_from_slice(b"\"}\n\n");
}

/// One event with a serializable payload.
pub(crate) fn event<T: serde::Serialize + ?Sized>(name: &str, payload: &T) -> Bytes {
    let mut json = crate::respond::go_json_bytes(payload);
    json.pop(); // the encoder's trailing newline
    let mut out = Vec::with_capacity(json.len() + name.len() + 16);
    out.extend_from_slice(b"event: ");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\ndata: ");
    out.extend_from_slice(&json);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// Splits a byte stream into `log` events.
pub(crate) struct LineSplitter {
    stream: Stream,
    pending: Vec<u8>,
}

impl LineSplitter {
    pub(crate) fn new(stream: Stream) -> LineSplitter {
        LineSplitter {
            stream,
            pending: Vec::new(),
        }
    }

    /// Formats every complete line of `data` (and over-long partial lines) into `out`.
    pub(crate) fn feed(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        while let Some(nl) = memchr::memchr(b'\n', data) {
            let line = &data[..nl];
            if self.pending.is_empty() {
                self.emit(line, out);
            } else {
                self.pending.extend_from_slice(line);
                let pending = std::mem::take(&mut self.pending);
                self.emit(&pending, out);
                self.pending = pending;
                self.pending.clear();
            }
            data = &data[nl + 1..];
        }
        self.pending.extend_from_slice(data);
        while self.pending.len() > MAX_LINE {
            let cut = char_boundary(&self.pending, MAX_LINE);
            push_log(out, self.stream, &self.pending[..cut]);
            self.pending.drain(..cut);
        }
    }

    /// Emits the last line when it had no trailing newline.
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            let pending = std::mem::take(&mut self.pending);
            self.emit(&pending, out);
        }
    }

    fn emit(&self, mut line: &[u8], out: &mut Vec<u8>) {
        while line.len() > MAX_LINE {
            let cut = char_boundary(line, MAX_LINE);
            push_log(out, self.stream, &line[..cut]);
            line = &line[cut..];
        }
        push_log(out, self.stream, line);
    }
}

/// A cut position ≤ `max` that does not split a UTF-8 character (when the text is UTF-8).
fn char_boundary(b: &[u8], max: usize) -> usize {
    let mut cut = max;
    while cut > max.saturating_sub(3) && cut < b.len() && (b[cut] & 0xC0) == 0x80 {
        cut -= 1;
    }
    if cut == 0 { max } else { cut }
}

/// Body stream fed by a bounded channel: the producer waits when the client reads slowly.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl futures_core::Stream for ChannelBody {
    type Item = Result<Bytes, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|c| c.map(Ok))
    }
}

/// Chunks buffered between the producer and the connection.
pub(crate) const CHANNEL_DEPTH: usize = 16;

/// A `200 text/event-stream` response with the Router's headers, streaming what `rx` yields.
pub(crate) fn response(rx: mpsc::Receiver<Bytes>) -> Response {
    let mut resp = Response::new(Body::from_stream(ChannelBody(rx)));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(b: &[u8]) -> String {
        let mut out = Vec::new();
        push_json_str(&mut out, b);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_like_go() {
        assert_eq!(json(b"plain text"), r#""plain text""#);
        assert_eq!(
            json("a\"b\\c\n\t\x1b[0m<&>\u{2028}é".as_bytes()),
            r#""a\"b\\c\n\t\u001b[0m\u003c\u0026\u003e\u2028é""#
        );
        assert_eq!(json(b"x\xffy\xe2\x80"), r#""x\ufffdy\ufffd\ufffd""#);
        // serde_json agrees on valid input.
        let s = "tab\t quote\" ctrl\x01 é";
        assert_eq!(json(s.as_bytes()), serde_json::to_string(s).unwrap());
    }

    fn split(chunks: &[&[u8]]) -> Vec<String> {
        let mut sp = LineSplitter::new(Stream::Stdout);
        let mut out = Vec::new();
        for c in chunks {
            sp.feed(c, &mut out);
        }
        sp.finish(&mut out);
        String::from_utf8(out)
            .unwrap()
            .split("\n\n")
            .filter(|e| !e.is_empty())
            .map(|e| {
                let data = e.strip_prefix("event: log\ndata: ").unwrap();
                let v: serde_json::Value = serde_json::from_str(data).unwrap();
                v["data"].as_str().unwrap().to_owned()
            })
            .collect()
    }

    #[test]
    fn splits_lines_across_chunks() {
        assert_eq!(split(&[b"a\nb", b"c\n\nd"]), ["a", "bc", "", "d"]);
        assert_eq!(split(&[b"x\n"]), ["x"]);
        let long = "é".repeat(MAX_LINE);
        let parts = split(&[long.as_bytes(), b"\n"]);
        assert_eq!(parts.concat(), long);
        assert!(parts.iter().all(|p| p.len() <= MAX_LINE));
    }

    #[test]
    fn frames_exactly() {
        let mut out = Vec::new();
        push_log(&mut out, Stream::Stderr, b"hi");
        assert_eq!(out, b"event: log\ndata: {\"data\":\"hi\",\"stream\":\"stderr\"}\n\n");
        let e = event("start", &serde_json::json!({"invokeId": "inv-1", "startedAt": 5}));
        assert_eq!(
            &e[..],
            b"event: start\ndata: {\"invokeId\":\"inv-1\",\"startedAt\":5}\n\n"
        );
    }
}
