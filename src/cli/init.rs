//! `elfgate init`: writes a commented `.elfgate.toml`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Args;
use elfgate::config::{FILE_NAME, TEMPLATE};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write it [default: .elfgate.toml in the working directory].
    #[arg(long, value_name = "FILE")]
    path: Option<PathBuf>,
    /// Replace an existing file.
    #[arg(long)]
    force: bool,
}

pub fn run(args: InitArgs) -> anyhow::Result<u8> {
    let path = args.path.unwrap_or_else(|| PathBuf::from(FILE_NAME));
    if path.exists() && !args.force {
        bail!("{} exists; pass --force to replace it", path.display());
    }
    std::fs::write(&path, TEMPLATE).with_context(|| format!("cannot write {}", path.display()))?;
    writeln!(
        std::io::stderr(),
        "elfgate: wrote {}; edit it, then run `elfgate dockerfile` or `elfgate scan`",
        path.display()
    )?;
    Ok(0)
}
