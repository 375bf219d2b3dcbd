//! What the kernel and the dynamic loader would do with one program, in one
//! platform's filesystem view: glibc's rules in `glibc.rs`, musl's in `musl.rs`.
//!
//! Every resolution records the step that found the library, or every place
//! searched; rules put that into a finding's `details`.

mod glibc;
mod ldcache;
mod musl;
mod program;
#[cfg(test)]
mod tests;

pub use ldcache::{LdCache, LdCacheEntry, parse_ld_so_cache};
pub use program::{Loader, image_loaders};

use serde::Serialize;

use crate::source::ImageConfig;

/// Which C library's loader runs a program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Libc {
    Glibc,
    Musl,
}

impl Libc {
    /// The libc a PT_INTERP path belongs to, by the names the real loaders use.
    pub fn of_interpreter(interp: &str) -> Option<Libc> {
        let name = interp.rsplit('/').next().unwrap_or(interp);
        if name.starts_with("ld-musl-") {
            Some(Libc::Musl)
        } else if name.starts_with("ld-linux") || name.starts_with("ld64.so.") || name == "ld.so.1"
        {
            Some(Libc::Glibc)
        } else {
            None
        }
    }
}

/// The environment that matters to the loader, from the image config's `Env`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadEnv {
    /// `PATH`, split; empty entries dropped.
    pub path: Vec<String>,
    /// `LD_LIBRARY_PATH`, split; empty entries dropped.
    pub ld_library_path: Vec<String>,
}

impl LoadEnv {
    pub fn from_config(config: &ImageConfig) -> LoadEnv {
        let split = |v: Option<&str>| -> Vec<String> {
            v.unwrap_or("")
                .split(':')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        // Docker's default PATH when the config sets none.
        let path = config
            .env_var("PATH")
            .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
        LoadEnv {
            path: split(Some(path)),
            ld_library_path: split(config.env_var("LD_LIBRARY_PATH")),
        }
    }
}

/// How one needed library was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resolution {
    /// The DT_NEEDED name.
    pub name: String,
    /// The object that needs it.
    pub needed_by: String,
    /// The path it loads from (as searched, before symlinks).
    pub path: String,
    /// The step that found it: `DT_RUNPATH of /usr/bin/x`, `LD_LIBRARY_PATH`,
    /// `/etc/ld.so.cache`, `default directories`, `built into the musl loader`, ...
    pub step: String,
    /// Candidates passed over on the way (`path: reason`), e.g. wrong class.
    pub skipped: Vec<String>,
}

/// Why the loader would refuse to start the program.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LoadProblem {
    /// PT_INTERP is absent from the image (ENOENT from execve).
    MissingInterpreter { interpreter: String },
    /// The interpreter exists but is not a loader for this object's machine/class.
    BadInterpreter { interpreter: String, reason: String },
    /// `cannot open shared object file`.
    MissingLibrary {
        name: String,
        needed_by: String,
        /// Every place searched, in order, with the step that named it.
        searched: Vec<String>,
        /// Candidates that existed but were skipped (wrong class/machine).
        skipped: Vec<String>,
    },
    /// The loader opened a candidate it cannot use and stopped there: musl
    /// takes the first file of the right name whatever its machine or class;
    /// glibc skips other classes and machines but stops at a file that is not
    /// ELF at all (`invalid ELF header`) or has the other byte order.
    /// `reason` reads after "which", e.g. `is built for aarch64 (ELF64), not x86-64 (ELF64)`.
    WrongArchLibrary {
        name: String,
        needed_by: String,
        path: String,
        reason: String,
    },
    /// `version 'GLIBC_2.34' not found (required by ...)`.
    MissingVersion {
        version: String,
        /// The soname the need names.
        file: String,
        /// Where that soname loaded from.
        provider: String,
        needed_by: String,
    },
}

/// What the loader would do with one program.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LoadReport {
    /// The libc whose loader runs it (by the interpreter actually found),
    /// `None` for static programs or an unknown interpreter.
    pub libc: Option<Libc>,
    /// The interpreter as resolved in the view, when it exists.
    pub interpreter: Option<String>,
    /// Every library loaded, transitively, each once, in load order.
    pub libraries: Vec<Resolution>,
    /// Problems, in the order the loader would meet them; empty when it loads.
    pub problems: Vec<LoadProblem>,
}
