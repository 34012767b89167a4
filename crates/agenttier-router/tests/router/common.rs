//! Test helpers: a raw HTTP client (ureq) talking to a `LocalRouter` over loopback.

use std::time::{Duration, Instant};

use agenttier_router::{LocalRouter, RouterOptions};
use serde_json::Value;

pub struct Reply {
    pub status: u16,
    pub headers: ureq::http::HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?} (status {})", self.body, self.status))
    }

    pub fn error(&self) -> String {
        self.json()["error"].as_str().unwrap_or_default().to_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn agent(max_redirects: u32) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .max_idle_connections(0)
        .max_redirects(max_redirects)
        .build()
        .into()
}

#[derive(Clone)]
pub struct Http {
    agent: ureq::Agent,
    pub base: String,
    pub key: Option<String>,
}

impl Http {
    pub fn new(base: &str, key: Option<&str>) -> Http {
        // A fresh connection per request: these tests check what the router answers, and must not
        // depend on when a pooled connection was closed (restarts, answers given before a body was
        // read). Keep-alive reuse is exercised by the SDK suites.
        Http {
            agent: agent(10),
            base: base.to_owned(),
            key: key.map(str::to_owned),
        }
    }

    /// The same caller, seeing redirects instead of following them.
    pub fn without_redirects(&self) -> Http {
        Http {
            agent: agent(0),
            ..self.clone()
        }
    }

    pub fn with_key(&self, key: &str) -> Http {
        Http {
            key: Some(key.to_owned()),
            ..self.clone()
        }
    }

    pub fn send(&self, method: &str, path: &str, body: Option<&str>, headers: &[(&str, &str)]) -> Reply {
        let mut b = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base, path));
        if let Some(k) = &self.key {
            b = b.header("X-API-Key", k);
        }
        for (n, v) in headers {
            b = b.header(*n, *v);
        }
        let resp = match body {
            Some(body) => self.agent.run(
                b.header("Content-Type", "application/json")
                    .body(body.as_bytes().to_vec())
                    .unwrap(),
            ),
            None => self.agent.run(b.body(()).unwrap()),
        };
        let mut resp = resp.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let body = resp
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .unwrap_or_default();
        Reply { status, headers, body }
    }

    pub fn get(&self, path: &str) -> Reply {
        self.send("GET", path, None, &[])
    }

    pub fn post(&self, path: &str, body: &str) -> Reply {
        self.send("POST", path, Some(body), &[])
    }

    pub fn post_empty(&self, path: &str) -> Reply {
        self.send("POST", path, None, &[])
    }

    pub fn delete(&self, path: &str) -> Reply {
        self.send("DELETE", path, None, &[])
    }

    /// Creates a sandbox from `general-coding` and asserts 201.
    pub fn create(&self, name: &str) -> Reply {
        self.create_from(name, "general-coding", "")
    }

    pub fn create_from(&self, name: &str, template: &str, extra: &str) -> Reply {
        let ns = if extra.contains("\"namespace\"") {
            ""
        } else {
            r#","namespace":"default""#
        };
        let body = format!(
            r#"{{"name":"{name}"{ns},"templateRef":{{"name":"{template}","kind":"ClusterSandboxTemplate"}}{extra}}}"#
        );
        let r = self.post("/api/v1/sandboxes", &body);
        assert_eq!(r.status, 201, "create {name}: {}", r.body);
        r
    }

    pub fn phase(&self, name: &str) -> (String, String) {
        let r = self.get(&format!("/api/v1/sandboxes/{name}"));
        assert_eq!(r.status, 200, "get {name}: {}", r.body);
        let j = r.json();
        (
            j["status"].as_str().unwrap().to_owned(),
            j["message"].as_str().unwrap().to_owned(),
        )
    }

    /// Polls until the sandbox reaches `phase`; returns its message.
    pub fn wait_phase(&self, name: &str, phase: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let (p, m) = self.phase(name);
            if p == phase {
                return m;
            }
            assert!(Instant::now() < deadline, "{name} stuck in {p:?} ({m}), wanted {phase}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn create_running(&self, name: &str) {
        self.create(name);
        self.wait_phase(name, "Running");
    }

    pub fn exec(&self, name: &str, command: &str) -> Value {
        let body = serde_json::json!({ "command": command }).to_string();
        let r = self.post(&format!("/api/v1/sandboxes/{name}/exec"), &body);
        assert_eq!(r.status, 200, "exec {command:?}: {}", r.body);
        r.json()
    }

    pub fn exec_timeout(&self, name: &str, command: &str, timeout: i64) -> Value {
        let body = serde_json::json!({ "command": command, "timeout": timeout }).to_string();
        let r = self.post(&format!("/api/v1/sandboxes/{name}/exec"), &body);
        assert_eq!(r.status, 200, "exec {command:?}: {}", r.body);
        r.json()
    }
}

pub fn fast_opts() -> RouterOptions {
    RouterOptions {
        start_delay: Duration::from_millis(20),
        ..RouterOptions::default()
    }
}

/// A router with API-key auth; the returned client uses the admin key.
pub fn start() -> (LocalRouter, Http) {
    start_with(fast_opts())
}

