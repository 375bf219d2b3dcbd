//! `.elfgate.toml`: a team's policy, kept beside the code.
//!
//! Found from the working directory upward (the first `.elfgate.toml` wins),
//! or named with `--config FILE`. Command-line flags override it. This
//! module only reads and checks the file; the report's policy sink
//! (`report::policy`) is the one place that applies it to findings.
//!
//! Every error names the file, line and column of what is wrong.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::platform::Platform;
use crate::report::FailOn;
use crate::report::policy::{Date, Ignore, RuleSetting};
use crate::rules::{self, Severity};
use crate::source::RegistrySettings;

/// The file name looked for.
pub const FILE_NAME: &str = ".elfgate.toml";

/// The largest configuration file read.
const MAX_CONFIG_SIZE: u64 = 1 << 20;

/// What `elfgate init` writes: every key, commented.
pub const TEMPLATE: &str = r#"# elfgate configuration. elfgate looks for this file in the working
# directory and its parents; `--config FILE` names another. Flags given on
# the command line win over what is written here.

# Platforms every image must have (`--require-platform`).
platforms = ["linux/amd64", "linux/arm64"]

# The least severity that fails a run: "error", "warning", "info" or "never".
fail-on = "error"

# Largest ELF file read, in bytes; larger ones are reported as unreadable-elf.
# max-file-size = 536870912

# What `elfgate scan` with no IMAGE argument, the `elfgate-image` pre-commit
# hook and the pre-push hook (`elfgate hook install`) scan.
# images = ["oci:build/image"]

# How to reach one registry, by host[:port]. `--insecure` on the command line
# still applies to every registry; `--ca-file` CAs are trusted besides these.
# [registries."registry.internal:5000"]
# insecure = true                   # plain http, or https without verification
# ca-file = "certs/internal-ca.pem" # PEM CAs trusted for it; relative to this file

# The Dockerfiles `elfgate dockerfile` with no PATH and the hooks check.
dockerfiles = ["Dockerfile"]

# `elfgate serve`: the address to reach a registry at, by the name its
# webhook events give (as `--registry-alias PUBLIC=ADDRESS`).
# [serve.registry-aliases]
# "registry.example.com" = "registry.internal:5000"

# Per-rule severity: "error", "warning", "info", or "off" to drop the rule.
[rules]
# page-size = "off"
# x86-isa-level = "error"

# Findings to hide. Every field given must match; `reason` is required.
# An ignore past its `expires` date stops hiding its findings, and says so.
# [[ignore]]
# rule = "missing-library"
# path = "/opt/vendor/**"      # a glob over the path inside the image
# platform = "linux/arm64"
# image = "registry.example.com/app*"
# reason = "the vendor ships arm64 libraries in the next release"
# expires = 2026-12-31
"#;

/// A loaded configuration. `None` and empty mean "not set here".
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file it came from.
    pub path: Option<PathBuf>,
    /// Required platforms.
    pub platforms: Option<Vec<Platform>>,
    pub fail_on: Option<FailOn>,
    pub max_file_size: Option<u64>,
    pub images: Vec<String>,
    pub dockerfiles: Vec<String>,
    pub rules: BTreeMap<String, RuleSetting>,
    pub ignores: Vec<Ignore>,
    /// How to reach each registry (`host[:port]`).
    pub registries: BTreeMap<String, RegistrySettings>,
    /// `[serve.registry-aliases]`: registry name in events → address to reach.
    pub registry_aliases: Vec<(String, String)>,
}

/// A configuration file that cannot be used, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: String,
    /// 1-based; 0 when the error has no position (the file cannot be read).
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.column, self.message
            )
        }
    }
}

