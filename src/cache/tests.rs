use std::sync::Arc;

use super::*;
use crate::layers::testutil::{T, tar};
use crate::layers::{Compression, Content, EntryKind, read_layer_sized};

/// A layer read the real way from a tar holding a real ELF file (the test
/// binary itself), a script, a config file and a symlink; and the size of
/// that tar.
fn sample_sized(digest: &str) -> (Arc<Layer>, u64) {
    let elf = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let bytes = tar(&[
        T::Dir("usr/"),
        T::FileMode("usr/bin/prog", &elf, 0o755),
        T::FileMode("usr/bin/run.sh", b"#!/bin/sh -e\necho\n", 0o755),
        T::File("etc/ld.so.conf", b"include /etc/ld.so.conf.d/*.conf\n"),
        T::Symlink("bin", "usr/bin"),
    ]);
    let (layer, decompressed) =
        read_layer_sized(&bytes[..], Compression::None, digest, &Limits::default()).unwrap();
    // A plain tar decompresses to itself.
    assert_eq!(decompressed, bytes.len() as u64);
    (Arc::new(layer), decompressed)
}

fn sample(digest: &str) -> Arc<Layer> {
    sample_sized(digest).0
}

/// Any size will do where the test is not about it.
const SIZE: u64 = 4096;

fn digest(c: char) -> String {
    format!("sha256:{}", c.to_string().repeat(64))
}

fn entry_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = fs::read_dir(dir.join(format!("layers-v{FACTS_VERSION}")))
        .map(|r| r.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|x| x == "layer"));
    v.sort();
    v
}

#[test]
fn round_trip_keeps_every_fact() {
    let tmp = tempfile::tempdir().unwrap();
    let d = digest('a');
    let (layer, decompressed) = sample_sized(&d);
    let cache = LayerCache::on_disk(tmp.path(), DEFAULT_MAX_BYTES);
    assert!(cache.get(&d, &Limits::default()).is_none());
    cache.put(&d, &Limits::default(), &layer, decompressed);
    assert_eq!(entry_files(tmp.path()).len(), 1);

    // A fresh cache (another run) reads it back from disk.
    let again = LayerCache::on_disk(tmp.path(), DEFAULT_MAX_BYTES);
    let hit = again.get(&d, &Limits::default()).expect("cached");
    assert_eq!(again.stats().disk_hits, 1);
    assert_eq!(hit.decompressed, decompressed);
    let got = hit.layer;
    assert_eq!(got.entries.len(), layer.entries.len());
    for (a, b) in got.entries.iter().zip(&layer.entries) {
        assert_eq!(a.path, b.path);
        assert_eq!(a.kind, b.kind);
        assert_eq!(a.mode, b.mode);
        assert_eq!(a.size, b.size);
        match (&a.content, &b.content) {
            (Content::Elf(x), Content::Elf(y)) => assert_eq!(x, y),
            (Content::Script(x), Content::Script(y)) => assert_eq!(x, y),
            (Content::Config(x), Content::Config(y)) => assert_eq!(x, y),
            (Content::None, Content::None) => {}
            (x, y) => panic!("content differs: {x:?} vs {y:?}"),
        }
    }
    // The sample really holds what the comparison covers.
    let prog = got
        .entries
        .iter()
        .find(|e| e.path == "/usr/bin/prog")
        .unwrap();
    assert!(matches!(prog.content, Content::Elf(_)));
    let link = got.entries.iter().find(|e| e.path == "/bin").unwrap();
    assert_eq!(link.kind, EntryKind::Symlink("usr/bin".into()));
}

#[test]
fn other_limits_are_another_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let d = digest('b');
    let cache = LayerCache::on_disk(tmp.path(), DEFAULT_MAX_BYTES);
    cache.put(&d, &Limits::default(), &sample(&d), SIZE);
    let small = Limits {
        max_elf_size: 10,
        ..Limits::default()
    };
    let fresh = LayerCache::on_disk(tmp.path(), DEFAULT_MAX_BYTES);
    assert!(fresh.get(&d, &small).is_none());
    assert!(fresh.get(&d, &Limits::default()).is_some());
}

