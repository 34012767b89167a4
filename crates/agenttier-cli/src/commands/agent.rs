//! `agenttier configure` and `agenttier invoke`: agent-mode sandboxes.

use std::io::{Read, Write};

use agenttier::blocking::Client;
use agenttier::models::{
    Configure, ConfigureFile, ConfigureResult, Invoke, InvokeCollector, InvokeEvent, InvokeResult, LogStream,
};
use serde::Serialize;

use super::CmdResult;
use crate::cli::{ConfigureArgs, InvokeArgs};
use crate::exit::{self, Failure, OK, OTHER};
use crate::output::Out;
use crate::views::rfc3339;

/// `agenttier configure <id> [--file REMOTE=LOCAL]... [--install CMD] [--entrypoint CMD]`
///
/// Live logs go to stdout/stderr (all to stderr with `-o json`, keeping stdout for the result).
/// Exits 1 when the install command fails, as the Python CLI does.
pub fn configure(client: &Client, out: &mut Out, args: ConfigureArgs) -> CmdResult {
    if args.install_log {
        let log = client.sandbox(&args.sandbox_id).agent().install_log()?;
        if out.json() {
            out.print_json(&serde_json::json!({ "log": log }))?;
        } else {
            out.raw(log.as_bytes())?;
        }
        return Ok(OK);
    }
    let mut request = Configure::new();
    for spec in &args.files {
        let (remote, local) = spec
            .split_once('=')
            .filter(|(r, l)| !r.is_empty() && !l.is_empty())
            .ok_or_else(|| Failure::config(format!("--file {spec:?} must be REMOTE=LOCAL")))?;
        request = request.file(ConfigureFile::from_local(remote, local)?);
    }
    if let Some(install) = &args.install {
        request = request.install_command(split(install, "--install")?);
    }
    if let Some(entrypoint) = &args.entrypoint {
        request = request.entrypoint(split(entrypoint, "--entrypoint")?);
    }
    if request.files.is_empty() && request.install_command.is_empty() && request.entrypoint.is_empty() {
        return Err(Failure::config(
            "nothing to do: pass at least one of --file, --install, --entrypoint (or --install-log)",
        )
        .into());
    }
    let json = out.json();
    let result = client
        .sandbox(&args.sandbox_id)
        .agent()
        .configure_with_log(request, |stream, line| log_line(json, stream, line))?;
    if json {
        out.print_json(&ConfigureView::from(&result))?;
    } else {
        out.line(&format!(
            "configure: install exit {}, hash={}, skipped={}",
            result.install_exit_code, result.install_command_hash, result.skipped
        ))?;
    }
    Ok(if result.install_exit_code == 0 { OK } else { OTHER })
}

/// `agenttier invoke <id> [--prompt P] [--input TEXT|@FILE|-] [--timeout D]`, or `--cancel ID`.
///
/// Streams the agent's output as it comes (stdout to stdout, stderr to stderr; the start line and
/// the exit summary go to stderr) and exits with the agent's exit code. With `-o json`, prints
/// the collected result instead. Ctrl-C closes the stream, which cancels the invocation.
pub fn invoke(client: &Client, out: &mut Out, args: InvokeArgs) -> CmdResult {
    let agent = client.sandbox(&args.sandbox_id).agent();
    if let Some(id) = &args.cancel {
        agent.invoke_cancel(id)?;
        if out.json() {
            #[derive(Serialize)]
            struct Canceled<'a> {
                invoke_id: &'a str,
                action: &'static str,
            }
            out.print_json(&Canceled {
                invoke_id: id,
                action: "canceled",
            })?;
        } else {
            out.line(&format!("canceled {id}"))?;
        }
        return Ok(OK);
    }
    let mut request = match args.input.as_deref() {
        None => Invoke::empty(),
        Some("-") => {
            let mut data = Vec::new();
            std::io::stdin()
                .read_to_end(&mut data)
                .map_err(|e| Failure::io("reading stdin", &e))?;
            Invoke::bytes(data)
        }
        Some(input) => match input.strip_prefix('@') {
            Some(path) => Invoke::bytes(
                std::fs::read(path).map_err(|e| Failure::config(format!("cannot read --input file {path}: {e}")))?,
            ),
            None => Invoke::text(input),
        },
    };
    if let Some(prompt) = args.prompt {
        request = request.prompt(prompt);
    }
    if let Some(timeout) = args.timeout {
        request = request.timeout(timeout);
    }
    let json = out.json();
    let mut collector = InvokeCollector::default();
    for event in agent.invoke_stream(request)? {
        let event = event?;
        if !json {
            show(out, &event)?;
        }
        collector.push(event)?;
    }
    let result = collector.finish()?;
    if json {
        out.print_json(&InvokeView::from(&result))?;
    }
    Ok(exit::remote(result.exit_code))
}

