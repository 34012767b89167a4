//! The command line: every command, flag and argument (clap derive).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use agenttier::models::WORKSPACE;
use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::ArgValueCandidates;

use crate::complete::sandbox_names;

/// The exit-code table shown at the end of `--help`.
const EXIT_CODES: &str = "\
Exit codes:
  0    success
  1    other failure (API error, sandbox in the Error phase, ...)
  2    usage or configuration error (bad flags, no API URL configured, invalid input)
  3    authentication failed (missing or rejected credentials)
  4    not authorized, or refused by a governance policy
  5    not found
  6    conflict (exists already, or in the wrong state)
  7    timeout (no answer in time, or the sandbox did not become Running in time)
  8    the Router could not be reached
  130  interrupted (Ctrl-C)
  `sandbox exec` and `invoke` exit with the remote exit code once the command ran
  (outside 0..=255, e.g. -1 for canceled, it becomes 1).

Configuration: flags, then AGENTTIER_API_URL / AGENTTIER_API_KEY / AGENTTIER_TOKEN, then the file
written by `agenttier login` ($AGENTTIER_CONFIG, else $XDG_CONFIG_HOME/agenttier/config.json, else
~/.config/agenttier/config.json). Prefer `login --with-token` / `--with-api-key` (stdin) to flags:
argv is visible to other users.";

/// Control AgentTier sandboxes from the command line.
#[derive(Debug, Parser)]
#[command(name = "agenttier", version, max_term_width = 100, after_long_help = EXIT_CODES, after_help = "See `agenttier --help` for exit codes and configuration.")]
pub struct Cli {
    /// Flags accepted by every command.
    #[command(flatten)]
    pub global: Global,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// Parses the process's arguments, reading `-o` after `sandbox files archive` as `--dest`.
    pub fn from_args() -> Cli {
        Cli::parse_from(archive_short_dest(std::env::args_os()))
    }
}

/// The Python CLI's `sandbox files archive ... -o FILE` names the archive's destination, while
/// `-o` is the output format everywhere else here (clap cannot give one short flag two meanings).
/// After the words `files archive`, up to a `--`, `-o FILE`, `-oFILE` and `-o=FILE` become
/// `--dest FILE`; before them `-o` stays the format, so `agenttier -o json sandbox files archive
/// ID -o out.zip` works.
pub fn archive_short_dest(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    let Some(start) = args.windows(2).position(|w| w[0] == "files" && w[1] == "archive") else {
        return args;
    };
    if !args[..start].iter().any(|a| a == "sandbox") {
        return args;
    }
    for arg in &mut args[start + 2..] {
        if arg == "--" {
            break;
        }
        let Some(text) = arg.to_str() else { continue };
        if text == "-o" {
            *arg = OsString::from("--dest");
        } else if let Some(value) = text.strip_prefix("-o") {
            *arg = OsString::from(format!("--dest={}", value.strip_prefix('=').unwrap_or(value)));
        }
    }
    args
}

