use std::io::{IsTerminal, Write};

use anyhow::Context;
use clap::{Args, ValueEnum};
use elfgate::layers::Limits;
use elfgate::platform::{self, Platform};
use elfgate::report::{self, FailOn, Report};
use elfgate::scan::{ScanOptions, scan};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Images: oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE,
    /// dir:ROOTFS, or a path (detected by what it holds).
    #[arg(required = true, value_name = "IMAGE")]
    images: Vec<String>,
    /// Scan only these platforms (os/arch[/variant], comma-separated); all by default.
    /// Required for dir: roots.
    #[arg(long, value_name = "PLATFORMS", value_parser = parse_platforms)]
    platform: Option<PlatformList>,
    /// Platforms every image must have [default: linux/amd64,linux/arm64; none for dir:].
    #[arg(long, value_name = "PLATFORMS", value_parser = parse_platforms)]
    require_platform: Option<PlatformList>,
    /// Output format [default: table on a terminal, json otherwise].
    #[arg(long, value_enum)]
    format: Option<Format>,
    /// Exit 1 when a finding is at or above this severity: error, warning, info, never.
    #[arg(long, default_value = "error", value_name = "SEVERITY")]
    fail_on: FailOn,
    /// Largest ELF file read, in bytes; larger ones are reported as unreadable-elf.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_elf_size)]
    max_file_size: u64,
}

/// A comma-separated list of platforms, as one argument.
#[derive(Debug, Clone)]
struct PlatformList(Vec<Platform>);

fn parse_platforms(s: &str) -> Result<PlatformList, String> {
    platform::parse_list(s)
        .map(PlatformList)
        .map_err(|e| e.to_string())
}

pub fn run(args: ScanArgs) -> anyhow::Result<u8> {
    let options = ScanOptions {
        platforms: args.platform.map(|l| l.0).unwrap_or_default(),
        required: args.require_platform.map(|l| l.0),
        limits: Limits {
            max_elf_size: args.max_file_size,
            ..Limits::default()
        },
    };
    let mut report = Report::default();
    for image in &args.images {
        let r = scan(image, &options).with_context(|| format!("cannot scan {image}"))?;
        report.images.push(r);
    }
    let stdout = std::io::stdout();
    let tty = stdout.is_terminal();
    let format = args
        .format
        .unwrap_or(if tty { Format::Table } else { Format::Json });
    let text = match format {
        Format::Table => report::render_table(&report, tty),
        Format::Json => report::render_json(&report),
    };
    let mut out = stdout.lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(report::exit_code(&report, args.fail_on) as u8)
}
