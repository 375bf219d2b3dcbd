//! `aarch32-binary`: a 32-bit ARM executable or library in an arm64 image.
//! The kernel runs it only where the CPU has AArch32 at EL0, and many arm64
//! server cores (Graviton 3 and later among them) have not.

use serde_json::json;

use super::{Finding, PlatformFacts};
use crate::elf::{Class, FileType, machine};

pub fn check(facts: &PlatformFacts<'_>, out: &mut Vec<Finding>) {
    if facts.input.platform.arch != "arm64" {
        return;
    }
    for elf in &facts.elves {
        let f = elf.facts;
        if !elf.active
            || f.machine != machine::EM_ARM
            || f.class != Class::Elf32
            || f.file_type == FileType::Relocatable
        {
            continue;
        }
        let what = if f.file_type == FileType::Executable || f.interpreter.is_some() {
            "executable"
        } else {
            "library"
        };
        out.push(
            facts.at(
                elf,
                Finding::new(
                    "aarch32-binary",
                    format!(
                        "{} is a 32-bit ARM {what} in an arm64 image: it fails with `exec format \
                         error` on CPUs without AArch32 (Graviton 3 and later, many server cores)",
                        elf.path
                    ),
                )
                .details(json!({
                    "kind": what,
                    "float_abi": f.arm_float_abi(),
                    "cpu_arch": f.toolchain.arm.as_ref().and_then(|a| a.arch_name()),
                })),
            ),
        );
    }
}
