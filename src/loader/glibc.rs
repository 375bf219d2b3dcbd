//! glibc's search rules (elf/dl-load.c `_dl_map_new_object`, `open_verify`,
//! `_dl_dst_substitute`; elf/dl-cache.c `_dl_load_cache_lookup`).
//!
//! For a DT_NEEDED name without a slash, in this order:
//! 1. unless the needing object has DT_RUNPATH: the DT_RPATH of the needing
//!    object, then of the object that loaded it, and on up to the program
//!    (`for (l = loader; l; l = l->l_loader)`). The program's DT_RPATH is
//!    ignored when the program has DT_RUNPATH (`_dl_init_paths` sets its
//!    `l_rpath_dirs` to -1); a library's DT_RPATH in the chain is used even
//!    when that library also has DT_RUNPATH (`cache_rpath` checks DT_RPATH
//!    only), as the source does;
//! 2. LD_LIBRARY_PATH (`:` or `;` separated);
//! 3. the needing object's own DT_RUNPATH (never inherited);
//! 4. `/etc/ld.so.cache`, entries whose flags fit this machine
//!    (`_dl_cache_check_flags`); with DF_1_NODEFLIB an entry under a system
//!    directory is not used;
//! 5. the system directories, unless the needing object has DF_1_NODEFLIB.
//!
//! `open_verify` skips a candidate of the other ELF class, of another machine
//! or (ARM) of the other float ABI and the search goes on; a file that is not
//! ELF, or has the other byte order, stops the load (`invalid ELF header`).
//!
//! Assumptions, since they depend on how glibc was built:
//! - system directories: Debian/Ubuntu (multiarch) when `/lib/TRIPLE` or
//!   `/usr/lib/TRIPLE` exists in the view: `/lib/TRIPLE:/usr/lib/TRIPLE:/lib:/usr/lib`
//!   (what Debian's `ld.so --help` lists); otherwise glibc's upstream
//!   defaults: `/lib64:/usr/lib64` on 64-bit targets (`/lib64/lp64d` for
//!   riscv64, `/libx32` for x32), `/lib:/usr/lib` on 32-bit ones.
//! - `$LIB`: `lib/TRIPLE` on multiarch systems (Debian's build), else the
//!   last part of the first system directory (`lib64` or `lib`).
//! - `$PLATFORM` (the kernel's AT_PLATFORM): `x86_64`, `i686`, `aarch64`,
//!   `v7l` (arm), `power8` (ppc64le), `z13` (s390x); none for riscv64, where
//!   a path element using it is dropped as glibc drops it.
//! - glibc-hwcaps and legacy hwcap subdirectories are not searched.

use std::collections::BTreeSet;

use crate::elf::{ArmFloat, Class, ElfFacts, Endian, machine};
use crate::fs::FsView;

use super::LoadEnv;
use super::ldcache::{LdCache, flags as f, parse_ld_so_cache};
use super::program::{
    Obj, Outcome, Probe, Rules, arch_desc, child_names, config_bytes, dirname, is_executable, join,
    probe,
};

const CACHE: &str = "/etc/ld.so.cache";
const CONF: &str = "/etc/ld.so.conf";
/// Include depth and file count bounds for `/etc/ld.so.conf`.
const MAX_CONF_DEPTH: usize = 8;
const MAX_CONF_FILES: usize = 256;

/// What glibc's side reads once per view.
#[derive(Debug, Default)]
pub(super) struct GlibcConfig {
    pub cache: Option<LdCache>,
    pub cache_error: Option<String>,
    /// `(directory, file that lists it)` from `/etc/ld.so.conf` and its includes.
    pub conf_dirs: Vec<(String, String)>,
}

impl GlibcConfig {
    pub fn read(view: &FsView) -> GlibcConfig {
        let mut config = GlibcConfig::default();
        if let Some(bytes) = config_bytes(view, CACHE) {
            match parse_ld_so_cache(&bytes) {
                Ok(c) => config.cache = Some(c),
                Err(e) => config.cache_error = Some(e),
            }
        }
        let mut visited = BTreeSet::new();
        read_conf(view, CONF, 0, &mut visited, &mut config.conf_dirs);
        config
    }
}

