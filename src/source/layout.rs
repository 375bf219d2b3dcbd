//! What all OCI image layouts share, wherever they are stored: reading
//! `index.json`, choosing the image, walking nested indexes down to
//! manifests and configs (each verified against its digest), and opening
//! layer blobs as verified streams.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use super::digest::Digest;
use super::files::{Files, read_capped};
use super::manifest::{
    ConfigFile, DOCKER_CONFIG, DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED, Descriptor, Index, Kind,
    Manifest, OCI_CONFIG, REF_NAME,
};
use super::verify::VerifyingReader;
use super::{BlobStore, ImageConfig, LayerRef, Layers, OpenOptions, PlatformImage, SourceError};
use crate::platform::Platform;

/// The largest JSON document (index, manifest, config) read: the JSON
/// document size limit, a fixed default (4 MiB; real manifests and configs
/// are a few kilobytes, the largest indexes a few hundred).
pub(crate) const MAX_DOCUMENT: u64 = 4 * 1024 * 1024;
/// How deep indexes may nest below the chosen one.
const MAX_DEPTH: usize = 8;
/// How many indexes and manifests one image may reference in all.
const MAX_NODES: usize = 4096;

pub(crate) fn invalid(reference: &str, message: impl Into<String>) -> SourceError {
    SourceError::Invalid {
        reference: reference.to_string(),
        message: message.into(),
    }
}

/// Reads a non-blob JSON file of a layout (`index.json`, `manifest.json`),
/// capped in size. `Ok(None)` when it is absent.
pub(crate) fn read_file(
    files: &dyn Files,
    reference: &str,
    path: &str,
) -> Result<Option<Vec<u8>>, SourceError> {
    let io_err = |source| SourceError::Io {
        reference: reference.to_string(),
        what: path.to_string(),
        source,
    };
    match files.open(path).map_err(io_err)? {
        None => Ok(None),
        Some((reader, _)) => read_capped(reader, MAX_DOCUMENT).map(Some).map_err(io_err),
    }
}

/// Parses JSON, naming what was parsed in the error.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(
    reference: &str,
    what: &str,
    bytes: &[u8],
) -> Result<T, SourceError> {
    serde_json::from_slice(bytes)
        .map_err(|e| invalid(reference, format!("{what}: invalid JSON: {e}")))
}

/// Reads the blob `digest` whole, checking its size and sha256.
pub(crate) fn read_document(
    files: &dyn Files,
    reference: &str,
    what: &str,
    digest: &Digest,
    size: Option<u64>,
) -> Result<Vec<u8>, SourceError> {
    let full_what = format!("{what} {digest}");
    if let Some(size) = size
        && size > MAX_DOCUMENT
    {
        return Err(invalid(
            reference,
            format!(
                "{full_what}: declared size {size} exceeds the JSON document size limit \
                 ({MAX_DOCUMENT} bytes)"
            ),
        ));
    }
    let io_err = |source| SourceError::Io {
        reference: reference.to_string(),
        what: full_what.clone(),
        source,
    };
    let Some((reader, _)) = files.open(&digest.blob_path()).map_err(io_err)? else {
        return Err(SourceError::MissingBlob {
            reference: reference.to_string(),
            digest: format!("{digest} ({what})"),
        });
    };
    let bytes = read_capped(reader, MAX_DOCUMENT).map_err(io_err)?;
    check_bytes(reference, what, digest, size, &bytes)?;
    Ok(bytes)
}

/// Checks a whole document against its descriptor.
pub(crate) fn check_bytes(
    reference: &str,
    what: &str,
    digest: &Digest,
    size: Option<u64>,
    bytes: &[u8],
) -> Result<(), SourceError> {
    let actual = Digest::of_bytes(bytes);
    if &actual != digest {
        return Err(SourceError::DigestMismatch {
            reference: reference.to_string(),
            what: what.to_string(),
            digest: digest.to_string(),
            actual: actual.to_string(),
        });
    }
    if let Some(size) = size
        && size != bytes.len() as u64
    {
        return Err(invalid(
            reference,
            format!(
                "{what} {digest}: {} bytes, the descriptor says {size}",
                bytes.len()
            ),
        ));
    }
    Ok(())
}

