//! glibc's `/etc/ld.so.cache` parser on arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cache) = elfgate::loader::parse_ld_so_cache(data) {
        let _ = format!("{cache:?}");
    }
});
