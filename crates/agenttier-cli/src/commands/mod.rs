//! Running a parsed command line: resolve the endpoint, build the client, dispatch.

mod account;
mod admin;
mod agent;
mod api_keys;
mod cluster;
mod completions;
mod files;
mod governance;
pub(crate) mod mcp;
mod modify;
mod ports;
mod sandbox;
mod share;
mod shell;
mod snapshots;
mod template;
mod webhooks;

use agenttier::blocking::{Client, ClientBuilder};

use crate::cli::{BackupsCommand, Cli, Command, PortsCommand, SandboxCommand, ShareCommand, TemplateCommand};
use crate::config;
use crate::exit::Failure;
use crate::output::Out;

/// Why a command failed: an SDK error (described with the command's context) or a ready failure.
pub enum CmdError {
    /// The SDK call failed.
    Sdk(agenttier::Error),
    /// Already described.
    Fail(Failure),
}

impl From<agenttier::Error> for CmdError {
    fn from(e: agenttier::Error) -> Self {
        CmdError::Sdk(e)
    }
}

impl From<Failure> for CmdError {
    fn from(f: Failure) -> Self {
        CmdError::Fail(f)
    }
}

/// What a command returns: its exit code, or why it failed.
pub type CmdResult = Result<i32, CmdError>;

/// The `User-Agent` of the CLI's requests.
fn user_agent() -> String {
    format!("agenttier-cli/{}", env!("CARGO_PKG_VERSION"))
}

/// A client for `endpoint`.
pub fn client(endpoint: config::Endpoint) -> Result<Client, Failure> {
    client_tuned(endpoint, |builder| builder)
}

/// A client for `endpoint`, with `tune` applied to its builder (e.g. shorter timeouts).
pub fn client_tuned(
    endpoint: config::Endpoint,
    tune: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> Result<Client, Failure> {
    let url = endpoint.url.clone();
    let mut builder = tune(
        Client::builder()
            .base_url(endpoint.url)
            .auth(endpoint.auth)
            .user_agent(user_agent()),
    );
    if let Some(path) = &endpoint.cacert {
        builder = builder
            .add_root_certificates_file(path)
            .map_err(|e| Failure::sdk(e, None, &url))?;
    }
    builder.build().map_err(|e| Failure::sdk(e, None, &url))
}

/// Runs `cli` and returns the exit code.
pub fn run(cli: Cli) -> Result<i32, Failure> {
    let mut out = Out::new(cli.global.output, cli.global.color);
    match cli.command {
        Command::Version => account::version(&mut out),
        Command::Completions { shell, static_script } => completions::print(shell, static_script, &mut out),
        Command::Login(args) => account::login(&cli.global, &args, &mut out),
        Command::Logout => account::logout(&mut out),
        Command::Mcp(args) => mcp::serve(&cli.global, args, out),
        command => {
            let endpoint = config::resolve(&cli.global)?;
            let url = endpoint.url.clone();
            let client = client(endpoint)?;
            let subject = subject(&command);
            dispatch(command, &client, &mut out).map_err(|e| match e {
                CmdError::Sdk(e) => Failure::sdk(e, subject.as_deref(), &url),
                CmdError::Fail(f) => f,
            })
        }
    }
}

fn dispatch(command: Command, client: &Client, out: &mut Out) -> CmdResult {
    match command {
        Command::Whoami => account::whoami(client, out),
        Command::Status => account::status(client, out),
        Command::Sandbox(cmd) => sandbox::run(cmd, client, out),
        Command::Template(cmd) => template::run(cmd, client, out),
        Command::Configure(args) => agent::configure(client, out, args),
        Command::Invoke(args) => agent::invoke(client, out, args),
        Command::ApiKeys(cmd) => api_keys::api_keys(cmd, client, out),
        Command::Webhooks(cmd) => webhooks::webhooks(cmd, client, out),
        Command::Policy(cmd) => governance::policy(cmd, client, out),
        Command::Audit => governance::audit(client, out),
        Command::Analytics(cmd) => governance::analytics(cmd, client, out),
        Command::Cluster(cmd) => cluster::cluster(cmd, client, out),
        Command::Preferences(cmd) => admin::preferences(cmd, client, out),
        Command::Admin(cmd) => admin::admin(cmd, client, out),
        Command::Version | Command::Login(_) | Command::Logout | Command::Mcp(_) | Command::Completions { .. } => {
            unreachable!("handled before")
        }
    }
}

/// What a command is about, to name it in a "not found" message.
fn subject(command: &Command) -> Option<String> {
    let sandbox = |id: &str| Some(format!("sandbox {id:?}"));
    match command {
        Command::Sandbox(cmd) => match cmd {
            SandboxCommand::Get { sandbox_id }
            | SandboxCommand::Stop { sandbox_id }
            | SandboxCommand::Resume { sandbox_id }
            | SandboxCommand::Delete { sandbox_id }
            | SandboxCommand::Wait { sandbox_id, .. }
            | SandboxCommand::Shell { sandbox_id, .. } => sandbox(sandbox_id),
            SandboxCommand::Exec(args) => sandbox(&args.sandbox_id),
            SandboxCommand::Files(cmd) => sandbox(cmd.sandbox_id()),
            SandboxCommand::Create(_)
            | SandboxCommand::List { .. }
            | SandboxCommand::Bulk { .. }
            | SandboxCommand::BulkCreate { .. } => None,
            SandboxCommand::Clone { sandbox_id, .. } => sandbox(sandbox_id),
            SandboxCommand::Update(args) => sandbox(&args.sandbox_id),
            SandboxCommand::Backups(
                BackupsCommand::List { sandbox_id }
                | BackupsCommand::Create { sandbox_id }
                | BackupsCommand::Restore { sandbox_id, .. }
                | BackupsCommand::Delete { sandbox_id, .. },
            )
            | SandboxCommand::Share(
                ShareCommand::List { sandbox_id }
                | ShareCommand::Grant { sandbox_id, .. }
                | ShareCommand::Revoke { sandbox_id, .. }
                | ShareCommand::Link { sandbox_id, .. },
            ) => sandbox(sandbox_id),
            SandboxCommand::Ports(
                PortsCommand::List { sandbox_id }
                | PortsCommand::Forward { sandbox_id, .. }
                | PortsCommand::Remove { sandbox_id, .. },
            ) => sandbox(sandbox_id),
        },
        Command::Template(TemplateCommand::Get { name } | TemplateCommand::Delete { name }) => {
            Some(format!("template {name:?}"))
        }
        Command::Configure(args) => sandbox(&args.sandbox_id),
        Command::Invoke(args) => sandbox(&args.sandbox_id),
        _ => None,
    }
}
