//! Webhook subscribers that misbehave: one that accepts and never answers, one that redirects,
//! and subscriptions that must not outlive their sandbox.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use agenttier_router::RouterOptions;
use serde_json::{Value, json};

use super::common::{Http, fast_opts, start_with};

/// A server that accepts connections and never answers; counts them and the most it held open
/// at once (a connection the router closed is let go).
struct Tarpit {
    url: String,
    accepted: Arc<AtomicUsize>,
    most_open: Arc<AtomicUsize>,
}

fn tarpit() -> Tarpit {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let accepted = Arc::new(AtomicUsize::new(0));
    let most_open = Arc::new(AtomicUsize::new(0));
    let (a, m) = (accepted.clone(), most_open.clone());
    std::thread::spawn(move || {
        let mut open: Vec<TcpStream> = Vec::new();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(120) {
            while let Ok((s, _)) = listener.accept() {
                s.set_nonblocking(true).unwrap();
                open.push(s);
                a.fetch_add(1, Ordering::SeqCst);
            }
            // Read what arrives (the request) and drop connections the router closed.
            open.retain_mut(|s| {
                let mut buf = [0u8; 4096];
                !matches!(s.read(&mut buf), Ok(0))
                    && !matches!(s.read(&mut buf), Err(e) if e.kind() != std::io::ErrorKind::WouldBlock)
            });
            m.fetch_max(open.len(), Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    Tarpit {
        url,
        accepted,
        most_open,
    }
}

fn deliveries(http: &Http, id: &str) -> Vec<Value> {
    let r = http.get(&format!("/api/v1/webhooks/{id}/deliveries"));
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()["deliveries"].as_array().unwrap().clone()
}

fn subscribe(http: &Http, body: Value) -> String {
    let r = http.post("/api/v1/webhooks", &body.to_string());
    assert_eq!(r.status, 201, "{}", r.body);
    r.json()["id"].as_str().unwrap().to_owned()
}

/// A subscriber that never answers and a burst of events: each attempt that times out ends its
/// delivery at once (attempt 1, not five attempts over a minute), at most 4 deliveries of the
/// subscription are open at once, and the rest are recorded as failed without a connection.
#[test]
fn a_subscriber_that_never_answers_gets_bounded_connections_and_quick_failures() {
    let (_router, http) = start_with(RouterOptions {
        webhook_timeout: Duration::from_secs(2),
        ..fast_opts()
    });
    let pit = tarpit();
    let id = subscribe(
        &http,
        json!({"url": pit.url, "eventTypes": ["sandbox.creating", "sandbox.running"]}),
    );
    for i in 0..6 {
        http.create(&format!("burst{i}"));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let records = loop {
        let d = deliveries(&http, &id);
        if d.len() >= 12 {
            break d;
        }
        assert!(Instant::now() < deadline, "only {} deliveries recorded: {d:?}", d.len());
        std::thread::sleep(Duration::from_millis(50));
    };
    let most_open = pit.most_open.load(Ordering::SeqCst);
    let accepted = pit.accepted.load(Ordering::SeqCst);
    println!("{accepted} connections accepted, at most {most_open} open at once");
    assert!(
        most_open <= 4,
        "{most_open} deliveries of one subscription open at once"
    );
    for d in &records {
        assert_eq!(d["success"], false, "{d}");
        assert!(
            d["attempt"].as_u64().unwrap() <= 1,
            "a timed-out delivery was retried: {d}"
        );
    }
    assert!(
        records.iter().any(|d| d["attempt"] == 0),
        "no delivery was refused a connection: {records:?}"
    );
    assert_eq!(accepted, records.iter().filter(|d| d["attempt"] == 1).count());
}

/// A redirect is an answer, never followed: the address it names gets no request.
#[test]
fn redirects_are_not_followed() {
    let (_router, http) = start_with(fast_opts());
    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let target = format!("http://{}/stolen", elsewhere.local_addr().unwrap());
    let redirector = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", redirector.local_addr().unwrap());
    let asked = Arc::new(AtomicUsize::new(0));
    let a = asked.clone();
    std::thread::spawn(move || {
        for mut s in redirector.incoming().flatten() {
            let mut buf = [0u8; 8192];
            let _ = s.read(&mut buf);
            a.fetch_add(1, Ordering::SeqCst);
            let _ = write!(
                s,
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    subscribe(&http, json!({"url": url, "eventTypes": ["sandbox.creating"]}));
    http.create("redirected");
    let deadline = Instant::now() + Duration::from_secs(30);
    while asked.load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline, "the subscriber was not retried");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(elsewhere.accept().is_err(), "the redirect was followed");
}

/// Alice's subscription to her sandbox `box` ends with it: Bob's new `box` feeds nobody.
#[test]
fn subscriptions_end_with_their_sandbox() {
    let (router, admin) = start_with(fast_opts());
    let alice = Http::new(router.url(), Some(&router.create_key("alice", false, &[]).unwrap()));
    let bob = Http::new(router.url(), Some(&router.create_key("bob", false, &[]).unwrap()));
    let receiver = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", receiver.local_addr().unwrap());
    let bodies = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let b = bodies.clone();
    std::thread::spawn(move || {
        for mut s in receiver.incoming().flatten() {
            let mut buf = vec![0u8; 65536];
            let n = s.read(&mut buf).unwrap_or(0);
            b.lock().unwrap().push(String::from_utf8_lossy(&buf[..n]).into_owned());
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    alice.create_running("box");
    subscribe(
        &alice,
        json!({"url": url, "eventTypes": ["sandbox.deleting", "sandbox.creating", "sandbox.running"], "sandboxId": "box"}),
    );
    assert_eq!(alice.delete("/api/v1/sandboxes/box").status, 204);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let subs = alice.get("/api/v1/webhooks").json()["webhooks"]
            .as_array()
            .unwrap()
            .len();
        let told = bodies.lock().unwrap().iter().any(|b| b.contains("sandbox.deleting"));
        if subs == 0 && told {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "subscription still there ({subs}) or deletion not told"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let seen = bodies.lock().unwrap().len();
    bob.create_running("box");
    // Bob's box is Running; an event of it would have been fanned out before this one.
    admin.create_running("marker");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        bodies.lock().unwrap().len(),
        seen,
        "bob's sandbox fed alice's subscriber"
    );
}
