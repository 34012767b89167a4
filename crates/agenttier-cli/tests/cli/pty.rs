//! The binary on a real pseudo-terminal: it runs as the session leader of a PTY the test opens,
//! as in a terminal emulator; the test types keys into the master side and reads the screen.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rustix::termios::{LocalModes, Winsize, tcgetattr, tcsetwinsize};

use super::BIN;

/// The binary on a PTY: the master side (keys in, screen out) and the child.
pub struct OnPty {
    /// The terminal emulator's side: keys in, screen out.
    pub master: std::fs::File,
    slave: OwnedFd,
    screen: Arc<Mutex<String>>,
    /// The binary.
    pub child: std::process::Child,
}

pub fn size(cols: u16, rows: u16) -> Winsize {
    Winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

impl OnPty {
    /// Starts the binary with `base`'s environment and `args`.
    pub fn start(base: Command, args: &[&str]) -> OnPty {
        use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).unwrap();
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        let slave = rustix::fs::open(
            name.as_c_str(),
            rustix::fs::OFlags::RDWR | rustix::fs::OFlags::NOCTTY | rustix::fs::OFlags::CLOEXEC,
            rustix::fs::Mode::empty(),
        )
        .unwrap();
        tcsetwinsize(&master, size(100, 30)).unwrap();
        // `setsid --ctty`: the binary leads a new session with the PTY as its controlling
        // terminal, so it gets SIGWINCH like under a terminal emulator.
        let mut cmd = std::process::Command::new("setsid");
        cmd.arg("--ctty").arg(BIN).args(args);
        for (k, v) in base.get_envs() {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        let child = cmd
            .stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave.try_clone().unwrap())
            .spawn()
            .unwrap();
        let master = std::fs::File::from(master);
        let screen = Arc::new(Mutex::new(String::new()));
        let mut reading = master.try_clone().unwrap();
        let seen = screen.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = reading.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        OnPty {
            master,
            slave,
            screen,
            child,
        }
    }

    pub fn type_keys(&mut self, keys: &str) {
        self.master.write_all(keys.as_bytes()).unwrap();
    }

    pub fn screen(&self) -> String {
        self.screen.lock().unwrap().clone()
    }

    pub fn wait_for(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.screen().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "never saw {needle:?}; screen: {:?}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the local terminal is in canonical (cooked) mode with echo.
    pub fn cooked(&self) -> bool {
        let t = tcgetattr(&self.slave).unwrap();
        t.local_modes.contains(LocalModes::ICANON) && t.local_modes.contains(LocalModes::ECHO)
    }

    pub fn wait_exit(&mut self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            assert!(
                Instant::now() < deadline,
                "the CLI did not exit; screen: {:?}",
                self.screen()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
