//! The Dockerfile parser and the helpers the Dockerfile rules call on what
//! it returns, on arbitrary text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let file = elfgate::dockerfile::parse(&text);
    for (i, stage) in file.stages.iter().enumerate() {
        let _ = file.parent(i);
        let _ = file.ancestry(i);
        let _ = file.root_image(i);
        let _ = file.effective_platform(i);
        let _ = stage;
    }
    let _ = file.expand_global(&text);
});