impl std::error::Error for ConfigError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Raw {
    platforms: Option<Vec<Spanned<String>>>,
    fail_on: Option<Spanned<String>>,
    max_file_size: Option<u64>,
    #[serde(default)]
    images: Vec<String>,
    #[serde(default)]
    dockerfiles: Vec<String>,
    #[serde(default)]
    rules: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    ignore: Vec<Spanned<RawIgnore>>,
    #[serde(default)]
    registries: BTreeMap<Spanned<String>, RawRegistry>,
    #[serde(default)]
    serve: RawServe,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawRegistry {
    insecure: Option<bool>,
    ca_file: Option<Spanned<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawServe {
    #[serde(default)]
    registry_aliases: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawIgnore {
    rule: Option<Spanned<String>>,
    path: Option<Spanned<String>>,
    platform: Option<Spanned<String>>,
    image: Option<Spanned<String>>,
    reason: Spanned<String>,
    expires: Option<Spanned<toml::Value>>,
}

/// The nearest `.elfgate.toml` in `start` or one of its parents.
pub fn discover(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .map(|d| d.join(FILE_NAME))
        .find(|p| p.is_file())
}

/// Reads and checks the file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let name = path.display().to_string();
    let unreadable = |message: String| ConfigError {
        file: name.clone(),
        line: 0,
        column: 0,
        message,
    };
    let size = std::fs::metadata(path)
        .map_err(|e| unreadable(format!("cannot read: {e}")))?
        .len();
    if size > MAX_CONFIG_SIZE {
        return Err(unreadable(format!(
            "{size} bytes; a configuration file is at most {MAX_CONFIG_SIZE}"
        )));
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| unreadable(format!("cannot read: {e}")))?;
    let mut config = parse(&text, &name)?;
    // Paths in the file are relative to the file.
    let base = path.parent().unwrap_or(Path::new(""));
    for settings in config.registries.values_mut() {
        if let Some(f) = &mut settings.ca_file
            && f.is_relative()
        {
            *f = base.join(&*f);
        }
    }
    config.path = Some(path.to_path_buf());
    Ok(config)
}

/// Parses configuration text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<Config, ConfigError> {
    let at = |span: Range<usize>, message: String| {
        let (line, column) = line_col(text, span.start);
        ConfigError {
            file: file.to_string(),
            line,
            column,
            message,
        }
    };
    let raw: Raw = toml::from_str(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        at(span, e.message().trim().to_string())
    })?;
    let mut config = Config {
        max_file_size: raw.max_file_size,
        images: raw.images,
        dockerfiles: raw.dockerfiles,
        registry_aliases: raw.serve.registry_aliases.into_iter().collect(),
        ..Config::default()
    };
    if let Some(list) = raw.platforms {
        let mut out = Vec::new();
        for p in list {
            out.push(Platform::parse(p.get_ref()).map_err(|e| at(p.span(), e.to_string()))?);
        }
        config.platforms = Some(out);
    }
    if let Some(f) = raw.fail_on {
        config.fail_on = Some(f.get_ref().parse().map_err(|e: String| at(f.span(), e))?);
    }
    for (slug, value) in raw.rules {
        if rules::rule(&slug).is_none() {
            return Err(at(
                value.span(),
                format!("no rule is named {slug:?} (see `elfgate rules`)"),
            ));
        }
        let setting = match value.get_ref().as_str() {
            "off" => RuleSetting::Off,
            "error" => RuleSetting::Severity(Severity::Error),
            "warning" => RuleSetting::Severity(Severity::Warning),
            "info" => RuleSetting::Severity(Severity::Info),
            other => {
                return Err(at(
                    value.span(),
                    format!("expected \"error\", \"warning\", \"info\" or \"off\", not {other:?}"),
                ));
            }
        };
        config.rules.insert(slug, setting);
    }
    for entry in raw.ignore {
        let span = entry.span();
        let ig = entry.into_inner();
        let (origin_line, _) = line_col(text, span.start);
        if ig.reason.get_ref().trim().is_empty() {
            return Err(at(ig.reason.span(), "`reason` must say why".into()));
        }
        let rule = match ig.rule {
            Some(r) if rules::rule(r.get_ref()).is_none() => {
                return Err(at(
                    r.span(),
                    format!("no rule is named {:?} (see `elfgate rules`)", r.get_ref()),
                ));
            }
            Some(r) => Some(r.into_inner()),
            None => None,
        };
        let pattern = |s: Spanned<String>| {
            glob::Pattern::new(s.get_ref())
                .map_err(|e| at(s.span(), format!("not a glob pattern: {}", e.msg)))
        };
        let path = ig.path.map(pattern).transpose()?;
        let image = ig.image.map(pattern).transpose()?;
        let platform = match ig.platform {
            Some(p) => Some(Platform::parse(p.get_ref()).map_err(|e| at(p.span(), e.to_string()))?),
            None => None,
        };
        let expires = match ig.expires {
            None => None,
            Some(v) => Some(date(v.get_ref()).ok_or_else(|| {
                at(
                    v.span(),
                    "`expires` must be a date, YYYY-MM-DD (e.g. 2026-12-31)".into(),
                )
            })?),
        };
        if rule.is_none() && path.is_none() && platform.is_none() && image.is_none() {
            return Err(at(
                span,
                "an ignore needs at least one of `rule`, `path`, `platform`, `image`".into(),
            ));
        }
        config.ignores.push(Ignore {
            rule,
            path,
            platform,
            image,
            reason: ig.reason.into_inner(),
            expires,
            origin: format!("{file}:{origin_line}"),
        });
    }
    for (host, settings) in raw.registries {
        let name = host.get_ref();
        let valid = !name.is_empty()
            && !name.contains("://")
            && !name.contains('/')
            && !name.contains(char::is_whitespace);
        if !valid {
            return Err(at(
                host.span(),
                format!("{name:?} is not a registry: expected host[:port], without scheme or path"),
            ));
        }
        let ca_file = match settings.ca_file {
            Some(f) if f.get_ref().trim().is_empty() => {
                return Err(at(f.span(), "`ca-file` must name a file".into()));
            }
            Some(f) => Some(PathBuf::from(f.into_inner())),
            None => None,
        };
        config.registries.insert(
            host.into_inner(),
            RegistrySettings {
                insecure: settings.insecure,
                ca_file,
            },
        );
    }
    Ok(config)
}

