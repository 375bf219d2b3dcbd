//! `--inventory`: per platform, one record per ELF file (what it is, how it
//! is linked, which toolchain built it), the platform's C library versions,
//! and for the table a summary with counts by linkage, libc and toolchain.

use std::collections::BTreeMap;

use serde::Serialize;

use super::Report;
use crate::elf::{Class, ElfFacts, Linkage};
use crate::loader::Libc;
use crate::rules::toolchain_bugs::Version;
use crate::rules::{ElfFile, PlatformFacts};

/// The inventory of one platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Inventory {
    /// The glibc version of the image: the newest `GLIBC_x.y` that its
    /// `libc.so.6` defines. `null` without glibc.
    pub glibc_version: Option<String>,
    /// The musl version its musl libc.so carries. `null` without musl.
    pub musl_version: Option<String>,
    /// One record per ELF file, by path.
    pub files: Vec<InventoryRecord>,
}

/// One ELF file. Fields that do not apply are `null` (or empty lists).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InventoryRecord {
    pub path: String,
    pub layer: Option<String>,
    /// `x86-64`, `aarch64`, `arm`, ...
    pub machine: String,
    pub class: Class,
    pub linkage: Linkage,
    pub interpreter: Option<String>,
    pub needed: Vec<String>,
    /// `glibc` or `musl`, from the interpreter, the loader, or DT_NEEDED.
    pub libc: Option<&'static str>,
    pub soname: Option<String>,
    pub go: Option<GoRecord>,
    pub rustc: Option<String>,
    /// `.comment` strings other than rustc's (GCC, clang, linkers).
    pub compilers: Vec<String>,
    /// `x86-64-v2`..`x86-64-v4` (or `x86-64-v1`), when the file says.
    pub isa_level: Option<String>,
    /// How many packages cargo-auditable recorded.
    pub auditable_dependencies: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GoRecord {
    pub version: String,
    pub main_module: Option<String>,
    pub settings: BTreeMap<String, String>,
}

/// Builds the inventory of one platform.
pub fn inventory(facts: &PlatformFacts<'_>) -> Inventory {
    let files = facts
        .elves
        .iter()
        .map(|e| record(facts, e))
        .collect::<Vec<_>>();
    Inventory {
        glibc_version: glibc_version(facts),
        musl_version: crate::rules::image_musl(facts).map(|(_, _, v)| v.to_string()),
        files,
    }
}

fn record(facts: &PlatformFacts<'_>, e: &ElfFile<'_>) -> InventoryRecord {
    let f = e.facts;
    InventoryRecord {
        path: e.path.to_string(),
        layer: facts.layer_of(e.node),
        machine: f.machine_name(),
        class: f.class,
        linkage: f.linkage,
        interpreter: f.interpreter.clone(),
        needed: f.needed.clone(),
        libc: libc_of(e),
        soname: f.soname.clone(),
        go: f.toolchain.go.as_ref().map(|g| GoRecord {
            version: g.version.clone(),
            main_module: g.main_module.clone(),
            settings: g.settings.clone(),
        }),
        rustc: crate::rules::rust_version(f).map(|(v, _)| v.to_string()),
        compilers: f.toolchain.compilers.clone(),
        isa_level: f.x86_isa_level().map(|l| format!("x86-64-v{l}")),
        auditable_dependencies: f.toolchain.auditable.as_ref().map(|a| a.packages.len()),
    }
}

fn libc_of(e: &ElfFile<'_>) -> Option<&'static str> {
    let name = |l: Libc| match l {
        Libc::Glibc => "glibc",
        Libc::Musl => "musl",
    };
    if let Some(l) = e
        .facts
        .interpreter
        .as_deref()
        .and_then(Libc::of_interpreter)
    {
        return Some(name(l));
    }
    if let Some(l) = e.load.as_ref().and_then(|l| l.libc) {
        return Some(name(l));
    }
    needed_libc(e.facts)
}

fn needed_libc(f: &ElfFacts) -> Option<&'static str> {
    if f.needed.iter().any(|n| n == "libc.so.6") {
        Some("glibc")
    } else if f
        .needed
        .iter()
        .any(|n| n == "libc.so" || n.starts_with("libc.musl-"))
    {
        Some("musl")
    } else {
        None
    }
}

/// The newest `GLIBC_x.y` defined by a `libc.so.6` of the platform.
pub fn glibc_version(facts: &PlatformFacts<'_>) -> Option<String> {
    facts
        .elves
        .iter()
        .filter(|e| e.facts.soname.as_deref() == Some("libc.so.6"))
        .flat_map(|e| e.facts.version_defs.iter())
        .filter_map(|d| {
            let v = d.strip_prefix("GLIBC_")?;
            Some((Version::parse(v)?, v))
        })
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, v)| v.to_string())
}

/// The table format's summary: per image and platform, counts by linkage,
/// libc and toolchain.
pub fn render_inventory_summary(report: &Report) -> String {
    let mut out = String::new();
    for image in &report.images {
        for p in &image.platforms {
            let Some(inv) = &p.inventory else { continue };
            out.push_str(&format!(
                "{} {}: inventory of {} ELF files\n",
                image.reference,
                p.platform,
                inv.files.len()
            ));
            let mut libc_line = Vec::new();
            if let Some(v) = &inv.glibc_version {
                libc_line.push(format!("glibc {v}"));
            }
            if let Some(v) = &inv.musl_version {
                libc_line.push(format!("musl {v}"));
            }
            if !libc_line.is_empty() {
                out.push_str(&format!("  C library: {}\n", libc_line.join(", ")));
            }
            let count = |key: &dyn Fn(&InventoryRecord) -> Option<String>| {
                let mut m: BTreeMap<String, usize> = BTreeMap::new();
                for r in &inv.files {
                    if let Some(k) = key(r) {
                        *m.entry(k).or_default() += 1;
                    }
                }
                m.into_iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let lines: [(&str, String); 6] = [
                (
                    "linkage",
                    count(&|r| Some(linkage_name(r.linkage).to_string())),
                ),
                ("libc", count(&|r| r.libc.map(str::to_string))),
                ("go", count(&|r| r.go.as_ref().map(|g| g.version.clone()))),
                ("rustc", count(&|r| r.rustc.clone())),
                (
                    "compilers",
                    count(&|r| {
                        r.compilers
                            .iter()
                            .find(|c| c.starts_with("GCC") || c.contains("clang"))
                            .cloned()
                    }),
                ),
                (
                    "isa level",
                    count(&|r| r.isa_level.clone().filter(|l| l != "x86-64-v1")),
                ),
            ];
            for (label, line) in lines {
                if !line.is_empty() {
                    out.push_str(&format!("  {label}: {line}\n"));
                }
            }
        }
    }
    out
}

fn linkage_name(l: Linkage) -> &'static str {
    match l {
        Linkage::Static => "static",
        Linkage::StaticPie => "static-pie",
        Linkage::Dynamic => "dynamic",
    }
}