/// Flags accepted by every command, before or after the command name.
#[derive(Debug, Args)]
pub struct Global {
    /// Router base URL, e.g. https://agenttier.example.com
    #[arg(long, global = true, env = "AGENTTIER_API_URL", value_name = "URL")]
    pub api_url: Option<String>,
    /// API key, sent as X-API-Key (prefer the environment variable: argv is visible to other users)
    #[arg(
        long,
        global = true,
        env = "AGENTTIER_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pub api_key: Option<String>,
    /// Bearer token / OIDC JWT (prefer the environment variable)
    #[arg(
        long,
        global = true,
        env = "AGENTTIER_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
    /// Also trust the CA certificates in this PEM file (a Router behind a private CA); the
    /// operating system's roots, or SSL_CERT_FILE / SSL_CERT_DIR when set, are trusted anyway
    #[arg(long, global = true, env = "AGENTTIER_CACERT", value_name = "FILE")]
    pub cacert: Option<std::path::PathBuf>,
    /// Output format: human-readable text, or JSON for scripts
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = Format::Text)]
    pub output: Format,
    /// Log each request to stderr (method, route, status, attempts, request id); -vv for more
    #[arg(short = 'v', long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Colour: auto (a terminal, without NO_COLOR; CLICOLOR_FORCE=1 forces it), always or never
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// When to colour the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// On a terminal, unless NO_COLOR is set or TERM is dumb; CLICOLOR_FORCE forces it.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Text and tables for people.
    Text,
    /// JSON for scripts.
    Json,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the CLI version
    Version,
    /// Save the API URL and credentials to the config file, then check them
    Login(LoginArgs),
    /// Print the server's view of the caller's identity
    Whoami,
    /// Check that the Router is up and ready (`/healthz`, `/readyz`)
    Status,
    /// Manage sandboxes
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Manage sandbox templates
    #[command(subcommand)]
    Template(TemplateCommand),
    /// Configure an agent-mode sandbox: upload files, run the install command, set the entrypoint
    Configure(ConfigureArgs),
    /// Invoke an agent-mode sandbox, stream its output and exit with the agent's exit code
    Invoke(InvokeArgs),
    /// Manage your API keys
    #[command(subcommand, name = "api-keys")]
    ApiKeys(ApiKeysCommand),
    /// Manage webhook subscriptions
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Governance policies
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// List the audit log, newest first (admin; JSON)
    Audit,
    /// Usage and cost analytics (admin; JSON)
    #[command(subcommand)]
    Analytics(AnalyticsCommand),
    /// Cluster capacity and the warm pool (JSON)
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Your preferences (free-form JSON kept by the Router)
    #[command(subcommand)]
    Preferences(PreferencesCommand),
    /// Every user's sandboxes and shares (admin; JSON)
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Remove the saved credentials from the config file (the URL stays)
    Logout,
    /// Print a shell completion script, with sandbox names (e.g. `source <(agenttier completions bash)`)
    Completions {
        /// The shell to generate completions for
        shell: clap_complete::Shell,
        /// A self-contained script: commands and flags only, nothing runs on Tab (no sandbox names)
        #[arg(long = "static")]
        static_script: bool,
    },
    /// Serve the AgentTier tools to AI agents over the Model Context Protocol (stdio, or HTTP with --http)
    Mcp(crate::commands::mcp::McpArgs),
}

/// `agenttier login`
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Read a bearer token from stdin (e.g. `idp-token | agenttier login --with-token`)
    #[arg(long, conflicts_with = "with_api_key")]
    pub with_token: bool,
    /// Read an API key from stdin (e.g. `pass show agenttier | agenttier login --with-api-key`)
    #[arg(long)]
    pub with_api_key: bool,
}

