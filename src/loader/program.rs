use crate::elf::ElfFacts;
use crate::fs::FsView;

use super::{Libc, LoadEnv, LoadReport};

/// The loader emulation for one platform's view, built once and asked per program.
pub struct Loader<'a> {
    view: &'a FsView,
    env: LoadEnv,
}

impl<'a> Loader<'a> {
    pub fn new(view: &'a FsView, env: LoadEnv) -> Loader<'a> {
        Loader { view, env }
    }

    /// What the loader would do with the program at `path` (already resolved,
    /// no symlink left) whose facts are `facts`.
    pub fn load(&self, path: &str, facts: &ElfFacts) -> LoadReport {
        let _ = (path, facts, self.view, &self.env);
        LoadReport::default()
    }
}

/// The dynamic loaders present in the view: (libc, path) for every file at a
/// known interpreter path (`/lib/ld-musl-*.so.1`, `/lib64/ld-linux-x86-64.so.2`, ...).
pub fn image_loaders(view: &FsView) -> Vec<(Libc, String)> {
    let _ = view;
    Vec::new()
}
