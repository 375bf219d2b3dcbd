use super::{FsView, MAX_SYMLINKS, NodeKind, ResolveError};
use crate::layers::testutil::{T, layer};
use crate::layers::{Content, Layer};

fn view(layers: &[Layer]) -> FsView {
    FsView::from_layers(layers)
}

fn paths(view: &FsView) -> Vec<&str> {
    view.iter().map(|(p, _)| p).collect()
}

fn script(view: &FsView, path: &str) -> Option<String> {
    match &view.lookup(path)?.content {
        Content::Script(line) => Some(line.clone()),
        _ => None,
    }
}

fn resolved(view: &FsView, path: &str, follow_last: bool) -> Result<String, ResolveError> {
    view.resolve(path, follow_last).map(|r| r.path)
}

#[test]
fn opaque_whiteout_before_new_files_in_the_same_layer() {
    let lower = layer(
        "l0",
        &[T::File("d/old", b"#!/old\n"), T::File("d/sub/x", b"")],
    );
    let upper = layer(
        "l1",
        &[
            T::Dir("d"),
            T::File("d/.wh..wh..opq", b""),
            T::File("d/new", b"#!/new\n"),
        ],
    );
    let v = view(&[lower, upper]);
    assert_eq!(paths(&v), ["/", "/d", "/d/new"]);
    assert_eq!(script(&v, "/d/new").as_deref(), Some("/new"));
    assert_eq!(v.lookup("/d/new").unwrap().layer, 1);
}

#[test]
fn opaque_whiteout_after_new_files_in_the_same_layer() {
    let lower = layer(
        "l0",
        &[T::File("d/old", b"#!/old\n"), T::File("d/sub/x", b"")],
    );
    let upper = layer(
        "l1",
        &[
            T::Dir("d"),
            T::File("d/new", b"#!/new\n"),
            T::File("d/.wh..wh..opq", b""),
        ],
    );
    let v = view(&[lower, upper]);
    assert_eq!(paths(&v), ["/", "/d", "/d/new"]);
    assert_eq!(script(&v, "/d/new").as_deref(), Some("/new"));
}

#[test]
fn whiteout_then_recreation_in_a_later_layer() {
    let l0 = layer(
        "l0",
        &[
            T::File("etc/app/conf", b"#!/one\n"),
            T::File("etc/keep", b""),
        ],
    );
    let l1 = layer("l1", &[T::File("etc/.wh.app", b"")]);
    let l2 = layer("l2", &[T::File("etc/app/conf", b"#!/three\n")]);
    let two = view(&[l0.clone(), l1.clone()]);
    assert_eq!(paths(&two), ["/", "/etc", "/etc/keep"]);
    let three = view(&[l0, l1, l2]);
    assert_eq!(
        paths(&three),
        ["/", "/etc", "/etc/app", "/etc/app/conf", "/etc/keep"]
    );
    assert_eq!(script(&three, "/etc/app/conf").as_deref(), Some("/three"));
    assert_eq!(three.lookup("/etc/app/conf").unwrap().layer, 2);
    assert_eq!(three.lookup("/etc/app").unwrap().layer, 2);
    assert_eq!(three.lookup("/etc/keep").unwrap().layer, 0);
}

#[test]
fn whiteout_in_the_same_layer_does_not_delete_that_layers_file() {
    let l0 = layer("l0", &[T::File("a", b"#!/lower\n")]);
    let l1 = layer("l1", &[T::File("a", b"#!/upper\n"), T::File(".wh.a", b"")]);
    let v = view(&[l0, l1]);
    assert_eq!(script(&v, "/a").as_deref(), Some("/upper"));
}

#[test]
fn whiteouts_in_a_single_layer_image() {
    let only = layer(
        "l0",
        &[
            T::File("x/.wh.y", b""),
            T::File("x/.wh..wh..opq", b""),
            T::File("x/z", b""),
            T::File(".wh.gone", b""),
        ],
    );
    let v = view(&[only]);
    assert_eq!(paths(&v), ["/", "/x", "/x/z"]);
    assert_eq!(v.lookup("/x").unwrap().kind, NodeKind::Dir);
}

