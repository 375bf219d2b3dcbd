//! Scenario tests of the loader emulation over hand-made views. Expected
//! values come from the loaders' documented behaviour (ld.so(8); glibc
//! elf/dl-load.c; musl ldso/dynlink.c), not from this code's output.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::*;
use crate::elf::{Class, ElfFacts, Endian, FileType, GnuProperties, Linkage, VersionNeed, machine};
use crate::fs::FsView;
use crate::layers::{Content, Entry, EntryKind, Layer};

// ---------------------------------------------------------------------------
// Facts built by hand.

#[derive(Clone)]
struct Elf(ElfFacts);

impl Elf {
    fn new(machine: u16, class: Class) -> Elf {
        Elf(ElfFacts {
            class,
            endian: Endian::Little,
            machine,
            file_type: FileType::SharedObject,
            flags: 0,
            entry: 0,
            interpreter: None,
            needed: Vec::new(),
            soname: None,
            rpath: Vec::new(),
            runpath: Vec::new(),
            nodeflib: false,
            has_dynamic: true,
            linkage: Linkage::Dynamic,
            version_needs: Vec::new(),
            version_defs: Vec::new(),
            loads: Vec::new(),
            gnu_properties: GnuProperties::default(),
            toolchain: Default::default(),
        })
    }
    fn x86_64() -> Elf {
        Elf::new(machine::EM_X86_64, Class::Elf64)
    }
    fn i386() -> Elf {
        Elf::new(machine::EM_386, Class::Elf32)
    }
    fn aarch64() -> Elf {
        Elf::new(machine::EM_AARCH64, Class::Elf64)
    }
    fn arm(hard: bool) -> Elf {
        let mut e = Elf::new(machine::EM_ARM, Class::Elf32);
        e.0.flags = 0x0500_0000 | if hard { 0x400 } else { 0x200 };
        e
    }
    fn interp(mut self, p: &str) -> Elf {
        self.0.interpreter = Some(p.into());
        self
    }
    fn needs(mut self, n: &[&str]) -> Elf {
        self.0.needed = n.iter().map(|s| s.to_string()).collect();
        self
    }
    fn soname(mut self, s: &str) -> Elf {
        self.0.soname = Some(s.into());
        self
    }
    fn rpath(mut self, p: &[&str]) -> Elf {
        self.0.rpath = p.iter().map(|s| s.to_string()).collect();
        self
    }
    fn runpath(mut self, p: &[&str]) -> Elf {
        self.0.runpath = p.iter().map(|s| s.to_string()).collect();
        self
    }
    fn nodeflib(mut self) -> Elf {
        self.0.nodeflib = true;
        self
    }
    fn need_version(mut self, file: &str, name: &str, weak: bool) -> Elf {
        self.0.version_needs.push(VersionNeed {
            file: file.into(),
            name: name.into(),
            weak,
        });
        self
    }
    fn defs(mut self, d: &[&str]) -> Elf {
        self.0.version_defs = d.iter().map(|s| s.to_string()).collect();
        self
    }
    fn leaf(mut self) -> Elf {
        self.0.linkage = Linkage::StaticPie;
        self
    }
}

// ---------------------------------------------------------------------------
// Views built by hand.

struct Img {
    entries: Vec<Entry>,
    dirs: BTreeSet<String>,
}

impl Img {
    fn new() -> Img {
        Img {
            entries: Vec::new(),
            dirs: BTreeSet::new(),
        }
    }
    fn parents(&mut self, path: &str) {
        let mut at = 0;
        while let Some(i) = path[at + 1..].find('/') {
            let dir = &path[..at + 1 + i];
            if self.dirs.insert(dir.to_string()) {
                self.entries
                    .push(entry(dir, EntryKind::Dir, 0o755, Content::None));
            }
            at += 1 + i;
        }
    }
    fn dir(mut self, path: &str) -> Img {
        self.parents(path);
        if self.dirs.insert(path.to_string()) {
            self.entries
                .push(entry(path, EntryKind::Dir, 0o755, Content::None));
        }
        self
    }
    fn elf(mut self, path: &str, e: &Elf) -> Img {
        self.parents(path);
        let mut en = entry(
            path,
            EntryKind::File,
            0o755,
            Content::Elf(Arc::new(e.0.clone())),
        );
        en.size = 4096;
        self.entries.push(en);
        self
    }
    fn text(mut self, path: &str, text: &[u8]) -> Img {
        self.parents(path);
        let mut en = entry(
            path,
            EntryKind::File,
            0o644,
            Content::Config(Arc::new(text.to_vec())),
        );
        en.size = text.len() as u64;
        self.entries.push(en);
        self
    }
    fn symlink(mut self, path: &str, target: &str) -> Img {
        self.parents(path);
        self.entries.push(entry(
            path,
            EntryKind::Symlink(target.into()),
            0o777,
            Content::None,
        ));
        self
    }
    fn view(self) -> FsView {
        FsView::from_layers(&[Layer {
            digest: "sha256:test".into(),
            entries: self.entries,
        }])
    }
}

