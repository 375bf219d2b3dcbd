//! clap arguments → library calls. One file per command.

mod dockerfile;
mod explain;
mod gate;
mod hook;
mod init;
mod registry;
mod rules;
mod scan;
mod serve;

use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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
    Rules {
        /// Print the Markdown table that README.md carries.
        #[arg(long)]
        markdown: bool,
    },
    /// Print a rule's documentation.
    Explain {
        /// The rule's slug, e.g. libc-mismatch.
        rule: String,
    },
    /// Scan every image a registry announces: the webhook scanner.
    Serve(Box<serve::ServeArgs>),
    /// Check Dockerfiles for what breaks multi-platform images, before building.
    Dockerfile(dockerfile::DockerfileArgs),
    /// Write a commented .elfgate.toml.
    Init(init::InitArgs),
    /// Git hooks: `elfgate hook install` writes a pre-push hook.
    Hook {
        #[command(subcommand)]
        command: hook::HookCommand,
    },
}

/// Runs the command line; `Ok` carries the exit status (0 or 1).
pub fn run() -> anyhow::Result<u8> {
    run_from(std::env::args_os())
}

/// Runs the command line `argv` (its first word is the program name).
pub fn run_from<I, T>(argv: I) -> anyhow::Result<u8>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    // The matches are kept: `--format`/`--output` pair up by position.
    let parsed = Cli::command()
        .try_get_matches_from(argv)
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let (cli, matches) = match parsed {
        Ok(pair) => pair,
        Err(e) => {
            // Help and version go to stdout with status 0; usage errors are 2.
            let code = if e.use_stderr() { 2 } else { 0 };
            e.print()?;
            return Ok(code);
        }
    };
    match cli.command {
        Command::Scan(args) => scan::run(args, matches.subcommand_matches("scan")),
        Command::Dockerfile(args) => {
            dockerfile::run(args, matches.subcommand_matches("dockerfile"))
        }
        Command::Serve(args) => serve::run(*args),
        Command::Init(args) => init::run(args),
        Command::Hook { command } => hook::run(command),
        Command::Rules { markdown } => rules::run(markdown),
        Command::Explain { rule } => explain::run(&rule),
    }
}