#[test]
fn hard_link_to_a_file_that_a_later_layer_modifies() {
    let l0 = layer(
        "l0",
        &[
            T::FileMode("bin/tool", b"#!/bin/old\n", 0o755),
            T::HardLink("bin/alias", "bin/tool"),
        ],
    );
    let l1 = layer("l1", &[T::FileMode("bin/tool", b"#!/bin/new\n", 0o755)]);
    let v = view(&[l0, l1]);
    assert_eq!(script(&v, "/bin/alias").as_deref(), Some("/bin/old"));
    assert_eq!(script(&v, "/bin/tool").as_deref(), Some("/bin/new"));
    let alias = v.lookup("/bin/alias").unwrap();
    assert_eq!(alias.kind, NodeKind::File);
    assert_eq!(alias.mode, 0o755);
    assert_eq!(alias.layer, 0);
    assert!(v.problems().is_empty());
}

#[test]
fn hard_link_to_a_lower_layer_and_a_dangling_one() {
    let l0 = layer(
        "l0",
        &[
            T::FileMode("usr/bin/python3.11", b"#!/real\n", 0o755),
            T::Symlink("bin", "usr/bin"),
        ],
    );
    let l1 = layer(
        "l1",
        &[
            T::HardLink("usr/bin/python3", "usr/bin/python3.11"),
            // Through the /bin symlink, as link(2) would go.
            T::HardLink("usr/bin/py", "bin/python3.11"),
            T::HardLink("usr/bin/ghost", "usr/bin/nothing"),
        ],
    );
    let v = view(&[l0, l1]);
    assert_eq!(script(&v, "/usr/bin/python3").as_deref(), Some("/real"));
    assert_eq!(script(&v, "/usr/bin/py").as_deref(), Some("/real"));
    assert_eq!(v.lookup("/usr/bin/python3").unwrap().mode, 0o755);
    assert_eq!(v.lookup("/usr/bin/python3").unwrap().layer, 1);
    let ghost = v.lookup("/usr/bin/ghost").unwrap();
    assert!(matches!(ghost.content, Content::None));
    assert_eq!(v.problems().len(), 1);
    assert!(
        v.problems()[0].contains("/usr/bin/ghost"),
        "{:?}",
        v.problems()
    );
    assert!(
        v.problems()[0].contains("/usr/bin/nothing"),
        "{:?}",
        v.problems()
    );
}

#[test]
fn file_replacing_a_directory_deletes_its_subtree() {
    let l0 = layer(
        "l0",
        &[T::File("opt/app/bin/x", b""), T::File("opt/app-data", b"")],
    );
    let l1 = layer("l1", &[T::File("opt/app", b"#!/flat\n")]);
    let v = view(&[l0, l1]);
    assert_eq!(paths(&v), ["/", "/opt", "/opt/app", "/opt/app-data"]);
    assert_eq!(v.lookup("/opt/app").unwrap().kind, NodeKind::File);
}

#[test]
fn directory_replacing_a_file() {
    let l0 = layer("l0", &[T::File("opt/app", b"#!/flat\n")]);
    let l1 = layer("l1", &[T::Dir("opt/app"), T::File("opt/app/x", b"")]);
    let v = view(&[l0, l1.clone()]);
    assert_eq!(paths(&v), ["/", "/opt", "/opt/app", "/opt/app/x"]);
    assert_eq!(v.lookup("/opt/app").unwrap().kind, NodeKind::Dir);
    // Implied by a file below it, without a directory entry.
    let l1 = layer("l1", &[T::File("opt/app/y", b"")]);
    let l0 = layer("l0", &[T::File("opt/app", b"#!/flat\n")]);
    let v = view(&[l0, l1]);
    assert_eq!(paths(&v), ["/", "/opt", "/opt/app", "/opt/app/y"]);
    assert_eq!(v.lookup("/opt/app").unwrap().kind, NodeKind::Dir);
}

