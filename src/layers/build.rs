//! What a layer entry becomes, whatever it was read from (a tar stream or a
//! directory): path normalisation, whiteout names, hard links within the
//! layer, and the sniffing of each regular file's first bytes.

use std::collections::HashMap;
use std::io::{self, Read};
use std::sync::Arc;

use super::{Content, Entry, EntryKind, Layer, Limits, keeps_bytes, normalize};

/// The whiteout prefix of the OCI image layer format.
const WHITEOUT_PREFIX: &str = ".wh.";
/// The opaque-directory marker.
const OPAQUE_MARKER: &str = ".wh..wh..opq";
/// The sniff buffer is kept for the next file unless a huge ELF grew it past this.
const KEEP_BUFFER: usize = 64 * 1024 * 1024;

/// An entry as its source describes it, before whiteouts and hard links are
/// interpreted.
pub(crate) enum RawKind {
    File,
    Dir,
    /// Target verbatim.
    Symlink(String),
    /// Target as written (normalised here).
    HardLink(String),
    Other,
}

/// Accumulates one layer's entries.
pub(crate) struct LayerBuilder<'l> {
    limits: &'l Limits,
    entries: Vec<Entry>,
    /// Latest non-directory entry of this layer at each path, for hard links.
    files: HashMap<String, usize>,
    /// Reused for every ELF file read.
    buf: Vec<u8>,
}

impl<'l> LayerBuilder<'l> {
    pub(crate) fn new(limits: &'l Limits) -> Self {
        LayerBuilder {
            limits,
            entries: Vec::new(),
            files: HashMap::new(),
            buf: Vec::new(),
        }
    }

    /// Adds one entry. `data` yields a regular file's bytes (at most `size`);
    /// only what classification needs is read from it.
    pub(crate) fn push(
        &mut self,
        raw_path: &str,
        kind: RawKind,
        mode: u32,
        size: u64,
        data: &mut dyn Read,
    ) -> io::Result<()> {
        let path = normalize(raw_path);
        match whiteout(&path) {
            Whiteout::No => {}
            Whiteout::Ignore => return Ok(()),
            Whiteout::Deletes(deleted) => {
                self.add(deleted, EntryKind::Whiteout, mode, 0, Content::None);
                return Ok(());
            }
            Whiteout::Opaque(dir) => {
                self.add(dir, EntryKind::OpaqueWhiteout, mode, 0, Content::None);
                return Ok(());
            }
        }
        match kind {
            RawKind::File => {
                let content = classify(&path, size, data, self.limits, &mut self.buf)?;
                self.add(path, EntryKind::File, mode, size, content);
            }
            RawKind::Dir => self.add(path, EntryKind::Dir, mode, 0, Content::None),
            RawKind::Symlink(target) => {
                self.add(path, EntryKind::Symlink(target), mode, 0, Content::None)
            }
            RawKind::HardLink(target) => {
                let target = normalize(&target);
                let (size, content) = match self.files.get(&target) {
                    Some(&i) => (self.entries[i].size, self.entries[i].content.clone()),
                    None => (0, Content::None),
                };
                self.add(path, EntryKind::HardLink(target), mode, size, content);
            }
            RawKind::Other => self.add(path, EntryKind::Other, mode, 0, Content::None),
        }
        Ok(())
    }

    fn add(&mut self, path: String, kind: EntryKind, mode: u32, size: u64, content: Content) {
        match kind {
            EntryKind::File | EntryKind::HardLink(_) => {
                self.files.insert(path.clone(), self.entries.len());
            }
            EntryKind::Dir | EntryKind::Symlink(_) | EntryKind::Other => {
                self.files.remove(&path);
            }
            EntryKind::Whiteout | EntryKind::OpaqueWhiteout => {}
        }
        self.entries.push(Entry {
            path,
            kind,
            mode: mode & 0o7777,
            size,
            content,
        });
    }

    pub(crate) fn finish(self, digest: &str) -> Layer {
        Layer {
            digest: digest.to_string(),
            entries: self.entries,
        }
    }
}

enum Whiteout {
    No,
    /// `.wh.NAME`: the path it deletes.
    Deletes(String),
    /// `.wh..wh..opq`: the directory it makes opaque.
    Opaque(String),
    /// Other `.wh..wh.` names (aufs bookkeeping) and nonsense such as `.wh..`.
    Ignore,
}

