//! `agenttier`: the command-line interface of the AgentTier sandbox platform.
//!
//! It covers the official Python CLI (0.8.1) with the same command names, flags, configuration
//! file and environment variables, so existing users and scripts carry over, and is built on the
//! blocking client of the Rust SDK (no async runtime, fast start).
//!
//! ```text
//! agenttier version | login | whoami | completions <shell>
//! agenttier sandbox list | get | create | stop | resume | delete | exec | wait
//! agenttier sandbox ports list | forward | remove
//! agenttier sandbox files ls | cat | upload | download | archive | write
//! agenttier template list | get
//! agenttier configure | invoke          (agent-mode sandboxes)
//! ```
//!
//! # Configuration
//!
//! The Router URL and credentials come from, in order: the `--api-url`, `--api-key` and
//! `--token` flags; the `AGENTTIER_API_URL`, `AGENTTIER_API_KEY` and `AGENTTIER_TOKEN`
//! environment variables; the configuration file written by `agenttier login`
//! (`~/.config/agenttier/config.json`, or the path in `AGENTTIER_CONFIG`; mode 0600; the same
//! file as the Python CLI's). An API key wins over a token. With neither, the in-cluster
//! service-account token is used when present.
//!
//! # Output
//!
//! Human-readable text and tables by default; `--output json` (`-o json`) prints JSON for
//! scripts, with the same keys as the Python CLI's JSON output. Colour is used only when stdout
//! is a terminal and `NO_COLOR` is unset; spinners and transfer progress bars only when stderr
//! is a terminal. `sandbox files cat` and `sandbox files archive --dest -` write the raw bytes
//! to stdout in both modes. After `sandbox files archive`, `-o FILE` is the archive's
//! destination (`--dest`), as in the Python CLI; everywhere else `-o` is the output format.
//!
//! # Exit codes
//!
//! | Code | Meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | any other failure: API error (400, 413, 429, 5xx ...), sandbox in the `Error` phase, undecodable answer, a local file that cannot be written |
//! | 2 | usage or configuration error: bad flags, no API URL configured, invalid input (a bad remote path, a file over the 32 MiB limit, an unreadable local file to upload), unreadable config file |
//! | 3 | authentication failed (401): missing or rejected credentials |
//! | 4 | not authorized (403), including governance policy violations |
//! | 5 | not found (404): the sandbox, template, or remote file or directory |
//! | 6 | conflict (409): the sandbox exists already or is in the wrong state |
//! | 7 | timeout: the Router did not answer in time, or a sandbox did not become `Running` in time |
//! | 8 | the Router could not be reached (connection refused, DNS, TLS ...) |
//! | 130 | interrupted (Ctrl-C) |
//!
//! `sandbox exec` and `invoke` exit with the remote command's (the agent's) exit code once it ran
//! (codes outside 0..=255, such as -1 for a canceled or timed-out invocation, become 1); the codes
//! above apply when it could not be run. `configure` exits 1 when the install command fails.

mod cli;
mod commands;
mod complete;
mod config;
mod exit;
mod output;
mod views;

use std::io::Write;

/// `-v`: the SDK's request spans and events on stderr (`-vv`: everything at debug level; with
/// either, `RUST_LOG` picks instead when set). Request logs hold no headers, so no credentials.
fn verbose(level: u8, color: cli::ColorChoice) {
    let filter = match (level, std::env::var("RUST_LOG")) {
        (0, _) => return,
        (_, Ok(spec)) if !spec.is_empty() => spec,
        (1, _) => "agenttier_blocking=debug".to_owned(),
        _ => "debug".to_owned(),
    };
    let ansi = match color {
        cli::ColorChoice::Always => true,
        cli::ColorChoice::Never => false,
        cli::ColorChoice::Auto => {
            std::io::IsTerminal::is_terminal(&std::io::stderr())
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .without_time()
        .try_init();
}

fn main() {
    std::panic::set_hook(Box::new(|info| {
        let message = format!("{info}").replace('\n', " ");
        let _ = writeln!(
            std::io::stderr(),
            "agenttier: internal error: {message}; please report it at https://github.com/agenttier/agenttier-rs/issues"
        );
    }));
    // `COMPLETE=<shell> agenttier ...`: the shell asking for completions; answers and exits.
    clap_complete::CompleteEnv::with_factory(<cli::Cli as clap::CommandFactory>::command).complete();
    let cli = cli::Cli::from_args();
    verbose(cli.global.verbose, cli.global.color);
    let code = match commands::run(cli) {
        Ok(code) => code,
        Err(failure) => failure.report(),
    };
    let _ = std::io::stdout().flush();
    std::process::exit(code);
}