/// Prints one invoke event as it arrives.
fn show(out: &mut Out, event: &InvokeEvent) -> Result<(), Failure> {
    match event {
        InvokeEvent::Start { invoke_id, .. } if !invoke_id.is_empty() => {
            eprintln_line(&format!("invoke started: {invoke_id}"));
        }
        InvokeEvent::Log { stream, line } => {
            if *stream == LogStream::Stderr {
                eprintln_line(line);
            } else {
                out.raw(line.as_bytes())?;
                if !line.ends_with('\n') {
                    out.raw(b"\n")?;
                }
            }
        }
        InvokeEvent::Exit(exit) => eprintln_line(&format!(
            "invoke {}: exit {} (duration {}ms)",
            exit.reason, exit.exit_code, exit.duration_ms
        )),
        _ => {}
    }
    Ok(())
}

fn log_line(json: bool, stream: &LogStream, line: &str) {
    if json || *stream == LogStream::Stderr {
        eprintln_line(line);
    } else {
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(line.as_bytes());
        if !line.ends_with('\n') {
            let _ = stdout.write_all(b"\n");
        }
        let _ = stdout.flush();
    }
}

fn eprintln_line(line: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(line.as_bytes());
    if !line.ends_with('\n') {
        let _ = stderr.write_all(b"\n");
    }
}

fn split(command: &str, flag: &str) -> Result<Vec<String>, Failure> {
    let words = shell_words::split(command).map_err(|e| Failure::config(format!("{flag} {command:?}: {e}")))?;
    if words.is_empty() {
        return Err(Failure::config(format!("{flag} must not be empty")));
    }
    Ok(words)
}

/// `ConfigureResult` with the Python CLI's JSON keys.
#[derive(Serialize)]
struct ConfigureView<'a> {
    last_configured_at: Option<String>,
    install_command_hash: Option<&'a str>,
    entrypoint: &'a [String],
    install_exit_code: i32,
    skipped: bool,
}

impl<'a> From<&'a ConfigureResult> for ConfigureView<'a> {
    fn from(r: &'a ConfigureResult) -> Self {
        ConfigureView {
            last_configured_at: rfc3339(r.last_configured_at),
            install_command_hash: (!r.install_command_hash.is_empty()).then_some(r.install_command_hash.as_str()),
            entrypoint: &r.entrypoint,
            install_exit_code: r.install_exit_code,
            skipped: r.skipped,
        }
    }
}

/// `InvokeResult` with the Python SDK's JSON keys.
#[derive(Serialize)]
struct InvokeView<'a> {
    invoke_id: &'a str,
    exit_code: i32,
    duration_ms: u64,
    reason: &'a str,
    stdout: &'a str,
    stderr: &'a str,
}

impl<'a> From<&'a InvokeResult> for InvokeView<'a> {
    fn from(r: &'a InvokeResult) -> Self {
        InvokeView {
            invoke_id: &r.invoke_id,
            exit_code: r.exit_code,
            duration_ms: r.duration_ms,
            reason: r.reason.as_str(),
            stdout: &r.stdout,
            stderr: &r.stderr,
        }
    }
}
