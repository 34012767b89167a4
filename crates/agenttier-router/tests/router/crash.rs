//! `kill -9` of the served binary in the middle of a create, an exec, a configure and an upload,
//! then a restart on the same data dir: no sandbox or key lost, no process of the killed router
//! left behind (orphan or zombie), every phase consistent, and the interrupted work redoable.

use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::json;

use super::common::*;

/// A served router on a data dir, with one user key.
struct Served {
    child: Child,
    http: Http,
}

fn mint_key(data: &Path) -> String {
    keys(data, &["create", "--name", "crash"]).trim().to_owned()
}

fn serve(data: &Path, port: u16, key: &str) -> Served {
    Served {
        child: serve_binary(data, port),
        http: Http::new(&format!("http://127.0.0.1:{port}"), Some(key)),
    }
}

impl Served {
    fn kill_9(mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }

    fn stop(self) {
        drop(self);
    }
}

impl Drop for Served {
    /// SIGTERM (the router ends its sandboxes), also when a test fails half-way.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.child.id().to_string()])
                .status();
            let _ = self.child.wait();
        }
    }
}

/// Runs a request that may die with the router (the helpers panic on transport errors).
fn catch<T>(f: impl FnOnce() -> T) -> std::thread::Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
}

/// Pids whose command line contains `needle` (the test process excluded).
fn pids_with(needle: &str) -> Vec<i32> {
    let me = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).replace('\0', " ").contains(needle))
        })
        .collect()
}

/// Zombies whose parent is `parent`.
fn zombies_of(parent: u32) -> Vec<String> {
    let parent = parent.to_string();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|pid| {
            stat_field(pid, 0).as_deref() == Some("Z") && stat_field(pid, 1).as_deref() == Some(parent.as_str())
        })
        .collect()
}

/// Waits until no process carries `needle` in its command line.
fn assert_gone(needle: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = pids_with(needle);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what} survived the crash and restart: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Namespace holders (`unshare` processes) of sandboxes under `data`, by sandbox directory.
fn holders(data: &Path) -> Vec<String> {
    let prefix = format!("{}/", data.join("sandboxes").display());
    pids_with("agenttier-sandbox")
        .into_iter()
        .filter_map(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).ok())
        .map(|c| {
            c.split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
        })
        .filter(|args| args.first().is_some_and(|a| a.ends_with("unshare")))
        .filter_map(|args| args.into_iter().find(|a| a.starts_with(&prefix)))
        .collect()
}

/// The common after-restart checks: the key works, every sandbox settles in a stable phase,
/// exactly one holder per running sandbox is left (none of the killed router's), and the new
/// router has no zombie children.
fn consistent(s: &Served, data: &Path, expected: &[&str]) {
    assert_eq!(
        s.http.get("/api/v1/user/me").json()["name"],
        "crash",
        "the key survived"
    );
    let list = s.http.get("/api/v1/sandboxes").json();
    let names: Vec<&str> = list["sandboxes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].as_str().unwrap())
        .collect();
    for name in expected {
        assert!(names.contains(name), "{name} lost: {names:?}");
    }
    let mut running = Vec::new();
    for name in &names {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (phase, message) = s.http.phase(name);
            if phase == "Running" || phase == "Stopped" {
                if phase == "Running" {
                    running.push(format!("{}", data.join("sandboxes").join(name).display()));
                }
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{name} stuck in {phase:?} ({message}) after the restart"
            );
            std::thread::sleep(Duration::from_millis(30));
        }
    }
    if namespaces_available().is_ok() {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let mut found = holders(data);
            found.sort();
            running.sort();
            if found == running {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "holders {found:?} do not match the running sandboxes {running:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    assert!(
        zombies_of(s.child.id()).is_empty(),
        "zombies under the new router: {:?}",
        zombies_of(s.child.id())
    );
}

#[test]
fn kill_9_during_create() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().canonicalize().unwrap();
    let key = mint_key(&data);
    let port = free_port();
    let s = serve(&data, port, &key);
    // Creates race the kill: those answered 201 must survive; none may be half-made.
    let http = s.http.clone();
    let creator = std::thread::spawn(move || {
        let mut made = Vec::new();
        for i in 0..40 {
            let body = json!({"name": format!("c{i}"), "templateRef": {"name": "general-coding"}}).to_string();
            match catch(|| http.post("/api/v1/sandboxes", &body)) {
                Ok(r) if r.status == 201 => made.push(format!("c{i}")),
                _ => break,
            }
        }
        made
    });
    std::thread::sleep(Duration::from_millis(150));
    s.kill_9();
    let made = creator.join().unwrap();
    assert!(!made.is_empty(), "some creates finished before the kill");

    let s = serve(&data, port, &key);
    let refs: Vec<&str> = made.iter().map(String::as_str).collect();
    consistent(&s, &data, &refs);
    // A name whose create was cut can be created (or already exists): never a broken record.
    let next = format!("c{}", made.len());
    let r = s.http.post(
        "/api/v1/sandboxes",
        &json!({"name": next, "templateRef": {"name": "general-coding"}}).to_string(),
    );
    assert!(matches!(r.status, 201 | 500 | 409), "{}: {}", r.status, r.body);
    s.http.wait_phase(&next, "Running");
    s.stop();
}