#[test]
fn directory_entry_for_an_existing_directory_keeps_its_children() {
    let l0 = layer("l0", &[T::Dir("srv"), T::File("srv/a", b"")]);
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Directory);
    header.set_mode(0o1777);
    header.set_size(0);
    builder.append_data(&mut header, "srv/", &[][..]).unwrap();
    let l1 = crate::layers::read_layer(
        &builder.into_inner().unwrap()[..],
        crate::layers::Compression::None,
        "l1",
        &crate::layers::Limits::default(),
    )
    .unwrap();
    let v = view(&[l0, l1]);
    assert_eq!(paths(&v), ["/", "/srv", "/srv/a"]);
    assert_eq!(v.lookup("/srv").unwrap().mode, 0o1777);
    assert_eq!(v.lookup("/srv").unwrap().layer, 1);
    assert_eq!(v.layer_digest(1), "l1");
    assert_eq!(v.layer_digest(2), "");
}

fn links_image() -> FsView {
    view(&[layer(
        "l0",
        &[
            T::File("x/y/z", b"#!/z\n"),
            T::File("x/file", b""),
            T::Dir("a"),
            T::Symlink("a/b", "/x/y"),
            T::Symlink("a/rel", "../x/y/z"),
            T::Symlink("a/up", ".."),
            T::Symlink("lib", "usr/lib"),
            T::File("usr/lib/libc.so.6", b""),
            T::Symlink("chain1", "chain2"),
            T::Symlink("chain2", "/a/rel"),
            T::Symlink("loop1", "loop2"),
            T::Symlink("loop2", "loop1"),
            T::Symlink("self", "self"),
            T::Symlink("escape", "../../../../x"),
            T::Symlink("empty", ""),
            T::Symlink("tofile", "x/file"),
        ],
    )])
}

#[test]
fn symlink_chains_resolve_to_the_final_file() {
    let v = links_image();
    assert_eq!(resolved(&v, "/chain1", true), Ok("/x/y/z".into()));
    let r = v.resolve("/chain1", true).unwrap();
    assert_eq!(r.node.kind, NodeKind::File);
    // Not following the last component: the link itself.
    let r = v.resolve("/chain1", false).unwrap();
    assert_eq!(r.path, "/chain1");
    assert_eq!(r.node.kind, NodeKind::Symlink);
    // Intermediate components are always followed.
    assert_eq!(
        resolved(&v, "/lib/libc.so.6", false),
        Ok("/usr/lib/libc.so.6".into())
    );
    assert_eq!(resolved(&v, "/a/rel", true), Ok("/x/y/z".into()));
}

#[test]
fn dot_dot_through_a_symlink_is_physical() {
    let v = links_image();
    // /a/b -> /x/y, so /a/b/.. is /x, not /a.
    assert_eq!(resolved(&v, "/a/b/../y/z", true), Ok("/x/y/z".into()));
    assert_eq!(resolved(&v, "/a/b/..", true), Ok("/x".into()));
    assert_eq!(resolved(&v, "/a/b/../file", true), Ok("/x/file".into()));
    // /a/up -> .. (relative to /a) is the root.
    assert_eq!(resolved(&v, "/a/up/x/y", true), Ok("/x/y".into()));
    assert_eq!(
        resolved(&v, "/a/b/../missing", true),
        Err(ResolveError::NotFound("/a/b/../missing".into()))
    );
}

#[test]
fn absolute_targets_and_dot_dot_are_confined_to_the_root() {
    let v = links_image();
    assert_eq!(resolved(&v, "/a/b/z", true), Ok("/x/y/z".into()));
    assert_eq!(resolved(&v, "/escape/y/z", true), Ok("/x/y/z".into()));
    assert_eq!(resolved(&v, "/../../x/y/../y/z", true), Ok("/x/y/z".into()));
    assert_eq!(resolved(&v, "/", true), Ok("/".into()));
    assert_eq!(resolved(&v, "/..", true), Ok("/".into()));
    assert_eq!(v.resolve("/", true).unwrap().node.kind, NodeKind::Dir);
}

