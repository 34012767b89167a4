//! `terminal`: the terminal WebSocket against a local PTY with no network.
//!
//! ```text
//! cargo run --release -p agenttier-bench --bin terminal            # 2 000 keystrokes, 64 MiB
//! cargo run --release -p agenttier-bench --bin terminal -- --quick # 300 keystrokes, 8 MiB
//! ```
//!
//! * Keystroke to echo: one character typed into `cat` on a terminal in raw mode (`stty -echo
//!   -icanon`: the program echoes, as a shell's line editor does), timed until it comes back.
//!   Through the router: blocking client → WebSocket → router → PTY → `cat` → PTY → frame →
//!   client; once on one thread, once typed and read on two threads through `split()` (as the
//!   CLI's `sandbox shell` does). Baseline: the same on a PTY this process opens, written and
//!   read directly.
//! * Output throughput: `cat` of a text file on the terminal, read to its end. Through the
//!   router with `run_in_terminal`; baseline: `cat` on a local PTY, read from the master.
//!
//! The baseline is what any terminal costs (PTY and line discipline, same `cat`), so the
//! difference is what the router, the WebSocket and the JSON framing add.

#![allow(missing_docs)]

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::time::{Duration, Instant};

use agenttier::blocking::Client;
use agenttier::models::CreateSandbox;
use agenttier::{TerminalEvent, TerminalOptions};
use agenttier_router::{LocalRouter, RouterOptions};

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (keys, mib) = if quick { (300, 8) } else { (2_000, 64) };
    let router = LocalRouter::start(RouterOptions {
        start_delay: Duration::from_millis(10),
        ..RouterOptions::default()
    })
    .expect("router");
    let client = Client::builder()
        .base_url(router.url())
        .api_key(router.admin_key())
        .expect("key")
        .stream_idle_timeout(Duration::from_secs(600))
        .build()
        .expect("client");
    let sandbox = client
        .create_sandbox(CreateSandbox::new("general-coding", "bench-term"))
        .expect("create");
    sandbox.wait_until_running(Duration::from_secs(60)).expect("running");
    let make = format!("yes 'the quick brown fox jumps over the lazy dog 0123456789' | head -c {mib}M > big.txt");
    let made = sandbox.exec(make.as_str()).expect("make the file");
    assert_eq!(made.exit_code, 0, "{made:?}");
    let local_dir = std::env::temp_dir().join(format!("agenttier-bench-term-{}", std::process::id()));
    std::fs::create_dir_all(&local_dir).expect("temp dir");
    let status = std::process::Command::new("/bin/sh")
        .args(["-c", &make])
        .current_dir(&local_dir)
        .status()
        .expect("make the local file");
    assert!(status.success());
    let bytes = (mib as f64) * 1024.0 * 1024.0;

    let router_echo = echo_through_router(&sandbox, keys);
    let split_echo = echo_through_split(&sandbox, keys);
    let local_echo = echo_on_local_pty(keys);
    let router_cat = cat_through_router(&sandbox, bytes as usize);
    let local_cat = cat_on_local_pty(&local_dir.join("big.txt"), bytes as usize);
    let _ = std::fs::remove_dir_all(&local_dir);
    sandbox.terminate().expect("terminate");

    println!("| scenario | path | p50 | p99 | throughput |");
    println!("|---|---|---:|---:|---:|");
    let (p50, p99) = percentiles(router_echo);
    println!(
        "| keystroke → echo ({keys} keys) | router WebSocket (blocking client) | {:.3} ms | {:.3} ms | |",
        p50, p99
    );
    let (s50, s99) = percentiles(split_echo);
    println!("| | router WebSocket, `split()` halves on two threads | {s50:.3} ms | {s99:.3} ms | |");
    let (l50, l99) = percentiles(local_echo);
    println!("| | local PTY, no network | {:.3} ms | {:.3} ms | |", l50, l99);
    let mbps = |secs: f64| bytes / secs / 1e6;
    println!(
        "| `cat` of {mib} MiB | router WebSocket (`run_in_terminal`) | | | {:.0} MB/s ({router_cat:.2} s) |",
        mbps(router_cat)
    );
    println!(
        "| | local PTY, no network | | | {:.0} MB/s ({local_cat:.2} s) |",
        mbps(local_cat)
    );
    println!(
        "\nthroughput, local / router: {:.2}×; echo p50, router − local: {:.3} ms",
        mbps(local_cat) / mbps(router_cat),
        p50 - l50
    );
}

