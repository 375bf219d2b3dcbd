//! glibc's `/etc/ld.so.cache`: the old `ld.so-1.7.0` format, the new
//! `glibc-ld.so.cache1.1` format, and the old one followed by the new one.
//!
//! Layouts as glibc's `sysdeps/generic/dl-cache.h` declares them:
//!
//! - old: `char magic[11]` ("ld.so-1.7.0"), padding to 12, `u32 nlibs`, then
//!   `nlibs` × `{i32 flags, u32 key, u32 value}`; key and value index a string
//!   table that starts right after the last entry.
//! - new: `char magic[17]` ("glibc-ld.so.cache"), `char version[3]` ("1.1"),
//!   `u32 nlibs`, `u32 len_strings`, `u8 flags` (low two bits: 0 unset,
//!   1 invalid, 2 little-endian, 3 big-endian), 3 bytes padding,
//!   `u32 extension_offset`, `u32 unused[3]` — 48 bytes — then `nlibs` ×
//!   `{i32 flags, u32 key, u32 value, u32 osversion, u64 hwcap}`. String
//!   indices are relative to the start of this header (`elf/dl-cache.c` sets
//!   `cache_data = (const char *) cache_new`).
//! - combined: an old cache whose string table begins with a new cache,
//!   aligned with `ALIGN_CACHE`. The loader reads the new part.
//!
//! The file is written in the byte order of the machine ldconfig ran for.

/// One cache entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdCacheEntry {
    /// The soname key, e.g. `libc.so.6`.
    pub name: String,
    /// The path it maps to.
    pub path: String,
    /// The raw flags word (type and architecture bits).
    pub flags: i32,
    /// hwcap / hwcaps subdirectory index bits (new format).
    pub hwcap: u64,
}

/// A parsed cache.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LdCache {
    pub entries: Vec<LdCacheEntry>,
}

const OLD_MAGIC: &[u8] = b"ld.so-1.7.0";
const OLD_HEADER: usize = 16;
const OLD_ENTRY: usize = 12;
const NEW_MAGIC: &[u8] = b"glibc-ld.so.cache1.1";
const NEW_HEADER: usize = 48;
const NEW_ENTRY: usize = 24;
/// Longest key or path accepted (PATH_MAX).
const MAX_STRING: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Little,
    Big,
}

fn u32_at(bytes: &[u8], at: usize, order: Order) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(match order {
        Order::Little => u32::from_le_bytes(b),
        Order::Big => u32::from_be_bytes(b),
    })
}

fn u64_at(bytes: &[u8], at: usize, order: Order) -> Option<u64> {
    let b: [u8; 8] = bytes.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(match order {
        Order::Little => u64::from_le_bytes(b),
        Order::Big => u64::from_be_bytes(b),
    })
}

/// The NUL-terminated string at `base + offset`, bounded by the file end.
fn string_at(bytes: &[u8], base: usize, offset: u32) -> Result<String, String> {
    let start = base
        .checked_add(offset as usize)
        .filter(|s| *s < bytes.len())
        .ok_or_else(|| format!("string offset {offset} is outside the file"))?;
    let rest = &bytes[start..];
    let window = &rest[..rest.len().min(MAX_STRING + 1)];
    let len = window
        .iter()
        .position(|b| *b == 0)
        .ok_or_else(|| format!("string at offset {offset} is unterminated or too long"))?;
    Ok(String::from_utf8_lossy(&window[..len]).into_owned())
}