#[test]
fn symlink_loops_are_reported() {
    let v = links_image();
    assert_eq!(
        resolved(&v, "/loop1", true),
        Err(ResolveError::Loop("/loop1".into()))
    );
    assert_eq!(
        resolved(&v, "/self/x", false),
        Err(ResolveError::Loop("/self/x".into()))
    );
    // Not following the last component, a loop is just a link.
    assert_eq!(resolved(&v, "/loop1", false), Ok("/loop1".into()));
}

#[test]
fn not_a_directory_and_not_found() {
    let v = links_image();
    assert_eq!(
        resolved(&v, "/x/file/more", true),
        Err(ResolveError::NotADirectory("/x/file/more".into()))
    );
    // A trailing slash asks for a directory, through a final symlink too.
    assert_eq!(
        resolved(&v, "/x/file/", true),
        Err(ResolveError::NotADirectory("/x/file/".into()))
    );
    assert_eq!(
        resolved(&v, "/tofile/", false),
        Err(ResolveError::NotADirectory("/tofile/".into()))
    );
    assert_eq!(resolved(&v, "/a/b/", false), Ok("/x/y".into()));
    assert_eq!(
        resolved(&v, "/nothing/here", true),
        Err(ResolveError::NotFound("/nothing/here".into()))
    );
    // An empty target is ENOENT, as on Linux.
    assert_eq!(
        resolved(&v, "/empty", true),
        Err(ResolveError::NotFound("/empty".into()))
    );
}

/// A chain of `n` symlinks `/l1 -> l2 -> ... -> ln -> f`.
fn chain(n: usize) -> FsView {
    let names: Vec<String> = (1..=n).map(|i| format!("l{i}")).collect();
    let targets: Vec<String> = (2..=n)
        .map(|i| format!("l{i}"))
        .chain(["f".to_string()])
        .collect();
    let mut entries = vec![T::File("f", b"")];
    for (name, target) in names.iter().zip(&targets) {
        entries.push(T::Symlink(name, target));
    }
    view(&[layer("l0", &entries)])
}

#[test]
fn exactly_forty_links_resolve_and_forty_one_loop() {
    // Linux: `cat l40` works on such a chain, `cat l41` fails with ELOOP.
    assert_eq!(MAX_SYMLINKS, 40);
    assert_eq!(resolved(&chain(40), "/l1", true), Ok("/f".into()));
    assert_eq!(
        resolved(&chain(41), "/l1", true),
        Err(ResolveError::Loop("/l1".into()))
    );
}

#[test]
fn children_are_direct_and_sorted_with_tricky_names() {
    let v = view(&[layer(
        "l0",
        &[
            T::File("a/b/deep/x", b""),
            T::File("a/b-c", b""),
            T::File("a/b.d", b""),
            T::File("a/b0", b""),
            T::File("a/c", b""),
            T::File("a-sibling", b""),
        ],
    )]);
    let kids: Vec<&str> = v.children("/a").map(|(p, _)| p).collect();
    assert_eq!(kids, ["/a/b", "/a/b-c", "/a/b.d", "/a/b0", "/a/c"]);
    let top: Vec<&str> = v.children("/").map(|(p, _)| p).collect();
    assert_eq!(top, ["/a", "/a-sibling"]);
    assert_eq!(v.children("/a/c").count(), 0);
    assert_eq!(v.children("/nothing").count(), 0);
}

#[test]
fn empty_view_has_a_root() {
    let v = FsView::from_layers(&[]);
    assert_eq!(paths(&v), ["/"]);
    assert_eq!(resolved(&FsView::default(), "/", true), Ok("/".into()));
}
