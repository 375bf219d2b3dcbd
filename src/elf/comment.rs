//! `.comment`: the NUL-separated strings compilers and linkers leave there
//! (`GCC: (Debian 12.2.0-14) 12.2.0`, `clang version 14.0.6`,
//! `rustc version 1.70.0 (90c541806 2023-05-31)`, `Linker: LLD 16.0.0`).

/// At most this many distinct strings are kept.
const MAX_STRINGS: usize = 16;
/// A string longer than this is not a compiler's and is skipped.
const MAX_LEN: usize = 256;

/// What `.comment` says: the rustc version, if any, and every other string.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Comment {
    pub rustc_version: Option<String>,
    pub others: Vec<String>,
}

pub fn read(section: &[u8]) -> Comment {
    let mut out = Comment::default();
    for raw in section.split(|&b| b == 0) {
        let Ok(s) = std::str::from_utf8(raw) else {
            continue;
        };
        let s = s.trim();
        if s.is_empty() || s.len() > MAX_LEN {
            continue;
        }
        if let Some(rest) = s.strip_prefix("rustc version ") {
            if out.rustc_version.is_none() {
                let v = rest.split(' ').next().unwrap_or_default();
                if is_version(v) {
                    out.rustc_version = Some(v.to_string());
                }
            }
            continue;
        }
        if out.others.len() < MAX_STRINGS && !out.others.iter().any(|o| o == s) {
            out.others.push(s.to_string());
        }
    }
    out
}

/// `X.Y.Z`, optionally followed by `-suffix` (`1.75.0-nightly`).
pub fn is_version(v: &str) -> bool {
    let core = v.split('-').next().unwrap_or_default();
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()))
}
