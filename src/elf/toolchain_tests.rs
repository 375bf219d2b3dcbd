//! Toolchain facts: Go build info, `.comment`, rustc commits, cargo-auditable,
//! ARM attributes, musl's version. Expected values come from `go version -m`,
//! `readelf -p .comment`, `readelf -A`, `readelf -n` on the same files (see
//! testdata/toolchain/README.md), or from the formats' specifications.

use super::{ElfFacts, parse};

const GO113_ARM64: &[u8] = include_bytes!("../../testdata/toolchain/go1.13-arm64");
const GO118_ARM64: &[u8] = include_bytes!("../../testdata/toolchain/go1.18.3-arm64");
const RUST155_COMMIT: &[u8] = include_bytes!("../../testdata/toolchain/rust1.55-commit-arm64");
const RUST_AUDITABLE: &[u8] =
    include_bytes!("../../testdata/toolchain/rust-auditable-jemalloc-arm64");
const ARMEL_HELLO: &[u8] = include_bytes!("../../testdata/toolchain/armel-hello");
const AARCH64_4K: &[u8] = include_bytes!("../../testdata/toolchain/aarch64-maxpage4k");
const ARMHF_GLIBC: &[u8] = include_bytes!("../../testdata/elf/armhf-glibc-dynamic");
const X86_64_ISA_V3: &[u8] = include_bytes!("../../testdata/elf/x86_64-glibc-isa-v3");
const X86_64_GLIBC: &[u8] = include_bytes!("../../testdata/elf/x86_64-glibc-dynamic");

fn facts(bytes: &[u8]) -> ElfFacts {
    match parse(bytes) {
        Ok(f) => f,
        Err(e) => panic!("fixture failed to parse: {e}"),
    }
}

#[test]
fn go_before_1_18_pointer_based_build_info() {
    // `go version -m go1.13-arm64`: go1.13, path example.com/app, no build lines.
    let go = facts(GO113_ARM64).toolchain.go.expect("build info");
    assert_eq!(go.version, "go1.13");
    assert_eq!(go.main_module.as_deref(), Some("example.com/app"));
    assert!(go.settings.is_empty());
    assert_eq!(go.version_numbers(), Some((1, 13, 0)));
    assert_eq!(go.cgo_enabled(), None);
}

#[test]
fn go_1_18_inline_build_info_with_settings() {
    // `go version -m go1.18.3-arm64`.
    let go = facts(GO118_ARM64).toolchain.go.expect("build info");
    assert_eq!(go.version, "go1.18.3");
    assert_eq!(go.version_numbers(), Some((1, 18, 3)));
    assert_eq!(go.setting("GOARCH"), Some("arm64"));
    assert_eq!(go.setting("GOOS"), Some("linux"));
    assert_eq!(go.setting("-compiler"), Some("gc"));
    assert_eq!(go.cgo_enabled(), Some(false));
    assert_eq!(go.amd64_level(), None);
}

#[test]
fn go_build_info_without_section_headers() {
    // With e_shoff and e_shnum zeroed, the blob is found at the start of the
    // first writable, non-executable PT_LOAD, as Go's debug/buildinfo does.
    let mut bytes = GO118_ARM64.to_vec();
    bytes[0x28..0x30].fill(0); // e_shoff
    bytes[0x3c..0x40].fill(0); // e_shnum, e_shstrndx
    let go = facts(&bytes).toolchain.go.expect("build info");
    assert_eq!(go.version, "go1.18.3");
    assert_eq!(go.setting("GOARCH"), Some("arm64"));
}