/// ldconfig's `parse_conf`: one directory per line (a `=TYPE` suffix
/// dropped), `#` comments, `include PATTERN...` with patterns relative to the
/// including file's directory, `hwcap` lines ignored.
fn read_conf(
    view: &FsView,
    file: &str,
    depth: usize,
    visited: &mut BTreeSet<String>,
    out: &mut Vec<(String, String)>,
) {
    if depth > MAX_CONF_DEPTH || visited.len() >= MAX_CONF_FILES || !visited.insert(file.into()) {
        return;
    }
    let Some(bytes) = config_bytes(view, file) else {
        return;
    };
    let text = String::from_utf8_lossy(&bytes);
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("include")
            && rest.starts_with([' ', '\t'])
        {
            for pattern in rest.split_whitespace() {
                let pattern = if pattern.starts_with('/') {
                    pattern.to_string()
                } else {
                    join(&dirname(file), pattern)
                };
                for included in glob_view(view, &pattern) {
                    read_conf(view, &included, depth + 1, visited, out);
                }
            }
        } else if line
            .strip_prefix("hwcap")
            .is_some_and(|r| r.starts_with([' ', '\t']))
        {
            continue;
        } else {
            let dir = line.split('=').next().unwrap_or("").trim_end();
            let dir = dir.trim_end_matches('/');
            let dir = if dir.is_empty() { "/" } else { dir };
            if !out.iter().any(|(d, _)| d == dir) {
                out.push((dir.to_string(), file.to_string()));
            }
        }
    }
}

/// Expands a glob over the view, as glob(3) would over the image: existing
/// paths only, sorted within each directory.
pub(super) fn glob_view(view: &FsView, pattern: &str) -> Vec<String> {
    const MAX_MATCHES: usize = 1024;
    let mut current = vec![String::new()];
    for component in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        let is_glob = component.contains(['*', '?', '[']);
        let matcher = if is_glob {
            match glob::Pattern::new(component) {
                Ok(p) => Some(p),
                Err(_) => return Vec::new(),
            }
        } else {
            None
        };
        for base in &current {
            match &matcher {
                Some(m) => {
                    let dir = if base.is_empty() { "/" } else { base.as_str() };
                    for name in child_names(view, dir) {
                        // glob(3) does not match a leading dot with a wildcard.
                        if (!name.starts_with('.') || component.starts_with('.'))
                            && m.matches(&name)
                            && next.len() < MAX_MATCHES
                        {
                            next.push(format!("{base}/{name}"));
                        }
                    }
                }
                None => next.push(format!("{base}/{component}")),
            }
        }
        current = next;
    }
    current
        .into_iter()
        .filter(|p| !p.is_empty() && view.resolve(p, true).is_ok())
        .collect()
}

/// The build-dependent facts of the glibc that would run this program.
struct Target {
    system_dirs: Vec<String>,
    lib: String,
    platform: Option<&'static str>,
}

/// The Debian multiarch triple of an object's target.
pub(super) fn multiarch(facts: &ElfFacts) -> Option<&'static str> {
    use machine::*;
    Some(match (facts.machine, facts.class, facts.endian) {
        (EM_X86_64, Class::Elf64, _) => "x86_64-linux-gnu",
        (EM_X86_64, Class::Elf32, _) => "x86_64-linux-gnux32",
        (EM_AARCH64, Class::Elf64, Endian::Little) => "aarch64-linux-gnu",
        (EM_AARCH64, Class::Elf64, Endian::Big) => "aarch64_be-linux-gnu",
        (EM_ARM, Class::Elf32, Endian::Little) => match facts.arm_float_abi() {
            Some(ArmFloat::Hard) => "arm-linux-gnueabihf",
            _ => "arm-linux-gnueabi",
        },
        (EM_386, Class::Elf32, _) => "i386-linux-gnu",
        (EM_PPC64, Class::Elf64, Endian::Little) => "powerpc64le-linux-gnu",
        (EM_PPC64, Class::Elf64, Endian::Big) => "powerpc64-linux-gnu",
        (EM_S390, Class::Elf64, _) => "s390x-linux-gnu",
        (EM_RISCV, Class::Elf64, _) => "riscv64-linux-gnu",
        _ => return None,
    })
}

