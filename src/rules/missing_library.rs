//! `missing-library`: a DT_NEEDED library that the loader's search does not find.

use serde_json::json;

use super::{Finding, PlatformFacts};
use crate::loader::LoadProblem;

/// How many programs a finding names in its details.
const PROGRAMS: usize = 10;

pub fn check(facts: &PlatformFacts<'_>, out: &mut Vec<Finding>) {
    let problems = facts.unique_problems(|p| match p {
        LoadProblem::MissingLibrary {
            name, needed_by, ..
        } => Some((needed_by.clone(), name.clone())),
        _ => None,
    });
    for (p, programs) in problems {
        let LoadProblem::MissingLibrary {
            name,
            needed_by,
            searched,
            skipped,
        } = p
        else {
            continue;
        };
        let via = if programs.iter().any(|p| p == needed_by) {
            String::new()
        } else {
            format!(" (loaded by {})", programs[0])
        };
        out.push(Finding {
            path: Some(needed_by.clone()),
            layer: facts.layer_of_path(needed_by),
            ..Finding::new(
                "missing-library",
                format!(
                    "{needed_by}{via} needs {name}, which the loader does not find: \
                     `cannot open shared object file`"
                ),
            )
            .details(json!({
                "library": name,
                "searched": searched,
                "skipped": skipped,
                "programs": programs.iter().take(PROGRAMS).collect::<Vec<_>>(),
            }))
        });
    }
}