#[test]
fn kill_9_during_exec() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().canonicalize().unwrap();
    let key = mint_key(&data);
    let port = free_port();
    let s = serve(&data, port, &key);
    s.http.create_running("ex");
    assert_eq!(s.http.exec("ex", "echo kept > kept.txt")["exitCode"], 0);
    let http = s.http.clone();
    let marker = "sleep 37.25";
    let runner =
        std::thread::spawn(move || catch(|| http.exec_timeout("ex", &format!("{marker}; echo never"), 120)).is_err());
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids_with(marker).is_empty() {
        assert!(Instant::now() < deadline, "the exec never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    s.kill_9();
    assert!(runner.join().unwrap(), "the exec failed with the router");

    let s = serve(&data, port, &key);
    consistent(&s, &data, &["ex"]);
    assert_gone(marker, "the interrupted exec");
    assert_eq!(s.http.exec("ex", "cat kept.txt")["stdout"], "kept\n");
    assert_eq!(s.http.exec("ex", "echo again")["stdout"], "again\n");
    s.stop();
    assert_gone(&format!("{}", data.join("sandboxes").display()), "a sandbox process");
}

#[test]
fn kill_9_during_configure() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().canonicalize().unwrap();
    let key = mint_key(&data);
    let port = free_port();
    let s = serve(&data, port, &key);
    s.http.create_from("ag", "agent-python", "");
    s.http.wait_phase("ag", "Running");
    let marker = "sleep 41.5";
    let body = json!({
        "files": [{"path": "/workspace/agent.sh", "content": "echo ran"}],
        "installCommand": ["sh", "-c", format!("{marker}; echo installed")],
        "entrypoint": ["sh", "/workspace/agent.sh"],
    })
    .to_string();
    let http = s.http.clone();
    let b = body.clone();
    let runner = std::thread::spawn(move || {
        let _ = catch(|| http.post("/api/v1/sandboxes/ag/configure", &b));
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while pids_with(marker).is_empty() {
        assert!(Instant::now() < deadline, "the install never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    s.kill_9();
    runner.join().unwrap();

    let s = serve(&data, port, &key);
    consistent(&s, &data, &["ag"]);
    assert_gone(marker, "the interrupted install");
    // The cut configure is not recorded as done: invoking has no entrypoint yet, or the
    // configure runs again in full (never "skipped" on the strength of a half-done install).
    let quick = json!({
        "files": [{"path": "/workspace/agent.sh", "content": "echo ran"}],
        "installCommand": ["sh", "-c", "echo installed"],
        "entrypoint": ["sh", "/workspace/agent.sh"],
    })
    .to_string();
    let r = s.http.post("/api/v1/sandboxes/ag/configure", &quick);
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("event: result"), "{}", r.body);
    assert!(r.body.contains("\"skipped\":false"), "{}", r.body);
    let r = s.http.post("/api/v1/sandboxes/ag/invoke", "");
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("ran"), "{}", r.body);
    s.stop();
}

#[test]
fn kill_9_during_upload() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().canonicalize().unwrap();
    let key = mint_key(&data);
    let port = free_port();
    let s = serve(&data, port, &key);
    s.http.create_running("up");
    assert_eq!(
        s.http
            .send("PUT", "/api/v1/sandboxes/up/files/workspace/big.bin", Some("old"), &[])
            .status,
        201
    );
    // Half of a 20 MB upload over a raw socket, then the kill.
    let total = 20_000_000;
    let mut sock = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        sock,
        "PUT /api/v1/sandboxes/up/files/workspace/big.bin HTTP/1.1\r\nhost: 127.0.0.1\r\nx-api-key: {key}\r\n\
         content-type: application/octet-stream\r\ncontent-length: {total}\r\n\r\n"
    )
    .unwrap();
    sock.write_all(&vec![b'n'; total / 2]).unwrap();
    sock.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    s.kill_9();
    drop(sock);

    let s = serve(&data, port, &key);
    consistent(&s, &data, &["up"]);
    // The target keeps its old content: a cut upload never leaves a torn file.
    let r = s.http.get("/api/v1/sandboxes/up/files/workspace/big.bin");
    assert_eq!((r.status, r.body.as_str()), (200, "old"));
    let listing = s.http.get("/api/v1/sandboxes/up/files/?path=/workspace").body;
    assert!(
        !listing.contains("\"size\":10000000"),
        "a partial temp file is visible: {listing}"
    );
    let r = s
        .http
        .send("PUT", "/api/v1/sandboxes/up/files/workspace/big.bin", Some("new"), &[]);
    assert!(r.status == 200 || r.status == 201, "{}", r.body);
    assert_eq!(s.http.get("/api/v1/sandboxes/up/files/workspace/big.bin").body, "new");
    s.stop();
}

