//! The layer reader (gzip, zstd or plain tar → entries, whiteouts, hard
//! links) on arbitrary bytes, with small limits so that no input can take
//! much memory; whatever it accepts must be well-formed and must merge into
//! a view.
#![no_main]

use elfgate::fs::FsView;
use elfgate::layers::{Compression, Limits, normalize, read_layer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_elf_size: 1 << 20,
        max_config_size: 1 << 16,
        max_layer_bytes: 16 << 20,
        max_image_bytes: 16 << 20,
        max_entries: 10_000,
        max_tar_header_bytes: 64 << 10,
        ..Limits::default()
    };
    let Ok(layer) = read_layer(data, Compression::Sniff, "fuzz", &limits) else {
        return;
    };
    for entry in &layer.entries {
        // Every path is absolute and normalised: nothing escapes the root.
        assert_eq!(entry.path, normalize(&entry.path), "{:?}", entry.path);
        assert!(entry.path.starts_with('/'));
        assert!(entry.path.len() <= limits.max_path_len + 1);
        assert!(entry.mode <= 0o7777);
    }
    assert!(layer.entries.len() as u64 <= limits.max_entries);
    let view = FsView::from_layers(&[layer]);
    assert!(view.lookup("/").is_some());
});
