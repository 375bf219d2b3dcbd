//! One program, start to finish: the kernel's part (PT_INTERP, resolved in
//! the view), the choice of loader by the file the interpreter really is,
//! the breadth-first walk of DT_NEEDED both loaders share, and glibc's check
//! of version needs. The search rules themselves live in `glibc.rs` and
//! `musl.rs`.
//!
//! The walk follows the loaders' trace mode (`ldd`): a library that cannot be
//! found is reported and the walk goes on, so one run names every problem,
//! each once, where the real loader (glibc) would stop at the first.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::elf::{Class, ElfFacts, FileType, machine};
use crate::fs::{FsView, NodeKind, ResolveError};
use crate::layers::Content;

use super::glibc::{GlibcConfig, GlibcSearch};
use super::musl::{MuslConfig, MuslSearch};
use super::{Libc, LoadEnv, LoadProblem, LoadReport, Resolution};

/// Objects one program may load at most (bounds hostile dependency graphs).
const MAX_OBJECTS: usize = 4096;

/// The loader emulation for one platform's view, built once and asked per program.
pub struct Loader<'a> {
    view: &'a FsView,
    env: LoadEnv,
    glibc: GlibcConfig,
    musl: MuslConfig,
}

impl<'a> Loader<'a> {
    /// Reads what the loaders read once per process: `/etc/ld.so.cache`, the
    /// `/etc/ld.so.conf` tree (for hints only: the loader itself never reads
    /// it) and musl's `/etc/ld-musl-ARCH.path` files.
    pub fn new(view: &'a FsView, env: LoadEnv) -> Loader<'a> {
        Loader {
            view,
            env,
            glibc: GlibcConfig::read(view),
            musl: MuslConfig::read(view),
        }
    }

    /// The parsed `/etc/ld.so.cache`, when the image has a readable one.
    pub fn ld_cache(&self) -> Option<&super::LdCache> {
        self.glibc.cache.as_ref()
    }

    /// Why `/etc/ld.so.cache` could not be parsed, when it exists but is broken.
    pub fn ld_cache_error(&self) -> Option<&str> {
        self.glibc.cache_error.as_deref()
    }

    /// The directories `/etc/ld.so.conf` and its includes list, in order,
    /// each with the file that lists it.
    pub fn ld_so_conf_dirs(&self) -> &[(String, String)] {
        &self.glibc.conf_dirs
    }

    /// What the loader would do with the program at `path` (already resolved,
    /// no symlink left) whose facts are `facts`.
    pub fn load(&self, path: &str, facts: &ElfFacts) -> LoadReport {
        let mut report = LoadReport::default();
        // No PT_INTERP: the kernel runs the file itself and no loader reads
        // its DT_NEEDED (static programs, static-pie).
        let Some(interp) = facts.interpreter.as_deref() else {
            return report;
        };
        // binfmt_elf opens PT_INTERP like any path (relative ones from the
        // working directory, taken to be the root).
        let resolved = match self.view.resolve(&absolute(interp), true) {
            Ok(r) => r,
            Err(ResolveError::NotFound(_) | ResolveError::NotADirectory(_)) => {
                report.problems.push(LoadProblem::MissingInterpreter {
                    interpreter: interp.to_string(),
                });
                return report;
            }
            Err(e) => {
                report.problems.push(LoadProblem::BadInterpreter {
                    interpreter: interp.to_string(),
                    reason: e.to_string(),
                });
                return report;
            }
        };
        report.interpreter = Some(resolved.path.clone());
        let interp_facts = match (&resolved.node.kind, &resolved.node.content) {
            (NodeKind::File, Content::Elf(f)) => Some(Arc::clone(f)),
            (NodeKind::File, Content::ElfTooLarge) => None,
            (kind, content) => {
                let reason = match (kind, content) {
                    (NodeKind::Dir, _) => "is a directory".to_string(),
                    (_, Content::BadElf(e)) => format!("is a damaged ELF file ({e})"),
                    _ => "is not an ELF file".to_string(),
                };
                report.libc = Libc::of_interpreter(interp);
                report.problems.push(LoadProblem::BadInterpreter {
                    interpreter: interp.to_string(),
                    reason,
                });
                return report;
            }
        };
        report.libc = libc_of_loader(interp, &resolved.path, interp_facts.as_deref());
        if let Some(f) = &interp_facts
            && (f.class != facts.class || f.machine != facts.machine || f.endian != facts.endian)
        {
            // binfmt_elf checks the interpreter's header like the program's.
            report.problems.push(LoadProblem::BadInterpreter {
                interpreter: interp.to_string(),
                reason: format!(
                    "is built for {}, the program for {}",
                    arch_desc(f),
                    arch_desc(facts)
                ),
            });
            return report;
        }

        let program_facts = Arc::new(facts.clone());
        let mut objs = vec![
            Obj {
                path: path.to_string(),
                resolved: path.to_string(),
                facts: Some(program_facts),
                names: Vec::new(),
                loader: None,
            },
            Obj {
                path: interp.to_string(),
                resolved: resolved.path.clone(),
                facts: interp_facts,
                names: Vec::new(),
                loader: None,
            },
        ];
        match report.libc {
            Some(Libc::Glibc) => {
                let rules = GlibcSearch::new(self.view, &self.env, &self.glibc, facts);
                // rtld is in the namespace from the start, under its PT_INTERP
                // name and its soname (rtld.c); the program under its soname.
                objs[0].names = facts.soname.iter().cloned().collect();
                objs[1].names = std::iter::once(interp.to_string())
                    .chain(objs[1].facts.as_ref().and_then(|f| f.soname.clone()))
                    .collect();
                walk(&rules, &mut objs, &mut report);
                check_versions(&objs, &mut report);
            }
            Some(Libc::Musl) => {
                let rules = MuslSearch::new(
                    self.view,
                    &self.env,
                    &self.musl,
                    facts,
                    interp,
                    &resolved.path,
                );
                walk(&rules, &mut objs, &mut report);
            }
            None => {}
        }
        report
    }
}

/// Which loader a file at an interpreter path really is. musl's loader goes
/// by `ld-musl-ARCH.so.1`, `libc.musl-ARCH.so.1` (Alpine) or `libc.so`
/// (Debian's musl package); gcompat's `ld-linux-*.so.*` is a small musl
/// program that runs musl's loader, and libc6-compat's is a symlink to musl.
fn libc_of_loader(interp: &str, resolved: &str, facts: Option<&ElfFacts>) -> Option<Libc> {
    if is_musl_file(resolved, facts) {
        Some(Libc::Musl)
    } else {
        Libc::of_interpreter(interp).or_else(|| Libc::of_interpreter(resolved))
    }
}

fn is_musl_file(resolved: &str, facts: Option<&ElfFacts>) -> bool {
    let name = basename(resolved);
    if name.starts_with("ld-musl-") || name.starts_with("libc.musl-") || name == "libc.so" {
        return true;
    }
    facts.is_some_and(|f| {
        f.interpreter.as_deref().and_then(Libc::of_interpreter) == Some(Libc::Musl)
            || f.needed
                .iter()
                .any(|n| n.starts_with("libc.musl-") || n == "libc.so")
    })
}

/// Interpreter paths of the glibc loaders (see DESIGN: "PT_INTERP paths").
const GLIBC_INTERPRETERS: [&str; 8] = [
    "/lib64/ld-linux-x86-64.so.2",
    "/lib/ld-linux-aarch64.so.1",
    "/lib/ld-linux-armhf.so.3",
    "/lib/ld-linux.so.3",
    "/lib/ld-linux.so.2",
    "/lib64/ld64.so.2",
    "/lib/ld64.so.1",
    "/lib/ld-linux-riscv64-lp64d.so.1",
];

/// The dynamic loaders present in the view: (libc, path) for every file at a
/// known interpreter path (`/lib/ld-musl-*.so.1`, `/lib64/ld-linux-x86-64.so.2`, ...),
/// classified by what the path resolves to (gcompat's shim counts as musl).
pub fn image_loaders(view: &FsView) -> Vec<(Libc, String)> {
    let mut out = Vec::new();
    for path in GLIBC_INTERPRETERS {
        if let Ok(r) = view.resolve(path, true)
            && r.node.kind == NodeKind::File
        {
            let facts = match &r.node.content {
                Content::Elf(f) => Some(f.as_ref()),
                _ => None,
            };
            let libc = if is_musl_file(&r.path, facts) {
                Libc::Musl
            } else {
                Libc::Glibc
            };
            out.push((libc, path.to_string()));
        }
    }
    for name in child_names(view, "/lib") {
        if name.starts_with("ld-musl-") && name.ends_with(".so.1") {
            let path = format!("/lib/{name}");
            if matches!(view.resolve(&path, true), Ok(r) if r.node.kind == NodeKind::File) {
                out.push((Libc::Musl, path));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// What glibc.rs and musl.rs share.

/// One object in the emulated namespace.
pub(super) struct Obj {
    /// The path it was loaded from, as searched (the program: its resolved path).
    pub path: String,
    /// The same path resolved in the view (the file's identity).
    pub resolved: String,
    /// `None` when the file is an ELF too large to have been read.
    pub facts: Option<Arc<ElfFacts>>,
    /// Names under which a later DT_NEEDED finds it without a search.
    pub names: Vec<String>,
    /// The object whose DT_NEEDED loaded it (`l_loader`, musl's `needed_by`).
    pub loader: Option<usize>,
}

/// What one search for one DT_NEEDED came to.
pub(super) enum Outcome {
    Loaded {
        path: String,
        resolved: String,
        facts: Option<Arc<ElfFacts>>,
        step: String,
        skipped: Vec<String>,
    },
    /// An object already in the namespace answers the name (musl's builtins).
    Existing {
        index: usize,
        path: String,
        step: String,
    },
    Missing {
        searched: Vec<String>,
        skipped: Vec<String>,
    },
    Fatal {
        path: String,
        reason: String,
    },
}

pub(super) trait Rules {
    /// Looks `name` up for `objs[needer]`.
    fn search(&self, objs: &[Obj], needer: usize, name: &str) -> Outcome;
    /// Names a newly loaded object answers to afterwards.
    fn names(&self, name: &str, path: &str, facts: Option<&ElfFacts>) -> Vec<String>;
}

/// The breadth-first walk both loaders do: glibc's `_dl_map_object_deps`
/// and musl's `load_deps` go down the list of loaded objects in order,
/// loading each one's DT_NEEDED entries and appending what is new.
fn walk(rules: &dyn Rules, objs: &mut Vec<Obj>, report: &mut LoadReport) {
    // Names already answered (found or reported), so each is reported once:
    // in trace mode glibc enters a stand-in for a missing name, and later
    // needs of the same name match it.
    let mut handled: BTreeSet<String> = BTreeSet::new();
    let mut i = 0;
    while i < objs.len() {
        let needed = objs[i]
            .facts
            .as_ref()
            .map(|f| f.needed.clone())
            .unwrap_or_default();
        for name in needed {
            if handled.contains(&name) || objs.iter().any(|o| o.names.contains(&name)) {
                continue;
            }
            handled.insert(name.clone());
            let needed_by = objs[i].path.clone();
            match rules.search(objs, i, &name) {
                Outcome::Loaded {
                    path,
                    resolved,
                    facts,
                    step,
                    skipped,
                } => {
                    report.libraries.push(Resolution {
                        name: name.clone(),
                        needed_by,
                        path: path.clone(),
                        step,
                        skipped,
                    });
                    // The same file under another name is the same object
                    // (glibc and musl both compare device and inode).
                    let names = rules.names(&name, &path, facts.as_deref());
                    if let Some(j) = objs.iter().position(|o| o.resolved == resolved) {
                        objs[j].names.extend(names);
                    } else if objs.len() < MAX_OBJECTS {
                        objs.push(Obj {
                            path,
                            resolved,
                            facts,
                            names,
                            loader: Some(i),
                        });
                    }
                }
                Outcome::Existing { index, path, step } => {
                    report.libraries.push(Resolution {
                        name: name.clone(),
                        needed_by,
                        path,
                        step,
                        skipped: Vec::new(),
                    });
                    if let Some(o) = objs.get_mut(index) {
                        o.names.push(name);
                    }
                }
                Outcome::Missing { searched, skipped } => {
                    report.problems.push(LoadProblem::MissingLibrary {
                        name,
                        needed_by,
                        searched,
                        skipped,
                    });
                }
                Outcome::Fatal { path, reason } => {
                    report.problems.push(LoadProblem::WrongArchLibrary {
                        name,
                        needed_by,
                        path,
                        reason,
                    });
                }
            }
        }
        i += 1;
    }
}

/// glibc's `_dl_check_map_versions` (elf/dl-version.c): every version need
/// of every loaded object is looked up in the object the need's file names;
/// a provider without version definitions passes, a weak need passes.
fn check_versions(objs: &[Obj], report: &mut LoadReport) {
    let mut seen = BTreeSet::new();
    for obj in objs {
        let Some(facts) = &obj.facts else { continue };
        for need in &facts.version_needs {
            if need.weak {
                continue;
            }
            // A provider that did not load was reported as missing already.
            let Some(provider) = objs.iter().find(|o| o.names.contains(&need.file)) else {
                continue;
            };
            let Some(pf) = &provider.facts else { continue };
            if pf.version_defs.is_empty() || pf.version_defs.contains(&need.name) {
                continue;
            }
            let problem = LoadProblem::MissingVersion {
                version: need.name.clone(),
                file: need.file.clone(),
                provider: provider.path.clone(),
                needed_by: obj.path.clone(),
            };
            if seen.insert(format!("{problem:?}")) {
                report.problems.push(problem);
            }
        }
    }
}

/// What one candidate path turned out to be.
pub(super) enum Probe {
    /// Nothing there (`note` says why when it is not plain ENOENT).
    Absent { note: Option<String> },
    Elf {
        resolved: String,
        facts: Arc<ElfFacts>,
    },
    /// An ELF file too large to have been read: loadable as far as we know.
    Unread { resolved: String },
    /// Something the loader opens and cannot map.
    NotElf { reason: String },
}

pub(super) fn probe(view: &FsView, path: &str) -> Probe {
    match view.resolve(&absolute(path), true) {
        Err(ResolveError::Loop(_)) => Probe::Absent {
            note: Some(format!("{path}: too many levels of symbolic links")),
        },
        Err(_) => Probe::Absent { note: None },
        Ok(r) => match (&r.node.kind, &r.node.content) {
            (NodeKind::File, Content::Elf(f)) => Probe::Elf {
                resolved: r.path,
                facts: Arc::clone(f),
            },
            (NodeKind::File, Content::ElfTooLarge) => Probe::Unread { resolved: r.path },
            (NodeKind::File, Content::BadElf(e)) => Probe::NotElf {
                reason: format!("is a damaged ELF file ({e})"),
            },
            (NodeKind::Dir, _) => Probe::NotElf {
                reason: "is a directory".into(),
            },
            (NodeKind::File, _) if r.node.size < 52 => Probe::NotElf {
                reason: "is too short to be an ELF file".into(),
            },
            _ => Probe::NotElf {
                reason: "is not an ELF file (invalid ELF header)".into(),
            },
        },
    }
}

/// `x86-64 (ELF64)`, `arm hard-float (ELF32)`, ...
pub(super) fn arch_desc(f: &ElfFacts) -> String {
    let class = match f.class {
        Class::Elf32 => "ELF32",
        Class::Elf64 => "ELF64",
    };
    let float = match f.arm_float_abi() {
        Some(crate::elf::ArmFloat::Hard) => " hard-float",
        Some(crate::elf::ArmFloat::Soft) => " soft-float",
        None => "",
    };
    let endian = match (f.endian, f.machine) {
        (crate::elf::Endian::Big, m) if m != machine::EM_S390 => " big-endian",
        _ => "",
    };
    format!("{}{float}{endian} ({class})", f.machine_name())
}

/// Whether `f` is an ET_EXEC, which glibc refuses to map as a library
/// (`cannot dynamically load executable`).
pub(super) fn is_executable(f: &ElfFacts) -> bool {
    f.file_type == FileType::Executable
}

/// The last component of a path.
pub(super) fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The directory part of a path, as glibc's `_dl_new_object` computes an
/// origin: everything before the last slash, `/` for `/name`, `.` for `name`.
pub(super) fn dirname(path: &str) -> String {
    match path.rfind('/') {
        Some(0) => "/".to_string(),
        Some(i) => path[..i].to_string(),
        None => ".".to_string(),
    }
}

/// `dir/name` the way the loaders build candidates.
pub(super) fn join(dir: &str, name: &str) -> String {
    if dir.ends_with('/') {
        format!("{dir}{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// Relative paths are relative to the working directory, taken to be `/`.
pub(super) fn absolute(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{}", path.trim_start_matches("./"))
    }
}

/// The names in directory `dir` (resolved first), sorted.
pub(super) fn child_names(view: &FsView, dir: &str) -> Vec<String> {
    let Ok(r) = view.resolve(dir, true) else {
        return Vec::new();
    };
    if r.node.kind != NodeKind::Dir {
        return Vec::new();
    }
    let dir = r.path;
    let mut names: Vec<String> = view
        .children(&dir)
        .map(|(p, _)| basename(p).to_string())
        .filter(|n| !n.is_empty())
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The bytes the layer reader kept for a configuration file.
pub(super) fn config_bytes(view: &FsView, path: &str) -> Option<Arc<Vec<u8>>> {
    let r = view.resolve(path, true).ok()?;
    match &r.node.content {
        Content::Config(b) if r.node.kind == NodeKind::File => Some(Arc::clone(b)),
        _ => None,
    }
}
