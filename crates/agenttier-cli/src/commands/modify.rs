//! `sandbox update` and `sandbox bulk`: changes to existing sandboxes.

use agenttier::blocking::Client;
use agenttier::models::{BulkAction, Resources, UpdateSandbox};

use super::CmdResult;
use crate::cli::{BulkVerb, UpdateArgs};
use crate::exit::OK;
use crate::output::Out;

/// `sandbox update`
pub fn update(client: &Client, out: &mut Out, args: UpdateArgs) -> CmdResult {
    let mut u = UpdateSandbox::new();
    if let Some(d) = args.idle_timeout {
        u = u.idle_timeout(d);
    }
    if !args.labels.is_empty() {
        u = u.labels(args.labels);
    }
    for (k, v) in args.annotations {
        u = u.annotation(k, v);
    }
    if args.cpu.is_some() || args.memory.is_some() {
        let mut r = Resources::new();
        for (name, value) in [("cpu", args.cpu), ("memory", args.memory)] {
            if let Some(v) = value {
                r = r.request(name, &v).limit(name, v);
            }
        }
        u = u.resources(r);
    }
    let result = client.sandbox(&args.sandbox_id).update(u)?;
    if out.json() {
        out.print_json(&result)?;
    } else {
        for (field, when) in &result.applied {
            out.line(&format!("{field}: {when}"))?;
        }
        if result.restart_required {
            out.line(&result.message)?;
        }
    }
    Ok(OK)
}

/// `sandbox bulk`
pub fn bulk(client: &Client, out: &mut Out, verb: BulkVerb, ids: &[String]) -> CmdResult {
    let action = match verb {
        BulkVerb::Stop => BulkAction::Stop,
        BulkVerb::Resume => BulkAction::Resume,
        BulkVerb::Delete => BulkAction::Delete,
    };
    let results = client.bulk_action(action, ids)?;
    let failed = results.iter().any(|r| !r.status.is_success());
    if out.json() {
        out.print_json(&results)?;
    } else {
        let rows: Vec<Vec<String>> = results
            .iter()
            .map(|r| vec![r.id.clone(), r.status.to_string(), r.error.clone()])
            .collect();
        out.table(&["ID", "STATUS", "ERROR"], &rows, |_, _, c| c.to_owned())?;
    }
    Ok(if failed { 1 } else { OK })
}
