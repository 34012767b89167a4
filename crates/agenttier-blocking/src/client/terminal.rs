//! Interactive terminals (wire spec §11.5): [`Sandbox::terminal`] opens a shell on a real PTY
//! in the sandbox; [`Sandbox::run_in_terminal`] runs one command on a terminal and streams its
//! output as it comes.
//!
//! A [`Terminal`] sends keystrokes and window sizes and yields [`TerminalEvent`]s (an
//! `Iterator` in the blocking flavour, a `Stream` in the async one). Heartbeats and pings are
//! handled inside. [`Terminal::split`] gives a reader and a writer for two threads or tasks.
//! Dropping the terminal (both halves) closes the connection, and the server then kills the
//! shell and everything it started.

use agenttier_core::Result;
use agenttier_core::terminal::{ClientFrame, CloseReason, TerminalEvent, TerminalOptions, terminal_url};

use super::Sandbox;
use crate::maybe;
use crate::websocket::{WsReader, WsWriter};

/// An open terminal session.
#[derive(Debug)]
pub struct Terminal {
    reader: TerminalReader,
    writer: TerminalWriter,
}

/// The reading half of a [`Terminal`].
pub struct TerminalReader {
    pub(crate) ws: WsReader,
    pub(crate) done: bool,
}

/// The writing half of a [`Terminal`].
pub struct TerminalWriter {
    ws: WsWriter,
}

impl std::fmt::Debug for TerminalReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalReader").field("done", &self.done).finish()
    }
}

impl std::fmt::Debug for TerminalWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TerminalWriter").finish_non_exhaustive()
    }
}

impl TerminalReader {
    /// Turns one received message into what the caller sees: events pass, heartbeats and
    /// unknown frames are skipped (`None`), and the stream ends after a `close`.
    pub(crate) fn accept(&mut self, item: Option<Result<String>>) -> Option<Option<Result<TerminalEvent>>> {
        match item {
            None => {
                self.done = true;
                Some(None)
            }
            Some(Err(e)) => {
                self.done = true;
                Some(Some(Err(e)))
            }
            Some(Ok(text)) => {
                let event = TerminalEvent::from_text(&text)?;
                if matches!(event, TerminalEvent::Close { .. }) {
                    self.done = true;
                }
                Some(Some(Ok(event)))
            }
        }
    }
}

impl Terminal {
    /// Splits the session into a reader and a writer, for two threads or tasks.
    pub fn split(self) -> (TerminalReader, TerminalWriter) {
        (self.reader, self.writer)
    }

    /// The reading half.
    pub fn reader(&mut self) -> &mut TerminalReader {
        &mut self.reader
    }

    /// The writing half.
    pub fn writer(&mut self) -> &mut TerminalWriter {
        &mut self.writer
    }
}

#[maybe]
impl Sandbox {
    /// Opens an interactive terminal in the sandbox (a shell on a PTY, in `/workspace`, with
    /// `TERM=xterm-256color`), sized as `options` says.
    ///
    /// A refused connection gives the typed error of its status: [`Error::Authentication`]
    /// (401), [`Error::Authorization`] (403), [`Error::NotFound`] (404), [`Error::Conflict`]
    /// (409, the sandbox is not running), [`Error::Api`] otherwise.
    ///
    /// [`Error::Authentication`]: agenttier_core::Error::Authentication
    /// [`Error::Authorization`]: agenttier_core::Error::Authorization
    /// [`Error::NotFound`]: agenttier_core::Error::NotFound
    /// [`Error::Conflict`]: agenttier_core::Error::Conflict
    /// [`Error::Api`]: agenttier_core::Error::Api
    pub async fn terminal(&self, options: TerminalOptions) -> Result<Terminal> {
        let transport = &self.client.transport;
        let mut options = options;
        if options.namespace.is_none() && !self.namespace().is_empty() {
            options.namespace = Some(self.namespace().to_owned());
        }
        let url = terminal_url(&transport.config().base_url, self.id(), &options)?;
        let (reader, writer) = transport.open_websocket(&url).await?;
        let mut terminal = Terminal {
            reader: TerminalReader {
                ws: reader,
                done: false,
            },
            writer: TerminalWriter { ws: writer },
        };
        terminal.writer.resize(options.cols, options.rows).await?;
        Ok(terminal)
    }

