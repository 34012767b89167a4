//! SSE parser: any bytes, any chunking. Feeding the stream whole or split at arbitrary points
//! must give the same events and the same end result; no event's data exceeds the limit; ids
//! never hold NUL; nothing panics.
#![no_main]

use agenttier_core::sse::{SseEvent, SseParser};
use libfuzzer_sys::fuzz_target;

fn run(limit: usize, chunks: &[&[u8]]) -> (Vec<SseEvent>, Result<(), String>) {
    let mut parser = SseParser::with_max_event_bytes(limit);
    let mut events = Vec::new();
    let mut failed = None;
    for chunk in chunks {
        if let Err(e) = parser.push(chunk) {
            failed = Some(e.to_string());
        }
        while let Some(event) = parser.next_event() {
            events.push(event);
        }
        if failed.is_some() {
            break;
        }
    }
    let end = match failed {
        Some(e) => Err(e),
        None => parser.finish().map_err(|e| e.to_string()),
    };
    while let Some(event) = parser.next_event() {
        events.push(event);
    }
    (events, end)
}

fuzz_target!(|input: &[u8]| {
    // Byte 0: the limit (small ones reach TooLarge); bytes 1..5: split points; rest: stream.
    if input.len() < 5 {
        return;
    }
    let limit = match input[0] {
        0..=127 => usize::from(input[0]) + 1,
        _ => agenttier_core::sse::DEFAULT_MAX_EVENT_BYTES,
    };
    let body = &input[5..];
    let (whole_events, whole_end) = run(limit, &[body]);
    for e in &whole_events {
        assert!(e.data.len() <= limit, "event data over the limit");
        assert!(!e.id.as_deref().unwrap_or("").contains('\0'), "id with NUL");
    }
    // Chunked at up to four points derived from the header bytes.
    let mut cuts: Vec<usize> = input[1..5]
        .iter()
        .map(|b| {
            if body.is_empty() {
                0
            } else {
                usize::from(*b) * body.len() / 256
            }
        })
        .collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut at = 0;
    for cut in cuts {
        chunks.push(&body[at..cut]);
        at = cut;
    }
    chunks.push(&body[at..]);
    let (split_events, split_end) = run(limit, &chunks);
    assert_eq!(whole_events, split_events, "chunking changed the events");
    assert_eq!(whole_end, split_end, "chunking changed the end result");
    // Byte at a time, too (the hardest split: CR/LF pairs and the BOM across pushes).
    if body.len() <= 512 {
        let bytes: Vec<&[u8]> = body.chunks(1).collect();
        let (byte_events, byte_end) = run(limit, &bytes);
        assert_eq!(whole_events, byte_events, "byte-wise feeding changed the events");
        assert_eq!(whole_end, byte_end, "byte-wise feeding changed the end result");
    }
});
