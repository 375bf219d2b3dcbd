//! `missing-interpreter`: PT_INTERP names a loader that is not in the image,
//! and the image has no loader of the other libc either (that case is
//! `libc-mismatch`).

use serde_json::json;

use super::{Finding, PlatformFacts};
use crate::loader::{Libc, LoadProblem};

pub fn check(facts: &PlatformFacts<'_>, out: &mut Vec<Finding>) {
    for elf in &facts.elves {
        for p in elf.load.iter().flat_map(|l| &l.problems) {
            let message = match p {
                LoadProblem::MissingInterpreter { interpreter }
                    if other_libc_loader(facts, interpreter).is_none()
                        && super::arm_float_abi::other_float_loader(facts, interpreter)
                            .is_none() =>
                {
                    format!(
                        "{} needs the interpreter {interpreter}, which is not in the image: \
                         running it fails with `not found`",
                        elf.path
                    )
                }
                LoadProblem::BadInterpreter {
                    interpreter,
                    reason,
                } => format!(
                    "{} names the interpreter {interpreter}, which {reason}",
                    elf.path
                ),
                _ => continue,
            };
            out.push(
                facts.at(
                    elf,
                    Finding::new("missing-interpreter", message)
                        .details(json!({ "interpreter": elf.facts.interpreter })),
                ),
            );
        }
    }
}

/// A loader of the other libc than the one `interpreter` belongs to, if the image has one.
pub fn other_libc_loader<'f>(
    facts: &'f PlatformFacts<'_>,
    interpreter: &str,
) -> Option<&'f (Libc, String)> {
    let wanted = Libc::of_interpreter(interpreter)?;
    facts.loaders.iter().find(|(libc, _)| *libc != wanted)
}
