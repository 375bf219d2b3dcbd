//! `unreadable-elf`: a file with the ELF magic that could not be checked.

use serde_json::json;

use super::{Finding, PlatformFacts};
use crate::fs::NodeKind;
use crate::layers::Content;

pub fn check(facts: &PlatformFacts<'_>, out: &mut Vec<Finding>) {
    for (path, node) in facts.input.view.iter() {
        if node.kind != NodeKind::File {
            continue;
        }
        let message = match &node.content {
            Content::BadElf(e) => format!("{path} has the ELF magic but cannot be parsed: {e}"),
            Content::ElfTooLarge => format!(
                "{path} is an ELF file of {} bytes, above the size cap (--max-file-size): \
                 it was not checked",
                node.size
            ),
            _ => continue,
        };
        out.push(Finding {
            path: Some(path.to_string()),
            layer: facts.layer_of(node),
            ..Finding::new("unreadable-elf", message).details(json!({ "size": node.size }))
        });
    }
}