/// A TOML local date (`2026-12-31`) or a string holding one.
fn date(v: &toml::Value) -> Option<Date> {
    match v {
        toml::Value::String(s) => Date::parse(s),
        toml::Value::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => {
            Date::parse(&dt.to_string())
        }
        _ => None,
    }
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_is_a_valid_configuration() {
        let c = parse(TEMPLATE, ".elfgate.toml").unwrap();
        assert_eq!(
            c.platforms,
            Some(vec![
                Platform::new("linux", "amd64", None),
                Platform::new("linux", "arm64", None)
            ])
        );
        assert_eq!(c.fail_on, Some(FailOn::Severity(Severity::Error)));
        assert_eq!(c.dockerfiles, ["Dockerfile"]);
        assert!(c.ignores.is_empty() && c.rules.is_empty());
    }

    #[test]
    fn every_key_is_read() {
        let text = r#"
platforms = ["linux/arm64"]
fail-on = "warning"
max-file-size = 1024
images = ["oci:out"]

[serve.registry-aliases]
"registry.example.com" = "registry.internal:5000"

[rules]
page-size = "off"
toolchain-bug = "error"

[[ignore]]
rule = "missing-library"
path = "/opt/**"
platform = "linux/arm64"
image = "oci:*"
reason = "vendored"
expires = 2026-12-31

[[ignore]]
path = "/usr/share/firmware/**"
reason = "never executed"
expires = "2030-01-01"
"#;
        let c = parse(text, "c.toml").unwrap();
        assert_eq!(c.fail_on, Some(FailOn::Severity(Severity::Warning)));
        assert_eq!(c.max_file_size, Some(1024));
        assert_eq!(c.images, ["oci:out"]);
        assert_eq!(
            c.registry_aliases,
            [(
                "registry.example.com".to_string(),
                "registry.internal:5000".to_string()
            )]
        );
        assert_eq!(c.rules["page-size"], RuleSetting::Off);
        assert_eq!(
            c.rules["toolchain-bug"],
            RuleSetting::Severity(Severity::Error)
        );
        assert_eq!(c.ignores.len(), 2);
        let ig = &c.ignores[0];
        assert_eq!(ig.rule.as_deref(), Some("missing-library"));
        assert_eq!(ig.expires.unwrap().to_string(), "2026-12-31");
        // The `[[ignore]]` header is on line 14.
        assert_eq!(ig.origin, "c.toml:14");
        assert_eq!(c.ignores[1].expires.unwrap().to_string(), "2030-01-01");
    }

    #[test]
    fn errors_point_at_line_and_column() {
        // Counted by hand: line 3, the value starts at column 13.
        let e = parse("# c\n[rules]\npage-size = \"loud\"\n", "f").unwrap_err();
        assert_eq!((e.line, e.column), (3, 13), "{e}");
        assert!(e.message.contains("\"loud\""));
        assert!(e.to_string().starts_with("f:3:13: "));

        let e = parse("[rules]\nno-such-rule = \"off\"\n", "f").unwrap_err();
        assert_eq!((e.line, e.column), (2, 16), "{e}");

        let e = parse("fail-on = \"error\"\nunknown-key = 1\n", "f").unwrap_err();
        assert_eq!(e.line, 2, "{e}");

        let e = parse("[[ignore]]\nrule = \"page-size\"\n", "f").unwrap_err();
        assert!(e.message.contains("reason"), "{e}");
        assert_eq!(e.line, 1, "{e}");

        let e = parse(
            "[[ignore]]\nrule = \"page-size\"\nreason = \"x\"\nexpires = \"soon\"\n",
            "f",
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (4, 11), "{e}");

        // `platforms = [` is 13 characters, `"linux/amd64", ` 15 more: the string opens at 29.
        let e = parse("platforms = [\"linux/amd64\", \"linux//v7\"]\n", "f").unwrap_err();
        assert_eq!((e.line, e.column), (1, 29), "{e}");

        let e = parse("fail-on = \n", "f").unwrap_err();
        assert_eq!(e.line, 1, "{e}");
    }

    #[test]
    fn registries_are_read_and_checked() {
        let text = r#"
[registries."localhost:5000"]
insecure = true

[registries."registry.internal"]
ca-file = "certs/ca.pem"
"#;
        let c = parse(text, "f").unwrap();
        assert_eq!(
            c.registries["localhost:5000"],
            RegistrySettings {
                insecure: Some(true),
                ca_file: None
            }
        );
        assert_eq!(
            c.registries["registry.internal"].ca_file,
            Some(PathBuf::from("certs/ca.pem"))
        );
        assert_eq!(c.registries["registry.internal"].insecure, None);

        // Line 2 holds the bad key, the value after `[registries.` (column 13).
        let e = parse(
            "\n[registries.\"https://r.example\"]\ninsecure = true\n",
            "f",
        )
        .unwrap_err();
        assert_eq!((e.line, e.column), (2, 13), "{e}");
        assert!(e.message.contains("host[:port]"), "{e}");
        let e = parse("[registries.\"r.example/team\"]\n", "f").unwrap_err();
        assert!(e.message.contains("host[:port]"), "{e}");
        let e = parse("[registries.r]\nverify = false\n", "f").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = parse("[registries.r]\ninsecure = \"yes\"\n", "f").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = parse("[registries.r]\nca-file = \"\"\n", "f").unwrap_err();
        assert!(e.message.contains("ca-file"), "{e}");
    }

    #[test]
    fn a_relative_ca_file_is_relative_to_the_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE_NAME);
        std::fs::write(
            &file,
            "[registries.a]\nca-file = \"certs/a.pem\"\n[registries.b]\nca-file = \"/abs/b.pem\"\n",
        )
        .unwrap();
        let c = load(&file).unwrap();
        assert_eq!(
            c.registries["a"].ca_file,
            Some(dir.path().join("certs/a.pem"))
        );
        assert_eq!(c.registries["b"].ca_file, Some(PathBuf::from("/abs/b.pem")));
    }

    #[test]
    fn discovery_walks_up_from_the_start_directory() {
        let dir = tempfile::tempdir().unwrap();
        let deep = dir.path().join("a/b");
        std::fs::create_dir_all(&deep).unwrap();
        assert_eq!(discover(&deep), None);
        std::fs::write(dir.path().join(FILE_NAME), "").unwrap();
        assert_eq!(discover(&deep), Some(dir.path().join(FILE_NAME)));
        std::fs::write(deep.join(FILE_NAME), "").unwrap();
        assert_eq!(discover(&deep), Some(deep.join(FILE_NAME)));
    }
}
