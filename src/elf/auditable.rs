//! cargo-auditable's `.dep-v0` section: the binary's dependency tree as
//! zlib-compressed JSON, `{"packages": [{"name", "version", "source",
//! "kind", "dependencies", "root"}, ...]}`. The decompressed size is capped
//! before anything is parsed, and every field is checked for its type.

use std::io::Read;

use serde::{Deserialize, Serialize};

/// The largest decompressed JSON read (cargo-auditable's own reader
/// defaults to 8 MiB).
pub const MAX_JSON: u64 = 8 << 20;
/// At most this many packages are kept.
const MAX_PACKAGES: usize = 20_000;

/// The packages compiled into a binary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditableDeps {
    pub packages: Vec<AuditablePackage>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditablePackage {
    pub name: String,
    pub version: String,
    /// The root package (the binary's own crate).
    pub root: bool,
}

impl AuditableDeps {
    /// Whether a package of this name is compiled in.
    pub fn has(&self, name: &str) -> bool {
        self.packages.iter().any(|p| p.name == name)
    }
}

/// Decodes `.dep-v0`; `None` when it is not valid zlib, is larger than
/// [`MAX_JSON`] decompressed, or is not the expected JSON.
pub fn decode(section: &[u8]) -> Option<AuditableDeps> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(section)
        .take(MAX_JSON + 1)
        .read_to_end(&mut json)
        .ok()?;
    if json.len() as u64 > MAX_JSON {
        return None;
    }
    let doc: serde_json::Value = serde_json::from_slice(&json).ok()?;
    let list = doc.get("packages")?.as_array()?;
    let mut packages = Vec::new();
    for p in list.iter().take(MAX_PACKAGES) {
        let name = p.get("name")?.as_str()?;
        let version = p.get("version")?.as_str()?;
        let root = p.get("root").and_then(serde_json::Value::as_bool) == Some(true);
        packages.push(AuditablePackage {
            name: name.chars().take(256).collect(),
            version: version.chars().take(256).collect(),
            root,
        });
    }
    Some(AuditableDeps { packages })
}
