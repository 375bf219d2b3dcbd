use std::collections::BTreeMap;

use super::{Node, ResolveError, Resolved};
use crate::layers::Layer;

/// The merged view: every path that exists after all layers are applied.
#[derive(Debug, Default)]
pub struct FsView {
    nodes: BTreeMap<String, Node>,
    /// Digests of the layers, bottom first.
    layers: Vec<String>,
}

impl FsView {
    /// Applies `layers` bottom-up (whiteouts, opaque directories, hard links,
    /// directories replacing files and the reverse).
    pub fn from_layers(layers: &[Layer]) -> FsView {
        FsView {
            nodes: BTreeMap::new(),
            layers: layers.iter().map(|l| l.digest.clone()).collect(),
        }
    }

    /// The node at `path` itself, following no symlink.
    pub fn lookup(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Resolves `path` as the kernel would inside a chroot of the image root:
    /// symlinks in every component (and in the last one when `follow_last`),
    /// absolute targets from the root, `..` clamped at the root, at most
    /// [`super::MAX_SYMLINKS`] links.
    pub fn resolve(&self, path: &str, _follow_last: bool) -> Result<Resolved<'_>, ResolveError> {
        Err(ResolveError::NotFound(path.to_string()))
    }

    /// Every path and its node, sorted by path.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(p, n)| (p.as_str(), n))
    }

    /// The direct children of directory `dir` (already resolved), sorted.
    pub fn children<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = (&'a str, &'a Node)> + 'a {
        let _ = dir;
        std::iter::empty()
    }

    /// The digest of layer `index` (bottom = 0).
    pub fn layer_digest(&self, index: usize) -> &str {
        self.layers.get(index).map(String::as_str).unwrap_or("")
    }
}
