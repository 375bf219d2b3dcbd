//! IMAGE argument → an index of platform images, and a way to open each layer
//! blob as a verified byte stream.
//!
//! Transports follow skopeo's names: `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`,
//! `docker-archive:FILE`, `dir:ROOTFS`; a bare path is detected by what it holds.
//! Every manifest, config and layer is checked against its sha256 digest.

mod digest;
mod dir;
mod docker_archive;
mod files;
mod layout;
mod manifest;
mod memory;
mod oci;
mod oci_archive;
mod open;
mod reference;
mod registry;
mod verify;

pub use digest::Digest;
#[doc(hidden)]
pub use memory::open_layout_in_memory;
pub use open::open;
pub use registry::{Credentials, RegistryOptions, RegistrySettings};
pub use verify::VerifyingReader;

use std::io::Read;
use std::path::PathBuf;

use crate::platform::Platform;

/// The parts of an image config that matter here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageConfig {
    pub os: Option<String>,
    pub architecture: Option<String>,
    pub variant: Option<String>,
    /// `Env` entries, `KEY=VALUE`.
    pub env: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub working_dir: Option<String>,
}

impl ImageConfig {
    /// The value of `key` in `Env`.
    pub fn env_var(&self, key: &str) -> Option<&str> {
        self.env.iter().find_map(|kv| {
            kv.split_once('=')
                .filter(|(k, _)| *k == key)
                .map(|(_, v)| v)
        })
    }

    /// The platform the config claims, when it names an architecture.
    pub fn platform(&self) -> Option<Platform> {
        let arch = self.architecture.as_deref()?;
        Some(Platform::new(
            self.os.as_deref().unwrap_or("linux"),
            arch,
            self.variant.as_deref(),
        ))
    }
}

/// One layer of a platform image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayerRef {
    /// `sha256:...`
    pub digest: String,
    pub media_type: String,
    pub size: Option<u64>,
}

/// How the layers of a platform image are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layers {
    /// Blobs, bottom first, opened through [`Image::open_blob`].
    Blobs(Vec<LayerRef>),
    /// A root filesystem directory (`dir:`), read as one layer.
    Directory(PathBuf),
}

/// One platform of an image.
#[derive(Debug, Clone)]
pub struct PlatformImage {
    /// The platform: from the index entry, else from the config, else `--platform`.
    pub platform: Platform,
    /// The platform the index entry declares, when there is an index.
    pub index_platform: Option<Platform>,
    /// `sha256:...` of the manifest, or empty for `dir:`.
    pub manifest_digest: String,
    pub config: ImageConfig,
    pub layers: Layers,
}

/// An image opened from a transport.
pub struct Image {
    /// The reference the user gave, as given.
    pub reference: String,
    /// Digest of the top-level index or manifest (empty for `dir:`).
    pub digest: String,
    pub platforms: Vec<PlatformImage>,
    /// Where blobs come from.
    pub blobs: Box<dyn BlobStore>,
}

/// Opens blobs by digest as streams whose sha256 is verified as they are read:
/// a mismatch or a short read surfaces as an `io::Error` at the end of the stream.
pub trait BlobStore: Send + Sync {
    fn open_blob(&self, digest: &str) -> Result<Box<dyn Read + Send + '_>, SourceError>;
}

impl Image {
    pub fn open_blob(&self, digest: &str) -> Result<Box<dyn Read + Send + '_>, SourceError> {
        self.blobs.open_blob(digest)
    }
}

/// Why an image could not be opened. Messages name the image and what was read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{reference}: {message}")]
    Invalid { reference: String, message: String },
    #[error("{reference}: reading {what}: {source}")]
    Io {
        reference: String,
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{reference}: blob {digest} is missing")]
    MissingBlob { reference: String, digest: String },
    #[error("{reference}: {what} {digest} does not match its digest: sha256 is {actual}")]
    DigestMismatch {
        reference: String,
        /// What the blob is: `manifest`, `index`, `config`, `layer`.
        what: String,
        digest: String,
        actual: String,
    },
}

/// Options that shape how an image is opened.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    /// Required for `dir:`; narrows nothing here (selection happens in `scan`).
    pub platform: Option<Platform>,
    /// How registries are reached (`docker://` and bare references).
    pub registry: RegistryOptions,
    /// The platforms that will be scanned (empty: all). A registry does not
    /// fetch the manifest and config of an index entry whose declared
    /// platform is not among them: that platform image keeps only its
    /// platform (default config, no layers), which is all that checking
    /// required platforms needs.
    pub only: Vec<Platform>,
}

#[cfg(test)]
mod tests;
