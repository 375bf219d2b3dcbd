//! `elfgate dockerfile [PATH...]`: the Dockerfile rules, before anything is built.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{ArgMatches, Args};
use elfgate::dockerfile::{MAX_DOCKERFILE_SIZE, parse};
use elfgate::report::{ImageReport, Report};
use elfgate::rules::{DockerfileInput, check_dockerfile};

#[derive(Debug, Args)]
pub struct DockerfileArgs {
    /// Dockerfiles to check [default: `dockerfiles` from the configuration,
    /// else ./Dockerfile].
    #[arg(value_name = "PATH")]
    paths: Vec<PathBuf>,
    /// Check as a build for one platform only: the rules about multi-platform
    /// builds stay quiet [default: when the configuration requires exactly one platform].
    #[arg(long)]
    single_platform: bool,
    #[command(flatten)]
    gate: super::gate::GateArgs,
}

pub fn run(args: DockerfileArgs, matches: Option<&ArgMatches>) -> anyhow::Result<u8> {
    let config = args.gate.load_config()?;
    let paths: Vec<PathBuf> = if !args.paths.is_empty() {
        args.paths.clone()
    } else if !config.dockerfiles.is_empty() {
        // Relative to the directory of the configuration file.
        let base = config
            .path
            .as_deref()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let cwd = std::env::current_dir().unwrap_or_default();
        config
            .dockerfiles
            .iter()
            .map(|d| {
                let p = base.join(d);
                p.strip_prefix(&cwd).map(Path::to_path_buf).unwrap_or(p)
            })
            .collect()
    } else if Path::new("Dockerfile").is_file() {
        vec![PathBuf::from("Dockerfile")]
    } else {
        bail!("no Dockerfile: give a PATH, or list `dockerfiles` in the configuration");
    };
    let multi_platform =
        !args.single_platform && config.platforms.as_ref().is_none_or(|p| p.len() != 1);
    let report = Report {
        images: check_files(&paths, multi_platform)?,
    };
    super::gate::finish(report, &args.gate, &config, matches, None)
}

/// Runs the Dockerfile rules on each file; one report entry per file, named
/// by its path as given.
pub fn check_files(paths: &[PathBuf], multi_platform: bool) -> anyhow::Result<Vec<ImageReport>> {
    let mut out = Vec::new();
    for path in paths {
        let file =
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut bytes = Vec::new();
        file.take(MAX_DOCKERFILE_SIZE as u64 + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if bytes.len() > MAX_DOCKERFILE_SIZE {
            bail!(
                "{}: larger than {MAX_DOCKERFILE_SIZE} bytes; not a Dockerfile",
                path.display()
            );
        }
        let text = String::from_utf8_lossy(&bytes);
        let dockerfile = parse(&text);
        let shown = path.display().to_string();
        let findings = check_dockerfile(&DockerfileInput {
            path: &shown,
            dockerfile: &dockerfile,
            multi_platform,
        });
        out.push(ImageReport::new(
            shown.clone(),
            String::new(),
            Vec::new(),
            findings,
        ));
    }
    Ok(out)
}