pub fn start_with(opts: RouterOptions) -> (LocalRouter, Http) {
    let router = LocalRouter::start(opts).expect("router starts");
    let http = Http::new(router.url(), Some(router.admin_key()));
    (router, http)
}

/// Whether sandboxes get namespaces here (root on Linux with util-linux).
pub fn namespaces_available() -> Result<(), String> {
    if !cfg!(target_os = "linux") {
        return Err("not Linux".into());
    }
    if !nix_is_root() {
        return Err("not running as root".into());
    }
    let ok = std::process::Command::new("unshare")
        .args(["--mount", "--pid", "--uts", "--ipc", "--fork", "--mount-proc", "true"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        Ok(())
    } else {
        Err("unshare of mount/pid/uts/ipc namespaces failed".into())
    }
}

fn nix_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A `sleep` duration unique to this test process (`<base><pid>` seconds), so that the processes a
/// test looks for by command line are its own even when two suites run on one machine.
pub fn sleep_marker(base: u32) -> String {
    format!("{base}{}", std::process::id())
}

/// Host pids whose command line is exactly `args`.
pub fn processes_matching(args: &[&str]) -> Vec<u32> {
    let want: Vec<u8> = args.join("\0").into_bytes();
    // The name the kernel keeps (at most 15 bytes) is compared first: reading a command line
    // waits for the process's memory-map lock, which a process stuck in another test's fork bomb
    // holds.
    let program = args[0].rsplit('/').next().unwrap_or(args[0]);
    let comm = &program.as_bytes()[..program.len().min(15)];
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if std::fs::read(entry.path().join("comm"))
            .ok()
            .as_deref()
            .map(|c| c.trim_ascii_end())
            != Some(comm)
        {
            continue;
        }
        if let Ok(mut cmd) = std::fs::read(entry.path().join("cmdline")) {
            while cmd.last() == Some(&0) {
                cmd.pop();
            }
            if cmd == want {
                found.push(pid);
            }
        }
    }
    found
}

/// The built `agenttier-router` binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_agenttier-router");

/// Runs `agenttier-router keys <args> --data-dir <data>` and returns what it printed.
pub fn keys(data: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new(BIN)
        .arg("keys")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "keys {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `agenttier-router serve` on `port` with `data` (key-protected) and waits until it
/// answers `/healthz`. The caller owns the child: it kills and waits for it.
#[allow(clippy::zombie_processes)]
pub fn serve_binary(data: &std::path::Path, port: u16) -> std::process::Child {
    let mut child = std::process::Command::new(BIN)
        .args(["serve", "--start-delay", "50ms", "--log-level", "warn", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(data)
        .env_remove("AGENTTIER_DEV_AUTH")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .unwrap();
    let probe = Http::new(&format!("http://127.0.0.1:{port}"), None);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() && probe.get("/healthz").status == 200) {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("router did not come up");
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    child
}

/// The sandbox cgroups of a router (all hierarchies), as they are now.
pub fn cgroup_dirs(data: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut dirs = Vec::new();
    for root in [
        "/sys/fs/cgroup/pids",
        "/sys/fs/cgroup/memory",
        "/sys/fs/cgroup/cpu",
        "/sys/fs/cgroup",
    ] {
        let Ok(tags) = std::fs::read_dir(std::path::Path::new(root).join("agenttier")) else {
            continue;
        };
        for tag in tags.flatten() {
            for leaf in std::fs::read_dir(tag.path()).into_iter().flatten().flatten() {
                // Only this router's: a process of ours is in it, or it is named after our sandbox.
                let procs = std::fs::read_to_string(leaf.path().join("cgroup.procs")).unwrap_or_default();
                let ours = procs.lines().any(|p| {
                    std::fs::read(format!("/proc/{p}/cmdline")).is_ok_and(|c| {
                        c.windows(data.as_os_str().len())
                            .any(|w| w == data.as_os_str().as_encoded_bytes())
                    })
                });
                if ours {
                    dirs.push(leaf.path());
                }
            }
        }
    }
    dirs
}

/// Field `n` after the command name in `/proc/<pid>/stat` (0: state, 1: parent pid, 2: process
/// group), when the process exists.
pub fn stat_field(pid: &str, n: usize) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid pgrp ...`; comm may hold spaces and parentheses.
    stat.rsplit_once(')')?.1.split_whitespace().nth(n).map(str::to_owned)
}

/// Host pids of the spawners (`sandbox::spawner`) of the sandbox whose directory is `dir`:
/// children of this process named `agenttier-spawn` whose working directory is `dir` (seen as
/// `/workspace` inside the sandbox). Only process names, parents and directories are read.
pub fn spawners_of(dir: &std::path::Path) -> Vec<u32> {
    use std::os::unix::fs::MetadataExt;
    let me = std::process::id().to_string();
    let want = std::fs::metadata(dir).map(|m| (m.dev(), m.ino())).unwrap();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if std::fs::read(entry.path().join("comm")).ok() != Some(b"agenttier-spawn\n".to_vec()) {
            continue;
        }
        let parent = stat_field(&pid.to_string(), 1);
        let cwd = std::fs::metadata(entry.path().join("cwd")).map(|m| (m.dev(), m.ino()));
        if parent.as_deref() == Some(me.as_str()) && cwd.is_ok_and(|c| c == want) {
            found.push(pid);
        }
    }
    found
}
