//! What `scan` and `dockerfile` share as a gate: the configuration file,
//! the policy flags, baselines, and several `--format`/`--output` pairs.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{ArgAction, ArgMatches, Args, ValueEnum};
use elfgate::config::{self, Config};
use elfgate::report::{self, Baseline, FailOn, Policy, Report};
use elfgate::rules::Severity;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
    Sarif,
    Junit,
    Github,
}

#[derive(Debug, Args)]
pub struct GateArgs {
    /// Output format: table, json, sarif, junit, github. Repeat it, each with
    /// its --output, to write several in one run (--format sarif --output
    /// elfgate.sarif --format table) [default: table on a terminal, json otherwise].
    #[arg(long, value_enum, action = ArgAction::Append)]
    format: Vec<Format>,
    /// Write the --format given before it to FILE instead of standard output.
    #[arg(long, value_name = "FILE", action = ArgAction::Append)]
    output: Vec<PathBuf>,
    /// Exit 1 when a finding is at or above this severity: error, warning,
    /// info, never [default: fail-on from the configuration, else error].
    #[arg(long, value_name = "SEVERITY")]
    fail_on: Option<FailOn>,
    #[command(flatten)]
    config: ConfigArgs,
    /// Report and fail on only the findings that this baseline does not have.
    #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
    baseline: Option<PathBuf>,
    /// Record the fingerprints of this run's findings (after ignores) in
    /// FILE, to pass to --baseline later; the run then exits 0.
    #[arg(long, value_name = "FILE")]
    write_baseline: Option<PathBuf>,
}

/// Where the configuration comes from (`scan`, `dockerfile`, `serve`).
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// The configuration file [default: .elfgate.toml in the working
    /// directory or the nearest parent that has one].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Read no configuration file.
    #[arg(long, conflicts_with = "config")]
    no_config: bool,
}

impl GateArgs {
    /// The configuration: `--config`, else the nearest `.elfgate.toml`.
    pub fn load_config(&self) -> anyhow::Result<Config> {
        self.config.load()
    }

    fn fail_on(&self, config: &Config) -> FailOn {
        self.fail_on.or(config.fail_on).unwrap_or(DEFAULT_FAIL_ON)
    }
}

/// `--fail-on` when neither the flag nor the configuration sets it.
const DEFAULT_FAIL_ON: FailOn = FailOn::Severity(Severity::Error);

/// The policy of a configuration: its rule settings and ignores.
pub fn policy(config: &Config, fail_on: Option<FailOn>, baseline: Option<Baseline>) -> Policy {
    Policy {
        fail_on: fail_on.or(config.fail_on).unwrap_or(DEFAULT_FAIL_ON),
        rules: config.rules.clone(),
        ignores: config.ignores.clone(),
        baseline,
        ..Policy::default()
    }
}

impl ConfigArgs {
    /// The configuration: `--config`, else the nearest `.elfgate.toml`.
    pub fn load(&self) -> anyhow::Result<Config> {
        if self.no_config {
            return Ok(Config::default());
        }
        if let Some(path) = &self.config {
            return Ok(config::load(path)?);
        }
        let cwd = std::env::current_dir().context("cannot read the working directory")?;
        match config::discover(&cwd) {
            Some(path) => Ok(config::load(&path)?),
            None => Ok(Config::default()),
        }
    }
}

