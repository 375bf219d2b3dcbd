//! `.ARM.attributes` (ARM IHI 0045, "Addenda to the ARM ELF ABI", build
//! attributes): format byte `A`, then sections of (u32 length, vendor name,
//! sub-sections). In the `aeabi` section a sub-section is a tag (1 = the
//! whole file), a u32 size, and attributes: a ULEB128 tag, then a ULEB128
//! value, or a NUL-terminated string for tags 4, 5, 67, 65 and odd tags
//! above 32 (tag 32, compatibility, has both).

use serde::{Deserialize, Serialize};

const TAG_FILE: u64 = 1;
const TAG_CPU_RAW_NAME: u64 = 4;
const TAG_CPU_NAME: u64 = 5;
const TAG_CPU_ARCH: u64 = 6;
const TAG_ABI_VFP_ARGS: u64 = 28;
const TAG_COMPATIBILITY: u64 = 32;
const TAG_ALSO_COMPATIBLE_WITH: u64 = 65;
const TAG_CONFORMANCE: u64 = 67;

/// What the file-scope public (`aeabi`) attributes say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArmAttributes {
    /// Tag_CPU_arch: 6 = v6, 10 = v7, 14 = v8-A, ...
    pub cpu_arch: Option<u8>,
    /// Tag_CPU_name, e.g. `7-A` or `ARM926EJ-S`.
    pub cpu_name: Option<String>,
    /// Tag_ABI_VFP_args: 0 = base (soft-float) procedure call standard,
    /// 1 = VFP registers (hard-float).
    pub vfp_args: Option<u8>,
}

impl ArmAttributes {
    /// A name for Tag_CPU_arch: `v4T`, `v5TE`, `v6`, `v7`, `v8-A`, ...
    pub fn arch_name(&self) -> Option<&'static str> {
        Some(match self.cpu_arch? {
            0 => "pre-v4",
            1 => "v4",
            2 => "v4T",
            3 => "v5T",
            4 => "v5TE",
            5 => "v5TEJ",
            6 => "v6",
            7 => "v6KZ",
            8 => "v6T2",
            9 => "v6K",
            10 => "v7",
            11 => "v6-M",
            12 => "v6S-M",
            13 => "v7E-M",
            14 => "v8-A",
            15 => "v8-R",
            16 => "v8-M.baseline",
            17 => "v8-M.mainline",
            18 => "v8.1-A",
            19 => "v8.2-A",
            20 => "v8.3-A",
            21 => "v8.1-M.mainline",
            22 => "v9-A",
            _ => return None,
        })
    }
}

/// Parses the section; `None` when it is not in the `A` format or has no
/// `aeabi` file attributes. Bounded by the section's length throughout.
pub fn decode(section: &[u8]) -> Option<ArmAttributes> {
    let (&format, mut rest) = section.split_first()?;
    if format != b'A' {
        return None;
    }
    let mut out = ArmAttributes::default();
    let mut found = false;
    while rest.len() >= 4 {
        let len = u32::from_le_bytes(rest[..4].try_into().ok()?) as usize;
        if len < 4 || len > rest.len() {
            break;
        }
        let (vendor_section, next) = rest.split_at(len);
        rest = next;
        let body = &vendor_section[4..];
        let nul = body.iter().position(|&b| b == 0)?;
        if &body[..nul] != b"aeabi" {
            continue;
        }
        let mut subs = &body[nul + 1..];
        while subs.len() >= 5 {
            let tag = subs[0];
            let size = u32::from_le_bytes(subs[1..5].try_into().ok()?) as usize;
            if size < 5 || size > subs.len() {
                break;
            }
            if u64::from(tag) == TAG_FILE {
                found = true;
                read_attributes(&subs[5..size], &mut out);
            }
            subs = &subs[size..];
        }
    }
    found.then_some(out)
}

fn read_attributes(mut data: &[u8], out: &mut ArmAttributes) {
    while !data.is_empty() {
        let Some((tag, rest)) = uleb(data) else {
            return;
        };
        data = rest;
        let string_valued = matches!(
            tag,
            TAG_CPU_RAW_NAME | TAG_CPU_NAME | TAG_ALSO_COMPATIBLE_WITH | TAG_CONFORMANCE
        ) || (tag > TAG_COMPATIBILITY && tag % 2 == 1);
        if tag == TAG_COMPATIBILITY {
            let Some((_, rest)) = uleb(data) else { return };
            let Some((_, rest)) = ntbs(rest) else { return };
            data = rest;
        } else if string_valued {
            let Some((s, rest)) = ntbs(data) else { return };
            if tag == TAG_CPU_NAME {
                out.cpu_name = Some(String::from_utf8_lossy(s).chars().take(64).collect());
            }
            data = rest;
        } else {
            let Some((value, rest)) = uleb(data) else {
                return;
            };
            match tag {
                TAG_CPU_ARCH => out.cpu_arch = u8::try_from(value).ok(),
                TAG_ABI_VFP_ARGS => out.vfp_args = u8::try_from(value).ok(),
                _ => {}
            }
            data = rest;
        }
    }
}

fn uleb(data: &[u8]) -> Option<(u64, &[u8])> {
    let mut value: u64 = 0;
    for (i, &b) in data.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f).checked_shl(7 * i as u32)?;
        if b & 0x80 == 0 {
            return Some((value, &data[i + 1..]));
        }
    }
    None
}

fn ntbs(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let nul = data.iter().position(|&b| b == 0)?;
    Some((&data[..nul], &data[nul + 1..]))
}
