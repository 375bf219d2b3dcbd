use std::io::{self, Read};

use super::build::classify;
use super::testutil::{T, gzip, tar, zstd};
use super::{Compression, Content, EntryKind, Layer, LayerError, Limits, normalize, read_layer};

fn read(bytes: &[u8], compression: Compression) -> Result<Layer, LayerError> {
    read_layer(bytes, compression, "sha256:test", &Limits::default())
}

/// A short, comparable description of what was kept of a file.
fn content(c: &Content) -> String {
    match c {
        Content::None => "none".into(),
        Content::Elf(_) => "elf".into(),
        Content::BadElf(_) => "bad-elf".into(),
        Content::ElfTooLarge => "elf-too-large".into(),
        Content::Script(line) => format!("script:{line}"),
        Content::Config(bytes) => format!("config:{}", String::from_utf8_lossy(bytes)),
    }
}

fn summary(layer: &Layer) -> Vec<(String, EntryKind, u32, u64, String)> {
    layer
        .entries
        .iter()
        .map(|e| {
            (
                e.path.clone(),
                e.kind.clone(),
                e.mode,
                e.size,
                content(&e.content),
            )
        })
        .collect()
}

/// A 64-byte ELF header's worth of bytes: the magic, then padding. Whether the
/// parser accepts it does not matter to the reader.
fn elf_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    bytes[..4].copy_from_slice(b"\x7fELF");
    bytes
}

fn sample() -> Vec<u8> {
    tar(&[
        T::Dir("./"),
        T::Dir("./usr/"),
        T::Dir("./usr/bin/"),
        T::FileMode("./usr/bin/tool", b"#!/bin/sh -e\necho hi\n", 0o755),
        T::File("./etc/ld.so.conf", b"include /etc/ld.so.conf.d/*.conf\n"),
        T::File("./usr/share/doc/readme", b"plain text"),
        T::Symlink("./bin", "usr/bin"),
    ])
}

#[test]
fn normalize_strips_dots_and_clamps_at_root() {
    assert_eq!(normalize("./usr/bin/x"), "/usr/bin/x");
    assert_eq!(normalize("/usr//bin/"), "/usr/bin");
    assert_eq!(normalize("usr/./lib/../bin/x"), "/usr/bin/x");
    assert_eq!(normalize("../../etc/passwd"), "/etc/passwd");
    assert_eq!(normalize("./"), "/");
    assert_eq!(normalize(""), "/");
    assert_eq!(normalize("a/b/../../.."), "/");
}

#[test]
fn plain_gzip_and_zstd_give_the_same_entries() {
    let plain = sample();
    let expected = vec![
        (
            "/".to_string(),
            EntryKind::Dir,
            0o755,
            0,
            "none".to_string(),
        ),
        ("/usr".into(), EntryKind::Dir, 0o755, 0, "none".into()),
        ("/usr/bin".into(), EntryKind::Dir, 0o755, 0, "none".into()),
        (
            "/usr/bin/tool".into(),
            EntryKind::File,
            0o755,
            21,
            "script:/bin/sh -e".into(),
        ),
        (
            "/etc/ld.so.conf".into(),
            EntryKind::File,
            0o644,
            33,
            "config:include /etc/ld.so.conf.d/*.conf\n".into(),
        ),
        (
            "/usr/share/doc/readme".into(),
            EntryKind::File,
            0o644,
            10,
            "none".into(),
        ),
        (
            "/bin".into(),
            EntryKind::Symlink("usr/bin".into()),
            0o777,
            0,
            "none".into(),
        ),
    ];
    for (bytes, declared) in [
        (plain.clone(), Compression::None),
        (gzip(&plain), Compression::Gzip),
        (zstd(&plain), Compression::Zstd),
        (gzip(&plain), Compression::Sniff),
        (zstd(&plain), Compression::Sniff),
        (plain.clone(), Compression::Sniff),
    ] {
        let layer = read(&bytes, declared).unwrap();
        assert_eq!(layer.digest, "sha256:test");
        assert_eq!(summary(&layer), expected, "declared {declared:?}");
    }
}

#[test]
fn declared_compression_contradicting_the_magic_trusts_the_magic() {
    let plain = sample();
    let from_plain = summary(&read(&plain, Compression::None).unwrap());
    assert_eq!(
        summary(&read(&zstd(&plain), Compression::Gzip).unwrap()),
        from_plain
    );
    assert_eq!(
        summary(&read(&gzip(&plain), Compression::Zstd).unwrap()),
        from_plain
    );
    assert_eq!(
        summary(&read(&plain, Compression::Gzip).unwrap()),
        from_plain
    );
}

