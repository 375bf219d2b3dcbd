//! The rule catalog: one file per rule, and the registry that lists them.
//!
//! A rule is a pure function from facts and the filesystem view to findings.
//! Rules know nothing of `--fail-on`, configuration or output formats: the
//! report's policy sink applies those once.

mod aarch32_binary;
mod arch_mismatch;
mod arm_float_abi;
mod cgo_divergence;
mod context;
mod dockerfile_arg_scope;
mod dockerfile_cgo_libc;
mod dockerfile_context;
mod dockerfile_emulated_build;
mod dockerfile_hardcoded_arch;
mod dockerfile_platform_pinned;
#[cfg(test)]
mod dockerfile_tests;
mod libc_mismatch;
mod missing_entrypoint;
mod missing_interpreter;
mod missing_library;
mod missing_platform;
mod missing_symbol_version;
mod page_size;
mod platform_label_mismatch;
mod script_interpreter_missing;
mod toolchain_bug;
pub mod toolchain_bugs;
mod unreadable_elf;
mod x86_isa_level;

pub use cgo_divergence::PathSummary;
pub use context::{ElfFile, PlatformFacts, PlatformInput};
pub use dockerfile_context::DockerfileInput;
pub use missing_platform::check as check_required_platforms;
pub use toolchain_bug::{image_musl, rust_version};

use serde::Serialize;

/// How bad a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One rule of the catalog.
#[derive(Debug)]
pub struct Rule {
    /// Stable name of the problem, e.g. `libc-mismatch`.
    pub slug: &'static str,
    /// The severity a finding gets unless the rule says otherwise for a case.
    pub severity: Severity,
    /// The rule's documentation (`rules/SLUG.md`), Markdown with fixed sections.
    pub doc: &'static str,
}

impl Rule {
    /// The one-line summary: the first paragraph after the title.
    pub fn summary(&self) -> &'static str {
        self.doc
            .lines()
            .skip_while(|l| l.starts_with('#') || l.trim().is_empty())
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
    }
}

macro_rules! catalog {
    ($($slug:literal => $sev:ident),* $(,)?) => {
        /// Every rule, in the order `elfgate rules` lists them. The only list.
        pub static RULES: &[Rule] = &[
            $(Rule {
                slug: $slug,
                severity: Severity::$sev,
                doc: include_str!(concat!("../../rules/", $slug, ".md")),
            }),*
        ];
    };
}

catalog! {
    "missing-platform" => Error,
    "platform-label-mismatch" => Error,
    "arch-mismatch" => Error,
    "missing-interpreter" => Error,
    "libc-mismatch" => Error,
    "missing-library" => Error,
    "missing-symbol-version" => Error,
    "missing-entrypoint" => Error,
    "script-interpreter-missing" => Error,
    "unreadable-elf" => Warning,
    "cgo-divergence" => Warning,
    "toolchain-bug" => Warning,
    "aarch32-binary" => Warning,
    "arm-float-abi" => Error,
    "page-size" => Warning,
    "x86-isa-level" => Warning,
    "dockerfile-hardcoded-arch" => Error,
    "dockerfile-emulated-build" => Warning,
    "dockerfile-cgo-libc" => Error,
    "dockerfile-platform-pinned" => Error,
    "dockerfile-arg-scope" => Error,
}

/// The rule named `slug`.
pub fn rule(slug: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.slug == slug)
}

/// One problem found in one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    /// The platform, `None` only for findings about the image as a whole.
    pub platform: Option<String>,
    /// The path inside the image; `None` for image- or platform-level findings.
    pub path: Option<String>,
    /// Digest of the layer that brought the file.
    pub layer: Option<String>,
    pub message: String,
    /// Rule-specific data: what was searched, what was found.
    pub details: serde_json::Value,
    /// The line in `path`, for findings in text files (Dockerfiles); 1-based.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

impl Finding {
    /// A finding of `rule` at its default severity.
    pub fn new(rule: &'static str, message: impl Into<String>) -> Finding {
        let severity = self::rule(rule).map_or(Severity::Error, |r| r.severity);
        Finding {
            rule,
            severity,
            platform: None,
            path: None,
            layer: None,
            message: message.into(),
            details: serde_json::Value::Null,
            line: None,
        }
    }

    pub fn severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Finding {
        self.details = details;
        self
    }
}

/// Runs every Dockerfile rule; findings carry the Dockerfile's path and a line.
pub fn check_dockerfile(input: &DockerfileInput<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    dockerfile_hardcoded_arch::check(input, &mut out);
    dockerfile_emulated_build::check(input, &mut out);
    dockerfile_cgo_libc::check(input, &mut out);
    dockerfile_platform_pinned::check(input, &mut out);
    dockerfile_arg_scope::check(input, &mut out);
    out.sort_by_key(|f| f.line);
    out
}

/// Runs every per-platform rule.
pub fn check_platform(facts: &PlatformFacts<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    platform_label_mismatch::check(facts, &mut out);
    arch_mismatch::check(facts, &mut out);
    missing_interpreter::check(facts, &mut out);
    libc_mismatch::check(facts, &mut out);
    missing_library::check(facts, &mut out);
    missing_symbol_version::check(facts, &mut out);
    missing_entrypoint::check(facts, &mut out);
    script_interpreter_missing::check(facts, &mut out);
    unreadable_elf::check(facts, &mut out);
    toolchain_bug::check(facts, &mut out);
    aarch32_binary::check(facts, &mut out);
    arm_float_abi::check(facts, &mut out);
    page_size::check(facts, &mut out);
    x86_isa_level::check(facts, &mut out);
    for f in &mut out {
        f.platform
            .get_or_insert_with(|| facts.input.platform.to_string());
    }
    out
}

/// What the image-level rules keep of one platform: its executables by path.
pub fn summarize_platform(
    facts: &PlatformFacts<'_>,
) -> std::collections::BTreeMap<String, PathSummary> {
    cgo_divergence::summarize(facts)
}

/// Runs the rules that compare the platforms of one image, once all of them
/// are scanned: (platform, summary) in scan order.
pub fn check_image(
    platforms: &[(String, std::collections::BTreeMap<String, PathSummary>)],
) -> Vec<Finding> {
    cgo_divergence::check(platforms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_unique_and_kebab_case() {
        let mut seen = std::collections::BTreeSet::new();
        for r in RULES {
            assert!(seen.insert(r.slug), "duplicate slug {}", r.slug);
            assert!(
                r.slug
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit()),
                "{}",
                r.slug
            );
        }
    }

    #[test]
    fn every_doc_has_the_fixed_sections() {
        for r in RULES {
            assert!(
                r.doc.starts_with(&format!("# {}\n", r.slug)),
                "{}: title",
                r.slug
            );
            for section in [
                "## What it does",
                "## Why it breaks",
                "## Example",
                "## How to fix",
                "## References",
            ] {
                assert!(r.doc.contains(section), "{}: lacks {section}", r.slug);
            }
            let s = r.summary();
            assert!(!s.is_empty() && s.len() < 120, "{}: summary {s:?}", r.slug);
        }
    }
}
