//! `missing-symbol-version`: a version need (`GLIBC_2.34`) that the providing
//! library does not define. All the versions one object misses from one
//! library make one finding: they have one cause, an older library.

use std::collections::BTreeMap;

use serde_json::json;

use super::{Finding, PlatformFacts};
use crate::loader::LoadProblem;

/// For one (object, library): the provider, the versions it lacks, and the
/// programs that load the object.
type Group<'a> = (&'a str, Vec<&'a str>, Vec<&'a str>);

pub fn check(facts: &PlatformFacts<'_>, out: &mut Vec<Finding>) {
    let problems = facts.unique_problems(|p| match p {
        LoadProblem::MissingVersion {
            version,
            file,
            needed_by,
            ..
        } => Some((needed_by.clone(), file.clone(), version.clone())),
        _ => None,
    });
    let mut grouped: BTreeMap<(&str, &str), Group> = BTreeMap::new();
    for (p, programs) in &problems {
        let LoadProblem::MissingVersion {
            version,
            file,
            provider,
            needed_by,
        } = p
        else {
            continue;
        };
        let g = grouped
            .entry((needed_by.as_str(), file.as_str()))
            .or_insert((provider.as_str(), Vec::new(), Vec::new()));
        g.1.push(version);
        for prog in programs {
            if !g.2.contains(prog) {
                g.2.push(prog);
            }
        }
    }
    for ((needed_by, file), (provider, versions, programs)) in grouped {
        let first = versions[0];
        out.push(Finding {
            path: Some(needed_by.to_string()),
            layer: facts.layer_of_path(needed_by),
            ..Finding::new(
                "missing-symbol-version",
                format!(
                    "{needed_by} needs {} of {file}, which {provider} does not define: \
                     ``version `{first}' not found``",
                    versions.join(", ")
                ),
            )
            .details(json!({
                "versions": versions,
                "library": file,
                "provider": provider,
                "programs": programs.iter().take(10).collect::<Vec<_>>(),
            }))
        });
    }
}