/// `agenttier sandbox ...`
#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// List sandboxes
    #[command(visible_alias = "ls")]
    List {
        /// Only sandboxes of this namespace
        #[arg(long)]
        namespace: Option<String>,
        /// Only sandboxes in this phase
        #[arg(long, value_enum, ignore_case = true)]
        status: Option<Phase>,
    },
    /// Show one sandbox
    Get {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
    },
    /// Create a sandbox from a template
    Create(CreateArgs),
    /// Stop a sandbox (the workspace is kept)
    Stop {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
    },
    /// Resume a stopped sandbox
    Resume {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
    },
    /// Delete a sandbox and its workspace (permanent)
    #[command(visible_alias = "rm")]
    Delete {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
    },
    /// Run a one-shot command in a sandbox and exit with its exit code
    #[command(
        after_help = "The words after the sandbox id are shell-quoted and joined, so they arrive as one argv; \
                            use `-- sh -c '...'` for pipes and other shell syntax."
    )]
    Exec(ExecArgs),
    /// Wait until a sandbox is Running
    Wait {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
        /// How long to wait: seconds, or a duration such as 3m
        #[arg(long, default_value = "180", value_parser = parse_wait, value_name = "SECONDS")]
        timeout: Duration,
    },
    /// Port forwarding
    #[command(subcommand)]
    Ports(PortsCommand),
    /// Files of a sandbox's workspace: list, read, write, upload, download, zip archives
    #[command(subcommand)]
    Files(FilesCommand),
    /// Clone a sandbox: a new sandbox from a snapshot of its workspace, with the same template
    Clone {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
        /// Name of the clone (default: <id>-clone-<unix time>)
        #[arg(long)]
        name: Option<String>,
        /// VolumeSnapshotClass to snapshot with
        #[arg(long)]
        snapshot_class: Option<String>,
        /// Wait until the clone is Running
        #[arg(long)]
        wait: bool,
    },
    /// Change a sandbox's idle timeout, labels, annotations or resources
    Update(UpdateArgs),
    /// Stop, resume or delete several sandboxes; one result per id
    Bulk {
        /// What to do
        #[arg(value_enum)]
        action: BulkVerb,
        /// Sandbox ids
        #[arg(required = true, add = ArgValueCandidates::new(sandbox_names))]
        sandbox_ids: Vec<String>,
    },
    /// Create several sandboxes from one template in one request; one result per name
    BulkCreate {
        /// Template of every sandbox
        #[arg(long)]
        template: String,
        /// Sandbox names
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Workspace backups: list, create, restore into a new sandbox, delete
    #[command(subcommand)]
    Backups(BackupsCommand),
    /// Share a sandbox with users and groups, or mint a share link
    #[command(subcommand)]
    Share(ShareCommand),
    /// Open an interactive shell in a sandbox (a real terminal: Ctrl-C, colours, full-screen programs)
    #[command(
        after_help = "Exits 0 when the shell ends. Standard input that is not a terminal is typed into the shell \
                      and ends it: `echo ls | agenttier sandbox shell NAME`."
    )]
    Shell {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
        /// Run this command on the terminal instead of an interactive shell
        #[arg(long, short = 'c')]
        command: Option<String>,
    },
}

/// `agenttier sandbox update`
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Sandbox id
    #[arg(add = ArgValueCandidates::new(sandbox_names))]
    pub sandbox_id: String,
    /// New idle timeout, as a Go duration (applies at once)
    #[arg(long, value_parser = parse_go_duration, value_name = "DURATION")]
    pub idle_timeout: Option<Duration>,
    /// Add a label (repeatable)
    #[arg(long = "label", value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub labels: Vec<(String, String)>,
    /// Add an annotation (repeatable)
    #[arg(long = "annotation", value_name = "KEY=VALUE", value_parser = parse_pair)]
    pub annotations: Vec<(String, String)>,
    /// CPU request and limit (e.g. 500m); applies after a stop and resume
    #[arg(long)]
    pub cpu: Option<String>,
    /// Memory request and limit (e.g. 2Gi); applies after a stop and resume
    #[arg(long)]
    pub memory: Option<String>,
}

/// Bulk actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BulkVerb {
    /// Stop each sandbox.
    Stop,
    /// Resume each sandbox.
    Resume,
    /// Delete each sandbox.
    Delete,
}

/// `agenttier sandbox backups ...`
#[derive(Debug, Subcommand)]
pub enum BackupsCommand {
    /// List backups
    #[command(visible_alias = "ls")]
    List {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
    },
    /// Snapshot the workspace now
    Create {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
    },
    /// Restore a backup into a new sandbox
    Restore {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
        /// Backup (snapshot) name
        snapshot: String,
        /// Name of the new sandbox (default: <id>-restore-<unix time>)
        #[arg(long)]
        name: Option<String>,
    },
    /// Delete a backup
    Delete {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
        /// Backup (snapshot) name
        snapshot: String,
    },
}

