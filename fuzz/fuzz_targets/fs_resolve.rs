//! The merged view and its path resolution, on random layer stacks and
//! symlink graphs, checked against a small reference model of the kernel's
//! lookup (written here from path_resolution(7), independently of the view):
//! each component is looked up in the resolved directory, a symlink is
//! expanded relative to the directory holding it (from the root when
//! absolute) and counts against the limit of 40, `..` goes to the parent of
//! the resolved directory and stays at the root, a non-directory in the
//! middle of a path is ENOTDIR, a trailing slash demands a directory.
#![no_main]

use elfgate::fs::{FsView, MAX_SYMLINKS, NodeKind, ResolveError};
use elfgate::layers::{Content, Entry, EntryKind, Layer, normalize};
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 6] = ["a", "b", "c", "lib", "..", "."];

/// Reads the input a byte at a time; zeros once it runs out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn next(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn done(&self) -> bool {
        self.0.is_empty()
    }

    /// A path of 1 to 4 components drawn from [`NAMES`], absolute or not,
    /// sometimes with a trailing slash.
    fn path(&mut self) -> String {
        let b = self.next();
        let n = 1 + (b & 3) as usize;
        let mut s = String::new();
        if b & 4 != 0 {
            s.push('/');
        }
        for i in 0..n {
            if i > 0 {
                s.push('/');
            }
            s.push_str(NAMES[self.next() as usize % NAMES.len()]);
        }
        if b & 8 != 0 {
            s.push('/');
        }
        s
    }
}

fn entry(path: String, kind: EntryKind) -> Entry {
    Entry {
        path,
        kind,
        mode: 0o755,
        size: 0,
        content: Content::None,
    }
}

fn layers(input: &mut Bytes) -> Vec<Layer> {
    let count = 1 + input.next() % 3;
    let mut out = Vec::new();
    for l in 0..count {
        let mut entries = Vec::new();
        let n = input.next() % 24;
        for _ in 0..n {
            let op = input.next() % 7;
            let path = normalize(&input.path());
            let kind = match op {
                0 | 1 => EntryKind::File,
                2 => EntryKind::Dir,
                3 | 4 => EntryKind::Symlink(input.path()),
                5 => {
                    if input.next() & 1 == 0 {
                        EntryKind::Whiteout
                    } else {
                        EntryKind::OpaqueWhiteout
                    }
                }
                _ => EntryKind::HardLink(normalize(&input.path())),
            };
            entries.push(entry(path, kind));
        }
        out.push(Layer {
            digest: format!("layer{l}"),
            entries,
        });
    }
    out
}

#[derive(Debug, PartialEq, Eq)]
enum Failure {
    NotFound,
    NotADirectory,
    Loop,
}

/// The reference lookup: `dir` is the resolved directory a relative `path`
/// starts from (components, root = empty). Returns the resolved path.
fn model(
    view: &FsView,
    dir: &[String],
    path: &str,
    follow_last: bool,
    links: &mut usize,
) -> Result<Vec<String>, Failure> {
    let mut cur: Vec<String> = if path.starts_with('/') {
        Vec::new()
    } else {
        dir.to_vec()
    };
    let comps: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
    let trailing = path.ends_with('/');
    for (i, c) in comps.iter().enumerate() {
        let last = i + 1 == comps.len() && !trailing;
        match *c {
            "." => continue,
            ".." => {
                cur.pop();
                continue;
            }
            _ => {}
        }
        let mut candidate = cur.clone();
        candidate.push(c.to_string());
        let Some(node) = view.lookup(&join(&candidate)) else {
            return Err(Failure::NotFound);
        };
        if node.kind == NodeKind::Symlink && (!last || follow_last) {
            *links += 1;
            if *links > MAX_SYMLINKS {
                return Err(Failure::Loop);
            }
            let target = node.target.clone().unwrap_or_default();
            if target.is_empty() {
                return Err(Failure::NotFound);
            }
            cur = model(view, &cur, &target, true, links)?;
            if !last {
                let kind = view.lookup(&join(&cur)).map(|n| n.kind);
                if kind != Some(NodeKind::Dir) {
                    return Err(Failure::NotADirectory);
                }
            }
            continue;
        }
        if !last && node.kind != NodeKind::Dir {
            return Err(Failure::NotADirectory);
        }
        cur = candidate;
    }
    Ok(cur)
}

fn join(parts: &[String]) -> String {
    if parts.is_empty() {
        return "/".to_string();
    }
    parts.iter().map(|p| format!("/{p}")).collect()
}

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes(data);
    let stack = layers(&mut input);
    let view = FsView::from_layers(&stack);

    // The view's invariant: the root is a directory, every other path's
    // parent exists and is a directory, every path is normalised.
    assert_eq!(view.lookup("/").map(|n| n.kind), Some(NodeKind::Dir));
    for (path, _) in view.iter() {
        assert_eq!(path, normalize(path));
        if path != "/" {
            let parent = &path[..path.rfind('/').unwrap_or(0)];
            let parent = if parent.is_empty() { "/" } else { parent };
            let kind = view.lookup(parent).map(|n| n.kind);
            assert_eq!(kind, Some(NodeKind::Dir), "parent of {path}");
        }
    }

    let mut queries = 0;
    while !input.done() && queries < 32 {
        queries += 1;
        let path = input.path();
        let follow_last = input.next() & 1 == 1;
        let mut links = 0;
        let expected = model(&view, &[], &path, follow_last, &mut links);
        let actual = view.resolve(&path, follow_last);
        match (&expected, &actual) {
            (Ok(parts), Ok(r)) => {
                assert_eq!(join(parts), r.path, "{path} (follow_last {follow_last})");
                let node = view.lookup(&r.path).expect("resolved path exists");
                assert_eq!(node.kind, r.node.kind);
            }
            (Err(Failure::NotFound), Err(ResolveError::NotFound(_)))
            | (Err(Failure::NotADirectory), Err(ResolveError::NotADirectory(_)))
            | (Err(Failure::Loop), Err(ResolveError::Loop(_))) => {}
            _ => panic!("{path} (follow_last {follow_last}): model {expected:?}, view {actual:?}"),
        }
    }
});