/// Parses the bytes of an `ld.so.cache`. Hostile input gives an error, never a panic.
pub fn parse_ld_so_cache(bytes: &[u8]) -> Result<LdCache, String> {
    if bytes.starts_with(NEW_MAGIC) {
        return parse_new(bytes, 0);
    }
    if !bytes.starts_with(OLD_MAGIC) {
        return Err("not an ld.so.cache (unknown magic)".into());
    }
    let (nlibs, order) = old_count(bytes)?;
    let strings = OLD_HEADER + nlibs * OLD_ENTRY;
    // A new cache embedded in the string table, aligned to the alignment of
    // `struct cache_file_new` (8 where u64 is 8-aligned, 4 on i386 and the like).
    for align in [8usize, 4] {
        let at = strings.div_ceil(align) * align;
        if bytes.len() > at + NEW_HEADER && bytes[at..].starts_with(NEW_MAGIC) {
            return parse_new(bytes, at);
        }
    }
    let mut entries = Vec::with_capacity(nlibs);
    for i in 0..nlibs {
        let at = OLD_HEADER + i * OLD_ENTRY;
        let field = |k: usize| {
            u32_at(bytes, at + 4 * k, order).ok_or_else(|| format!("entry {i} is truncated"))
        };
        let flags = field(0)? as i32;
        let key = field(1)?;
        let value = field(2)?;
        entries.push(LdCacheEntry {
            name: string_at(bytes, strings, key)?,
            path: string_at(bytes, strings, value)?,
            flags,
            hwcap: 0,
        });
    }
    Ok(LdCache { entries })
}

/// The old header's entry count, and the byte order that makes it fit the file.
fn old_count(bytes: &[u8]) -> Result<(usize, Order), String> {
    let room = bytes.len().saturating_sub(OLD_HEADER) / OLD_ENTRY;
    for order in [Order::Little, Order::Big] {
        let n = u32_at(bytes, 12, order).ok_or("old-format header is truncated")? as usize;
        if n <= room {
            return Ok((n, order));
        }
    }
    Err(format!(
        "old-format cache declares more entries than its {} bytes hold",
        bytes.len()
    ))
}

/// Parses the new-format cache whose header starts at `base`.
fn parse_new(bytes: &[u8], base: usize) -> Result<LdCache, String> {
    let header_end = base
        .checked_add(NEW_HEADER)
        .filter(|e| *e <= bytes.len())
        .ok_or("new-format header is truncated")?;
    let room = (bytes.len() - header_end) / NEW_ENTRY;
    let fits = |order| {
        u32_at(bytes, base + 20, order)
            .map(|n| n as usize)
            .filter(|n| *n <= room)
    };
    let order = match bytes[base + 28] & 3 {
        2 => Order::Little,
        3 => Order::Big,
        1 => return Err("cache marks its byte order as invalid".into()),
        // Unset (written by an ldconfig before 2.33): whichever order fits.
        _ => {
            if fits(Order::Little).is_some() {
                Order::Little
            } else {
                Order::Big
            }
        }
    };
    let nlibs = fits(order).ok_or_else(|| {
        format!(
            "new-format cache declares more entries than its {} bytes hold",
            bytes.len()
        )
    })?;
    let mut entries = Vec::with_capacity(nlibs);
    for i in 0..nlibs {
        let at = header_end + i * NEW_ENTRY;
        let truncated = || format!("entry {i} is truncated");
        let flags = u32_at(bytes, at, order).ok_or_else(truncated)? as i32;
        let key = u32_at(bytes, at + 4, order).ok_or_else(truncated)?;
        let value = u32_at(bytes, at + 8, order).ok_or_else(truncated)?;
        let hwcap = u64_at(bytes, at + 16, order).ok_or_else(truncated)?;
        entries.push(LdCacheEntry {
            name: string_at(bytes, base, key)?,
            path: string_at(bytes, base, value)?,
            flags,
            hwcap,
        });
    }
    Ok(LdCache { entries })
}

/// `ldconfig.h`'s FLAG_* values: the type in the low byte, the required
/// architecture in the second.
pub(crate) mod flags {
    pub const FLAG_ELF: i32 = 0x0001;
    pub const FLAG_ELF_LIBC6: i32 = 0x0003;
    pub const FLAG_X8664_LIB64: i32 = 0x0300;
    pub const FLAG_S390_LIB64: i32 = 0x0400;
    pub const FLAG_POWERPC_LIB64: i32 = 0x0500;
    pub const FLAG_X8664_LIBX32: i32 = 0x0800;
    pub const FLAG_ARM_LIBHF: i32 = 0x0900;
    pub const FLAG_AARCH64_LIB64: i32 = 0x0a00;
    pub const FLAG_ARM_LIBSF: i32 = 0x0b00;
    pub const FLAG_RISCV_FLOAT_ABI_SOFT: i32 = 0x0f00;
    pub const FLAG_RISCV_FLOAT_ABI_DOUBLE: i32 = 0x1000;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;
    use std::process::Command;

