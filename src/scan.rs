//! The library call that the CLI, `serve` and the tests make: image → report.
//!
//! Opens the image, reads every distinct layer of the selected platforms once
//! and in parallel, builds each platform's view, and runs the rules.

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;

use crate::cache::LayerCache;
use crate::fs::{FsView, NodeKind};
use crate::layers::{self, Compression, Content, Layer, Limits};
use crate::platform::Platform;
use crate::progress::PlatformProgress;
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
    /// How registries are reached.
    pub registry: source::RegistryOptions,
    /// Where layer results are cached; `None`: nothing is kept beyond this scan.
    pub cache: Option<std::sync::Arc<crate::cache::LayerCache>>,
    /// The progress display (hidden unless the command layer enables it).
    pub progress: crate::progress::Progress,
    /// `--inventory`: add every ELF file's record to each platform's summary.
    pub inventory: bool,
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
    /// A layer blob that cannot be opened, or whose bytes are not the ones
    /// its digest names.
    #[error("{image}: platform {platform}: layer {layer}: {message}")]
    Blob {
        image: String,
        platform: String,
        layer: String,
        message: String,
    },
}

/// Scans the image named by `reference`.
pub fn scan(reference: &str, options: &ScanOptions) -> Result<ImageReport, ScanError> {
    let open = OpenOptions {
        platform: options.platforms.first().cloned(),
        registry: options.registry.clone(),
        only: options.platforms.clone(),
    };
    let image = source::open(reference, &open)?;
    scan_image(&image, options)
}

/// Scans an opened image.
pub fn scan_image(image: &Image, options: &ScanOptions) -> Result<ImageReport, ScanError> {
    let selected = select(image, &options.platforms)?;
    let bars: Vec<PlatformProgress> = selected
        .iter()
        .map(|p| {
            let n = match &p.layers {
                Layers::Blobs(refs) => refs.len() as u64,
                Layers::Directory(_) => 1,
            };
            options
                .progress
                .platform(&image.reference, &p.platform.to_string(), n)
        })
        .collect();
    let read = read_layers(
        image,
        &selected,
        &options.limits.for_image(),
        options.cache.as_deref(),
        &bars,
    );
    bars.iter().for_each(PlatformProgress::finish);
    let layers = read?;

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
    // What the image-level rules (cgo-divergence) keep of each platform.
    let mut per_platform = Vec::new();
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
        per_platform.push((p.platform.to_string(), rules::summarize_platform(&facts)));
        let inventory = options.inventory.then(|| crate::report::inventory(&facts));
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
            inventory,
            programs: facts
                .elves
                .iter()
                .filter(|e| e.active)
                .map(|e| e.path.to_string())
                .collect(),
        });
    }
    findings.extend(rules::check_image(&per_platform));
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
    cache: Option<&LayerCache>,
    bars: &[PlatformProgress],
) -> Result<BTreeMap<String, Arc<Layer>>, ScanError> {
    let mut jobs: BTreeMap<String, (&PlatformImage, Job)> = BTreeMap::new();
    // Which platforms' progress lines each layer advances.
    let mut users: BTreeMap<String, Vec<PlatformProgress>> = BTreeMap::new();
    for (p, bar) in selected.iter().zip(bars) {
        for key in layer_keys(p) {
            users.entry(key).or_default().push(bar.clone());
        }
    }
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
    // Largest blobs first, each taken by the next idle thread: the longest
    // layer never starts last and leaves the other cores idle.
    let size_of = |key: &str| {
        selected
            .iter()
            .filter_map(|p| match &p.layers {
                Layers::Blobs(refs) => refs.iter().find(|r| r.digest == key)?.size,
                Layers::Directory(_) => None,
            })
            .next()
            .unwrap_or(0)
    };
    let mut jobs: Vec<_> = jobs.into_iter().collect();
    jobs.sort_by_cached_key(|(key, _)| std::cmp::Reverse(size_of(key)));
    jobs.into_iter()
        .par_bridge()
        .map(|(key, (p, job))| {
            let bars = users.get(&key).map(Vec::as_slice).unwrap_or_default();
            let done = |layer: &Layer| {
                let decoded = layer.entries.iter().map(|e| e.size).sum();
                bars.iter().for_each(|b| b.layer_done(decoded));
            };
            let err = |source| ScanError::Layer {
                image: image.reference.clone(),
                platform: p.platform.to_string(),
                layer: key.clone(),
                source,
            };
            let layer = match job {
                Job::Blob(compression) => {
                    // The key is the digest: a cached layer is not even
                    // opened, so a registry does not download it. What it
                    // decompressed to still counts against the image's limit.
                    if let Some(hit) = cache.and_then(|c| c.get(&key, limits)) {
                        limits
                            .count_image_bytes(hit.decompressed)
                            .map_err(|message| err(layers::LayerError::Format(message)))?;
                        done(&hit.layer);
                        return Ok((key, hit.layer));
                    }
                    let blob_err = |message: String| ScanError::Blob {
                        image: image.reference.clone(),
                        platform: p.platform.to_string(),
                        layer: key.clone(),
                        message,
                    };
                    let reader = image.open_blob(&key).map_err(|e| {
                        let text = e.to_string();
                        let prefix = format!("{}: ", image.reference);
                        blob_err(text.strip_prefix(&prefix).unwrap_or(&text).to_string())
                    })?;
                    let reader = Counted {
                        inner: reader,
                        bar: bars.first(),
                    };
                    match layers::read_layer_sized(reader, compression, &key, limits) {
                        Ok((layer, decompressed)) => {
                            let layer = Arc::new(layer);
                            if let Some(c) = cache {
                                c.put(&key, limits, &layer, decompressed);
                            }
                            done(&layer);
                            return Ok((key, layer));
                        }
                        Err(e) => {
                            return Err(match digest_failure(image, &key) {
                                Some(why) if e.to_string().contains(&why) => blob_err(why),
                                Some(why) => blob_err(format!(
                                    "{why} (reading it as a layer failed first: {e})"
                                )),
                                None => err(e),
                            });
                        }
                    }
                }
                Job::Dir(root) => {
                    let mut l = layers::read_dir_tree(&root, limits).map_err(err)?;
                    l.digest = String::new();
                    done(&l);
                    l
                }
            };
            Ok((key, Arc::new(layer)))
        })
        .collect()
}

/// Whether the blob `digest` fails its digest check, and why. A corrupt
/// compressed stream usually fails to decode before its end, where the
/// digest is checked; reading the blob again tells a damaged blob (the root
/// cause to report) from a well-formed blob with broken contents.
fn digest_failure(image: &Image, digest: &str) -> Option<String> {
    let mut reader = image.open_blob(digest).ok()?;
    match std::io::copy(&mut reader, &mut std::io::sink()) {
        Ok(_) => None,
        Err(e) => Some(e.to_string()),
    }
}

/// A blob stream that reports the bytes read to a progress line.
struct Counted<'a, R> {
    inner: R,
    bar: Option<&'a PlatformProgress>,
}

impl<R: std::io::Read> std::io::Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(bar) = self.bar {
            bar.pulled(n as u64);
        }
        Ok(n)
    }
}

enum Job {
    Blob(Compression),
    Dir(std::path::PathBuf),
}
