//! `toolchain-bug`: a program built by a toolchain release with a known
//! runtime bug on its architecture, from `rules/toolchain-bugs.toml`. Go's
//! version comes from the build info, Rust's from `.comment` or the release
//! commit of the standard library's paths, musl's from the image's libc.so.

use serde_json::json;

use super::toolchain_bugs::{self, Bug, Toolchain};
use super::{Finding, PlatformFacts};

pub fn check(facts: &PlatformFacts<'_>, out: &mut Vec<Finding>) {
    let bugs = toolchain_bugs::bugs();
    let mut push = |bug: &Bug, path: &str, layer: Option<String>, what: String, version: &str| {
        let fixed = bug
            .fixed
            .as_deref()
            .map_or(String::new(), |f| format!("; fixed in {f}"));
        out.push(Finding {
            path: Some(path.to_string()),
            layer,
            ..Finding::new(
                "toolchain-bug",
                format!("{path} {what}: {}{fixed}", bug.symptom),
            )
            .severity(bug.severity)
            .details(json!({
                "bug": bug.id,
                "toolchain": format!("{:?}", bug.toolchain).to_lowercase(),
                "version": version,
                "affected": bug.affected,
                "fixed": bug.fixed,
                "sources": bug.sources,
            }))
        });
    };
    for elf in &facts.elves {
        if !elf.active || !elf.compatible {
            continue;
        }
        let Some(arch) = elf.facts.oci_arch() else {
            continue;
        };
        let applies =
            |b: &&Bug, t: Toolchain| b.toolchain == t && b.architectures.iter().any(|a| a == arch);
        if let Some(go) = &elf.facts.toolchain.go {
            for bug in bugs.iter().filter(|b| applies(b, Toolchain::Go)) {
                if bug.affects(&go.version) {
                    let what = format!("is built with {} for {arch}", go.version);
                    push(bug, elf.path, facts.layer_of(elf.node), what, &go.version);
                }
            }
        }
        if let Some((version, how)) = rust_version(elf.facts) {
            for bug in bugs.iter().filter(|b| applies(b, Toolchain::Rust)) {
                if bug.affects(version) {
                    let what = format!("is built with rustc {version} ({how}) for {arch}");
                    push(bug, elf.path, facts.layer_of(elf.node), what, version);
                }
            }
        }
    }
    if let Some((path, node, version)) = image_musl(facts) {
        let arch = facts.input.platform.arch.as_str();
        for bug in bugs
            .iter()
            .filter(|b| b.toolchain == Toolchain::Musl && b.architectures.iter().any(|a| a == arch))
        {
            if bug.affects(version) {
                let what = format!("is the image's C library, musl {version}");
                push(bug, path, facts.layer_of(node), what, version);
            }
        }
    }
}

/// The rustc version of a binary, and where it was read.
pub fn rust_version(f: &crate::elf::ElfFacts) -> Option<(&str, &'static str)> {
    if let Some(v) = f.toolchain.rustc_version.as_deref() {
        return Some((v, ".comment"));
    }
    let commit = f.toolchain.rustc_commit.as_deref()?;
    toolchain_bugs::rust_version_of_commit(commit).map(|v| (v, "release commit of its std paths"))
}

/// The musl of the platform: the version its musl libc.so (the loader)
/// carries.
pub fn image_musl<'a>(
    facts: &PlatformFacts<'a>,
) -> Option<(&'a str, &'a crate::fs::Node, &'a str)> {
    facts.elves.iter().find_map(|e| {
        let v = e.facts.toolchain.musl_version.as_deref()?;
        Some((e.path, e.node, v))
    })
}
