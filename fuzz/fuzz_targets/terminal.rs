//! Terminal frames and output decoding: any text decodes to a frame or to `None` (never a
//! panic), every decoded frame survives encode → decode unchanged, and the UTF-8 decoder gives
//! exactly `String::from_utf8_lossy` of the whole output however the bytes are split. And the
//! proxy's answer to the terminal's `CONNECT`: never a panic, and an open tunnel's head ends
//! with its blank line inside what was read.
#![no_main]

use agenttier_core::proxy::{Answer, read_answer};
use agenttier_core::terminal::{ClientFrame, ServerFrame, TerminalEvent, Utf8Decoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    if let Some(frame) = ClientFrame::decode(&text) {
        assert_eq!(ClientFrame::decode(&frame.encode()), Some(frame), "client frame round trip");
    }
    if let Some(frame) = ServerFrame::decode(&text) {
        assert_eq!(ServerFrame::decode(&frame.encode()), Some(frame), "server frame round trip");
    }
    let _ = TerminalEvent::from_text(&text);
    if let Ok(Answer::Established(head)) = read_answer(input) {
        assert!(head <= input.len() && input[..head].ends_with(b"\r\n\r\n"), "tunnel head {head}");
    }

    // Byte 0 and 1: two split points; the rest: terminal output.
    if input.len() < 2 {
        return;
    }
    let body = &input[2..];
    let mut cuts = [usize::from(input[0]), usize::from(input[1])].map(|c| if body.is_empty() { 0 } else { c * body.len() / 256 });
    cuts.sort_unstable();
    let mut decoder = Utf8Decoder::default();
    let mut out = decoder.push(&body[..cuts[0]]);
    out.push_str(&decoder.push(&body[cuts[0]..cuts[1]]));
    out.push_str(&decoder.push(&body[cuts[1]..]));
    out.push_str(&decoder.finish());
    assert_eq!(out, String::from_utf8_lossy(body), "chunking changed the decoded output");
});
