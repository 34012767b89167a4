//! `sandbox share ...`: who else may use a sandbox, and share links (their token is printed
//! once: the server never shows it again).

use agenttier::blocking::Client;
use agenttier::models::{CreateShareLink, GrantShare, ShareLevel};

use super::CmdResult;
use crate::cli::ShareCommand;
use crate::exit::{Failure, OK};
use crate::output::Out;
use crate::views::{Minted, rfc3339};

fn level(s: &str) -> Result<ShareLevel, Failure> {
    match ShareLevel::from(s) {
        ShareLevel::Unknown(_) => Err(Failure::config("--level must be viewer or collaborator")),
        l => Ok(l),
    }
}

/// `sandbox share ...`
pub fn share(cmd: ShareCommand, client: &Client, out: &mut Out) -> CmdResult {
    match cmd {
        ShareCommand::List { sandbox_id } => {
            let info = client.sandbox(&sandbox_id).sharing().get()?;
            if out.json() {
                out.print_json(&info)?;
            } else {
                let mut rows: Vec<Vec<String>> = Vec::new();
                for (kind, list) in [("user", &info.users), ("group", &info.groups)] {
                    rows.extend(
                        list.iter()
                            .map(|g| vec![kind.into(), g.identity.clone(), g.level.to_string()]),
                    );
                }
                rows.extend(
                    info.share_links
                        .iter()
                        .map(|l| vec!["link".into(), l.id.clone(), l.level.to_string()]),
                );
                out.table(&["KIND", "IDENTITY", "LEVEL"], &rows, |_, _, c| c.to_owned())?;
            }
        }
        ShareCommand::Grant {
            sandbox_id,
            identity,
            level: l,
            group,
        } => {
            let l = level(&l)?;
            let grant = if group {
                GrantShare::group(&identity, l)
            } else {
                GrantShare::user(&identity, l)
            };
            let info = client.sandbox(&sandbox_id).sharing().grant(grant)?;
            if out.json() {
                out.print_json(&info)?;
            } else {
                out.line(&format!("shared {sandbox_id} with {identity}"))?;
            }
        }
        ShareCommand::Revoke { sandbox_id, identity } => {
            client.sandbox(&sandbox_id).sharing().revoke(&identity)?;
            if out.json() {
                out.print_json(&serde_json::json!({"status": "revoked", "identity": identity}))?;
            } else {
                out.line(&format!("revoked {identity} on {sandbox_id}"))?;
            }
        }
        ShareCommand::Link {
            sandbox_id,
            level: l,
            expires_in,
            max_uses,
        } => {
            let mut link = CreateShareLink::new(level(&l)?).max_uses(max_uses);
            if let Some(d) = expires_in {
                link = link.expires_in(d);
            }
            let made = client.sandbox(&sandbox_id).sharing().create_link(link)?;
            let view = Minted {
                id: &made.id,
                secret: made.token.expose(),
                expires_at: rfc3339(made.expires_at),
            };
            if out.json() {
                out.print_json(&view)?;
            } else {
                out.line(&format!("link {} token {}", made.id, made.token.expose()))?;
                out.line("store the token now: it cannot be shown again")?;
            }
        }
    }
    Ok(OK)
}