#[test]
fn big_endian_pointer_based_build_info() {
    // The pre-1.18 blob of a big-endian 32-bit target: flags byte 1, 4-byte
    // pointers. Laid out by hand at address 0x1000.
    let mut blob = Vec::new();
    blob.extend_from_slice(super::goinfo::MAGIC);
    blob.extend_from_slice(&[4, 1]);
    blob.extend_from_slice(&0x1020u32.to_be_bytes()); // -> version string header
    blob.extend_from_slice(&0u32.to_be_bytes()); // no module info
    blob.resize(32, 0);
    blob.extend_from_slice(&0x1028u32.to_be_bytes()); // data
    blob.extend_from_slice(&8u32.to_be_bytes()); // len
    blob.extend_from_slice(b"go1.12.1");
    let area = blob.clone();
    let info = super::goinfo::decode(&area, |addr, len| {
        let at = usize::try_from(addr.checked_sub(0x1000)?).ok()?;
        area.get(at..at + usize::try_from(len).ok()?)
    })
    .expect("decodes");
    assert_eq!(info.version, "go1.12.1");
    assert_eq!(info.main_module, None);
}

#[test]
fn non_go_files_have_no_build_info() {
    assert_eq!(facts(X86_64_GLIBC).toolchain.go, None);
    assert_eq!(facts(ARMHF_GLIBC).toolchain.go, None);
}

#[test]
fn rustc_commit_from_std_paths_without_comment() {
    let t = facts(RUST155_COMMIT).toolchain;
    assert_eq!(t.rustc_version, None);
    assert_eq!(
        t.rustc_commit.as_deref(),
        Some("c8dfcfe046a7680554bf4eb612bad840e7631c4b")
    );
}

#[test]
fn rustc_version_and_cargo_auditable() {
    let t = facts(RUST_AUDITABLE).toolchain;
    // readelf -p .comment: "rustc version 1.75.0 (82e1608df 2023-12-21)"
    assert_eq!(t.rustc_version.as_deref(), Some("1.75.0"));
    assert!(t.compilers.is_empty());
    let deps = t.auditable.expect(".dep-v0");
    let names: Vec<(&str, &str, bool)> = deps
        .packages
        .iter()
        .map(|p| (p.name.as_str(), p.version.as_str(), p.root))
        .collect();
    assert_eq!(
        names,
        [
            ("app", "0.1.0", true),
            ("tikv-jemalloc-sys", "0.5.4+5.3.0-patched", false)
        ]
    );
    assert!(deps.has("tikv-jemalloc-sys"));
}

#[test]
fn gcc_version_from_comment() {
    let t = facts(X86_64_GLIBC).toolchain;
    assert_eq!(t.gcc_version(), Some("12.2.0"));
    assert_eq!(t.clang_version(), None);
    assert_eq!(t.rustc_version, None);
    assert_eq!(t.rustc_commit, None);
}

#[test]
fn comment_strings() {
    let c = super::comment::read(
        b"GCC: (Debian 12.2.0-14) 12.2.0\0Debian clang version 14.0.6\0\
          GCC: (Debian 12.2.0-14) 12.2.0\0rustc version 1.70.0 (90c541806 2023-05-31)\0",
    );
    assert_eq!(c.rustc_version.as_deref(), Some("1.70.0"));
    assert_eq!(
        c.others,
        [
            "GCC: (Debian 12.2.0-14) 12.2.0",
            "Debian clang version 14.0.6"
        ]
    );
    let t = super::Toolchain {
        compilers: c.others,
        ..Default::default()
    };
    assert_eq!(t.clang_version(), Some("14.0.6"));
}

