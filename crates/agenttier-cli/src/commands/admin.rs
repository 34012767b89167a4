//! `preferences`, `admin` and `sandbox bulk-create`. Reports are JSON, as `cluster` and `policy`.

use agenttier::blocking::Client;
use agenttier::models::{CreateSandbox, SandboxFilter, SandboxPhase};

use super::CmdResult;
use super::template::read_text;
use crate::cli::{AdminCommand, PreferencesCommand};
use crate::exit::{Failure, OK, OTHER};
use crate::output::Out;

/// `preferences get | set`
pub fn preferences(cmd: PreferencesCommand, client: &Client, out: &mut Out) -> CmdResult {
    let prefs = client.preferences();
    match cmd {
        PreferencesCommand::Get => out.print_json(&prefs.get()?)?,
        PreferencesCommand::Set { document } => {
            let text = match document.strip_prefix('@') {
                Some(file) => read_text(file)?,
                None if document == "-" => read_text("-")?,
                None => document,
            };
            let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
                .map_err(|e| Failure::config(format!("preferences must be a JSON object: {e}")))?;
            out.print_json(&prefs.put(&map)?)?;
        }
    }
    Ok(OK)
}

/// `admin sandboxes | sharing`
pub fn admin(cmd: AdminCommand, client: &Client, out: &mut Out) -> CmdResult {
    match cmd {
        AdminCommand::Sandboxes { namespace, status } => {
            let mut filter = SandboxFilter::all();
            if let Some(ns) = namespace {
                filter = filter.namespace(ns);
            }
            if let Some(phase) = status {
                filter = filter.phase(SandboxPhase::from(phase.as_str()));
            }
            out.print_json(&client.admin().sandboxes(filter)?)?;
        }
        AdminCommand::Sharing => out.print_json(&client.admin().sharing()?)?,
    }
    Ok(OK)
}

/// `sandbox bulk-create`: exits 1 when any item failed.
pub fn bulk_create(client: &Client, out: &mut Out, template: &str, names: &[String]) -> CmdResult {
    let items: Vec<_> = names.iter().map(|n| CreateSandbox::new(template, n)).collect();
    let results = client.bulk_create(&items)?;
    let failed = results.iter().any(|r| !r.status.is_success());
    if out.json() {
        out.print_json(&results)?;
    } else {
        let rows: Vec<Vec<String>> = results
            .iter()
            .map(|r| {
                let name = names.get(r.index).cloned().unwrap_or_default();
                vec![name, r.status.to_string(), r.error.clone()]
            })
            .collect();
        out.table(&["NAME", "STATUS", "ERROR"], &rows, |_, _, c| c.to_owned())?;
    }
    Ok(if failed { OTHER } else { OK })
}
