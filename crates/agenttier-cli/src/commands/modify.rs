//! `sandbox update`, `sandbox bulk` and `sandbox bulk-create`: changing sandboxes, and many at once.

use agenttier::blocking::Client;
use agenttier::models::{BulkAction, CreateSandbox, Resources, UpdateSandbox};
use serde::Serialize;

use super::CmdResult;
use crate::cli::{BulkVerb, UpdateArgs};
use crate::exit::{OK, OTHER};
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

/// `sandbox bulk`: exits 1 when any item failed.
pub fn bulk(client: &Client, out: &mut Out, verb: BulkVerb, ids: &[String]) -> CmdResult {
    let action = match verb {
        BulkVerb::Stop => BulkAction::Stop,
        BulkVerb::Resume => BulkAction::Resume,
        BulkVerb::Delete => BulkAction::Delete,
    };
    let results = client.bulk_action(action, ids)?;
    let rows = results.iter().map(|r| {
        (
            r.id.clone(),
            r.status.is_success(),
            r.status.to_string(),
            r.error.clone(),
        )
    });
    per_item(out, &results, "ID", rows)
}

/// `sandbox bulk-create`: exits 1 when any item failed.
pub fn bulk_create(client: &Client, out: &mut Out, template: &str, names: &[String]) -> CmdResult {
    let items: Vec<_> = names.iter().map(|n| CreateSandbox::new(template, n)).collect();
    let results = client.bulk_create(&items)?;
    let rows = results.iter().map(|r| {
        let name = names.get(r.index).cloned().unwrap_or_default();
        (name, r.status.is_success(), r.status.to_string(), r.error.clone())
    });
    per_item(out, &results, "NAME", rows)
}

/// Prints the per-item results of a bulk call: as the Router sent them with `-o json`, else a
/// table of (`key`, status, error) rows; exits 1 when any item failed.
fn per_item<T: Serialize>(
    out: &mut Out,
    results: &[T],
    key: &str,
    rows: impl Iterator<Item = (String, bool, String, String)>,
) -> CmdResult {
    let mut failed = false;
    let rows: Vec<Vec<String>> = rows
        .map(|(item, ok, status, error)| {
            failed |= !ok;
            vec![item, status, error]
        })
        .collect();
    if out.json() {
        out.print_json(results)?;
    } else {
        out.table(&[key, "STATUS", "ERROR"], &rows, |_, _, c| c.to_owned())?;
    }
    Ok(if failed { OTHER } else { OK })
}
