//! The router's browser-attack guards (Host, Origin, Content-Type) on arbitrary request heads
//! and configurations: never a panic, the same answer twice, and what is let through obeys the
//! rules — a non-loopback Host only when configured, a foreign Origin never on a state-changing
//! request or WebSocket upgrade, a non-JSON body never on a JSON route.
#![no_main]

use std::net::{IpAddr, SocketAddr};

use agenttier_router::fuzzing::{GuardConfig, GuardHead, guard_check};
use libfuzzer_sys::fuzz_target;

/// Splits the input at 0xFF bytes into at most `n` fields.
fn fields(input: &[u8], n: usize) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> = input.splitn(n, |&b| b == 0xFF).collect();
    out.resize(n, &[]);
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The host name of a `Host` value, lowercased, port and one trailing dot dropped.
fn host_name(raw: &str) -> String {
    let name = if let Some(rest) = raw.strip_prefix('[') {
        format!("[{}]", rest.split(']').next().unwrap_or(""))
    } else {
        raw.split(':').next().unwrap_or("").to_owned()
    };
    let name = name.to_ascii_lowercase();
    name.strip_suffix('.').unwrap_or(&name).to_owned()
}

fn loopback(name: &str) -> bool {
    let ip = match name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
        Some(v6) => v6.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6),
        None => name.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4),
    };
    name == "localhost" || name.ends_with(".localhost") || ip.is_some_and(|ip| ip.is_loopback())
}

fuzz_target!(|input: &[u8]| {
    let Some((&flags, rest)) = input.split_first() else {
        return;
    };
    let f = fields(rest, 7);
    let allowed_hosts: Vec<String> = text(f[0]).split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let origins: Vec<String> = text(f[1]).split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect();
    let listen: SocketAddr = if flags & 1 != 0 { "0.0.0.0:8080" } else { "192.0.2.7:8080" }.parse().unwrap();
    let config = GuardConfig {
        allowed_hosts,
        listen,
        allow_remote: flags & 2 != 0,
        cors_allowed_origins: origins,
    };
    let path = text(f[3]);
    let head = GuardHead {
        method: f[2],
        path: &path,
        host: (flags & 4 != 0).then_some(f[4]),
        origin: (flags & 8 != 0).then_some(f[5]),
        content_type: (flags & 16 != 0).then_some(f[6]),
        declared_body: flags & 32 != 0,
        websocket: flags & 64 != 0,
    };
    let verdict = guard_check(&config, &head);
    assert_eq!(verdict, guard_check(&config, &head), "not deterministic");
    match &verdict {
        Ok(()) => {
            if let Some(host) = head.host.filter(|_| config.allowed_hosts.iter().all(|h| h.trim() != "*")) {
                let host = std::str::from_utf8(host).expect("a non-UTF-8 Host was let through");
                let name = host_name(host);
                let listed = config.allowed_hosts.iter().any(|h| host_name(h.trim()) == name);
                let remote = config.allow_remote;
                assert!(
                    loopback(&name) || listed || remote,
                    "Host {host:?} let through with {config:?}"
                );
            }
            let state_changing = !matches!(head.method, b"GET" | b"HEAD" | b"OPTIONS");
            if let (Some(origin), true) = (head.origin, state_changing || head.websocket) {
                let origin = text(origin);
                let allowed = config.cors_allowed_origins.contains(&origin);
                let host = head.host.map(|h| host_name(&text(h))).unwrap_or_default();
                assert!(
                    allowed || (!host.is_empty() && origin.to_ascii_lowercase().contains(&host)),
                    "Origin {origin:?} let through for Host {:?}",
                    head.host.map(text)
                );
            }
            // The routes that take any body type: invoke, file uploads, the preview proxy (with
            // or without a trailing slash).
            let any_body = path.split('/').any(|s| matches!(s, "invoke" | "files" | "preview"));
            if state_changing && path.starts_with("/api/v1/") && !any_body {
                if let Some(ct) = head.content_type {
                    let ct = text(ct).to_ascii_lowercase();
                    assert!(ct.contains("json"), "Content-Type {ct:?} let through on {path}");
                } else {
                    assert!(!head.declared_body, "a body without Content-Type let through on {path}");
                }
            }
        }
        Err((status, message)) => {
            assert!(matches!(status, 400 | 403 | 415), "{status}");
            assert!(!message.is_empty());
            if *status == 415 {
                assert!(path.starts_with("/api/v1/"));
            }
        }
    }
});
