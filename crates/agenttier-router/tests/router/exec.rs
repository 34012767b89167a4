//! Exec: shell semantics, exit codes, timeouts that kill the process group, output caps.

use std::time::{Duration, Instant};

use super::common::*;

#[test]
fn exec_semantics_and_bad_input() {
    let (_r, http) = start();
    http.create_running("ex");
    let j = http.exec("ex", "echo out; echo err >&2; exit 7");
    assert_eq!(j, serde_json::json!({"stdout":"out\n","stderr":"err\n","exitCode":7}));
    let j = http.exec("ex", "printf 'a b' | wc -c; test -n \"$WORKSPACE\" && pwd -P");
    assert!(j["stdout"].as_str().unwrap().starts_with("3\n"), "{j}");
    // The router's own environment does not leak into sandboxes.
    assert_eq!(
        http.exec("ex", "env | grep -c AGENTTIER_API_KEY || true")["stdout"],
        "0\n"
    );

    let url = "/api/v1/sandboxes/ex/exec";
    for body in [
        r#"{"command":"true","timeout":"5"}"#,
        r#"{"command":"true","timeout":1.5}"#,
        r#"{"command":["ls"]}"#,
        "{",
        "",
    ] {
        let r = http.post(url, body);
        assert_eq!((r.status, r.error().as_str()), (400, "invalid request body"), "{body}");
    }
    for body in [r#"{}"#, r#"{"command":""}"#, r#"{"timeout":5}"#] {
        let r = http.post(url, body);
        assert_eq!((r.status, r.error().as_str()), (400, "command is required"), "{body}");
    }
    // Check order: ownership/existence before phase before body.
    let r = http.post("/api/v1/sandboxes/ghost/exec", "{");
    assert_eq!(r.status, 404);
    http.create_from("stopped", "general-coding", "");
    http.wait_phase("stopped", "Running");
    http.post_empty("/api/v1/sandboxes/stopped/stop");
    let r = http.post("/api/v1/sandboxes/stopped/exec", "{");
    assert_eq!((r.status, r.error().as_str()), (409, "sandbox is not running"));
}

