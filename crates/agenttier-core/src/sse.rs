//! Server-Sent Events: the one `text/event-stream` parser of the SDK, sans-IO.
//!
//! [`SseParser`] follows the HTML Living Standard's "interpreting an event stream" algorithm
//! (§9.2.6) exactly: LF, CRLF and lone CR line endings (a CR ending one chunk and an LF starting the
//! next count as one line ending), a leading UTF-8 BOM stripped once, comment lines, fields without
//! a colon, one leading space of a value stripped, multi-line `data`, `event`, `id` (persisting as
//! the last event ID, ignored when it contains NUL), `retry` (ASCII digits only), unknown fields
//! ignored, no dispatch of an event whose data buffer is empty. Bytes are decoded as UTF-8 one
//! complete line at a time, so a character split across chunks decodes correctly; invalid
//! sequences become U+FFFD exactly as the spec's UTF-8 decoder does.
//!
//! The transports only move bytes: they [`push`](SseParser::push) whatever the socket returned,
//! drain [`next_event`](SseParser::next_event), and call [`finish`](SseParser::finish) at EOF.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::time::Duration;

/// Default for [`SseParser::with_max_event_bytes`]: 16 MiB.
pub const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

const BOM: &[u8; 3] = b"\xEF\xBB\xBF";

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The event type: the last `event` field of the event, or `"message"` when there was none
    /// (or it was empty).
    pub event: String,
    /// The `data` fields of the event joined with `\n` (without a trailing `\n`).
    pub data: String,
    /// The last event ID at dispatch, if any was set (it persists across events until an `id`
    /// field changes it; an empty `id` field clears it).
    pub id: Option<String>,
    /// The `retry` field seen in this event (between the previous blank line and this one), if any.
    pub retry: Option<Duration>,
}

/// Why an event stream could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SseError {
    /// A line or event grew past the configured limit.
    #[error("server-sent event exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// The stream ended in the middle of an event (data received but no blank line).
    #[error("event stream ended in the middle of an event")]
    Incomplete,
}

/// Incremental, sans-IO parser of a `text/event-stream` body.
///
/// Feed it bytes in chunks of any size with [`push`](Self::push), pop the complete events with
/// [`next_event`](Self::next_event), and call [`finish`](Self::finish) when the body ends.
///
/// Memory is bounded: no single line and no event's data may exceed the configured limit
/// ([`with_max_event_bytes`](Self::with_max_event_bytes), 16 MiB by default); going past it
/// fails with [`SseError::TooLarge`], after which the parser keeps returning that error.
///
/// ```
/// use agenttier_core::sse::{SseError, SseParser};
///
/// let mut parser = SseParser::new();
/// parser.push(b"event: log\ndata: {\"data\":\"hel")?;
/// assert!(parser.next_event().is_none()); // not complete yet
/// parser.push(b"lo\"}\n\n: keepalive\n\ndata: bye\r\n\r\n")?;
///
/// let event = parser.next_event().unwrap();
/// assert_eq!(event.event, "log");
/// assert_eq!(event.data, r#"{"data":"hello"}"#);
/// let event = parser.next_event().unwrap();
/// assert_eq!((event.event.as_str(), event.data.as_str()), ("message", "bye"));
/// assert!(parser.next_event().is_none());
/// parser.finish()?; // clean end of stream
/// # Ok::<(), SseError>(())
/// ```
#[derive(Debug, Clone)]
pub struct SseParser {
    /// Bytes of the current, not yet terminated line (or, before `bom_done`, of a possible BOM).
    line: Vec<u8>,
    /// The previous chunk ended with CR: an LF starting the next chunk belongs to it.
    pending_cr: bool,
    /// The start of the stream (and a possible BOM there) is behind us.
    bom_done: bool,
    /// Set on the first error; the parser is fused afterwards.
    error: Option<SseError>,
    state: EventState,
}

/// The spec's buffers, plus the queue of dispatched events.
#[derive(Debug, Clone)]
struct EventState {
    limit: usize,
    data: String,
    event_type: String,
    last_id: Option<String>,
    /// `retry` seen since the last blank line.
    retry: Option<Duration>,
    /// The stream's reconnection time, as last set by a `retry` field.
    reconnection_time: Option<Duration>,
    /// A field line was seen since the last blank line.
    in_event: bool,
    queue: VecDeque<SseEvent>,
}

impl Default for SseParser {
    fn default() -> Self {
        Self::new()
    }
}

impl SseParser {
    /// A parser with the default limit of 16 MiB per line and per event's data.
    pub fn new() -> Self {
        Self::with_max_event_bytes(DEFAULT_MAX_EVENT_BYTES)
    }

    /// A parser that refuses ([`SseError::TooLarge`]) any line longer than `limit` bytes (line
    /// ending excluded) and any event whose data (the decoded `data` fields joined with `\n`)
    /// is longer than `limit` bytes.
    pub fn with_max_event_bytes(limit: usize) -> Self {
        Self {
            line: Vec::new(),
            pending_cr: false,
            bom_done: false,
            error: None,
            state: EventState {
                limit,
                data: String::new(),
                event_type: String::new(),
                last_id: None,
                retry: None,
                reconnection_time: None,
                in_event: false,
                queue: VecDeque::new(),
            },
        }
    }

