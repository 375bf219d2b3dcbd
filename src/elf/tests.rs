//! Tests on the fixtures in `testdata/elf/` (see its README and build.sh).
//! Every expected value was read off `readelf -h -d -l -V -n --wide` for that
//! file, not taken from this parser.

use super::*;

const X86_64_GLIBC: &[u8] = include_bytes!("../../testdata/elf/x86_64-glibc-dynamic");
const X86_64_ISA_V3: &[u8] = include_bytes!("../../testdata/elf/x86_64-glibc-isa-v3");
const AARCH64_GLIBC: &[u8] = include_bytes!("../../testdata/elf/aarch64-glibc-dynamic");
const AARCH64_BTI_SO: &[u8] = include_bytes!("../../testdata/elf/aarch64-libanswer-bti.so");
const ARMHF_GLIBC: &[u8] = include_bytes!("../../testdata/elf/armhf-glibc-dynamic");
const MUSL_STATIC: &[u8] = include_bytes!("../../testdata/elf/x86_64-musl-static");
const MUSL_STATIC_PIE: &[u8] = include_bytes!("../../testdata/elf/x86_64-musl-static-pie");
const MUSL_DYNAMIC: &[u8] = include_bytes!("../../testdata/elf/x86_64-musl-dynamic");
const LIBFOO: &[u8] = include_bytes!("../../testdata/elf/libfoo.so.1");
const USEFOO_WEAK_RPATH: &[u8] = include_bytes!("../../testdata/elf/usefoo-weak-rpath");
const USEFOO_WEAK_RPATH_NOSHDR: &[u8] =
    include_bytes!("../../testdata/elf/usefoo-weak-rpath-noshdr");
const USEFOO_RUNPATH: &[u8] = include_bytes!("../../testdata/elf/usefoo-runpath-nodeflib");
const S390X_DYNAMIC: &[u8] = include_bytes!("../../testdata/elf/s390x-dynamic");
const S390X_LIBSTUB: &[u8] = include_bytes!("../../testdata/elf/s390x-libstub.so.1");

const ALL: &[&[u8]] = &[
    X86_64_GLIBC,
    X86_64_ISA_V3,
    AARCH64_GLIBC,
    AARCH64_BTI_SO,
    ARMHF_GLIBC,
    MUSL_STATIC,
    MUSL_STATIC_PIE,
    MUSL_DYNAMIC,
    LIBFOO,
    USEFOO_WEAK_RPATH,
    USEFOO_WEAK_RPATH_NOSHDR,
    USEFOO_RUNPATH,
    S390X_DYNAMIC,
    S390X_LIBSTUB,
];

const R_X: u32 = 0x4 | 0x1; // PF_R | PF_X
const RW: u32 = 0x4 | 0x2; // PF_R | PF_W

fn load(offset: u64, vaddr: u64, filesz: u64, memsz: u64) -> LoadSegment {
    LoadSegment {
        offset,
        vaddr,
        filesz,
        memsz,
        align: 0x1000,
        flags: if offset == 0 { R_X } else { RW },
    }
}

