//! `x86-isa-level`: an object needs a higher x86-64 level than the image's
//! amd64 variant (v1 when none is given): from its GNU property note
//! (GNU_PROPERTY_X86_ISA_1_NEEDED) or Go's `GOAMD64`. Objects under a
//! `glibc-hwcaps/x86-64-vN/` directory are loaded only on CPUs that have the
//! level and are left out. When most of the platform's x86-64 objects need
//! the same level, that is said once.

use serde_json::json;

use super::{Finding, PlatformFacts};
use crate::elf::machine;

pub fn check(facts: &PlatformFacts<'_>, out: &mut Vec<Finding>) {
    let Some(image_level) = facts.input.platform.amd64_level() else {
        return;
    };
    let mut total = 0usize;
    let mut above: Vec<(&str, u8, &'static str, Option<String>)> = Vec::new();
    for elf in &facts.elves {
        if !elf.active || elf.facts.machine != machine::EM_X86_64 {
            continue;
        }
        total += 1;
        if elf.path.contains("/glibc-hwcaps/x86-64-v") {
            continue;
        }
        let Some(level) = elf.facts.x86_isa_level() else {
            continue;
        };
        if level > image_level {
            let go = elf
                .facts
                .toolchain
                .go
                .as_ref()
                .and_then(|g| g.amd64_level())
                == Some(level);
            let source = if go { "GOAMD64" } else { "GNU property note" };
            above.push((elf.path, level, source, facts.layer_of(elf.node)));
        }
    }
    if above.is_empty() {
        return;
    }
    let wanted = format!("v{image_level}");
    let platform = facts.input.platform.to_string();
    // A distribution built for one level: most objects need it.
    let top = above.iter().map(|a| a.1).max().unwrap_or(0);
    let at_top = above.iter().filter(|a| a.1 == top).count();
    if total >= 4 && at_top * 2 > total {
        out.push(
            Finding::new(
                "x86-isa-level",
                format!(
                    "{at_top} of {total} x86-64 objects need x86-64-v{top}, but the platform is \
                     {platform} (x86-64-{wanted}): the image is built for v{top} CPUs and fails \
                     on older ones; label it linux/amd64/v{top} or rebuild for {wanted}"
                ),
            )
            .details(json!({
                "needed": top,
                "platform_level": image_level,
                "objects": at_top,
                "x86_64_objects": total,
                "examples": above.iter().filter(|a| a.1 == top).take(5).map(|a| a.0).collect::<Vec<_>>(),
            })),
        );
        return;
    }
    for (path, level, source, layer) in above {
        let symptom = if source == "GOAMD64" {
            format!(
                "Go exits with \"This program can only be run on AMD64 processors with v{level} \
                 microarchitecture support\""
            )
        } else {
            "glibc refuses it with \"CPU ISA level is lower than required\"".to_string()
        };
        out.push(Finding {
            path: Some(path.to_string()),
            layer,
            ..Finding::new(
                "x86-isa-level",
                format!(
                    "{path} needs x86-64-v{level} ({source}), above the platform's {wanted}: on an \
                     older CPU {symptom}"
                ),
            )
            .details(json!({ "needed": level, "platform_level": image_level, "source": source }))
        });
    }
}
