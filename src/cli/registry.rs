//! The `scan` flags for registries, the layer cache and the progress
//! display, and the defaults taken from the environment (the only place the
//! host's environment is read for them).

use std::ffi::OsString;
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;
use elfgate::cache::{DEFAULT_MAX_BYTES, LayerCache};
use elfgate::config::Config;
use elfgate::progress::Progress;
use elfgate::source::{Credentials, RegistryOptions};

#[derive(Debug, Args)]
pub struct RegistryArgs {
    /// Reach registries over plain http, or https without verifying certificates.
    #[arg(long)]
    insecure: bool,
    /// A PEM file of CA certificates to trust for registries (repeatable).
    #[arg(long, value_name = "FILE")]
    ca_file: Vec<PathBuf>,
    /// A directory whose *.crt files are CA certificates to trust (repeatable).
    #[arg(long, value_name = "DIR")]
    cert_dir: Vec<PathBuf>,
    /// The user name for registries; the password is read from stdin.
    #[arg(long, value_name = "USER", requires = "password_stdin")]
    username: Option<String>,
    /// Read the registry password from stdin (with --username).
    #[arg(long, requires = "username")]
    password_stdin: bool,
    /// The auth file to read credentials from [default: $REGISTRY_AUTH_FILE, else
    /// containers' auth.json and Docker's config.json].
    #[arg(long, value_name = "FILE")]
    authfile: Option<PathBuf>,
    /// How many times a failed registry request is retried.
    #[arg(long, value_name = "N", default_value_t = RegistryOptions::default().retries)]
    retry_times: u32,
    /// Seconds a registry response may stall before it is dropped and retried.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    registry_timeout: u64,
    /// Where layer results are cached [default: $XDG_CACHE_HOME/elfgate or ~/.cache/elfgate].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Neither read nor write the layer cache.
    #[arg(long, conflicts_with = "cache_dir")]
    no_cache: bool,
    /// The layer cache's size cap, in bytes; least recently used entries go first.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_BYTES)]
    cache_max_size: u64,
    /// No progress display.
    #[arg(long, short)]
    quiet: bool,
}

fn env(key: &str) -> Option<OsString> {
    std::env::var_os(key).filter(|v| !v.is_empty())
}

fn home() -> Option<PathBuf> {
    env("HOME").map(PathBuf::from)
}

/// Where skopeo and podman (then Docker) look for credentials, in order.
fn default_auth_files() -> Vec<PathBuf> {
    if let Some(file) = env("REGISTRY_AUTH_FILE") {
        return vec![PathBuf::from(file)];
    }
    let mut files = Vec::new();
    if let Some(run) = env("XDG_RUNTIME_DIR") {
        files.push(PathBuf::from(run).join("containers/auth.json"));
    }
    let config = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".config")));
    if let Some(config) = config {
        files.push(config.join("containers/auth.json"));
    }
    if let Some(dir) = env("DOCKER_CONFIG") {
        files.push(PathBuf::from(dir).join("config.json"));
    }
    if let Some(h) = home() {
        files.push(h.join(".docker/config.json"));
    }
    files
}

/// Registries marked `insecure = true` in containers' registries.conf.
fn insecure_from_registries_conf() -> Vec<String> {
    let mut files = vec![PathBuf::from("/etc/containers/registries.conf")];
    let config = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home().map(|h| h.join(".config")));
    if let Some(config) = config {
        files.push(config.join("containers/registries.conf"));
    }
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        let Ok(doc) = text.parse::<toml::Table>() else {
            continue;
        };
        let Some(regs) = doc.get("registry").and_then(|r| r.as_array()) else {
            continue;
        };
        for r in regs {
            let insecure = r.get("insecure").and_then(|v| v.as_bool()) == Some(true);
            let location = r
                .get("location")
                .or_else(|| r.get("prefix"))
                .and_then(|v| v.as_str());
            if let (true, Some(loc)) = (insecure, location) {
                out.push(loc.split('/').next().unwrap_or(loc).to_string());
            }
        }
    }
    out
}

impl RegistryArgs {
    /// How registries are reached (the flags, over the configuration's
    /// `registries`); reads the password from stdin when asked.
    pub fn registry_options(&self, config: &Config) -> anyhow::Result<RegistryOptions> {
        let explicit = match (&self.username, self.password_stdin) {
            (Some(user), true) => {
                let mut password = String::new();
                std::io::stdin()
                    .take(64 * 1024)
                    .read_to_string(&mut password)
                    .context("reading the password from stdin")?;
                let password = password.trim_end_matches(['\n', '\r']).to_string();
                if password.is_empty() {
                    bail!("--password-stdin: stdin held no password");
                }
                Some((user.clone(), password))
            }
            _ => None,
        };
        let auth_files = match &self.authfile {
            Some(f) => vec![f.clone()],
            None => default_auth_files(),
        };
        Ok(RegistryOptions {
            credentials: Credentials {
                explicit,
                auth_files,
            },
            insecure: self.insecure,
            insecure_registries: insecure_from_registries_conf(),
            registries: config.registries.clone(),
            ca_files: self.ca_file.clone(),
            cert_dirs: self.cert_dir.clone(),
            cert_roots: vec![
                PathBuf::from("/etc/containers/certs.d"),
                PathBuf::from("/etc/docker/certs.d"),
            ],
            read_timeout: Duration::from_secs(self.registry_timeout.max(1)),
            retries: self.retry_times,
            ..RegistryOptions::default()
        })
    }

    /// The layer cache: on disk unless `--no-cache` or no cache directory
    /// can be found, always in memory for this run.
    pub fn cache(&self) -> Arc<LayerCache> {
        if self.no_cache {
            return Arc::new(LayerCache::in_memory());
        }
        let dir = self.cache_dir.clone().or_else(|| {
            env("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| home().map(|h| h.join(".cache")))
                .map(|d| d.join("elfgate"))
        });
        match dir {
            Some(dir) => Arc::new(LayerCache::on_disk(&dir, self.cache_max_size)),
            None => Arc::new(LayerCache::in_memory()),
        }
    }

    /// A progress display on stderr when it is a terminal, unless `--quiet`.
    pub fn progress(&self) -> Progress {
        Progress::for_stderr(self.quiet, std::io::stderr().is_terminal())
    }
}