fn entry(path: &str, kind: EntryKind, mode: u32, content: Content) -> Entry {
    Entry {
        path: path.into(),
        kind,
        mode,
        size: 0,
        content,
    }
}

const LD64: &str = "/lib64/ld-linux-x86-64.so.2";
const MA: &str = "/lib/x86_64-linux-gnu";

fn ld_so() -> Elf {
    Elf::x86_64()
        .soname("ld-linux-x86-64.so.2")
        .defs(&["GLIBC_2.2.5", "GLIBC_2.3", "GLIBC_2.35"])
        .leaf()
}

fn libc6() -> Elf {
    Elf::x86_64()
        .soname("libc.so.6")
        .needs(&["ld-linux-x86-64.so.2"])
        .defs(&["GLIBC_2.2.5", "GLIBC_2.17", "GLIBC_2.34"])
}

/// A Debian-like x86-64 root: the loader and libc in the multiarch directory.
fn debian() -> Img {
    Img::new()
        .elf(&format!("{MA}/ld-linux-x86-64.so.2"), &ld_so())
        .symlink(LD64, &format!("{MA}/ld-linux-x86-64.so.2"))
        .elf(&format!("{MA}/libc.so.6"), &libc6())
        .dir("/usr/lib/x86_64-linux-gnu")
}

fn prog() -> Elf {
    Elf::x86_64().interp(LD64)
}

fn env(llp: &[&str]) -> LoadEnv {
    LoadEnv {
        path: vec!["/usr/bin".into()],
        ld_library_path: llp.iter().map(|s| s.to_string()).collect(),
    }
}

fn load(view: &FsView, path: &str, e: &Elf, llp: &[&str]) -> LoadReport {
    Loader::new(view, env(llp)).load(path, &e.0)
}

fn found<'r>(r: &'r LoadReport, name: &str) -> &'r Resolution {
    r.libraries
        .iter()
        .find(|l| l.name == name)
        .unwrap_or_else(|| panic!("{name} not loaded: {r:#?}"))
}

fn missing<'r>(r: &'r LoadReport, lib: &str) -> (&'r [String], &'r [String]) {
    for p in &r.problems {
        if let LoadProblem::MissingLibrary {
            name,
            searched,
            skipped,
            ..
        } = p
            && name == lib
        {
            return (searched, skipped);
        }
    }
    panic!("{lib} not reported missing: {r:#?}");
}

// ---------------------------------------------------------------------------
// The kernel's part.

#[test]
fn static_program_is_left_alone() {
    let view = debian().view();
    let mut e = Elf::x86_64();
    e.0.linkage = Linkage::Static;
    let r = load(&view, "/bin/busybox", &e, &[]);
    assert_eq!(r, LoadReport::default());
}

#[test]
fn missing_interpreter_is_the_one_root_cause() {
    let view = Img::new().dir("/usr/lib").view();
    let r = load(
        &view,
        "/app",
        &prog().needs(&["libc.so.6", "libz.so.1"]),
        &[],
    );
    assert_eq!(
        r.problems,
        vec![LoadProblem::MissingInterpreter {
            interpreter: LD64.into()
        }]
    );
    assert!(r.libraries.is_empty());
    assert_eq!(r.libc, None);
}

#[test]
fn interpreter_of_another_machine_or_not_elf() {
    let view = Img::new()
        .elf(
            "/lib64/ld-linux-x86-64.so.2",
            &Elf::aarch64().soname("ld-linux-aarch64.so.1"),
        )
        .text("/lib/ld-linux.so.2", b"#!/bin/sh\n")
        .view();
    let r = load(&view, "/app", &prog().needs(&["libc.so.6"]), &[]);
    assert!(
        matches!(&r.problems[..], [LoadProblem::BadInterpreter { interpreter, .. }] if interpreter == LD64)
    );
    assert!(r.libraries.is_empty());
    let r = load(
        &view,
        "/app",
        &Elf::i386().interp("/lib/ld-linux.so.2"),
        &[],
    );
    assert!(
        matches!(&r.problems[..], [LoadProblem::BadInterpreter { reason, .. }] if reason.contains("not an ELF"))
    );
}

// ---------------------------------------------------------------------------
// glibc.