impl Target {
    fn of(view: &FsView, program: &ElfFacts) -> Target {
        use machine::*;
        let platform = match (program.machine, program.class) {
            (EM_X86_64, Class::Elf64) => Some("x86_64"),
            (EM_386, _) => Some("i686"),
            (EM_AARCH64, _) => Some("aarch64"),
            (EM_ARM, _) => Some("v7l"),
            (EM_PPC64, _) => Some("power8"),
            (EM_S390, _) => Some("z13"),
            _ => None,
        };
        let triple = multiarch(program);
        let is_dir = |p: &str| matches!(view.resolve(p, true), Ok(r) if r.node.kind == crate::fs::NodeKind::Dir);
        if let Some(t) = triple
            && (is_dir(&format!("/lib/{t}")) || is_dir(&format!("/usr/lib/{t}")))
        {
            return Target {
                system_dirs: vec![
                    format!("/lib/{t}"),
                    format!("/usr/lib/{t}"),
                    "/lib".into(),
                    "/usr/lib".into(),
                ],
                lib: format!("lib/{t}"),
                platform,
            };
        }
        let lib = match (program.machine, program.class) {
            (EM_RISCV, Class::Elf64) => "lib64/lp64d",
            (EM_X86_64, Class::Elf32) => "libx32",
            (_, Class::Elf64) => "lib64",
            (_, Class::Elf32) => "lib",
        };
        Target {
            system_dirs: vec![format!("/{lib}"), format!("/usr/{lib}")],
            lib: lib.into(),
            platform,
        }
    }
}

/// `_dl_cache_check_flags` for the glibc of `program`'s target
/// (sysdeps/.../dl-cache.h; ldconfig.h's FLAG_* values).
pub(super) fn cache_flags_fit(program: &ElfFacts, flags: i32) -> bool {
    use machine::*;
    let default = match (program.machine, program.class) {
        (EM_X86_64, Class::Elf64) => f::FLAG_X8664_LIB64 | f::FLAG_ELF_LIBC6,
        (EM_X86_64, Class::Elf32) => f::FLAG_X8664_LIBX32 | f::FLAG_ELF_LIBC6,
        (EM_AARCH64, Class::Elf64) => f::FLAG_AARCH64_LIB64 | f::FLAG_ELF_LIBC6,
        (EM_PPC64, Class::Elf64) => f::FLAG_POWERPC_LIB64 | f::FLAG_ELF_LIBC6,
        (EM_S390, Class::Elf64) => f::FLAG_S390_LIB64 | f::FLAG_ELF_LIBC6,
        (EM_RISCV, Class::Elf64) => {
            // EF_RISCV_FLOAT_ABI (0x6): 0x4 is double.
            if program.flags & 0x6 == 0 {
                f::FLAG_RISCV_FLOAT_ABI_SOFT | f::FLAG_ELF_LIBC6
            } else {
                f::FLAG_RISCV_FLOAT_ABI_DOUBLE | f::FLAG_ELF_LIBC6
            }
        }
        (EM_ARM, _) => {
            // arm/dl-cache.h: the float ABI's flag, or unmarked libc6 (not FLAG_ELF).
            let float = if program.arm_float_abi() == Some(ArmFloat::Hard) {
                f::FLAG_ARM_LIBHF
            } else {
                f::FLAG_ARM_LIBSF
            };
            return flags == float | f::FLAG_ELF_LIBC6 || flags == f::FLAG_ELF_LIBC6;
        }
        _ => f::FLAG_ELF_LIBC6,
    };
    flags == f::FLAG_ELF || flags == default
}

/// `open_verify`'s verdict on an ELF candidate.
enum Verdict {
    Use,
    Skip(String),
    Stop(String),
}