/// Which image of a layout to open.
pub(crate) enum Root<'a> {
    /// One entry of `index.json`: an index or a manifest.
    Entry(&'a Descriptor),
    /// `index.json` itself, whose entries are manifests of distinct platforms.
    Platforms(Vec<&'a Descriptor>, Digest),
}

/// The parsed `index.json` of a layout.
pub(crate) struct TopIndex {
    pub bytes: Vec<u8>,
    pub entries: Vec<Descriptor>,
}

impl TopIndex {
    /// Reads `index.json`; an error when it is absent or not an index.
    pub(crate) fn read(files: &dyn Files, reference: &str) -> Result<TopIndex, SourceError> {
        let Some(bytes) = read_file(files, reference, "index.json")? else {
            return Err(invalid(
                reference,
                "index.json is missing: not an OCI image layout",
            ));
        };
        let index: Index = parse_json(reference, "index.json", &bytes)?;
        let entries = index
            .manifests
            .unwrap_or_default()
            .into_iter()
            .filter(|d| !d.is_attestation())
            .collect();
        Ok(TopIndex { bytes, entries })
    }

    /// Chooses the image: by `tag` when given, else the only entry, else
    /// the whole index when its entries are manifests of distinct platforms.
    pub(crate) fn select(
        &self,
        reference: &str,
        tag: Option<&str>,
    ) -> Result<Root<'_>, SourceError> {
        let chosen: Vec<&Descriptor> = match tag {
            Some(tag) => self
                .entries
                .iter()
                .filter(|d| d.annotation(REF_NAME) == Some(tag))
                .collect(),
            None => self.entries.iter().collect(),
        };
        match chosen.as_slice() {
            [] => Err(invalid(
                reference,
                match tag {
                    Some(tag) => format!(
                        "index.json: no image is tagged {tag:?}; {}",
                        self.available()
                    ),
                    None => "index.json lists no images".to_string(),
                },
            )),
            [one] => Ok(Root::Entry(one)),
            several if distinct_platform_manifests(several) => Ok(Root::Platforms(
                several.to_vec(),
                Digest::of_bytes(&self.bytes),
            )),
            _ => Err(invalid(
                reference,
                match tag {
                    Some(tag) => format!("index.json: several images are tagged {tag:?}"),
                    None => format!(
                        "index.json holds several images; choose one with :TAG ({})",
                        self.available()
                    ),
                },
            )),
        }
    }

    fn available(&self) -> String {
        let mut tags: Vec<&str> = self
            .entries
            .iter()
            .filter_map(|d| d.annotation(REF_NAME))
            .collect();
        tags.sort_unstable();
        tags.dedup();
        let untagged = self
            .entries
            .iter()
            .filter(|d| d.annotation(REF_NAME).is_none())
            .count();
        let mut text = if tags.is_empty() {
            "no tags available".to_string()
        } else {
            format!("available tags: {}", tags.join(", "))
        };
        if untagged > 0 {
            text.push_str(&format!(" ({untagged} untagged)"));
        }
        text
    }
}

fn distinct_platform_manifests(entries: &[&Descriptor]) -> bool {
    let mut seen: Vec<Platform> = Vec::new();
    for d in entries {
        if d.media_type.as_deref().and_then(Kind::of) != Some(Kind::Manifest) {
            return false;
        }
        let Some(p) = d.platform() else {
            return false;
        };
        if seen.contains(&p) {
            return false;
        }
        seen.push(p);
    }
    true
}

/// An image resolved down to its platform manifests.
pub(crate) struct Resolved {
    pub digest: String,
    pub platforms: Vec<PlatformImage>,
    /// The size each layer descriptor declares, by digest.
    pub sizes: HashMap<Digest, u64>,
}

/// Walks indexes and manifests from a root.
pub(crate) struct Resolver<'a> {
    files: &'a dyn Files,
    reference: &'a str,
    options: &'a OpenOptions,
    stack: Vec<Digest>,
    nodes: usize,
    platforms: Vec<PlatformImage>,
    sizes: HashMap<Digest, u64>,
    /// Off only in tests that need a document whose digest cannot match.
    verify: bool,
}

impl<'a> Resolver<'a> {
    pub(crate) fn new(files: &'a dyn Files, reference: &'a str, options: &'a OpenOptions) -> Self {
        Resolver {
            files,
            reference,
            options,
            stack: Vec::new(),
            nodes: 0,
            platforms: Vec::new(),
            sizes: HashMap::new(),
            verify: true,
        }
    }

