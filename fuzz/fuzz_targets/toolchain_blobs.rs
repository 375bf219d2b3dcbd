//! The toolchain decoders on arbitrary bytes, called directly rather than
//! through a whole ELF file (which reaches them only when its section or
//! segment tables are intact): Go build info, cargo-auditable's `.dep-v0`,
//! `.ARM.attributes`, `.comment`, and the rustc-commit and musl-version
//! scans of read-only data.
//!
//! The first byte picks the decoder. For Go the next 8 bytes (little
//! endian) are the address of the area that follows, so that the pointers
//! of the pre-1.18 encoding can land inside it.
#![no_main]

use elfgate::elf::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    match which % 5 {
        0 => {
            let Some((base, area)) = rest.split_first_chunk::<8>() else {
                return;
            };
            if let Some(go) = fuzzing::go_build_info(area, u64::from_le_bytes(*base)) {
                assert!(!go.version.is_empty());
                let _ = go.cgo_enabled();
                let _ = go.amd64_level();
                let _ = go.version_numbers();
            }
        }
        1 => {
            if let Some(deps) = fuzzing::auditable(rest) {
                let _ = deps.has("tikv-jemalloc-sys");
            }
        }
        2 => {
            if let Some(attrs) = fuzzing::arm_attributes(rest) {
                let _ = attrs.arch_name();
            }
        }
        3 => {
            let _ = fuzzing::comment(rest);
        }
        _ => {
            if let Some(commit) = fuzzing::rustc_commit(rest) {
                assert_eq!(commit.len(), 40);
            }
            let _ = fuzzing::musl_version(rest);
        }
    }
});
