//! `agenttier completions <shell>`

use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit::{Failure, OK};
use crate::output::Out;

/// Prints the completion script of `shell` on stdout.
pub fn print(shell: clap_complete::Shell, out: &mut Out) -> Result<i32, Failure> {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "agenttier", &mut script);
    out.raw(&script)?;
    Ok(OK)
}
