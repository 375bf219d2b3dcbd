//! Builds layer tar streams in memory for tests.

use std::io::Write;

/// One entry of a test tar, in the order given.
pub(crate) enum T<'a> {
    File(&'a str, &'a [u8]),
    /// A file with explicit permission bits.
    FileMode(&'a str, &'a [u8], u32),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    HardLink(&'a str, &'a str),
}

/// A plain tar stream of `entries`, with its end-of-archive marker.
pub(crate) fn tar(entries: &[T]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        match *entry {
            T::File(path, data) | T::FileMode(path, data, _) => {
                let mode = match *entry {
                    T::FileMode(_, _, mode) => mode,
                    _ => 0o644,
                };
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(mode);
                header.set_size(data.len() as u64);
                builder.append_data(&mut header, path, data).unwrap();
            }
            T::Dir(path) => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                builder.append_data(&mut header, path, &[][..]).unwrap();
            }
            T::Symlink(path, target) => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                if target.len() <= 100 {
                    // Verbatim: the builder's link setter tidies targets
                    // (and refuses an empty one).
                    header.set_link_name_literal(target).unwrap();
                    builder.append_data(&mut header, path, &[][..]).unwrap();
                } else {
                    builder.append_link(&mut header, path, target).unwrap();
                }
            }
            T::HardLink(path, target) => {
                header.set_entry_type(tar::EntryType::Link);
                header.set_mode(0o644);
                header.set_size(0);
                builder.append_link(&mut header, path, target).unwrap();
            }
        }
    }
    builder.into_inner().unwrap()
}

pub(crate) fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

pub(crate) fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(bytes, 3).unwrap()
}

/// A layer read from a plain tar of `entries`.
pub(crate) fn layer(digest: &str, entries: &[T]) -> super::Layer {
    super::read_layer(
        &tar(entries)[..],
        super::Compression::None,
        digest,
        &super::Limits::default(),
    )
    .unwrap()
}
