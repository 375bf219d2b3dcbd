//! `page-size`: an arm64 object whose PT_LOAD segments are not aligned for
//! 64K pages ((p_vaddr - p_offset) % 65536 != 0): glibc refuses it on
//! 64K-page kernels with "ELF load command address/offset not page-aligned".
//! Also, as `info`, jemalloc linked in (DT_NEEDED libjemalloc, or
//! tikv-jemalloc-sys / jemalloc-sys in cargo-auditable data): its page size
//! is fixed when it is built.

use serde_json::json;

use super::{Finding, PlatformFacts, Severity};
use crate::elf::{ElfFacts, machine};

const LARGEST_PAGE: u64 = 65_536;

/// The smallest page size every PT_LOAD of `facts` is aligned for, when it is
/// less than 64K.
pub fn max_page_size(facts: &ElfFacts) -> Option<u64> {
    let mut page = LARGEST_PAGE;
    for l in &facts.loads {
        let delta = l.vaddr.wrapping_sub(l.offset);
        while page > 1 && delta % page != 0 {
            page /= 2;
        }
    }
    (page < LARGEST_PAGE).then_some(page)
}

fn jemalloc(facts: &ElfFacts) -> Option<String> {
    if let Some(n) = facts.needed.iter().find(|n| n.starts_with("libjemalloc")) {
        return Some(format!("DT_NEEDED {n}"));
    }
    let deps = facts.toolchain.auditable.as_ref()?;
    ["tikv-jemalloc-sys", "jemalloc-sys"]
        .iter()
        .find(|c| deps.has(c))
        .map(|c| format!("the crate {c}"))
}

pub fn check(facts: &PlatformFacts<'_>, out: &mut Vec<Finding>) {
    if facts.input.platform.arch != "arm64" {
        return;
    }
    for elf in &facts.elves {
        if !elf.active || elf.facts.machine != machine::EM_AARCH64 {
            continue;
        }
        if let Some(page) = max_page_size(elf.facts) {
            out.push(
                facts.at(
                    elf,
                    Finding::new(
                        "page-size",
                        format!(
                            "{} has PT_LOAD segments aligned for {} KiB pages only: on a 64K-page \
                             kernel (RHEL, some Ampere and Graviton setups) it fails with \"ELF load \
                             command address/offset not page-aligned\"",
                            elf.path,
                            page / 1024
                        ),
                    )
                    .details(json!({ "aligned_for": page, "loads": elf.facts.loads })),
                ),
            );
        }
        if let Some(how) = jemalloc(elf.facts) {
            out.push(
                facts.at(
                    elf,
                    Finding::new(
                        "page-size",
                        format!(
                            "{} links jemalloc ({how}), whose page size is fixed when it is built: \
                             one built for 4K pages aborts or wastes memory on 16K/64K-page kernels",
                            elf.path
                        ),
                    )
                    .severity(Severity::Info)
                    .details(json!({ "jemalloc": how })),
                ),
            );
        }
    }
}
