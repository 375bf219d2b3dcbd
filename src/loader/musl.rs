//! musl's search rules (ldso/dynlink.c `load_library`, `path_open`,
//! `fixup_rpath`).
//!
//! - `libc.`, `libpthread.`, `librt.`, `libm.`, `libdl.`, `libutil.`,
//!   `libxnet.` names, and the loader's own PT_INTERP name, are the loader
//!   itself;
//! - a name with a slash is opened as a path;
//! - otherwise: LD_LIBRARY_PATH; then the DT_RUNPATH (or, without one, the
//!   DT_RPATH) of the needing object and of each object up the `needed_by`
//!   chain, where only `$ORIGIN`/`${ORIGIN}` is expanded and a path using any
//!   other `$` is ignored whole; then `PREFIX/etc/ld-musl-ARCH.path` (PREFIX
//!   being the loader path minus its last two components), split at `:` and
//!   newlines, or `/lib:/usr/local/lib:/usr/lib` when that file does not
//!   exist (an empty file searches nothing);
//! - the first candidate that opens is used, whatever it is: a file of
//!   another machine or class, or not ELF at all, stops the load. An open
//!   that fails with other than ENOENT/ENOTDIR/EACCES/ENAMETOOLONG (ELOOP)
//!   ends the search.
//! - an already loaded object answers by its short name (the last component
//!   of the path it was found at) or by being the same file.
//!
//! musl has no symbol versioning.

use std::collections::BTreeMap;

use crate::elf::{ArmFloat, Class, ElfFacts, Endian, machine};
use crate::fs::FsView;

use super::LoadEnv;
use super::program::{
    Obj, Outcome, Probe, Rules, arch_desc, basename, child_names, config_bytes, dirname, join,
    probe,
};

const DEFAULT_PATH: &str = "/lib:/usr/local/lib:/usr/lib";
const BUILTIN_PREFIXES: [&str; 7] = [
    "libc.",
    "libpthread.",
    "librt.",
    "libm.",
    "libdl.",
    "libutil.",
    "libxnet.",
];
/// musl's NAME_MAX check on searched names.
const NAME_MAX: usize = 255;

/// musl's side, read once per view: `/etc/ld-musl-*.path` by ARCH.
#[derive(Debug, Default)]
pub(super) struct MuslConfig {
    path_files: BTreeMap<String, String>,
}

impl MuslConfig {
    pub fn read(view: &FsView) -> MuslConfig {
        let mut path_files = BTreeMap::new();
        for name in child_names(view, "/etc") {
            if let Some(arch) = name
                .strip_prefix("ld-musl-")
                .and_then(|r| r.strip_suffix(".path"))
                && let Some(text) = read_path_file(view, &format!("/etc/{name}"))
            {
                path_files.insert(arch.to_string(), text);
            }
        }
        MuslConfig { path_files }
    }
}

/// The text of a path file, `Some("")` when it exists but was not kept.
fn read_path_file(view: &FsView, path: &str) -> Option<String> {
    view.resolve(path, true).ok()?;
    Some(
        config_bytes(view, path)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default(),
    )
}

/// musl's LDSO_ARCH for a program's target.
pub(super) fn musl_arch(facts: &ElfFacts) -> Option<&'static str> {
    use machine::*;
    Some(match (facts.machine, facts.class, facts.endian) {
        (EM_X86_64, Class::Elf64, _) => "x86_64",
        (EM_X86_64, Class::Elf32, _) => "x32",
        (EM_AARCH64, Class::Elf64, Endian::Little) => "aarch64",
        (EM_AARCH64, Class::Elf64, Endian::Big) => "aarch64_be",
        (EM_ARM, Class::Elf32, Endian::Little) => match facts.arm_float_abi() {
            Some(ArmFloat::Hard) => "armhf",
            _ => "arm",
        },
        (EM_386, Class::Elf32, _) => "i386",
        (EM_PPC64, Class::Elf64, Endian::Little) => "powerpc64le",
        (EM_PPC64, Class::Elf64, Endian::Big) => "powerpc64",
        (EM_S390, Class::Elf64, _) => "s390x",
        (EM_RISCV, Class::Elf64, _) => "riscv64",
        _ => return None,
    })
}

/// ARCH from `ld-musl-ARCH.so.1` or `libc.musl-ARCH.so.1`.
fn arch_of_name(path: &str) -> Option<&str> {
    let name = basename(path);
    let rest = name
        .strip_prefix("ld-musl-")
        .or_else(|| name.strip_prefix("libc.musl-"))?;
    rest.strip_suffix(".so.1").filter(|a| !a.is_empty())
}

