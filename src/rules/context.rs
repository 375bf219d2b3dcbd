//! What every rule of one platform looks at, computed once: the ELF files of
//! the view, which of them would be executed or loaded, and what the loader
//! would do with each.

use std::collections::BTreeMap;

use crate::elf::{ElfFacts, FileType, machine};
use crate::fs::{FsView, Node, NodeKind};
use crate::layers::Content;
use crate::loader::{Libc, LoadEnv, LoadReport, Loader, image_loaders};
use crate::platform::Platform;
use crate::source::ImageConfig;

/// What the scan hands the rules for one platform.
#[derive(Clone, Copy)]
pub struct PlatformInput<'a> {
    pub platform: &'a Platform,
    /// The platform the index entry declares, when the image has an index.
    pub index_platform: Option<&'a Platform>,
    pub config: &'a ImageConfig,
    pub view: &'a FsView,
}

/// One ELF file of the view.
pub struct ElfFile<'a> {
    pub path: &'a str,
    pub node: &'a Node,
    pub facts: &'a ElfFacts,
    /// Whether it runs on the platform natively (or through a compat mode the
    /// platform's kernels have: i386 on amd64, AArch32 on arm64).
    pub compatible: bool,
    /// Whether it would be executed or loaded: execute bit, the entrypoint,
    /// or a shared object in a directory the loader searches.
    pub active: bool,
    /// What the loader would do with it, for active dynamic objects.
    pub load: Option<LoadReport>,
}

/// The entrypoint the config names, resolved the way the runtime does.
pub struct Entrypoint {
    /// Entrypoint followed by Cmd.
    pub argv: Vec<String>,
    /// The resolved path with no symlink left, or why it cannot be executed.
    pub resolved: Result<String, String>,
    /// Every place looked at, for the finding's details.
    pub searched: Vec<String>,
}

/// Everything the per-platform rules read.
pub struct PlatformFacts<'a> {
    pub input: PlatformInput<'a>,
    pub env: LoadEnv,
    pub elves: Vec<ElfFile<'a>>,
    /// The dynamic loaders present: (libc, path).
    pub loaders: Vec<(Libc, String)>,
    pub entrypoint: Option<Entrypoint>,
    /// Set when most executables are of another architecture than the label:
    /// that one root cause is reported once, by `platform-label-mismatch`.
    pub majority_arch: Option<&'static str>,
}

impl<'a> PlatformFacts<'a> {
    pub fn build(input: PlatformInput<'a>) -> PlatformFacts<'a> {
        let view = input.view;
        let env = LoadEnv::from_config(input.config);
        let entrypoint = resolve_entrypoint(view, input.config, &env);
        let entry_path = entrypoint.as_ref().and_then(|e| e.resolved.clone().ok());
        let lib_dirs = library_dirs(input.platform, &env);

        let mut elves: Vec<ElfFile<'a>> = view
            .iter()
            .filter(|(_, n)| n.kind == NodeKind::File)
            .filter_map(|(path, node)| match &node.content {
                Content::Elf(facts) => {
                    let compatible = compatible(facts, input.platform);
                    let parent = path.rsplit_once('/').map_or("/", |(d, _)| d);
                    let parent = if parent.is_empty() { "/" } else { parent };
                    let active = facts.file_type != FileType::Relocatable
                        && (node.mode & 0o111 != 0
                            || entry_path.as_deref() == Some(path)
                            || (facts.file_type == FileType::SharedObject
                                && lib_dirs.iter().any(|d| d == parent)));
                    Some(ElfFile {
                        path,
                        node,
                        facts,
                        compatible,
                        active,
                        load: None,
                    })
                }
                _ => None,
            })
            .collect();

        let majority_arch = majority_arch(&elves, input.platform);
        let loader = Loader::new(view, env.clone());
        for elf in &mut elves {
            if elf.active && elf.compatible && elf.facts.is_dynamic() {
                elf.load = Some(loader.load(elf.path, elf.facts));
            }
        }
        PlatformFacts {
            input,
            env,
            elves,
            loaders: image_loaders(view),
            entrypoint,
            majority_arch,
        }
    }

    /// The libc of the platform: `glibc`, `musl`, `mixed` or `none`.
    pub fn libc_summary(&self) -> &'static str {
        let glibc = self.loaders.iter().any(|(l, _)| *l == Libc::Glibc);
        let musl = self.loaders.iter().any(|(l, _)| *l == Libc::Musl);
        match (glibc, musl) {
            (true, true) => "mixed",
            (true, false) => "glibc",
            (false, true) => "musl",
            (false, false) => "none",
        }
    }

    /// The digest of the layer that brought `node`, when it came from a blob.
    pub fn layer_of(&self, node: &Node) -> Option<String> {
        let d = self.input.view.layer_digest(node.layer);
        (!d.is_empty()).then(|| d.to_string())
    }

    /// `finding`, placed at `elf`: its path and the layer that brought it.
    pub fn at(&self, elf: &ElfFile<'_>, finding: super::Finding) -> super::Finding {
        super::Finding {
            path: Some(elf.path.to_string()),
            layer: self.layer_of(elf.node),
            ..finding
        }
    }

    /// The ELF file at `path`, if any.
    pub fn elf(&self, path: &str) -> Option<&ElfFile<'a>> {
        self.elves.iter().find(|e| e.path == path)
    }
}

/// Whether an object of `facts` runs on `platform` at all.
fn compatible(facts: &ElfFacts, platform: &Platform) -> bool {
    match (facts.oci_arch(), platform.arch.as_str()) {
        (Some(a), p) if a == p => true,
        (Some("386"), "amd64") => true,
        (Some("arm"), "arm64") => true,
        _ => false,
    }
}