#[test]
fn multi_member_gzip_layer_is_read_whole() {
    let plain = sample();
    let (first, second) = plain.split_at(700);
    let mut bytes = gzip(first);
    bytes.extend(gzip(second));
    assert_eq!(
        summary(&read(&bytes, Compression::Gzip).unwrap()),
        summary(&read(&plain, Compression::None).unwrap())
    );
}

#[test]
fn multi_frame_zstd_layer_is_read_whole() {
    let plain = sample();
    let (first, second) = plain.split_at(1000);
    let mut bytes = zstd(first);
    bytes.extend(zstd(second));
    assert_eq!(
        summary(&read(&bytes, Compression::Zstd).unwrap()),
        summary(&read(&plain, Compression::None).unwrap())
    );
}

#[test]
fn whiteout_names_become_whiteout_entries() {
    let layer = read(
        &tar(&[
            T::File("etc/.wh.passwd", b""),
            T::File("opt/app/.wh..wh..opq", b""),
            T::File(".wh.top", b""),
            T::File(".wh..wh..opq", b""),
            T::File("x/.wh..wh.plnk", b""),
        ]),
        Compression::None,
    )
    .unwrap();
    let got: Vec<(String, EntryKind)> = layer
        .entries
        .iter()
        .map(|e| (e.path.clone(), e.kind.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("/etc/passwd".to_string(), EntryKind::Whiteout),
            ("/opt/app".to_string(), EntryKind::OpaqueWhiteout),
            ("/top".to_string(), EntryKind::Whiteout),
            ("/".to_string(), EntryKind::OpaqueWhiteout),
        ]
    );
}

#[test]
fn hard_link_copies_the_content_of_its_target_in_the_same_layer() {
    let layer = read(
        &tar(&[
            T::FileMode("usr/bin/a", b"#!/bin/bash\n", 0o755),
            T::HardLink("usr/bin/b", "./usr/bin/a"),
            T::HardLink("usr/bin/c", "usr/lib/elsewhere"),
        ]),
        Compression::None,
    )
    .unwrap();
    let s = summary(&layer);
    assert_eq!(
        s[1],
        (
            "/usr/bin/b".to_string(),
            EntryKind::HardLink("/usr/bin/a".into()),
            0o644,
            12,
            "script:/bin/bash".to_string()
        )
    );
    // Not in this layer: left for the filesystem view to resolve.
    assert_eq!(
        s[2],
        (
            "/usr/bin/c".to_string(),
            EntryKind::HardLink("/usr/lib/elsewhere".into()),
            0o644,
            0,
            "none".to_string()
        )
    );
}

#[test]
fn symlink_target_is_kept_verbatim_and_mode_is_masked() {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    // File-type bits in the mode field, as some writers emit them.
    header.set_mode(0o104755);
    header.set_size(0);
    builder
        .append_data(&mut header, "usr/bin/sudo", &[][..])
        .unwrap();
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_size(0);
    header.set_mode(0o777);
    // Written literally: the builder's own setter would tidy the target.
    header
        .set_link_name_literal("../usr/./lib//libz.so.1")
        .unwrap();
    builder
        .append_data(&mut header, "lib/libz.so", &[][..])
        .unwrap();
    let layer = read(&builder.into_inner().unwrap(), Compression::None).unwrap();
    assert_eq!(layer.entries[0].mode, 0o4755);
    assert_eq!(
        layer.entries[1].kind,
        EntryKind::Symlink("../usr/./lib//libz.so.1".into())
    );
}

#[test]
fn long_names_are_read_through_gnu_extensions() {
    let long_dir = "d".repeat(150);
    let path = format!("{long_dir}/{}", "f".repeat(120));
    let target = format!("{long_dir}/{}", "t".repeat(120));
    let layer = read(
        &tar(&[
            T::File(&path, b"#!/bin/true\n"),
            T::Symlink(&format!("{long_dir}/link"), &target),
        ]),
        Compression::None,
    )
    .unwrap();
    assert_eq!(layer.entries[0].path, format!("/{path}"));
    assert_eq!(content(&layer.entries[0].content), "script:/bin/true");
    assert_eq!(layer.entries[1].kind, EntryKind::Symlink(target));
}