pub(super) fn is_builtin(name: &str) -> bool {
    BUILTIN_PREFIXES.iter().any(|p| name.starts_with(p))
}

/// musl's search for one program.
pub(super) struct MuslSearch<'a> {
    view: &'a FsView,
    env: &'a LoadEnv,
    program: &'a ElfFacts,
    /// PT_INTERP as written (`ldso.name`).
    interp: &'a str,
    /// `(label, path list)` of the system step.
    sys_path: (String, String),
}

impl<'a> MuslSearch<'a> {
    pub fn new(
        view: &'a FsView,
        env: &'a LoadEnv,
        config: &'a MuslConfig,
        program: &'a ElfFacts,
        interp: &'a str,
        interp_resolved: &str,
    ) -> MuslSearch<'a> {
        let arch = arch_of_name(interp_resolved)
            .or_else(|| arch_of_name(interp))
            .or_else(|| musl_arch(program))
            .unwrap_or("unknown");
        // The prefix: ldso.name up to the slash before its directory.
        let prefix = if interp.starts_with('/') {
            let slashes: Vec<usize> = interp.match_indices('/').map(|(i, _)| i).collect();
            match slashes.len() {
                0 | 1 => "",
                n => &interp[..slashes[n - 2]],
            }
        } else {
            ""
        };
        let file = format!("{prefix}/etc/ld-musl-{arch}.path");
        let text = if prefix.is_empty() {
            config.path_files.get(arch).cloned()
        } else {
            read_path_file(view, &file)
        };
        let sys_path = match text {
            Some(t) => (file, t),
            None => ("default directories".to_string(), DEFAULT_PATH.to_string()),
        };
        MuslSearch {
            view,
            env,
            program,
            interp,
            sys_path,
        }
    }

    /// `path_open` over one path list; `Err` ends the whole search.
    fn path_open(
        &self,
        list: &str,
        name: &str,
        step: &str,
        s: &mut Search,
    ) -> Result<Option<Outcome>, ()> {
        for dir in list.split([':', '\n']).filter(|d| !d.is_empty()) {
            s.searched.push(format!("{step}: {dir}"));
            let cand = join(dir, name);
            if let Some(o) = self.open(&cand, step, s)? {
                return Ok(Some(o));
            }
        }
        Ok(None)
    }

    /// Opens one candidate: `Ok(None)` when it does not exist.
    fn open(&self, cand: &str, step: &str, s: &mut Search) -> Result<Option<Outcome>, ()> {
        match probe(self.view, cand) {
            Probe::Absent { note: None } => Ok(None),
            Probe::Absent { note: Some(n) } => {
                s.skipped.push(n);
                Err(())
            }
            Probe::Elf { resolved, facts } => {
                if facts.class != self.program.class
                    || facts.machine != self.program.machine
                    || facts.endian != self.program.endian
                {
                    return Ok(Some(Outcome::Fatal {
                        path: cand.to_string(),
                        reason: format!(
                            "is built for {}, not {}",
                            arch_desc(&facts),
                            arch_desc(self.program)
                        ),
                    }));
                }
                // A library defining __libc_start_main and stdin is a libc;
                // musl loads itself in its place ("libc.so"). glibc's
                // libc.so.6 is recognised by its soname and GLIBC_ versions.
                if facts.soname.as_deref() == Some("libc.so.6")
                    && facts.version_defs.iter().any(|v| v.starts_with("GLIBC_2."))
                {
                    return Ok(Some(Outcome::Existing {
                        index: 1,
                        path: self.interp.to_string(),
                        step: format!("{cand} is a C library: replaced by the musl loader"),
                    }));
                }
                Ok(Some(Outcome::Loaded {
                    path: cand.to_string(),
                    resolved,
                    facts: Some(facts),
                    step: step.to_string(),
                    skipped: std::mem::take(&mut s.skipped),
                }))
            }
            Probe::Unread { resolved } => Ok(Some(Outcome::Loaded {
                path: cand.to_string(),
                resolved,
                facts: None,
                step: step.to_string(),
                skipped: std::mem::take(&mut s.skipped),
            })),
            Probe::NotElf { reason } => Ok(Some(Outcome::Fatal {
                path: cand.to_string(),
                reason,
            })),
        }
    }
}

#[derive(Default)]
struct Search {
    searched: Vec<String>,
    skipped: Vec<String>,
}

