//! The limits of [`Limits`]: each one stops a hostile layer with an error
//! that names it, and none of them trips on an honest layer near it.

use super::testutil::{T, gzip, tar, zstd};
use super::{Compression, EntryKind, LayerError, Limits, read_layer};

fn read_with(bytes: &[u8], limits: &Limits) -> Result<super::Layer, LayerError> {
    read_layer(bytes, Compression::Sniff, "sha256:test", limits)
}

fn message(r: Result<super::Layer, LayerError>) -> String {
    match r {
        Ok(layer) => panic!("expected an error, got {} entries", layer.entries.len()),
        Err(e) => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text.push_str(": ");
                text.push_str(&s.to_string());
                source = s.source();
            }
            text
        }
    }
}

/// A tar whose one entry is `name`, written as a GNU long-name record of
/// that many bytes.
fn long_name_tar(name: &str) -> Vec<u8> {
    tar(&[T::File(name, b"x")])
}

/// A tar whose one entry carries a PAX record of `len` bytes of comment.
fn pax_tar(len: usize) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    let comment = "c".repeat(len);
    builder
        .append_pax_extensions([("comment", comment.as_bytes())])
        .unwrap();
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o644);
    header.set_size(1);
    builder.append_data(&mut header, "f", &b"x"[..]).unwrap();
    builder.into_inner().unwrap()
}

#[test]
fn decompressed_bytes_per_layer_are_capped_for_every_compression() {
    // 4 MiB of zeros in one file: compresses to a few kilobytes.
    let zeros = vec![0u8; 4 << 20];
    let plain = tar(&[T::File("big", &zeros)]);
    let limits = Limits {
        max_layer_bytes: 1 << 20,
        ..Limits::default()
    };
    for bytes in [plain.clone(), gzip(&plain), zstd(&plain)] {
        let text = message(read_with(&bytes, &limits));
        assert!(
            text.contains("max-layer-bytes limit (1048576 bytes)"),
            "{text}"
        );
    }
    // The same layer under a limit just above its size (file, two headers
    // and the two end blocks: 4 MiB + 2048 bytes, then the builder's padding).
    let limits = Limits {
        max_layer_bytes: plain.len() as u64,
        ..Limits::default()
    };
    let layer = read_with(&gzip(&plain), &limits).unwrap();
    assert_eq!(layer.entries.len(), 1);
    assert_eq!(layer.entries[0].size, 4 << 20);
}

#[test]
fn bytes_after_the_end_of_archive_count_too() {
    // A bomb hidden after the end-of-archive marker, where the tar reader
    // never looks, still decompresses when the reader drains the stream.
    let mut bytes = tar(&[T::File("a", b"x")]);
    bytes.extend(std::iter::repeat_n(0u8, 2 << 20));
    let limits = Limits {
        max_layer_bytes: 1 << 20,
        ..Limits::default()
    };
    let text = message(read_with(&gzip(&bytes), &limits));
    assert!(text.contains("max-layer-bytes"), "{text}");
}

#[test]
fn decompressed_bytes_per_image_add_up_across_layers() {
    let one = tar(&[T::File("f", &vec![7u8; 600 << 10])]);
    let limits = Limits {
        max_image_bytes: 1 << 20,
        ..Limits::default()
    }
    .for_image();
    // The first layer (about 600 KiB) fits, the second takes the total past 1 MiB.
    read_with(&one, &limits).unwrap();
    let text = message(read_with(&one, &limits));
    assert!(
        text.contains("max-image-bytes limit (1048576 bytes)"),
        "{text}"
    );
    // A fresh count for the next image.
    read_with(&one, &limits.for_image()).unwrap();
}

#[test]
fn entries_per_layer_are_capped() {
    let names: Vec<String> = (0..11).map(|i| format!("f{i}")).collect();
    let entries: Vec<T> = names.iter().map(|n| T::File(n, b"")).collect();
    let limits = Limits {
        max_entries: 10,
        ..Limits::default()
    };
    let text = message(read_with(&tar(&entries), &limits));
    assert!(text.contains("max-entries limit (10 entries)"), "{text}");
    let limits = Limits {
        max_entries: 11,
        ..Limits::default()
    };
    assert_eq!(
        read_with(&tar(&entries), &limits).unwrap().entries.len(),
        11
    );
}