fn need(file: &str, name: &str, weak: bool) -> VersionNeed {
    VersionNeed {
        file: file.into(),
        name: name.into(),
        weak,
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn facts(bytes: &[u8]) -> ElfFacts {
    match parse(bytes) {
        Ok(f) => f,
        Err(e) => panic!("fixture failed to parse: {e}"),
    }
}

#[test]
fn x86_64_glibc_pie_all_fields() {
    let expected = ElfFacts {
        class: Class::Elf64,
        endian: Endian::Little,
        machine: machine::EM_X86_64,
        file_type: FileType::SharedObject,
        flags: 0,
        entry: 0x5f0,
        interpreter: Some("/lib64/ld-linux-x86-64.so.2".into()),
        needed: strings(&["libc.so.6"]),
        soname: None,
        rpath: vec![],
        runpath: vec![],
        nodeflib: false,
        has_dynamic: true,
        linkage: Linkage::Dynamic,
        version_needs: vec![
            need("libc.so.6", "GLIBC_2.2.5", false),
            need("libc.so.6", "GLIBC_2.34", false),
        ],
        version_defs: vec![],
        loads: vec![load(0, 0, 0x7c4, 0x7c4), load(0xdd0, 0x1dd0, 0x248, 0x250)],
        gnu_properties: GnuProperties {
            // "x86 ISA needed: x86-64-baseline"
            x86_isa_needed: Some(0b1),
            aarch64_features: None,
        },
        // readelf -p .comment
        toolchain: crate::elf::Toolchain {
            compilers: strings(&["GCC: (Debian 12.2.0-14+deb12u1) 12.2.0"]),
            ..Default::default()
        },
    };
    assert_eq!(facts(X86_64_GLIBC), expected);
    assert_eq!(expected.oci_arch(), Some("amd64"));
}

#[test]
fn x86_64_isa_level_v3_note() {
    let f = facts(X86_64_ISA_V3);
    // "x86 ISA needed: x86-64-baseline, x86-64-v3": bits 0 and 2.
    assert_eq!(f.gnu_properties.x86_isa_needed, Some(0b101));
    assert_eq!(f.gnu_properties.aarch64_features, None);
}

#[test]
fn aarch64_glibc_pie() {
    let f = facts(AARCH64_GLIBC);
    assert_eq!(
        (f.class, f.endian, f.machine, f.file_type),
        (
            Class::Elf64,
            Endian::Little,
            machine::EM_AARCH64,
            FileType::SharedObject
        )
    );
    assert_eq!(f.entry, 0x680);
    assert_eq!(f.interpreter.as_deref(), Some("/lib/ld-linux-aarch64.so.1"));
    assert_eq!(f.needed, strings(&["libc.so.6"]));
    assert_eq!(
        f.version_needs,
        vec![
            need("libc.so.6", "GLIBC_2.17", false),
            need("libc.so.6", "GLIBC_2.34", false)
        ]
    );
    assert_eq!(
        f.loads,
        vec![load(0, 0, 0x89c, 0x89c), load(0xdc8, 0x1dc8, 0x270, 0x278)]
    );
    // Only an ABI-tag note: no GNU property note at all.
    assert_eq!(f.gnu_properties, GnuProperties::default());
    assert_eq!(f.linkage, Linkage::Dynamic);
    assert_eq!(f.oci_arch(), Some("arm64"));
}

#[test]
fn aarch64_bti_pac_property_on_dependency_free_library() {
    let f = facts(AARCH64_BTI_SO);
    // "AArch64 feature: BTI, PAC": bits 0 and 1.
    assert_eq!(f.gnu_properties.aarch64_features, Some(0b11));
    assert_eq!(f.gnu_properties.x86_isa_needed, None);
    assert_eq!(f.soname.as_deref(), Some("libanswer.so.1"));
    assert!(f.needed.is_empty());
    assert_eq!(f.interpreter, None);
    assert_eq!(f.entry, 0);
    // ET_DYN with a dynamic section, no interpreter and nothing needed.
    assert_eq!(f.linkage, Linkage::StaticPie);
}

#[test]
fn armhf_glibc_32_bit() {
    let f = facts(ARMHF_GLIBC);
    assert_eq!(
        (f.class, f.endian, f.machine, f.file_type),
        (
            Class::Elf32,
            Endian::Little,
            machine::EM_ARM,
            FileType::SharedObject
        )
    );
    // "Flags: 0x5000400, Version5 EABI, hard-float ABI"
    assert_eq!(f.flags, 0x0500_0400);
    assert_eq!(f.arm_float_abi(), Some(ArmFloat::Hard));
    assert_eq!(f.entry, 0x3f9);
    assert_eq!(f.interpreter.as_deref(), Some("/lib/ld-linux-armhf.so.3"));
    assert_eq!(f.needed, strings(&["libc.so.6"]));
    assert_eq!(
        f.version_needs,
        vec![
            need("libc.so.6", "GLIBC_2.4", false),
            need("libc.so.6", "GLIBC_2.34", false)
        ]
    );
    assert_eq!(
        f.loads,
        vec![load(0, 0, 0x634, 0x634), load(0xf08, 0x1f08, 0x134, 0x138)]
    );
    assert_eq!(f.oci_arch(), Some("arm"));
}

#[test]
fn musl_static_is_static() {
    let f = facts(MUSL_STATIC);
    assert_eq!(f.file_type, FileType::Executable);
    assert_eq!(f.entry, 0x40_015c);
    assert_eq!(f.interpreter, None);
    assert!(!f.has_dynamic);
    assert!(f.needed.is_empty());
    assert_eq!(f.linkage, Linkage::Static);
    assert_eq!(
        f.loads,
        vec![
            load(0, 0x40_0000, 0x13ec, 0x13ec),
            load(0x1fc0, 0x40_2fc0, 0x150, 0x7f8)
        ]
    );
}

#[test]
fn musl_static_pie_is_static_pie() {
    let f = facts(MUSL_STATIC_PIE);
    assert_eq!(f.file_type, FileType::SharedObject);
    assert_eq!(f.entry, 0x30c);
    assert_eq!(f.interpreter, None);
    assert!(f.has_dynamic);
    assert!(f.needed.is_empty());
    assert_eq!(f.linkage, Linkage::StaticPie);
    assert!(!f.is_dynamic());
}

#[test]
fn musl_dynamic() {
    let f = facts(MUSL_DYNAMIC);
    assert_eq!(f.interpreter.as_deref(), Some("/lib/ld-musl-x86_64.so.1"));
    assert_eq!(f.needed, strings(&["libc.so"]));
    assert_eq!(f.linkage, Linkage::Dynamic);
    // musl has no symbol versioning.
    assert!(f.version_needs.is_empty());
    assert_eq!(f.entry, 0x4a1);
}

#[test]
fn versioned_library_defs_and_soname() {
    let f = facts(LIBFOO);
    assert_eq!(f.soname.as_deref(), Some("libfoo.so.1"));
    assert_eq!(f.needed, strings(&["libc.so.6"]));
    // The BASE entry (libfoo.so.1) is not a version definition.
    assert_eq!(f.version_defs, strings(&["FOO_1.0", "FOO_2.0"]));
    assert_eq!(
        f.version_needs,
        vec![need("libc.so.6", "GLIBC_2.2.5", false)]
    );
    assert_eq!(f.interpreter, None);
    assert_eq!(f.entry, 0);
    // A shared library with DT_NEEDED and no interpreter.
    assert_eq!(f.linkage, Linkage::Dynamic);
    assert_eq!(
        f.loads,
        vec![load(0, 0, 0x658, 0x658), load(0xdf8, 0x1df8, 0x210, 0x218)]
    );
    assert_eq!(f.gnu_properties, GnuProperties::default());
}

fn check_weak_rpath(f: &ElfFacts) {
    assert_eq!(f.needed, strings(&["libfoo.so.1", "libc.so.6"]));
    assert_eq!(f.rpath, strings(&["$ORIGIN/lib", "/opt/foo/lib"]));
    assert!(f.runpath.is_empty());
    assert!(!f.nodeflib);
    assert_eq!(
        f.version_needs,
        vec![
            need("libc.so.6", "GLIBC_2.2.5", false),
            need("libc.so.6", "GLIBC_2.34", false),
            need("libfoo.so.1", "FOO_2.0", true),
        ]
    );
    assert_eq!(f.entry, 0x680);
    assert_eq!(
        f.loads,
        vec![load(0, 0, 0x854, 0x854), load(0xda8, 0x1da8, 0x270, 0x278)]
    );
    assert_eq!(f.gnu_properties.x86_isa_needed, Some(1));
}

#[test]
fn weak_version_need_and_rpath() {
    check_weak_rpath(&facts(USEFOO_WEAK_RPATH));
}

#[test]
fn without_section_headers_everything_comes_from_program_headers() {
    check_weak_rpath(&facts(USEFOO_WEAK_RPATH_NOSHDR));
}

#[test]
fn runpath_and_nodefaultlib() {
    let f = facts(USEFOO_RUNPATH);
    assert_eq!(f.needed, strings(&["libfoo.so.1", "libc.so.6"]));
    assert_eq!(f.runpath, strings(&["/opt/foo/lib"]));
    assert!(f.rpath.is_empty());
    // "Flags: NODEFLIB PIE"
    assert!(f.nodeflib);
    assert_eq!(
        f.version_needs,
        vec![
            need("libc.so.6", "GLIBC_2.2.5", false),
            need("libc.so.6", "GLIBC_2.34", false),
            need("libfoo.so.1", "FOO_2.0", false),
        ]
    );
    assert_eq!(f.entry, 0x670);
}

#[test]
fn s390x_big_endian() {
    let f = facts(S390X_DYNAMIC);
    assert_eq!(
        (f.class, f.endian, f.machine, f.file_type),
        (
            Class::Elf64,
            Endian::Big,
            machine::EM_S390,
            FileType::SharedObject
        )
    );
    assert_eq!(f.entry, 0x288);
    assert_eq!(f.interpreter.as_deref(), Some("/lib/ld64.so.1"));
    assert_eq!(f.needed, strings(&["libstub.so.1"]));
    assert_eq!(f.linkage, Linkage::Dynamic);
    assert_eq!(
        f.loads,
        vec![load(0, 0, 0x294, 0x294), load(0xeb8, 0x1eb8, 0x150, 0x150)]
    );
    assert_eq!(f.oci_arch(), Some("s390x"));

    let lib = facts(S390X_LIBSTUB);
    assert_eq!(lib.endian, Endian::Big);
    assert_eq!(lib.soname.as_deref(), Some("libstub.so.1"));
    assert!(lib.needed.is_empty());
}

// ---- bad input -------------------------------------------------------------

fn put(bytes: &mut [u8], offset: usize, value: &[u8]) {
    bytes[offset..offset + value.len()].copy_from_slice(value);
}

/// Offset of the 64-bit little-endian dynamic entry with `tag`, scanning the
/// PT_DYNAMIC that readelf places at `dynamic` (file offset).
fn dyn_entry(bytes: &[u8], dynamic: usize, tag: u64) -> usize {
    (0..64)
        .map(|i| dynamic + 16 * i)
        .find(|&o| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap()) == tag)
        .expect("tag present")
}

#[test]
fn not_elf_and_tiny_inputs() {
    assert!(matches!(parse(b""), Err(ElfError::Truncated(_))));
    assert!(matches!(parse(b"\x7fEL"), Err(ElfError::Truncated(_))));
    assert!(matches!(parse(b"#!/bin/sh\n"), Err(ElfError::Malformed(_))));
    assert!(matches!(
        parse(&X86_64_GLIBC[..20]),
        Err(ElfError::Truncated(_))
    ));
    let mut bad_class = X86_64_GLIBC.to_vec();
    bad_class[4] = 7;
    assert!(matches!(parse(&bad_class), Err(ElfError::Malformed(_))));
    let mut bad_data = X86_64_GLIBC.to_vec();
    bad_data[5] = 0;
    assert!(matches!(parse(&bad_data), Err(ElfError::Malformed(_))));
}

#[test]
fn program_headers_past_the_end_are_truncation() {
    // The header alone (64 bytes) promises 6 program headers at offset 64.
    assert!(matches!(
        parse(&USEFOO_WEAK_RPATH[..64]),
        Err(ElfError::Truncated(_))
    ));
    let mut far = USEFOO_WEAK_RPATH.to_vec();
    put(&mut far, 0x20, &0xffff_ffff_ffff_fff0u64.to_le_bytes()); // e_phoff
    assert!(matches!(parse(&far), Err(ElfError::Truncated(_))));
}

#[test]
fn absurd_phnum_via_pn_xnum() {
    let mut bytes = USEFOO_WEAK_RPATH.to_vec();
    put(&mut bytes, 0x38, &0xffffu16.to_le_bytes()); // e_phnum = PN_XNUM
    // Section 0 at e_shoff = 4408 carries the real count in sh_info (+0x2c).
    put(&mut bytes, 4408 + 0x2c, &1_000_000u32.to_le_bytes());
    assert!(matches!(parse(&bytes), Err(ElfError::Limit(_))));
    // PN_XNUM without any section header table cannot be resolved.
    let mut none = USEFOO_WEAK_RPATH_NOSHDR.to_vec();
    put(&mut none, 0x38, &0xffffu16.to_le_bytes());
    assert!(matches!(parse(&none), Err(ElfError::Malformed(_))));
}

#[test]
fn broken_section_table_alone_does_not_fail() {
    let mut bytes = USEFOO_WEAK_RPATH.to_vec();
    put(&mut bytes, 0x28, &0x7fff_ffff_ffffu64.to_le_bytes()); // e_shoff
    put(&mut bytes, 0x3a, &13u16.to_le_bytes()); // e_shentsize
    put(&mut bytes, 0x3c, &0xfff0u16.to_le_bytes()); // e_shnum
    check_weak_rpath(&facts(&bytes));
}

#[test]
fn huge_verneednum_is_a_limit() {
    // readelf: DYNAMIC at file offset 0xdb8; DT_VERNEEDNUM = 0x6fffffff.
    let mut bytes = USEFOO_WEAK_RPATH.to_vec();
    let e = dyn_entry(&bytes, 0xdb8, 0x6fff_ffff);
    put(&mut bytes, e + 8, &4_000_000_000u64.to_le_bytes());
    assert!(matches!(parse(&bytes), Err(ElfError::Limit(_))));
    // A count larger than the chain is harmless: the chain ends at vn_next 0.
    put(&mut bytes, e + 8, &50u64.to_le_bytes());
    check_weak_rpath(&facts(&bytes));
}

#[test]
fn strtab_outside_every_load_is_malformed() {
    let mut bytes = USEFOO_WEAK_RPATH.to_vec();
    let e = dyn_entry(&bytes, 0xdb8, 5); // DT_STRTAB
    put(&mut bytes, e + 8, &0x7777_0000u64.to_le_bytes());
    assert!(matches!(parse(&bytes), Err(ElfError::Malformed(_))));
}

#[test]
fn verneed_entries_past_the_end_are_truncation() {
    // vn_aux of the first Verneed (readelf: .gnu.version_r at 0x4c0) points
    // far beyond its PT_LOAD.
    let mut bytes = USEFOO_WEAK_RPATH.to_vec();
    put(&mut bytes, 0x4c0 + 8, &0x00ff_ffffu32.to_le_bytes());
    assert!(matches!(parse(&bytes), Err(ElfError::Truncated(_))));
}

#[test]
fn every_prefix_returns_and_cut_headers_are_errors() {
    // (fixture, end of its program header table: e_phoff + e_phnum * e_phentsize)
    let cases = [
        (USEFOO_WEAK_RPATH, 64 + 6 * 56),
        (ARMHF_GLIBC, 52 + 9 * 32),
        (S390X_DYNAMIC, 64 + 6 * 56),
    ];
    for (fixture, phdr_end) in cases {
        for len in 0..fixture.len() {
            let result = parse(&fixture[..len]);
            if len < phdr_end {
                assert!(result.is_err(), "prefix {len} parsed");
            }
        }
    }
}

/// xorshift64*: deterministic, good enough to pick bytes to break.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_mutations_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut parsed = 0usize;
    for round in 0..4000 {
        let fixture = ALL[round % ALL.len()];
        let mut bytes = fixture.to_vec();
        let flips = 1 + rng.below(8);
        for _ in 0..flips {
            // Mostly the first 0x600 bytes (headers, dynamic strings, version
            // tables), sometimes anywhere.
            let at = if rng.below(4) == 0 {
                rng.below(bytes.len())
            } else {
                rng.below(bytes.len().min(0x600))
            };
            bytes[at] = match rng.below(4) {
                0 => 0,
                1 => 0xff,
                _ => rng.next() as u8,
            };
        }
        if rng.below(8) == 0 {
            bytes.truncate(rng.below(bytes.len()));
        }
        if parse(&bytes).is_ok() {
            parsed += 1;
        }
    }
    // Most single-byte damage lands in bytes that do not matter.
    assert!(parsed > 1000, "only {parsed} mutants parsed");
}

