//! `preferences` and `admin`. Reports are JSON, as `cluster` and `policy`.

use agenttier::blocking::Client;
use agenttier::models::{SandboxFilter, SandboxPhase};

use super::CmdResult;
use super::template::read_text;
use crate::cli::{AdminCommand, PreferencesCommand};
use crate::exit::{Failure, OK};
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
