//! `docker-archive:FILE[:NAME:TAG|:@N]`: `docker save` output, read in place.
//!
//! Two shapes exist. The classic one has `manifest.json` naming each image's
//! config and its layers (`ID/layer.tar`, uncompressed, checked against the
//! config's `rootfs.diff_ids`). Docker 25 and later also write an OCI layout
//! (`index.json`, `blobs/sha256/...`) into the same archive; when the chosen
//! image can be found there, the layout is used.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use super::digest::Digest;
use super::files::{Files, TarFiles, normalise};
use super::layout::{
    LayoutBlobs, Resolver, Root, TopIndex, check_bytes, choose_platform, invalid, parse_json,
    read_file,
};
use super::manifest::{
    ArchiveEntry, ConfigFile, DOCKER_LAYER_GZIP, DOCKER_LAYER_TAR, Descriptor, IMAGE_NAME,
    OCI_LAYER_ZSTD, REF_NAME,
};
use super::oci::{into_image, open_layout};
use super::oci_archive::scan;
use super::reference::{ArchiveSelector, familiar};
use super::{Image, LayerRef, Layers, OpenOptions, PlatformImage, SourceError};

pub(crate) fn open_archive(
    reference: &str,
    file: &Path,
    selector: Option<&str>,
    options: &OpenOptions,
) -> Result<Image, SourceError> {
    let tar = scan(reference, file)?;
    open_tar(reference, tar, selector, options)
}

pub(crate) fn open_tar(
    reference: &str,
    tar: TarFiles,
    selector: Option<&str>,
    options: &OpenOptions,
) -> Result<Image, SourceError> {
    let files: Arc<dyn Files> = Arc::new(tar);
    let selector = selector
        .map(|s| ArchiveSelector::parse(s).map_err(|e| invalid(reference, e)))
        .transpose()?;
    let has_index = files.has("index.json");
    let Some(manifest) = read_file(&*files, reference, "manifest.json")? else {
        if !has_index {
            return Err(invalid(
                reference,
                "manifest.json is missing: not a docker archive",
            ));
        }
        return match selector {
            None => open_layout(reference, files, None, options),
            Some(ArchiveSelector::Tag(tag)) => {
                let top = TopIndex::read(&*files, reference)?;
                let Some(entry) = named(&top, std::slice::from_ref(&tag)) else {
                    return Err(invalid(
                        reference,
                        format!("index.json: no image is named {tag}"),
                    ));
                };
                let resolved =
                    Resolver::new(&*files, reference, options).resolve(Root::Entry(entry))?;
                Ok(into_image(reference, files, resolved))
            }
            Some(ArchiveSelector::Index(_)) => Err(invalid(
                reference,
                "@N needs a manifest.json, and this archive has none",
            )),
        };
    };
    let entries: Vec<ArchiveEntry> = parse_json(reference, "manifest.json", &manifest)?;
    let entry = choose(reference, &entries, selector.as_ref())?;
    if has_index {
        let top = TopIndex::read(&*files, reference)?;
        if let Some(d) = index_entry_for(&top, entry, entries.len()) {
            let resolved = Resolver::new(&*files, reference, options).resolve(Root::Entry(d))?;
            return Ok(into_image(reference, files, resolved));
        }
    }
    classic(reference, files, entry, options)
}

fn tags_of(entry: &ArchiveEntry) -> Vec<String> {
    entry
        .repo_tags
        .iter()
        .flatten()
        .map(|t| familiar(t))
        .collect()
}

/// Picks the image of `manifest.json` the selector names.
fn choose<'a>(
    reference: &str,
    entries: &'a [ArchiveEntry],
    selector: Option<&ArchiveSelector>,
) -> Result<&'a ArchiveEntry, SourceError> {
    let available = || {
        let tags: Vec<String> = entries.iter().flat_map(tags_of).collect();
        if tags.is_empty() {
            "no tags available; use @N".to_string()
        } else {
            format!("available: {}", tags.join(", "))
        }
    };
    match selector {
        None => match entries {
            [] => Err(invalid(reference, "manifest.json lists no images")),
            [one] => Ok(one),
            several => Err(invalid(
                reference,
                format!(
                    "manifest.json lists {} images; choose one with :NAME:TAG or :@N ({})",
                    several.len(),
                    available()
                ),
            )),
        },
        Some(ArchiveSelector::Index(n)) => entries.get(*n).ok_or_else(|| {
            invalid(
                reference,
                format!(
                    "manifest.json lists {} images; @{n} is out of range",
                    entries.len()
                ),
            )
        }),
        Some(ArchiveSelector::Tag(tag)) => entries
            .iter()
            .find(|e| tags_of(e).contains(tag))
            .ok_or_else(|| {
                invalid(
                    reference,
                    format!("manifest.json: no image is tagged {tag}; {}", available()),
                )
            }),
    }
}

