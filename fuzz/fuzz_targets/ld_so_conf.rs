//! `/etc/ld.so.conf` with its `include` globs, read from a view: the input is
//! a list of files separated by a line `--`; the first is `/etc/ld.so.conf`,
//! the others `/etc/ld.so.conf.d/N.conf`.
#![no_main]

use std::sync::Arc;

use elfgate::fs::FsView;
use elfgate::layers::{Content, Entry, EntryKind, Layer};
use elfgate::loader::{LoadEnv, Loader};
use libfuzzer_sys::fuzz_target;

const SEPARATOR: &[u8] = b"\n--\n";

fn file(path: String, bytes: &[u8]) -> Entry {
    Entry {
        path,
        kind: EntryKind::File,
        mode: 0o644,
        size: bytes.len() as u64,
        content: Content::Config(Arc::new(bytes.to_vec())),
    }
}

fuzz_target!(|data: &[u8]| {
    let mut entries = Vec::new();
    let mut rest = data;
    let mut n = 0;
    loop {
        let (doc, more) = match rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
            Some(at) => (&rest[..at], Some(&rest[at + SEPARATOR.len()..])),
            None => (rest, None),
        };
        let path = if n == 0 {
            "/etc/ld.so.conf".to_string()
        } else {
            format!("/etc/ld.so.conf.d/{n}.conf")
        };
        entries.push(file(path, doc));
        n += 1;
        match more {
            Some(m) if n < 16 => rest = m,
            _ => break,
        }
    }
    let layer = Layer {
        digest: "fuzz".to_string(),
        entries,
    };
    let view = FsView::from_layers(&[layer]);
    let loader = Loader::new(&view, LoadEnv::default());
    for (dir, from) in loader.ld_so_conf_dirs() {
        assert!(!dir.is_empty(), "an empty directory listed by {from}");
    }
});