/// `agenttier sandbox share ...`
#[derive(Debug, Subcommand)]
pub enum ShareCommand {
    /// Show grants and share links
    List {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
    },
    /// Grant a user (id or e-mail) or a group access
    Grant {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
        /// User id, e-mail, or group name
        identity: String,
        /// viewer or collaborator
        #[arg(long, default_value = "viewer")]
        level: String,
        /// The identity is a group
        #[arg(long)]
        group: bool,
    },
    /// Revoke every grant of a user or group
    Revoke {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
        /// User id, e-mail, or group name
        identity: String,
    },
    /// Mint a share link (its token is printed once)
    Link {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
        /// viewer or collaborator
        #[arg(long, default_value = "viewer")]
        level: String,
        /// Lifetime, as a Go duration (e.g. 24h)
        #[arg(long, value_parser = parse_go_duration, value_name = "DURATION")]
        expires_in: Option<Duration>,
        /// Use limit (0 = unlimited)
        #[arg(long, default_value_t = 0)]
        max_uses: u64,
    },
}

/// `agenttier api-keys ...`
#[derive(Debug, Subcommand)]
pub enum ApiKeysCommand {
    /// List your keys
    #[command(visible_alias = "ls")]
    List,
    /// Mint a key (printed once)
    Create {
        /// Label
        #[arg(long, default_value = "cli")]
        name: String,
        /// Lifetime, as a Go duration (e.g. 720h)
        #[arg(long, value_parser = parse_go_duration, value_name = "DURATION")]
        expires_in: Option<Duration>,
        /// Bind the key to one sandbox
        #[arg(long, value_name = "SANDBOX_ID")]
        sandbox: Option<String>,
        /// Action group of a sandbox-scoped key (repeatable; all when none)
        #[arg(long = "scope", value_name = "GROUP", requires = "sandbox")]
        scopes: Vec<String>,
    },
    /// Revoke a key
    Revoke {
        /// Key id (agenttier-apikey-...)
        key_id: String,
    },
}

/// `agenttier webhooks ...`
#[derive(Debug, Subcommand)]
pub enum WebhooksCommand {
    /// List your subscriptions
    #[command(visible_alias = "ls")]
    List,
    /// Subscribe a URL to events (the signing secret is printed once)
    Create {
        /// Receiver URL (https://)
        #[arg(long)]
        url: String,
        /// Event type, e.g. sandbox.running (repeatable)
        #[arg(long = "event", required = true, value_name = "TYPE")]
        events: Vec<String>,
        /// Only events of this sandbox (required unless admin)
        #[arg(long, value_name = "SANDBOX_ID")]
        sandbox: Option<String>,
        /// Only events of this namespace
        #[arg(long)]
        namespace: Option<String>,
    },
    /// Delete a subscription
    Delete {
        /// Subscription id
        webhook_id: String,
    },
    /// The last deliveries of a subscription (JSON)
    Deliveries {
        /// Subscription id
        webhook_id: String,
    },
}

/// `agenttier policy ...`
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Every policy (JSON)
    List,
    /// The policy in force in a namespace (JSON)
    Effective {
        /// Namespace (the Router's default when absent)
        #[arg(long)]
        namespace: Option<String>,
    },
    /// Replace the cluster policy (admin) or a namespace's, from a JSON file
    Set {
        /// Policy file (JSON policy object), or - for stdin
        #[arg(long)]
        file: String,
        /// Namespace (the cluster policy when absent)
        #[arg(long)]
        namespace: Option<String>,
    },
    /// Remove a namespace's policy (admin)
    Delete {
        /// Namespace
        namespace: String,
    },
}

/// `agenttier analytics ...`
#[derive(Debug, Subcommand)]
pub enum AnalyticsCommand {
    /// Sandbox counts and start-up times
    Usage,
    /// Cost estimate
    Costs,
}

