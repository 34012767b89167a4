//! `agenttier sandbox files ls | cat | upload | download | archive | write`
//!
//! Transfers stream (memory stays flat whatever the size) and show a byte progress bar on
//! stderr when it is a terminal. `cat` and `archive --dest -` write raw bytes to stdout in both
//! output modes; the other commands print a line, or `{"path","bytes","local"}` with `-o json`.

use std::path::{Path, PathBuf};

use agenttier::Error;
use agenttier::blocking::{Client, Files};
use agenttier::models::{RemotePath, WriteResult};

use super::{CmdError, CmdResult};
use crate::cli::{FilesCommand, WriteArgs};
use crate::exit::{Failure, NOT_FOUND, OK};
use crate::output::{Out, Spinner};
use crate::views::{self, Transferred};

/// Runs a files command.
pub fn run(cmd: FilesCommand, client: &Client, out: &mut Out) -> CmdResult {
    let id = cmd.sandbox_id().to_owned();
    let files = client.sandbox(&id).files();
    let (result, remote) = match cmd {
        FilesCommand::Ls { path, .. } => (ls(&files, out, &path), path),
        FilesCommand::Cat { path, .. } => (cat(&files, out, &path), path),
        FilesCommand::Upload { local, remote, .. } => (upload(&files, out, &local, &remote), remote),
        FilesCommand::Download { remote, local, .. } => (download(&files, out, &remote, local), remote),
        FilesCommand::Archive { dest, path, .. } => (archive(&files, out, &path, &dest), path),
        FilesCommand::Write(args) => {
            let path = args.path.clone();
            (write(&files, out, args), path)
        }
    };
    result.map_err(|e| explain(e, &id, &remote))
}

fn ls(files: &Files, out: &mut Out, dir: &str) -> CmdResult {
    let entries = files.list(dir)?;
    if out.json() {
        let views: Vec<_> = entries.iter().map(views::File::from).collect();
        out.print_json(&views)?;
        return Ok(OK);
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let name = if e.is_dir {
                format!("{}/", e.name)
            } else {
                e.name.clone()
            };
            vec![
                name,
                e.size.to_string(),
                e.mode.clone(),
                views::rfc3339(e.modified()).unwrap_or_default(),
            ]
        })
        .collect();
    out.table(&["NAME", "SIZE", "MODE", "MODIFIED"], &rows, |out, col, cell| {
        if col == 0 && cell.ends_with('/') {
            out.bold(cell)
        } else {
            cell.to_owned()
        }
    })?;
    Ok(OK)
}

fn cat(files: &Files, out: &mut Out, path: &str) -> CmdResult {
    files.download_to(path, out.writer())?;
    Ok(OK)
}

fn upload(files: &Files, out: &mut Out, local: &Path, remote: &str) -> CmdResult {
    check_readable(local)?;
    let result = {
        let bar = Spinner::transfer(format!("uploading {}", local.display()));
        tracked(files, &bar).upload(local, remote)?
    };
    let path = written_path(&result, remote);
    let text = format!("uploaded {} bytes to {path}", result.bytes);
    report(out, text, path, result.bytes, Some(local.display().to_string()))
}

fn download(files: &Files, out: &mut Out, remote: &str, local: PathBuf) -> CmdResult {
    let checked = RemotePath::file(remote)?;
    // Like cp: into an existing directory, under the remote file's name.
    let local = if local.is_dir() {
        local.join(checked.file_name())
    } else {
        local
    };
    let bytes = {
        let bar = Spinner::transfer(format!("downloading {}", checked.file_name()));
        tracked(files, &bar).download(remote, &local)?
    };
    let text = format!("downloaded {bytes} bytes to {}", local.display());
    report(out, text, checked.absolute(), bytes, Some(local.display().to_string()))
}

