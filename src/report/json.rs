//! `--format json`: the documented wire format (`schema_version` 1).
//!
//! ```text
//! {"schema_version": 1, "tool": {"name": "elfgate", "version": "..."},
//!  "images": [{"reference", "digest", "platforms": [{"platform", "manifest_digest",
//!              "libc", "files", "elf_files"}],
//!              "findings": [{"rule", "severity", "platform", "path", "layer",
//!                            "message", "details"}]}],
//!  "summary": {"error", "warning", "info"}}
//! ```
//! With `--inventory`, each platform also has `"inventory": {"glibc_version",
//! "musl_version", "files": [{"path", "layer", "machine", "class", "linkage",
//! "interpreter", "needed", "libc", "soname", "go", "rustc", "compilers",
//! "isa_level", "auditable_dependencies"}]}` (see `report::InventoryRecord`;
//! fields that do not apply are null or empty); without it the key is absent.
//! `platform` is null only for findings about the image as a whole, `path` for
//! image- and platform-level findings, `layer` where no blob brought the file
//! (`dir:` roots, platform-level findings). `details` is an object, or null.
//! Within schema version 1 fields are only ever added.

use serde_json::json;

use super::Report;

pub fn render_json(report: &Report) -> String {
    let doc = json!({
        "schema_version": 1,
        "tool": {"name": "elfgate", "version": env!("CARGO_PKG_VERSION")},
        "images": report.images,
        "summary": report.summary(),
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
