//! A loopback HTTP server that answers from a script, to make clients meet misbehaving servers:
//! errors, stalls, garbage, cut connections, huge bodies.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What the server does with one request.
pub enum Reply {
    /// Send these bytes as the whole response, then close.
    Raw(Vec<u8>),
    /// Wait, then close without answering.
    Stall(Duration),
    /// Close at once without answering.
    Close,
    /// Send a status line and headers announcing a body, then this many bytes of it forever-ish.
    Endless { chunk: usize },
    /// Send these bytes, wait, then close.
    Partial(Vec<u8>, Duration),
    /// Send these bytes, then abort the connection with a TCP reset (RST, not FIN).
    Reset(Vec<u8>),
    /// Send `head`, then `chunk` every `every` until the client goes away (counted in `hangups`).
    Drip {
        head: Vec<u8>,
        chunk: Vec<u8>,
        every: Duration,
    },
}

impl Reply {
    /// A complete response with a body and extra headers.
    pub fn with(status: u16, content_type: &str, body: &str, headers: &[(&str, &str)]) -> Reply {
        let mut head = format!(
            "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut bytes = head.into_bytes();
        bytes.extend_from_slice(body.as_bytes());
        Reply::Raw(bytes)
    }

    /// The head of an event-stream response (read until the connection closes).
    pub fn sse_head() -> Vec<u8> {
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n"
            .to_vec()
    }

    /// A JSON response.
    pub fn json(status: u16, body: &str) -> Reply {
        Reply::with(status, "application/json", body, &[])
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// `GET /api/v1/...`.
    pub request_line: String,
    /// Header lines, lowercase names.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl Seen {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A running fake server; it stops when dropped (its thread ends with the process).
pub struct FakeServer {
    url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    hangups: Arc<AtomicUsize>,
}

impl FakeServer {
    /// Serves `script(n, request)` for the n-th request (0-based).
    pub fn start(script: impl Fn(usize, &Seen) -> Reply + Send + Sync + 'static) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let hangups = Arc::new(AtomicUsize::new(0));
        let (log, gone) = (seen.clone(), hangups.clone());
        let script = Arc::new(script);
        thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (log, gone, script) = (log.clone(), gone.clone(), script.clone());
                thread::spawn(move || serve(stream, &log, &gone, &*script));
            }
        });
        FakeServer { url, seen, hangups }
    }

    /// Base URL of the server.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How many `Drip` replies ended because the client closed the connection.
    pub fn hangups(&self) -> usize {
        self.hangups.load(Ordering::SeqCst)
    }

    /// Requests received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(
    stream: TcpStream,
    log: &Mutex<Vec<Seen>>,
    hangups: &AtomicUsize,
    script: &(dyn Fn(usize, &Seen) -> Reply + Send + Sync),
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
        return;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some((k, v)) = line.trim_end().split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    let _ = reader.read_exact(&mut body);
    let seen = Seen {
        request_line: request_line.trim_end().to_owned(),
        headers,
        body,
    };
    let index = {
        let mut log = log.lock().unwrap();
        log.push(seen.clone());
        log.len() - 1
    };
    let mut stream = stream;
    match script(index, &seen) {
        Reply::Raw(bytes) => {
            let _ = stream.write_all(&bytes);
        }
        Reply::Stall(d) => thread::sleep(d),
        Reply::Close => {}
        Reply::Endless { chunk } => {
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n");
            let data = vec![b' '; chunk];
            let frame = [format!("{chunk:x}\r\n").into_bytes(), data, b"\r\n".to_vec()].concat();
            while stream.write_all(&frame).is_ok() {}
        }
        Reply::Reset(bytes) => {
            let _ = stream.write_all(&bytes);
            let _ = stream.flush();
            // Let the bytes leave before the reset, or the RST may overtake them.
            thread::sleep(Duration::from_millis(50));
            // SO_LINGER 0: closing sends RST and drops anything unsent.
            let _ = socket2::SockRef::from(&stream).set_linger(Some(Duration::ZERO));
            drop(stream);
        }
        Reply::Partial(bytes, stall) => {
            let _ = stream.write_all(&bytes);
            thread::sleep(stall);
        }
        Reply::Drip { head, chunk, every } => {
            let _ = stream.write_all(&head);
            while stream.write_all(&chunk).and_then(|_| stream.flush()).is_ok() {
                thread::sleep(every);
            }
            hangups.fetch_add(1, Ordering::SeqCst);
        }
    }
}
