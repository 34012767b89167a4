//! `sandbox clone` and `sandbox backups`: copies of a sandbox's workspace.

use agenttier::blocking::Client;
use agenttier::models::CloneSandbox;

use super::CmdResult;
use crate::cli::BackupsCommand;
use crate::exit::OK;
use crate::output::{Out, Spinner};
use crate::views::rfc3339;

/// `sandbox clone`
pub fn clone(
    client: &Client,
    out: &mut Out,
    id: &str,
    name: Option<String>,
    snapshot_class: Option<String>,
    wait: bool,
) -> CmdResult {
    let mut params = CloneSandbox::new();
    if let Some(n) = name {
        params = params.name(n);
    }
    if let Some(c) = snapshot_class {
        params = params.snapshot_class(c);
    }
    let (clone, answer) = client.sandbox(id).clone_with(params)?;
    if wait {
        let info = {
            let _spin = Spinner::start(format!("waiting for {} to be Running", clone.id()));
            clone.wait_until_running(agenttier::blocking::DEFAULT_WAIT)?
        };
        return crate::views::describe(out, &info).map(|()| OK).map_err(Into::into);
    }
    if out.json() {
        out.print_json(&answer)?;
    } else {
        out.line(&format!(
            "cloning {id} into {} (snapshot {})",
            answer.name, answer.snapshot
        ))?;
    }
    Ok(OK)
}

/// `sandbox backups ...`
pub fn backups(cmd: BackupsCommand, client: &Client, out: &mut Out) -> CmdResult {
    match cmd {
        BackupsCommand::List { sandbox_id } => {
            let list = client.sandbox(&sandbox_id).backups().list()?;
            if out.json() {
                out.print_json(&list)?;
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|b| {
                        vec![
                            b.name.clone(),
                            b.kind.to_string(),
                            rfc3339(b.created_at).unwrap_or_default(),
                            b.restore_size.clone().unwrap_or_default(),
                        ]
                    })
                    .collect();
                out.table(&["NAME", "KIND", "CREATED", "SIZE"], &rows, |_, _, c| c.to_owned())?;
            }
        }
        BackupsCommand::Create { sandbox_id } => {
            let b = client.sandbox(&sandbox_id).backups().create()?;
            if out.json() {
                out.print_json(&b)?;
            } else {
                out.line(&format!("created backup {}", b.name))?;
            }
        }
        BackupsCommand::Restore {
            sandbox_id,
            snapshot,
            name,
        } => {
            let restored = client
                .sandbox(&sandbox_id)
                .backups()
                .restore(&snapshot, name.as_deref())?;
            if out.json() {
                out.print_json(&serde_json::json!({"sandbox_id": restored.id(), "restored_from": sandbox_id, "snapshot": snapshot}))?;
            } else {
                out.line(&format!("restoring {snapshot} into {}", restored.id()))?;
            }
        }
        BackupsCommand::Delete { sandbox_id, snapshot } => {
            client.sandbox(&sandbox_id).backups().delete(&snapshot)?;
            if out.json() {
                out.print_json(&serde_json::json!({"deleted": snapshot}))?;
            } else {
                out.line(&format!("deleted backup {snapshot}"))?;
            }
        }
    }
    Ok(OK)
}
