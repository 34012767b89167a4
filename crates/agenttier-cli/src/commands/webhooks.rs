//! `webhooks ...`: a new subscription's signing secret is printed once.

use agenttier::blocking::Client;
use agenttier::models::{CreateWebhook, WebhookEvent};

use super::CmdResult;
use crate::cli::WebhooksCommand;
use crate::exit::OK;
use crate::output::Out;
use crate::views::Minted;

/// `webhooks ...`
pub fn webhooks(cmd: WebhooksCommand, client: &Client, out: &mut Out) -> CmdResult {
    match cmd {
        WebhooksCommand::List => {
            let hooks = client.webhooks().list()?;
            if out.json() {
                out.print_json(&hooks)?;
            } else {
                let rows: Vec<Vec<String>> = hooks
                    .iter()
                    .map(|w| {
                        let events: Vec<&str> = w.event_types.iter().map(|e| e.as_str()).collect();
                        vec![w.id.clone(), w.url.clone(), events.join(","), w.disabled.to_string()]
                    })
                    .collect();
                out.table(&["ID", "URL", "EVENTS", "DISABLED"], &rows, |_, _, c| c.to_owned())?;
            }
        }
        WebhooksCommand::Create {
            url,
            events,
            sandbox,
            namespace,
        } => {
            let mut params = CreateWebhook::new(url, events.iter().map(|e| WebhookEvent::from(e.as_str())));
            if let Some(s) = sandbox {
                params = params.sandbox(s);
            }
            if let Some(ns) = namespace {
                params = params.namespace(ns);
            }
            let made = client.webhooks().create(params)?;
            if out.json() {
                out.print_json(&Minted {
                    id: &made.webhook.id,
                    secret: made.secret.expose(),
                    expires_at: None,
                })?;
            } else {
                out.line(&format!("webhook {} secret {}", made.webhook.id, made.secret.expose()))?;
                out.line("store the secret now: it cannot be shown again")?;
            }
        }
        WebhooksCommand::Delete { webhook_id } => {
            client.webhooks().delete(&webhook_id)?;
            if out.json() {
                out.print_json(&serde_json::json!({"deleted": webhook_id}))?;
            } else {
                out.line(&format!("deleted webhook {webhook_id}"))?;
            }
        }
        WebhooksCommand::Deliveries { webhook_id } => out.print_json(&client.webhooks().deliveries(&webhook_id)?)?,
    }
    Ok(OK)
}
