//! Platform strings as Docker and containerd normalise them.
//!
//! `linux/arm64` is `linux/arm64/v8`, `armhf` is `arm/v7`, `aarch64` and
//! `x86_64` are accepted aliases, amd64 carries variants v1..v4.

use std::fmt;

/// An OS/architecture/variant triple in its normalised form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Platform {
    pub os: String,
    pub arch: String,
    /// Normalised variant; `None` where the architecture has no default.
    pub variant: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid platform {input:?}: {reason}")]
pub struct PlatformError {
    pub input: String,
    pub reason: &'static str,
}

impl Platform {
    pub fn new(os: &str, arch: &str, variant: Option<&str>) -> Platform {
        let os = os.to_ascii_lowercase();
        let (arch, implied) = normalise_arch(&arch.to_ascii_lowercase());
        let variant = variant
            .filter(|v| !v.is_empty())
            .map(|v| v.to_ascii_lowercase())
            .or(implied.map(str::to_string));
        let variant = normalise_variant(&arch, variant);
        Platform { os, arch, variant }
    }

    /// Parses `os/arch[/variant]`, or a bare `arch` (OS linux).
    pub fn parse(input: &str) -> Result<Platform, PlatformError> {
        let err = |reason| PlatformError {
            input: input.to_string(),
            reason,
        };
        let parts: Vec<&str> = input.trim().split('/').collect();
        if parts.iter().any(|p| p.is_empty()) {
            return Err(err("empty component"));
        }
        match parts.as_slice() {
            [arch] => Ok(Platform::new("linux", arch, None)),
            [os, arch] => Ok(Platform::new(os, arch, None)),
            [os, arch, variant] => Ok(Platform::new(os, arch, Some(variant))),
            _ => Err(err("expected os/arch[/variant]")),
        }
    }

    /// Whether an image of platform `self` satisfies a request for `wanted`.
    /// A request without a variant takes any variant of the architecture,
    /// except that amd64 without a variant means v1-compatible (any level).
    pub fn satisfies(&self, wanted: &Platform) -> bool {
        if self.os != wanted.os || self.arch != wanted.arch {
            return false;
        }
        match (&self.variant, &wanted.variant) {
            (_, None) => true,
            (None, Some(_)) => default_variant(&self.arch).as_deref() == wanted.variant.as_deref(),
            (Some(a), Some(b)) => a == b,
        }
    }

    /// The amd64 micro-architecture level (1..=4), when this is amd64.
    pub fn amd64_level(&self) -> Option<u8> {
        if self.arch != "amd64" {
            return None;
        }
        Some(
            self.variant
                .as_deref()
                .and_then(|v| v.strip_prefix('v'))
                .and_then(|n| n.parse().ok())
                .unwrap_or(1),
        )
    }
}

fn normalise_arch(arch: &str) -> (String, Option<&'static str>) {
    let (a, v) = match arch {
        "x86_64" | "x86-64" | "amd64" => ("amd64", None),
        "aarch64" | "arm64" => ("arm64", None),
        "armhf" | "armv7" | "armv7l" => ("arm", Some("v7")),
        "armel" => ("arm", Some("v6")),
        "armv6" | "armv6l" => ("arm", Some("v6")),
        "armv5" | "armv5l" => ("arm", Some("v5")),
        "i386" | "i486" | "i586" | "i686" | "386" => ("386", None),
        "ppc64el" | "ppc64le" => ("ppc64le", None),
        other => return (other.to_string(), None),
    };
    (a.to_string(), v)
}

fn default_variant(arch: &str) -> Option<String> {
    match arch {
        "arm64" => Some("v8".into()),
        "arm" => Some("v7".into()),
        _ => None,
    }
}

fn normalise_variant(arch: &str, variant: Option<String>) -> Option<String> {
    match (arch, variant) {
        ("arm64", None) => Some("v8".into()),
        ("arm64", Some(v)) if v == "8" => Some("v8".into()),
        ("arm", None) => Some("v7".into()),
        ("arm", Some(v)) if !v.starts_with('v') => Some(format!("v{v}")),
        ("amd64", Some(v)) if v == "v1" => None,
        (_, v) => v,
    }
}

impl fmt::Display for Platform {
    /// Docker's short form: `linux/arm64` for the default variant.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.os, self.arch)?;
        match &self.variant {
            Some(v) if Some(v) != default_variant(&self.arch).as_ref() || self.arch == "arm" => {
                write!(f, "/{v}")
            }
            _ => Ok(()),
        }
    }
}

/// Parses a comma-separated list of platforms.
pub fn parse_list(input: &str) -> Result<Vec<Platform>, PlatformError> {
    input
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(Platform::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_normalisation() {
        let p = |s| Platform::parse(s).unwrap();
        assert_eq!(p("linux/arm64"), p("linux/arm64/v8"));
        assert_eq!(p("linux/aarch64"), p("linux/arm64"));
        assert_eq!(p("armhf"), p("linux/arm/v7"));
        assert_eq!(p("linux/arm"), p("linux/arm/v7"));
        assert_eq!(p("x86_64"), p("linux/amd64"));
        assert_eq!(p("linux/amd64/v1"), p("linux/amd64"));
        assert_eq!(p("linux/arm64").to_string(), "linux/arm64");
        assert_eq!(p("linux/arm/v7").to_string(), "linux/arm/v7");
        assert_eq!(p("linux/amd64/v3").to_string(), "linux/amd64/v3");
        assert_eq!(p("linux/amd64/v3").amd64_level(), Some(3));
        assert!(Platform::parse("linux//v7").is_err());
        assert!(Platform::parse("a/b/c/d").is_err());
    }

    #[test]
    fn satisfies_requests() {
        let p = |s| Platform::parse(s).unwrap();
        assert!(p("linux/arm64/v8").satisfies(&p("linux/arm64")));
        assert!(p("linux/amd64/v3").satisfies(&p("linux/amd64")));
        assert!(!p("linux/amd64").satisfies(&p("linux/arm64")));
        assert!(!p("linux/arm/v6").satisfies(&p("linux/arm/v7")));
        assert!(!p("windows/amd64").satisfies(&p("linux/amd64")));
    }
}
