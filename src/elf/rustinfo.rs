//! The Rust compiler behind a binary, when `.comment` does not say: the
//! standard library's panic locations keep their source paths,
//! `/rustc/<40 hex digits of the compiler's commit>/library/...`, in
//! read-only data, even in stripped binaries. And musl's version, which its
//! libc.so (also the dynamic loader) keeps as `__libc_version`, a string
//! of its read-only data beside the loader's banner `musl libc (ARCH)`.

const RUSTC_PREFIX: &[u8] = b"/rustc/";
/// musl's `ldd`/loader banner, present only in musl's libc.so.
const MUSL_BANNER: &[u8] = b"musl libc (";

/// The first `/rustc/<commit>/` commit in `data`, lowercase.
pub fn rustc_commit(data: &[u8]) -> Option<String> {
    let mut from = 0;
    while let Some(i) = find(&data[from..], RUSTC_PREFIX) {
        let start = from + i + RUSTC_PREFIX.len();
        if let Some(hash) = data.get(start..start + 40)
            && hash.iter().all(u8::is_ascii_hexdigit)
            && data.get(start + 40) == Some(&b'/')
        {
            return Some(String::from_utf8_lossy(hash).to_ascii_lowercase());
        }
        from = start;
    }
    None
}

/// musl's version, when `data` is musl's libc (it holds the banner
/// `musl libc (`): the one NUL-delimited string of the form `1.Y.Z` in it.
/// Where the linker put `__libc_version` varies (next to the banner on
/// x86-64, far from it on aarch64), so all of `data` is looked at; more than
/// one distinct candidate gives no answer rather than a guess.
pub fn musl_version(data: &[u8]) -> Option<String> {
    find(data, MUSL_BANNER)?;
    let mut found: Option<&str> = None;
    for s in data.split(|&b| b == 0) {
        let Ok(s) = std::str::from_utf8(s) else {
            continue;
        };
        if !looks_like_musl_version(s) {
            continue;
        }
        match found {
            None => found = Some(s),
            Some(f) if f == s => {}
            Some(_) => return None,
        }
    }
    found.map(str::to_string)
}

fn looks_like_musl_version(s: &str) -> bool {
    // `1.Y.Z`, each part 1 to 3 digits; no allocation, as it runs on every
    // NUL-delimited string of musl's libc.
    if !(5..=11).contains(&s.len()) || !s.starts_with("1.") {
        return false;
    }
    let mut parts = 0;
    for p in s.split('.') {
        parts += 1;
        if parts > 3 || p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return false;
        }
    }
    parts == 3
}

/// The offset of the first `needle` in `hay` (SIMD-accelerated: it runs over
/// the read-only data of every ELF file of an image).
pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}
