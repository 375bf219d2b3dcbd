//! Bytes → [`ElfFacts`]. The only module that imports goblin or object.
//!
//! Pure functions of the bytes: no I/O. Every length and offset is checked
//! before it is trusted; a file that cannot be parsed is an [`ElfError`],
//! which the caller records on that file.

mod armattr;
mod auditable;
mod comment;
mod goinfo;
mod parse;
mod rustinfo;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod toolchain_tests;

pub use armattr::ArmAttributes;
pub use auditable::{AuditableDeps, AuditablePackage};
pub use goinfo::GoBuildInfo;
pub use parse::parse;

use serde::{Deserialize, Serialize};

/// Entry points for the fuzz targets (the `fuzz/` crate): the toolchain
/// decoders, which whole-file parsing reaches only through a well-formed
/// section or segment. Not part of the API.
#[doc(hidden)]
pub mod fuzzing {
    pub use super::armattr::decode as arm_attributes;
    pub use super::auditable::decode as auditable;
    pub use super::rustinfo::{musl_version, rustc_commit};

    /// Go build info from `area`, whose first byte sits at address `base`
    /// (the pointers of the pre-1.18 encoding are read from `area` too).
    pub fn go_build_info(area: &[u8], base: u64) -> Option<super::GoBuildInfo> {
        super::goinfo::decode(area, |addr, len| {
            let at = usize::try_from(addr.checked_sub(base)?).ok()?;
            area.get(at..at.checked_add(usize::try_from(len).ok()?)?)
        })
    }

    /// `.comment`: the rustc version and the other strings.
    pub fn comment(section: &[u8]) -> (Option<String>, Vec<String>) {
        let c = super::comment::read(section);
        (c.rustc_version, c.others)
    }
}

/// The four bytes every ELF file starts with.
pub const MAGIC: [u8; 4] = *b"\x7fELF";

/// Whether `bytes` start with the ELF magic.
pub fn is_elf(bytes: &[u8]) -> bool {
    bytes.starts_with(&MAGIC)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    Elf32,
    Elf64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Endian {
    Little,
    Big,
}

/// `e_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FileType {
    Relocatable,
    Executable,
    SharedObject,
    Core,
    Other(u16),
}

/// How a program gets its libraries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Linkage {
    /// No PT_INTERP and no DT_NEEDED, and not an ET_DYN with a dynamic
    /// section (ET_EXEC, or an object without PT_DYNAMIC).
    Static,
    /// ET_DYN without PT_INTERP and without DT_NEEDED, with a dynamic section
    /// (self-relocating, as `-static-pie` makes; also a shared object that
    /// needs nothing, such as the dynamic loader itself).
    StaticPie,
    /// Has a PT_INTERP or DT_NEEDED entries.
    Dynamic,
}

/// One PT_LOAD program header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadSegment {
    pub offset: u64,
    pub vaddr: u64,
    pub filesz: u64,
    pub memsz: u64,
    pub align: u64,
    /// PF_X | PF_W | PF_R bits.
    pub flags: u32,
}

/// One entry of the version needs (`.gnu.version_r`): `name` needed from `file`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionNeed {
    /// The soname the need is recorded against, e.g. `libc.so.6`.
    pub file: String,
    /// The version, e.g. `GLIBC_2.34`.
    pub name: String,
    /// VER_FLG_WEAK: a missing version is not fatal.
    pub weak: bool,
}

/// GNU property notes (`.note.gnu.property`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GnuProperties {
    /// GNU_PROPERTY_X86_ISA_1_NEEDED bitmask (bit 0 = baseline, 1 = v2, 2 = v3, 3 = v4).
    pub x86_isa_needed: Option<u32>,
    /// GNU_PROPERTY_AARCH64_FEATURE_1_AND bitmask (bit 0 = BTI, bit 1 = PAC).
    pub aarch64_features: Option<u32>,
}

/// Everything elfgate needs to know about one ELF file, owned and plain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ElfFacts {
    pub class: Class,
    pub endian: Endian,
    /// `e_machine` (EM_X86_64 = 62, EM_AARCH64 = 183, EM_ARM = 40, ...).
    pub machine: u16,
    pub file_type: FileType,
    /// `e_flags` (the ARM EABI version and float ABI live here).
    pub flags: u32,
    pub entry: u64,
    pub interpreter: Option<String>,
    pub needed: Vec<String>,
    pub soname: Option<String>,
    /// DT_RPATH split at `:`, unexpanded.
    pub rpath: Vec<String>,
    /// DT_RUNPATH split at `:`, unexpanded.
    pub runpath: Vec<String>,
    /// DT_FLAGS_1 contains DF_1_NODEFLIB.
    pub nodeflib: bool,
    pub has_dynamic: bool,
    pub linkage: Linkage,
    pub version_needs: Vec<VersionNeed>,
    /// Names of the version definitions (`.gnu.version_d`), base name excluded.
    pub version_defs: Vec<String>,
    pub loads: Vec<LoadSegment>,
    pub gnu_properties: GnuProperties,
    /// How the file was built: Go build info, compiler versions, Rust
    /// compiler, cargo-auditable data, ARM attributes, musl's version.
    #[serde(default)]
    pub toolchain: Toolchain,
}