#[test]
fn corrupt_entries_are_discarded() {
    let tmp = tempfile::tempdir().unwrap();
    let d = digest('c');
    LayerCache::on_disk(tmp.path(), DEFAULT_MAX_BYTES).put(
        &d,
        &Limits::default(),
        &sample(&d),
        SIZE,
    );
    let path = entry_files(tmp.path()).pop().unwrap();
    let good = fs::read(&path).unwrap();

    // One flipped bit in the payload, a truncated file, a foreign file.
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    let cases: Vec<Vec<u8>> = vec![
        flipped,
        good[..good.len() / 2].to_vec(),
        b"garbage".to_vec(),
        Vec::new(),
    ];
    for bytes in cases {
        fs::write(&path, &bytes).unwrap();
        let cache = LayerCache::on_disk(tmp.path(), DEFAULT_MAX_BYTES);
        assert!(cache.get(&d, &Limits::default()).is_none());
        assert_eq!(cache.stats().discarded, 1);
        assert!(!path.exists(), "a broken entry is deleted");
    }

    // An intact entry stored under another layer's name is not trusted.
    let other = digest('d');
    let cache = LayerCache::on_disk(tmp.path(), DEFAULT_MAX_BYTES);
    cache.put(&other, &Limits::default(), &sample(&other), SIZE);
    let other_path = entry_files(tmp.path()).pop().unwrap();
    fs::copy(&other_path, &path).unwrap();
    let fresh = LayerCache::on_disk(tmp.path(), DEFAULT_MAX_BYTES);
    assert!(fresh.get(&d, &Limits::default()).is_none());
    assert_eq!(fresh.stats().discarded, 1);
}

#[test]
fn least_recently_used_goes_first() {
    let tmp = tempfile::tempdir().unwrap();
    let unlimited = LayerCache::on_disk(tmp.path(), u64::MAX);
    let (a, b, c) = (digest('1'), digest('2'), digest('3'));
    unlimited.put(&a, &Limits::default(), &sample(&a), SIZE);
    unlimited.put(&b, &Limits::default(), &sample(&b), SIZE);
    let files = entry_files(tmp.path());
    let one = fs::metadata(&files[0]).unwrap().len();
    // Make `a` old, `b` older still, then use `a`: `b` is the LRU entry.
    let age = |p: &Path, secs: u64| {
        let f = File::options().append(true).open(p).unwrap();
        f.set_modified(SystemTime::now() - std::time::Duration::from_secs(secs))
            .unwrap();
    };
    let path_of = |d: &str| {
        entry_files(tmp.path())
            .into_iter()
            .find(|p| p.to_string_lossy().contains(&d[7..20]))
            .unwrap()
    };
    age(&path_of(&a), 100);
    age(&path_of(&b), 200);
    let reader = LayerCache::on_disk(tmp.path(), u64::MAX);
    assert!(reader.get(&a, &Limits::default()).is_some());

    // Room for two entries: adding `c` evicts exactly `b`.
    let capped = LayerCache::on_disk(tmp.path(), one * 2 + one / 2);
    capped.put(&c, &Limits::default(), &sample(&c), SIZE);
    assert_eq!(capped.stats().evicted, 1);
    let names: Vec<String> = entry_files(tmp.path())
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy()[..1].to_string())
        .collect();
    assert_eq!(names, ["1", "3"]);
}

#[test]
fn concurrent_writers_leave_valid_entries() {
    let tmp = tempfile::tempdir().unwrap();
    let d = digest('e');
    let layer = sample(&d);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                let cache = LayerCache::on_disk(tmp.path(), DEFAULT_MAX_BYTES);
                for _ in 0..5 {
                    cache.put(&d, &Limits::default(), &layer, SIZE);
                    let fresh = LayerCache::on_disk(tmp.path(), DEFAULT_MAX_BYTES);
                    if let Some(got) = fresh.get(&d, &Limits::default()) {
                        assert_eq!(got.layer.entries.len(), layer.entries.len());
                        assert_eq!(got.decompressed, SIZE);
                    }
                    assert_eq!(fresh.stats().discarded, 0, "a reader saw half an entry");
                }
            });
        }
    });
    assert_eq!(entry_files(tmp.path()).len(), 1);
    let leftovers = fs::read_dir(tmp.path().join(format!("layers-v{FACTS_VERSION}")))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with(".tmp-")
        })
        .count();
    assert_eq!(leftovers, 0);
}