#[test]
fn path_length_and_depth_are_capped() {
    let limits = Limits {
        max_path_len: 300,
        max_path_depth: 20,
        ..Limits::default()
    };
    let long = format!("d/{}", "n".repeat(299));
    let text = message(read_with(&long_name_tar(&long), &limits));
    assert!(
        text.contains("301 bytes long, over the max-path-length limit (300 bytes)"),
        "{text}"
    );
    // 300 bytes exactly is fine.
    let fits = format!("d/{}", "n".repeat(298));
    assert_eq!(
        read_with(&long_name_tar(&fits), &limits).unwrap().entries[0].path,
        format!("/{fits}")
    );

    let deep = vec!["d"; 21].join("/");
    let text = message(read_with(&tar(&[T::File(&deep, b"")]), &limits));
    assert!(
        text.contains("has 21 components, over the max-path-depth limit (20)"),
        "{text}"
    );
    let deep_enough = vec!["d"; 20].join("/");
    read_with(&tar(&[T::File(&deep_enough, b"")]), &limits).unwrap();

    // Link targets are held to the same limits.
    let target = "t".repeat(301);
    let text = message(read_with(&tar(&[T::Symlink("l", &target)]), &limits));
    assert!(text.contains("/l: link target"), "{text}");
    assert!(text.contains("max-path-length"), "{text}");
}

#[test]
fn gnu_long_names_and_pax_records_are_capped_before_the_tar_reader_buffers_them() {
    let limits = Limits {
        max_tar_header_bytes: 64 << 10,
        // So that the path limits do not speak first.
        max_path_len: 1 << 20,
        ..Limits::default()
    };
    // A 100 KiB long name: its record (header + data) is past 64 KiB.
    let name = "n".repeat(100 << 10);
    let text = message(read_with(&long_name_tar(&name), &limits));
    assert!(
        text.contains("max-tar-header-bytes limit (65536 bytes)"),
        "{text}"
    );
    let text = message(read_with(&pax_tar(100 << 10), &limits));
    assert!(
        text.contains("max-tar-header-bytes limit (65536 bytes)"),
        "{text}"
    );

    // Records under the cap are read, and a large file after them is not
    // mistaken for a header.
    let name = "n".repeat(10 << 10);
    let big = vec![1u8; 300 << 10];
    let mut bytes = tar(&[
        T::File(&name, b"x"),
        T::File("big", &big),
        T::File("after", b""),
    ]);
    let layer = read_with(&bytes, &limits).unwrap();
    assert_eq!(layer.entries.len(), 3);
    assert_eq!(layer.entries[0].path, format!("/{name}"));
    assert_eq!(layer.entries[1].size, 300 << 10);
    assert_eq!(layer.entries[2].path, "/after");
    bytes = pax_tar(10 << 10);
    assert_eq!(read_with(&bytes, &limits).unwrap().entries[0].path, "/f");
}

/// A GNU sparse entry `name` whose logical size is `real_size`, holding
/// `data` (a multiple of 512 bytes) at its very end.
pub(crate) fn sparse_tar(name: &str, real_size: u64, data: &[u8]) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    header.set_path(name).unwrap();
    header.set_entry_type(tar::EntryType::GNUSparse);
    header.set_mode(0o644);
    header.set_size(data.len() as u64);
    {
        let gnu = header.as_gnu_mut().unwrap();
        gnu.set_real_size(real_size);
        gnu.sparse[0].set_offset(real_size - data.len() as u64);
        gnu.sparse[0].set_length(data.len() as u64);
    }
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, data).unwrap();
    builder
        .append_data(&mut file_header(), "after", &b""[..])
        .unwrap();
    builder.into_inner().unwrap()
}

fn file_header() -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(0o644);
    header.set_size(0);
    header
}

#[test]
fn a_sparse_entry_is_read_by_its_logical_size_and_framed_by_its_stored_one() {
    // 2 GiB logically, 512 bytes stored: the next header follows the stored
    // bytes, and nothing near 2 GiB is read or allocated.
    let limits = Limits {
        max_tar_header_bytes: 4096,
        ..Limits::default()
    };
    let layer = read_with(&sparse_tar("holes", 2 << 30, &[b'x'; 512]), &limits).unwrap();
    let kinds: Vec<_> = layer
        .entries
        .iter()
        .map(|e| (e.path.as_str(), e.kind.clone(), e.size))
        .collect();
    assert_eq!(
        kinds,
        [
            ("/holes", EntryKind::File, 2 << 30),
            ("/after", EntryKind::File, 0)
        ]
    );
}
