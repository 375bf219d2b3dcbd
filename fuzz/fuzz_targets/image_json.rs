//! The walk of an OCI layout: `index.json`, then indexes, manifests and
//! configs, each parsed as JSON and verified against its digest.
//!
//! The input is a list of documents separated by a line `--`. The first is
//! `index.json`; every other one is stored as a blob under its own sha256.
//! So that the fuzzer can build chains a hash would otherwise forbid, the
//! text `@N` in a document is replaced by the digest of document N, for N
//! after it (so references always point forward and the digests can be
//! computed from the last document back).
#![no_main]

use std::collections::BTreeMap;
use std::io::Read;

use libfuzzer_sys::fuzz_target;
use sha2::{Digest as _, Sha256};

const SEPARATOR: &[u8] = b"\n--\n";

fn split(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(at) = rest.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        out.push(rest[..at].to_vec());
        rest = &rest[at + SEPARATOR.len()..];
    }
    out.push(rest.to_vec());
    out
}

fn substitute(doc: &[u8], digests: &[Option<String>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(doc.len());
    let mut i = 0;
    while i < doc.len() {
        if doc[i] == b'@'
            && let Some(&d) = doc.get(i + 1)
            && d.is_ascii_digit()
            && let Some(Some(digest)) = digests.get(usize::from(d - b'0'))
        {
            out.extend_from_slice(digest.as_bytes());
            i += 2;
            continue;
        }
        out.push(doc[i]);
        i += 1;
    }
    out
}

fuzz_target!(|data: &[u8]| {
    let docs = split(data);
    if docs.len() > 10 {
        return;
    }
    let mut digests: Vec<Option<String>> = vec![None; docs.len()];
    let mut files = BTreeMap::new();
    files.insert(
        "oci-layout".to_string(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    );
    for i in (0..docs.len()).rev() {
        let bytes = substitute(&docs[i], &digests);
        if i == 0 {
            files.insert("index.json".to_string(), bytes);
        } else {
            let hex = hex::encode(Sha256::digest(&bytes));
            digests[i] = Some(format!("sha256:{hex}"));
            files.insert(format!("blobs/sha256/{hex}"), bytes);
        }
    }
    let options = elfgate::source::OpenOptions::default();
    let Ok(image) = elfgate::source::open_layout_in_memory("oci:fuzz", files, None, &options)
    else {
        return;
    };
    for p in &image.platforms {
        let _ = p.platform.to_string();
        let _ = p.config.env_var("PATH");
        if let elfgate::source::Layers::Blobs(refs) = &p.layers {
            for r in refs {
                if let Ok(mut reader) = image.open_blob(&r.digest) {
                    let mut sink = Vec::new();
                    let _ = reader.by_ref().take(1 << 20).read_to_end(&mut sink);
                }
            }
        }
    }
});
