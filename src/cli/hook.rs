//! `elfgate hook install`: a git pre-push hook that runs the configured
//! checks; `elfgate hook run` is what the hook runs.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Subcommand;
use elfgate::config::{self, FILE_NAME};

/// First line after the shebang: how a hook written here is recognized.
const MARKER: &str = "# elfgate pre-push hook";

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Write .git/hooks/pre-push, which runs `elfgate hook run` before each push.
    Install {
        /// Replace a pre-push hook that elfgate did not write.
        #[arg(long)]
        force: bool,
    },
    /// Run the checks the configuration names: its Dockerfiles (or
    /// ./Dockerfile), then its images. What the pre-push hook runs.
    Run,
}

pub fn run(command: HookCommand) -> anyhow::Result<u8> {
    match command {
        HookCommand::Install { force } => install(force),
        HookCommand::Run => run_checks(),
    }
}

fn install(force: bool) -> anyhow::Result<u8> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--git-path", "hooks"])
        .output()
        .context("cannot run git")?;
    if !out.status.success() {
        bail!(
            "not in a git repository: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let hooks = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    std::fs::create_dir_all(&hooks)
        .with_context(|| format!("cannot create {}", hooks.display()))?;
    let path = hooks.join("pre-push");
    if let Ok(existing) = std::fs::read_to_string(&path)
        && !existing.contains(MARKER)
        && !force
    {
        bail!(
            "{} exists and elfgate did not write it; pass --force to replace it",
            path.display()
        );
    }
    let exe = std::env::current_exe().context("cannot find the elfgate executable")?;
    std::fs::write(&path, script(&exe))
        .with_context(|| format!("cannot write {}", path.display()))?;
    make_executable(&path)?;
    writeln!(
        std::io::stderr(),
        "elfgate: installed {}; `git push --no-verify` skips it once",
        path.display()
    )?;
    Ok(0)
}

/// The hook: the elfgate that installed it if it is still there, else the
/// one on PATH.
fn script(exe: &Path) -> String {
    let quoted = exe.display().to_string().replace('\'', r"'\''");
    format!(
        "#!/bin/sh\n\
         {MARKER}, written by `elfgate hook install`.\n\
         # Runs the checks that {FILE_NAME} names; skip once with `git push --no-verify`.\n\
         ELFGATE='{quoted}'\n\
         if [ ! -x \"$ELFGATE\" ]; then ELFGATE=elfgate; fi\n\
         exec \"$ELFGATE\" hook run\n"
    )
}

#[cfg(unix)]
fn make_executable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// Runs `elfgate scan` (images and Dockerfiles) or `elfgate dockerfile`
/// with what the configuration names.
fn run_checks() -> anyhow::Result<u8> {
    let cwd = std::env::current_dir().context("cannot read the working directory")?;
    let config_path = config::discover(&cwd);
    let config = match &config_path {
        Some(p) => config::load(p)?,
        None => config::Config::default(),
    };
    let base = config_path
        .as_deref()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| cwd.clone());
    let mut dockerfiles: Vec<String> = config
        .dockerfiles
        .iter()
        .map(|d| {
            let p = base.join(d);
            p.strip_prefix(&cwd)
                .map(Path::to_path_buf)
                .unwrap_or(p)
                .display()
                .to_string()
        })
        .collect();
    if dockerfiles.is_empty() && Path::new("Dockerfile").is_file() {
        dockerfiles.push("Dockerfile".into());
    }
    let mut argv: Vec<String> = vec!["elfgate".into()];
    if config.images.is_empty() {
        if dockerfiles.is_empty() {
            writeln!(
                std::io::stderr(),
                "elfgate: nothing to check: no Dockerfile, and no `images` in {FILE_NAME}"
            )?;
            return Ok(0);
        }
        argv.push("dockerfile".into());
        argv.extend(dockerfiles);
    } else {
        argv.push("scan".into());
        for d in dockerfiles {
            argv.push("--dockerfile".into());
            argv.push(d);
        }
        argv.extend(config.images.iter().cloned());
    }
    argv.push("--format".into());
    argv.push("table".into());
    super::run_from(argv)
}
