//! Model decoding of every Router response type: arbitrary bytes never panic; whatever
//! decodes re-encodes and decodes to the same value; agent events decode from any SSE event.
#![no_main]

use agenttier_core::models::{
    CommandResult, ConfigureEvent, ConfigureResult, CurrentUser, FileEntry, ForwardedPort, InvokeCollector,
    InvokeEvent, SandboxInfo, Template, Violation, WriteResult, fold_configure,
};
use agenttier_core::response;
use agenttier_core::sse::SseEvent;
use libfuzzer_sys::fuzz_target;
use serde::Serialize;
use serde::de::DeserializeOwned;

fn one<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(body: &[u8]) {
    match response::decode::<T>("fuzz", body) {
        Ok(value) => {
            let _ = format!("{value:?}");
            let again = serde_json::to_vec(&value).expect("a decoded model serializes");
            let back: T = response::decode("fuzz", &again).expect("a re-encoded model decodes");
            assert_eq!(value, back, "decode → encode → decode changed the value");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fn list<T: DeserializeOwned + std::fmt::Debug>(body: &[u8], key: &str) {
    match response::decode_list::<T>("fuzz", body, key) {
        Ok(v) => {
            let _ = format!("{v:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fn sandbox_extras(body: &[u8]) {
    if let Ok(s) = response::decode::<SandboxInfo>("fuzz", body) {
        let _ = (s.id(), s.phase.as_str().len());
    }
    if let Ok(t) = response::decode::<Template>("fuzz", body) {
        let _ = t.mode();
    }
    if let Ok(f) = response::decode::<FileEntry>("fuzz", body) {
        let _ = (f.modified(), f.is_symlink(), f.symlink_target());
    }
    if let Ok(c) = response::decode::<CommandResult>("fuzz", body) {
        let _ = c.success();
    }
}

const EVENTS: &[&str] = &["start", "log", "exit", "error", "result", "message", ""];

fuzz_target!(|input: &[u8]| {
    let Some((&selector, body)) = input.split_first() else {
        return;
    };
    match selector % 4 {
        0 => {
            one::<SandboxInfo>(body);
            one::<Template>(body);
            one::<CurrentUser>(body);
            one::<CommandResult>(body);
            one::<ForwardedPort>(body);
            one::<ConfigureResult>(body);
            one::<FileEntry>(body);
            one::<WriteResult>(body);
            one::<Violation>(body);
            sandbox_extras(body);
        }
        1 => {
            list::<SandboxInfo>(body, "sandboxes");
            list::<Template>(body, "templates");
            list::<ForwardedPort>(body, "ports");
            list::<FileEntry>(body, "entries");
            list::<Violation>(body, "violations");
        }
        _ => {
            // Agent events: a stream of SSE events whose types and data come from the input.
            let text = String::from_utf8_lossy(body);
            let mut collector = InvokeCollector::default();
            let mut configured = None;
            for (i, part) in text.split('\u{1}').enumerate() {
                let event = SseEvent {
                    event: EVENTS[(usize::from(selector) + i) % EVENTS.len()].to_owned(),
                    data: part.to_owned(),
                    id: None,
                    retry: None,
                };
                if let Ok(ev) = InvokeEvent::decode(&event) {
                    let _ = collector.push(ev);
                }
                if let Ok(ev) = ConfigureEvent::decode(&event) {
                    if let Ok(Some(r)) = fold_configure(ev, &mut |_, _| {}) {
                        configured = Some(r);
                    }
                }
            }
            let _ = collector.finish();
            let _ = configured;
        }
    }
});
