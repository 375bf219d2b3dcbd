//! Go build info: the blob the Go linker writes at the start of
//! `.go.buildinfo` (or, without section headers, of the first writable,
//! non-executable PT_LOAD).
//!
//! The blob is 16-byte aligned and starts with a 32-byte header: the magic
//! `\xff Go buildinf:` (14 bytes), the pointer size (4 or 8), and a flags
//! byte. With flag bit 1 set (Go 1.18 and later) two uvarint-prefixed strings
//! follow the header: the Go version and the module info. Otherwise (before
//! Go 1.18) the header holds, at offset 16, two pointers of the given size
//! and byte order (flag bit 0: big-endian) to Go string headers (data
//! pointer, length), which point at the strings.
//!
//! The module info is framed by two 16-byte sentinels and holds tab-separated
//! lines: `path`, `mod`, `dep`, `=>` and, since Go 1.18, `build KEY=VALUE`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The magic the blob starts with.
pub const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
/// How many bytes from the start of the data are searched for the blob.
pub const SEARCH_WINDOW: usize = 64 * 1024;
/// At most this many build settings are kept.
const MAX_SETTINGS: usize = 64;
/// A setting value longer than this is cut.
const MAX_VALUE: usize = 1024;

/// What a Go binary says about its build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoBuildInfo {
    /// `go1.19.8`, `go1.13`, `devel ...`.
    pub version: String,
    /// The main module's path (`path` line), when module info is present.
    pub main_module: Option<String>,
    /// The `build` lines (Go 1.18 and later): `CGO_ENABLED`, `GOARCH`,
    /// `GOOS`, `GOAMD64`, `GOARM`, `GOARM64`, `-buildmode`, `-tags`, ...
    pub settings: BTreeMap<String, String>,
}

impl GoBuildInfo {
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.get(key).map(String::as_str)
    }

    /// `CGO_ENABLED` as a bool, when the binary records it.
    pub fn cgo_enabled(&self) -> Option<bool> {
        match self.setting("CGO_ENABLED")? {
            "1" => Some(true),
            "0" => Some(false),
            _ => None,
        }
    }

    /// `GOAMD64=vN` as N.
    pub fn amd64_level(&self) -> Option<u8> {
        let v = self.setting("GOAMD64")?.strip_prefix('v')?;
        v.parse().ok().filter(|n| (1..=4).contains(n))
    }

    /// The release as (major, minor, patch): `go1.18` is (1, 18, 0), and a
    /// pre-release such as `go1.21rc2` counts as its release. `None` for
    /// development builds.
    pub fn version_numbers(&self) -> Option<(u32, u32, u32)> {
        let v = self.version.strip_prefix("go")?;
        let end = v
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(v.len());
        let mut parts = v[..end].split('.').map(|p| p.parse::<u32>().ok());
        let major = parts.next()??;
        let minor = parts.next()??;
        let patch = parts.next().flatten().unwrap_or(0);
        Some((major, minor, patch))
    }
}

/// Decodes the blob found in `data` (the start of the build-info area).
/// `read_at(addr, len)` returns the file bytes at a virtual address, for
/// the pointer-based encoding. `None` when there is no valid blob.
pub fn decode<'a>(
    data: &'a [u8],
    read_at: impl Fn(u64, u64) -> Option<&'a [u8]>,
) -> Option<GoBuildInfo> {
    let data = &data[..data.len().min(SEARCH_WINDOW)];
    let at = find_aligned(data)?;
    let blob = &data[at..];
    let header = blob.get(..32)?;
    let ptr_size = usize::from(header[14]);
    let flags = header[15];
    let (version, modinfo) = if flags & 2 != 0 {
        let (version, rest) = uvarint_string(&blob[32..])?;
        let (modinfo, _) = uvarint_string(rest).unwrap_or((&[], &[]));
        (version, modinfo)
    } else {
        if ptr_size != 4 && ptr_size != 8 {
            return None;
        }
        let big = flags & 1 != 0;
        let ptr = |b: &[u8]| read_word(b, ptr_size, big);
        let string_at = |addr: u64| -> Option<&'a [u8]> {
            let hdr = read_at(addr, 2 * ptr_size as u64)?;
            let data = ptr(hdr.get(..ptr_size)?)?;
            let len = ptr(hdr.get(ptr_size..2 * ptr_size)?)?;
            if len > SEARCH_WINDOW as u64 * 16 {
                return None;
            }
            read_at(data, len)
        };
        let version = string_at(ptr(&header[16..16 + ptr_size])?)?;
        let modinfo = ptr(&header[16 + ptr_size..16 + 2 * ptr_size])
            .and_then(string_at)
            .unwrap_or_default();
        (version, modinfo)
    };
    if version.is_empty() || version.len() > 256 {
        return None;
    }
    let mut info = GoBuildInfo {
        version: String::from_utf8_lossy(version).into_owned(),
        ..GoBuildInfo::default()
    };
    // The sentinels: 16 bytes on each side, the last line ending in '\n'
    // right before the closing one.
    if modinfo.len() >= 33 && modinfo[modinfo.len() - 17] == b'\n' {
        let body = String::from_utf8_lossy(&modinfo[16..modinfo.len() - 16]);
        read_modinfo(&body, &mut info);
    }
    Some(info)
}

/// The offset of the first 16-byte-aligned magic with room for the header.
fn find_aligned(data: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at + 32 <= data.len() {
        if data[at..].starts_with(MAGIC) {
            return Some(at);
        }
        at += 16;
    }
    None
}

fn read_word(b: &[u8], size: usize, big: bool) -> Option<u64> {
    match size {
        4 => {
            let a: [u8; 4] = b.get(..4)?.try_into().ok()?;
            Some(u64::from(if big {
                u32::from_be_bytes(a)
            } else {
                u32::from_le_bytes(a)
            }))
        }
        8 => {
            let a: [u8; 8] = b.get(..8)?.try_into().ok()?;
            Some(if big {
                u64::from_be_bytes(a)
            } else {
                u64::from_le_bytes(a)
            })
        }
        _ => None,
    }
}

/// A uvarint length and that many bytes; the rest after them.
fn uvarint_string(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut len: u64 = 0;
    let mut shift = 0;
    let mut used: usize = 0;
    for &b in data.iter().take(10) {
        used += 1;
        len |= u64::from(b & 0x7f).checked_shl(shift)?;
        if b & 0x80 == 0 {
            let len = usize::try_from(len).ok()?;
            let end = used.checked_add(len)?;
            return Some((data.get(used..end)?, &data[end..]));
        }
        shift += 7;
    }
    None
}

fn read_modinfo(body: &str, info: &mut GoBuildInfo) {
    for line in body.lines() {
        let mut fields = line.split('\t');
        match fields.next() {
            Some("path") if info.main_module.is_none() => {
                info.main_module = fields.next().map(|p| cut(p).to_string());
            }
            Some("build") => {
                let Some(kv) = fields.next() else { continue };
                let Some((k, v)) = kv.split_once('=') else {
                    continue;
                };
                if info.settings.len() < MAX_SETTINGS || info.settings.contains_key(k) {
                    info.settings.insert(cut(k).to_string(), cut(v).to_string());
                }
            }
            _ => {}
        }
    }
}

fn cut(s: &str) -> &str {
    if s.len() <= MAX_VALUE {
        return s;
    }
    let mut end = MAX_VALUE;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
