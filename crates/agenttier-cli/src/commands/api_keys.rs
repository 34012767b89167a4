//! `api-keys ...`: a new key is printed once (the server never shows it again).

use agenttier::blocking::Client;
use agenttier::models::{ActionGroup, CreateApiKey};

use super::CmdResult;
use crate::cli::ApiKeysCommand;
use crate::exit::OK;
use crate::output::Out;
use crate::views::{Minted, rfc3339};

/// `api-keys ...`
pub fn api_keys(cmd: ApiKeysCommand, client: &Client, out: &mut Out) -> CmdResult {
    match cmd {
        ApiKeysCommand::List => {
            let keys = client.api_keys().list()?;
            if out.json() {
                out.print_json(&keys)?;
            } else {
                let rows: Vec<Vec<String>> = keys
                    .iter()
                    .map(|k| {
                        vec![
                            k.id.clone(),
                            k.name.clone(),
                            k.sandbox_id.clone(),
                            rfc3339(k.expires_at).unwrap_or_default(),
                        ]
                    })
                    .collect();
                out.table(&["ID", "NAME", "SANDBOX", "EXPIRES"], &rows, |_, _, c| c.to_owned())?;
            }
        }
        ApiKeysCommand::Create {
            name,
            expires_in,
            sandbox,
            scopes,
        } => {
            let mut params = CreateApiKey::new(name);
            if let Some(d) = expires_in {
                params = params.expires_in(d);
            }
            if let Some(s) = sandbox {
                params = params.sandbox(s);
            }
            params = params.scopes(scopes.iter().map(|s| ActionGroup::from(s.as_str())));
            let made = client.api_keys().create(params)?;
            if out.json() {
                out.print_json(&Minted {
                    id: &made.id,
                    secret: made.key.expose(),
                    expires_at: rfc3339(made.expires_at),
                })?;
            } else {
                out.line(made.key.expose())?;
                eprintln!("key {} created; store it now: it cannot be shown again", made.id);
            }
        }
        ApiKeysCommand::Revoke { key_id } => {
            client.api_keys().revoke(&key_id)?;
            if out.json() {
                out.print_json(&serde_json::json!({"status": "revoked", "id": key_id}))?;
            } else {
                out.line(&format!("revoked {key_id}"))?;
            }
        }
    }
    Ok(OK)
}
