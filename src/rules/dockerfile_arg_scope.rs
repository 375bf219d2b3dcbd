//! `dockerfile-arg-scope`: a platform argument used in a stage that does not declare it.

use std::collections::BTreeSet;

use serde_json::json;

use super::Finding;
use super::dockerfile_context::DockerfileInput;
use crate::dockerfile::{Instruction, shell};

/// The automatic platform arguments, defined in the global scope only.
const PLATFORM_ARGS: &[&str] = &[
    "TARGETPLATFORM",
    "TARGETOS",
    "TARGETARCH",
    "TARGETVARIANT",
    "BUILDPLATFORM",
    "BUILDOS",
    "BUILDARCH",
    "BUILDVARIANT",
];

pub(super) fn check(input: &DockerfileInput<'_>, out: &mut Vec<Finding>) {
    let df = input.dockerfile;
    for stage in &df.stages {
        // Declarations of the stages this one is built on are inherited.
        let mut declared = BTreeSet::new();
        for a in df.ancestry(stage.index).into_iter().skip(1) {
            for ins in &df.stages[a].instructions {
                declared.extend(declares(ins));
            }
        }
        let mut reported = BTreeSet::new();
        for ins in &stage.instructions {
            for (_, name) in shell::var_uses(&ins.full_text()) {
                if PLATFORM_ARGS.contains(&name.as_str())
                    && !declared.contains(&name)
                    && reported.insert(name.clone())
                {
                    let line = use_line(ins, &name);
                    out.push(input.finding(
                        "dockerfile-arg-scope",
                        line,
                        format!(
                            "${name} is used in stage {} without `ARG {name}` in the stage: \
                             it expands to an empty string",
                            stage.name.clone().unwrap_or_else(|| stage.index.to_string())
                        ),
                        json!({"stage": stage.index, "argument": name, "instruction": ins.keyword}),
                    ));
                }
            }
            declared.extend(declares(ins));
        }
    }
}

/// Names an `ARG` or `ENV` instruction makes available to later ones.
fn declares(ins: &Instruction) -> Vec<String> {
    match ins.keyword.as_str() {
        "ARG" => crate::dockerfile::arg_decls(ins)
            .into_iter()
            .map(|a| a.name)
            .collect(),
        "ENV" => crate::dockerfile::env_pairs(ins)
            .into_iter()
            .map(|(k, _)| k)
            .collect(),
        _ => Vec::new(),
    }
}

/// The line of the first heredoc line that uses `name`, else the instruction's.
fn use_line(ins: &Instruction, name: &str) -> u32 {
    let mut head = ins.args.text();
    for f in &ins.flags {
        head.push(' ');
        head.push_str(f.value.as_deref().unwrap_or(""));
    }
    if shell::var_uses(&head).iter().any(|(_, n)| n == name) {
        return ins.line;
    }
    for h in &ins.heredocs {
        for (k, l) in h.body.lines().enumerate() {
            if shell::var_uses(l).iter().any(|(_, n)| n == name) {
                return h.line.saturating_add(u32::try_from(k).unwrap_or(0));
            }
        }
    }
    ins.line
}
