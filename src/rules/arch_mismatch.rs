//! `arch-mismatch`: a file that would be executed or loaded is built for a
//! machine the platform cannot run (`exec format error`). Foreign objects
//! that nothing runs are summarised as one `info`.

use std::collections::BTreeSet;

use serde_json::json;

use super::context::describe_machine;
use super::{Finding, PlatformFacts, Severity};
use crate::loader::LoadProblem;

/// How many paths an `info` summary lists.
const SAMPLE: usize = 20;

pub fn check(facts: &PlatformFacts<'_>, out: &mut Vec<Finding>) {
    let platform = facts.input.platform;
    let mut inert = Vec::new();
    for elf in facts.elves.iter().filter(|e| !e.compatible) {
        if facts.majority_arch.is_some() && elf.facts.oci_arch() == facts.majority_arch {
            continue; // the label is wrong, not this file: platform-label-mismatch says so
        }
        if !elf.active {
            inert.push(elf);
            continue;
        }
        let what = describe_machine(elf.facts);
        out.push(
            facts.at(
                elf,
                Finding::new(
                    "arch-mismatch",
                    format!(
                        "{} is {what}; {platform} cannot execute it (exec format error)",
                        elf.path
                    ),
                )
                .details(json!({
                    "machine": elf.facts.machine_name(),
                    "class": elf.facts.class,
                    "arch": elf.facts.oci_arch(),
                })),
            ),
        );
    }
    if let Some(first) = inert.first() {
        let paths: Vec<&str> = inert.iter().take(SAMPLE).map(|e| e.path).collect();
        let machines: BTreeSet<String> = inert.iter().map(|e| describe_machine(e.facts)).collect();
        let n = inert.len();
        out.push(Finding {
            path: Some(first.path.to_string()),
            layer: facts.layer_of(first.node),
            ..Finding::new(
                "arch-mismatch",
                format!(
                    "{n} foreign object{} that nothing executes or loads ({}), e.g. {}",
                    if n == 1 { "" } else { "s" },
                    machines.into_iter().collect::<Vec<_>>().join(", "),
                    first.path
                ),
            )
            .severity(Severity::Info)
            .details(json!({ "count": n, "paths": paths }))
        });
    }

    // A candidate the loader does not skip but cannot load ends the search.
    let mut seen = BTreeSet::new();
    for elf in &facts.elves {
        for p in elf.load.iter().flat_map(|l| &l.problems) {
            if let LoadProblem::WrongArchLibrary {
                name,
                needed_by,
                path,
                reason,
            } = p
                && seen.insert(path.clone())
            {
                let layer = facts
                    .input
                    .view
                    .resolve(path, true)
                    .ok()
                    .and_then(|r| facts.layer_of(r.node));
                out.push(Finding {
                    path: Some(path.clone()),
                    layer,
                    ..Finding::new(
                        "arch-mismatch",
                        format!(
                            "{name}, needed by {needed_by}, loads from {path}, which {reason}: \
                             the loader stops there instead of searching on"
                        ),
                    )
                    .details(json!({ "library": name, "needed_by": needed_by }))
                });
            }
        }
    }
}