/// The `index.json` entry whose name is one of `tags`, when exactly one is.
fn named<'a>(top: &'a TopIndex, tags: &[String]) -> Option<&'a Descriptor> {
    let matches: Vec<&Descriptor> = top
        .entries
        .iter()
        .filter(|d| {
            d.annotation(IMAGE_NAME)
                .or_else(|| d.annotation(REF_NAME).filter(|n| n.contains(':')))
                .is_some_and(|n| tags.contains(&familiar(n)))
        })
        .collect();
    match matches.as_slice() {
        [one] => Some(one),
        _ => None,
    }
}

/// The `index.json` entry that holds the same image as `entry`, if it can be
/// told: by name, or because each file lists exactly one image.
fn index_entry_for<'a>(
    top: &'a TopIndex,
    entry: &ArchiveEntry,
    entry_count: usize,
) -> Option<&'a Descriptor> {
    named(top, &tags_of(entry)).or(match top.entries.as_slice() {
        [one] if entry_count == 1 => Some(one),
        _ => None,
    })
}

/// The digest a member's file name carries (`HEX`, `HEX.json`, `HEX.tar`).
fn digest_in_name(path: &str) -> Option<Digest> {
    let name = path.rsplit('/').next()?;
    let hex = name
        .strip_suffix(".json")
        .or_else(|| name.strip_suffix(".tar"))
        .unwrap_or(name);
    Digest::parse(&format!("sha256:{hex}")).ok()
}

/// Reads an image through `manifest.json` alone.
fn classic(
    reference: &str,
    files: Arc<dyn Files>,
    entry: &ArchiveEntry,
    options: &OpenOptions,
) -> Result<Image, SourceError> {
    let config_path = normalise(&entry.config);
    let what = format!("config {config_path}");
    let Some(bytes) = read_file(&*files, reference, &config_path)? else {
        return Err(invalid(
            reference,
            format!("{what} is missing from the archive"),
        ));
    };
    let config_digest = match digest_in_name(&config_path) {
        Some(d) => {
            check_bytes(reference, "config", &d, None, &bytes)?;
            d
        }
        None => Digest::of_bytes(&bytes),
    };
    let config_file: ConfigFile = parse_json(reference, &what, &bytes)?;
    let diff_ids = config_file
        .rootfs
        .as_ref()
        .and_then(|r| r.diff_ids.clone())
        .unwrap_or_default();
    let layer_paths = entry.layers.clone().unwrap_or_default();
    if diff_ids.len() != layer_paths.len() {
        return Err(invalid(
            reference,
            format!(
                "{what} lists {} diff_ids but manifest.json lists {} layers",
                diff_ids.len(),
                layer_paths.len()
            ),
        ));
    }
    let mut layers = Vec::new();
    let mut paths = HashMap::new();
    let mut sizes = HashMap::new();
    for (i, (path, diff_id)) in layer_paths.iter().zip(&diff_ids).enumerate() {
        let path = normalise(path);
        // An OCI blob is named by its own digest (it may be compressed);
        // a classic `layer.tar` is the uncompressed tar its diff_id names.
        let digest = match path.strip_prefix("blobs/sha256/").and_then(digest_in_name) {
            Some(d) => d,
            None => Digest::parse(diff_id)
                .map_err(|e| invalid(reference, format!("{what}: diff_id {i}: {e}")))?,
        };
        let opened = files.open(&path).map_err(|source| SourceError::Io {
            reference: reference.to_string(),
            what: format!("layer {path}"),
            source,
        })?;
        let Some((mut reader, size)) = opened else {
            return Err(SourceError::MissingBlob {
                reference: reference.to_string(),
                digest: format!("{digest} (layer {path})"),
            });
        };
        let mut magic = [0u8; 4];
        let n = reader.read(&mut magic).unwrap_or(0);
        let media_type = if magic[..n].starts_with(&[0x1f, 0x8b]) {
            DOCKER_LAYER_GZIP
        } else if n == 4 && magic == [0x28, 0xb5, 0x2f, 0xfd] {
            OCI_LAYER_ZSTD
        } else {
            DOCKER_LAYER_TAR
        };
        layers.push(LayerRef {
            digest: digest.to_string(),
            media_type: media_type.to_string(),
            size: Some(size),
        });
        paths.insert(digest.clone(), path);
        sizes.insert(digest, size);
    }
    let config = config_file.image_config();
    let platform = choose_platform(reference, &what, None, &config, options)?;
    Ok(Image {
        reference: reference.to_string(),
        digest: config_digest.to_string(),
        platforms: vec![PlatformImage {
            platform,
            index_platform: None,
            manifest_digest: config_digest.to_string(),
            config,
            layers: Layers::Blobs(layers),
        }],
        blobs: Box::new(LayoutBlobs {
            reference: reference.to_string(),
            files,
            sizes,
            paths,
        }),
    })
}
