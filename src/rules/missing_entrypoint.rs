//! `missing-entrypoint`: the config's Entrypoint/Cmd cannot be executed.

use serde_json::json;

use super::{Finding, PlatformFacts};
use crate::fs::NodeKind;
use crate::layers::Content;

pub fn check(facts: &PlatformFacts<'_>, out: &mut Vec<Finding>) {
    let Some(entry) = &facts.entrypoint else {
        return;
    };
    let argv0 = entry.argv.first().map(String::as_str).unwrap_or("");
    let (path, message) = match &entry.resolved {
        Err(why) => (
            argv0.to_string(),
            format!("the entrypoint {argv0} cannot be executed: {why}"),
        ),
        Ok(path) => {
            let Ok(r) = facts.input.view.resolve(path, true) else {
                return;
            };
            match &r.node.content {
                Content::None | Content::Config(_) if r.node.kind == NodeKind::File => (
                    path.clone(),
                    format!(
                        "the entrypoint {argv0} ({path}) is neither an ELF program nor a `#!` \
                         script: exec format error"
                    ),
                ),
                _ => return,
            }
        }
    };
    // The layer that brought what is there instead (a file without the
    // execute bit, a directory), when something is.
    let layer = entry
        .searched
        .iter()
        .find_map(|candidate| facts.layer_of_path(candidate));
    out.push(Finding {
        path: Some(path),
        layer,
        ..Finding::new("missing-entrypoint", message).details(json!({
            "argv": entry.argv,
            "searched": entry.searched,
            "PATH": facts.env.path,
        }))
    });
}
