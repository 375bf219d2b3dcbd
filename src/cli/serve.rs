use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use elfgate::progress::Progress;
use elfgate::scan::ScanOptions;
use elfgate::serve::event::Aliases;
use elfgate::serve::log::{LogFormat, Logger};
use elfgate::serve::store::Retention;
use elfgate::serve::{self, Settings};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormatArg {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The SQLite database that holds the queue and the results (created if missing).
    #[arg(long, value_name = "FILE", default_value = "elfgate.db")]
    db: PathBuf,
    /// A file holding the shared secret that webhooks send as
    /// `Authorization: Bearer SECRET` (a trailing newline is ignored).
    #[arg(long, value_name = "FILE")]
    token_file: PathBuf,
    /// A file holding a second secret that may only read results.
    #[arg(long, value_name = "FILE")]
    read_token_file: Option<PathBuf>,
    /// Scans at once.
    #[arg(long, value_name = "N", default_value_t = 2)]
    workers: usize,
    /// Queued scans beyond which webhooks get 503 with Retry-After.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    max_queue: u64,
    /// The largest request body, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 20)]
    max_body: usize,
    /// Seconds one request may take.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    request_timeout: u64,
    /// Seconds one scan may take before it is stored as failed.
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    scan_timeout: u64,
    /// Retries of a scan that failed reaching its registry.
    #[arg(long, value_name = "N", default_value_t = 3)]
    scan_retries: u32,
    /// Seconds before the first retry of a scan; the wait doubles each time.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    scan_retry_delay: f64,
    /// Seconds SIGTERM lets running scans finish; what is left stays queued.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    drain_timeout: u64,
    /// Days a finished scan is kept.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    retain_days: u64,
    /// Finished scans kept at most; the oldest go first.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    retain_count: u64,
    /// Reach the registry an event names as PUBLIC at ADDRESS instead
    /// (repeatable), e.g. registry.example.com=registry.internal:5000.
    #[arg(long, value_name = "PUBLIC=ADDRESS", value_parser = parse_alias)]
    registry_alias: Vec<(String, String)>,
    /// POST a short note (Slack-compatible `text`) and the summary here when a scan finds errors.
    #[arg(long, value_name = "URL")]
    notify_url: Option<String>,
    /// Log lines as text or as JSON lines.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormatArg,
    #[command(flatten)]
    config: super::gate::ConfigArgs,
    #[command(flatten)]
    limits: super::scan::LimitArgs,
    #[command(flatten)]
    registry: Box<super::registry::RegistryArgs>,
}

fn parse_alias(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok((a.to_string(), b.to_string())),
        _ => Err(format!("expected PUBLIC=ADDRESS, not {s:?}")),
    }
}

/// The secret in `path`, without a trailing newline.
fn read_token(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the token file {}", path.display()))?;
    let token = text.trim_end_matches(['\n', '\r']);
    if token.trim().is_empty() {
        bail!("the token file {} is empty", path.display());
    }
    if token.contains(['\n', '\r']) {
        bail!("the token file {} holds more than one line", path.display());
    }
    Ok(token.to_string())
}

pub fn run(args: ServeArgs) -> anyhow::Result<u8> {
    let config = args.config.load()?;
    let scan = ScanOptions {
        platforms: Vec::new(),
        required: config.platforms.clone(),
        limits: args.limits.limits(&config),
        registry: args.registry.registry_options(&config)?,
        cache: Some(args.registry.cache()),
        progress: Progress::hidden(),
        inventory: false,
    };
    if !(args.scan_retry_delay.is_finite() && args.scan_retry_delay >= 0.0) {
        bail!("--scan-retry-delay: expected a number of seconds");
    }
    let settings = Settings {
        listen: args.listen,
        db: args.db,
        token: read_token(&args.token_file)?,
        read_token: args
            .read_token_file
            .as_deref()
            .map(read_token)
            .transpose()?,
        workers: args.workers.max(1),
        max_queue: args.max_queue,
        max_body: args.max_body,
        request_timeout: Duration::from_secs(args.request_timeout.max(1)),
        scan_timeout: Duration::from_secs(args.scan_timeout.max(1)),
        scan_retries: args.scan_retries,
        retry_delay: Duration::from_secs_f64(args.scan_retry_delay),
        drain_timeout: Duration::from_secs(args.drain_timeout),
        retention: Retention {
            max_age_ms: i64::try_from(args.retain_days.saturating_mul(86_400_000))
                .unwrap_or(i64::MAX),
            max_count: args.retain_count,
        },
        // The flags first: the first match wins.
        aliases: Aliases(
            args.registry_alias
                .into_iter()
                .chain(config.registry_aliases.iter().cloned())
                .collect(),
        ),
        notify_url: args.notify_url,
        log: Logger {
            format: match args.log_format {
                LogFormatArg::Text => LogFormat::Text,
                LogFormatArg::Json => LogFormat::Json,
            },
        },
        scan,
        policy: super::gate::policy(&config, None, None),
    };
    serve::run(settings)?;
    Ok(0)
}
