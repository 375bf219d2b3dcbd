//! `oci:DIR[:TAG]`: an OCI image layout in a directory.

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::Arc;

use super::files::{DirFiles, Files};
use super::layout::{LayoutBlobs, Resolved, Resolver, TopIndex};
use super::{Image, OpenOptions, SourceError};

pub(crate) fn open_dir(
    reference: &str,
    dir: &Path,
    tag: Option<&str>,
    options: &OpenOptions,
) -> Result<Image, SourceError> {
    if !dir.is_dir() {
        return Err(SourceError::Io {
            reference: reference.to_string(),
            what: format!("layout directory {}", dir.display()),
            source: io::Error::new(io::ErrorKind::NotFound, "not a directory"),
        });
    }
    open_layout(reference, Arc::new(DirFiles::new(dir)), tag, options)
}

/// Opens the image `tag` (or the only one) of a layout stored anywhere.
pub(crate) fn open_layout(
    reference: &str,
    files: Arc<dyn Files>,
    tag: Option<&str>,
    options: &OpenOptions,
) -> Result<Image, SourceError> {
    let top = TopIndex::read(&*files, reference)?;
    let root = top.select(reference, tag)?;
    let resolved = Resolver::new(&*files, reference, options).resolve(root)?;
    Ok(into_image(reference, files, resolved))
}

pub(crate) fn into_image(reference: &str, files: Arc<dyn Files>, resolved: Resolved) -> Image {
    Image {
        reference: reference.to_string(),
        digest: resolved.digest,
        platforms: resolved.platforms,
        blobs: Box::new(LayoutBlobs {
            reference: reference.to_string(),
            files,
            sizes: resolved.sizes,
            paths: HashMap::new(),
        }),
    }
}
