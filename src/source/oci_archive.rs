//! `oci-archive:FILE[:TAG]`: an OCI image layout inside a tar archive, read
//! in place.

use std::path::Path;
use std::sync::Arc;

use super::files::{TarError, TarFiles};
use super::layout::invalid;
use super::oci::open_layout;
use super::{Image, OpenOptions, SourceError};

pub(crate) fn open_archive(
    reference: &str,
    file: &Path,
    tag: Option<&str>,
    options: &OpenOptions,
) -> Result<Image, SourceError> {
    let tar = scan(reference, file)?;
    open_tar(reference, tar, tag, options)
}

pub(crate) fn open_tar(
    reference: &str,
    tar: TarFiles,
    tag: Option<&str>,
    options: &OpenOptions,
) -> Result<Image, SourceError> {
    open_layout(reference, Arc::new(tar), tag, options)
}

/// Indexes a tar archive, with errors that name the reference.
pub(crate) fn scan(reference: &str, file: &Path) -> Result<TarFiles, SourceError> {
    TarFiles::scan(file).map_err(|e| match e {
        TarError::Compressed(method) => invalid(
            reference,
            format!(
                "{} is {method}-compressed; elfgate reads uncompressed tar archives only \
                 (decompress it first)",
                file.display()
            ),
        ),
        TarError::Io(source) => SourceError::Io {
            reference: reference.to_string(),
            what: format!("tar archive {}", file.display()),
            source,
        },
    })
}
