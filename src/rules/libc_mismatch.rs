//! `libc-mismatch`: a glibc program on a musl image or the reverse (error),
//! or a glibc program whose interpreter is only a musl compat shim (warning).

use serde_json::json;

use super::missing_interpreter::other_libc_loader;
use super::{Finding, PlatformFacts, Severity};
use crate::loader::{Libc, LoadProblem};

pub fn check(facts: &PlatformFacts<'_>, out: &mut Vec<Finding>) {
    for elf in &facts.elves {
        let Some(load) = &elf.load else { continue };
        let Some(interp) = elf.facts.interpreter.as_deref() else {
            continue;
        };
        let wanted = Libc::of_interpreter(interp);
        let finding = if let Some(LoadProblem::MissingInterpreter { .. }) = load.problems.first() {
            let Some((other, loader)) = other_libc_loader(facts, interp) else {
                continue;
            };
            Finding::new(
                "libc-mismatch",
                format!(
                    "{} is linked against {} (interpreter {interp}), but the image has {} \
                     ({loader}): running it fails with `not found`",
                    elf.path,
                    name(wanted),
                    name(Some(*other))
                ),
            )
            .details(json!({ "interpreter": interp, "image_loader": loader }))
        } else if wanted == Some(Libc::Glibc) && load.libc == Some(Libc::Musl) {
            Finding::new(
                "libc-mismatch",
                format!(
                    "{} is linked against glibc, and its interpreter {interp} is a musl compat \
                     shim ({}): it starts, then fails on versioned or fortified glibc symbols",
                    elf.path,
                    load.interpreter.as_deref().unwrap_or("?")
                ),
            )
            .severity(Severity::Warning)
            .details(json!({ "interpreter": interp, "resolved": load.interpreter }))
        } else {
            continue;
        };
        out.push(facts.at(elf, finding));
    }
}

fn name(libc: Option<Libc>) -> &'static str {
    match libc {
        Some(Libc::Glibc) => "glibc",
        Some(Libc::Musl) => "musl",
        None => "an unknown libc",
    }
}
