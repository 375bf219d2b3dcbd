//! Read-only access to the files of an image layout, whether it sits in a
//! directory or inside a tar archive (which is indexed once and never
//! extracted: members are read by seeking into the archive).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A file opened from a layout: its bytes and its size.
pub(crate) type Opened<'a> = (Box<dyn Read + Send + 'a>, u64);

/// The files of an image layout, addressed by relative `/`-separated paths.
pub(crate) trait Files: Send + Sync {
    /// Opens `path`; `Ok(None)` when there is no such regular file.
    fn open(&self, path: &str) -> io::Result<Option<Opened<'_>>>;

    /// Whether `path` names a regular file.
    fn has(&self, path: &str) -> bool {
        matches!(self.open(path), Ok(Some(_)))
    }
}

/// Reads at most `cap` bytes of `reader`; more is an error.
pub(crate) fn read_capped(reader: impl Read, cap: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    reader.take(cap.saturating_add(1)).read_to_end(&mut out)?;
    if out.len() as u64 > cap {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("larger than the JSON document size limit ({cap} bytes)"),
        ));
    }
    Ok(out)
}

/// Splits a path into its components, dropping empty ones and `.`, and
/// applying `..` (clamped at the top).
pub(crate) fn normalise(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// A layout in a directory on disk.
pub(crate) struct DirFiles {
    root: PathBuf,
}

impl DirFiles {
    pub(crate) fn new(root: &Path) -> DirFiles {
        DirFiles {
            root: root.to_path_buf(),
        }
    }
}

impl Files for DirFiles {
    fn open(&self, path: &str) -> io::Result<Option<Opened<'_>>> {
        // Only plain components: nothing may leave the layout directory.
        let parts: Vec<&str> = path.split('/').collect();
        if parts
            .iter()
            .any(|p| p.is_empty() || *p == "." || *p == "..")
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("refusing path {path:?}"),
            ));
        }
        let full = parts.iter().fold(self.root.clone(), |acc, p| acc.join(p));
        let file = match File::open(&full) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Ok(None);
        }
        Ok(Some((Box::new(file), meta.len())))
    }
}

/// Where a tar member lives.
#[derive(Debug, Clone)]
enum Member {
    /// Its data: offset in the archive and length.
    Data { offset: u64, size: u64 },
    /// A symbolic or hard link to another member (normalised path).
    Link(String),
}

/// The most members an archive may hold.
const MAX_MEMBERS: usize = 1 << 20;
/// The most links followed while opening one member.
const MAX_LINKS: usize = 16;

/// A layout inside an uncompressed tar archive.
pub(crate) struct TarFiles {
    file: Arc<File>,
    members: HashMap<String, Member>,
}

/// How a tar archive could not be indexed.
#[derive(Debug)]
pub(crate) enum TarError {
    /// The file is compressed with the named method.
    Compressed(&'static str),
    Io(io::Error),
}

impl From<io::Error> for TarError {
    fn from(e: io::Error) -> TarError {
        TarError::Io(e)
    }
}

/// Names the compression of a stream by its first bytes, if any.
fn compression_of(magic: &[u8]) -> Option<&'static str> {
    if magic.starts_with(&[0x1f, 0x8b]) {
        Some("gzip")
    } else if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Some("zstd")
    } else if magic.starts_with(b"BZh") {
        Some("bzip2")
    } else if magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some("xz")
    } else {
        None
    }
}

