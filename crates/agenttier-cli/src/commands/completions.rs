//! `agenttier completions <shell> [--static]`

use std::path::PathBuf;

use clap::CommandFactory;
use clap_complete::env::Shells;

use crate::cli::Cli;
use crate::exit::{Failure, OK};
use crate::output::Out;

/// Prints the completion script of `shell` on stdout. By default it is the dynamic one (what
/// `COMPLETE=<shell> agenttier` prints): at each Tab the shell runs this binary for candidates,
/// which include the sandbox names (see `crate::complete`). `static_script` prints a script
/// that knows the commands and flags only.
pub fn print(shell: clap_complete::Shell, static_script: bool, out: &mut Out) -> Result<i32, Failure> {
    let mut script = Vec::new();
    if static_script {
        clap_complete::generate(shell, &mut Cli::command(), "agenttier", &mut script);
    } else {
        let name = shell.to_string();
        let shells = Shells::builtins();
        let completer = shells
            .completer(&name)
            .ok_or_else(|| Failure::config(format!("no dynamic completions for {name}: use --static")))?;
        completer
            .write_registration("COMPLETE", "agenttier", "agenttier", &this_binary(), &mut script)
            .map_err(|e| Failure::io("writing the completion script", &e))?;
    }
    out.raw(&script)?;
    Ok(OK)
}

/// How the script calls this binary back: by name when it was started through `PATH`, else by
/// its absolute path (e.g. `./target/debug/agenttier completions bash`).
fn this_binary() -> String {
    let argv0 = PathBuf::from(std::env::args_os().next().unwrap_or_else(|| "agenttier".into()));
    if argv0.components().count() < 2 {
        return argv0.to_string_lossy().into_owned();
    }
    std::path::absolute(&argv0)
        .unwrap_or(argv0)
        .to_string_lossy()
        .into_owned()
}
