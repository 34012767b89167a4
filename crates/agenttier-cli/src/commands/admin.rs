//! `preferences`, `admin`, `sandbox bulk-create`, `cluster set-warm-pool | set-headroom`: the
//! client calls the other commands do not cover. Reports are JSON, as `cluster` and `policy`.

use agenttier::blocking::Client;
use agenttier::models::{CreateSandbox, HeadroomConfig, PoolTarget, SandboxFilter, SandboxPhase};

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

/// `cluster set-warm-pool TEMPLATE=COUNT...`
pub fn set_warm_pool(client: &Client, out: &mut Out, pools: &[(String, String)]) -> CmdResult {
    let mut targets = Vec::new();
    for (template, count) in pools {
        let count: i64 = count
            .parse()
            .map_err(|_| Failure::config(format!("{template}={count}: the count must be a whole number (0-10)")))?;
        targets.push(PoolTarget::new(template, count));
    }
    out.print_json(&client.warm_pool().configure(&targets)?)?;
    Ok(OK)
}

/// `cluster set-headroom --replicas N [--cpu C --memory M]`
pub fn set_headroom(client: &Client, out: &mut Out, replicas: i64, size: Option<(String, String)>) -> CmdResult {
    let mut config = HeadroomConfig::new(replicas);
    if let Some((cpu, memory)) = size {
        config = config.size(cpu, memory);
    }
    out.print_json(&client.cluster().set_headroom(&config)?)?;
    Ok(OK)
}