fn archive(files: &Files, out: &mut Out, dir: &str, dest: &str) -> CmdResult {
    let checked = RemotePath::dir(dir)?;
    if dest == "-" && out.is_terminal() {
        return Err(Failure::config(
            "refusing to write a zip archive to a terminal; redirect stdout, or give --dest FILE",
        )
        .into());
    }
    let bar = Spinner::transfer(format!("archiving {}", checked.absolute()));
    let files = tracked(files, &bar);
    if dest == "-" {
        files.archive_to(dir, out.writer())?;
        return Ok(OK);
    }
    let bytes = files.archive(dir, std::path::Path::new(dest))?;
    drop(bar);
    let text = format!("archived {} to {dest} ({bytes} bytes)", checked.absolute());
    report(out, text, checked.absolute(), bytes, Some(dest.to_owned()))
}

fn write(files: &Files, out: &mut Out, args: WriteArgs) -> CmdResult {
    let (result, local) = match (args.data, args.file) {
        (Some(data), _) => (files.write(&args.path, data)?, None),
        (None, Some(file)) if file.as_os_str() == "-" => (
            files.upload_from(std::io::stdin().lock(), &args.path)?,
            Some("-".to_owned()),
        ),
        (None, Some(file)) => {
            check_readable(&file)?;
            (files.upload(&file, &args.path)?, Some(file.display().to_string()))
        }
        (None, None) => return Err(Failure::config("pass --data TEXT or --file LOCAL|-").into()),
    };
    let path = written_path(&result, &args.path);
    let text = format!("wrote {path}");
    report(out, text, path, result.bytes, local)
}

/// `files`, reporting to the progress bar when one is shown.
fn tracked(files: &Files, bar: &Spinner) -> Files {
    match bar.progress() {
        Some(progress) => files.clone().with_progress(progress),
        None => files.clone(),
    }
}

/// Refuses a local source that cannot be read, before any request (a usage error, as for
/// `configure --file` and `invoke --input @FILE`).
fn check_readable(local: &Path) -> Result<(), Failure> {
    let meta =
        std::fs::metadata(local).map_err(|e| Failure::config(format!("cannot read {}: {e}", local.display())))?;
    if meta.is_dir() {
        return Err(Failure::config(format!(
            "{} is a directory; upload files one by one (or configure an agent with several --file)",
            local.display()
        )));
    }
    Ok(())
}

/// The absolute path the Router reports for a write, or what was asked for.
fn written_path(result: &WriteResult, asked: &str) -> String {
    if result.path.is_empty() {
        RemotePath::file(asked).map_or_else(|_| asked.to_owned(), |p| p.absolute())
    } else {
        result.path.clone()
    }
}

/// Prints the outcome of a transfer: `text`, or the JSON result.
fn report(out: &mut Out, text: String, path: String, bytes: u64, local: Option<String>) -> CmdResult {
    if out.json() {
        out.print_json(&Transferred {
            path: &path,
            bytes,
            local,
        })?;
    } else {
        out.line(&text)?;
    }
    Ok(OK)
}

/// Names the missing file rather than the sandbox when the sandbox exists but the path does not,
/// and reports local I/O failures as such (quietly when stdout was closed: `cat ... | head`).
fn explain(err: CmdError, id: &str, remote: &str) -> CmdError {
    match err {
        CmdError::Sdk(Error::NotFound { api })
            if ["file not found", "path not found", "directory not found"]
                .iter()
                .any(|p| api.message.starts_with(p)) =>
        {
            let abs = RemotePath::dir(remote).map_or_else(|_| remote.to_owned(), |p| p.absolute());
            let parent = match abs.rsplit_once('/') {
                Some((parent, _)) if !parent.is_empty() => parent,
                _ => "/",
            };
            CmdError::Fail(Failure {
                code: NOT_FOUND,
                message: format!(
                    "{abs:?} not found in sandbox {id:?} ({}); `agenttier sandbox files ls {id} --path {parent}` shows what exists",
                    api.message
                ),
                quiet: false,
            })
        }
        CmdError::Sdk(Error::LocalIo { context, source }) => CmdError::Fail(Failure::io(&context, &source)),
        other => other,
    }
}