/// The architecture most executables are built for, when it is not one the
/// platform runs: the label is wrong rather than each file.
fn majority_arch(elves: &[ElfFile<'_>], platform: &Platform) -> Option<&'static str> {
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut total = 0;
    for e in elves.iter().filter(|e| e.active) {
        total += 1;
        if let Some(a) = e.facts.oci_arch() {
            *counts.entry(a).or_default() += 1;
        }
    }
    let (arch, n) = counts.into_iter().max_by_key(|(_, n)| *n)?;
    let foreign = arch != platform.arch
        && !(arch == "386" && platform.arch == "amd64")
        && !(arch == "arm" && platform.arch == "arm64");
    (foreign && n * 2 > total).then_some(arch)
}

/// The directories whose shared objects the loaders would pick up by name.
fn library_dirs(platform: &Platform, env: &LoadEnv) -> Vec<String> {
    let mut dirs: Vec<String> = ["/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let triple = match platform.arch.as_str() {
        "amd64" => "x86_64-linux-gnu",
        "arm64" => "aarch64-linux-gnu",
        "arm" if platform.variant.as_deref() == Some("v7") => "arm-linux-gnueabihf",
        "arm" => "arm-linux-gnueabi",
        "386" => "i386-linux-gnu",
        "ppc64le" => "powerpc64le-linux-gnu",
        "s390x" => "s390x-linux-gnu",
        "riscv64" => "riscv64-linux-gnu",
        _ => "",
    };
    if !triple.is_empty() {
        dirs.push(format!("/lib/{triple}"));
        dirs.push(format!("/usr/lib/{triple}"));
    }
    dirs.extend(env.ld_library_path.iter().cloned());
    dirs
}

/// Resolves the config's Entrypoint + Cmd argv[0] as the runtime does: a name
/// with a slash from the working directory, else through the config's PATH.
fn resolve_entrypoint(view: &FsView, config: &ImageConfig, env: &LoadEnv) -> Option<Entrypoint> {
    let mut argv: Vec<String> = config.entrypoint.clone().unwrap_or_default();
    argv.extend(config.cmd.clone().unwrap_or_default());
    let argv0 = argv.first()?.clone();
    let mut searched = Vec::new();
    let candidates: Vec<String> = if argv0.contains('/') {
        let cwd = config.working_dir.as_deref().unwrap_or("/");
        let p = if argv0.starts_with('/') {
            argv0.clone()
        } else {
            format!("{}/{}", cwd.trim_end_matches('/'), argv0)
        };
        vec![p]
    } else {
        env.path
            .iter()
            .map(|d| format!("{}/{}", d.trim_end_matches('/'), argv0))
            .collect()
    };
    let mut last_error = format!("{argv0}: not found");
    for c in candidates {
        searched.push(c.clone());
        match view.resolve(&c, true) {
            Ok(r) if r.node.kind == NodeKind::Dir => {
                last_error = format!("{c} is a directory");
                if argv0.contains('/') {
                    break;
                }
            }
            Ok(r) if r.node.kind == NodeKind::File && r.node.mode & 0o111 == 0 => {
                last_error = format!("{c} is not executable (mode {:o})", r.node.mode);
                if argv0.contains('/') {
                    break;
                }
            }
            Ok(r) if r.node.kind == NodeKind::File => {
                return Some(Entrypoint {
                    argv,
                    resolved: Ok(r.path),
                    searched,
                });
            }
            Ok(_) => last_error = format!("{c} is not a regular file"),
            Err(e) => {
                if !matches!(e, crate::fs::ResolveError::NotFound(_)) {
                    last_error = e.to_string();
                }
            }
        }
    }
    Some(Entrypoint {
        argv,
        resolved: Err(last_error),
        searched,
    })
}

/// The machine names used in messages: `x86-64 (amd64)`.
pub fn describe_machine(facts: &ElfFacts) -> String {
    let bits = match facts.class {
        crate::elf::Class::Elf32 => "32-bit",
        crate::elf::Class::Elf64 => "64-bit",
    };
    match facts.oci_arch() {
        Some(a) => format!("{bits} {} ({a})", facts.machine_name()),
        None if facts.machine == machine::EM_ARM => format!("{bits} arm"),
        None => format!("{bits} {}", facts.machine_name()),
    }
}

impl<'a> PlatformFacts<'a> {
    /// Every loader problem of every program once, by `key`, with the programs
    /// that meet it (a library missing for a library is one finding, whatever
    /// number of programs load that library).
    pub fn unique_problems<K: Ord>(
        &self,
        key: impl Fn(&crate::loader::LoadProblem) -> Option<K>,
    ) -> Vec<(&crate::loader::LoadProblem, Vec<&'a str>)> {
        let mut seen: BTreeMap<K, (&crate::loader::LoadProblem, Vec<&'a str>)> = BTreeMap::new();
        for elf in &self.elves {
            for p in elf.load.iter().flat_map(|l| &l.problems) {
                if let Some(k) = key(p) {
                    seen.entry(k).or_insert((p, Vec::new())).1.push(elf.path);
                }
            }
        }
        seen.into_values().collect()
    }

    /// The layer of the file at `path` (resolved inside the view).
    pub fn layer_of_path(&self, path: &str) -> Option<String> {
        let r = self.input.view.resolve(path, true).ok()?;
        self.layer_of(r.node)
    }
}
