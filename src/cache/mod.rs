//! The layer cache: what a layer yields (its entries and ELF facts) depends
//! only on its digest, on the limits that shape what is kept, and on
//! elfgate's facts format, so it is kept on disk under a key made of those.
//!
//! An entry is one file, `layers-vN/HEX-KEY.layer`: a magic line, the format
//! version, the sha256 and length of the payload, and the payload (the
//! [`Layer`] and the size its tar stream decompressed to, as zstd-compressed
//! JSON; the size keeps counting against `--max-image-bytes`). Entries are written to a temporary
//! file and renamed into place, so a reader never sees half an entry and two
//! scans at once cannot corrupt one. Every read checks the header, the
//! checksum and the digest inside; an entry that fails is deleted and the
//! layer is read again. A read touches the entry's modification time; when
//! the cache grows past its cap, the least recently used entries go first.
//!
//! Besides the disk, the cache remembers the layers of this run in memory,
//! so a layer shared by several images of one run is read once even with
//! `--no-cache`.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use sha2::{Digest as _, Sha256};

use crate::layers::{Layer, Limits};
use crate::source::Digest;

/// The version of the facts format. Bump it whenever what a layer yields
/// changes (new facts, a fixed parser) or the entry's payload does: older
/// entries are then ignored. A unit test (`facts_format_is_versioned`) fails
/// when the serialised form of a sample entry changes without a bump.
pub const FACTS_VERSION: u32 = 3;

/// The default size cap of the disk cache.
pub const DEFAULT_MAX_BYTES: u64 = 2 << 30;

const MAGIC: &[u8; 20] = b"ELFGATE-LAYER-CACHE\n";
const HEADER: usize = MAGIC.len() + 4 + 32 + 8;
/// The largest decompressed payload accepted.
const MAX_PAYLOAD: u64 = 2 << 30;

/// What was asked of the cache during a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Layers found on disk.
    pub disk_hits: u64,
    /// Layers found in memory (read earlier in this run).
    pub memory_hits: u64,
    pub misses: u64,
    /// Entries found broken, deleted and rebuilt.
    pub discarded: u64,
    pub written: u64,
    pub evicted: u64,
}

#[derive(Default)]
struct Counters {
    disk_hits: AtomicU64,
    memory_hits: AtomicU64,
    misses: AtomicU64,
    discarded: AtomicU64,
    written: AtomicU64,
    evicted: AtomicU64,
}

/// A layer's result as the cache keeps it.
#[derive(Debug, Clone)]
pub struct CachedLayer {
    pub layer: Arc<Layer>,
    /// The bytes the layer's tar stream decompressed to, which count against
    /// `--max-image-bytes` whether the layer is read or found here.
    pub decompressed: u64,
}

/// The payload of an entry: `Payload<&Layer>` written, `Payload<Layer>` read.
#[derive(serde::Serialize, serde::Deserialize)]
struct Payload<L> {
    decompressed: u64,
    layer: L,
}

/// Layer results by digest, in memory and (unless disabled) on disk.
pub struct LayerCache {
    /// `layers-vN` under the cache directory; `None`: memory only.
    dir: Option<PathBuf>,
    max_bytes: u64,
    memory: Mutex<HashMap<String, CachedLayer>>,
    counters: Counters,
}

impl std::fmt::Debug for LayerCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerCache")
            .field("dir", &self.dir)
            .field("max_bytes", &self.max_bytes)
            .finish_non_exhaustive()
    }
}

/// The part of the key that depends on the limits and on this build.
fn limits_key(limits: &Limits) -> String {
    let text = format!(
        "{FACTS_VERSION}|{}|{}|{}|{}",
        env!("CARGO_PKG_VERSION"),
        limits.max_elf_size,
        limits.max_config_size,
        limits.max_shebang
    );
    hex::encode(&Sha256::digest(text.as_bytes())[..8])
}

