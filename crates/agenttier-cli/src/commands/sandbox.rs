//! `agenttier sandbox list | get | create | stop | resume | delete | exec | wait`

use std::io::Write;

use agenttier::blocking::Client;
use agenttier::models::{CreateSandbox, Exec, SandboxFilter, SandboxPhase};

use super::{CmdResult, files, ports};
use crate::cli::{CreateArgs, ExecArgs, SandboxCommand};
use crate::exit::{self, OK};
use crate::output::{Out, Spinner};
use crate::views::{self, Action};

/// Runs a sandbox command.
pub fn run(cmd: SandboxCommand, client: &Client, out: &mut Out) -> CmdResult {
    match cmd {
        SandboxCommand::List { namespace, status } => list(client, out, namespace, status.map(|p| p.as_str())),
        SandboxCommand::Get { sandbox_id } => get(client, out, &sandbox_id),
        SandboxCommand::Create(args) => create(client, out, args),
        SandboxCommand::Stop { sandbox_id } => {
            client.sandbox(&sandbox_id).stop()?;
            action(out, &sandbox_id, "stopped")
        }
        SandboxCommand::Resume { sandbox_id } => {
            client.sandbox(&sandbox_id).resume()?;
            action(out, &sandbox_id, "resumed")
        }
        SandboxCommand::Delete { sandbox_id } => {
            client.sandbox(&sandbox_id).terminate()?;
            action(out, &sandbox_id, "deleted")
        }
        SandboxCommand::Exec(args) => exec(client, out, args),
        SandboxCommand::Wait { sandbox_id, timeout } => {
            let info = {
                let _spin = Spinner::start(format!("waiting for {sandbox_id} to be Running"));
                client.sandbox(&sandbox_id).wait_until_running(timeout)?
            };
            if out.json() {
                out.print_json(&views::Sandbox::from(&info))?;
            } else {
                out.line(&format!("{sandbox_id} is running"))?;
            }
            Ok(OK)
        }
        SandboxCommand::Ports(cmd) => ports::run(cmd, client, out),
        SandboxCommand::Files(cmd) => files::run(cmd, client, out),
        SandboxCommand::Clone {
            sandbox_id,
            name,
            snapshot_class,
            wait,
        } => super::snapshots::clone(client, out, &sandbox_id, name, snapshot_class, wait),
        SandboxCommand::Update(args) => super::modify::update(client, out, args),
        SandboxCommand::Bulk { action, sandbox_ids } => super::modify::bulk(client, out, action, &sandbox_ids),
        SandboxCommand::BulkCreate { template, names } => super::modify::bulk_create(client, out, &template, &names),
        SandboxCommand::Backups(cmd) => super::snapshots::backups(cmd, client, out),
        SandboxCommand::Share(cmd) => super::share::share(cmd, client, out),
        SandboxCommand::Shell { sandbox_id, command } => super::shell::run(client, &sandbox_id, command),
    }
}

fn list(client: &Client, out: &mut Out, namespace: Option<String>, status: Option<&str>) -> CmdResult {
    let mut filter = SandboxFilter::all();
    if let Some(ns) = namespace {
        filter = filter.namespace(ns);
    }
    if let Some(status) = status {
        filter = filter.phase(SandboxPhase::from(status));
    }
    let sandboxes = client.list_sandboxes(filter)?;
    if out.json() {
        let views: Vec<_> = sandboxes.iter().map(views::Sandbox::from).collect();
        out.print_json(&views)?;
        return Ok(OK);
    }
    let rows: Vec<Vec<String>> = sandboxes
        .iter()
        .map(|s| {
            vec![
                s.id().to_owned(),
                s.name.clone(),
                s.phase.to_string(),
                s.template_ref.clone(),
                s.namespace.clone(),
            ]
        })
        .collect();
    out.table(
        &["ID", "NAME", "STATUS", "TEMPLATE", "NAMESPACE"],
        &rows,
        |out, col, cell| {
            if col == 2 { out.phase(cell) } else { cell.to_owned() }
        },
    )?;
    Ok(OK)
}

fn get(client: &Client, out: &mut Out, id: &str) -> CmdResult {
    let info = client.sandbox_info(id)?;
    views::describe(out, &info)?;
    Ok(OK)
}

fn create(client: &Client, out: &mut Out, args: CreateArgs) -> CmdResult {
    let mut params = CreateSandbox::new(args.template, &args.name);
    if let Some(ns) = args.namespace {
        params = params.namespace(ns);
    }
    if let Some(t) = args.timeout {
        params = params.timeout(t);
    }
    if let Some(t) = args.idle_timeout {
        params = params.idle_timeout(t);
    }
    if let Some(size) = args.storage_size {
        params = params.storage_size(size);
    }
    let sandbox = client.create_sandbox(params)?;
    let info = if args.wait {
        let _spin = Spinner::start(format!("waiting for {} to be Running", sandbox.id()));
        sandbox.wait_until_running(args.wait_timeout)?
    } else {
        sandbox.status()?
    };
    if out.json() {
        out.print_json(&views::Sandbox::from(&info))?;
    } else {
        out.line(&format!(
            "created {} (status: {})",
            info.id(),
            out.phase(info.phase.as_str())
        ))?;
    }
    Ok(OK)
}

fn exec(client: &Client, out: &mut Out, args: ExecArgs) -> CmdResult {
    let command = shell_words::join(&args.command);
    let result = client
        .sandbox(&args.sandbox_id)
        .exec(Exec::new(command).timeout(args.timeout))?;
    if out.json() {
        out.print_json(&views::Command::from(&result))?;
        return Ok(exit::remote(result.exit_code));
    }
    out.raw(result.stdout.as_bytes())?;
    // On a terminal, end with a newline so the prompt does not stick to the output; piped
    // output stays byte for byte.
    if out.is_terminal() && !result.stdout.is_empty() && !result.stdout.ends_with('\n') {
        out.raw(b"\n")?;
    }
    if !result.stderr.is_empty() {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(result.stderr.as_bytes());
        if !result.stderr.ends_with('\n') {
            let _ = err.write_all(b"\n");
        }
    }
    Ok(exit::remote(result.exit_code))
}

/// Reports an action without a result of its own.
fn action(out: &mut Out, id: &str, done: &str) -> CmdResult {
    if out.json() {
        out.print_json(&Action {
            sandbox_id: id,
            action: done,
            port: None,
        })?;
    } else {
        out.line(&format!("{done} {id}"))?;
    }
    Ok(OK)
}
