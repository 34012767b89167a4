//! `agenttier sandbox shell NAME [--command CMD]`: an interactive terminal in a sandbox.
//!
//! On a terminal, the local one is put in raw mode (every key, Ctrl-C included, goes to the
//! remote program) and restored on every way out: a normal end, an error, a panic (a panic hook,
//! and the guard's `Drop` while unwinding) and `SIGTERM`/`SIGHUP` (restored, then exit). The window size
//! is sent at start and on every `SIGWINCH`. Standard input that is not a terminal (a pipe, a
//! file) is typed into the shell as it is, then ends the session (see [`type_stdin`]).
//!
//! Exit status: 0 when the shell (or the command) ends; when the server closes the session, a
//! line saying why and exit 1.

use std::io::{IsTerminal, Read, Write};
use std::sync::{Arc, Mutex};

use agenttier::blocking::{Client, TerminalWriter};
use agenttier::{TerminalEvent, TerminalOptions};
use agenttier_core::terminal::Utf8Decoder;

use super::CmdResult;
use crate::exit::{Failure, OK, OTHER};

/// Runs the shell session.
pub fn run(client: &Client, sandbox_id: &str, command: Option<String>) -> CmdResult {
    let interactive = std::io::stdin().is_terminal();
    let (cols, rows) = window_size().unwrap_or((80, 24));
    let mut options = TerminalOptions::default().size(cols, rows);
    let shell = command.is_none();
    if let Some(c) = command {
        options = options.command(c);
    }
    let terminal = client.sandbox(sandbox_id).terminal(options)?;
    let (mut reader, writer) = terminal.split();
    let writer = Arc::new(Mutex::new(writer));
    // From here on the local terminal is raw until `raw_mode` is dropped, however we leave.
    let raw_mode = if interactive { raw::RawMode::enter() } else { None };
    if interactive {
        raw::forward_resizes(writer.clone());
    }
    std::thread::Builder::new()
        .name("agenttier-stdin".into())
        .spawn({
            let writer = writer.clone();
            move || type_stdin(&writer, interactive, shell)
        })
        .map_err(|e| Failure::io("cannot start the input thread", &e))?;
    let mut stdout = std::io::stdout().lock();
    let mut ended = None;
    for event in reader.by_ref() {
        match event? {
            TerminalEvent::Output(text) => {
                let shown = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
                shown.map_err(|e| Failure::io("writing to standard output", &e))?;
            }
            TerminalEvent::Error(message) => ended = Some(format!("the server reported an error: {message}")),
            TerminalEvent::Close { reason, .. } => ended = Some(reason.describe()),
            _ => {}
        }
    }
    drop(raw_mode);
    match ended {
        None => Ok(OK),
        Some(why) => Err(Failure {
            code: OTHER,
            message: format!("terminal session closed: {why}"),
            quiet: false,
        }
        .into()),
    }
}