#[test]
fn arm_attributes_armhf_and_armel() {
    // readelf -A: Tag_CPU_name "7-A", Tag_CPU_arch v7, Tag_ABI_VFP_args VFP registers.
    let hf = facts(ARMHF_GLIBC);
    let a = hf.toolchain.arm.as_ref().expect(".ARM.attributes");
    assert_eq!(a.cpu_arch, Some(10));
    assert_eq!(a.arch_name(), Some("v7"));
    assert_eq!(a.cpu_name.as_deref(), Some("7-A"));
    assert_eq!(a.vfp_args, Some(1));
    assert_eq!(hf.arm_eabi_version(), Some(5));
    // readelf -A: Tag_CPU_name "5TE", Tag_CPU_arch v5TE, no Tag_ABI_VFP_args;
    // readelf -h: Flags 0x5000200, Version5 EABI, soft-float ABI.
    let el = facts(ARMEL_HELLO);
    let a = el.toolchain.arm.as_ref().expect(".ARM.attributes");
    assert_eq!(a.arch_name(), Some("v5TE"));
    assert_eq!(a.cpu_name.as_deref(), Some("5TE"));
    assert_eq!(a.vfp_args, None);
    assert_eq!(el.arm_eabi_version(), Some(5));
    assert_eq!(el.arm_float_abi(), Some(super::ArmFloat::Soft));
    assert_eq!(el.interpreter.as_deref(), Some("/lib/ld-linux.so.3"));
}

#[test]
fn x86_isa_level_from_the_note() {
    // readelf -n: "x86 ISA needed: x86-64-baseline, x86-64-v3".
    assert_eq!(facts(X86_64_ISA_V3).x86_isa_level(), Some(3));
    // "x86 ISA needed: x86-64-baseline".
    assert_eq!(facts(X86_64_GLIBC).x86_isa_level(), Some(1));
    assert_eq!(facts(ARMHF_GLIBC).x86_isa_level(), None);
}

#[test]
fn arm64_4k_page_segments_are_kept() {
    // readelf -l: the second LOAD is at offset 0xdc8, address 0x1dc8.
    let f = facts(AARCH64_4K);
    let l = f.loads[1];
    assert_eq!((l.offset, l.vaddr), (0xdc8, 0x1dc8));
}

#[test]
fn musl_version_string() {
    let lib = b"\0\0musl libc (aarch64)\0Version %s\0Dynamic Program Loader\0xx\x001.2.3\0usage\0";
    assert_eq!(super::rustinfo::musl_version(lib).as_deref(), Some("1.2.3"));
    // No banner: not musl.
    assert_eq!(super::rustinfo::musl_version(b"\x001.2.3\0"), None);
    // Two different candidates: no guess.
    assert_eq!(
        super::rustinfo::musl_version(b"musl libc (x86_64)\x001.2.3\x001.1.24\0"),
        None
    );
}

#[test]
fn hostile_toolchain_sections_do_not_panic() {
    // Every prefix and a few corruptions of the fixtures parse or fail cleanly.
    for fixture in [GO113_ARM64, GO118_ARM64, RUST_AUDITABLE, ARMEL_HELLO] {
        for cut in (0..fixture.len()).step_by(7) {
            let _ = parse(&fixture[..cut]);
        }
        for i in (0..fixture.len()).step_by(3) {
            let mut b = fixture.to_vec();
            b[i] ^= 0xff;
            let _ = parse(&b);
        }
    }
    // A Go header claiming a huge inline string.
    let mut blob = super::goinfo::MAGIC.to_vec();
    blob.extend_from_slice(&[8, 2]);
    blob.resize(32, 0);
    blob.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    assert_eq!(super::goinfo::decode(&blob, |_, _| None), None);
    // ARM attributes with lengths past the end.
    assert_eq!(super::armattr::decode(b"A\xff\xff\xff\x7faeabi\0"), None);
}

#[test]
fn auditable_decompression_is_capped() {
    use std::io::Write;
    // 9 MiB of spaces inside valid JSON compresses to a few KiB.
    let mut json = b"{\"packages\":[".to_vec();
    json.extend(std::iter::repeat_n(b' ', 9 << 20));
    json.extend_from_slice(b"]}");
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&json).unwrap();
    let bomb = z.finish().unwrap();
    assert!(bomb.len() < 64 << 10);
    assert_eq!(super::auditable::decode(&bomb), None);
    // Not zlib, or not the expected JSON.
    assert_eq!(super::auditable::decode(b"not zlib"), None);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(br#"{"packages":[{"name":1}]}"#).unwrap();
    assert_eq!(super::auditable::decode(&z.finish().unwrap()), None);
}