    pub(crate) fn resolve(mut self, root: Root<'_>) -> Result<Resolved, SourceError> {
        let digest = match root {
            Root::Entry(d) => {
                let digest = self.parse_digest(&d.digest, "index.json entry")?;
                self.descriptor(d, &digest, "index.json")?;
                digest
            }
            Root::Platforms(entries, digest) => {
                for d in entries {
                    let entry = self.parse_digest(&d.digest, "index.json entry")?;
                    self.descriptor(d, &entry, "index.json")?;
                }
                digest
            }
        };
        if self.platforms.is_empty() {
            return Err(invalid(
                self.reference,
                format!("{digest} holds no image manifests (only artifacts or attestations)"),
            ));
        }
        Ok(Resolved {
            digest: digest.to_string(),
            platforms: self.platforms,
            sizes: self.sizes,
        })
    }

    fn parse_digest(&self, digest: &str, what: &str) -> Result<Digest, SourceError> {
        Digest::parse(digest).map_err(|e| invalid(self.reference, format!("{what}: {e}")))
    }

    fn read(&self, what: &str, digest: &Digest, size: Option<u64>) -> Result<Vec<u8>, SourceError> {
        if self.verify {
            return read_document(self.files, self.reference, what, digest, size);
        }
        let Some((reader, _)) = self.files.open(&digest.blob_path()).ok().flatten() else {
            return Err(SourceError::MissingBlob {
                reference: self.reference.to_string(),
                digest: digest.to_string(),
            });
        };
        read_capped(reader, MAX_DOCUMENT).map_err(|source| SourceError::Io {
            reference: self.reference.to_string(),
            what: format!("{what} {digest}"),
            source,
        })
    }

