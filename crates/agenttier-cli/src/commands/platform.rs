//! The rest of the Router API: `sandbox clone | update | bulk | backups | share`, `api-keys`,
//! `webhooks`, `policy`, `audit`, `analytics`, `cluster`.
//!
//! Lists print tables (or JSON with `-o json`); reports (policies, audit, analytics, cluster)
//! are always JSON, as `template get` is. Secrets minted here (API keys, webhook secrets, share
//! link tokens) are printed once, because the server never shows them again.

use agenttier::blocking::Client;
use agenttier::models::{
    ActionGroup, BulkAction, CloneSandbox, CreateApiKey, CreateShareLink, CreateWebhook, GrantShare, Policy, Resources,
    ShareLevel, UpdateSandbox, WebhookEvent,
};
use serde::Serialize;

use super::CmdResult;
use crate::cli::{
    AnalyticsCommand, ApiKeysCommand, BackupsCommand, BulkVerb, ClusterCommand, PolicyCommand, ShareCommand,
    UpdateArgs, WebhooksCommand,
};
use crate::exit::{Failure, OK};
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
        return super::sandbox::describe(out, &info).map(|()| OK).map_err(Into::into);
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
            let view = Secretful {
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

/// A minted thing with its once-shown secret.
#[derive(Serialize)]
struct Secretful<'a> {
    id: &'a str,
    secret: &'a str,
    expires_at: Option<String>,
}

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
                out.print_json(&Secretful {
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
                out.print_json(&Secretful {
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

/// `cluster ...`
pub fn cluster(cmd: ClusterCommand, client: &Client, out: &mut Out) -> CmdResult {
    match cmd {
        ClusterCommand::Status => out.print_json(&client.cluster().status()?)?,
        ClusterCommand::Nodes => out.print_json(&client.cluster().nodes()?)?,
        ClusterCommand::Headroom => out.print_json(&client.cluster().headroom()?)?,
        ClusterCommand::WarmPool => out.print_json(&client.warm_pool().status()?)?,
        ClusterCommand::SetWarmPool { pools } => return super::admin::set_warm_pool(client, out, &pools),
        ClusterCommand::SetHeadroom { replicas, cpu, memory } => {
            return super::admin::set_headroom(client, out, replicas, cpu.zip(memory));
        }
    }
    Ok(OK)
}
