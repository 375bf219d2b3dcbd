//! What the `dockerfile-*` rules share: their input, and readings of a
//! Dockerfile that more than one of them needs.

use serde_json::Value;

use super::Finding;
use crate::dockerfile::{Dockerfile, Instruction, shell};

/// One Dockerfile to check.
#[derive(Debug, Clone, Copy)]
pub struct DockerfileInput<'a> {
    /// The path to show in findings.
    pub path: &'a str,
    pub dockerfile: &'a Dockerfile,
    /// Whether the build is meant for several platforms. False only when the
    /// configuration requires exactly one platform.
    pub multi_platform: bool,
}

impl DockerfileInput<'_> {
    /// A finding of `rule` at `line` of this Dockerfile.
    pub(super) fn finding(
        &self,
        rule: &'static str,
        line: u32,
        message: String,
        details: Value,
    ) -> Finding {
        Finding {
            path: Some(self.path.to_string()),
            line: Some(line),
            ..Finding::new(rule, message).details(details)
        }
    }
}

/// The C library an image reference implies, judged by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BaseLibc {
    Glibc,
    Musl,
    /// `scratch`: no libc at all.
    Nothing,
    Unknown,
}

pub(super) fn base_libc(image: &str) -> BaseLibc {
    let image = image.to_ascii_lowercase();
    if image.contains('$') {
        return BaseLibc::Unknown;
    }
    if image == "scratch" {
        return BaseLibc::Nothing;
    }
    let no_digest = image.split('@').next().unwrap_or(&image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    let (repo, tag) = last.split_once(':').unwrap_or((last, ""));
    if repo == "alpine" || repo.contains("alpine") || tag.contains("alpine") || tag.contains("musl")
    {
        return BaseLibc::Musl;
    }
    const GLIBC_REPOS: &[&str] = &[
        "golang",
        "debian",
        "ubuntu",
        "fedora",
        "centos",
        "rockylinux",
        "almalinux",
        "amazonlinux",
        "oraclelinux",
        "ubi",
        "ubi8",
        "ubi9",
        "buildpack-deps",
        "gcc",
        "rust",
        "node",
        "python",
        "ruby",
        "openjdk",
        "eclipse-temurin",
        "maven",
        "gradle",
        "archlinux",
    ];
    const GLIBC_TAGS: &[&str] = &[
        "bookworm", "bullseye", "buster", "trixie", "jammy", "focal", "noble", "slim",
    ];
    if GLIBC_REPOS.contains(&repo) || GLIBC_TAGS.iter().any(|t| tag.contains(t)) {
        return BaseLibc::Glibc;
    }
    BaseLibc::Unknown
}

/// Whether a `--platform` value names the build platform.
pub(super) fn is_build_platform(value: &str) -> bool {
    ["BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT"]
        .iter()
        .any(|v| value.contains(v))
}

/// The simple commands of every `RUN` in a stage, with the instruction and
/// the line of the script they came from.
pub(super) fn run_commands(ins: &[Instruction]) -> Vec<(&Instruction, u32, shell::Command)> {
    let mut out = Vec::new();
    for i in ins.iter().filter(|i| i.keyword == "RUN") {
        for (line, script) in i.scripts() {
            for c in shell::commands(&script) {
                out.push((i, line, c));
            }
        }
    }
    out
}

/// Whether a command runs the Go compiler: `go build` or `go install`.
pub(super) fn is_go_build(c: &shell::Command) -> bool {
    c.program() == "go" && matches!(c.arg(1), "build" | "install")
}