    /// Follows one descriptor found in `parent`.
    fn descriptor(
        &mut self,
        d: &Descriptor,
        digest: &Digest,
        parent: &str,
    ) -> Result<(), SourceError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(invalid(
                self.reference,
                format!("more than {MAX_NODES} indexes and manifests"),
            ));
        }
        let kind = match d.media_type.as_deref() {
            Some(t) => match Kind::of(t) {
                Some(kind) => Some(kind),
                None if t == DOCKER_SCHEMA1 || t == DOCKER_SCHEMA1_SIGNED => {
                    return Err(invalid(
                        self.reference,
                        format!("manifest {digest}: Docker schema 1 manifests are not supported"),
                    ));
                }
                None => {
                    return Err(invalid(
                        self.reference,
                        format!("{parent}: entry {digest} has unsupported media type {t:?}"),
                    ));
                }
            },
            None => None,
        };
        match kind {
            Some(Kind::Index) => self.index(digest, d.size),
            Some(Kind::Manifest) => self.manifest(digest, d.size, d.platform()),
            None => {
                // No media type in the descriptor: decide by the document.
                let bytes = self.read("manifest", digest, d.size)?;
                let doc: serde_json::Value =
                    parse_json(self.reference, &format!("manifest {digest}"), &bytes)?;
                if doc.get("manifests").is_some() {
                    self.index(digest, d.size)
                } else {
                    self.manifest_bytes(digest, &bytes, d.platform())
                }
            }
        }
    }

    fn index(&mut self, digest: &Digest, size: Option<u64>) -> Result<(), SourceError> {
        if self.stack.contains(digest) {
            return Err(invalid(
                self.reference,
                format!("index {digest} contains itself (a cycle of nested indexes)"),
            ));
        }
        if self.stack.len() >= MAX_DEPTH {
            return Err(invalid(
                self.reference,
                format!("index {digest}: indexes nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        let what = format!("index {digest}");
        let bytes = self.read("index", digest, size)?;
        let index: Index = parse_json(self.reference, &what, &bytes)?;
        if let Some(t) = index.media_type.as_deref()
            && Kind::of(t) != Some(Kind::Index)
        {
            return Err(invalid(
                self.reference,
                format!("{what}: declared as an index but its media type is {t:?}"),
            ));
        }
        self.stack.push(digest.clone());
        for entry in index.manifests.unwrap_or_default() {
            if entry.is_attestation() {
                continue;
            }
            let child = self.parse_digest(&entry.digest, &format!("{what}: entry"))?;
            self.descriptor(&entry, &child, &what)?;
        }
        self.stack.pop();
        Ok(())
    }

    fn manifest(
        &mut self,
        digest: &Digest,
        size: Option<u64>,
        index_platform: Option<Platform>,
    ) -> Result<(), SourceError> {
        let bytes = self.read("manifest", digest, size)?;
        self.manifest_bytes(digest, &bytes, index_platform)
    }

    fn manifest_bytes(
        &mut self,
        digest: &Digest,
        bytes: &[u8],
        index_platform: Option<Platform>,
    ) -> Result<(), SourceError> {
        let what = format!("manifest {digest}");
        let manifest: Manifest = parse_json(self.reference, &what, bytes)?;
        if manifest.schema_version == Some(1) {
            return Err(invalid(
                self.reference,
                format!("{what}: Docker schema 1 manifests are not supported"),
            ));
        }
        if let Some(t) = manifest.media_type.as_deref()
            && Kind::of(t) != Some(Kind::Manifest)
        {
            return Err(invalid(
                self.reference,
                format!("{what}: declared as a manifest but its media type is {t:?}"),
            ));
        }
        // Artifacts (signatures, SBOMs) stored as manifests are not images.
        if let Some(t) = manifest.config.media_type.as_deref()
            && t != OCI_CONFIG
            && t != DOCKER_CONFIG
        {
            return Ok(());
        }
        let config_digest =
            self.parse_digest(&manifest.config.digest, &format!("{what}: config"))?;
        let config_bytes = self.read("config", &config_digest, manifest.config.size)?;
        let config: ConfigFile = parse_json(
            self.reference,
            &format!("config {config_digest}"),
            &config_bytes,
        )?;
        let config = config.image_config();
        let mut layers = Vec::new();
        for (i, layer) in manifest.layers.unwrap_or_default().iter().enumerate() {
            let layer_digest = self.parse_digest(&layer.digest, &format!("{what}: layer {i}"))?;
            if let Some(size) = layer.size {
                match self.sizes.get(&layer_digest) {
                    Some(known) if *known != size => {
                        return Err(invalid(
                            self.reference,
                            format!(
                                "{what}: layer {layer_digest} is declared with sizes {known} and {size}"
                            ),
                        ));
                    }
                    _ => {
                        self.sizes.insert(layer_digest.clone(), size);
                    }
                }
            }
            layers.push(LayerRef {
                digest: layer_digest.to_string(),
                media_type: layer.media_type.clone().unwrap_or_default(),
                size: layer.size,
            });
        }
        let platform = choose_platform(
            self.reference,
            &what,
            index_platform.as_ref(),
            &config,
            self.options,
        )?;
        self.platforms.push(PlatformImage {
            platform,
            index_platform,
            manifest_digest: digest.to_string(),
            config,
            layers: Layers::Blobs(layers),
        });
        Ok(())
    }
}

/// The platform of an image: the index entry's, else the config's, else the
/// one the user asked for.
pub(crate) fn choose_platform(
    reference: &str,
    what: &str,
    index_platform: Option<&Platform>,
    config: &ImageConfig,
    options: &OpenOptions,
) -> Result<Platform, SourceError> {
    index_platform
        .cloned()
        .or_else(|| config.platform())
        .or_else(|| options.platform.clone())
        .ok_or_else(|| {
            invalid(
                reference,
                format!(
                    "{what}: neither the index nor the config names a platform; pass --platform"
                ),
            )
        })
}

/// Blobs of a layout, opened as verified streams.
pub(crate) struct LayoutBlobs {
    pub reference: String,
    pub files: Arc<dyn Files>,
    /// Expected sizes by digest, from the descriptors.
    pub sizes: HashMap<Digest, u64>,
    /// Blobs stored somewhere other than `blobs/sha256/HEX`.
    pub paths: HashMap<Digest, String>,
}

impl BlobStore for LayoutBlobs {
    fn open_blob(&self, digest: &str) -> Result<Box<dyn Read + Send + '_>, SourceError> {
        let d =
            Digest::parse(digest).map_err(|e| invalid(&self.reference, format!("blob: {e}")))?;
        let path = self.paths.get(&d).cloned().unwrap_or_else(|| d.blob_path());
        let opened = self.files.open(&path).map_err(|source| SourceError::Io {
            reference: self.reference.clone(),
            what: format!("blob {d}"),
            source,
        })?;
        let Some((reader, actual)) = opened else {
            return Err(SourceError::MissingBlob {
                reference: self.reference.clone(),
                digest: d.to_string(),
            });
        };
        let expected = self.sizes.get(&d).copied();
        if let Some(size) = expected
            && size != actual
        {
            return Err(invalid(
                &self.reference,
                format!("blob {d}: {actual} bytes, the manifest says {size}"),
            ));
        }
        Ok(Box::new(VerifyingReader::new(
            reader,
            d,
            Some(expected.unwrap_or(actual)),
        )))
    }
}

#[cfg(test)]
impl<'a> Resolver<'a> {
    pub(crate) fn without_verification(mut self) -> Self {
        self.verify = false;
        self
    }
}
