//! The report model, the policy sink, and one renderer per format.
//!
//! Nothing upstream knows about output formats; renderers know nothing about
//! how findings were made. Findings are sorted once, here, before any renderer.

pub mod baseline;
mod github;
mod inventory;
mod json;
mod junit;
pub mod policy;
mod sarif;
mod table;

pub use baseline::{Baseline, fingerprint};
pub use github::render_github;
pub use inventory::{
    GoRecord, Inventory, InventoryRecord, glibc_version, inventory, render_inventory_summary,
};
pub use json::render_json;
pub use junit::render_junit;
pub use policy::{Outcome, Policy};
pub use sarif::render_sarif;
pub use table::render_table;

use serde::Serialize;

use crate::rules::{Finding, Severity};

/// One platform of a scanned image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlatformSummary {
    pub platform: String,
    pub manifest_digest: String,
    /// `glibc`, `musl`, `none` or `mixed`.
    pub libc: String,
    pub files: usize,
    pub elf_files: usize,
    /// `--inventory`: every ELF file of the platform; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Inventory>,
    /// The programs checked (ELF files that would be executed or loaded), by
    /// path: what JUnit lists as test cases. Not part of the JSON report.
    #[serde(skip)]
    pub programs: Vec<String>,
}

/// One scanned image.
#[derive(Debug, Clone, Serialize)]
pub struct ImageReport {
    pub reference: String,
    pub digest: String,
    pub platforms: Vec<PlatformSummary>,
    /// Sorted: platform, severity (worst first), rule, path, message.
    pub findings: Vec<Finding>,
}

impl ImageReport {
    pub fn new(
        reference: String,
        digest: String,
        platforms: Vec<PlatformSummary>,
        mut findings: Vec<Finding>,
    ) -> ImageReport {
        findings.sort_by(|a, b| {
            (
                &a.platform,
                std::cmp::Reverse(a.severity),
                a.rule,
                &a.path,
                &a.message,
            )
                .cmp(&(
                    &b.platform,
                    std::cmp::Reverse(b.severity),
                    b.rule,
                    &b.path,
                    &b.message,
                ))
        });
        ImageReport {
            reference,
            digest,
            platforms,
            findings,
        }
    }
}

/// Counts by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub error: usize,
    pub warning: usize,
    pub info: usize,
}

/// Everything one run found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub images: Vec<ImageReport>,
}

impl Report {
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.images.iter().flat_map(|i| &i.findings)
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for f in self.findings() {
            match f.severity {
                Severity::Error => s.error += 1,
                Severity::Warning => s.warning += 1,
                Severity::Info => s.info += 1,
            }
        }
        s
    }
}

/// The least severity that fails the run (`--fail-on`); `Never` fails on nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Severity(Severity),
    Never,
}

impl std::str::FromStr for FailOn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "error" => FailOn::Severity(Severity::Error),
            "warning" => FailOn::Severity(Severity::Warning),
            "info" => FailOn::Severity(Severity::Info),
            "never" => FailOn::Never,
            _ => return Err(format!("expected error, warning, info or never, not {s:?}")),
        })
    }
}

/// Exit statuses: 0 clean under the policy, 1 findings at or above it.
/// (2, a usage or input error, is the command layer's.)
pub fn exit_code(report: &Report, fail_on: FailOn) -> i32 {
    match fail_on {
        FailOn::Never => 0,
        FailOn::Severity(min) => i32::from(report.findings().any(|f| f.severity >= min)),
    }
}