fn verify(program: &ElfFacts, lib: &ElfFacts) -> Verdict {
    if lib.class != program.class {
        let class = match lib.class {
            Class::Elf32 => "ELFCLASS32",
            Class::Elf64 => "ELFCLASS64",
        };
        return Verdict::Skip(format!("wrong ELF class: {class}"));
    }
    if lib.endian != program.endian {
        let want = match program.endian {
            Endian::Little => "little-endian",
            Endian::Big => "big-endian",
        };
        return Verdict::Stop(format!(
            "has the wrong byte order (ELF file data encoding not {want})"
        ));
    }
    if lib.machine != program.machine {
        return Verdict::Skip(format!("built for {}", arch_desc(lib)));
    }
    if let (Some(a), Some(b)) = (program.arm_float_abi(), lib.arm_float_abi())
        && a != b
    {
        return Verdict::Skip(format!("built for {}", arch_desc(lib)));
    }
    if is_executable(lib) {
        return Verdict::Stop("is an executable (cannot dynamically load executable)".into());
    }
    Verdict::Use
}

/// `is_dst`: `$NAME` or `${NAME}`; the unbraced form must not run on into
/// more identifier characters. Returns the length consumed after `$`.
fn dst_len(input: &str, name: &str) -> Option<usize> {
    if let Some(rest) = input.strip_prefix('{') {
        return rest
            .strip_prefix(name)
            .filter(|r| r.starts_with('}'))
            .map(|_| name.len() + 2);
    }
    let rest = input.strip_prefix(name)?;
    match rest.chars().next() {
        Some(c) if c.is_ascii_alphanumeric() || c == '_' => None,
        _ => Some(name.len()),
    }
}

/// `_dl_dst_substitute`: `$ORIGIN`, `$PLATFORM`, `$LIB`; `None` when a
/// token has no value, which drops the whole path element.
fn expand(s: &str, origin: &str, target: &Target) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let subs: [(&str, Option<&str>); 3] = [
            ("ORIGIN", Some(origin)),
            ("PLATFORM", target.platform),
            ("LIB", Some(&target.lib)),
        ];
        let mut matched = false;
        for (name, value) in subs {
            if let Some(len) = dst_len(after, name) {
                out.push_str(value?);
                rest = &after[len..];
                matched = true;
                break;
            }
        }
        if !matched {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Some(out)
}

/// glibc's search for one program.
pub(super) struct GlibcSearch<'a> {
    view: &'a FsView,
    env: &'a LoadEnv,
    config: &'a GlibcConfig,
    program: &'a ElfFacts,
    target: Target,
}

