//! An OCI layout held in memory: for fuzzing the walk from `index.json`
//! through indexes, manifests and configs without a filesystem.

use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;

use super::files::{Files, Opened};
use super::{Image, OpenOptions, SourceError};

struct MemoryFiles(BTreeMap<String, Vec<u8>>);

impl Files for MemoryFiles {
    fn open(&self, path: &str) -> io::Result<Option<Opened<'_>>> {
        Ok(self.0.get(path).map(|bytes| {
            (
                Box::new(&bytes[..]) as Box<dyn io::Read + Send>,
                bytes.len() as u64,
            )
        }))
    }
}

/// Opens the layout whose files (`index.json`, `blobs/sha256/HEX`, ...) are
/// `files`, as `oci:` would open a directory holding them.
#[doc(hidden)]
pub fn open_layout_in_memory(
    reference: &str,
    files: BTreeMap<String, Vec<u8>>,
    tag: Option<&str>,
    options: &OpenOptions,
) -> Result<Image, SourceError> {
    super::oci::open_layout(reference, Arc::new(MemoryFiles(files)), tag, options)
}