    /// Consumes the next bytes of the stream; the events they complete become available from
    /// [`next_event`](Self::next_event) (those completed before an error stay available).
    ///
    /// # Errors
    ///
    /// [`SseError::TooLarge`] when a line or an event's data exceeds the limit. The error is
    /// sticky: every later `push` and `finish` returns it again.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), SseError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        let result = self.push_inner(chunk);
        if let Err(err) = &result {
            self.error = Some(err.clone());
            self.line = Vec::new();
            self.state.data = String::new();
        }
        result
    }

    /// Pops the oldest dispatched event, if any.
    pub fn next_event(&mut self) -> Option<SseEvent> {
        self.state.queue.pop_front()
    }

    /// Signals the end of the stream.
    ///
    /// As the spec says, a partial event (no blank line after it) is discarded, never
    /// dispatched. Events already dispatched stay available from
    /// [`next_event`](Self::next_event), and the parser is ready for a new stream (for example
    /// after reconnecting): a BOM is stripped again, while the last event ID and the
    /// reconnection time are kept.
    ///
    /// # Errors
    ///
    /// [`SseError::Incomplete`] when the stream ended in the middle of an event: a field line
    /// (`data`, `event`, `id`, `retry` or an unknown field) was received without the blank line
    /// that ends the event, or the last line has no line ending. Comments alone do not count.
    /// A previous [`SseError::TooLarge`] is returned again.
    pub fn finish(&mut self) -> Result<(), SseError> {
        if let Some(err) = &self.error {
            return Err(err.clone());
        }
        let incomplete = !self.line.is_empty() || self.state.in_event;
        self.line.clear();
        self.pending_cr = false;
        self.bom_done = false;
        let state = &mut self.state;
        state.data.clear();
        state.event_type.clear();
        state.retry = None;
        state.in_event = false;
        if incomplete { Err(SseError::Incomplete) } else { Ok(()) }
    }

    /// The last event ID (the value of the last `id` field, NUL-free), if one is set. This is
    /// what a reconnecting client sends as `Last-Event-ID`.
    pub fn last_event_id(&self) -> Option<&str> {
        self.state.last_id.as_deref()
    }

    /// The reconnection time last set by a `retry` field, even one in an event that was never
    /// dispatched (the spec applies `retry` immediately).
    pub fn reconnection_time(&self) -> Option<Duration> {
        self.state.reconnection_time
    }

    /// The configured limit, in bytes.
    pub fn max_event_bytes(&self) -> usize {
        self.state.limit
    }

    fn push_inner(&mut self, mut chunk: &[u8]) -> Result<(), SseError> {
        if !self.bom_done {
            // Collect up to three bytes to recognise a BOM that may be split across chunks.
            let take = (BOM.len() - self.line.len()).min(chunk.len());
            self.line.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if self.line.as_slice() == BOM {
                self.line.clear();
                self.bom_done = true;
            } else if BOM.starts_with(&self.line) {
                // A strict prefix of the BOM: the chunk is used up, wait for more.
                return Ok(());
            } else {
                // Not a BOM: these bytes are ordinary stream content.
                self.bom_done = true;
                let mut head = [0u8; 3];
                let n = self.line.len();
                head[..n].copy_from_slice(&self.line);
                self.line.clear();
                self.feed(&head[..n])?;
            }
        }
        self.feed(chunk)
    }

    fn feed(&mut self, mut rest: &[u8]) -> Result<(), SseError> {
        if self.pending_cr && !rest.is_empty() {
            self.pending_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }
        while let Some(pos) = memchr::memchr2(b'\n', b'\r', rest) {
            let part = &rest[..pos];
            if self.line.is_empty() {
                self.check_line(part.len())?;
                self.state.process_line(part)?;
            } else {
                self.check_line(self.line.len() + part.len())?;
                self.line.extend_from_slice(part);
                let result = self.state.process_line(&self.line);
                self.line.clear();
                result?;
            }
            let mut next = pos + 1;
            if rest[pos] == b'\r' {
                match rest.get(next) {
                    Some(b'\n') => next += 1,
                    None => self.pending_cr = true,
                    Some(_) => {}
                }
            }
            rest = &rest[next..];
        }
        self.check_line(self.line.len() + rest.len())?;
        self.line.extend_from_slice(rest);
        Ok(())
    }

    fn check_line(&self, len: usize) -> Result<(), SseError> {
        if len > self.state.limit {
            Err(SseError::TooLarge {
                limit: self.state.limit,
            })
        } else {
            Ok(())
        }
    }
}