/// `agenttier cluster ...`
#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Node, pod and headroom counts
    Status,
    /// Each node's capacity (admin)
    Nodes,
    /// The headroom configuration
    Headroom,
    /// The warm pools
    WarmPool,
    /// Set the warm pools (admin): TEMPLATE=COUNT for each pool; none clears them
    SetWarmPool {
        /// Pool sizes, e.g. general-coding=2
        #[arg(value_name = "TEMPLATE=COUNT", value_parser = parse_pair)]
        pools: Vec<(String, String)>,
    },
    /// Set the headroom (admin)
    SetHeadroom {
        /// Placeholder replicas (0-50)
        #[arg(long)]
        replicas: i64,
        /// CPU of each replica (e.g. 500m)
        #[arg(long, requires = "memory")]
        cpu: Option<String>,
        /// Memory of each replica (e.g. 1Gi)
        #[arg(long, requires = "cpu")]
        memory: Option<String>,
    },
}

/// `agenttier preferences ...`
#[derive(Debug, Subcommand)]
pub enum PreferencesCommand {
    /// Print your preferences (JSON)
    Get,
    /// Replace your preferences with a JSON object (inline, @FILE, or - for stdin)
    Set {
        /// The preferences document
        #[arg(value_name = "JSON|@FILE|-")]
        document: String,
    },
}

/// `agenttier admin ...`
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Every sandbox, with its owner and scoped keys
    Sandboxes {
        /// Only sandboxes of this namespace
        #[arg(long)]
        namespace: Option<String>,
        /// Only sandboxes in this phase
        #[arg(long, value_enum, ignore_case = true)]
        status: Option<Phase>,
    },
    /// Every shared sandbox and its grants
    Sharing,
}

/// Sandbox phases, for filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "PascalCase")]
pub enum Phase {
    /// Being created or resumed.
    Creating,
    /// Up.
    Running,
    /// Stopped; the workspace is kept.
    Stopped,
    /// Failed.
    Error,
    /// Being deleted.
    Deleting,
}

impl Phase {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Creating => "Creating",
            Phase::Running => "Running",
            Phase::Stopped => "Stopped",
            Phase::Error => "Error",
            Phase::Deleting => "Deleting",
        }
    }
}

/// `KEY=VALUE`.
fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err("expected KEY=VALUE".into()),
    }
}

/// `agenttier sandbox create`
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Sandbox name (lowercase letters, digits and '-')
    pub name: String,
    /// Cluster template name (see `agenttier template list`)
    #[arg(long)]
    pub template: String,
    /// Namespace (default: the Router's sandbox namespace)
    #[arg(long)]
    pub namespace: Option<String>,
    /// Longest running time, as a Go duration (e.g. 8h)
    #[arg(long, value_parser = parse_go_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,
    /// Stop after this long without activity, as a Go duration (e.g. 30m)
    #[arg(long, value_parser = parse_go_duration, value_name = "DURATION")]
    pub idle_timeout: Option<Duration>,
    /// Workspace volume size (e.g. 10Gi)
    #[arg(long, value_name = "SIZE")]
    pub storage_size: Option<String>,
    /// Wait until the sandbox is Running
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits: seconds, or a duration such as 3m
    #[arg(long, default_value = "180", value_parser = parse_wait, value_name = "SECONDS")]
    pub wait_timeout: Duration,
}

/// `agenttier sandbox exec`
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// Sandbox id
    #[arg(add = ArgValueCandidates::new(sandbox_names))]
    pub sandbox_id: String,
    /// Command timeout: seconds, or a duration such as 2m
    #[arg(long, default_value = "30", value_parser = parse_wait, value_name = "SECONDS")]
    pub timeout: Duration,
    /// The command and its arguments (put them after `--`)
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "COMMAND"
    )]
    pub command: Vec<String>,
}

