//! `agenttier sandbox shell` driven through a real pseudo-terminal (see `pty`), and piped.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use rustix::termios::tcsetwinsize;

use super::Fixture;
use super::pty::{OnPty, size};

#[test]
fn shell_on_a_real_terminal_is_raw_follows_resizes_and_restores_the_terminal() {
    let fx = Fixture::new();
    fx.sandbox("tty");
    let mut pty = OnPty::start(fx.cmd(), &["sandbox", "shell", "tty"]);
    assert!(pty.cooked() || pty.child.try_wait().unwrap().is_none());
    pty.type_keys("stty size; echo ok-$((3*3))\r");
    pty.wait_for("ok-9");
    assert!(pty.screen().contains("30 100"), "{:?}", pty.screen());
    assert!(!pty.cooked(), "the local terminal is raw during the session");
    // A resize of the local window reaches the remote terminal (SIGWINCH).
    tcsetwinsize(&pty.master, size(120, 40)).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut n = 0;
    while !pty.screen().contains("40 120") {
        assert!(Instant::now() < deadline, "resize never seen: {:?}", pty.screen());
        n += 1;
        pty.type_keys(&format!("stty size; echo probe-{n}\r"));
        pty.wait_for(&format!("probe-{n}\r"));
    }
    // Ctrl-C goes to the remote program, not to the CLI.
    pty.type_keys("sleep 300\r");
    std::thread::sleep(Duration::from_millis(500));
    pty.type_keys("\u{3}");
    pty.type_keys("echo back-$((1+1))\r");
    pty.wait_for("back-2");
    assert!(pty.child.try_wait().unwrap().is_none(), "Ctrl-C ended the CLI");
    pty.type_keys("exit\r");
    assert_eq!(pty.wait_exit(), 0, "{:?}", pty.screen());
    assert!(pty.cooked(), "the terminal was restored");
}

#[test]
fn shell_with_piped_input_a_command_and_a_closed_session() {
    let fx = Fixture::new();
    fx.sandbox("piped");
    let run = fx
        .run_with_stdin(&["sandbox", "shell", "piped"], b"echo piped-$((1+1))\n")
        .ok();
    assert!(run.stdout.contains("piped-2"), "{}", run.stdout);
    let run = fx
        .run(&["sandbox", "shell", "piped", "--command", "echo cmd-$((2*3)); tty"])
        .ok();
    assert!(run.stdout.contains("cmd-6"), "{}", run.stdout);
    assert!(run.stdout.contains("/dev/pts/"), "{}", run.stdout);
    fx.run(&["sandbox", "shell", "nosuch"]).code(5);
    // The server ends the session (the sandbox is stopped): a line saying so, exit 1.
    let mut child = fx
        .cmd()
        .args(["sandbox", "shell", "piped"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"echo ready-$((4+4))\n").unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !String::from_utf8_lossy(&seen).contains("ready-8") {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "ended early: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    fx.run(&["sandbox", "stop", "piped"]).ok();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("terminal session closed: the sandbox was stopped"),
        "{stderr}"
    );
}

#[test]
fn a_terminated_shell_command_still_restores_the_terminal() {
    let fx = Fixture::new();
    fx.sandbox("term");
    let mut pty = OnPty::start(fx.cmd(), &["sandbox", "shell", "term"]);
    pty.type_keys("echo up-$((5+5))\r");
    pty.wait_for("up-10");
    assert!(!pty.cooked());
    // `setsid` replaced itself with the CLI, so the child's pid is the CLI's.
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pty.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(pty.wait_exit(), 128 + 15);
    assert!(pty.cooked(), "SIGTERM left the terminal raw");
}
