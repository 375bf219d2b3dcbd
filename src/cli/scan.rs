use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{ArgMatches, Args};
use elfgate::config::Config;
use elfgate::layers::Limits;
use elfgate::platform::{self, Platform};
use elfgate::report::{self, Report};
use elfgate::scan::{ScanOptions, scan};

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Images: oci:DIR[:TAG], oci-archive:FILE[:TAG], docker-archive:FILE,
    /// dir:ROOTFS, docker://REF, or a path (detected by what it holds) or a
    /// registry reference (alpine:3.20, localhost:5000/app:dev).
    /// [default: `images` from the configuration]
    #[arg(value_name = "IMAGE")]
    images: Vec<String>,
    /// Also check this Dockerfile (repeatable), as `elfgate dockerfile` does.
    #[arg(long, value_name = "PATH")]
    dockerfile: Vec<PathBuf>,
    /// Scan only these platforms (os/arch[/variant], comma-separated); all by default.
    /// Required for dir: roots.
    #[arg(long, value_name = "PLATFORMS", value_parser = parse_platforms)]
    platform: Option<PlatformList>,
    /// Platforms every image must have [default: linux/amd64,linux/arm64; none for dir:].
    #[arg(long, value_name = "PLATFORMS", value_parser = parse_platforms)]
    require_platform: Option<PlatformList>,
    #[command(flatten)]
    gate: super::gate::GateArgs,
    /// Add an inventory of every ELF file per platform (path, linkage, libc,
    /// toolchain versions) to the JSON report; the table gets a summary.
    #[arg(long)]
    inventory: bool,
    #[command(flatten)]
    limits: LimitArgs,
    #[command(flatten)]
    registry: Box<super::registry::RegistryArgs>,
}

/// The limits on what one image may hold (`scan`, `serve`).
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Largest ELF file read, in bytes; larger ones are reported as
    /// unreadable-elf [default: max-file-size from the configuration, else 512 MiB].
    #[arg(long, value_name = "BYTES")]
    max_file_size: Option<u64>,
    /// Most bytes one layer may decompress to; more is an error (a decompression bomb).
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_layer_bytes)]
    max_layer_bytes: u64,
    /// Most bytes all layers of one image may decompress to together.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_image_bytes)]
    max_image_bytes: u64,
    /// Most tar entries in one layer.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_entries)]
    max_entries: u64,
    /// Longest entry path or link target in a layer, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_path_len)]
    max_path_length: usize,
    /// Most components in an entry path of a layer.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_path_depth)]
    max_path_depth: usize,
    /// Most bytes of tar extension records (long names, PAX headers) before one entry.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_tar_header_bytes)]
    max_tar_header_bytes: u64,
}

impl LimitArgs {
    /// The limits, `max-file-size` falling back to the configuration.
    pub fn limits(&self, config: &Config) -> Limits {
        Limits {
            max_elf_size: self
                .max_file_size
                .or(config.max_file_size)
                .unwrap_or(Limits::default().max_elf_size),
            max_layer_bytes: self.max_layer_bytes,
            max_image_bytes: self.max_image_bytes,
            max_entries: self.max_entries,
            max_path_len: self.max_path_length,
            max_path_depth: self.max_path_depth,
            max_tar_header_bytes: self.max_tar_header_bytes,
            ..Limits::default()
        }
    }
}

/// A comma-separated list of platforms, as one argument.
#[derive(Debug, Clone)]
struct PlatformList(Vec<Platform>);

fn parse_platforms(s: &str) -> Result<PlatformList, String> {
    platform::parse_list(s)
        .map(PlatformList)
        .map_err(|e| e.to_string())
}

pub fn run(args: ScanArgs, matches: Option<&ArgMatches>) -> anyhow::Result<u8> {
    let config = args.gate.load_config()?;
    let images = if args.images.is_empty() {
        config.images.clone()
    } else {
        args.images.clone()
    };
    if images.is_empty() && args.dockerfile.is_empty() {
        bail!(
            "nothing to scan: give an IMAGE, --dockerfile PATH, or `images` in {}",
            elfgate::config::FILE_NAME
        );
    }
    let required = args
        .require_platform
        .map(|l| l.0)
        .or(config.platforms.clone());
    let multi_platform = required.as_ref().is_none_or(|r| r.len() != 1);
    let options = ScanOptions {
        platforms: args.platform.map(|l| l.0).unwrap_or_default(),
        required,
        limits: args.limits.limits(&config),
        registry: args.registry.registry_options(&config)?,
        cache: Some(args.registry.cache()),
        progress: args.registry.progress(),
        inventory: args.inventory,
    };
    let mut report = Report::default();
    report.images.extend(super::dockerfile::check_files(
        &args.dockerfile,
        multi_platform,
    )?);
    for image in &images {
        let r = scan(image, &options).with_context(|| format!("cannot scan {image}"))?;
        report.images.push(r);
    }
    let inventory = |r: &Report| report::render_inventory_summary(r);
    let extra: Option<super::gate::TableExtra<'_>> = args.inventory.then_some(&inventory);
    super::gate::finish(report, &args.gate, &config, matches, extra)
}
