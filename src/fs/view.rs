use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;

use super::{MAX_SYMLINKS, Node, NodeKind, ResolveError, Resolved};
use crate::layers::{Content, Entry, EntryKind, Layer};

/// The merged view: every path that exists after all layers are applied.
///
/// Invariant: the root `/` is always a directory, and every other path's
/// parent exists and is a directory.
#[derive(Debug, Default)]
pub struct FsView {
    nodes: BTreeMap<String, Node>,
    /// Digests of the layers, bottom first.
    layers: Vec<String>,
    /// What could not be applied faithfully (dangling hard links, ...).
    problems: Vec<String>,
}

const ROOT: &str = "/";
/// The root of a view with no layers at all.
static EMPTY_ROOT: Node = Node {
    kind: NodeKind::Dir,
    mode: IMPLIED_DIR_MODE,
    size: 0,
    target: None,
    layer: 0,
    content: Content::None,
};
/// Mode of a directory that exists only because an entry below it does.
const IMPLIED_DIR_MODE: u32 = 0o755;

impl FsView {
    /// Applies `layers` bottom-up (whiteouts, opaque directories, hard links,
    /// directories replacing files and the reverse).
    ///
    /// Within one layer, whiteouts (plain and opaque) apply to the lower
    /// layers only and are applied before the layer's own entries, whatever
    /// their place in the tar. The layer's other entries then apply in tar
    /// order: a non-directory replaces whatever was at its path (a directory
    /// with its whole subtree); a directory replaces a non-directory and
    /// updates an existing directory's mode, keeping its children. Parent
    /// directories an entry implies exist as directories.
    pub fn from_layers(layers: &[Layer]) -> FsView {
        let mut view = FsView {
            nodes: BTreeMap::new(),
            layers: layers.iter().map(|l| l.digest.clone()).collect(),
            problems: Vec::new(),
        };
        view.nodes.insert(ROOT.to_string(), implied_dir(0));
        for (index, layer) in layers.iter().enumerate() {
            view.apply(index, layer);
        }
        view
    }

    fn apply(&mut self, index: usize, layer: &Layer) {
        // Hard links whose target is not an earlier entry of this layer copy
        // the target as the lower layers left it.
        let mut from_below: HashMap<usize, Option<Node>> = HashMap::new();
        let mut earlier: HashSet<&str> = HashSet::new();
        for (i, entry) in layer.entries.iter().enumerate() {
            match &entry.kind {
                EntryKind::HardLink(target) => {
                    if !earlier.contains(target.as_str()) {
                        from_below.insert(i, self.link_target(target));
                    }
                    earlier.insert(&entry.path);
                }
                EntryKind::File | EntryKind::Symlink(_) | EntryKind::Other => {
                    earlier.insert(&entry.path);
                }
                EntryKind::Dir => {
                    earlier.remove(entry.path.as_str());
                }
                EntryKind::Whiteout | EntryKind::OpaqueWhiteout => {}
            }
        }

        // Whiteouts first: they only ever delete what lower layers brought.
        // All deletions come before the directories this layer implies, so
        // that an opaque marker cannot hide the layer's own directories.
        for entry in &layer.entries {
            match entry.kind {
                EntryKind::Whiteout if entry.path != ROOT => self.remove_subtree(&entry.path, true),
                EntryKind::OpaqueWhiteout => self.remove_subtree(&entry.path, false),
                _ => {}
            }
        }
        for entry in &layer.entries {
            match entry.kind {
                EntryKind::Whiteout if entry.path != ROOT => {
                    self.ensure_parents(&entry.path, index)
                }
                EntryKind::OpaqueWhiteout => {
                    self.ensure_parents(&entry.path, index);
                    if self.nodes.get(&entry.path).map(|n| n.kind) != Some(NodeKind::Dir) {
                        self.nodes.insert(entry.path.clone(), implied_dir(index));
                    }
                }
                _ => {}
            }
        }

        // The layer's own entries, in tar order. This layer's non-directory
        // nodes are remembered for its hard links.
        let mut this_layer: HashMap<&str, Node> = HashMap::new();
        for (i, entry) in layer.entries.iter().enumerate() {
            match &entry.kind {
                EntryKind::Whiteout | EntryKind::OpaqueWhiteout => {}
                EntryKind::Dir => {
                    this_layer.remove(entry.path.as_str());
                    self.put_dir(entry, index);
                }
                EntryKind::HardLink(target) => {
                    let found = match from_below.remove(&i) {
                        Some(below) => below,
                        None => this_layer.get(target.as_str()).cloned(),
                    };
                    let node = match found {
                        Some(mut node) => {
                            node.layer = index;
                            node
                        }
                        None => {
                            self.problems.push(format!(
                                "{}: hard link to {target}, which no layer holds (layer {index})",
                                entry.path
                            ));
                            Node {
                                kind: NodeKind::File,
                                mode: entry.mode,
                                size: entry.size,
                                target: None,
                                layer: index,
                                content: entry.content.clone(),
                            }
                        }
                    };
                    if self.put(&entry.path, node.clone(), index) {
                        this_layer.insert(&entry.path, node);
                    }
                }
                EntryKind::File | EntryKind::Symlink(_) | EntryKind::Other => {
                    let node = node_of(entry, index);
                    if self.put(&entry.path, node.clone(), index) {
                        this_layer.insert(&entry.path, node);
                    }
                }
            }
        }
    }

