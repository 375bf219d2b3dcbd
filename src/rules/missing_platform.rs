//! `missing-platform`: a required platform has no manifest in the image.

use serde_json::json;

use super::Finding;
use crate::platform::Platform;

/// Image-level check: one finding per required platform that no platform of
/// the image satisfies. `has_index` tells a manifest list from a single manifest.
pub fn check(available: &[Platform], required: &[Platform], has_index: bool) -> Vec<Finding> {
    let have: Vec<String> = available.iter().map(|p| p.to_string()).collect();
    let have_text = if have.is_empty() {
        "none".to_string()
    } else {
        have.join(", ")
    };
    required
        .iter()
        .filter(|want| !available.iter().any(|p| p.satisfies(want)))
        .map(|want| {
            let full = match &want.variant {
                Some(v) => format!("{}/{}/{v}", want.os, want.arch),
                None => want.to_string(),
            };
            let message = if has_index {
                format!(
                    "no manifest for {want} (the image has {have_text}): pulling fails with \
                     `no matching manifest for {full} in the manifest list entries`"
                )
            } else {
                format!(
                    "the image is a single {have_text} manifest, with nothing for {want}: \
                     `docker run --platform {want}` fails with `image ... does not match the \
                     specified platform`"
                )
            };
            Finding {
                platform: Some(want.to_string()),
                ..Finding::new("missing-platform", message)
                    .details(json!({ "required": want.to_string(), "available": have }))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Platform {
        Platform::parse(s).unwrap()
    }

    #[test]
    fn arm64_missing_from_an_amd64_only_index() {
        let f = check(
            &[p("linux/amd64")],
            &[p("linux/amd64"), p("linux/arm64")],
            true,
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].platform.as_deref(), Some("linux/arm64"));
        assert!(
            f[0].message
                .contains("linux/arm64/v8 in the manifest list entries")
        );
    }

    #[test]
    fn variants_satisfy_a_request_without_one() {
        let have = [p("linux/arm64/v8"), p("linux/amd64/v3")];
        assert!(check(&have, &[p("linux/amd64"), p("linux/arm64")], true).is_empty());
    }

    #[test]
    fn a_single_manifest_says_so() {
        let f = check(&[p("linux/arm64")], &[p("linux/amd64")], false);
        assert!(
            f[0].message.contains("single linux/arm64 manifest"),
            "{}",
            f[0].message
        );
    }
}