#[test]
fn sandboxes_end_with_a_killed_router() {
    if let Err(why) = namespaces_available() {
        println!("SKIPPED sandboxes_end_with_a_killed_router: namespaces unavailable ({why})");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().canonicalize().unwrap();
    let key = mint_key(&data);
    let s = serve(&data, free_port(), &key);
    s.http.create_running("orphan");
    let marker = "sleep 41.25";
    assert_eq!(
        s.http.exec("orphan", &format!("{marker} > /dev/null 2>&1 &"))["exitCode"],
        0
    );
    assert!(!pids_with(marker).is_empty(), "the background process runs");
    s.kill_9();
    // No restart: the holder notices its router is gone and takes the whole sandbox with it.
    assert_gone(marker, "a background process of a killed router's sandbox");
    assert_gone(
        &format!("{}", data.join("sandboxes").display()),
        "a killed router's namespace holder",
    );
}

#[test]
fn a_killed_routers_cgroups_are_removed_at_the_next_start() {
    if let Err(why) = namespaces_available() {
        println!("SKIPPED: namespaces unavailable ({why})");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().canonicalize().unwrap();
    let key = mint_key(&data);
    let s = serve(&data, free_port(), &key);
    s.http.create_running("grouped");
    let cgroups = cgroup_dirs(&data);
    if cgroups.is_empty() {
        println!("SKIPPED: no cgroups here");
        return;
    }
    s.kill_9();
    assert_gone(
        &format!("{}", data.join("sandboxes").display()),
        "a killed router's namespace holder",
    );
    assert!(cgroups.iter().all(|d| d.exists()), "the killed router left its cgroups");
    let s = serve(&data, free_port(), &key);
    assert!(cgroups.iter().all(|d| !d.exists()), "leftover cgroups removed at start");
    // The sandbox comes back, in a new cgroup of its own.
    s.http.wait_phase("grouped", "Running");
    assert!(!cgroup_dirs(&data).is_empty());
}
