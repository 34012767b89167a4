//! Slow and idle clients: a slowloris client holding 1 000 half-open connections does not stop
//! the router answering others, and the header read timeout closes those connections and idle
//! keep-alive ones.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use agenttier_router::RouterOptions;

use super::common::{fast_opts, start_with};

const HALF_OPEN: usize = 1000;

/// Whether the router closed `sock` (EOF or reset) within `within`.
fn closed_by_router(mut sock: &TcpStream, within: Duration) -> bool {
    sock.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 256];
    loop {
        match sock.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue, // an error answer (408) before the close
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

#[test]
fn slowloris_does_not_starve_other_clients_and_is_cut_off() {
    // Long enough for the checks below on a loaded 2-core machine (sandbox start included).
    let timeout = Duration::from_secs(10);
    let (router, http) = start_with(RouterOptions {
        header_read_timeout: timeout,
        ..fast_opts()
    });
    let addr = router.url().trim_start_matches("http://").to_owned();
    let opened = Instant::now();
    let mut held: Vec<TcpStream> = (0..HALF_OPEN)
        .map(|i| {
            let mut s = TcpStream::connect(&addr).unwrap();
            // An unfinished request head, as a slowloris client sends.
            write!(s, "GET /api/v1/sandboxes HTTP/1.1\r\nHost: {addr}\r\nX-Slow-{i}: ").unwrap();
            s
        })
        .collect();
    // Others are answered while the half-open connections are held.
    http.create_running("busy");
    for _ in 0..20 {
        assert_eq!(http.get("/api/v1/sandboxes/busy").status, 200);
    }
    assert_eq!(http.exec("busy", "echo ok")["stdout"], "ok\n");
    assert!(
        opened.elapsed() < timeout,
        "the checks took longer than the header timeout; they prove nothing about starvation"
    );
    // Trickling bytes does not extend the deadline: it runs from the accept.
    for s in held.iter_mut().take(10) {
        let _ = s.write_all(b"a");
    }
    let deadline = Duration::from_secs(30);
    let still_open = held
        .iter()
        .filter(|s| !closed_by_router(s, deadline.saturating_sub(opened.elapsed())))
        .count();
    assert_eq!(still_open, 0, "half-open connections left open past the header timeout");
    assert_eq!(http.get("/api/v1/sandboxes/busy").status, 200);
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let (router, http) = start_with(RouterOptions {
        header_read_timeout: Duration::from_secs(1),
        ..fast_opts()
    });
    let addr = router.url().trim_start_matches("http://").to_owned();
    let key = http.key.clone().unwrap();
    let mut s = TcpStream::connect(&addr).unwrap();
    write!(
        s,
        "GET /api/v1/sandboxes HTTP/1.1\r\nHost: {addr}\r\nX-API-Key: {key}\r\n\r\n"
    )
    .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut first = [0u8; 12];
    s.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");
    // The answer is read; the connection now sits idle and is closed after the timeout.
    assert!(closed_by_router(&s, Duration::from_secs(10)));
}