/// `agenttier configure`
#[derive(Debug, Args)]
pub struct ConfigureArgs {
    /// Sandbox id
    #[arg(add = ArgValueCandidates::new(sandbox_names))]
    pub sandbox_id: String,
    /// Upload a local file: REMOTE=LOCAL (repeatable), e.g. /workspace/agent.py=./agent.py
    #[arg(long = "file", value_name = "REMOTE=LOCAL")]
    pub files: Vec<String>,
    /// Install command, split like a shell would (e.g. "pip install -r requirements.txt")
    #[arg(long, value_name = "COMMAND")]
    pub install: Option<String>,
    /// Entrypoint command, split like a shell would (e.g. "python /workspace/agent.py")
    #[arg(long, value_name = "COMMAND")]
    pub entrypoint: Option<String>,
    /// Print the output of the last install instead of configuring
    #[arg(long, conflicts_with_all = ["files", "install", "entrypoint"])]
    pub install_log: bool,
}

/// `agenttier invoke`
#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// Sandbox id
    #[arg(add = ArgValueCandidates::new(sandbox_names))]
    pub sandbox_id: String,
    /// Prompt, passed to the entrypoint as the `prompt` query parameter
    #[arg(long)]
    pub prompt: Option<String>,
    /// Body for the entrypoint's stdin: inline text, @FILE, or - for this command's stdin
    #[arg(long, value_name = "TEXT|@FILE|-")]
    pub input: Option<String>,
    /// Server-side limit of this invocation, as a Go duration (default: the template's)
    #[arg(long, value_parser = parse_go_duration, value_name = "DURATION")]
    pub timeout: Option<Duration>,
    /// Cancel the running invocation with this id instead of starting one
    #[arg(long, value_name = "INVOKE_ID", conflicts_with_all = ["prompt", "input", "timeout"])]
    pub cancel: Option<String>,
}

/// `agenttier sandbox ports ...`
#[derive(Debug, Subcommand)]
pub enum PortsCommand {
    /// List forwarded ports
    List {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
    },
    /// Forward a port out of the sandbox
    Forward {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
        /// Port inside the sandbox (1-65535)
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
        port: u16,
        /// Protocol
        #[arg(long, value_enum, default_value_t = Protocol::Http)]
        protocol: Protocol,
    },
    /// Remove a port forward
    Remove {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
        /// Port inside the sandbox
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
        port: u16,
    },
}

/// `agenttier sandbox files ...`
///
/// Remote paths are absolute inside the sandbox (`/workspace/src/main.py`); the Router serves
/// files of up to 32 MiB each.
#[derive(Debug, Subcommand)]
pub enum FilesCommand {
    /// List a directory (NAME/SIZE/MODE/MODIFIED)
    #[command(visible_alias = "list")]
    Ls {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
        /// Directory to list
        #[arg(long, default_value = WORKSPACE, value_name = "DIR")]
        path: String,
    },
    /// Write a file's raw bytes to stdout (the same in both output modes)
    Cat {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
        /// File to print, e.g. /workspace/out.log
        path: String,
    },
    /// Upload a local file (at most 32 MiB), creating parent directories
    Upload {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
        /// Local file to upload
        local: PathBuf,
        /// Destination in the sandbox, e.g. /workspace/script.py
        remote: String,
    },
    /// Download a file to a local path (into it, when it is a directory)
    Download {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
        /// File in the sandbox
        remote: String,
        /// Local destination file or directory
        local: PathBuf,
    },
    /// Download a zip archive of a directory
    Archive {
        /// Sandbox id
        #[arg(add = ArgValueCandidates::new(sandbox_names))]
        sandbox_id: String,
        /// Local zip file to write, or - for stdout (`-o FILE` after `archive` too, as in the
        /// Python CLI; the output format is then `--output`)
        #[arg(long, value_name = "FILE|-")]
        dest: String,
        /// Directory to archive (/workspace or below)
        #[arg(long, default_value = WORKSPACE, value_name = "DIR")]
        path: String,
    },
    /// Write inline text, a local file or stdin to a file, replacing what was there
    Write(WriteArgs),
}