    /// The node a hard link to `target` copies, as the view stands now:
    /// intermediate symlinks followed, the last one not (like link(2)).
    fn link_target(&self, target: &str) -> Option<Node> {
        match self.resolve(target, false) {
            Ok(resolved) if resolved.node.kind != NodeKind::Dir => Some(resolved.node.clone()),
            _ => None,
        }
    }

    /// Puts a non-directory at `path`, replacing whatever was there. The root
    /// cannot be replaced; returns whether the node was placed.
    fn put(&mut self, path: &str, node: Node, index: usize) -> bool {
        if path == ROOT {
            self.problems.push(format!(
                "layer {index} tries to replace the root directory with a non-directory; ignored"
            ));
            return false;
        }
        self.ensure_parents(path, index);
        if self.nodes.get(path).map(|n| n.kind) == Some(NodeKind::Dir) {
            self.remove_subtree(path, false);
        }
        self.nodes.insert(path.to_string(), node);
        true
    }

    fn put_dir(&mut self, entry: &Entry, index: usize) {
        if entry.path != ROOT {
            self.ensure_parents(&entry.path, index);
        }
        match self.nodes.get_mut(&entry.path) {
            Some(node) if node.kind == NodeKind::Dir => {
                node.mode = entry.mode;
                node.layer = index;
            }
            // A non-directory has no children: replacing it is enough.
            _ => {
                self.nodes.insert(entry.path.clone(), node_of(entry, index));
            }
        }
    }

    /// Makes every ancestor of `path` a directory, creating missing ones and
    /// replacing non-directories, as extracting an entry below them would.
    fn ensure_parents(&mut self, path: &str, index: usize) {
        let mut missing = Vec::new();
        let mut current = parent(path);
        while let Some(dir) = current {
            match self.nodes.get(dir) {
                Some(node) if node.kind == NodeKind::Dir => break,
                _ => missing.push(dir),
            }
            current = parent(dir);
        }
        for dir in missing.into_iter().rev() {
            self.nodes.insert(dir.to_string(), implied_dir(index));
        }
    }

    /// Removes everything below `path`, and `path` itself when `itself`.
    fn remove_subtree(&mut self, path: &str, itself: bool) {
        let (low, high) = descendant_bounds(path);
        let below: Vec<String> = self
            .nodes
            .range::<str, _>((
                Bound::Excluded(low.as_str()),
                Bound::Excluded(high.as_str()),
            ))
            .map(|(p, _)| p.clone())
            .collect();
        for p in below {
            self.nodes.remove(&p);
        }
        if itself && path != ROOT {
            self.nodes.remove(path);
        }
    }