/// Types standard input into the terminal until it ends. Input that is not a terminal then
/// ends the session: an interactive shell is told `exit` (an end-of-file character typed
/// before the shell set up its line editor would be lost), a `--command` program gets
/// end-of-file (Ctrl-D).
fn type_stdin(writer: &Mutex<TerminalWriter>, interactive: bool, shell: bool) {
    let mut stdin = std::io::stdin().lock();
    let mut buf = [0u8; 4096];
    let mut decoder = Utf8Decoder::default();
    let send = |text: &str| {
        let mut w = writer.lock().unwrap_or_else(|p| p.into_inner());
        w.send_input(text).is_ok()
    };
    let mut at_line_start = true;
    loop {
        match stdin.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let text = decoder.push(&buf[..n]);
                if let Some(last) = text.chars().last() {
                    at_line_start = matches!(last, '\n' | '\r');
                }
                if !text.is_empty() && !send(&text) {
                    return;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    if !interactive {
        let mut rest = decoder.finish();
        if !rest.is_empty() {
            at_line_start = false;
        }
        if !at_line_start {
            rest.push('\r');
        }
        rest.push_str(if shell { "exit\r" } else { "\u{4}" });
        let _ = send(&rest);
    }
}

/// The local window size, when standard output is a terminal.
fn window_size() -> Option<(u16, u16)> {
    raw::window_size()
}

#[cfg(unix)]
mod raw {
    //! Raw mode and window-size changes (Unix terminals).

    use std::sync::{Arc, Mutex};

    use agenttier::blocking::TerminalWriter;
    use rustix::termios::{OptionalActions, Termios, tcgetattr, tcsetattr};
    use signal_hook::consts::{SIGHUP, SIGTERM, SIGWINCH};

    /// The saved terminal settings, put back when dropped.
    pub struct RawMode {
        saved: Termios,
    }

    /// The settings to put back from a signal handler thread.
    static SAVED: Mutex<Option<Termios>> = Mutex::new(None);

    impl RawMode {
        /// Puts standard input's terminal in raw mode; `None` if it cannot be done.
        pub fn enter() -> Option<RawMode> {
            let stdin = std::io::stdin();
            let saved = tcgetattr(&stdin).ok()?;
            let mut raw = saved.clone();
            raw.make_raw();
            tcsetattr(&stdin, OptionalActions::Now, &raw).ok()?;
            *SAVED.lock().unwrap_or_else(|p| p.into_inner()) = Some(saved.clone());
            // A panic restores the terminal before its message is printed, even if the
            // program is built to abort instead of unwinding (then `Drop` would never run).
            let previous = std::panic::take_hook();
            std::panic::set_hook(Box::new(move |info| {
                restore();
                previous(info);
            }));
            Some(RawMode { saved })
        }
    }

    /// Puts the saved settings back, once (from a signal or a panic).
    fn restore() {
        if let Some(saved) = SAVED.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = tcsetattr(std::io::stdin(), OptionalActions::Now, &saved);
        }
    }

    impl Drop for RawMode {
        fn drop(&mut self) {
            let _ = tcsetattr(std::io::stdin(), OptionalActions::Now, &self.saved);
            *SAVED.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }

    /// Sends the window size on every `SIGWINCH`; on `SIGTERM`/`SIGHUP` restores the terminal
    /// and exits (a signal would otherwise leave it raw).
    pub fn forward_resizes(writer: Arc<Mutex<TerminalWriter>>) {
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGWINCH, SIGTERM, SIGHUP]) else {
            return;
        };
        let _ = std::thread::Builder::new()
            .name("agenttier-signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    if signal == SIGWINCH {
                        if let Some((cols, rows)) = window_size() {
                            let mut w = writer.lock().unwrap_or_else(|p| p.into_inner());
                            let _ = w.resize(cols, rows);
                        }
                        continue;
                    }
                    restore();
                    std::process::exit(128 + signal);
                }
            });
    }

    /// The window size of standard output's (else standard input's) terminal.
    pub fn window_size() -> Option<(u16, u16)> {
        let size = rustix::termios::tcgetwinsize(std::io::stdout())
            .or_else(|_| rustix::termios::tcgetwinsize(std::io::stdin()))
            .ok()?;
        (size.ws_col > 0 && size.ws_row > 0).then_some((size.ws_col, size.ws_row))
    }
}

#[cfg(not(unix))]
mod raw {
    //! Without Unix terminals: no raw mode, a fixed window size.

    use std::sync::{Arc, Mutex};

    use agenttier::blocking::TerminalWriter;

    /// Raw mode is not available here.
    pub struct RawMode;

    impl RawMode {
        /// Never entered.
        pub fn enter() -> Option<RawMode> {
            None
        }
    }

    /// Resizes are not followed here.
    pub fn forward_resizes(_writer: Arc<Mutex<TerminalWriter>>) {}

    /// Unknown here.
    pub fn window_size() -> Option<(u16, u16)> {
        None
    }
}
