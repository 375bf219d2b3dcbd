//! The library call that the CLI, `serve` and the tests make: image → report.
//!
//! Opens the image, reads every distinct layer of the selected platforms once
//! and in parallel, builds each platform's view, and runs the rules.

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;

use crate::fs::{FsView, NodeKind};
use crate::layers::{self, Compression, Content, Layer, Limits};
use crate::platform::Platform;
use crate::report::{ImageReport, PlatformSummary};
use crate::rules::{self, PlatformFacts, PlatformInput};
use crate::source::{self, Image, Layers, OpenOptions, PlatformImage};

/// What to scan and how.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Scan only these platforms (`--platform`); all when empty.
    pub platforms: Vec<Platform>,
    /// Platforms the image must have (`--require-platform`). `None`: the
    /// default (linux/amd64 and linux/arm64), not applied to `dir:` roots.
    pub required: Option<Vec<Platform>>,
    pub limits: Limits,
}

/// The platforms an index must have unless told otherwise.
pub fn default_required() -> Vec<Platform> {
    vec![
        Platform::new("linux", "amd64", None),
        Platform::new("linux", "arm64", None),
    ]
}

/// Why a scan could not complete. The message names image, platform, layer and path.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error(transparent)]
    Source(#[from] source::SourceError),
    #[error("{image}: no platform matches {wanted} (the image has {available})")]
    NoSuchPlatform {
        image: String,
        wanted: String,
        available: String,
    },
    #[error("{image}: platform {platform}: layer {layer}: {source}")]
    Layer {
        image: String,
        platform: String,
        layer: String,
        #[source]
        source: layers::LayerError,
    },
}

/// Scans the image named by `reference`.
pub fn scan(reference: &str, options: &ScanOptions) -> Result<ImageReport, ScanError> {
    let open = OpenOptions {
        platform: options.platforms.first().cloned(),
    };
    let image = source::open(reference, &open)?;
    scan_image(&image, options)
}

/// Scans an opened image.
pub fn scan_image(image: &Image, options: &ScanOptions) -> Result<ImageReport, ScanError> {
    let selected = select(image, &options.platforms)?;
    let layers = read_layers(image, &selected, &options.limits)?;

    let mut findings = Vec::new();
    let required = match &options.required {
        Some(r) => r.clone(),
        None if selected
            .iter()
            .any(|p| matches!(p.layers, Layers::Directory(_))) =>
        {
            Vec::new()
        }
        None => default_required(),
    };
    let available: Vec<Platform> = image.platforms.iter().map(|p| p.platform.clone()).collect();
    let has_index = image.platforms.iter().any(|p| p.index_platform.is_some());
    findings.extend(rules::check_required_platforms(
        &available, &required, has_index,
    ));

    let mut platforms = Vec::new();
    for p in &selected {
        let stack: Vec<Layer> = layer_keys(p)
            .iter()
            .map(|k| Layer::clone(&layers[k]))
            .collect();
        let view = FsView::from_layers(&stack);
        drop(stack);
        let facts = PlatformFacts::build(PlatformInput {
            platform: &p.platform,
            index_platform: p.index_platform.as_ref(),
            config: &p.config,
            view: &view,
        });
        findings.extend(rules::check_platform(&facts));
        let files = view
            .iter()
            .filter(|(_, n)| n.kind == NodeKind::File)
            .count();
        let elf_files = view
            .iter()
            .filter(|(_, n)| {
                matches!(
                    n.content,
                    Content::Elf(_) | Content::BadElf(_) | Content::ElfTooLarge
                )
            })
            .count();
        platforms.push(PlatformSummary {
            platform: p.platform.to_string(),
            manifest_digest: p.manifest_digest.clone(),
            libc: facts.libc_summary().to_string(),
            files,
            elf_files,
        });
    }
    Ok(ImageReport::new(
        image.reference.clone(),
        image.digest.clone(),
        platforms,
        findings,
    ))
}

/// The platforms to scan: all, or those matching `wanted`.
fn select<'i>(image: &'i Image, wanted: &[Platform]) -> Result<Vec<&'i PlatformImage>, ScanError> {
    if wanted.is_empty() {
        return Ok(image.platforms.iter().collect());
    }
    let mut out = Vec::new();
    for w in wanted {
        let matching: Vec<_> = image
            .platforms
            .iter()
            .filter(|p| p.platform.satisfies(w))
            .collect();
        if matching.is_empty() {
            return Err(ScanError::NoSuchPlatform {
                image: image.reference.clone(),
                wanted: w.to_string(),
                available: image
                    .platforms
                    .iter()
                    .map(|p| p.platform.to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        for m in matching {
            if !out.iter().any(|o: &&PlatformImage| std::ptr::eq(*o, m)) {
                out.push(m);
            }
        }
    }
    Ok(out)
}

/// Keys of a platform's layers, bottom first: blob digests, or the root path.
fn layer_keys(p: &PlatformImage) -> Vec<String> {
    match &p.layers {
        Layers::Blobs(refs) => refs.iter().map(|r| r.digest.clone()).collect(),
        Layers::Directory(root) => vec![format!("dir:{}", root.display())],
    }
}

/// Reads every distinct layer of the selected platforms once, in parallel.
fn read_layers(
    image: &Image,
    selected: &[&PlatformImage],
    limits: &Limits,
) -> Result<BTreeMap<String, Arc<Layer>>, ScanError> {
    let mut jobs: BTreeMap<String, (&PlatformImage, Job)> = BTreeMap::new();
    for p in selected {
        match &p.layers {
            Layers::Blobs(refs) => {
                for r in refs {
                    jobs.entry(r.digest.clone())
                        .or_insert((p, Job::Blob(Compression::from_media_type(&r.media_type))));
                }
            }
            Layers::Directory(root) => {
                jobs.insert(layer_keys(p)[0].clone(), (p, Job::Dir(root.clone())));
            }
        }
    }
    jobs.into_par_iter()
        .map(|(key, (p, job))| {
            let err = |source| ScanError::Layer {
                image: image.reference.clone(),
                platform: p.platform.to_string(),
                layer: key.clone(),
                source,
            };
            let layer = match job {
                Job::Blob(compression) => {
                    let reader = image.open_blob(&key)?;
                    layers::read_layer(reader, compression, &key, limits).map_err(err)?
                }
                Job::Dir(root) => {
                    let mut l = layers::read_dir_tree(&root, limits).map_err(err)?;
                    l.digest = String::new();
                    l
                }
            };
            Ok((key, Arc::new(layer)))
        })
        .collect()
}

enum Job {
    Blob(Compression),
    Dir(std::path::PathBuf),
}
