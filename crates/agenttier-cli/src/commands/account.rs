//! `version`, `login` and `whoami`.

use agenttier::blocking::Client;
use agenttier::models::CurrentUser;
use serde::Serialize;

use super::CmdResult;
use crate::cli::{Global, LoginArgs};
use crate::config::{self, ConfigFile};
use crate::exit::{Failure, OK};
use crate::output::Out;
use crate::views;

/// Asks for an API key on the terminal without echoing it; `None` when the answer is empty (the
/// login then keeps whatever credentials the environment or the config file provide).
fn prompt_api_key() -> Result<Option<String>, Failure> {
    let key = rpassword::prompt_password("API key (input hidden; Enter for none): ")
        .map_err(|e| Failure::io("reading the API key from the terminal", &e))?;
    let key = key.trim();
    Ok((!key.is_empty()).then(|| key.to_owned()))
}

/// Secrets given as flags sit in the process list and the shell history: say so, and how not to.
fn warn_if_on_argv() {
    let on_argv = std::env::args_os().filter_map(|a| a.into_string().ok()).any(|a| {
        ["--api-key", "--token"]
            .iter()
            .any(|flag| a == *flag || a.starts_with(&format!("{flag}=")))
    });
    if on_argv {
        eprintln!(
            "agenttier: warning: a secret given as a flag is visible in the process list and shell history; \
             next time run `agenttier login` on a terminal (hidden prompt) or pipe it to --with-api-key / --with-token"
        );
    }
}

/// `agenttier version`
pub fn version(out: &mut Out) -> Result<i32, Failure> {
    let version = env!("CARGO_PKG_VERSION");
    if out.json() {
        #[derive(Serialize)]
        struct Version<'a> {
            version: &'a str,
        }
        out.print_json(&Version { version })?;
    } else {
        out.line(&format!("agenttier {version}"))?;
    }
    Ok(OK)
}

/// `agenttier login`: saves the URL (flag or `AGENTTIER_API_URL`) and credentials (stdin with
/// `--with-token` / `--with-api-key`, else flags or environment, else a hidden prompt on a
/// terminal) to the config file, then checks them with `/user/me`.
pub fn login(global: &Global, args: &LoginArgs, out: &mut Out) -> Result<i32, Failure> {
    let non_empty = |v: &Option<String>| v.as_deref().filter(|v| !v.trim().is_empty()).map(str::to_owned);
    let url = non_empty(&global.api_url)
        .ok_or_else(|| Failure::config("login needs the Router URL: pass --api-url <URL> or set AGENTTIER_API_URL"))?;
    let from_stdin = if args.with_token || args.with_api_key {
        let what = if args.with_token { "token" } else { "API key" };
        let secret = super::template::read_text("-")?.trim().to_owned();
        if secret.is_empty() {
            return Err(Failure::config(format!("no {what} on stdin")));
        }
        Some(secret)
    } else {
        None
    };
    let path = config::path()?;
    // A broken file is replaced rather than blocking the way out of it.
    let mut file = ConfigFile::load(&path).unwrap_or_default();
    file.set(config::API_URL, &url);
    let (key, token) = match from_stdin {
        Some(secret) if args.with_token => (None, Some(secret)),
        Some(secret) => (Some(secret), None),
        None => match (non_empty(&global.api_key), non_empty(&global.token)) {
            (None, None) if std::io::IsTerminal::is_terminal(&std::io::stdin()) => (prompt_api_key()?, None),
            given => {
                warn_if_on_argv();
                given
            }
        },
    };
    if key.is_some() || token.is_some() {
        // New credentials replace the old ones entirely, so a stale key cannot shadow a new token.
        file.remove(config::API_KEY);
        file.remove(config::TOKEN);
    }
    if let Some(key) = &key {
        file.set(config::API_KEY, key);
    }
    if let Some(token) = &token {
        file.set(config::TOKEN, token);
    }
    file.save(&path)?;
    if !out.json() {
        out.line(&format!("Saved config to {}", path.display()))?;
    }
    // The check uses what was just saved (the environment may hold other credentials).
    let endpoint = match (&key, &token) {
        (Some(key), _) => config::Endpoint {
            url: url.clone(),
            auth: agenttier::Auth::api_key(key.as_str()).map_err(Failure::from)?,
            cacert: global.cacert.clone(),
        },
        (None, Some(token)) => config::Endpoint {
            url: url.clone(),
            auth: agenttier::Auth::bearer_token(token.as_str()).map_err(Failure::from)?,
            cacert: global.cacert.clone(),
        },
        (None, None) => config::resolve(global)?,
    };
    let url = endpoint.url.clone();
    let who = super::client(endpoint)?.current_user().map_err(|e| {
        let mut f = Failure::sdk(e, None, &url);
        f.message = format!(
            "saved config to {} but the credentials check failed: {}",
            path.display(),
            f.message
        );
        f
    })?;
    if out.json() {
        #[derive(Serialize)]
        struct Login<'a> {
            config_path: String,
            api_url: &'a str,
            user: views::User<'a>,
        }
        out.print_json(&Login {
            config_path: path.display().to_string(),
            api_url: &url,
            user: views::User::from(&who),
        })?;
    } else {
        out.line(&format!("Authenticated as: {}", label(&who)))?;
    }
    Ok(OK)
}

/// `agenttier logout`: removes the saved key and token (the URL stays, for the next login).
pub fn logout(out: &mut Out) -> Result<i32, Failure> {
    let path = config::path()?;
    let removed = match ConfigFile::load(&path) {
        Ok(mut file) if file.get(config::API_KEY).is_some() || file.get(config::TOKEN).is_some() => {
            file.remove(config::API_KEY);
            file.remove(config::TOKEN);
            file.save(&path)?;
            true
        }
        _ => false,
    };
    if out.json() {
        out.print_json(&serde_json::json!({"config_path": path.display().to_string(), "removed": removed}))?;
    } else if removed {
        out.line(&format!("Removed the saved credentials from {}", path.display()))?;
    } else {
        out.line("No saved credentials")?;
    }
    Ok(OK)
}

/// `agenttier whoami`
pub fn whoami(client: &Client, out: &mut Out) -> CmdResult {
    let who = client.current_user()?;
    if out.json() {
        out.print_json(&views::User::from(&who))?;
    } else {
        let admin = if who.is_admin { " (admin)" } else { "" };
        out.line(&format!("{}{admin}", label(&who)))?;
    }
    Ok(OK)
}

/// `status`: the Router's liveness and readiness; exits 1 when it is up but not ready.
pub fn status(client: &Client, out: &mut Out) -> CmdResult {
    let health = client.health()?;
    let url = &client.config().base_url;
    if out.json() {
        out.print_json(&serde_json::json!({"url": url, "live": true, "ready": health.ready, "reason": health.reason}))?;
    } else if health.ready {
        out.line(&format!("{url}: up and ready"))?;
    } else {
        out.line(&format!("{url}: up, not ready: {}", health.reason))?;
    }
    Ok(if health.ready { OK } else { crate::exit::OTHER })
}

fn label(who: &CurrentUser) -> &str {
    [&who.email, &who.name, &who.sub]
        .into_iter()
        .find(|s| !s.is_empty())
        .map_or("(anonymous)", String::as_str)
}
