//! The webhook payload parsers of `elfgate serve` (distribution, Harbor,
//! Docker Hub, the generic API) on arbitrary bodies. Whatever they accept
//! must name only what the distribution grammar allows: nothing with path
//! or shell metacharacters may reach a reference, a log line or the store.
#![no_main]

use elfgate::serve::event::{
    Aliases, dockerhub, distribution, generic, harbor, valid_digest, valid_registry,
    valid_repository, valid_tag,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let aliases = Aliases(vec![(
        "registry.example.com".to_string(),
        "registry.internal:5000".to_string(),
    )]);
    for parse in [distribution, harbor, dockerhub, generic] {
        let Ok(parsed) = parse(data, &aliases) else {
            continue;
        };
        for push in &parsed.pushes {
            assert!(valid_repository(&push.repository), "{push:?}");
            assert!(push.tag.is_empty() || valid_tag(&push.tag), "{push:?}");
            assert!(push.registry.is_empty() || valid_registry(&push.registry), "{push:?}");
            assert!(!push.by_digest() || valid_digest(&push.key), "{push:?}");
            assert!(
                !push.reference.contains(|c: char| c.is_whitespace() || ";|&$`'\"\\".contains(c)),
                "{push:?}"
            );
        }
    }
});
