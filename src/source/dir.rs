//! `dir:ROOTFS`: a root filesystem directory, read as one layer.

use std::io::Read;
use std::path::Path;

use super::layout::invalid;
use super::{BlobStore, Image, ImageConfig, Layers, OpenOptions, PlatformImage, SourceError};

pub(crate) fn open_rootfs(
    reference: &str,
    root: &Path,
    options: &OpenOptions,
) -> Result<Image, SourceError> {
    if !root.is_dir() {
        return Err(invalid(
            reference,
            format!("{} is not a directory", root.display()),
        ));
    }
    let Some(platform) = options.platform.clone() else {
        return Err(invalid(reference, "dir: needs --platform"));
    };
    Ok(Image {
        reference: reference.to_string(),
        digest: String::new(),
        platforms: vec![PlatformImage {
            platform,
            index_platform: None,
            manifest_digest: String::new(),
            config: ImageConfig::default(),
            layers: Layers::Directory(root.to_path_buf()),
        }],
        blobs: Box::new(NoBlobs {
            reference: reference.to_string(),
        }),
    })
}

/// A root filesystem has no blobs.
struct NoBlobs {
    reference: String,
}

impl BlobStore for NoBlobs {
    fn open_blob(&self, digest: &str) -> Result<Box<dyn Read + Send + '_>, SourceError> {
        Err(SourceError::MissingBlob {
            reference: self.reference.clone(),
            digest: digest.to_string(),
        })
    }
}
