//! clap arguments → library calls. One file per command.

mod explain;
mod rules;
mod scan;

use clap::{Parser, Subcommand};

/// Would each program in this image start on its platform? elfgate reads a
/// container image statically and answers the way the kernel and the dynamic
/// loader would.
#[derive(Debug, Parser)]
#[command(name = "elfgate", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scan images for programs that would not start on their platforms.
    Scan(scan::ScanArgs),
    /// List the rules.
    Rules,
    /// Print a rule's documentation.
    Explain {
        /// The rule's slug, e.g. libc-mismatch.
        rule: String,
    },
}

/// Runs the command line; `Ok` carries the exit status (0 or 1).
pub fn run() -> anyhow::Result<u8> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with status 0; usage errors are 2.
            let code = if e.use_stderr() { 2 } else { 0 };
            e.print()?;
            return Ok(code);
        }
    };
    match cli.command {
        Command::Scan(args) => scan::run(args),
        Command::Rules => rules::run(),
        Command::Explain { rule } => explain::run(&rule),
    }
}