impl TarFiles {
    /// Indexes the archive at `path` in one pass over its headers.
    pub(crate) fn scan(path: &Path) -> Result<TarFiles, TarError> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        let mut magic = [0u8; 6];
        let n = read_up_to(&mut file, &mut magic)?;
        if let Some(method) = compression_of(&magic[..n]) {
            return Err(TarError::Compressed(method));
        }
        file.seek(SeekFrom::Start(0))?;
        let mut members = HashMap::new();
        {
            let mut archive = tar::Archive::new(BufReader::new(&mut file));
            for entry in archive.entries_with_seek()? {
                let entry = entry?;
                if members.len() >= MAX_MEMBERS {
                    return Err(TarError::Io(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("more than {MAX_MEMBERS} members"),
                    )));
                }
                let Ok(name) = std::str::from_utf8(&entry.path_bytes()).map(normalise) else {
                    continue;
                };
                if name.is_empty() {
                    continue;
                }
                let kind = entry.header().entry_type();
                let member = if kind.is_file() || kind.is_contiguous() {
                    let offset = entry.raw_file_position();
                    let size = entry.size();
                    if offset.checked_add(size).is_none_or(|end| end > len) {
                        return Err(TarError::Io(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("member {name} runs past the end of the archive"),
                        )));
                    }
                    Member::Data { offset, size }
                } else if kind.is_symlink() || kind.is_hard_link() {
                    let Some(target) = entry.link_name_bytes() else {
                        continue;
                    };
                    let Ok(target) = std::str::from_utf8(&target) else {
                        continue;
                    };
                    let resolved = if kind.is_symlink() && !target.starts_with('/') {
                        let parent = name.rsplit_once('/').map_or("", |(dir, _)| dir);
                        normalise(&format!("{parent}/{target}"))
                    } else {
                        normalise(target)
                    };
                    Member::Link(resolved)
                } else {
                    continue;
                };
                members.insert(name, member);
            }
        }
        Ok(TarFiles {
            file: Arc::new(file),
            members,
        })
    }
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl Files for TarFiles {
    fn open(&self, path: &str) -> io::Result<Option<Opened<'_>>> {
        let mut name = normalise(path);
        for _ in 0..=MAX_LINKS {
            match self.members.get(&name) {
                None => return Ok(None),
                Some(Member::Link(target)) => name = target.clone(),
                Some(Member::Data { offset, size }) => {
                    let reader = Section {
                        file: Arc::clone(&self.file),
                        pos: *offset,
                        end: offset.saturating_add(*size),
                    };
                    return Ok(Some((Box::new(reader), *size)));
                }
            }
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("too many links while opening {path}"),
        ))
    }
}

/// A window of a file, read with positioned reads so that several windows
/// of one file can be read at once from different threads.
struct Section {
    file: Arc<File>,
    pos: u64,
    end: u64,
}

impl Read for Section {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build_tar(path: &Path, files: &[(&str, &[u8])], links: &[(&str, &str)]) {
        let mut b = tar::Builder::new(File::create(path).unwrap());
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            b.append_data(&mut h, name, *data).unwrap();
        }
        for (name, target) in links {
            let mut h = tar::Header::new_gnu();
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_size(0);
            b.append_link(&mut h, name, target).unwrap();
        }
        b.finish().unwrap();
    }

    fn read(files: &dyn Files, path: &str) -> Option<Vec<u8>> {
        let (r, size) = files.open(path).unwrap()?;
        let data = read_capped(r, 1 << 20).unwrap();
        assert_eq!(data.len() as u64, size);
        Some(data)
    }

    #[test]
    fn members_are_read_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar");
        build_tar(
            &path,
            &[("./index.json", b"{}"), ("blobs/sha256/ab", b"hello")],
            &[("x/layer.tar", "../blobs/sha256/ab"), ("loop", "loop")],
        );
        let t = TarFiles::scan(&path).unwrap();
        assert_eq!(read(&t, "index.json").unwrap(), b"{}");
        assert_eq!(read(&t, "blobs/sha256/ab").unwrap(), b"hello");
        assert_eq!(read(&t, "x/layer.tar").unwrap(), b"hello");
        assert!(t.open("missing").unwrap().is_none());
        assert!(t.open("loop").is_err());
    }

    #[test]
    fn compressed_tar_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.tar.gz");
        std::fs::write(&path, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0]).unwrap();
        assert!(matches!(
            TarFiles::scan(&path),
            Err(TarError::Compressed("gzip"))
        ));
    }

    #[test]
    fn dir_files_refuse_escapes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"x").unwrap();
        let d = DirFiles::new(dir.path());
        assert_eq!(read(&d, "f").unwrap(), b"x");
        assert!(d.open("../f").is_err());
        assert!(d.open("/etc/passwd").is_err());
        assert!(d.open("nope").unwrap().is_none());
    }
}
