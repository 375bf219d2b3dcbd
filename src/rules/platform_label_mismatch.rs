//! `platform-label-mismatch`: the index says one architecture, the config or
//! most of the executables say another.

use serde_json::json;

use super::{Finding, PlatformFacts};

pub fn check(facts: &PlatformFacts<'_>, out: &mut Vec<Finding>) {
    let platform = facts.input.platform;
    let mut reasons = Vec::new();
    if let (Some(index), Some(config)) = (facts.input.index_platform, facts.input.config.platform())
        && (index.os != config.os || index.arch != config.arch)
    {
        reasons.push(format!(
            "the index declares {index} but the image config says {config}"
        ));
    }
    if let Some(arch) = facts.majority_arch {
        let active: Vec<_> = facts.elves.iter().filter(|e| e.active).collect();
        let n = active
            .iter()
            .filter(|e| e.facts.oci_arch() == Some(arch))
            .count();
        reasons.push(format!(
            "{n} of {} executables and libraries are {arch}",
            active.len()
        ));
    }
    if reasons.is_empty() {
        return;
    }
    out.push(
        Finding::new(
            "platform-label-mismatch",
            format!(
                "labelled {platform}, but {}: a {platform} host would get binaries it cannot run",
                reasons.join(", and ")
            ),
        )
        .details(json!({
            "label": platform.to_string(),
            "config": facts.input.config.platform().map(|p| p.to_string()),
            "binaries": facts.majority_arch,
        })),
    );
}