    /// `ldconfig -p`'s description of a flags word (elf/cache.c print_entry),
    /// for the flags these tests meet.
    fn describe(flags: i32) -> String {
        let kind = match flags & 0xff {
            1 => "ELF",
            3 => "libc6",
            other => return format!("type {other}"),
        };
        let arch = match flags & 0xff00 {
            0 => "",
            0x0300 => ",x86-64",
            0x0800 => ",x32",
            0x0a00 => ",AArch64",
            0x0900 => ",hard-float",
            _ => ",?",
        };
        format!("{kind}{arch}")
    }

    /// `(name, description, path)` of every line of `ldconfig -p [-C file]`.
    fn ldconfig_p(cache: Option<&Path>) -> Option<BTreeSet<(String, String, String)>> {
        let mut cmd = Command::new("ldconfig");
        cmd.arg("-p");
        if let Some(c) = cache {
            cmd.arg("-C").arg(c);
        }
        let out = cmd.output().ok()?;
        if !out.status.success() {
            return None;
        }
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut set = BTreeSet::new();
        for line in text.lines().filter(|l| l.starts_with('\t')) {
            let (left, path) = line.trim().split_once(" => ")?;
            let (name, desc) = left.split_once(" (")?;
            let desc = desc.trim_end_matches(')');
            // Drop ", hwcap: ..." and ", OS ABI: ..." decorations.
            let desc: Vec<&str> = desc
                .split(", ")
                .filter(|d| !d.starts_with("hwcap") && !d.starts_with("OS ABI"))
                .collect();
            set.insert((name.to_string(), desc.join(", "), path.to_string()));
        }
        Some(set)
    }

    fn ours(cache: &LdCache) -> BTreeSet<(String, String, String)> {
        cache
            .entries
            .iter()
            .map(|e| (e.name.clone(), describe(e.flags), e.path.clone()))
            .collect()
    }

    #[test]
    fn host_cache_matches_ldconfig_p() {
        let Ok(bytes) = std::fs::read("/etc/ld.so.cache") else {
            return;
        };
        let Some(expected) = ldconfig_p(None) else {
            return;
        };
        let parsed = parse_ld_so_cache(&bytes).expect("host cache parses");
        assert!(!expected.is_empty());
        assert_eq!(ours(&parsed), expected);
    }

    /// A cache built by ldconfig for a separate root holding an x86-64 and an
    /// i386 library, in each of ldconfig's three output formats.
    #[test]
    fn foreign_root_caches_in_every_format() {
        if Command::new("ldconfig").arg("--version").output().is_err() {
            return;
        }
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        for d in ["etc", "lib/x86_64-linux-gnu", "usr/lib/i386-linux-gnu"] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        let Ok(z) = std::fs::read("/lib/x86_64-linux-gnu/libz.so.1") else {
            return;
        };
        std::fs::write(r.join("lib/x86_64-linux-gnu/libz.so.1"), z).unwrap();
        let built = Command::new("gcc")
            .args(["-m32", "-shared", "-nostdlib", "-x", "c", "-", "-o"])
            .arg(r.join("usr/lib/i386-linux-gnu/libt32.so.1"))
            .arg("-Wl,-soname,libt32.so.1")
            .stdin(std::process::Stdio::null())
            .status();
        let have_i386 = matches!(built, Ok(s) if s.success());
        std::fs::write(r.join("etc/ld.so.conf"), "/usr/lib/i386-linux-gnu\n").unwrap();
        for format in ["new", "old", "compat"] {
            let name = format!("/etc/{format}.cache");
            let status = Command::new("ldconfig")
                .args(["-X", "-c", format, "-r"])
                .arg(r)
                .args(["-C", &name])
                .status()
                .unwrap();
            assert!(status.success());
            let file = r.join(name.trim_start_matches('/'));
            let expected = ldconfig_p(Some(&file)).expect("ldconfig -p reads it");
            let parsed = parse_ld_so_cache(&std::fs::read(&file).unwrap()).unwrap();
            assert_eq!(ours(&parsed), expected, "format {format}");
            assert!(expected.iter().any(|(n, d, p)| n == "libz.so.1"
                && d == "libc6,x86-64"
                && p == "/lib/x86_64-linux-gnu/libz.so.1"));
            if have_i386 {
                assert!(
                    expected.iter().any(|(n, _, p)| n == "libt32.so.1"
                        && p == "/usr/lib/i386-linux-gnu/libt32.so.1")
                );
            }
        }
    }