impl<'a> GlibcSearch<'a> {
    pub fn new(
        view: &'a FsView,
        env: &'a LoadEnv,
        config: &'a GlibcConfig,
        program: &'a ElfFacts,
    ) -> GlibcSearch<'a> {
        GlibcSearch {
            view,
            env,
            config,
            program,
            target: Target::of(view, program),
        }
    }

    /// `l_origin`: the program's from /proc/self/exe (its resolved path, as
    /// `load` receives it), a library's from the path it was loaded by.
    fn origin(obj: &Obj) -> String {
        dirname(&obj.path)
    }

    /// Tries one candidate; `Some` ends the search.
    fn try_path(&self, cand: &str, step: &str, s: &mut Search) -> Option<Outcome> {
        match probe(self.view, cand) {
            Probe::Absent { note } => {
                s.skipped.extend(note);
                None
            }
            Probe::Elf { resolved, facts } => match verify(self.program, &facts) {
                Verdict::Use => Some(Outcome::Loaded {
                    path: cand.to_string(),
                    resolved,
                    facts: Some(facts),
                    step: step.to_string(),
                    skipped: std::mem::take(&mut s.skipped),
                }),
                Verdict::Skip(reason) => {
                    s.skipped.push(format!("{cand}: {reason}"));
                    None
                }
                Verdict::Stop(reason) => Some(Outcome::Fatal {
                    path: cand.to_string(),
                    reason,
                }),
            },
            Probe::Unread { resolved } => Some(Outcome::Loaded {
                path: cand.to_string(),
                resolved,
                facts: None,
                step: step.to_string(),
                skipped: std::mem::take(&mut s.skipped),
            }),
            Probe::NotElf { reason } => Some(Outcome::Fatal {
                path: cand.to_string(),
                reason,
            }),
        }
    }

    /// `open_path` over a list of directories.
    fn try_dirs<I: IntoIterator<Item = String>>(
        &self,
        dirs: I,
        name: &str,
        step: &str,
        s: &mut Search,
    ) -> Option<Outcome> {
        for dir in dirs {
            let dir = if dir.len() > 1 {
                dir.trim_end_matches('/').to_string()
            } else {
                dir
            };
            s.searched.push(format!("{step}: {dir}"));
            let cand = join(&dir, name);
            if let Some(o) = self.try_path(&cand, step, s) {
                return Some(o);
            }
        }
        None
    }

    fn expanded(&self, list: &[String], origin: &str) -> Vec<String> {
        list.iter()
            .filter(|d| !d.is_empty())
            .filter_map(|d| expand(d, origin, &self.target))
            .collect()
    }

    fn under_system_dir(&self, path: &str) -> bool {
        self.target
            .system_dirs
            .iter()
            .any(|d| path.starts_with(&format!("{d}/")))
    }

    /// The cache entry for `name` that fits this target: the first plain
    /// entry, else the first hwcaps one (which CPU it needs is unknown here).
    fn cache_lookup(&self, name: &str) -> Option<&str> {
        let cache = self.config.cache.as_ref()?;
        let fits = || {
            cache
                .entries
                .iter()
                .filter(|e| e.name == name && cache_flags_fit(self.program, e.flags))
        };
        fits()
            .find(|e| e.hwcap == 0)
            .or_else(|| fits().next())
            .map(|e| e.path.as_str())
    }

    /// Library directories that ld.so.conf lists and the cache would cover
    /// after `ldconfig`: a hint for a missing library, never a search step.
    fn conf_hints(&self, name: &str) -> Vec<String> {
        self.config
            .conf_dirs
            .iter()
            .filter_map(|(dir, file)| {
                let cand = join(dir, name);
                match probe(self.view, &cand) {
                    Probe::Elf { facts, .. }
                        if matches!(verify(self.program, &facts), Verdict::Use) =>
                    {
                        Some(format!(
                            "{cand}: in {dir}, listed by {file}, but not in {CACHE} (run ldconfig)"
                        ))
                    }
                    _ => None,
                }
            })
            .collect()
    }
}

#[derive(Default)]
struct Search {
    searched: Vec<String>,
    skipped: Vec<String>,
}