#[test]
fn shebang_line_is_cut_at_the_newline_or_the_limit() {
    let limits = Limits {
        max_shebang: 8,
        ..Limits::default()
    };
    let mut buf = Vec::new();
    let mut classify_bytes = |bytes: &[u8]| {
        content(&classify("/x", bytes.len() as u64, &mut &bytes[..], &limits, &mut buf).unwrap())
    };
    assert_eq!(classify_bytes(b"#!/bin/sh\r\nx"), "script:/bin/sh\r");
    assert_eq!(
        classify_bytes(b"#!/usr/bin/env python3\n"),
        "script:/usr/bin"
    );
    assert_eq!(classify_bytes(b"#!"), "script:");
    assert_eq!(classify_bytes(b"#"), "none");
    assert_eq!(classify_bytes(b""), "none");
    assert_eq!(classify_bytes(b"\x7fEL"), "none");
}

#[test]
fn configuration_files_keep_their_bytes_up_to_the_cap() {
    let limits = Limits {
        max_config_size: 4,
        ..Limits::default()
    };
    let mut buf = Vec::new();
    let kept = classify(
        "/etc/ld-musl-x86_64.path",
        4,
        &mut &b"/lib"[..],
        &limits,
        &mut buf,
    )
    .unwrap();
    assert_eq!(content(&kept), "config:/lib");
    let big = classify("/etc/ld.so.conf", 5, &mut &b"/lib\n"[..], &limits, &mut buf).unwrap();
    assert_eq!(content(&big), "none");
    let elsewhere = classify("/etc/other.conf", 4, &mut &b"/lib"[..], &limits, &mut buf).unwrap();
    assert_eq!(content(&elsewhere), "none");
}

#[test]
fn elf_size_cap_gives_elf_too_large() {
    let limits = Limits {
        max_elf_size: 100,
        ..Limits::default()
    };
    let layer = read_layer(
        &tar(&[
            T::File("small", &elf_bytes(100)),
            T::File("big", &elf_bytes(101)),
        ])[..],
        Compression::None,
        "d",
        &limits,
    )
    .unwrap();
    let kinds: Vec<String> = layer.entries.iter().map(|e| content(&e.content)).collect();
    // The small one was read and handed to the parser, whatever it made of it.
    assert!(kinds[0] == "elf" || kinds[0] == "bad-elf", "{kinds:?}");
    assert_eq!(kinds[1], "elf-too-large");
    assert_eq!(layer.entries[1].size, 101);
}

/// Counts the bytes taken from an endless stream.
struct Counting<R> {
    inner: R,
    taken: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.taken += n as u64;
        Ok(n)
    }
}

#[test]
fn large_non_elf_file_is_not_buffered() {
    let size = 1u64 << 40;
    let mut data = Counting {
        inner: io::repeat(b'a').take(size),
        taken: 0,
    };
    let mut buf = Vec::new();
    let got = classify("/data/blob", size, &mut data, &Limits::default(), &mut buf).unwrap();
    assert_eq!(content(&got), "none");
    assert_eq!(data.taken, 4);
    assert!(buf.capacity() < 4096);

    let mut elf = Counting {
        inner: io::Cursor::new(b"\x7fELF".to_vec()).chain(io::repeat(0).take(size)),
        taken: 0,
    };
    let got = classify(
        "/data/huge.so",
        size + 4,
        &mut elf,
        &Limits::default(),
        &mut buf,
    )
    .unwrap();
    assert_eq!(content(&got), "elf-too-large");
    assert_eq!(elf.taken, 4);
}

#[test]
fn large_file_in_a_layer_is_skipped_and_the_layer_goes_on() {
    let big = vec![0u8; 8 << 20];
    let bytes = zstd(&tar(&[
        T::File("big", &big),
        T::File("after", b"#!/bin/sh\n"),
    ]));
    let layer = read(&bytes, Compression::Zstd).unwrap();
    assert_eq!(layer.entries[0].size, 8 << 20);
    assert_eq!(content(&layer.entries[0].content), "none");
    assert_eq!(content(&layer.entries[1].content), "script:/bin/sh");
}

/// Words of pseudo-random data in the first file: more than one zstd block.
const WORDS: u32 = 100_000;

fn two_files() -> Vec<u8> {
    // Enough incompressible-ish data that a cut lands inside the first file.
    let data: Vec<u8> = (0..WORDS)
        .flat_map(|i| i.wrapping_mul(2654435761).to_le_bytes())
        .collect();
    tar(&[
        T::File("usr/lib/first", &data),
        T::File("usr/lib/second", b"#!/bin/sh\n"),
    ])
}

