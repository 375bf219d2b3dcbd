//! One layer stream → a compact list of [`Entry`]s, in a single pass.
//!
//! Decompression is chosen by media type and checked by magic bytes (gzip,
//! zstd, plain tar). Each regular file's first bytes are sniffed: ELF files
//! are read (up to the size cap) and parsed at once, `#!` scripts keep their
//! first line, the few configuration files the loader needs keep their
//! bytes, and everything else is skipped without being buffered.

mod build;
#[cfg(test)]
mod limits_tests;
mod read;
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;

pub use read::{read_dir_tree, read_layer, read_layer_sized};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::elf::{ElfError, ElfFacts};

/// Limits that bound what one layer, and one image, may cost.
///
/// Each limit has a name (the `--max-...` flag of `elfgate scan` that sets
/// it) which the error message of a layer that exceeds it repeats.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest ELF file read and parsed; larger ones are reported, never skipped silently.
    pub max_elf_size: u64,
    /// Largest configuration file kept (`/etc/ld.so.cache`, ...).
    pub max_config_size: u64,
    /// Longest `#!` line kept.
    pub max_shebang: usize,
    /// Most bytes one layer may decompress to (the tar stream, everything
    /// after its end-of-archive marker included): `--max-layer-bytes`.
    pub max_layer_bytes: u64,
    /// Most bytes all layers of one image may decompress to together:
    /// `--max-image-bytes`. Counted in [`Limits::image_bytes`].
    pub max_image_bytes: u64,
    /// Most tar entries in one layer: `--max-entries`.
    pub max_entries: u64,
    /// Longest path (or link target) of an entry, in bytes: `--max-path-length`.
    pub max_path_len: usize,
    /// Most components in an entry's path: `--max-path-depth`.
    pub max_path_depth: usize,
    /// Most bytes of extension records (GNU long names and long link names,
    /// PAX headers, GNU sparse maps) in front of one tar entry:
    /// `--max-tar-header-bytes`. The tar reader buffers them whole, so they
    /// are counted on the stream before it sees them.
    pub max_tar_header_bytes: u64,
    /// The decompressed bytes counted so far against
    /// [`Limits::max_image_bytes`], shared by every clone of these limits.
    /// [`Limits::for_image`] starts a fresh count.
    pub image_bytes: ByteCounter,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_elf_size: 512 * 1024 * 1024,
            max_config_size: 16 * 1024 * 1024,
            max_shebang: 256,
            max_layer_bytes: 16 << 30,
            max_image_bytes: 64 << 30,
            max_entries: 1 << 21,
            max_path_len: 4096,
            max_path_depth: 512,
            max_tar_header_bytes: 1 << 20,
            image_bytes: ByteCounter::default(),
        }
    }
}

impl Limits {
    /// The same limits with a fresh count for [`Limits::max_image_bytes`]:
    /// call once per image, then share the result between its layers.
    pub fn for_image(&self) -> Limits {
        Limits {
            image_bytes: ByteCounter::default(),
            ..self.clone()
        }
    }

    /// Counts `n` more decompressed bytes of the image; past
    /// [`Limits::max_image_bytes`], the message that says so.
    pub fn count_image_bytes(&self, n: u64) -> Result<(), String> {
        if self.image_bytes.add(n) > self.max_image_bytes {
            return Err(format!(
                "the image's layers decompress to more than the max-image-bytes limit ({} bytes)",
                self.max_image_bytes
            ));
        }
        Ok(())
    }
}

/// A byte count shared between threads (the layers of one image are read in
/// parallel).
#[derive(Debug, Clone, Default)]
pub struct ByteCounter(Arc<AtomicU64>);

impl ByteCounter {
    /// Adds `n` and returns the new total.
    pub fn add(&self, n: u64) -> u64 {
        self.0.fetch_add(n, Ordering::Relaxed).saturating_add(n)
    }

    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// What kind of tar entry this is, after whiteouts are recognised.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum EntryKind {
    File,
    Dir,
    /// Symlink with its target, verbatim.
    Symlink(String),
    /// Hard link to an earlier path of the same layer (normalised, absolute).
    /// The reader copies the target's content into this entry as well.
    HardLink(String),
    /// `.wh.NAME`: deletes `path` from lower layers. `path` is the deleted path.
    Whiteout,
    /// `.wh..wh..opq`: hides the lower contents of the directory `path`.
    OpaqueWhiteout,
    /// Devices, FIFOs and the like.
    Other,
}

/// What elfgate kept of a regular file's bytes.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum Content {
    /// Nothing worth keeping.
    None,
    /// An ELF file, parsed.
    Elf(Arc<ElfFacts>),
    /// Has the ELF magic but could not be parsed.
    BadElf(ElfError),
    /// Has the ELF magic but is larger than [`Limits::max_elf_size`].
    ElfTooLarge,
    /// A `#!` script: its first line without `#!` and the newline.
    Script(String),
    /// A configuration file the loader reads (see [`keeps_bytes`]).
    Config(Arc<Vec<u8>>),
}

/// One entry of one layer.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// Absolute, normalised path inside the image: `/usr/bin/x` (`/` for the root).
    pub path: String,
    pub kind: EntryKind,
    /// Permission bits (`0o7777` mask).
    pub mode: u32,
    pub size: u64,
    pub content: Content,
}

/// One layer's result: its entries in tar order.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Layer {
    /// The blob digest (`sha256:...`), or a name for a directory tree.
    pub digest: String,
    pub entries: Vec<Entry>,
}

/// How a layer blob is compressed, by media type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Gzip,
    Zstd,
    None,
    /// Unknown media type: decided by magic bytes alone.
    Sniff,
}

impl Compression {
    pub fn from_media_type(media_type: &str) -> Compression {
        if media_type.ends_with("gzip") || media_type.ends_with(".gzip") {
            Compression::Gzip
        } else if media_type.ends_with("zstd") {
            Compression::Zstd
        } else if media_type.ends_with(".tar") || media_type.ends_with("tar") {
            Compression::None
        } else {
            Compression::Sniff
        }
    }
}

/// Why a layer could not be read. The caller adds image and layer context.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("reading {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Format(String),
}

/// Whether the reader keeps the bytes of the file at `path` (what the loader
/// reads: `ld.so.cache`, `ld.so.conf` and its includes, musl's path files).
pub fn keeps_bytes(path: &str) -> bool {
    path == "/etc/ld.so.cache"
        || path == "/etc/ld.so.conf"
        || path.starts_with("/etc/ld.so.conf.d/")
        || (path.starts_with("/etc/ld-musl-") && path.ends_with(".path"))
}

/// Normalises a path from a tar header or a link target into the absolute
/// form used everywhere: leading `./` and `/` stripped, `.` and `..` resolved
/// lexically and clamped at the root, no trailing slash. `./usr//bin/` becomes
/// `/usr/bin`; the root (and the empty path) is `/`.
pub fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for component in path.split('/') {
        match component {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    if parts.is_empty() {
        return "/".to_string();
    }
    let mut out = String::with_capacity(path.len() + 1);
    for part in parts {
        out.push('/');
        out.push_str(part);
    }
    out
}