/// Each `--format` with the file its `--output` names (`None`: stdout).
/// An `--output` belongs to the nearest `--format` before it (or, when it
/// comes first, the one right after it).
fn outputs(
    gate: &GateArgs,
    matches: Option<&ArgMatches>,
    tty: bool,
) -> anyhow::Result<Vec<(Format, Option<PathBuf>)>> {
    let index = |id: &str| -> Vec<usize> {
        matches
            .and_then(|m| m.indices_of(id))
            .map(|i| i.collect())
            .unwrap_or_default()
    };
    let (fi, oi) = (index("format"), index("output"));
    let mut pairs: Vec<(Format, Option<PathBuf>)> =
        gate.format.iter().map(|&f| (f, None)).collect();
    for (k, path) in gate.output.iter().enumerate() {
        let at = oi.get(k).copied().unwrap_or(k);
        let owner = match fi.iter().rposition(|&f| f < at) {
            Some(j) => Some(j),
            None if !gate.format.is_empty() => Some(0),
            None => None,
        };
        match owner {
            Some(j) if pairs[j].1.is_none() => pairs[j].1 = Some(path.clone()),
            Some(_) => bail!(
                "--output {}: the --format before it already has an --output",
                path.display()
            ),
            // An --output with no --format at all: JSON.
            None if gate.format.is_empty() && k == 0 => {
                pairs.push((Format::Json, Some(path.clone())))
            }
            None => bail!(
                "--output {}: give a --format for each --output",
                path.display()
            ),
        }
    }
    if pairs.is_empty() {
        pairs.push((if tty { Format::Table } else { Format::Json }, None));
    }
    if pairs.iter().filter(|(_, o)| o.is_none()).count() > 1 {
        bail!("only one --format can go to standard output; give the others an --output");
    }
    Ok(pairs)
}

/// How the table is embellished by the command.
pub type TableExtra<'a> = &'a dyn Fn(&Report) -> String;

/// Applies the policy, writes every output, and returns the exit status.
pub fn finish(
    mut report: Report,
    gate: &GateArgs,
    config: &Config,
    matches: Option<&ArgMatches>,
    table_extra: Option<TableExtra<'_>>,
) -> anyhow::Result<u8> {
    let stdout = std::io::stdout();
    let tty = stdout.is_terminal();
    let pairs = outputs(gate, matches, tty)?;
    let fail_on = gate.fail_on(config);
    let baseline = match &gate.baseline {
        Some(path) => Some(read_baseline(path)?),
        None => None,
    };
    let policy = policy(config, Some(fail_on), baseline);
    let outcome = policy.apply(&mut report);
    for note in &outcome.notes {
        eprintln!("elfgate: {note}");
    }
    if outcome.ignored > 0 {
        eprintln!(
            "elfgate: {} finding{} hidden by ignores in the configuration",
            outcome.ignored,
            plural(outcome.ignored)
        );
    }
    if outcome.baselined > 0 {
        eprintln!(
            "elfgate: {} finding{} already in the baseline not shown",
            outcome.baselined,
            plural(outcome.baselined)
        );
    }
    for (format, path) in &pairs {
        let color = tty && path.is_none();
        let text = match format {
            Format::Table => {
                let mut t = report::render_table(&report, color);
                if let Some(extra) = table_extra {
                    t.push('\n');
                    t.push_str(&extra(&report));
                }
                t
            }
            Format::Json => report::render_json(&report),
            Format::Sarif => report::render_sarif(&report),
            Format::Junit => report::render_junit(&report, fail_on),
            Format::Github => report::render_github(&report),
        };
        match path {
            Some(p) => std::fs::write(p, text.as_bytes())
                .with_context(|| format!("cannot write {}", p.display()))?,
            None => {
                let mut out = stdout.lock();
                out.write_all(text.as_bytes())?;
                out.flush()?;
            }
        }
    }
    if let Some(path) = &gate.write_baseline {
        std::fs::write(path, Baseline::render(&report))
            .with_context(|| format!("cannot write the baseline {}", path.display()))?;
        let n = report.findings().count();
        eprintln!(
            "elfgate: wrote {n} finding{} to the baseline {}",
            plural(n),
            path.display()
        );
        return Ok(0);
    }
    Ok(u8::try_from(policy.exit_code(&report)).unwrap_or(1))
}

fn read_baseline(path: &Path) -> anyhow::Result<Baseline> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the baseline {}", path.display()))?;
    Baseline::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
