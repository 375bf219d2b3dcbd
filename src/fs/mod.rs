//! The merged filesystem view of an image's layers, and path resolution
//! confined to the image root. Never touches the host filesystem.

mod view;

pub use view::FsView;

use crate::layers::Content;

/// Symlinks followed in one lookup before it fails with ELOOP, as Linux does.
pub const MAX_SYMLINKS: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    File,
    Dir,
    Symlink,
    Other,
}

/// One path of the merged view.
#[derive(Debug, Clone)]
pub struct Node {
    pub kind: NodeKind,
    pub mode: u32,
    pub size: u64,
    /// Symlink target, verbatim (for `NodeKind::Symlink`).
    pub target: Option<String>,
    /// Index of the layer (bottom = 0) that brought this version of the path.
    pub layer: usize,
    pub content: Content,
}

impl Node {
    pub fn is_executable(&self) -> bool {
        self.kind == NodeKind::File && self.mode & 0o111 != 0
    }
}

/// Why a path does not resolve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("{0}: no such file or directory")]
    NotFound(String),
    #[error("{0}: not a directory")]
    NotADirectory(String),
    #[error("{0}: too many levels of symbolic links")]
    Loop(String),
}

/// A path resolved through every symlink.
#[derive(Debug, Clone)]
pub struct Resolved<'a> {
    /// The final path with no symlink left in it.
    pub path: String,
    pub node: &'a Node,
}

#[cfg(test)]
mod model_check;
#[cfg(test)]
mod tests;