/// What the bytes say about the toolchain that built a file. Every part is
/// optional: a part that is absent or cannot be read is `None` (or empty),
/// never an error of the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Toolchain {
    /// Go build info (`.go.buildinfo`).
    pub go: Option<GoBuildInfo>,
    /// `X.Y.Z` from `rustc version X.Y.Z (...)` in `.comment`.
    pub rustc_version: Option<String>,
    /// The rustc commit (40 hex digits) of the standard library's source
    /// paths (`/rustc/<commit>/library/...`) in read-only data.
    pub rustc_commit: Option<String>,
    /// The other `.comment` strings (GCC, clang, linkers), in file order,
    /// without duplicates.
    pub compilers: Vec<String>,
    /// cargo-auditable's dependency list (`.dep-v0`).
    pub auditable: Option<AuditableDeps>,
    /// `.ARM.attributes` (32-bit ARM only).
    pub arm: Option<ArmAttributes>,
    /// The musl version this file carries, when it is musl's libc (which is
    /// also its dynamic loader): `__libc_version` next to the loader banner.
    pub musl_version: Option<String>,
}

impl Toolchain {
    /// The GCC version of the first `GCC: (...) X.Y.Z` comment.
    pub fn gcc_version(&self) -> Option<&str> {
        self.compilers
            .iter()
            .find(|c| c.starts_with("GCC: "))
            .and_then(|c| c.rsplit(' ').next())
    }

    /// The clang version of the first `... clang version X.Y.Z ...` comment.
    pub fn clang_version(&self) -> Option<&str> {
        self.compilers.iter().find_map(|c| {
            let at = c.find("clang version ")?;
            c[at + "clang version ".len()..].split(' ').next()
        })
    }
}

/// Why bytes with the ELF magic could not be read.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq, Serialize, Deserialize)]
pub enum ElfError {
    #[error("truncated ELF: {0}")]
    Truncated(String),
    #[error("malformed ELF: {0}")]
    Malformed(String),
    #[error("limit exceeded: {0}")]
    Limit(String),
}

pub mod machine {
    //! `e_machine` values elfgate names.
    pub const EM_386: u16 = 3;
    pub const EM_PPC64: u16 = 21;
    pub const EM_S390: u16 = 22;
    pub const EM_ARM: u16 = 40;
    pub const EM_X86_64: u16 = 62;
    pub const EM_AARCH64: u16 = 183;
    pub const EM_RISCV: u16 = 243;
}

impl ElfFacts {
    /// A human name for the machine: `x86-64`, `aarch64`, `arm`, ...
    pub fn machine_name(&self) -> String {
        machine_name(self.machine)
    }

    /// The Docker/OCI architecture this object runs on (`amd64`, `arm64`, `arm`,
    /// `386`, `ppc64le`, `s390x`, `riscv64`), when elfgate knows it.
    pub fn oci_arch(&self) -> Option<&'static str> {
        use machine::*;
        Some(match (self.machine, self.class, self.endian) {
            (EM_X86_64, Class::Elf64, _) => "amd64",
            (EM_AARCH64, Class::Elf64, Endian::Little) => "arm64",
            (EM_ARM, Class::Elf32, Endian::Little) => "arm",
            (EM_386, Class::Elf32, _) => "386",
            (EM_PPC64, Class::Elf64, Endian::Little) => "ppc64le",
            (EM_S390, Class::Elf64, _) => "s390x",
            (EM_RISCV, Class::Elf64, _) => "riscv64",
            _ => return None,
        })
    }

    /// ARM EABI hard-float (EF_ARM_ABI_FLOAT_HARD, 0x400) / soft-float (0x200).
    pub fn arm_float_abi(&self) -> Option<ArmFloat> {
        if self.machine != machine::EM_ARM {
            return None;
        }
        if self.flags & 0x400 != 0 {
            Some(ArmFloat::Hard)
        } else if self.flags & 0x200 != 0 {
            Some(ArmFloat::Soft)
        } else {
            None
        }
    }

    /// The ARM EABI version (`EF_ARM_EABIMASK`, the top byte of `e_flags`):
    /// 5 for every current Linux ARM binary, 0 for the old ABI.
    pub fn arm_eabi_version(&self) -> Option<u8> {
        (self.machine == machine::EM_ARM).then_some((self.flags >> 24) as u8)
    }

    /// The x86-64 micro-architecture level this object needs (1..=4): the
    /// highest bit of GNU_PROPERTY_X86_ISA_1_NEEDED, or Go's `GOAMD64`.
    pub fn x86_isa_level(&self) -> Option<u8> {
        if self.machine != machine::EM_X86_64 {
            return None;
        }
        let from_note = self
            .gnu_properties
            .x86_isa_needed
            .filter(|&bits| bits & 0xf != 0)
            .map(|bits| (32 - (bits & 0xf).leading_zeros()) as u8);
        let from_go = self
            .toolchain
            .go
            .as_ref()
            .and_then(GoBuildInfo::amd64_level);
        from_note.max(from_go)
    }

    /// Whether the runtime loader must run for this object.
    pub fn is_dynamic(&self) -> bool {
        self.linkage == Linkage::Dynamic
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArmFloat {
    Hard,
    Soft,
}

pub fn machine_name(m: u16) -> String {
    use machine::*;
    match m {
        EM_386 => "i386".into(),
        EM_PPC64 => "ppc64".into(),
        EM_S390 => "s390".into(),
        EM_ARM => "arm".into(),
        EM_X86_64 => "x86-64".into(),
        EM_AARCH64 => "aarch64".into(),
        EM_RISCV => "riscv".into(),
        other => format!("machine {other}"),
    }
}
