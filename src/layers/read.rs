use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::build::{LayerBuilder, RawKind};
use super::{Compression, Layer, LayerError, Limits};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// Reads one layer blob stream into entries, in one pass.
///
/// The compression is decided by the stream's magic bytes; `compression`
/// (from the media type) is only a hint, and a stream whose magic contradicts
/// it is read as what it is. The stream must be complete: a truncated or
/// corrupt compressed stream, a broken tar header, or a tar stream without
/// its end-of-archive marker is an error naming the entry being read.
pub fn read_layer(
    mut reader: impl Read,
    compression: Compression,
    digest: &str,
    limits: &Limits,
) -> Result<Layer, LayerError> {
    let mut magic = [0u8; 4];
    let magic_len = read_up_to(&mut reader, &mut magic).map_err(|source| LayerError::Io {
        path: "the start of the layer".to_string(),
        source,
    })?;
    let magic = &magic[..magic_len];
    let stream = magic.chain(reader);
    // The declared compression never overrides what the bytes say.
    let _declared = compression;
    let decoded: Box<dyn Read + '_> = if magic.starts_with(&GZIP_MAGIC) {
        Box::new(flate2::read::MultiGzDecoder::new(stream))
    } else if magic.starts_with(&ZSTD_MAGIC) {
        Box::new(
            zstd::stream::read::Decoder::new(stream).map_err(|source| LayerError::Io {
                path: "the start of the layer".to_string(),
                source,
            })?,
        )
    } else {
        Box::new(stream)
    };
    walk_tar(decoded, digest, limits)
}

/// Fills as much of `buf` as the stream has; returns how much.
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Remembers whether the stream below the tar reader ever ran dry, which
/// tells a tar that ended at its end-of-archive marker from one that was cut.
struct EofTracker<R> {
    inner: R,
    hit_eof: bool,
}

impl<R: Read> Read for EofTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.hit_eof = true;
        }
        Ok(n)
    }
}

fn walk_tar(stream: impl Read, digest: &str, limits: &Limits) -> Result<Layer, LayerError> {
    let mut archive = tar::Archive::new(EofTracker {
        inner: stream,
        hit_eof: false,
    });
    let mut builder = LayerBuilder::new(limits);
    // The path of the entry last seen, for error messages.
    let mut last = String::new();
    let after_last = |last: &str| {
        if last.is_empty() {
            "the first entry of the layer".to_string()
        } else {
            format!("{last} (or the header after it)")
        }
    };

    let entries = archive.entries().map_err(|source| LayerError::Io {
        path: after_last(&last),
        source,
    })?;
    for item in entries {
        let mut entry = item.map_err(|source| LayerError::Io {
            path: after_last(&last),
            source,
        })?;
        let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        last = super::normalize(&raw_path);
        let header = entry.header();
        let link = || {
            entry
                .link_name_bytes()
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                RawKind::File
            }
            tar::EntryType::Directory => RawKind::Dir,
            tar::EntryType::Symlink => RawKind::Symlink(link()),
            tar::EntryType::Link => RawKind::HardLink(link()),
            // Metadata for the whole archive, not a file.
            tar::EntryType::XGlobalHeader => continue,
            _ => RawKind::Other,
        };
        let mode = header.mode().map_err(|source| LayerError::Io {
            path: last.clone(),
            source,
        })?;
        let size = match kind {
            RawKind::File => entry.size(),
            _ => 0,
        };
        builder
            .push(&raw_path, kind, mode, size, &mut entry)
            .map_err(|source| LayerError::Io {
                path: last.clone(),
                source,
            })?;
    }

    let mut rest = archive.into_inner();
    if rest.hit_eof {
        return Err(LayerError::Format(if last.is_empty() {
            "the layer holds no tar stream (not even an end-of-archive marker)".to_string()
        } else {
            format!(
                "the layer's tar stream ends after {last} without an end-of-archive marker: truncated"
            )
        }));
    }
    // Drain what follows the marker so that the decompressor checks its own
    // end (gzip trailer, complete zstd frame).
    io::copy(&mut rest, &mut io::sink()).map_err(|source| LayerError::Io {
        path: format!("the end of the layer (after {last})"),
        source,
    })?;
    Ok(builder.finish(digest))
}

/// Walks a root filesystem directory (without following symlinks) as one
/// layer: the entries a tar of it would hold, in sorted depth-first order,
/// with files sharing an inode recorded as hard links to the first of them.
pub fn read_dir_tree(root: &Path, limits: &Limits) -> Result<Layer, LayerError> {
    let io_err = |path: &str| {
        let path = path.to_string();
        move |source| LayerError::Io { path, source }
    };
    let mut builder = LayerBuilder::new(limits);
    let mut first_link: HashMap<(u64, u64), String> = HashMap::new();
    // The root itself is what the user named: it may be a symlink to a directory.
    let root_meta = fs::metadata(root).map_err(io_err("/"))?;
    if !root_meta.is_dir() {
        return Err(LayerError::Format(format!(
            "{} is not a directory",
            root.display()
        )));
    }
    let mut stack: Vec<(PathBuf, String)> = vec![(root.to_path_buf(), "/".to_string())];
    while let Some((host, path)) = stack.pop() {
        let meta = if path == "/" {
            root_meta.clone()
        } else {
            fs::symlink_metadata(&host).map_err(io_err(&path))?
        };
        let mode = meta.mode();
        let file_type = meta.file_type();
        if file_type.is_dir() {
            builder
                .push(&path, RawKind::Dir, mode, 0, &mut io::empty())
                .map_err(io_err(&path))?;
            let mut children = Vec::new();
            for child in fs::read_dir(&host).map_err(io_err(&path))? {
                let child = child.map_err(io_err(&path))?;
                children.push(child.file_name());
            }
            children.sort();
            for name in children.into_iter().rev() {
                let mut child_path = path.clone();
                if child_path != "/" {
                    child_path.push('/');
                }
                child_path.push_str(&name.to_string_lossy());
                stack.push((host.join(&name), child_path));
            }
        } else if file_type.is_symlink() {
            let target = fs::read_link(&host).map_err(io_err(&path))?;
            let target = target.as_os_str().to_string_lossy().into_owned();
            builder
                .push(&path, RawKind::Symlink(target), mode, 0, &mut io::empty())
                .map_err(io_err(&path))?;
        } else if file_type.is_file() {
            if meta.nlink() > 1 {
                let inode = (meta.dev(), meta.ino());
                if let Some(first) = first_link.get(&inode) {
                    builder
                        .push(
                            &path,
                            RawKind::HardLink(first.clone()),
                            mode,
                            0,
                            &mut io::empty(),
                        )
                        .map_err(io_err(&path))?;
                    continue;
                }
                first_link.insert(inode, path.clone());
            }
            let mut file = fs::File::open(&host).map_err(io_err(&path))?;
            builder
                .push(&path, RawKind::File, mode, meta.len(), &mut file)
                .map_err(io_err(&path))?;
        } else {
            builder
                .push(&path, RawKind::Other, mode, 0, &mut io::empty())
                .map_err(io_err(&path))?;
        }
    }
    Ok(builder.finish(&format!("dir:{}", root.display())))
}
