//! Random layer stacks checked against a model built the other way round:
//! instead of applying layers bottom-up, the model looks each path up
//! top-down the way overlayfs merges its layer directories.

use std::collections::BTreeMap;

use super::{FsView, NodeKind};
use crate::layers::{Content, Entry, EntryKind, Layer};

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    File,
    Dir,
    Whiteout,
    Opaque,
}

/// What one layer's own directory holds at a path.
#[derive(Clone, PartialEq, Debug)]
enum Own {
    Dir { opaque: bool },
    NonDir(String),
    Whiteout,
}

fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/')
        .map(move |(i, _)| if i == 0 { "/" } else { &path[..i] })
        .filter(move |a| *a != path)
}

fn below(path: &str, ancestor: &str) -> bool {
    ancestor == "/" && path != "/" || path.starts_with(&format!("{ancestor}/"))
}

fn random_path(rng: &mut Rng) -> String {
    let depth = 1 + rng.below(3);
    (0..depth)
        .map(|_| ["/a", "/b", "/c"][rng.below(3)])
        .collect()
}

/// One layer's accepted operations, kept to what a real layer directory can
/// hold: one thing per path, nothing under a non-directory or a whiteout.
fn random_layer(rng: &mut Rng, index: usize) -> Vec<(Op, String, String)> {
    let mut ops: Vec<(Op, String, String)> = Vec::new();
    for n in 0..2 + rng.below(6) {
        let op = [Op::File, Op::File, Op::Dir, Op::Whiteout, Op::Opaque][rng.below(5)];
        let path = if op == Op::Opaque && rng.below(6) == 0 {
            "/".to_string()
        } else {
            random_path(rng)
        };
        let blocks = |(o, p, _): &(Op, String, String)| {
            let nondir_or_wh = matches!(o, Op::File | Op::Whiteout);
            // Nothing under a non-directory or a whiteout.
            (nondir_or_wh && below(&path, p))
                // One entry per path (an opaque marker may sit on a directory).
                || (p == &path && !(matches!((o, op), (Op::Dir, Op::Opaque) | (Op::Opaque, Op::Dir) | (Op::Opaque, Op::Opaque))))
                // Nothing may already be under a new non-directory or whiteout.
                || (matches!(op, Op::File | Op::Whiteout) && below(p, &path))
        };
        if ops.iter().any(blocks) {
            continue;
        }
        ops.push((op, path, format!("t{index}.{n}")));
    }
    ops
}

fn own_tree(ops: &[(Op, String, String)]) -> BTreeMap<String, Own> {
    let mut tree = BTreeMap::new();
    for (op, path, tag) in ops {
        for a in ancestors(path) {
            tree.entry(a.to_string())
                .or_insert(Own::Dir { opaque: false });
        }
        match op {
            Op::File => {
                tree.insert(path.clone(), Own::NonDir(tag.clone()));
            }
            Op::Whiteout => {
                tree.insert(path.clone(), Own::Whiteout);
            }
            Op::Dir => {
                tree.entry(path.clone())
                    .or_insert(Own::Dir { opaque: false });
            }
            Op::Opaque => {
                tree.insert(path.clone(), Own::Dir { opaque: true });
            }
        }
    }
    tree
}

/// Merges directory `dir` from the layers in `from` (top first).
fn merge(
    trees: &[BTreeMap<String, Own>],
    from: &[usize],
    dir: &str,
    out: &mut BTreeMap<String, String>,
) {
    let mut names: Vec<&String> = from
        .iter()
        .flat_map(|&l| trees[l].keys())
        .filter(|p| p.as_str() != "/" && ancestors(p).last() == Some(dir))
        .collect();
    names.sort();
    names.dedup();
    for child in names {
        let mut dir_layers = Vec::new();
        let mut file = None;
        for &l in from {
            match trees[l].get(child) {
                None => {}
                Some(Own::Whiteout) => break,
                Some(Own::NonDir(tag)) => {
                    if dir_layers.is_empty() {
                        file = Some(format!("{tag}@{l}"));
                    }
                    break;
                }
                Some(Own::Dir { opaque }) => {
                    dir_layers.push(l);
                    if *opaque {
                        break;
                    }
                }
            }
        }
        if let Some(file) = file {
            out.insert(child.clone(), file);
        } else if !dir_layers.is_empty() {
            out.insert(child.clone(), "dir".to_string());
            merge(trees, &dir_layers, child, out);
        }
    }
}

fn to_layer(rng: &mut Rng, ops: &[(Op, String, String)]) -> Layer {
    let mut entries: Vec<Entry> = ops
        .iter()
        .map(|(op, path, tag)| {
            let (kind, content) = match op {
                Op::File => (EntryKind::File, Content::Script(tag.clone())),
                Op::Dir => (EntryKind::Dir, Content::None),
                Op::Whiteout => (EntryKind::Whiteout, Content::None),
                Op::Opaque => (EntryKind::OpaqueWhiteout, Content::None),
            };
            Entry {
                path: path.clone(),
                kind,
                mode: 0o755,
                size: 0,
                content,
            }
        })
        .collect();
    // Any tar order.
    for i in (1..entries.len()).rev() {
        entries.swap(i, rng.below(i + 1));
    }
    Layer {
        digest: String::new(),
        entries,
    }
}

#[test]
fn random_layer_stacks_match_the_overlay_model() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for case in 0..3000 {
        let count = 1 + rng.below(4);
        let ops: Vec<_> = (0..count).map(|i| random_layer(&mut rng, i)).collect();
        let layers: Vec<Layer> = ops.iter().map(|o| to_layer(&mut rng, o)).collect();

        let trees: Vec<_> = ops.iter().map(|o| own_tree(o)).collect();
        let mut root_from = Vec::new();
        for l in (0..count).rev() {
            root_from.push(l);
            if trees[l].get("/") == Some(&Own::Dir { opaque: true }) {
                break;
            }
        }
        let mut expected = BTreeMap::new();
        expected.insert("/".to_string(), "dir".to_string());
        merge(&trees, &root_from, "/", &mut expected);

        let view = FsView::from_layers(&layers);
        let got: BTreeMap<String, String> = view
            .iter()
            .map(|(p, n)| {
                let what = match (&n.kind, &n.content) {
                    (NodeKind::Dir, _) => "dir".to_string(),
                    (_, Content::Script(tag)) => format!("{tag}@{}", n.layer),
                    _ => "?".to_string(),
                };
                (p.to_string(), what)
            })
            .collect();
        assert_eq!(got, expected, "case {case}: layers {ops:?}", ops = layers);
        // children() agrees with the full listing.
        for (path, node) in view.iter() {
            if node.kind == NodeKind::Dir {
                let kids: Vec<&str> = view.children(path).map(|(p, _)| p).collect();
                let direct: Vec<&str> = view
                    .iter()
                    .map(|(p, _)| p)
                    .filter(|p| *p != "/" && ancestors(p).last() == Some(path))
                    .collect();
                assert_eq!(kids, direct, "case {case}: children of {path}");
            }
        }
    }
}
