//! Dynamic shell completion. `agenttier completions <shell>` (or `COMPLETE=<shell> agenttier`)
//! prints a small script that makes the shell ask the binary itself for candidates at each
//! Tab, so completions know the caller's sandbox names, not only the commands and flags.

use std::time::Duration;

use agenttier::RetryPolicy;
use agenttier::models::SandboxFilter;
use clap::Parser;
use clap_complete::CompletionCandidate;

use crate::cli::Global;
use crate::{commands, config};

/// How long a completion may wait for the Router: a shell must never hang on Tab.
const DEADLINE: Duration = Duration::from_secs(2);

/// The flags and environment as a command without arguments would see them.
#[derive(Parser)]
struct Bare {
    #[command(flatten)]
    global: Global,
}

/// The names of the sandboxes the configured Router lists for the caller, with their phase and
/// template as the description. At completion time the command line is not parsed, so the
/// environment and the config file choose the Router and the credentials. Any failure (no
/// configuration, Router down, rejected key) yields no candidates rather than an error.
pub fn sandbox_names() -> Vec<CompletionCandidate> {
    let Ok(bare) = Bare::try_parse_from(["agenttier"]) else {
        return Vec::new();
    };
    let Ok(endpoint) = config::resolve(&bare.global) else {
        return Vec::new();
    };
    let quick = |builder: agenttier::blocking::ClientBuilder| {
        builder
            .connect_timeout(DEADLINE)
            .timeout(DEADLINE)
            .retry(RetryPolicy::disabled())
    };
    let Ok(client) = commands::client_tuned(endpoint, quick) else {
        return Vec::new();
    };
    client
        .list_sandboxes(SandboxFilter::default())
        .unwrap_or_default()
        .into_iter()
        .map(|s| {
            let help = format!("{} ({})", s.phase, s.template_ref);
            CompletionCandidate::new(s.sandbox_id).help(Some(help.into()))
        })
        .collect()
}
