//! The router's request decoding: create, exec, port-forward and configure bodies, and name
//! validation. Arbitrary bytes never panic, and what is accepted obeys the route's rules.
#![no_main]

use agenttier_router::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&selector, body)) = input.split_first() else {
        return;
    };
    match selector % 5 {
        0 => {
            if let Ok((name, namespace, template, timeout, idle)) = fuzzing::create_body(body) {
                assert!(fuzzing::is_name(&name) && fuzzing::is_name(&namespace));
                assert!(!template.is_empty());
                assert!(timeout.is_none_or(|d| !d.is_zero()) && idle.is_none_or(|d| !d.is_zero()));
            }
        }
        1 => {
            if let Ok((command, secs)) = fuzzing::exec_body(body) {
                assert!(!command.is_empty() && secs > 0);
            }
        }
        2 => {
            if let Ok((port, protocol)) = fuzzing::forward_body(body) {
                assert!(port > 0 && !protocol.is_empty());
            }
        }
        3 => {
            if let Ok((paths, hash)) = fuzzing::configure_body(body) {
                assert_eq!(hash.len(), 64);
                for p in paths {
                    assert!(p.starts_with("/workspace/"), "configure accepted {p:?}");
                    assert!(!p.split('/').any(|c| c == ".."), "configure accepted {p:?}");
                    assert!(!p.contains('\0'), "configure accepted a NUL in {p:?}");
                }
            }
        }
        _ => {
            let text = String::from_utf8_lossy(body);
            if fuzzing::is_name(&text) {
                assert!(
                    text.len() <= 63
                        && text
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                );
            }
        }
    }
});