/// Milliseconds at the 50th and 99th percentiles.
fn percentiles(mut samples: Vec<Duration>) -> (f64, f64) {
    samples.sort_unstable();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3;
    (at(0.50), at(0.99))
}

/// The program keystrokes are timed against: it echoes every byte itself, at once.
const ECHO: &str = "stty -echo -icanon; exec cat";

fn echo_through_router(sandbox: &agenttier::blocking::Sandbox, keys: usize) -> Vec<Duration> {
    let mut terminal = sandbox
        .terminal(TerminalOptions::default().command(ECHO))
        .expect("terminal");
    std::thread::sleep(Duration::from_millis(500)); // `stty` has run
    let mut samples = Vec::with_capacity(keys);
    for _ in 0..keys {
        let started = Instant::now();
        terminal.send_input("x").expect("type");
        loop {
            match terminal.next_event() {
                Some(Ok(TerminalEvent::Output(text))) if !text.is_empty() => break,
                Some(Ok(_)) => {}
                other => panic!("terminal ended: {other:?}"),
            }
        }
        samples.push(started.elapsed());
    }
    samples
}

/// The same through `split()`: a reader thread waits for output while this thread types.
fn echo_through_split(sandbox: &agenttier::blocking::Sandbox, keys: usize) -> Vec<Duration> {
    let terminal = sandbox
        .terminal(TerminalOptions::default().command(ECHO))
        .expect("terminal");
    std::thread::sleep(Duration::from_millis(500)); // `stty` has run
    let (mut reader, mut writer) = terminal.split();
    let (echoed, echoes) = std::sync::mpsc::channel();
    let reading = std::thread::spawn(move || {
        while let Some(Ok(event)) = reader.next_event() {
            if matches!(&event, TerminalEvent::Output(text) if !text.is_empty()) && echoed.send(()).is_err() {
                break;
            }
        }
    });
    let mut samples = Vec::with_capacity(keys);
    for _ in 0..keys {
        let started = Instant::now();
        writer.send_input("x").expect("type");
        echoes.recv().expect("echo");
        samples.push(started.elapsed());
    }
    writer.close();
    drop(echoes);
    let _ = reading.join();
    samples
}

fn open_pty() -> (std::fs::File, OwnedFd) {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).expect("openpt");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let name = ptsname(&master, Vec::new()).expect("ptsname");
    let slave = rustix::fs::open(
        name.as_c_str(),
        rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NOCTTY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .expect("open slave");
    (std::fs::File::from(master), slave)
}

fn spawn_on(slave: &OwnedFd, program: &str, args: &[&str]) -> std::process::Child {
    std::process::Command::new(program)
        .args(args)
        .stdin(slave.try_clone().expect("dup"))
        .stdout(slave.try_clone().expect("dup"))
        .stderr(slave.try_clone().expect("dup"))
        .spawn()
        .expect("spawn")
}

fn echo_on_local_pty(keys: usize) -> Vec<Duration> {
    let (mut master, slave) = open_pty();
    let mut child = spawn_on(&slave, "/bin/sh", &["-c", ECHO]);
    std::thread::sleep(Duration::from_millis(500));
    let mut buf = [0u8; 4096];
    let mut samples = Vec::with_capacity(keys);
    for _ in 0..keys {
        let started = Instant::now();
        master.write_all(b"x").expect("type");
        let n = master.read(&mut buf).expect("echo");
        assert!(n > 0);
        samples.push(started.elapsed());
    }
    let _ = child.kill();
    let _ = child.wait();
    samples
}

fn cat_through_router(sandbox: &agenttier::blocking::Sandbox, at_least: usize) -> f64 {
    let mut got = 0usize;
    let started = Instant::now();
    sandbox
        .run_in_terminal("cat big.txt", |text| got += text.len())
        .expect("cat through the router");
    let secs = started.elapsed().as_secs_f64();
    // The terminal turns each "\n" into "\r\n": more bytes arrive than the file holds.
    assert!(got >= at_least, "only {got} of {at_least} bytes");
    secs
}

fn cat_on_local_pty(path: &std::path::Path, at_least: usize) -> f64 {
    let (mut master, slave) = open_pty();
    let started = Instant::now();
    let mut child = spawn_on(&slave, "cat", &[path.to_str().expect("utf-8 path")]);
    drop(slave);
    let mut buf = vec![0u8; 64 * 1024];
    let mut got = 0usize;
    loop {
        match master.read(&mut buf) {
            Ok(0) | Err(_) => break, // EIO once every slave is closed
            Ok(n) => got += n,
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let _ = child.wait();
    assert!(got >= at_least, "only {got} of {at_least} bytes");
    secs
}
