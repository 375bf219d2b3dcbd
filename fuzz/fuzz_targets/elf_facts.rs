//! The ELF-facts parser (which also decodes Go build info, cargo-auditable
//! data, `.comment` and ARM attributes from the sections it finds) on
//! arbitrary bytes: it must return facts or an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(facts) = elfgate::elf::parse(data) {
        // The accessors downstream stages call must hold up too.
        let _ = facts.machine_name();
        let _ = facts.oci_arch();
        let _ = facts.arm_float_abi();
        let _ = facts.is_dynamic();
    }
});
