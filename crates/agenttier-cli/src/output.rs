//! Writing results: text, tables and colour for people, JSON for scripts, spinners on a TTY.

use std::io::{self, IsTerminal, Write};
use std::time::Duration;

use serde::Serialize;

use crate::cli::{ColorChoice, Format};
use crate::exit::Failure;

/// Where results go, in which format.
pub struct Out {
    /// The requested format.
    pub format: Format,
    color: bool,
    stdout: io::StdoutLock<'static>,
}

impl Out {
    /// Output on stdout. Colour as `choice` says; `auto` colours a terminal unless `NO_COLOR`
    /// is set or `TERM=dumb`, and `CLICOLOR_FORCE` (not `0`) colours even a pipe.
    pub fn new(format: Format, choice: ColorChoice) -> Out {
        let stdout = io::stdout();
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) => false,
            ColorChoice::Auto if set("CLICOLOR_FORCE") => true,
            ColorChoice::Auto => {
                let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
                !dumb && stdout.is_terminal()
            }
        };
        Out {
            format,
            color,
            stdout: stdout.lock(),
        }
    }

    /// Whether JSON was asked for.
    pub fn json(&self) -> bool {
        self.format == Format::Json
    }

    /// Whether stdout is a terminal.
    pub fn is_terminal(&self) -> bool {
        io::stdout().is_terminal()
    }

    /// Prints `value` as pretty JSON.
    pub fn print_json<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Failure> {
        let text = serde_json::to_string_pretty(value).map_err(|e| Failure::config(format!("JSON output: {e}")))?;
        self.line(&text)
    }

    /// Prints one line.
    pub fn line(&mut self, text: &str) -> Result<(), Failure> {
        writeln!(self.stdout, "{text}").map_err(|e| Failure::io("writing to stdout", &e))
    }

    /// Writes raw bytes (no newline added).
    pub fn raw(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.stdout
            .write_all(bytes)
            .and_then(|()| self.stdout.flush())
            .map_err(|e| Failure::io("writing to stdout", &e))
    }

    /// Stdout itself, for streaming raw bytes (`files cat`, `files archive --dest -`).
    pub fn writer(&mut self) -> &mut impl Write {
        &mut self.stdout
    }

    /// `text` in bold, when colour is on.
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    /// A sandbox phase, coloured by health when colour is on.
    pub fn phase(&self, phase: &str) -> String {
        let code = match phase {
            "Running" => "32",
            "Creating" | "Deleting" | "" => "33",
            "Error" => "31",
            _ => "2",
        };
        self.paint(code, phase)
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color && !text.is_empty() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// Prints an aligned table (two spaces between columns; `(no results)` when empty, as the
    /// Python CLI does). `paint` may colour a cell; widths are computed on the plain text.
    pub fn table(
        &mut self,
        headers: &[&str],
        rows: &[Vec<String>],
        paint: impl Fn(&Out, usize, &str) -> String,
    ) -> Result<(), Failure> {
        let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
        for row in rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let render = |cells: Vec<(String, usize)>| {
            let mut line = String::new();
            for (i, (text, plain_len)) in cells.iter().enumerate() {
                line.push_str(text);
                if i + 1 < cells.len() {
                    line.push_str(&" ".repeat(widths[i].saturating_sub(*plain_len) + 2));
                }
            }
            line.trim_end().to_owned()
        };
        let header = render(headers.iter().map(|h| (self.bold(h), h.chars().count())).collect());
        self.line(&header)?;
        if rows.is_empty() {
            return self.line("(no results)");
        }
        for row in rows {
            let cells = row
                .iter()
                .enumerate()
                .map(|(i, c)| (paint(self, i, c), c.chars().count()))
                .collect();
            let line = render(cells);
            self.line(&line)?;
        }
        Ok(())
    }

    /// Prints `label: value` lines with the values aligned; empty values are skipped.
    pub fn fields(&mut self, fields: &[(&str, String)]) -> Result<(), Failure> {
        let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 1;
        for (key, value) in fields.iter().filter(|(_, v)| !v.is_empty()) {
            let label = format!("{key}:");
            self.line(&format!("{label:<width$} {value}"))?;
        }
        Ok(())
    }
}

/// A spinner on stderr while something slow happens; nothing at all when stderr is not a terminal.
/// A transfer spinner counts bytes, and becomes a bar once the total is known.
pub struct Spinner(Option<indicatif::ProgressBar>);

impl Spinner {
    /// Starts spinning with `message`.
    pub fn start(message: impl Into<String>) -> Spinner {
        Spinner::with_style(message, None)
    }

    /// Starts a byte counter for a file transfer described by `message` (e.g. `uploading a.bin`);
    /// feed it with [`Spinner::progress`].
    pub fn transfer(message: impl Into<String>) -> Spinner {
        let style = indicatif::ProgressStyle::with_template("{spinner} {msg} {bytes} ({bytes_per_sec})").ok();
        Spinner::with_style(message, style)
    }

    fn with_style(message: impl Into<String>, style: Option<indicatif::ProgressStyle>) -> Spinner {
        if !io::stderr().is_terminal() {
            return Spinner(None);
        }
        let mut bar = indicatif::ProgressBar::new_spinner().with_message(message.into());
        if let Some(style) = style {
            bar = bar.with_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(100));
        Spinner(Some(bar))
    }

    /// The callback for `Files::with_progress` (bytes so far, total when known), when shown.
    pub fn progress(&self) -> Option<impl Fn(u64, Option<u64>) + Send + Sync + 'static> {
        let bar = self.0.clone()?;
        Some(move |done: u64, total: Option<u64>| {
            if let Some(total) = total.filter(|_| bar.length().is_none()) {
                bar.set_length(total);
                if let Ok(style) = indicatif::ProgressStyle::with_template(
                    "{msg} [{wide_bar}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
                ) {
                    bar.set_style(style.progress_chars("=> "));
                }
            }
            bar.set_position(done);
        })
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = self.0.take() {
            bar.finish_and_clear();
        }
    }
}