#[test]
fn timeout_kills_the_whole_process_group() {
    let (_r, http) = start();
    http.create_running("tmo");
    let started = Instant::now();
    let (first, second) = (sleep_marker(4242), sleep_marker(4243));
    let j = http.exec_timeout("tmo", &format!("echo before; sleep {first} & sleep {second}"), 1);
    let took = started.elapsed();
    assert_eq!(j["exitCode"], -1, "{j}");
    assert_eq!(j["stdout"], "before\n");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    // Neither the child nor the backgrounded grandchild survives.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let left = processes_matching(&["sleep", &first]).len() + processes_matching(&["sleep", &second]).len();
        if left == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{left} sleep processes survived the timeout");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn background_processes_outlive_exec_until_stop() {
    let (_r, http) = start();
    http.create_running("bg");
    let started = Instant::now();
    let marker = sleep_marker(4244);
    let j = http.exec("bg", &format!("sleep {marker} & echo started"));
    assert_eq!(j["stdout"], "started\n");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(processes_matching(&["sleep", &marker]).len(), 1);
    http.post_empty("/api/v1/sandboxes/bg/stop");
    let deadline = Instant::now() + Duration::from_secs(3);
    while !processes_matching(&["sleep", &marker]).is_empty() {
        assert!(Instant::now() < deadline, "stop left a process running");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn output_is_capped_with_marker() {
    let (_r, http) = start();
    http.create_running("cap");
    let j = http.exec_timeout(
        "cap",
        "head -c 9000000 /dev/zero | tr '\\0' a; head -c 10 /dev/zero | tr '\\0' b >&2",
        60,
    );
    let out = j["stdout"].as_str().unwrap();
    assert_eq!(out.len(), 8 * 1024 * 1024 + "\n[truncated]".len());
    assert!(out.ends_with("aaa\n[truncated]"));
    assert_eq!(j["stderr"], "bbbbbbbbbb");
    assert_eq!(j["exitCode"], 0);
}

/// A running exec keeps its sandbox from going idle; a client that walks away mid-exec ends the
/// command, and the sandbox then goes idle as if the exec had finished.
#[test]
fn an_abandoned_exec_ends_and_its_sandbox_can_go_idle() {
    use std::io::Write as _;
    let (_r, http) = start();
    http.create_from("left", "general-coding", r#","idleTimeout":"1s""#);
    http.wait_phase("left", "Running");
    let marker = sleep_marker(5151);
    let body = serde_json::json!({ "command": format!("sleep {marker}"), "timeout": 120 }).to_string();
    let mut socket = std::net::TcpStream::connect(http.base.trim_start_matches("http://")).unwrap();
    write!(
        socket,
        "POST /api/v1/sandboxes/left/exec HTTP/1.1\r\nHost: localhost\r\nX-API-Key: {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        http.key.as_deref().unwrap(),
        body.len()
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while processes_matching(&["sleep", &marker]).is_empty() {
        assert!(Instant::now() < deadline, "the exec never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Twice the idle timeout with the command running: still Running.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(http.phase("left").0, "Running");
    drop(socket);
    assert_eq!(http.wait_phase("left", "Stopped"), "Idle timeout exceeded");
    assert!(processes_matching(&["sleep", &marker]).is_empty());
}

/// A router started from a shell's background job (`agenttier-router serve &`) inherits SIGINT
/// and SIGQUIT ignored; its sandbox commands must not, or Ctrl-C in a terminal interrupts
/// nothing. Ignore them in this process (the router's) and look at what a command gets.
#[test]
#[cfg(target_os = "linux")]
fn commands_start_with_default_signal_dispositions_whatever_the_router_ignores() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    #[allow(unsafe_code)]
    // SAFETY: replacing a default disposition by SIG_IGN installs no handler.
    unsafe {
        signal(Signal::SIGINT, SigHandler::SigIgn).unwrap();
        signal(Signal::SIGQUIT, SigHandler::SigIgn).unwrap();
    }
    let (_r, http) = start();
    http.create_running("sigs");
    let j = http.exec("sigs", "grep SigIgn /proc/self/status");
    let line = j["stdout"].as_str().unwrap().trim();
    let ignored = u64::from_str_radix(line.trim_start_matches("SigIgn:").trim(), 16).unwrap();
    // Bits 0..31 are signals 1..31; 32 and 33 are glibc's own, which libc calls cannot change.
    assert_eq!(ignored & 0x7fff_ffff, 0, "{line}");
}

/// An exec racing a stop of its sandbox either runs (200) or finds the sandbox not running
/// (409): the start runs without the sandboxes' lock, and a command whose sandbox stopped
/// meanwhile is killed, never left behind or reported as a server error.
#[test]
fn an_exec_racing_a_stop_runs_or_is_refused_as_not_running() {
    let (_r, http) = start();
    http.create_running("race");
    let body = serde_json::json!({ "command": "echo ran" }).to_string();
    for _ in 0..10 {
        let exec = std::thread::spawn({
            let (http, body) = (http.clone(), body.clone());
            move || http.post("/api/v1/sandboxes/race/exec", &body)
        });
        assert_eq!(http.post_empty("/api/v1/sandboxes/race/stop").status, 200);
        let r = exec.join().unwrap();
        assert!(r.status == 200 || r.status == 409, "{} {}", r.status, r.body);
        assert_eq!(http.post_empty("/api/v1/sandboxes/race/resume").status, 200);
        http.wait_phase("race", "Running");
    }
}

/// Commands start through the sandbox's spawner, a process of its own. One that died (the OOM
/// killer of a sandbox at its memory limit may pick it) is replaced for the next command, which
/// runs once. (A request that reached a spawner in the instant it died fails instead: it may have
/// started, and is never sent twice.)
#[test]
fn a_killed_spawner_is_replaced_by_the_next_command() {
    let (router, http) = start();
    http.create_running("respawn");
    assert_eq!(http.exec("respawn", "echo one")["stdout"], "one\n");
    let dir = router.data_dir().join("sandboxes").join("respawn");
    let mut previous = Vec::new();
    for round in 0..3 {
        let spawner = spawners_of(&dir);
        assert_eq!(spawner.len(), 1, "one spawner per sandbox: {spawner:?}");
        assert_ne!(spawner, previous, "a new spawner");
        let _ = std::process::Command::new("kill")
            .args(["-9", &spawner[0].to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !spawners_of(&dir).is_empty() {
            assert!(Instant::now() < deadline, "the spawner did not die");
            std::thread::sleep(Duration::from_millis(5));
        }
        // Round 0 at once (the router may not have heard of the death: its request cannot be
        // delivered and goes to a new spawner), later rounds once it has.
        if round > 0 {
            std::thread::sleep(Duration::from_millis(200));
        }
        let out = http.exec("respawn", "echo ran >> once.txt; wc -l < once.txt");
        assert_eq!(out["stdout"], format!("{}\n", round + 1), "ran once: {out}");
        previous = spawner;
    }
}

/// A command inherits its three standard streams and nothing else: not the spawner's socket, its
/// cgroup or namespace files, nor the router's descriptors.
#[test]
fn commands_inherit_only_their_three_standard_streams() {
    let (_r, http) = start();
    http.create_running("fds");
    // 3 is the directory the glob reads. Whatever this test process inherited and keeps open
    // across `exec` (a job server's pipe, say) stays out too.
    let out = http.exec("fds", "cd /proc/$$/fd && echo *");
    assert_eq!(out["stdout"], "0 1 2 3\n", "{out}");
}

/// The processes a sandbox's life depends on (its spawner and, with namespaces, its holder) are
/// not in the router's process group: a Ctrl-C meant for a program that embeds the router and
/// handles it does not end the sandboxes.
#[test]
fn a_sandboxs_own_processes_stay_out_of_the_routers_process_group() {
    let (_r, http) = start();
    http.create_running("group");
    let me = std::process::id().to_string();
    let own_group = stat_field(&me, 2).unwrap();
    let mut seen = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        // Holders only (`unshare` runs briefly in the router's group when a router probes for
        // namespaces at its start).
        let holder = comm.trim() == "unshare"
            && std::fs::read(entry.path().join("cmdline"))
                .is_ok_and(|c| c.windows(17).any(|w| w == b"agenttier-sandbox"));
        if (comm.trim() == "agenttier-spawn" || holder) && stat_field(&pid, 1).as_deref() == Some(me.as_str()) {
            assert_ne!(
                stat_field(&pid, 2).as_deref(),
                Some(own_group.as_str()),
                "{} {pid}",
                comm.trim()
            );
            seen.push(comm.trim().to_owned());
        }
    }
    assert!(seen.iter().any(|c| c == "agenttier-spawn"), "{seen:?}");
}

/// A timed-out exec answers although the sandbox's spawner cannot report that the killed command
/// ended (a sandbox at its CPU quota, a fork bomb, may keep its spawner from running): the reply
/// waits a few seconds at most for that report.
#[test]
fn a_timed_out_exec_answers_while_its_spawner_cannot_run() {
    let (router, http) = start();
    http.create_running("frozen");
    let spawner = spawners_of(&router.data_dir().join("sandboxes").join("frozen"));
    assert_eq!(spawner.len(), 1, "{spawner:?}");
    let signal = |sig: &str| {
        let _ = std::process::Command::new("kill")
            .args([sig, &spawner[0].to_string()])
            .status();
    };
    let client = http.clone();
    let exec = std::thread::spawn(move || client.exec_timeout("frozen", "sleep 60", 1));
    // Once the command runs, the spawner is frozen, as a spent CPU quota would hold it; it thaws
    // when the exec has answered, or after 30 s at the latest.
    std::thread::sleep(Duration::from_millis(400));
    signal("-STOP");
    let (answered, wait) = std::sync::mpsc::channel::<()>();
    let thaw = std::thread::spawn(move || wait.recv_timeout(Duration::from_secs(30)).is_ok());
    let out = exec.join().unwrap();
    let _ = answered.send(());
    let answered_while_frozen = thaw.join().unwrap();
    signal("-CONT");
    assert!(answered_while_frozen, "the exec waited for the spawner: {out}");
    assert_eq!(out["exitCode"], -1, "{out}");
    assert_eq!(http.exec("frozen", "echo thawed")["stdout"], "thawed\n");
}