impl FilesCommand {
    /// The sandbox the command is about.
    pub fn sandbox_id(&self) -> &str {
        match self {
            FilesCommand::Ls { sandbox_id, .. }
            | FilesCommand::Cat { sandbox_id, .. }
            | FilesCommand::Upload { sandbox_id, .. }
            | FilesCommand::Download { sandbox_id, .. }
            | FilesCommand::Archive { sandbox_id, .. }
            | FilesCommand::Write(WriteArgs { sandbox_id, .. }) => sandbox_id,
        }
    }
}

/// `agenttier sandbox files write`
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("content").required(true).args(["data", "file"]))]
pub struct WriteArgs {
    /// Sandbox id
    #[arg(add = ArgValueCandidates::new(sandbox_names))]
    pub sandbox_id: String,
    /// Destination in the sandbox, e.g. /workspace/notes.txt
    pub path: String,
    /// The content, as text
    #[arg(long, value_name = "TEXT")]
    pub data: Option<String>,
    /// Read the content from a local file, or from stdin with -
    #[arg(long, value_name = "LOCAL|-")]
    pub file: Option<PathBuf>,
}

/// Port protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Protocol {
    /// HTTP, with a preview URL.
    Http,
    /// Raw TCP.
    Tcp,
}

impl Protocol {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Tcp => "tcp",
        }
    }
}

/// `agenttier template ...`
#[derive(Debug, Subcommand)]
pub enum TemplateCommand {
    /// List cluster sandbox templates
    #[command(visible_alias = "ls")]
    List,
    /// Show one template (always JSON, as in the Python CLI)
    Get {
        /// Template name
        name: String,
    },
    /// Create a template from a JSON or YAML file and/or flags (admin)
    #[command(after_help = TEMPLATE_FILE_HELP)]
    Create(TemplateEditArgs),
    /// Change a template (admin): flags edit the current one, --file replaces its spec
    #[command(after_help = TEMPLATE_FILE_HELP)]
    Update(TemplateEditArgs),
    /// Delete a template (admin; refused while a running sandbox uses it)
    #[command(visible_alias = "rm")]
    Delete {
        /// Template name
        name: String,
    },
}

const TEMPLATE_FILE_HELP: &str = "The file holds {\"name\": ..., \"description\": ..., \"spec\": {...}} in JSON or YAML, \
the shape `agenttier template get` prints (other keys are ignored); flags override it.";

/// `agenttier template create | update`
#[derive(Debug, Args)]
pub struct TemplateEditArgs {
    /// Template name (default: the file's `name`)
    pub name: Option<String>,
    /// Template document (JSON or YAML), or - for stdin
    #[arg(short = 'f', long, value_name = "FILE|-")]
    pub file: Option<String>,
    /// Description
    #[arg(long)]
    pub description: Option<String>,
    /// Mode of the sandboxes made from it (sets spec.mode)
    #[arg(long, value_enum)]
    pub mode: Option<TemplateMode>,
    /// Container image repository (sets spec.image.repository)
    #[arg(long)]
    pub image: Option<String>,
}

/// Template modes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TemplateMode {
    /// A shell with a workspace.
    Code,
    /// Configure once, invoke many times.
    Agent,
}

/// A Go duration (`90s`, `1h30m`).
fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let d = agenttier_core::duration::parse(s).map_err(|e| e.to_string())?;
    if d.is_zero() {
        return Err("must be greater than zero".into());
    }
    Ok(d)
}

/// Whole seconds (`180`, as in the Python CLI) or a Go duration (`3m`).
fn parse_wait(s: &str) -> Result<Duration, String> {
    match s.trim().parse::<u64>() {
        Ok(0) => Err("must be greater than zero".into()),
        Ok(secs) => Ok(Duration::from_secs(secs)),
        Err(_) => parse_go_duration(s).map_err(|e| format!("{e} (give seconds, e.g. 180, or a duration, e.g. 3m)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn waits_accept_seconds_and_durations() {
        assert_eq!(parse_wait("180"), Ok(Duration::from_secs(180)));
        assert_eq!(parse_wait("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_wait("0").is_err());
        assert!(parse_wait("soon").is_err());
    }
}
