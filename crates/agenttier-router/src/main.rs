//! The `agenttier-router` program: `serve` and `keys`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use agenttier_router::{IsolationMode, Policies, RouterOptions, default_data_dir, keys};
use clap::{Parser, Subcommand, ValueEnum};

/// Local development router for AgentTier: the platform's HTTP API, backed by local processes.
#[derive(Parser)]
#[command(name = "agenttier-router", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the AgentTier HTTP API.
    Serve(ServeArgs),
    /// Manage API keys of a data directory.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

/// Every flag also has an environment variable (a flag given wins over it).
#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "AGENTTIER_ROUTER_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Allow listening on a non-loopback address.
    #[arg(long, env = "AGENTTIER_ROUTER_ALLOW_REMOTE")]
    allow_remote: bool,
    /// State directory [default: ~/.local/share/agenttier-router].
    #[arg(long, env = "AGENTTIER_ROUTER_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Accept unauthenticated requests as the local admin `dev-user`.
    #[arg(long, env = "AGENTTIER_DEV_AUTH")]
    dev_auth: bool,
    /// Directory of extra template files (*.json, one template each).
    #[arg(long, env = "AGENTTIER_ROUTER_TEMPLATES")]
    templates: Option<PathBuf>,
    /// Governance policy file (JSON): a policy object, or {"cluster": ..., "namespaces": {...}}.
    #[arg(long, env = "AGENTTIER_ROUTER_POLICY")]
    policy: Option<PathBuf>,
    /// Sandbox isolation: auto, namespaces or none.
    #[arg(long, env = "AGENTTIER_ROUTER_ISOLATION", default_value = "auto")]
    isolation: IsolationMode,
    /// Time a sandbox stays Creating before Running (Go duration).
    #[arg(long, env = "AGENTTIER_ROUTER_START_DELAY", default_value = "1s", value_parser = parse_duration)]
    start_delay: Duration,
    /// Browser origins allowed to call the API (CORS), comma-separated, exact match.
    #[arg(long, env = "AGENTTIER_CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    cors_allowed_origins: Vec<String>,
    /// Host names the router answers to besides loopback (DNS-rebinding guard), comma-separated;
    /// `*` = any.
    #[arg(long, env = "AGENTTIER_ALLOWED_HOSTS", value_delimiter = ',')]
    allowed_hosts: Vec<String>,
    /// Most execs running at once in one sandbox (0 = no limit); more answer 429.
    #[arg(long, env = "AGENTTIER_ROUTER_MAX_EXECS_PER_SANDBOX", default_value_t = 8)]
    max_execs_per_sandbox: usize,
    /// Most execs one user runs at once (0 = no limit); more answer 429.
    #[arg(long, env = "AGENTTIER_ROUTER_MAX_EXECS_PER_USER", default_value_t = 16)]
    max_execs_per_user: usize,
    /// Audit events kept (older ones are dropped; 0 = keep all).
    #[arg(long, env = "AGENTTIER_ROUTER_AUDIT_RETENTION", default_value_t = 50_000)]
    audit_retention: usize,
    /// Log level (error, warn, info, debug, trace) or a tracing filter such as
    /// `info,agenttier_router=debug`.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    log_level: String,
    /// Log format.
    #[arg(long, env = "AGENTTIER_ROUTER_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Mint a key and print its secret (shown once; only a hash is stored).
    Create {
        /// User name of the key (becomes its sub; email <name>@agenttier.local).
        #[arg(long)]
        name: String,
        /// Make the key an admin.
        #[arg(long)]
        admin: bool,
        /// Group of the user (repeatable).
        #[arg(long = "group")]
        groups: Vec<String>,
        /// State directory [default: ~/.local/share/agenttier-router].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// List keys.
    List {
        /// State directory [default: ~/.local/share/agenttier-router].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Revoke a key by id.
    Revoke {
        /// Key id (agenttier-apikey-...).
        id: String,
        /// State directory [default: ~/.local/share/agenttier-router].
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    agenttier_core::duration::parse(s).map_err(|e| e.to_string())
}

/// The log filter of `--log-level` / `RUST_LOG`; a typo is an error, not silence.
fn log_filter(spec: &str) -> Result<tracing_subscriber::EnvFilter, String> {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let hint = "use error, warn, info, debug or trace, or a tracing filter such as info,agenttier_router=debug";
    // A lone word would otherwise be taken as a target name and quietly match nothing.
    let lone_word = !spec.contains(['=', ',', '[', ':']);
    if lone_word && !LEVELS.contains(&spec.trim().to_ascii_lowercase().as_str()) {
        return Err(format!("invalid log level {spec:?}: {hint}"));
    }
    tracing_subscriber::EnvFilter::try_new(spec).map_err(|e| format!("invalid log filter {spec:?} ({e}): {hint}"))
}

fn init_logging(filter: tracing_subscriber::EnvFilter, format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// What a first start (no state database yet) prints: how to point clients at this router.
fn first_start_help(listen: SocketAddr, data_dir: &std::path::Path, dev_auth: bool) -> String {
    let host = if listen.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        listen.ip().to_string()
    };
    let url = match listen {
        SocketAddr::V6(_) if !listen.ip().is_unspecified() => format!("http://[{host}]:{}", listen.port()),
        _ => format!("http://{host}:{}", listen.port()),
    };
    let mut help = format!(
        "agenttier-router: first start, state in {dir}\n\n  export AGENTTIER_API_URL={url}\n",
        dir = data_dir.display()
    );
    if dev_auth {
        help.push_str("\n  (dev-auth: requests without credentials are accepted as the admin dev-user)\n");
    } else {
        help.push_str(&format!(
            "\n  # mint an admin key (printed once), then export it:\n  agenttier-router keys create --name me --admin --data-dir {dir}\n  export AGENTTIER_API_KEY=<the printed key>\n",
            dir = data_dir.display()
        ));
    }
    help
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
    init_logging(log_filter(&args.log_level)?, args.log_format);
    let policy = match &args.policy {
        Some(p) => Some(Policies::from_file(p).map_err(|e| e.to_string())?),
        None => None,
    };
    let dev_auth = args.dev_auth;
    let data_dir = args.data_dir.unwrap_or_else(default_data_dir);
    if !data_dir.join("router.db").exists() {
        eprintln!("{}", first_start_help(args.listen, &data_dir, dev_auth));
    }
    if dev_auth {
        tracing::warn!("dev-auth is on: every request is accepted as the admin dev-user");
    }
    let opts = RouterOptions {
        listen: args.listen,
        allow_remote: args.allow_remote,
        data_dir: Some(data_dir),
        dev_auth,
        templates_dir: args.templates,
        policy,
        isolation: args.isolation,
        start_delay: args.start_delay,
        mint_admin_key: false,
        cors_allowed_origins: args.cors_allowed_origins,
        allowed_hosts: args.allowed_hosts,
        max_execs_per_sandbox: args.max_execs_per_sandbox,
        max_execs_per_user: args.max_execs_per_user,
        audit_retention: args.audit_retention,
        ..RouterOptions::default()
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let result = rt.block_on(agenttier_router::serve(opts, shutdown_signal()));
    rt.shutdown_timeout(Duration::from_secs(2));
    result.map_err(|e| e.to_string())
}

fn keys_cmd(cmd: KeysCommand) -> Result<(), String> {
    let dir = |d: Option<PathBuf>| d.unwrap_or_else(default_data_dir);
    match cmd {
        KeysCommand::Create {
            name,
            admin,
            groups,
            data_dir,
        } => {
            let (secret, info) = keys::create_key(&dir(data_dir), &name, admin, &groups).map_err(|e| e.to_string())?;
            println!("{secret}");
            eprintln!(
                "created key {} for user {} ({}){} — store the secret now, it cannot be shown again",
                info.id,
                info.name,
                info.email,
                if info.admin { ", admin" } else { "" }
            );
        }
        KeysCommand::List { data_dir } => {
            let keys = keys::list_keys(&dir(data_dir)).map_err(|e| e.to_string())?;
            println!(
                "{:<57}  {:<20}  {:<5}  {:<20}  {:<25}  REVOKED",
                "ID", "NAME", "ADMIN", "GROUPS", "CREATED"
            );
            for k in keys {
                println!(
                    "{:<57}  {:<20}  {:<5}  {:<20}  {:<25}  {}",
                    k.id,
                    k.name,
                    k.admin,
                    k.groups.join(","),
                    k.created_at,
                    k.revoked_at.unwrap_or_default()
                );
            }
        }
        KeysCommand::Revoke { id, data_dir } => {
            keys::revoke_key(&dir(data_dir), &id).map_err(|e| e.to_string())?;
            eprintln!("revoked {id}");
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Keys { command } => keys_cmd(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("agenttier-router: {e}");
            ExitCode::FAILURE
        }
    }
}