    /// Builds a new-format cache by hand, from the header layout in dl-cache.h.
    fn new_cache(big: bool, entries: &[(i32, &str, &str, u64)]) -> Vec<u8> {
        let w32 = |v: &mut Vec<u8>, x: u32| {
            v.extend_from_slice(&if big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            })
        };
        let mut strings = Vec::new();
        let strings_at = NEW_HEADER + entries.len() * NEW_ENTRY;
        let mut offsets = Vec::new();
        for (_, k, p, _) in entries {
            let ko = strings_at + strings.len();
            strings.extend_from_slice(k.as_bytes());
            strings.push(0);
            let po = strings_at + strings.len();
            strings.extend_from_slice(p.as_bytes());
            strings.push(0);
            offsets.push((ko as u32, po as u32));
        }
        let mut v = NEW_MAGIC.to_vec();
        w32(&mut v, entries.len() as u32);
        w32(&mut v, strings.len() as u32);
        v.extend_from_slice(&[if big { 3 } else { 2 }, 0, 0, 0]);
        w32(&mut v, 0);
        v.extend_from_slice(&[0; 12]);
        assert_eq!(v.len(), NEW_HEADER);
        for ((flags, _, _, hwcap), (k, p)) in entries.iter().zip(&offsets) {
            w32(&mut v, *flags as u32);
            w32(&mut v, *k);
            w32(&mut v, *p);
            w32(&mut v, 0);
            v.extend_from_slice(&if big {
                hwcap.to_be_bytes()
            } else {
                hwcap.to_le_bytes()
            });
        }
        v.extend_from_slice(&strings);
        v
    }

    #[test]
    fn big_endian_new_format() {
        let bytes = new_cache(
            true,
            &[(0x0403, "libc.so.6", "/lib/s390x-linux-gnu/libc.so.6", 0)],
        );
        let c = parse_ld_so_cache(&bytes).unwrap();
        assert_eq!(
            c.entries,
            vec![LdCacheEntry {
                name: "libc.so.6".into(),
                path: "/lib/s390x-linux-gnu/libc.so.6".into(),
                flags: 0x0403,
                hwcap: 0,
            }]
        );
        let little = new_cache(false, &[(0x0a03, "libm.so.6", "/lib/libm.so.6", 1 << 62)]);
        let c = parse_ld_so_cache(&little).unwrap();
        assert_eq!(c.entries[0].flags, 0x0a03);
        assert_eq!(c.entries[0].hwcap, 1 << 62);
    }

    #[test]
    fn hostile_bytes_give_errors() {
        assert!(parse_ld_so_cache(b"").is_err());
        assert!(parse_ld_so_cache(b"garbage").is_err());
        assert!(parse_ld_so_cache(NEW_MAGIC).is_err());
        let good = new_cache(false, &[(0x0303, "libz.so.1", "/lib/libz.so.1", 0)]);
        // Every truncation is an error or a shorter valid parse, never a panic.
        for n in 0..good.len() {
            let _ = parse_ld_so_cache(&good[..n]);
        }
        // A huge entry count.
        let mut huge = good.clone();
        huge[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(parse_ld_so_cache(&huge).is_err());
        // A string offset past the end.
        let mut far = good.clone();
        far[NEW_HEADER + 4..NEW_HEADER + 8].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
        assert!(parse_ld_so_cache(&far).is_err());
        // An unterminated string.
        let mut open = good.clone();
        *open.last_mut().unwrap() = b'x';
        assert!(parse_ld_so_cache(&open).is_err());
        // Old format with an absurd count in either byte order.
        let mut old = OLD_MAGIC.to_vec();
        old.push(0);
        old.extend_from_slice(&[0x7f, 0xff, 0xff, 0x7f]);
        assert!(parse_ld_so_cache(&old).is_err());
        // Byte flip fuzz over a valid file.
        for i in 0..good.len() {
            let mut b = good.clone();
            b[i] ^= 0xff;
            let _ = parse_ld_so_cache(&b);
        }
    }
}