impl Rules for GlibcSearch<'_> {
    fn search(&self, objs: &[Obj], needer: usize, name: &str) -> Outcome {
        let mut s = Search::default();
        let Some(loader) = objs.get(needer) else {
            return Outcome::Missing {
                searched: Vec::new(),
                skipped: Vec::new(),
            };
        };
        let loader_facts = loader.facts.as_deref();
        let main = &objs[0];

        if name.contains('/') {
            // A path: DSTs expanded, then opened as is.
            let step = "path in DT_NEEDED";
            let Some(path) = expand(name, &Self::origin(loader), &self.target) else {
                s.searched.push(format!("{step}: {name} (cannot expand)"));
                return Outcome::Missing {
                    searched: s.searched,
                    skipped: s.skipped,
                };
            };
            s.searched.push(format!("{step}: {path}"));
            if let Some(o) = self.try_path(&path, step, &mut s) {
                return o;
            }
            return Outcome::Missing {
                searched: s.searched,
                skipped: s.skipped,
            };
        }

        let has_runpath = loader_facts.is_some_and(|f| !f.runpath.is_empty());
        if !has_runpath {
            let mut at = Some(needer);
            let mut hops = 0;
            while let Some(k) = at {
                let Some(o) = objs.get(k) else { break };
                if let Some(of) = &o.facts
                    && !of.rpath.is_empty()
                    // The program's own DT_RPATH yields to its DT_RUNPATH.
                    && (k != 0 || of.runpath.is_empty())
                {
                    let step = format!("DT_RPATH of {}", o.path);
                    let dirs = self.expanded(&of.rpath, &Self::origin(o));
                    if let Some(found) = self.try_dirs(dirs, name, &step, &mut s) {
                        return found;
                    }
                }
                hops += 1;
                at = if hops > objs.len() { None } else { o.loader };
            }
        }

        let llp: Vec<String> = self
            .env
            .ld_library_path
            .iter()
            .flat_map(|p| p.split(';'))
            .map(str::to_string)
            .collect();
        let llp = self.expanded(&llp, &Self::origin(main));
        if let Some(found) = self.try_dirs(llp, name, "LD_LIBRARY_PATH", &mut s) {
            return found;
        }

        if let Some(lf) = loader_facts
            && has_runpath
        {
            let step = format!("DT_RUNPATH of {}", loader.path);
            let dirs = self.expanded(&lf.runpath, &Self::origin(loader));
            if let Some(found) = self.try_dirs(dirs, name, &step, &mut s) {
                return found;
            }
        }

        let nodeflib = loader_facts.is_some_and(|f| f.nodeflib);
        if self.config.cache.is_none() {
            s.searched.push(match &self.config.cache_error {
                Some(e) => format!("{CACHE}: unreadable ({e})"),
                None => format!("{CACHE}: absent"),
            });
        } else {
            match self.cache_lookup(name) {
                None => s.searched.push(format!("{CACHE}: no entry")),
                Some(path) if nodeflib && self.under_system_dir(path) => s.searched.push(format!(
                    "{CACHE}: {path} (not used: DF_1_NODEFLIB and a system directory)"
                )),
                Some(path) => {
                    s.searched.push(format!("{CACHE}: {path}"));
                    if let Some(found) = self.try_path(path, CACHE, &mut s) {
                        return found;
                    }
                }
            }
        }

        if nodeflib {
            s.searched
                .push("default directories: not searched (DF_1_NODEFLIB)".to_string());
        } else {
            let dirs = self.target.system_dirs.clone();
            if let Some(found) = self.try_dirs(dirs, name, "default directories", &mut s) {
                return found;
            }
        }

        s.skipped.extend(self.conf_hints(name));
        Outcome::Missing {
            searched: s.searched,
            skipped: s.skipped,
        }
    }

    /// `_dl_name_match_p`: the name it was asked for, its path, and (looked
    /// up lazily by `_dl_lookup_map`) its DT_SONAME.
    fn names(&self, name: &str, path: &str, facts: Option<&ElfFacts>) -> Vec<String> {
        let mut names = vec![name.to_string(), path.to_string()];
        if let Some(s) = facts.and_then(|f| f.soname.clone()) {
            names.push(s);
        }
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target {
            system_dirs: vec!["/lib64".into(), "/usr/lib64".into()],
            lib: "lib64".into(),
            platform: Some("x86_64"),
        }
    }

    #[test]
    fn dst_forms() {
        let t = target();
        assert_eq!(
            expand("$ORIGIN/../lib", "/opt/app/bin", &t).unwrap(),
            "/opt/app/bin/../lib"
        );
        assert_eq!(expand("${ORIGIN}/lib", "/a", &t).unwrap(), "/a/lib");
        assert_eq!(expand("/usr/$LIB/x", "/a", &t).unwrap(), "/usr/lib64/x");
        assert_eq!(expand("/p/${PLATFORM}", "/a", &t).unwrap(), "/p/x86_64");
        // An identifier running on is not a DST; unknown names stay literal.
        assert_eq!(expand("/x/$ORIGINAL", "/a", &t).unwrap(), "/x/$ORIGINAL");
        assert_eq!(expand("/x/$FOO/y", "/a", &t).unwrap(), "/x/$FOO/y");
        assert_eq!(expand("/x/${ORIGIN", "/a", &t).unwrap(), "/x/${ORIGIN");
        let no_platform = Target {
            platform: None,
            ..target()
        };
        assert_eq!(expand("/p/$PLATFORM", "/a", &no_platform), None);
    }
}