impl LayerCache {
    /// A cache on disk under `dir` (created when first written), capped at
    /// `max_bytes`.
    pub fn on_disk(dir: &Path, max_bytes: u64) -> LayerCache {
        LayerCache {
            dir: Some(dir.join(format!("layers-v{FACTS_VERSION}"))),
            max_bytes,
            memory: Mutex::new(HashMap::new()),
            counters: Counters::default(),
        }
    }

    /// A cache that keeps layers for this run only.
    pub fn in_memory() -> LayerCache {
        LayerCache {
            dir: None,
            max_bytes: 0,
            memory: Mutex::new(HashMap::new()),
            counters: Counters::default(),
        }
    }

    /// The directory entries are written to, when on disk.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    pub fn stats(&self) -> CacheStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        CacheStats {
            disk_hits: get(&c.disk_hits),
            memory_hits: get(&c.memory_hits),
            misses: get(&c.misses),
            discarded: get(&c.discarded),
            written: get(&c.written),
            evicted: get(&c.evicted),
        }
    }

    fn entry_path(&self, digest: &Digest, key: &str) -> Option<PathBuf> {
        Some(
            self.dir
                .as_ref()?
                .join(format!("{}-{key}.layer", digest.hex())),
        )
    }

    /// The cached result for the layer `digest` read under `limits`.
    pub fn get(&self, digest: &str, limits: &Limits) -> Option<CachedLayer> {
        let d = Digest::parse(digest).ok()?;
        let key = limits_key(limits);
        let mem_key = format!("{d}-{key}");
        if let Some(hit) = self.lock().get(&mem_key) {
            self.counters.memory_hits.fetch_add(1, Ordering::Relaxed);
            return Some(hit.clone());
        }
        let Some(path) = self.entry_path(&d, &key) else {
            self.counters.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        match read_entry(&path, &d) {
            Ok(Some(hit)) => {
                touch(&path);
                self.counters.disk_hits.fetch_add(1, Ordering::Relaxed);
                self.lock().insert(mem_key, hit.clone());
                Some(hit)
            }
            Ok(None) => {
                self.counters.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
            Err(_) => {
                // Corrupt, truncated or foreign: never trusted, rebuilt.
                let _ = fs::remove_file(&path);
                self.counters.discarded.fetch_add(1, Ordering::Relaxed);
                self.counters.misses.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }

    /// Remembers the result for the layer `digest`, whose tar stream
    /// decompressed to `decompressed` bytes. Failing to write the disk cache
    /// is not an error of the scan: the entry is simply missing.
    pub fn put(&self, digest: &str, limits: &Limits, layer: &Arc<Layer>, decompressed: u64) {
        let Ok(d) = Digest::parse(digest) else {
            return;
        };
        let key = limits_key(limits);
        let hit = CachedLayer {
            layer: Arc::clone(layer),
            decompressed,
        };
        self.lock().insert(format!("{d}-{key}"), hit);
        let Some(path) = self.entry_path(&d, &key) else {
            return;
        };
        if write_entry(&path, layer, decompressed).is_ok() {
            self.counters.written.fetch_add(1, Ordering::Relaxed);
            if let Some(dir) = &self.dir {
                let n = evict(dir, self.max_bytes);
                self.counters.evicted.fetch_add(n, Ordering::Relaxed);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, CachedLayer>> {
        // A panic while holding the lock leaves a valid map behind.
        self.memory.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn bad(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// Reads and checks one entry. `Ok(None)`: there is none.
fn read_entry(path: &Path, digest: &Digest) -> io::Result<Option<CachedLayer>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut header = [0u8; HEADER];
    file.read_exact(&mut header)?;
    if &header[..MAGIC.len()] != MAGIC {
        return Err(bad("not a layer cache entry"));
    }
    let mut at = MAGIC.len();
    let version = u32::from_le_bytes(header[at..at + 4].try_into().map_err(|_| bad("header"))?);
    at += 4;
    if version != FACTS_VERSION {
        return Err(bad("another facts version"));
    }
    let checksum: [u8; 32] = header[at..at + 32].try_into().map_err(|_| bad("header"))?;
    at += 32;
    let len = u64::from_le_bytes(header[at..at + 8].try_into().map_err(|_| bad("header"))?);
    let on_disk = file.metadata()?.len();
    if on_disk != HEADER as u64 + len {
        return Err(bad("truncated entry"));
    }
    let mut payload = Vec::with_capacity(len.min(MAX_PAYLOAD) as usize);
    file.take(len).read_to_end(&mut payload)?;
    if Sha256::digest(&payload)[..] != checksum[..] {
        return Err(bad("checksum mismatch"));
    }
    let decoder = zstd::stream::Decoder::new(&payload[..])?;
    let mut json = Vec::new();
    decoder.take(MAX_PAYLOAD + 1).read_to_end(&mut json)?;
    if json.len() as u64 > MAX_PAYLOAD {
        return Err(bad("payload too large"));
    }
    let payload: Payload<Layer> = serde_json::from_slice(&json).map_err(|e| bad(e.to_string()))?;
    if payload.layer.digest != digest.to_string() {
        return Err(bad("entry of another layer"));
    }
    Ok(Some(CachedLayer {
        layer: Arc::new(payload.layer),
        decompressed: payload.decompressed,
    }))
}

/// A name for a temporary file no other writer uses.
fn temp_name(dir: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    dir.join(format!(
        ".tmp-{}-{}-{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ))
}

/// The JSON an entry holds (before compression).
fn payload_json(layer: &Layer, decompressed: u64) -> io::Result<Vec<u8>> {
    serde_json::to_vec(&Payload {
        decompressed,
        layer,
    })
    .map_err(|e| bad(e.to_string()))
}

fn write_entry(path: &Path, layer: &Layer, decompressed: u64) -> io::Result<()> {
    let dir = path.parent().ok_or_else(|| bad("no directory"))?;
    fs::create_dir_all(dir)?;
    let json = payload_json(layer, decompressed)?;
    let payload = zstd::stream::encode_all(&json[..], 3)?;
    let checksum = Sha256::digest(&payload);
    let tmp = temp_name(dir);
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(MAGIC)?;
        file.write_all(&FACTS_VERSION.to_le_bytes())?;
        file.write_all(&checksum)?;
        file.write_all(&(payload.len() as u64).to_le_bytes())?;
        file.write_all(&payload)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Marks an entry as just used.
fn touch(path: &Path) {
    if let Ok(file) = File::options().append(true).open(path) {
        let _ = file.set_modified(SystemTime::now());
    }
}

/// Deletes the least recently used entries until the cache fits in
/// `max_bytes`; returns how many went. Stale temporary files (a writer that
/// died) older than an hour go too.
fn evict(dir: &Path, max_bytes: u64) -> u64 {
    let Ok(read) = fs::read_dir(dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut entries = Vec::new();
    let mut total = 0u64;
    for e in read.filter_map(Result::ok) {
        let name = e.file_name();
        let name = name.to_string_lossy();
        let Ok(meta) = e.metadata() else { continue };
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        if name.starts_with(".tmp-") {
            if now
                .duration_since(modified)
                .is_ok_and(|age| age.as_secs() > 3600)
            {
                let _ = fs::remove_file(e.path());
            }
            continue;
        }
        if !name.ends_with(".layer") {
            continue;
        }
        total += meta.len();
        entries.push((modified, meta.len(), e.path()));
    }
    if total <= max_bytes {
        return 0;
    }
    entries.sort();
    let mut removed = 0;
    for (_, len, path) in entries {
        if total <= max_bytes {
            break;
        }
        if fs::remove_file(&path).is_ok() {
            removed += 1;
        }
        total = total.saturating_sub(len);
    }
    removed
}

#[cfg(test)]
mod tests;