/// Recognises the whiteout names of a normalised path.
fn whiteout(path: &str) -> Whiteout {
    let Some(slash) = path.rfind('/') else {
        return Whiteout::No;
    };
    let (dir, name) = (&path[..slash], &path[slash + 1..]);
    let Some(deleted) = name.strip_prefix(WHITEOUT_PREFIX) else {
        return Whiteout::No;
    };
    let dir = if dir.is_empty() { "/" } else { dir };
    if name == OPAQUE_MARKER {
        return Whiteout::Opaque(dir.to_string());
    }
    if deleted.is_empty()
        || deleted == "."
        || deleted == ".."
        || deleted.starts_with(WHITEOUT_PREFIX)
    {
        return Whiteout::Ignore;
    }
    let mut full = String::with_capacity(path.len());
    if dir != "/" {
        full.push_str(dir);
    }
    full.push('/');
    full.push_str(deleted);
    Whiteout::Deletes(full)
}

/// Decides what to keep of one regular file of `size` bytes at `path`,
/// reading from `data` only what that needs: the configuration files the
/// loader reads, whole ELF files up to the cap, the `#!` line of scripts.
/// Anything else costs the first four bytes. `buf` is reused between files.
pub(crate) fn classify(
    path: &str,
    size: u64,
    data: &mut dyn Read,
    limits: &Limits,
    buf: &mut Vec<u8>,
) -> io::Result<Content> {
    // Checked before the magic: a configuration file that happens to start
    // with `#!` must still reach the loader whole.
    if keeps_bytes(path) && size <= limits.max_config_size {
        let mut bytes = Vec::new();
        read_exactly(data, size, &mut bytes)?;
        return Ok(Content::Config(Arc::new(bytes)));
    }
    let mut head = [0u8; 4];
    let head_len = size.min(head.len() as u64) as usize;
    data.read_exact(&mut head[..head_len])?;
    let head = &head[..head_len];

    if crate::elf::is_elf(head) {
        if size > limits.max_elf_size {
            return Ok(Content::ElfTooLarge);
        }
        let len = read_reusing(data, head, size, buf)?;
        let content = match crate::elf::parse(&buf[..len]) {
            Ok(facts) => Content::Elf(Arc::new(facts)),
            Err(e) => Content::BadElf(e),
        };
        if buf.len() > KEEP_BUFFER {
            *buf = Vec::new();
        }
        return Ok(content);
    }

    if head.starts_with(b"#!") {
        // Its own small buffer: `buf` keeps its length for the next ELF file.
        let mut first = head.to_vec();
        let want = (limits.max_shebang as u64 + 2).min(size);
        data.take(want.saturating_sub(head.len() as u64))
            .read_to_end(&mut first)?;
        let line = &first[2..];
        let line = match line.iter().position(|&b| b == b'\n') {
            Some(end) => &line[..end],
            None => &line[..line.len().min(limits.max_shebang)],
        };
        return Ok(Content::Script(String::from_utf8_lossy(line).into_owned()));
    }
    Ok(Content::None)
}

/// Reads a whole file of `size` bytes, whose first bytes `head` are already
/// read, into `buf[..size]` and returns `size` as a length.
///
/// `buf` keeps its length (all of it initialised) from one file to the next,
/// so its bytes are zeroed only when it grows, not for every file. It grows
/// only as data arrives, by at most the larger of 1 MiB and what it already
/// holds: a size claimed by a header, without the bytes, allocates little.
fn read_reusing(
    data: &mut dyn Read,
    head: &[u8],
    size: u64,
    buf: &mut Vec<u8>,
) -> io::Result<usize> {
    let too_large = || io::Error::new(io::ErrorKind::InvalidData, "file too large for memory");
    let len = usize::try_from(size).map_err(|_| too_large())?;
    let mut filled = head.len();
    if buf.len() < filled {
        buf.resize(filled, 0);
    }
    buf[..filled].copy_from_slice(head);
    while filled < len {
        if filled == buf.len() {
            let grow = (len - filled).min(filled.max(1 << 20));
            buf.resize(filled + grow, 0);
        }
        let end = buf.len().min(len);
        match data.read(&mut buf[filled..end]) {
            Ok(0) => {
                let (got, want) = (filled - head.len(), len - head.len());
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("file data ends after {got} of {want} bytes"),
                ));
            }
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(len)
}

/// Appends exactly `len` bytes of `data` to `out`; fewer is a truncated input.
fn read_exactly(data: &mut dyn Read, len: u64, out: &mut Vec<u8>) -> io::Result<()> {
    let start = out.len();
    // The size comes from a header: reserve only a bounded amount up front.
    out.reserve(len.min(1 << 20) as usize);
    data.take(len).read_to_end(out)?;
    let got = (out.len() - start) as u64;
    if got != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("file data ends after {got} of {len} bytes"),
        ));
    }
    Ok(())
}
