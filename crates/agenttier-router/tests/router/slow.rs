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

fn half_open(addr: &str, count: usize) -> Vec<TcpStream> {
    (0..count)
        .map(|i| {
            let mut s = TcpStream::connect(addr).unwrap();
            // An unfinished request head, as a slowloris client sends.
            write!(s, "GET /api/v1/sandboxes HTTP/1.1\r\nHost: {addr}\r\nX-Slow-{i}: ").unwrap();
            s
        })
        .collect()
}

/// Whether the router still holds `sock` open (nothing to read, no EOF).
fn still_open(sock: &TcpStream) -> bool {
    sock.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 1];
    let open = matches!(sock.peek(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock);
    sock.set_nonblocking(false).unwrap();
    open
}

/// 1 000 half-open connections, all still held by the router, while others are answered.
#[test]
fn slowloris_does_not_starve_other_clients() {
    let (router, http) = start_with(RouterOptions {
        header_read_timeout: Duration::from_secs(300),
        ..fast_opts()
    });
    let addr = router.url().trim_start_matches("http://").to_owned();
    let held = half_open(&addr, HALF_OPEN);
    http.create_running("busy");
    for _ in 0..20 {
        assert_eq!(http.get("/api/v1/sandboxes/busy").status, 200);
    }
    assert_eq!(http.exec("busy", "echo ok")["stdout"], "ok\n");
    let open = held.iter().filter(|s| still_open(s)).count();
    assert_eq!(
        open, HALF_OPEN,
        "the router dropped slow connections instead of holding them"
    );
}

/// The header read timeout closes half-open connections, even ones that trickle bytes: the
/// deadline runs from the accept.
#[test]
fn half_open_connections_are_cut_off_at_the_header_timeout() {
    let (router, http) = start_with(RouterOptions {
        header_read_timeout: Duration::from_secs(1),
        ..fast_opts()
    });
    let addr = router.url().trim_start_matches("http://").to_owned();
    let mut held = half_open(&addr, 200);
    for s in held.iter_mut().take(10) {
        std::thread::sleep(Duration::from_millis(100));
        let _ = s.write_all(b"a");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let left_open = held
        .iter()
        .filter(|s| {
            !closed_by_router(
                s,
                deadline
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1)),
            )
        })
        .count();
    assert_eq!(left_open, 0, "half-open connections left open past the header timeout");
    assert_eq!(http.get("/api/v1/sandboxes").status, 200);
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