#[test]
fn all_fixtures_parse() {
    for (i, f) in ALL.iter().enumerate() {
        assert!(parse(f).is_ok(), "fixture {i}");
        assert!(is_elf(f));
    }
}

/// A minimal ELF64 little-endian ET_DYN for x86-64, laid out by hand from the
/// gABI: the header, a PT_LOAD covering the whole file at address 0, a
/// PT_DYNAMIC with `needed` DT_NEEDED entries all naming one string of
/// `name_len` bytes of 'a', DT_STRTAB, DT_STRSZ and DT_NULL, then the string.
fn synthetic(needed: usize, name_len: usize) -> Vec<u8> {
    let dyn_off = 64 + 2 * 56;
    let dyn_len = (needed + 3) * 16;
    let str_off = dyn_off + dyn_len;
    let total = str_off + name_len + 1;
    let mut b = vec![0u8; total];
    put(&mut b, 0, b"\x7fELF\x02\x01\x01");
    put(&mut b, 0x10, &3u16.to_le_bytes()); // ET_DYN
    put(&mut b, 0x12, &62u16.to_le_bytes()); // EM_X86_64
    put(&mut b, 0x14, &1u32.to_le_bytes()); // EV_CURRENT
    put(&mut b, 0x20, &64u64.to_le_bytes()); // e_phoff
    put(&mut b, 0x34, &64u16.to_le_bytes()); // e_ehsize
    put(&mut b, 0x36, &56u16.to_le_bytes()); // e_phentsize
    put(&mut b, 0x38, &2u16.to_le_bytes()); // e_phnum
    put(&mut b, 0x3a, &64u16.to_le_bytes()); // e_shentsize
    let phdr = |b: &mut Vec<u8>, at: usize, p_type: u32, off: usize, len: usize| {
        put(b, at, &p_type.to_le_bytes());
        put(b, at + 4, &6u32.to_le_bytes()); // PF_R | PF_W
        for field in [8, 16, 24] {
            put(b, at + field, &(off as u64).to_le_bytes()); // offset, vaddr, paddr
        }
        put(b, at + 32, &(len as u64).to_le_bytes());
        put(b, at + 40, &(len as u64).to_le_bytes());
        put(b, at + 48, &0x1000u64.to_le_bytes());
    };
    phdr(&mut b, 64, 1, 0, total); // PT_LOAD
    phdr(&mut b, 120, 2, dyn_off, dyn_len); // PT_DYNAMIC
    let mut d = dyn_off;
    let mut entry = |b: &mut Vec<u8>, tag: u64, val: u64| {
        put(b, d, &tag.to_le_bytes());
        put(b, d + 8, &val.to_le_bytes());
        d += 16;
    };
    for _ in 0..needed {
        entry(&mut b, 1, 0); // DT_NEEDED, string at offset 0
    }
    entry(&mut b, 5, str_off as u64); // DT_STRTAB
    entry(&mut b, 10, name_len as u64 + 1); // DT_STRSZ
    entry(&mut b, 0, 0); // DT_NULL
    b[str_off..str_off + name_len].fill(b'a');
    b
}

#[test]
fn synthetic_file_reads_as_built() {
    let f = facts(&synthetic(3, 10));
    assert_eq!(f.needed, vec!["aaaaaaaaaa".to_string(); 3]);
    assert_eq!(f.linkage, Linkage::Dynamic);
    assert_eq!(f.file_type, FileType::SharedObject);
    assert_eq!(f.loads.len(), 1);
}

#[test]
fn one_long_string_named_many_times_is_a_limit() {
    // 20 copies of a 1 MiB string would be 20 MiB from a 1 MiB file.
    assert!(matches!(
        parse(&synthetic(20, 1 << 20)),
        Err(ElfError::Limit(_))
    ));
}