    /// Runs `command` on a terminal (not through `exec`) and hands its output to `on_output`
    /// as it arrives, until the command ends.
    ///
    /// Use it for programs that need a TTY (progress bars, prompts, colour, `top`) or whose
    /// output should be seen live. Unlike [`Sandbox::exec`], stdout and stderr arrive merged,
    /// with terminal line endings (`\r\n`) and escape sequences, and there is no exit code.
    /// A session the server closes (the sandbox stopped, ...) is an [`Error::Stream`] naming
    /// the reason.
    ///
    /// [`Error::Stream`]: agenttier_core::Error::Stream
    pub async fn run_in_terminal(&self, command: &str, mut on_output: impl FnMut(&str)) -> Result<()> {
        agenttier_core::api::non_empty(command.trim(), "command")?;
        let mut terminal = self.terminal(TerminalOptions::default().command(command)).await?;
        while let Some(event) = terminal.next_event().await {
            match event? {
                TerminalEvent::Output(text) => on_output(&text),
                TerminalEvent::Error(message) => {
                    return Err(agenttier_core::Error::stream(format!("terminal error: {message}")));
                }
                TerminalEvent::Close { reason, .. } => return Err(closed(&reason)),
                #[allow(unreachable_patterns)] // `TerminalEvent` may grow
                _ => {}
            }
        }
        Ok(())
    }
}

fn closed(reason: &CloseReason) -> agenttier_core::Error {
    agenttier_core::Error::stream(format!(
        "the terminal was closed by the server ({reason}): {}",
        reason.describe()
    ))
}

#[maybe]
impl Terminal {
    /// Types `data` (`"\r"` is Enter, `"\u{3}"` is Ctrl-C).
    pub async fn send_input(&mut self, data: &str) -> Result<()> {
        self.writer.send_input(data).await
    }

    /// Tells the terminal its new window size.
    pub async fn resize(&mut self, cols: u16, rows: u16) -> Result<()> {
        self.writer.resize(cols, rows).await
    }

    /// The next event; `None` once the session ended.
    pub async fn next_event(&mut self) -> Option<Result<TerminalEvent>> {
        self.reader.next_event().await
    }

    /// Closes the session (dropping the terminal does too, without the closing handshake).
    pub async fn close(mut self) {
        self.writer.close().await;
    }
}

#[maybe]
impl TerminalReader {
    /// The next event; `None` once the session ended (after a `Close` event, or when the
    /// connection closed: the shell exited).
    pub async fn next_event(&mut self) -> Option<Result<TerminalEvent>> {
        while !self.done {
            let item = self.ws.recv().await;
            if let Some(event) = self.accept(item) {
                return event;
            }
        }
        None
    }
}

#[maybe]
impl TerminalWriter {
    /// Types `data` (`"\r"` is Enter, `"\u{3}"` is Ctrl-C).
    pub async fn send_input(&mut self, data: &str) -> Result<()> {
        self.ws.send(ClientFrame::input(data).encode()).await
    }

    /// Tells the terminal its new window size (each at least 1).
    pub async fn resize(&mut self, cols: u16, rows: u16) -> Result<()> {
        if cols == 0 || rows == 0 {
            return Err(agenttier_core::Error::invalid_input(
                "terminal size must be at least 1x1",
            ));
        }
        self.ws.send(ClientFrame::Resize { cols, rows }.encode()).await
    }

    /// Sends an application-level ping (the server answers with a pong, which is not shown).
    pub async fn ping(&mut self) -> Result<()> {
        self.ws.send(ClientFrame::Ping.encode()).await
    }

    /// Closes the session.
    pub async fn close(&mut self) {
        self.ws.close().await;
    }
}