#[test]
fn memory_only_cache_serves_a_run() {
    let d = digest('f');
    let cache = LayerCache::in_memory();
    assert!(cache.get(&d, &Limits::default()).is_none());
    cache.put(&d, &Limits::default(), &sample(&d), SIZE);
    let hit = cache.get(&d, &Limits::default()).expect("kept in memory");
    assert_eq!(hit.decompressed, SIZE);
    assert_eq!(cache.stats().memory_hits, 1);
    assert!(cache.dir().is_none());
}

/// The fingerprint of [`format_sample`]'s payload for [`FACTS_VERSION`].
const RECORDED_FORMAT: (u32, &str) = (
    3,
    "5a9e4954e59e40b62eb7a235d32d22d4cf4067a0d1f0b3179a84c666bc5edabb",
);

/// A fixed entry that exercises the payload: committed ELF files of several
/// machines and toolchains (Go build info, cargo-auditable data, ARM
/// attributes, version needs and definitions), one too large to read, one
/// broken, and every other kind of entry.
fn format_sample() -> Vec<u8> {
    macro_rules! testdata {
        ($path:literal) => {
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/", $path))
        };
    }
    let bytes = tar(&[
        T::Dir("usr/"),
        T::FileMode("usr/bin/dyn", testdata!("elf/aarch64-glibc-dynamic"), 0o755),
        T::File("usr/lib/libfoo.so.1", testdata!("elf/libfoo.so.1")),
        T::FileMode("usr/bin/armel", testdata!("toolchain/armel-hello"), 0o755),
        T::FileMode("usr/bin/go", testdata!("toolchain/go1.18.3-arm64"), 0o755),
        T::FileMode(
            "usr/bin/rs",
            testdata!("toolchain/rust-auditable-jemalloc-arm64"),
            0o755,
        ),
        T::FileMode(
            "usr/bin/big",
            testdata!("elf/x86_64-musl-static-pie"),
            0o755,
        ),
        T::FileMode("usr/bin/broken", b"\x7fELF\x02\x01\x01broken", 0o755),
        T::FileMode("usr/bin/run.sh", b"#!/bin/sh -e\necho\n", 0o755),
        T::File("etc/ld.so.conf", b"include /etc/ld.so.conf.d/*.conf\n"),
        T::File("etc/motd", b"hello\n"),
        T::Symlink("bin", "usr/bin"),
        T::HardLink("usr/bin/dyn2", "usr/bin/dyn"),
        T::File("opt/.wh.gone", b""),
        T::File("var/.wh..wh..opq", b""),
    ]);
    // Small enough that `big` is only recorded as too large.
    let limits = Limits {
        max_elf_size: 8192,
        ..Limits::default()
    };
    let (layer, decompressed) =
        read_layer_sized(&bytes[..], Compression::None, &digest('0'), &limits).unwrap();
    payload_json(&layer, decompressed).unwrap()
}

#[test]
fn facts_format_is_versioned() {
    let fingerprint = hex::encode(Sha256::digest(format_sample()));
    let (version, recorded) = RECORDED_FORMAT;
    assert!(
        version == FACTS_VERSION && recorded == fingerprint,
        "the serialised form of a cache entry changed (fingerprint {fingerprint}, recorded \
         {recorded:?} for version {version}). Bump FACTS_VERSION in src/cache/mod.rs so that \
         older entries are not read, then set RECORDED_FORMAT to ({}, \"{fingerprint}\").",
        if version == FACTS_VERSION {
            FACTS_VERSION + 1
        } else {
            FACTS_VERSION
        }
    );
}

#[test]
fn the_format_sample_covers_every_kind_of_content() {
    let json: serde_json::Value = serde_json::from_slice(&format_sample()).unwrap();
    let text = json.to_string();
    for needle in [
        "\"Elf\"",
        "\"BadElf\"",
        "\"ElfTooLarge\"",
        "\"Script\"",
        "\"Config\"",
        "\"None\"",
        "\"Symlink\"",
        "\"HardLink\"",
        "\"Whiteout\"",
        "\"OpaqueWhiteout\"",
        "\"go\":{",
        "\"auditable\":{",
        "\"arm\":{",
    ] {
        assert!(text.contains(needle), "{needle} is missing from the sample");
    }
}