#[test]
fn glibc_default_directories_multiarch() {
    let view = debian()
        .elf(
            "/usr/lib/x86_64-linux-gnu/libz.so.1",
            &Elf::x86_64().soname("libz.so.1"),
        )
        .elf("/usr/lib64/libonly64.so", &Elf::x86_64())
        .view();
    let r = load(
        &view,
        "/usr/bin/app",
        &prog().needs(&["libz.so.1", "libc.so.6", "libonly64.so"]),
        &[],
    );
    assert_eq!(r.libc, Some(Libc::Glibc));
    assert_eq!(
        r.interpreter.as_deref(),
        Some("/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
    );
    let z = found(&r, "libz.so.1");
    assert_eq!(z.path, "/usr/lib/x86_64-linux-gnu/libz.so.1");
    assert_eq!(z.step, "default directories");
    assert_eq!(z.needed_by, "/usr/bin/app");
    assert_eq!(
        found(&r, "libc.so.6").path,
        "/lib/x86_64-linux-gnu/libc.so.6"
    );
    // libc.so.6's DT_NEEDED on the loader is the already loaded rtld.
    assert!(r.libraries.iter().all(|l| l.name != "ld-linux-x86-64.so.2"));
    // Debian's loader does not search /usr/lib64 (ld.so --help).
    let (searched, _) = missing(&r, "libonly64.so");
    assert_eq!(
        searched,
        [
            "/etc/ld.so.cache: absent",
            "default directories: /lib/x86_64-linux-gnu",
            "default directories: /usr/lib/x86_64-linux-gnu",
            "default directories: /lib",
            "default directories: /usr/lib",
        ]
    );
    assert_eq!(r.problems.len(), 1);
}

#[test]
fn glibc_default_directories_lib64_layout() {
    let view = Img::new()
        .elf("/usr/lib64/ld-linux-x86-64.so.2", &ld_so())
        .symlink("/lib64", "usr/lib64")
        .elf("/usr/lib64/libc.so.6", &libc6())
        .elf("/usr/lib/libwrongdir.so", &Elf::x86_64())
        .view();
    let r = load(
        &view,
        "/app",
        &prog().needs(&["libc.so.6", "libwrongdir.so"]),
        &[],
    );
    assert_eq!(found(&r, "libc.so.6").path, "/lib64/libc.so.6");
    let (searched, _) = missing(&r, "libwrongdir.so");
    assert!(searched.contains(&"default directories: /usr/lib64".to_string()));
    assert!(!searched.iter().any(|s| s.ends_with(": /usr/lib")));
}

#[test]
fn glibc_rpath_is_inherited_up_the_chain() {
    let view = debian()
        .elf("/opt/a/libA.so", &Elf::x86_64().needs(&["libB.so"]))
        .elf("/opt/a/libB.so", &Elf::x86_64())
        .view();
    let r = load(
        &view,
        "/app/prog",
        &prog().rpath(&["/opt/a"]).needs(&["libA.so"]),
        &[],
    );
    assert_eq!(found(&r, "libA.so").step, "DT_RPATH of /app/prog");
    let b = found(&r, "libB.so");
    assert_eq!(b.step, "DT_RPATH of /app/prog");
    assert_eq!(b.needed_by, "/opt/a/libA.so");
    assert!(r.problems.is_empty(), "{r:#?}");
}

#[test]
fn glibc_runpath_is_not_inherited() {
    let view = debian()
        .elf("/opt/a/libA.so", &Elf::x86_64().needs(&["libB.so"]))
        .elf("/opt/a/libB.so", &Elf::x86_64())
        .view();
    let r = load(
        &view,
        "/app/prog",
        &prog().runpath(&["/opt/a"]).needs(&["libA.so"]),
        &[],
    );
    assert_eq!(found(&r, "libA.so").step, "DT_RUNPATH of /app/prog");
    let (searched, _) = missing(&r, "libB.so");
    assert!(
        searched.iter().all(|s| !s.contains("/opt/a")),
        "{searched:?}"
    );
}

#[test]
fn glibc_rpath_ignored_when_runpath_present() {
    let view = debian()
        .elf("/opt/r/libonlyr.so", &Elf::x86_64())
        .elf("/opt/r/libboth.so", &Elf::x86_64())
        .elf("/opt/u/libboth.so", &Elf::x86_64())
        .view();
    let p = prog()
        .rpath(&["/opt/r"])
        .runpath(&["/opt/u"])
        .needs(&["libonlyr.so", "libboth.so"]);
    let r = load(&view, "/app", &p, &[]);
    missing(&r, "libonlyr.so");
    let both = found(&r, "libboth.so");
    assert_eq!(both.path, "/opt/u/libboth.so");
    assert_eq!(both.step, "DT_RUNPATH of /app");
}

#[test]
fn glibc_order_rpath_then_ld_library_path_then_runpath() {
    let view = debian()
        .elf("/opt/r/libx.so", &Elf::x86_64())
        .elf("/opt/l/libx.so", &Elf::x86_64())
        .elf("/opt/u/libx.so", &Elf::x86_64())
        .view();
    let r = load(
        &view,
        "/app",
        &prog().rpath(&["/opt/r"]).needs(&["libx.so"]),
        &["/opt/l"],
    );
    assert_eq!(found(&r, "libx.so").path, "/opt/r/libx.so");
    let r = load(
        &view,
        "/app",
        &prog().runpath(&["/opt/u"]).needs(&["libx.so"]),
        &["/opt/l"],
    );
    let x = found(&r, "libx.so");
    assert_eq!(
        (x.path.as_str(), x.step.as_str()),
        ("/opt/l/libx.so", "LD_LIBRARY_PATH")
    );
    let r = load(
        &view,
        "/app",
        &prog().runpath(&["/opt/u"]).needs(&["libx.so"]),
        &[],
    );
    assert_eq!(found(&r, "libx.so").path, "/opt/u/libx.so");
}

/// A new-format cache, laid out as sysdeps/generic/dl-cache.h declares it.
fn cache_bytes(entries: &[(i32, &str, &str)]) -> Vec<u8> {
    let strings_at = 48 + entries.len() * 24;
    let mut strings = Vec::new();
    let mut offs = Vec::new();
    for (_, k, p) in entries {
        let ko = strings_at + strings.len();
        strings.extend_from_slice(k.as_bytes());
        strings.push(0);
        let po = strings_at + strings.len();
        strings.extend_from_slice(p.as_bytes());
        strings.push(0);
        offs.push((ko as u32, po as u32));
    }
    let mut v = b"glibc-ld.so.cache1.1".to_vec();
    v.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    v.extend_from_slice(&(strings.len() as u32).to_le_bytes());
    v.extend_from_slice(&[2, 0, 0, 0]);
    v.extend_from_slice(&[0; 16]);
    for ((flags, _, _), (k, p)) in entries.iter().zip(offs) {
        v.extend_from_slice(&flags.to_le_bytes());
        v.extend_from_slice(&k.to_le_bytes());
        v.extend_from_slice(&p.to_le_bytes());
        v.extend_from_slice(&[0; 12]);
    }
    v.extend_from_slice(&strings);
    v
}

#[test]
fn glibc_ld_so_cache_by_flags() {
    let cache = cache_bytes(&[
        (0x0a03, "libfoo.so.1", "/opt/arm/libfoo.so.1"),
        (0x0303, "libfoo.so.1", "/opt/foo/libfoo.so.1"),
        (0x0a03, "libbar.so.1", "/opt/bar/libbar.so.1"),
        (0x0303, "libgone.so.1", "/opt/gone/libgone.so.1"),
    ]);
    let view = debian()
        .text("/etc/ld.so.cache", &cache)
        .elf("/opt/arm/libfoo.so.1", &Elf::aarch64())
        .elf("/opt/foo/libfoo.so.1", &Elf::x86_64())
        .elf("/opt/bar/libbar.so.1", &Elf::aarch64())
        .view();
    let loader = Loader::new(&view, env(&[]));
    assert_eq!(loader.ld_cache().map(|c| c.entries.len()), Some(4));
    let r = loader.load(
        "/app",
        &prog()
            .needs(&["libfoo.so.1", "libbar.so.1", "libgone.so.1"])
            .0,
    );
    let foo = found(&r, "libfoo.so.1");
    assert_eq!(
        (foo.path.as_str(), foo.step.as_str()),
        ("/opt/foo/libfoo.so.1", "/etc/ld.so.cache")
    );
    // An aarch64 entry does not fit an x86-64 program.
    let (searched, _) = missing(&r, "libbar.so.1");
    assert!(searched.contains(&"/etc/ld.so.cache: no entry".to_string()));
    // A stale entry falls through to the default directories.
    let (searched, _) = missing(&r, "libgone.so.1");
    assert!(searched.contains(&"/etc/ld.so.cache: /opt/gone/libgone.so.1".to_string()));
    assert!(searched.contains(&"default directories: /usr/lib".to_string()));
}

#[test]
fn glibc_nodeflib() {
    let cache = cache_bytes(&[
        (0x0303, "libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"),
        (0x0303, "libopt.so", "/opt/x/libopt.so"),
    ]);
    let view = debian()
        .text("/etc/ld.so.cache", &cache)
        .elf("/opt/x/libopt.so", &Elf::x86_64())
        .view();
    let r = load(
        &view,
        "/app",
        &prog().nodeflib().needs(&["libc.so.6", "libopt.so"]),
        &[],
    );
    // The cache entry under a system directory is refused, and the default
    // directories are not searched.
    let (searched, _) = missing(&r, "libc.so.6");
    assert!(searched.iter().any(|s| s.contains("DF_1_NODEFLIB")));
    assert!(
        !searched
            .iter()
            .any(|s| s.starts_with("default directories: /"))
    );
    // A cache entry elsewhere is still used.
    assert_eq!(found(&r, "libopt.so").step, "/etc/ld.so.cache");
}

#[test]
fn glibc_ld_so_conf_includes_are_hints_not_search_steps() {
    let view = debian()
        .text(
            "/etc/ld.so.conf",
            b"include ld.so.conf.d/*.conf\n/opt/top/\n",
        )
        .text("/etc/ld.so.conf.d/b.conf", b"# B\n/opt/b\n")
        .text(
            "/etc/ld.so.conf.d/a.conf",
            b"/opt/a   # trailing comment\n/usr/lib=libc6\n",
        )
        .text("/etc/ld.so.conf.d/c.txt", b"/opt/c\n")
        .elf("/opt/a/libnew.so.1", &Elf::x86_64())
        .view();
    let loader = Loader::new(&view, env(&[]));
    let dirs: Vec<(&str, &str)> = loader
        .ld_so_conf_dirs()
        .iter()
        .map(|(d, f)| (d.as_str(), f.as_str()))
        .collect();
    assert_eq!(
        dirs,
        [
            ("/opt/a", "/etc/ld.so.conf.d/a.conf"),
            ("/usr/lib", "/etc/ld.so.conf.d/a.conf"),
            ("/opt/b", "/etc/ld.so.conf.d/b.conf"),
            ("/opt/top", "/etc/ld.so.conf"),
        ]
    );
    // The loader reads only the cache: without ldconfig, /opt/a is not searched.
    let r = loader.load("/app", &prog().needs(&["libnew.so.1"]).0);
    let (searched, skipped) = missing(&r, "libnew.so.1");
    assert!(!searched.iter().any(|s| s.contains("/opt/a")));
    assert!(
        skipped
            .iter()
            .any(|s| s.starts_with("/opt/a/libnew.so.1") && s.contains("ldconfig"))
    );
}

#[test]
fn glibc_origin_is_the_programs_resolved_directory() {
    let view = debian()
        .elf("/opt/app/bin/tool", &Elf::x86_64())
        .symlink("/usr/bin/tool", "/opt/app/bin/tool")
        .elf(
            "/opt/app/lib/libapp.so",
            &Elf::x86_64().needs(&["libdep.so"]).runpath(&["${ORIGIN}"]),
        )
        .elf("/opt/app/lib/libdep.so", &Elf::x86_64())
        .view();
    let resolved = view.resolve("/usr/bin/tool", true).unwrap().path;
    assert_eq!(resolved, "/opt/app/bin/tool");
    let p = prog().runpath(&["$ORIGIN/../lib"]).needs(&["libapp.so"]);
    let r = load(&view, &resolved, &p, &[]);
    let app = found(&r, "libapp.so");
    assert_eq!(app.path, "/opt/app/bin/../lib/libapp.so");
    // A library's origin is the directory it was loaded from.
    let dep = found(&r, "libdep.so");
    assert_eq!(dep.path, "/opt/app/bin/../lib/libdep.so");
    assert!(r.problems.is_empty(), "{r:#?}");
}

#[test]
fn glibc_lib_and_platform_tokens() {
    let view = debian()
        .elf("/opt/lib/x86_64-linux-gnu/libl.so", &Elf::x86_64())
        .elf("/opt/x86_64/libp.so", &Elf::x86_64())
        .view();
    let p = prog()
        .rpath(&["/opt/$LIB", "/opt/${PLATFORM}"])
        .needs(&["libl.so", "libp.so"]);
    let r = load(&view, "/app", &p, &[]);
    assert_eq!(
        found(&r, "libl.so").path,
        "/opt/lib/x86_64-linux-gnu/libl.so"
    );
    assert_eq!(found(&r, "libp.so").path, "/opt/x86_64/libp.so");
}

#[test]
fn glibc_wrong_class_is_skipped_and_the_search_goes_on() {
    let view = debian()
        .elf(&format!("{MA}/libz.so.1"), &Elf::i386())
        .elf("/usr/lib/x86_64-linux-gnu/libz.so.1", &Elf::x86_64())
        .elf(&format!("{MA}/libarm.so"), &Elf::aarch64())
        .text("/usr/lib/x86_64-linux-gnu/libtext.so.1", b"/* GNU ld script */\nOUTPUT_FORMAT(elf64-x86-64)\nGROUP ( /usr/lib/x86_64-linux-gnu/libtext.so.1.0 )\n")
        .view();
    let r = load(
        &view,
        "/app",
        &prog().needs(&["libz.so.1", "libarm.so", "libtext.so.1"]),
        &[],
    );
    let z = found(&r, "libz.so.1");
    assert_eq!(z.path, "/usr/lib/x86_64-linux-gnu/libz.so.1");
    assert_eq!(z.skipped.len(), 1);
    assert!(z.skipped[0].starts_with(&format!("{MA}/libz.so.1: wrong ELF class: ELFCLASS32")));
    let (_, skipped) = missing(&r, "libarm.so");
    assert!(skipped[0].starts_with(&format!("{MA}/libarm.so")));
    // A file that is not ELF stops glibc (`invalid ELF header`).
    assert!(r.problems.iter().any(|p| matches!(p,
        LoadProblem::WrongArchLibrary { name, path, reason, .. }
            if name == "libtext.so.1" && path == "/usr/lib/x86_64-linux-gnu/libtext.so.1"
                && reason.contains("invalid ELF header"))));
}

#[test]
fn glibc_arm_float_abi_mismatch_is_skipped() {
    let ld = "/lib/ld-linux-armhf.so.3";
    let view = Img::new()
        .elf(
            "/lib/arm-linux-gnueabihf/ld-linux-armhf.so.3",
            &Elf::arm(true).soname("ld-linux-armhf.so.3"),
        )
        .symlink(ld, "arm-linux-gnueabihf/ld-linux-armhf.so.3")
        .elf("/lib/arm-linux-gnueabihf/libf.so", &Elf::arm(false))
        .elf("/usr/lib/arm-linux-gnueabihf/libf.so", &Elf::arm(true))
        .view();
    let r = load(
        &view,
        "/app",
        &Elf::arm(true).interp(ld).needs(&["libf.so"]),
        &[],
    );
    let f = found(&r, "libf.so");
    assert_eq!(f.path, "/usr/lib/arm-linux-gnueabihf/libf.so");
    assert!(f.skipped[0].contains("soft-float"));
}

#[test]
fn glibc_versions() {
    let view = debian()
        .elf(&format!("{MA}/libnover.so"), &Elf::x86_64())
        .view();
    let p = prog()
        .needs(&["libc.so.6", "libnover.so"])
        .need_version("libc.so.6", "GLIBC_2.34", false)
        .need_version("libc.so.6", "GLIBC_2.99", true)
        .need_version("libc.so.6", "GLIBC_2.38", false)
        .need_version("libnover.so", "NOVER_1.0", false)
        // rtld defines GLIBC_2.3 and libc does not: the need's file decides.
        .need_version("ld-linux-x86-64.so.2", "GLIBC_2.3", false)
        .need_version("libc.so.6", "GLIBC_2.3", false);
    let r = load(&view, "/app", &p, &[]);
    let versions: Vec<(&str, &str, &str)> = r
        .problems
        .iter()
        .filter_map(|p| match p {
            LoadProblem::MissingVersion {
                version,
                file,
                provider,
                needed_by,
            } => {
                assert_eq!(needed_by, "/app");
                Some((version.as_str(), file.as_str(), provider.as_str()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        versions,
        [
            ("GLIBC_2.38", "libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"),
            ("GLIBC_2.3", "libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"),
        ]
    );
    assert_eq!(r.problems.len(), 2);
}

#[test]
fn glibc_soname_answers_a_later_need() {
    let view = debian()
        .elf("/opt/l/libfoo.so", &Elf::x86_64().soname("libfoo.so.1"))
        .elf("/opt/l/libuser.so", &Elf::x86_64().needs(&["libfoo.so.1"]))
        .view();
    let p = prog()
        .rpath(&["/opt/l"])
        .needs(&["libfoo.so", "libuser.so"]);
    let r = load(&view, "/app", &p, &[]);
    assert!(r.problems.is_empty(), "{r:#?}");
    assert!(r.libraries.iter().all(|l| l.name != "libfoo.so.1"));
}

#[test]
fn transitive_libraries_each_once() {
    let view = debian()
        .elf(
            &format!("{MA}/libA.so"),
            &Elf::x86_64().needs(&["libB.so", "libC.so"]),
        )
        .elf(
            &format!("{MA}/libB.so"),
            &Elf::x86_64().needs(&["libC.so", "libmissing.so"]),
        )
        .elf(
            &format!("{MA}/libC.so"),
            &Elf::x86_64().needs(&["libmissing.so", "libc.so.6"]),
        )
        .view();
    let r = load(&view, "/app", &prog().needs(&["libA.so", "libB.so"]), &[]);
    let order: Vec<&str> = r.libraries.iter().map(|l| l.name.as_str()).collect();
    // Breadth first: the program's needs, then libA's new ones, then libB's...
    assert_eq!(order, ["libA.so", "libB.so", "libC.so", "libc.so.6"]);
    assert_eq!(found(&r, "libC.so").needed_by, format!("{MA}/libA.so"));
    let missing: Vec<&LoadProblem> = r.problems.iter().collect();
    assert_eq!(missing.len(), 1);
    assert!(
        matches!(missing[0], LoadProblem::MissingLibrary { name, needed_by, .. }
        if name == "libmissing.so" && needed_by == &format!("{MA}/libB.so"))
    );
}

#[test]
fn glibc_path_in_needed() {
    let view = debian().elf("/opt/p/libp.so", &Elf::x86_64()).view();
    let r = load(
        &view,
        "/app",
        &prog().needs(&["/opt/p/libp.so", "/opt/p/libq.so"]),
        &[],
    );
    assert_eq!(found(&r, "/opt/p/libp.so").step, "path in DT_NEEDED");
    let (searched, _) = missing(&r, "/opt/p/libq.so");
    assert_eq!(searched, ["path in DT_NEEDED: /opt/p/libq.so"]);
}

// ---------------------------------------------------------------------------
// musl.

const MUSL: &str = "/lib/ld-musl-x86_64.so.1";

fn alpine() -> Img {
    Img::new()
        .elf(MUSL, &Elf::x86_64().leaf())
        .symlink("/lib/libc.musl-x86_64.so.1", "ld-musl-x86_64.so.1")
        .dir("/usr/lib")
        .dir("/etc")
}

fn musl_prog() -> Elf {
    Elf::x86_64().interp(MUSL)
}

#[test]
fn musl_builtins_and_default_path() {
    let view = alpine()
        .elf(
            "/usr/lib/libz.so.1",
            &Elf::x86_64().needs(&["libc.musl-x86_64.so.1"]),
        )
        .view();
    let p = musl_prog().needs(&[
        "libz.so.1",
        "libc.musl-x86_64.so.1",
        "libpthread.so.0",
        "libnope.so",
    ]);
    let r = load(&view, "/app", &p, &[]);
    assert_eq!(r.libc, Some(Libc::Musl));
    let z = found(&r, "libz.so.1");
    assert_eq!(
        (z.path.as_str(), z.step.as_str()),
        ("/usr/lib/libz.so.1", "default directories")
    );
    let c = found(&r, "libc.musl-x86_64.so.1");
    assert_eq!(
        (c.path.as_str(), c.step.as_str()),
        (MUSL, "built into the musl loader")
    );
    assert_eq!(
        found(&r, "libpthread.so.0").step,
        "built into the musl loader"
    );
    let (searched, _) = missing(&r, "libnope.so");
    assert_eq!(
        searched,
        [
            "default directories: /lib",
            "default directories: /usr/local/lib",
            "default directories: /usr/lib",
        ]
    );
    // No symbol versioning: a need nothing defines is not a problem.
    let p = musl_prog()
        .needs(&["libz.so.1"])
        .need_version("libz.so.1", "ZLIB_9", false);
    assert!(load(&view, "/app", &p, &[]).problems.is_empty());
}

#[test]
fn musl_path_file_replaces_the_default() {
    let view = alpine()
        .text("/etc/ld-musl-x86_64.path", b"/opt/m\n/usr/lib:/opt/n\n")
        .elf("/opt/m/libm1.so", &Elf::x86_64())
        .elf("/lib/libonlylib.so", &Elf::x86_64())
        .view();
    let r = load(
        &view,
        "/app",
        &musl_prog().needs(&["libm1.so", "libonlylib.so"]),
        &[],
    );
    let m = found(&r, "libm1.so");
    assert_eq!(m.step, "/etc/ld-musl-x86_64.path");
    let (searched, _) = missing(&r, "libonlylib.so");
    assert_eq!(
        searched,
        [
            "/etc/ld-musl-x86_64.path: /opt/m",
            "/etc/ld-musl-x86_64.path: /usr/lib",
            "/etc/ld-musl-x86_64.path: /opt/n",
        ]
    );
    // An empty path file searches nothing at all.
    let view = alpine()
        .text("/etc/ld-musl-x86_64.path", b"")
        .elf("/lib/libz.so.1", &Elf::x86_64())
        .view();
    let r = load(&view, "/app", &musl_prog().needs(&["libz.so.1"]), &[]);
    missing(&r, "libz.so.1");
}

#[test]
fn musl_order_ld_library_path_before_rpath() {
    let view = alpine()
        .elf("/opt/r/libx.so", &Elf::x86_64())
        .elf("/opt/l/libx.so", &Elf::x86_64())
        .view();
    let r = load(
        &view,
        "/app",
        &musl_prog().rpath(&["/opt/r"]).needs(&["libx.so"]),
        &["/opt/l"],
    );
    let x = found(&r, "libx.so");
    assert_eq!(
        (x.path.as_str(), x.step.as_str()),
        ("/opt/l/libx.so", "LD_LIBRARY_PATH")
    );
}

#[test]
fn musl_rpath_inherited_with_origin() {
    let view = alpine()
        .elf("/app/bin/prog", &Elf::x86_64())
        .elf("/app/lib/liba.so", &Elf::x86_64().needs(&["libb.so"]))
        .elf("/app/lib/libb.so", &Elf::x86_64())
        .elf("/app/other/libc2.so", &Elf::x86_64())
        .view();
    let p = musl_prog()
        .runpath(&["$ORIGIN/../lib"])
        .needs(&["liba.so", "libc2.so"]);
    let r = load(&view, "/app/bin/prog", &p, &[]);
    assert_eq!(found(&r, "liba.so").path, "/app/bin/../lib/liba.so");
    // musl passes DT_RUNPATH down the chain as well.
    let b = found(&r, "libb.so");
    assert_eq!(b.step, "DT_RUNPATH of /app/bin/prog");
    missing(&r, "libc2.so");
    // A $ other than $ORIGIN makes musl ignore the whole path.
    let p = musl_prog()
        .rpath(&["/app/lib:/usr/$LIB"])
        .needs(&["liba.so"]);
    let r = load(&view, "/app/bin/prog", &p, &[]);
    missing(&r, "liba.so");
}

#[test]
fn musl_first_candidate_of_wrong_arch_is_fatal() {
    let view = alpine()
        .elf("/lib/libz.so.1", &Elf::aarch64())
        .elf("/usr/lib/libz.so.1", &Elf::x86_64())
        .view();
    let r = load(&view, "/app", &musl_prog().needs(&["libz.so.1"]), &[]);
    assert!(r.libraries.is_empty());
    assert!(
        matches!(&r.problems[..], [LoadProblem::WrongArchLibrary { name, path, reason, .. }]
        if name == "libz.so.1" && path == "/lib/libz.so.1" && reason.contains("aarch64"))
    );
}

#[test]
fn gcompat_and_libc6_compat_are_musl() {
    // gcompat: a musl program standing at glibc's loader path.
    let gcompat = alpine()
        .elf(
            "/lib/ld-linux-x86-64.so.2",
            &Elf::x86_64().interp(MUSL).needs(&["libc.musl-x86_64.so.1"]),
        )
        .symlink("/lib64", "lib")
        .view();
    // libc6-compat: a symlink to musl's loader.
    let compat = alpine().symlink(LD64, "/lib/libc.musl-x86_64.so.1").view();
    for view in [&gcompat, &compat] {
        let r = load(
            view,
            "/app",
            &prog()
                .needs(&["libc.so.6"])
                .need_version("libc.so.6", "GLIBC_2.34", false),
            &[],
        );
        assert_eq!(r.libc, Some(Libc::Musl), "{r:#?}");
        assert_eq!(found(&r, "libc.so.6").step, "built into the musl loader");
        assert!(r.problems.is_empty());
        let loaders = image_loaders(view);
        assert!(
            loaders.contains(&(Libc::Musl, LD64.to_string())),
            "{loaders:?}"
        );
        assert!(loaders.contains(&(Libc::Musl, MUSL.to_string())));
        assert!(loaders.iter().all(|(l, _)| *l == Libc::Musl));
    }
}

#[test]
fn image_loaders_lists_glibc_and_musl() {
    let view = debian()
        .elf("/lib/ld-musl-aarch64.so.1", &Elf::aarch64())
        .view();
    let loaders = image_loaders(&view);
    assert_eq!(
        loaders,
        [
            (Libc::Glibc, LD64.to_string()),
            (Libc::Musl, "/lib/ld-musl-aarch64.so.1".to_string()),
        ]
    );
}