    /// The node at `path` itself, following no symlink.
    pub fn lookup(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Resolves `path` as the kernel would inside a chroot of the image root:
    /// symlinks in every component (and in the last one when `follow_last`),
    /// absolute targets from the root, `..` clamped at the root and taken from
    /// the resolved directory (physically, not lexically), at most
    /// [`super::MAX_SYMLINKS`] links. A trailing slash, like the kernel's,
    /// demands a directory and follows a final symlink. A relative `path` is
    /// taken from the root. Errors name `path` as given.
    pub fn resolve(&self, path: &str, follow_last: bool) -> Result<Resolved<'_>, ResolveError> {
        // Components still to walk, the next one on top.
        let mut pending: Vec<&str> = Vec::new();
        push_components(&mut pending, path);
        // The resolved path so far: "" for the root, else "/a/b".
        let mut current = String::with_capacity(path.len());
        let mut node = self.root();
        let mut links = 0usize;
        while let Some(component) = pending.pop() {
            match component {
                "" | "." => continue,
                ".." => {
                    let cut = current.rfind('/').unwrap_or(0);
                    current.truncate(cut);
                    node = self
                        .nodes
                        .get(current_or_root(&current))
                        .unwrap_or(self.root());
                    continue;
                }
                _ => {}
            }
            let start = current.len();
            current.push('/');
            current.push_str(component);
            let Some(found) = self.nodes.get(current.as_str()) else {
                return Err(ResolveError::NotFound(path.to_string()));
            };
            let last = pending.is_empty();
            if found.kind == NodeKind::Symlink && (!last || follow_last) {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(ResolveError::Loop(path.to_string()));
                }
                current.truncate(start);
                let target = found.target.as_deref().unwrap_or("");
                if target.is_empty() {
                    // An empty symlink target is ENOENT on Linux.
                    return Err(ResolveError::NotFound(path.to_string()));
                }
                if target.starts_with('/') {
                    current.clear();
                }
                node = self
                    .nodes
                    .get(current_or_root(&current))
                    .unwrap_or(self.root());
                push_components(&mut pending, target);
                continue;
            }
            if !last && found.kind != NodeKind::Dir {
                return Err(ResolveError::NotADirectory(path.to_string()));
            }
            node = found;
        }
        if current.is_empty() {
            current.push('/');
        }
        Ok(Resolved {
            path: current,
            node,
        })
    }

    fn root(&self) -> &Node {
        // Present from construction on; only a `Default` view lacks it.
        self.nodes.get(ROOT).unwrap_or(&EMPTY_ROOT)
    }

    /// Every path and its node, sorted by path.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.nodes.iter().map(|(p, n)| (p.as_str(), n))
    }

    /// The direct children of directory `dir` (already resolved), sorted.
    /// Each step is a range query; grandchildren are skipped over, not walked.
    pub fn children<'a>(&'a self, dir: &'a str) -> impl Iterator<Item = (&'a str, &'a Node)> + 'a {
        let (prefix, _) = descendant_bounds(dir);
        // Excluded: for the root, the prefix `/` is the root itself.
        let mut from: Bound<String> = Bound::Excluded(prefix.clone());
        std::iter::from_fn(move || {
            loop {
                let (key, node) = self
                    .nodes
                    .range::<str, _>((from.as_ref().map(String::as_str), Bound::Unbounded))
                    .next()?;
                let rest = key.strip_prefix(prefix.as_str())?;
                match rest.find('/') {
                    None => {
                        from = Bound::Excluded(key.clone());
                        return Some((key.as_str(), node));
                    }
                    // Below a child already returned: jump past its subtree.
                    Some(slash) => {
                        let (_, past) = descendant_bounds(&key[..prefix.len() + slash]);
                        from = Bound::Included(past);
                    }
                }
            }
        })
    }

    /// The digest of layer `index` (bottom = 0).
    pub fn layer_digest(&self, index: usize) -> &str {
        self.layers.get(index).map(String::as_str).unwrap_or("")
    }

    /// What could not be applied as the layers describe it, such as hard
    /// links whose target exists in no layer. Each is one readable line.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

fn implied_dir(layer: usize) -> Node {
    Node {
        kind: NodeKind::Dir,
        mode: IMPLIED_DIR_MODE,
        size: 0,
        target: None,
        layer,
        content: Content::None,
    }
}

fn node_of(entry: &Entry, layer: usize) -> Node {
    let (kind, target) = match &entry.kind {
        EntryKind::Dir => (NodeKind::Dir, None),
        EntryKind::Symlink(target) => (NodeKind::Symlink, Some(target.clone())),
        EntryKind::Other => (NodeKind::Other, None),
        _ => (NodeKind::File, None),
    };
    Node {
        kind,
        mode: entry.mode,
        size: entry.size,
        target,
        layer,
        content: entry.content.clone(),
    }
}

/// The parent of a normalised absolute path; `None` for the root.
fn parent(path: &str) -> Option<&str> {
    if path == ROOT {
        return None;
    }
    match path.rfind('/') {
        Some(0) | None => Some(ROOT),
        Some(i) => Some(&path[..i]),
    }
}

/// Every path strictly below `dir` sorts in `(low, high)`: `low` is `dir/`
/// (itself a path only for the root) and `high` is `dir0` (`'0'` follows
/// `'/'`).
fn descendant_bounds(dir: &str) -> (String, String) {
    let base = dir.trim_end_matches('/');
    (format!("{base}/"), format!("{base}0"))
}

fn current_or_root(current: &str) -> &str {
    if current.is_empty() { ROOT } else { current }
}

/// Pushes the components of `path` so that the first is popped first.
fn push_components<'a>(pending: &mut Vec<&'a str>, path: &'a str) {
    pending.extend(path.split('/').rev());
}
