//! `arm-float-abi`: a soft-float ARM program (interpreter `/lib/ld-linux.so.3`,
//! `/lib/ld-musl-arm.so.1`) in a hard-float image, or the reverse. The loader
//! it names is missing and the image has the other float ABI's loader of the
//! same libc: this names the cause, and replaces `missing-interpreter`.

use serde_json::json;

use super::{Finding, PlatformFacts};
use crate::loader::LoadProblem;

const SOFT: &[&str] = &["/lib/ld-linux.so.3", "/lib/ld-musl-arm.so.1"];
const HARD: &[&str] = &["/lib/ld-linux-armhf.so.3", "/lib/ld-musl-armhf.so.1"];

/// The other float ABI's loader of the same libc, when `interpreter` is an
/// ARM loader and the image has that other one.
pub fn other_float_loader(facts: &PlatformFacts<'_>, interpreter: &str) -> Option<&'static str> {
    let (own, other) = if let Some(i) = SOFT.iter().position(|p| *p == interpreter) {
        (i, HARD)
    } else if let Some(i) = HARD.iter().position(|p| *p == interpreter) {
        (i, SOFT)
    } else {
        return None;
    };
    let candidate = other[own];
    facts
        .input
        .view
        .resolve(candidate, true)
        .is_ok()
        .then_some(candidate)
}

fn abi(interpreter: &str) -> &'static str {
    if SOFT.contains(&interpreter) {
        "soft-float (armel)"
    } else {
        "hard-float (armhf)"
    }
}

pub fn check(facts: &PlatformFacts<'_>, out: &mut Vec<Finding>) {
    for elf in &facts.elves {
        let Some(load) = &elf.load else { continue };
        let Some(LoadProblem::MissingInterpreter { interpreter }) = load.problems.first() else {
            continue;
        };
        let Some(other) = other_float_loader(facts, interpreter) else {
            continue;
        };
        out.push(
            facts.at(
                elf,
                Finding::new(
                    "arm-float-abi",
                    format!(
                        "{} is built for {} (interpreter {interpreter}), but the image is {} \
                         ({other}): running it fails with `not found`",
                        elf.path,
                        abi(interpreter),
                        abi(other)
                    ),
                )
                .details(json!({
                    "interpreter": interpreter,
                    "image_loader": other,
                    "e_flags_float": elf.facts.arm_float_abi(),
                })),
            ),
        );
    }
}