impl EventState {
    /// Processes one complete line (without its line ending).
    fn process_line(&mut self, line: &[u8]) -> Result<(), SseError> {
        let Some(&first) = line.first() else {
            self.dispatch();
            return Ok(());
        };
        if first == b':' {
            return Ok(());
        }
        self.in_event = true;
        let (name, value) = match memchr::memchr(b':', line) {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &[][..]),
        };
        // Matching raw bytes is equivalent to matching decoded text: a field name holding
        // invalid UTF-8 decodes to U+FFFD and matches no known field either.
        match name {
            b"data" => {
                let value = String::from_utf8_lossy(value);
                if self.data.len() + value.len() > self.limit {
                    return Err(SseError::TooLarge { limit: self.limit });
                }
                self.data.push_str(&value);
                self.data.push('\n');
            }
            b"event" => {
                self.event_type.clear();
                self.event_type.push_str(&String::from_utf8_lossy(value));
            }
            // An id containing NUL is ignored; an empty one clears the last event ID.
            b"id" if value.contains(&0) => {}
            b"id" if value.is_empty() => self.last_id = None,
            b"id" => {
                let value = String::from_utf8_lossy(value);
                if self.last_id.as_deref() != Some(&*value) {
                    self.last_id = Some(Cow::into_owned(value));
                }
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                let millis = value.iter().fold(0u64, |acc, &digit| {
                    acc.saturating_mul(10).saturating_add(u64::from(digit - b'0'))
                });
                let retry = Duration::from_millis(millis);
                self.retry = Some(retry);
                self.reconnection_time = Some(retry);
            }
            _ => {}
        }
        Ok(())
    }

    /// The spec's "dispatch the event", run on a blank line.
    fn dispatch(&mut self) {
        self.in_event = false;
        let retry = self.retry.take();
        if self.data.is_empty() {
            self.event_type.clear();
            return;
        }
        // Every data field appended a trailing LF: remove the last one.
        let data = String::from(&self.data[..self.data.len() - 1]);
        self.data.clear();
        let event = if self.event_type.is_empty() {
            String::from("message")
        } else {
            std::mem::take(&mut self.event_type)
        };
        self.queue.push_back(SseEvent {
            event,
            data,
            id: self.last_id.clone(),
            retry,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    type Outcome = (Vec<SseEvent>, Result<(), SseError>, Result<(), SseError>);

    /// Feeds the chunks, collecting every event; returns events, the first push error (or Ok)
    /// and the result of `finish`.
    fn run_with(mut parser: SseParser, chunks: &[&[u8]]) -> Outcome {
        let mut events = Vec::new();
        let mut pushed = Ok(());
        for chunk in chunks {
            let result = parser.push(chunk);
            while let Some(event) = parser.next_event() {
                events.push(event);
            }
            if result.is_err() {
                pushed = result;
                break;
            }
        }
        let finished = parser.finish();
        while let Some(event) = parser.next_event() {
            events.push(event);
        }
        (events, pushed, finished)
    }

    fn events_of(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let (events, pushed, finished) = run_with(SseParser::new(), chunks);
        assert_eq!(pushed, Ok(()));
        assert_eq!(finished, Ok(()));
        events
    }

    fn parse(input: &str) -> Vec<SseEvent> {
        events_of(&[input.as_bytes()])
    }

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: event.to_owned(),
            data: data.to_owned(),
            id: None,
            retry: None,
        }
    }

    fn msg(data: &str) -> SseEvent {
        ev("message", data)
    }

    fn with_id(mut event: SseEvent, id: &str) -> SseEvent {
        event.id = Some(id.to_owned());
        event
    }

    fn with_retry(mut event: SseEvent, millis: u64) -> SseEvent {
        event.retry = Some(Duration::from_millis(millis));
        event
    }

    // --- line endings ---

    #[test]
    fn lf_line_endings() {
        assert_eq!(parse("data: a\n\ndata: b\n\n"), [msg("a"), msg("b")]);
    }

    #[test]
    fn crlf_line_endings() {
        assert_eq!(parse("data: a\r\n\r\ndata: b\r\n\r\n"), [msg("a"), msg("b")]);
    }

    #[test]
    fn lone_cr_line_endings() {
        assert_eq!(parse("data: a\r\rdata: b\rdata: c\r\r"), [msg("a"), msg("b\nc")]);
    }

    #[test]
    fn mixed_line_endings() {
        assert_eq!(
            parse("data: a\r\ndata: b\rdata: c\n\r\ndata: d\r\r"),
            [msg("a\nb\nc"), msg("d")]
        );
    }

    #[test]
    fn cr_then_lf_in_next_chunk_is_one_line_ending() {
        // Were the CR and LF counted as two line endings, "a" would be dispatched on its own.
        let events = events_of(&[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
        assert_eq!(events, [msg("a\nb")]);
    }

    #[test]
    fn cr_then_lf_across_an_empty_chunk_is_one_line_ending() {
        let events = events_of(&[b"data: a\r", b"", b"\ndata: b\r\n\r\n"]);
        assert_eq!(events, [msg("a\nb")]);
    }

    #[test]
    fn cr_at_chunk_end_then_other_byte_is_a_line_ending() {
        let events = events_of(&[b"data: a\r", b"data: b\r", b"\r"]);
        assert_eq!(events, [msg("a\nb")]);
    }

    #[test]
    fn cr_cr_is_two_line_endings() {
        assert_eq!(parse("data: a\r\r"), [msg("a")]);
        assert_eq!(events_of(&[b"data: a\r", b"\r"]), [msg("a")]);
    }

    #[test]
    fn lf_cr_is_two_line_endings() {
        assert_eq!(parse("data: a\n\r"), [msg("a")]);
    }

    // --- byte order mark ---

    #[test]
    fn leading_bom_is_stripped() {
        assert_eq!(parse("\u{FEFF}data: a\n\n"), [msg("a")]);
    }

    #[test]
    fn bom_split_across_chunks_is_stripped() {
        let stream = "\u{FEFF}data: a\n\n".as_bytes();
        for first in 0..=4 {
            for second in first..=5 {
                let chunks = [&stream[..first], &stream[first..second], &stream[second..]];
                assert_eq!(events_of(&chunks), [msg("a")], "split at {first}/{second}");
            }
        }
    }

    #[test]
    fn bom_is_stripped_only_once() {
        // The second BOM becomes part of the field name "\u{FEFF}data", an unknown field.
        assert_eq!(parse("\u{FEFF}\u{FEFF}data: a\n\ndata: b\n\n"), [msg("b")]);
    }

    #[test]
    fn bom_after_start_is_not_stripped() {
        assert_eq!(parse("data: a\n\n\u{FEFF}data: b\n\n"), [msg("a")]);
        assert_eq!(parse("data: \u{FEFF}b\n\n"), [msg("\u{FEFF}b")]);
    }

    #[test]
    fn partial_bom_prefix_is_ordinary_content() {
        // EF BB followed by "d" is an invalid sequence (one U+FFFD) and then "data...":
        // the field name is "\u{FFFD}data", unknown.
        assert_eq!(events_of(&[b"\xEF", b"\xBBdata: a\n\ndata: b\n\n"]), [msg("b")]);
        // Short streams that are no BOM at all.
        assert_eq!(events_of(&[b"d", b"a", b"ta:x\n\n"]), [msg("x")]);
        assert_eq!(events_of(&[b"\n", b"data:x\n\n"]), [msg("x")]);
    }

    #[test]
    fn bom_only_stream_is_clean() {
        assert_eq!(events_of(&[b"\xEF\xBB", b"\xBF"]), []);
    }

    // --- comments and fields ---

    #[test]
    fn comment_lines_are_ignored() {
        assert_eq!(
            parse(": hello\ndata: a\n:another\ndata: b\n\n: keepalive\n\n"),
            [msg("a\nb")]
        );
    }

    #[test]
    fn comment_only_block_is_not_dispatched() {
        assert_eq!(parse(": keepalive\n\n: keepalive\n\n"), []);
    }

    #[test]
    fn field_without_colon_has_empty_value() {
        assert_eq!(parse("data\n\n"), [msg("")]);
        assert_eq!(parse("data\ndata\n\n"), [msg("\n")]);
        assert_eq!(parse("event\ndata: x\n\n"), [msg("x")]);
    }

    #[test]
    fn exactly_one_leading_space_is_stripped() {
        assert_eq!(parse("data:  a\n\n"), [msg(" a")]);
        assert_eq!(parse("data:\ta\n\n"), [msg("\ta")]);
        assert_eq!(parse("data: a \n\n"), [msg("a ")]);
    }

    #[test]
    fn value_without_space_is_kept() {
        assert_eq!(parse("data:a\n\n"), [msg("a")]);
    }

    #[test]
    fn colon_in_value_is_kept() {
        assert_eq!(parse("data: a: b:c\n\n"), [msg("a: b:c")]);
    }

    #[test]
    fn field_names_are_case_sensitive_and_exact() {
        assert_eq!(parse("Data: a\ndata : b\n data: c\n\n"), []);
    }

    #[test]
    fn multi_line_data_is_joined_with_lf() {
        assert_eq!(parse("data: YHOO\ndata: +2\ndata: 10\n\n"), [msg("YHOO\n+2\n10")]);
    }

    #[test]
    fn only_one_trailing_lf_is_removed() {
        assert_eq!(parse("data:\ndata:\n\n"), [msg("\n")]);
        assert_eq!(parse("data: a\ndata:\n\n"), [msg("a\n")]);
    }

    #[test]
    fn spec_example_empty_data_blocks() {
        // The HTML spec's example: "", "\n", and a last block discarded for want of a blank line.
        let (events, pushed, finished) = run_with(SseParser::new(), &[b"data\n\ndata\ndata\n\ndata:"]);
        assert_eq!(events, [msg(""), msg("\n")]);
        assert_eq!(pushed, Ok(()));
        assert_eq!(finished, Err(SseError::Incomplete));
    }

    #[test]
    fn spec_example_space_after_colon_is_optional() {
        assert_eq!(parse("data:test\n\ndata: test\n\n"), [msg("test"), msg("test")]);
    }

    #[test]
    fn unknown_fields_are_ignored() {
        assert_eq!(parse("foo: bar\ndata: a\nDATA: b\nx\n\n"), [msg("a")]);
    }

    // --- event type ---

    #[test]
    fn event_type_defaults_to_message() {
        assert_eq!(parse("data: a\n\n")[0].event, "message");
    }

    #[test]
    fn event_type_is_set_by_event_field() {
        assert_eq!(parse("event: log\ndata: a\n\n"), [ev("log", "a")]);
        assert_eq!(parse("data: a\nevent: exit\n\n"), [ev("exit", "a")]);
    }

    #[test]
    fn last_event_field_wins() {
        assert_eq!(parse("event: a\nevent: b\ndata: x\n\n"), [ev("b", "x")]);
    }

    #[test]
    fn empty_event_field_means_message() {
        assert_eq!(parse("event: log\nevent:\ndata: x\n\n"), [msg("x")]);
    }

    #[test]
    fn event_type_is_reset_after_dispatch() {
        assert_eq!(parse("event: log\ndata: a\n\ndata: b\n\n"), [ev("log", "a"), msg("b")]);
    }

    #[test]
    fn event_type_is_reset_when_data_is_empty() {
        assert_eq!(parse("event: log\n\ndata: b\n\n"), [msg("b")]);
    }

    #[test]
    fn router_framing() {
        let stream = "event: start\ndata: {\"invokeId\":\"inv-1\",\"startedAt\":1}\n\n\
                      : keepalive\n\n\
                      event: log\ndata: {\"stream\":\"stdout\",\"data\":\"hi\"}\n\n\
                      event: exit\ndata: {\"exitCode\":0}\n\n";
        assert_eq!(
            parse(stream),
            [
                ev("start", r#"{"invokeId":"inv-1","startedAt":1}"#),
                ev("log", r#"{"stream":"stdout","data":"hi"}"#),
                ev("exit", r#"{"exitCode":0}"#),
            ]
        );
    }

    // --- id ---

    #[test]
    fn id_is_reported() {
        assert_eq!(parse("id: 1\ndata: a\n\n"), [with_id(msg("a"), "1")]);
    }

    #[test]
    fn id_persists_across_events() {
        assert_eq!(
            parse("id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n"),
            [with_id(msg("a"), "1"), with_id(msg("b"), "1"), with_id(msg("c"), "2")]
        );
    }

    #[test]
    fn id_without_data_still_sets_last_event_id() {
        let mut parser = SseParser::new();
        parser.push(b"id: 7\n\n").unwrap();
        assert_eq!(parser.next_event(), None);
        assert_eq!(parser.last_event_id(), Some("7"));
        parser.push(b"data: a\n\n").unwrap();
        assert_eq!(parser.next_event(), Some(with_id(msg("a"), "7")));
    }

    #[test]
    fn id_with_nul_is_ignored() {
        assert_eq!(parse("id: 1\n\nid: 2\x003\ndata: a\n\n"), [with_id(msg("a"), "1")]);
    }

    #[test]
    fn empty_id_clears_last_event_id() {
        assert_eq!(
            parse("id: 1\ndata: a\n\nid\ndata: b\n\n"),
            [with_id(msg("a"), "1"), msg("b")]
        );
        assert_eq!(parse("id: 1\ndata: a\n\nid:\ndata: b\n\n")[1].id, None);
    }

    #[test]
    fn id_keeps_inner_spaces() {
        assert_eq!(parse("id:  x y\ndata: a\n\n")[0].id.as_deref(), Some(" x y"));
    }

    // --- retry ---

    #[test]
    fn retry_with_digits_is_reported() {
        let mut parser = SseParser::new();
        parser.push(b"retry: 1500\ndata: a\n\n").unwrap();
        assert_eq!(parser.next_event(), Some(with_retry(msg("a"), 1500)));
        assert_eq!(parser.reconnection_time(), Some(Duration::from_millis(1500)));
    }

    #[test]
    fn retry_is_per_event() {
        assert_eq!(
            parse("retry: 10\ndata: a\n\ndata: b\n\n"),
            [with_retry(msg("a"), 10), msg("b")]
        );
    }

    #[test]
    fn retry_with_non_digits_is_ignored() {
        for value in ["1a", "-1", "+1", "1.5", "1 ", "  1", "", "x"] {
            let mut parser = SseParser::new();
            parser
                .push(format!("retry: 5\n\nretry: {value}\ndata: a\n\n").as_bytes())
                .unwrap();
            assert_eq!(parser.next_event(), Some(msg("a")), "{value:?}");
            assert_eq!(parser.reconnection_time(), Some(Duration::from_millis(5)));
        }
    }

    #[test]
    fn retry_without_data_sets_reconnection_time_only() {
        let mut parser = SseParser::new();
        parser.push(b"retry: 3000\n\ndata: a\n\n").unwrap();
        assert_eq!(parser.next_event(), Some(msg("a")));
        assert_eq!(parser.reconnection_time(), Some(Duration::from_secs(3)));
    }

    #[test]
    fn retry_overflow_saturates() {
        let events = parse("retry: 99999999999999999999999\ndata: a\n\n");
        assert_eq!(events[0].retry, Some(Duration::from_millis(u64::MAX)));
    }

    #[test]
    fn retry_leading_zeros() {
        assert_eq!(parse("retry:0010\ndata:a\n\n"), [with_retry(msg("a"), 10)]);
    }

    // --- dispatch ---

    #[test]
    fn empty_data_buffer_is_not_dispatched() {
        assert_eq!(parse("\n\n\nevent: x\nid: 1\nretry: 5\nfoo\n\n"), []);
    }

    #[test]
    fn events_pop_in_order() {
        let mut parser = SseParser::default();
        parser.push(b"data: 1\n\ndata: 2\n\ndata: 3\n\n").unwrap();
        assert_eq!(parser.next_event().unwrap().data, "1");
        parser.push(b"data: 4\n\n").unwrap();
        for expected in ["2", "3", "4"] {
            assert_eq!(parser.next_event().unwrap().data, expected);
        }
        assert_eq!(parser.next_event(), None);
    }

    #[test]
    fn byte_by_byte_feeding() {
        let stream = "\u{FEFF}event: é\r\ndata: 日本\r\n\r\nid: 🦀\rdata: x\r\r";
        let chunks: Vec<&[u8]> = stream.as_bytes().chunks(1).collect();
        assert_eq!(events_of(&chunks), [ev("é", "日本"), with_id(msg("x"), "🦀")]);
    }

    // --- UTF-8 ---

    #[test]
    fn utf8_split_across_chunks() {
        let stream = "data: a🦀é日\n\n".as_bytes();
        for split in 0..=stream.len() {
            let (head, tail) = stream.split_at(split);
            assert_eq!(events_of(&[head, tail]), [msg("a🦀é日")], "split at {split}");
        }
    }

    #[test]
    fn invalid_utf8_becomes_replacement_character() {
        assert_eq!(events_of(&[b"data: a\xFFb\n\n"]), [msg("a\u{FFFD}b")]);
        // A truncated sequence is one maximal subpart: one U+FFFD, as in the WHATWG decoder.
        assert_eq!(events_of(&[b"data: \xE2\x82\n\n"]), [msg("\u{FFFD}")]);
        assert_eq!(events_of(&[b"data: \xE2\x82", b"\n\n"]), [msg("\u{FFFD}")]);
        assert_eq!(events_of(&[b"data: \xC0\x80\n\n"]), [msg("\u{FFFD}\u{FFFD}")]);
        assert_eq!(events_of(&[b"event: \xFF\ndata: x\n\n"]), [ev("\u{FFFD}", "x")]);
    }

    #[test]
    fn truncated_sequence_before_line_ending_does_not_swallow_it() {
        // 0xE2 expects continuation bytes; the LF still ends the line.
        assert_eq!(events_of(&[b"data: \xE2\ndata: b\n\n"]), [msg("\u{FFFD}\nb")]);
    }

    // --- end of stream ---

    #[test]
    fn finish_after_complete_events_is_ok() {
        let (events, _, finished) = run_with(SseParser::new(), &[b"data: a\n\n: bye\n"]);
        assert_eq!(events, [msg("a")]);
        assert_eq!(finished, Ok(()));
    }

    #[test]
    fn finish_on_empty_stream_is_ok() {
        assert_eq!(run_with(SseParser::new(), &[]).2, Ok(()));
    }

    #[test]
    fn finish_mid_event_is_incomplete_and_not_dispatched() {
        for stream in [
            &b"data: a\n\ndata: b\n"[..],
            b"data: a\n\ndata: b",
            b"data: a\n\nevent: exit\n",
            b"data: a\n\nid: 1\n",
            b"data: a\n\nda",
            b"data: a\n\n: keepal",
        ] {
            let (events, pushed, finished) = run_with(SseParser::new(), &[stream]);
            assert_eq!(events, [msg("a")], "{stream:?}");
            assert_eq!(pushed, Ok(()));
            assert_eq!(finished, Err(SseError::Incomplete), "{stream:?}");
        }
    }

    #[test]
    fn finish_after_trailing_cr_is_ok() {
        assert_eq!(run_with(SseParser::new(), &[b"data: a\r\r"]).2, Ok(()));
    }

    #[test]
    fn parser_is_reusable_after_finish() {
        let mut parser = SseParser::new();
        parser.push(b"id: 9\ndata: a\n\ndata: partial").unwrap();
        assert_eq!(parser.finish(), Err(SseError::Incomplete));
        parser.push(b"\xEF\xBB\xBFdata: b\n\n").unwrap();
        assert_eq!(parser.next_event(), Some(with_id(msg("a"), "9")));
        assert_eq!(parser.next_event(), Some(with_id(msg("b"), "9")));
        assert_eq!(parser.finish(), Ok(()));
    }

    // --- limits ---

    #[test]
    fn endless_line_is_too_large_and_bounded() {
        let mut parser = SseParser::with_max_event_bytes(1024);
        let chunk = [b'x'; 100];
        let mut result = Ok(());
        for _ in 0..100 {
            result = parser.push(&chunk);
            assert!(parser.line.len() <= 1024);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(SseError::TooLarge { limit: 1024 }));
    }

    #[test]
    fn long_line_in_one_chunk_is_too_large() {
        let mut parser = SseParser::with_max_event_bytes(10);
        assert_eq!(
            parser.push(b"data: 0123456789\n\n"),
            Err(SseError::TooLarge { limit: 10 })
        );
    }

    #[test]
    fn line_at_the_limit_is_accepted() {
        let mut parser = SseParser::with_max_event_bytes(10);
        parser.push(b"data:12345\n\n").unwrap();
        assert_eq!(parser.next_event(), Some(msg("12345")));
    }

    #[test]
    fn data_buffer_is_limited() {
        let mut parser = SseParser::with_max_event_bytes(10);
        // "aaaa\nbbbb\n" = 10 bytes ok as data "aaaa\nbbbb" (9 bytes)...
        parser.push(b"data:aaaa\ndata:bbbb\n\n").unwrap();
        assert_eq!(parser.next_event(), Some(msg("aaaa\nbbbb")));
        // ... and exactly 10 bytes of data are accepted ...
        parser.push(b"data:aaaa\ndata:bbbbb\n\n").unwrap();
        assert_eq!(parser.next_event(), Some(msg("aaaa\nbbbbb")));
        // ... but not 11, although every line is short enough.
        assert_eq!(
            parser.push(b"data:aaaa\ndata:bbbb\ndata:c\n\n"),
            Err(SseError::TooLarge { limit: 10 })
        );
    }

    #[test]
    fn many_short_data_lines_are_limited() {
        let mut parser = SseParser::with_max_event_bytes(100);
        let mut result = Ok(());
        for _ in 0..1000 {
            result = parser.push(b"data\n");
            assert!(parser.state.data.len() <= 101);
            if result.is_err() {
                break;
            }
        }
        assert_eq!(result, Err(SseError::TooLarge { limit: 100 }));
    }

    #[test]
    fn events_before_the_error_are_kept_and_error_is_sticky() {
        let mut parser = SseParser::with_max_event_bytes(8);
        let err = SseError::TooLarge { limit: 8 };
        assert_eq!(parser.push(b"data: a\n\ndata: 123456789\n\n"), Err(err.clone()));
        assert_eq!(parser.next_event(), Some(msg("a")));
        assert_eq!(parser.next_event(), None);
        assert_eq!(parser.push(b"data: b\n\n"), Err(err.clone()));
        assert_eq!(parser.next_event(), None);
        assert_eq!(parser.finish(), Err(err));
    }

    #[test]
    fn comment_lines_are_limited_too() {
        let mut parser = SseParser::with_max_event_bytes(4);
        assert!(parser.push(b": 12345\n").is_err());
    }

    #[test]
    fn errors_display() {
        assert_eq!(
            SseError::TooLarge { limit: 3 }.to_string(),
            "server-sent event exceeds the limit of 3 bytes"
        );
        assert_eq!(
            SseError::Incomplete.to_string(),
            "event stream ended in the middle of an event"
        );
        assert_eq!(SseParser::new().max_event_bytes(), DEFAULT_MAX_EVENT_BYTES);
    }

    // --- property tests ---

    /// One line of a well-formed stream (no line ending).
    fn line_strategy() -> impl Strategy<Value = String> {
        let text = "[^\r\n]{0,12}";
        prop_oneof![
            4 => text.prop_map(|v| format!("data: {v}")),
            1 => text.prop_map(|v| format!("data:{v}")),
            1 => Just("data".to_owned()),
            2 => "[a-z]{0,6}".prop_map(|v| format!("event: {v}")),
            1 => "[^\r\n\0]{0,6}".prop_map(|v| format!("id: {v}")),
            1 => "[^\r\n]{0,4}".prop_map(|v| format!("id: {v}")),
            1 => "[0-9]{1,5}".prop_map(|v| format!("retry: {v}")),
            1 => text.prop_map(|v| format!("retry: {v}")),
            1 => text.prop_map(|v| format!(":{v}")),
            1 => text.prop_map(|v| format!("x{v}")),
            3 => Just(String::new()),
        ]
    }

    fn stream_strategy() -> impl Strategy<Value = (bool, Vec<String>)> {
        (any::<bool>(), prop::collection::vec(line_strategy(), 0..40))
    }

    fn join_lines(bom: bool, lines: &[String], endings: &[&str]) -> Vec<u8> {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(BOM);
        }
        for (line, ending) in lines.iter().zip(endings) {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(ending.as_bytes());
        }
        out
    }

    /// Splits `bytes` at the given (unsorted, possibly repeated) points.
    fn split_at_points<'a>(bytes: &'a [u8], points: &[usize]) -> Vec<&'a [u8]> {
        let mut cuts: Vec<usize> = points.iter().map(|p| p % (bytes.len() + 1)).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut start = 0;
        for cut in cuts {
            chunks.push(&bytes[start..cut]);
            start = cut;
        }
        chunks.push(&bytes[start..]);
        chunks
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// (1) Any split of a valid stream into chunks yields the same events as feeding it whole.
        #[test]
        fn prop_chunking_does_not_matter(
            (bom, lines) in stream_strategy(),
            points in prop::collection::vec(any::<usize>(), 0..12),
        ) {
            let endings = vec!["\n"; lines.len()];
            let bytes = join_lines(bom, &lines, &endings);
            let whole = run_with(SseParser::new(), &[&bytes]);
            let split = run_with(SseParser::new(), &split_at_points(&bytes, &points));
            prop_assert_eq!(&whole, &split);
            let single: Vec<&[u8]> = bytes.chunks(1).collect();
            prop_assert_eq!(&whole, &run_with(SseParser::new(), &single));
        }

        /// (1b) The same holds for arbitrary bytes, errors included.
        #[test]
        fn prop_chunking_does_not_matter_for_any_bytes(
            bytes in prop::collection::vec(
                prop_oneof![
                    Just(b'\r'), Just(b'\n'), Just(b':'), Just(b' '), Just(0xEF), Just(0xBB),
                    Just(0xBF), Just(b'd'), Just(b'a'), Just(b't'), any::<u8>(),
                ],
                0..200,
            ),
            points in prop::collection::vec(any::<usize>(), 0..12),
            limit in 0usize..64,
        ) {
            let whole = run_with(SseParser::with_max_event_bytes(limit), &[&bytes]);
            let split = run_with(
                SseParser::with_max_event_bytes(limit),
                &split_at_points(&bytes, &points),
            );
            prop_assert_eq!(whole, split);
        }

        /// (2) LF, CRLF, CR, or any mix of them per line, yields the same events.
        #[test]
        fn prop_line_ending_style_does_not_matter(
            (bom, lines) in stream_strategy(),
            style in 0usize..4,
            mix in prop::collection::vec(0usize..3, 40),
            points in prop::collection::vec(any::<usize>(), 0..6),
        ) {
            const ENDINGS: [&str; 3] = ["\n", "\r\n", "\r"];
            let mut endings = Vec::new();
            for (i, line) in lines.iter().enumerate() {
                let mut ending = if style < 3 { ENDINGS[style] } else { ENDINGS[mix[i]] };
                // A lone CR followed by an empty line ended by LF would read as one CRLF.
                if endings.last() == Some(&"\r") && line.is_empty() && ending.starts_with('\n') {
                    ending = "\r";
                }
                endings.push(ending);
            }
            let reference = join_lines(bom, &lines, &vec!["\n"; lines.len()]);
            let styled = join_lines(bom, &lines, &endings);
            let expected = run_with(SseParser::new(), &[&reference]);
            prop_assert_eq!(&expected, &run_with(SseParser::new(), &[&styled]));
            prop_assert_eq!(
                &expected,
                &run_with(SseParser::new(), &split_at_points(&styled, &points))
            );
        }

        /// (3) Arbitrary bytes never panic and never let buffers or events exceed the limit.
        #[test]
        fn prop_arbitrary_bytes_respect_the_limit(
            chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..16),
            limit in 0usize..48,
        ) {
            let mut parser = SseParser::with_max_event_bytes(limit);
            for chunk in &chunks {
                let result = parser.push(chunk);
                prop_assert!(parser.line.len() <= limit.max(BOM.len()));
                prop_assert!(parser.state.data.len() <= limit + 1);
                while let Some(event) = parser.next_event() {
                    prop_assert!(event.data.len() <= limit);
                }
                if let Err(err) = result {
                    prop_assert_eq!(err, SseError::TooLarge { limit });
                }
            }
            let _ = parser.finish();
        }

        /// (4) Events written by a simple encoder round-trip through the parser.
        #[test]
        fn prop_encoded_events_round_trip(
            events in prop::collection::vec(
                (
                    prop::option::of("[^\r\n]{1,8}"),
                    "[^\r]{0,24}",
                    prop::option::of("[^\r\n\0]{0,8}"),
                    prop::option::of(any::<u32>()),
                ),
                0..20,
            ),
            points in prop::collection::vec(any::<usize>(), 0..8),
            bom in any::<bool>(),
        ) {
            let mut bytes = Vec::new();
            if bom {
                bytes.extend_from_slice(BOM);
            }
            let mut expected = Vec::new();
            let mut last_id: Option<String> = None;
            for (event, data, id, retry) in &events {
                if let Some(event) = event {
                    bytes.extend_from_slice(format!("event: {event}\n").as_bytes());
                }
                if let Some(id) = id {
                    bytes.extend_from_slice(format!("id: {id}\n").as_bytes());
                    last_id = Some(id.clone()).filter(|id| !id.is_empty());
                }
                if let Some(retry) = retry {
                    bytes.extend_from_slice(format!("retry: {retry}\n").as_bytes());
                }
                for line in data.split('\n') {
                    bytes.extend_from_slice(format!("data: {line}\n").as_bytes());
                }
                bytes.extend_from_slice(b"\n");
                expected.push(SseEvent {
                    event: event.clone().unwrap_or_else(|| "message".to_owned()),
                    data: data.clone(),
                    id: last_id.clone(),
                    retry: retry.map(|ms| Duration::from_millis(u64::from(ms))),
                });
            }
            let (parsed, pushed, finished) =
                run_with(SseParser::new(), &split_at_points(&bytes, &points));
            prop_assert_eq!(pushed, Ok(()));
            prop_assert_eq!(finished, Ok(()));
            prop_assert_eq!(parsed, expected);
        }
    }
}