fn error_text(result: Result<Layer, LayerError>) -> String {
    match result {
        Ok(layer) => panic!("expected an error, got {} entries", layer.entries.len()),
        // The source is part of the message already.
        Err(e) => e.to_string(),
    }
}

#[test]
fn truncated_gzip_layer_is_an_error() {
    let whole = gzip(&two_files());
    // Cut in the middle, and cut just before the trailer (CRC and size).
    for cut in [whole.len() / 2, whole.len() - 4, whole.len() - 1] {
        let text = error_text(read(&whole[..cut], Compression::Gzip));
        assert!(text.contains("/usr/lib/"), "cut {cut}: {text}");
    }
}

#[test]
fn truncated_zstd_layer_is_an_error() {
    let whole = zstd(&two_files());
    for cut in [whole.len() / 2, whole.len() - 1] {
        let text = error_text(read(&whole[..cut], Compression::Zstd));
        assert!(text.contains("/usr/lib/"), "cut {cut}: {text}");
    }
}

#[test]
fn corrupt_gzip_layer_is_an_error() {
    let mut bytes = gzip(&two_files());
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 16] {
        *b ^= 0x5a;
    }
    error_text(read(&bytes, Compression::Gzip));
    // A flipped byte in the stored CRC-32 alone.
    let mut bytes = gzip(&two_files());
    let crc = bytes.len() - 8;
    bytes[crc] ^= 1;
    error_text(read(&bytes, Compression::Gzip));
}

#[test]
fn truncated_plain_tar_is_an_error_even_at_an_entry_boundary() {
    let whole = two_files();
    // Each file is a 512-byte header plus data padded to 512: the second entry
    // starts right after the first one's data.
    let first_data = WORDS as usize * 4;
    let boundary = 512 + first_data.div_ceil(512) * 512;
    let text = error_text(read(&whole[..boundary], Compression::None));
    assert!(text.contains("end-of-archive"), "{text}");
    assert!(text.contains("/usr/lib/first"), "{text}");
    // Inside the first file's data.
    let text = error_text(read(&whole[..4096], Compression::None));
    assert!(text.contains("/usr/lib/first"), "{text}");
    // Inside the second header.
    let text = error_text(read(&whole[..boundary + 100], Compression::None));
    assert!(text.contains("/usr/lib/first"), "{text}");
    // An empty stream is not an empty layer.
    error_text(read(&[], Compression::None));
}

#[test]
fn broken_tar_header_is_an_error() {
    let mut bytes = two_files();
    // The first header's checksum no longer matches.
    bytes[10] ^= 0x40;
    error_text(read(&bytes, Compression::None));
}

#[test]
fn dir_tree_matches_what_gnu_tar_records() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("usr/bin")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("usr/bin/a"), b"#!/bin/sh\necho\n").unwrap();
    std::fs::set_permissions(
        root.join("usr/bin/a"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    std::fs::hard_link(root.join("usr/bin/a"), root.join("usr/bin/b")).unwrap();
    std::fs::write(root.join("etc/ld.so.conf"), b"/opt/lib\n").unwrap();
    std::fs::write(root.join("usr/bin/prog"), elf_bytes(64)).unwrap();
    std::fs::write(root.join("usr/data"), vec![7u8; 5000]).unwrap();
    symlink("usr/bin", root.join("bin")).unwrap();
    symlink("/nowhere", root.join("dangling")).unwrap();

    let ours = super::read_dir_tree(root, &Limits::default()).unwrap();
    let mut ours_sorted = summary(&ours);
    ours_sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let paths: Vec<&str> = ours.entries.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/",
            "/bin",
            "/dangling",
            "/etc",
            "/etc/ld.so.conf",
            "/usr",
            "/usr/bin",
            "/usr/bin/a",
            "/usr/bin/b",
            "/usr/bin/prog",
            "/usr/data"
        ]
    );

    let output = std::process::Command::new("tar")
        .args(["--sort=name", "--numeric-owner", "-cf", "-", "-C"])
        .arg(root)
        .arg(".")
        .output();
    let Ok(output) = output else {
        eprintln!("tar is not available; compared with the literal list only");
        return;
    };
    assert!(output.status.success());
    let theirs = read(&output.stdout, Compression::None).unwrap();
    let mut theirs_sorted = summary(&theirs);
    theirs_sorted.sort_by(|a, b| a.0.cmp(&b.0));
    // GNU tar records the mode of the root as it is; so do we.
    assert_eq!(ours_sorted, theirs_sorted);
    assert_eq!(
        ours.entries[8].kind,
        EntryKind::HardLink("/usr/bin/a".into())
    );
}
