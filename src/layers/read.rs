use std::cell::RefCell;
use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;

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
    reader: impl Read,
    compression: Compression,
    digest: &str,
    limits: &Limits,
) -> Result<Layer, LayerError> {
    read_layer_sized(reader, compression, digest, limits).map(|(layer, _)| layer)
}

/// [`read_layer`], also returning how many bytes the layer decompressed to:
/// what it counted against [`Limits::max_image_bytes`].
pub fn read_layer_sized(
    mut reader: impl Read,
    compression: Compression,
    digest: &str,
    limits: &Limits,
) -> Result<(Layer, u64), LayerError> {
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

/// What the tar walk and the stream below the tar reader share.
#[derive(Debug, Default)]
struct StreamState {
    /// Decompressed bytes read so far.
    pos: u64,
    /// While the tar reader looks for the next entry: the position it may
    /// not read past (the end of the previous entry's data plus
    /// [`Limits::max_tar_header_bytes`]). `u64::MAX` otherwise.
    header_end: u64,
    /// Whether the stream ever ran dry, which tells a tar that ended at its
    /// end-of-archive marker from one that was cut.
    hit_eof: bool,
}

/// The decompressed stream as the tar reader sees it: counts every byte
/// against the layer and image limits, and bounds what the tar reader may
/// consume between two entries (GNU long names, PAX records and sparse maps,
/// which it buffers whole).
struct GuardedStream<'l, R> {
    inner: R,
    state: Rc<RefCell<StreamState>>,
    limits: &'l Limits,
}

impl<R: Read> Read for GuardedStream<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut state = self.state.borrow_mut();
        let room = state.header_end.saturating_sub(state.pos);
        if room == 0 && !buf.is_empty() {
            return Err(limit_error(format!(
                "the tar extension records (long names, PAX headers, sparse maps) in front of \
                 one entry exceed the max-tar-header-bytes limit ({} bytes)",
                self.limits.max_tar_header_bytes
            )));
        }
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 && want > 0 {
            state.hit_eof = true;
        }
        state.pos = state.pos.saturating_add(n as u64);
        if state.pos > self.limits.max_layer_bytes {
            return Err(limit_error(format!(
                "the layer decompresses to more than the max-layer-bytes limit ({} bytes)",
                self.limits.max_layer_bytes
            )));
        }
        self.limits
            .count_image_bytes(n as u64)
            .map_err(limit_error)?;
        Ok(n)
    }
}

fn limit_error(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// A path for an error message: at most 200 bytes of it.
fn shown(path: &str) -> String {
    if path.len() <= 200 {
        return path.to_string();
    }
    let mut end = 200;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &path[..end])
}

/// Checks a path or link target from a tar header against the path limits.
fn check_path(what: &str, path: &str, limits: &Limits) -> Result<(), LayerError> {
    if path.len() > limits.max_path_len {
        return Err(LayerError::Format(format!(
            "{what} {} is {} bytes long, over the max-path-length limit ({} bytes)",
            shown(path),
            path.len(),
            limits.max_path_len
        )));
    }
    let depth = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .count();
    if depth > limits.max_path_depth {
        return Err(LayerError::Format(format!(
            "{what} {} has {depth} components, over the max-path-depth limit ({})",
            shown(path),
            limits.max_path_depth
        )));
    }
    Ok(())
}

fn walk_tar(stream: impl Read, digest: &str, limits: &Limits) -> Result<(Layer, u64), LayerError> {
    let state = Rc::new(RefCell::new(StreamState {
        header_end: limits.max_tar_header_bytes,
        ..StreamState::default()
    }));
    let mut archive = tar::Archive::new(GuardedStream {
        inner: stream,
        state: Rc::clone(&state),
        limits,
    });
    let mut builder = LayerBuilder::new(limits);
    // The path of the entry last seen, for error messages.
    let mut last = String::new();
    let after_last = |last: &str| {
        if last.is_empty() {
            "the first entry of the layer".to_string()
        } else {
            format!("{} (or the header after it)", shown(last))
        }
    };
    let mut count: u64 = 0;

    let entries = archive.entries().map_err(|source| LayerError::Io {
        path: after_last(&last),
        source,
    })?;
    for item in entries {
        let mut entry = item.map_err(|source| {
            let s = state.borrow();
            if last.is_empty() && s.hit_eof && s.pos < 512 {
                // Not even one header block: whatever this is, it is no tar.
                LayerError::Format(format!(
                    "the layer is not a tar stream: it ends after {} bytes, before its first \
                     512-byte header",
                    s.pos
                ))
            } else {
                LayerError::Io {
                    path: after_last(&last),
                    source,
                }
            }
        })?;
        // The tar reader has read this entry's headers and nothing of its
        // data: the data starts here, and the next header follows it.
        {
            let mut s = state.borrow_mut();
            let stored = if entry.header().entry_type() == tar::EntryType::GNUSparse {
                entry.header().entry_size().unwrap_or(0)
            } else {
                entry.size()
            };
            let data_end = s.pos.saturating_add(stored.saturating_add(511) & !511);
            s.header_end = data_end.saturating_add(limits.max_tar_header_bytes);
        }
        count += 1;
        if count > limits.max_entries {
            return Err(LayerError::Format(format!(
                "the layer has more than the max-entries limit ({} entries)",
                limits.max_entries
            )));
        }
        let raw_path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        check_path("entry path", &raw_path, limits)?;
        last = super::normalize(&raw_path);
        let header = entry.header();
        let link = match entry.link_name_bytes() {
            Some(b) => {
                let target = String::from_utf8_lossy(&b).into_owned();
                check_path(&format!("{}: link target", shown(&last)), &target, limits)?;
                target
            }
            None => String::new(),
        };
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                RawKind::File
            }
            tar::EntryType::Directory => RawKind::Dir,
            tar::EntryType::Symlink => RawKind::Symlink(link),
            tar::EntryType::Link => RawKind::HardLink(link),
            // Metadata for the whole archive, not a file.
            tar::EntryType::XGlobalHeader => continue,
            _ => RawKind::Other,
        };
        let mode = header.mode().map_err(|source| LayerError::Io {
            path: shown(&last),
            source,
        })?;
        let size = match kind {
            RawKind::File => entry.size(),
            _ => 0,
        };
        builder
            .push(&raw_path, kind, mode, size, &mut entry)
            .map_err(|source| LayerError::Io {
                path: shown(&last),
                source,
            })?;
    }

    let mut rest = archive.into_inner();
    // After the end-of-archive marker, only the layer and image limits apply.
    rest.state.borrow_mut().header_end = u64::MAX;
    if rest.state.borrow().hit_eof {
        return Err(LayerError::Format(if last.is_empty() {
            "the layer holds no tar stream (not even an end-of-archive marker)".to_string()
        } else {
            format!(
                "the layer's tar stream ends after {} without an end-of-archive marker: truncated",
                shown(&last)
            )
        }));
    }
    // Drain what follows the marker so that the decompressor checks its own
    // end (gzip trailer, complete zstd frame).
    io::copy(&mut rest, &mut io::sink()).map_err(|source| LayerError::Io {
        path: format!("the end of the layer (after {})", shown(&last)),
        source,
    })?;
    let decompressed = rest.state.borrow().pos;
    Ok((builder.finish(digest), decompressed))
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
