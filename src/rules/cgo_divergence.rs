//! `cgo-divergence`: within one index, the same program is static on one
//! platform and dynamic on another, or its Go `CGO_ENABLED` differs. A
//! build that links one architecture against the C library and not the
//! other breaks only on that architecture, and only where the C library
//! differs (consul-template 0.22 to 0.25: arm64 with CGO, amd64 without,
//! and the arm64 image broke on Alpine).
//!
//! An image-level rule: the scan keeps a small summary per platform and path
//! ([`PathSummary`]) and calls [`check`] once every platform is done.

use std::collections::BTreeMap;

use serde_json::json;

use super::{Finding, PlatformFacts};
use crate::elf::{FileType, Linkage};

/// What `cgo-divergence` keeps of one executable of one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathSummary {
    pub linkage: Linkage,
    /// Go's CGO_ENABLED, when the file is a Go program that records it.
    pub cgo: Option<bool>,
    pub interpreter: Option<String>,
    pub layer: Option<String>,
}

/// The executables of one platform: active, compatible ELF executables
/// (ET_EXEC, or ET_DYN with an interpreter or Go build info).
pub fn summarize(facts: &PlatformFacts<'_>) -> BTreeMap<String, PathSummary> {
    facts
        .elves
        .iter()
        .filter(|e| e.active && e.compatible && e.node.mode & 0o111 != 0)
        .filter(|e| {
            e.facts.file_type == FileType::Executable
                || e.facts.interpreter.is_some()
                || e.facts.toolchain.go.is_some()
        })
        .map(|e| {
            (
                e.path.to_string(),
                PathSummary {
                    linkage: e.facts.linkage,
                    cgo: e.facts.toolchain.go.as_ref().and_then(|g| g.cgo_enabled()),
                    interpreter: e.facts.interpreter.clone(),
                    layer: facts.layer_of(e.node),
                },
            )
        })
        .collect()
}

fn is_static(l: Linkage) -> bool {
    matches!(l, Linkage::Static | Linkage::StaticPie)
}

fn describe(s: &PathSummary) -> String {
    let linkage = match (s.linkage, &s.interpreter) {
        (Linkage::Dynamic, Some(i)) => format!("dynamic ({i})"),
        (Linkage::Dynamic, None) => "dynamic".to_string(),
        (Linkage::Static, _) => "static".to_string(),
        (Linkage::StaticPie, _) => "static-pie".to_string(),
    };
    match s.cgo {
        Some(true) => format!("{linkage}, CGO_ENABLED=1"),
        Some(false) => format!("{linkage}, CGO_ENABLED=0"),
        None => linkage,
    }
}

/// Compares the platforms of one image. `platforms` is (platform, summary)
/// in scan order. One finding per diverging path, on each platform whose
/// build is the dynamic or CGO one.
pub fn check(platforms: &[(String, BTreeMap<String, PathSummary>)]) -> Vec<Finding> {
    let mut out = Vec::new();
    if platforms.len() < 2 {
        return out;
    }
    let mut paths: BTreeMap<&str, Vec<(&str, &PathSummary)>> = BTreeMap::new();
    for (platform, summary) in platforms {
        for (path, s) in summary {
            paths.entry(path).or_default().push((platform, s));
        }
    }
    for (path, seen) in paths {
        if seen.len() < 2 {
            continue;
        }
        let linkage_differs = seen.iter().any(|(_, s)| is_static(s.linkage))
            && seen.iter().any(|(_, s)| !is_static(s.linkage));
        let cgo_differs = seen.iter().any(|(_, s)| s.cgo == Some(true))
            && seen.iter().any(|(_, s)| s.cgo == Some(false));
        if !linkage_differs && !cgo_differs {
            continue;
        }
        let all: Vec<String> = seen
            .iter()
            .map(|(p, s)| format!("{p}: {}", describe(s)))
            .collect();
        let details = json!({
            "builds": seen.iter().map(|(p, s)| json!({
                "platform": p,
                "linkage": s.linkage,
                "cgo_enabled": s.cgo,
                "interpreter": s.interpreter,
            })).collect::<Vec<_>>(),
        });
        for (platform, s) in &seen {
            let odd = if linkage_differs {
                !is_static(s.linkage)
            } else {
                s.cgo == Some(true)
            };
            if !odd {
                continue;
            }
            out.push(Finding {
                platform: Some(platform.to_string()),
                path: Some(path.to_string()),
                layer: s.layer.clone(),
                ..Finding::new(
                    "cgo-divergence",
                    format!(
                        "{path} is built differently across the platforms of this image ({}): \
                         the {platform} build depends on the image's C library where the others \
                         do not",
                        all.join("; ")
                    ),
                )
                .details(details.clone())
            });
        }
    }
    out
}
