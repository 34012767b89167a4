//! `policy`, `audit` and `analytics`: reports, always JSON (as `template get` is).

use agenttier::blocking::Client;
use agenttier::models::Policy;

use super::CmdResult;
use crate::cli::{AnalyticsCommand, PolicyCommand};
use crate::exit::{Failure, OK};
use crate::output::Out;

/// `policy ...`
pub fn policy(cmd: PolicyCommand, client: &Client, out: &mut Out) -> CmdResult {
    let g = client.governance();
    match cmd {
        PolicyCommand::List => out.print_json(&g.policies()?)?,
        PolicyCommand::Effective { namespace } => out.print_json(&g.effective(namespace.as_deref())?)?,
        PolicyCommand::Set { file, namespace } => {
            let text = super::template::read_text(&file)?;
            let p: Policy = serde_json::from_str(&text)
                .map_err(|e| Failure::config(format!("{file} is not a policy object: {e}")))?;
            let stored = match &namespace {
                Some(ns) => g.set_namespace_policy(ns, &p)?,
                None => g.set_cluster_policy(&p)?,
            };
            out.print_json(&stored)?;
        }
        PolicyCommand::Delete { namespace } => {
            g.delete_namespace_policy(&namespace)?;
            if out.json() {
                out.print_json(&serde_json::json!({"deleted": namespace}))?;
            } else {
                out.line(&format!("deleted the policy of {namespace}"))?;
            }
        }
    }
    Ok(OK)
}

/// `audit`
pub fn audit(client: &Client, out: &mut Out) -> CmdResult {
    out.print_json(&client.audit().events()?)?;
    Ok(OK)
}

/// `analytics ...`
pub fn analytics(cmd: AnalyticsCommand, client: &Client, out: &mut Out) -> CmdResult {
    match cmd {
        AnalyticsCommand::Usage => out.print_json(&client.analytics().usage()?)?,
        AnalyticsCommand::Costs => out.print_json(&client.analytics().costs()?)?,
    }
    Ok(OK)
}