/// `fixup_rpath`: `$ORIGIN` and `${ORIGIN}` only; any other `$` makes musl
/// ignore the object's path whole.
fn fixup_rpath(rpath: &str, origin: &str) -> Option<String> {
    let mut out = String::with_capacity(rpath.len());
    let mut rest = rpath;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let len = if after.starts_with("${ORIGIN}") {
            9
        } else if after.starts_with("$ORIGIN") {
            7
        } else {
            return None;
        };
        out.push_str(origin);
        rest = &after[len..];
    }
    out.push_str(rest);
    Some(out)
}

impl Rules for MuslSearch<'_> {
    fn search(&self, objs: &[Obj], needer: usize, name: &str) -> Outcome {
        let mut s = Search::default();
        let missing = |s: Search| Outcome::Missing {
            searched: s.searched,
            skipped: s.skipped,
        };
        if name.is_empty() {
            return missing(s);
        }
        if is_builtin(name) || name == self.interp {
            return Outcome::Existing {
                index: 1,
                path: self.interp.to_string(),
                step: "built into the musl loader".to_string(),
            };
        }
        if name.contains('/') {
            let step = "path in DT_NEEDED";
            s.searched.push(format!("{step}: {name}"));
            return match self.open(name, step, &mut s) {
                Ok(Some(o)) => o,
                _ => missing(s),
            };
        }
        if name.len() > NAME_MAX {
            return missing(s);
        }

        let llp = self.env.ld_library_path.join(":");
        match self.path_open(&llp, name, "LD_LIBRARY_PATH", &mut s) {
            Ok(Some(o)) => return o,
            Ok(None) => {}
            Err(()) => return missing(s),
        }

        let mut at = Some(needer);
        let mut hops = 0;
        while let Some(k) = at {
            let Some(o) = objs.get(k) else { break };
            if let Some(f) = &o.facts {
                let (tag, list) = if !f.runpath.is_empty() {
                    ("DT_RUNPATH", &f.runpath)
                } else {
                    ("DT_RPATH", &f.rpath)
                };
                if !list.is_empty() {
                    // The program's origin is /proc/self/exe (its resolved
                    // path); a library's is the path it was loaded by.
                    let joined = list.join(":");
                    let step = format!("{tag} of {}", o.path);
                    match fixup_rpath(&joined, &dirname(&o.path)) {
                        Some(expanded) => match self.path_open(&expanded, name, &step, &mut s) {
                            Ok(Some(found)) => return found,
                            Ok(None) => {}
                            Err(()) => return missing(s),
                        },
                        None => s.searched.push(format!(
                            "{step}: ignored ({joined} uses a $ other than $ORIGIN)"
                        )),
                    }
                }
            }
            hops += 1;
            at = if hops > objs.len() { None } else { o.loader };
        }

        let (label, list) = &self.sys_path;
        if list.split([':', '\n']).all(|d| d.is_empty()) {
            s.searched.push(format!("{label}: empty"));
        }
        match self.path_open(list, name, label, &mut s) {
            Ok(Some(o)) => o,
            _ => missing(s),
        }
    }

    /// musl's `shortname`: set only for a searched name, never for a path.
    fn names(&self, name: &str, path: &str, _facts: Option<&ElfFacts>) -> Vec<String> {
        if name.contains('/') {
            Vec::new()
        } else {
            vec![basename(path).to_string()]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_only() {
        assert_eq!(
            fixup_rpath("$ORIGIN/../lib", "/app/bin").unwrap(),
            "/app/bin/../lib"
        );
        assert_eq!(fixup_rpath("${ORIGIN}:/x", "/a").unwrap(), "/a:/x");
        assert_eq!(fixup_rpath("/plain", "/a").unwrap(), "/plain");
        assert_eq!(fixup_rpath("$ORIGIN:/usr/$LIB", "/a"), None);
    }

    #[test]
    fn names() {
        assert!(is_builtin("libc.musl-x86_64.so.1"));
        assert!(is_builtin("libc.so.6"));
        assert!(is_builtin("libpthread.so.0"));
        assert!(is_builtin("libm.so.6"));
        assert!(!is_builtin("libcrypto.so.3"));
        assert!(!is_builtin("libmagic.so.1"));
        assert_eq!(arch_of_name("/lib/ld-musl-armhf.so.1"), Some("armhf"));
        assert_eq!(arch_of_name("/lib/libc.musl-x86_64.so.1"), Some("x86_64"));
        assert_eq!(arch_of_name("/lib/x86_64-linux-musl/libc.so"), None);
    }
}
