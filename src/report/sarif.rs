//! SARIF 2.1.0 (OASIS): what code-scanning services read.
//!
//! One run; `tool.driver.rules` is the whole catalog, with each rule's
//! documentation as its help. One result per finding: its location is the
//! path inside the image (or the Dockerfile and its line), the image and the
//! platform are in the result's properties, and `partialFingerprints`
//! carries the same stable fingerprint that baselines use.

use serde_json::{Value, json};

use super::Report;
use super::baseline::fingerprint;
use crate::rules::{RULES, Rule, Severity};

/// The key under `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "elfgateFindingHash/v1";

/// The base that image paths are relative to.
const IMAGE_ROOT: &str = "IMAGEROOT";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// The text of a `## NAME` section of a rule's documentation.
fn section<'a>(doc: &'a str, name: &str) -> Option<&'a str> {
    let head = format!("## {name}");
    let start = doc.find(&head)? + head.len();
    let rest = &doc[start..];
    let end = rest.find("\n## ").unwrap_or(rest.len());
    Some(rest[..end].trim())
}

/// `missing-library` → `MissingLibrary`: SARIF's friendly rule name.
fn pascal(slug: &str) -> String {
    slug.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn sentence(text: &str) -> String {
    let t = text.trim();
    if t.ends_with('.') || t.is_empty() {
        t.to_string()
    } else {
        format!("{t}.")
    }
}

fn rule_descriptor(r: &Rule) -> Value {
    let full = section(r.doc, "What it does").unwrap_or(r.summary());
    json!({
        "id": r.slug,
        "name": pascal(r.slug),
        "shortDescription": {"text": sentence(r.summary())},
        "fullDescription": {"text": sentence(&full.replace('\n', " "))},
        "help": {"text": r.doc, "markdown": r.doc},
        "defaultConfiguration": {"level": level(r.severity)},
    })
}

/// Renders the report as a SARIF 2.1.0 log.
pub fn render_sarif(report: &Report) -> String {
    let rules: Vec<Value> = RULES.iter().map(rule_descriptor).collect();
    let mut results = Vec::new();
    for image in &report.images {
        for f in &image.findings {
            let location = match (&f.path, f.line) {
                // A Dockerfile: its path as given, relative to the checkout.
                (Some(path), Some(line)) => json!({
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri_path(path)},
                        "region": {"startLine": line.max(1)},
                    }
                }),
                // A file in the image. It has no lines, but GitHub code
                // scanning needs `region.startLine` to show a result at all.
                (Some(path), None) => json!({
                    "physicalLocation": {
                        "artifactLocation": {
                            "uri": uri_path(path.trim_start_matches('/')),
                            "uriBaseId": IMAGE_ROOT,
                        },
                        "region": {"startLine": 1},
                    }
                }),
                // About the image or a platform as a whole: the image root,
                // and the platform as a logical location.
                (None, _) => json!({
                    "physicalLocation": {
                        "artifactLocation": {"uri": ".", "uriBaseId": IMAGE_ROOT},
                        "region": {"startLine": 1},
                    },
                    "logicalLocations": [{
                        "name": f.platform.clone().unwrap_or_else(|| image.reference.clone()),
                        "fullyQualifiedName": match &f.platform {
                            Some(p) => format!("{}/{p}", image.reference),
                            None => image.reference.clone(),
                        },
                        "kind": "module",
                    }]
                }),
            };
            let rule_index = RULES.iter().position(|r| r.slug == f.rule);
            let mut result = json!({
                "ruleId": f.rule,
                "level": level(f.severity),
                "message": {"text": sentence(&f.message)},
                "locations": [location],
                "partialFingerprints": {FINGERPRINT_KEY: fingerprint(f)},
                "properties": {
                    "image": image.reference,
                    "imageDigest": image.digest,
                    "platform": f.platform,
                    "layer": f.layer,
                    "details": f.details,
                },
            });
            if let Some(i) = rule_index {
                result["ruleIndex"] = json!(i);
            }
            results.push(result);
        }
    }
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "elfgate",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "originalUriBaseIds": {
                IMAGE_ROOT: {
                    "description": {"text": "The root of the scanned image's filesystem."}
                }
            },
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    });
    let mut s = serde_json::to_string_pretty(&log).unwrap_or_default();
    s.push('\n');
    s
}

/// Percent-encodes what may not appear in a URI path (RFC 3986 pchar and `/`).
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        let keep = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'.'
                    | b'_'
                    | b'~'
                    | b'/'
                    | b'!'
                    | b'$'
                    | b'&'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b'+'
                    | b','
                    | b';'
                    | b'='
                    | b'@'
            );
        if keep {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ImageReport;
    use crate::rules::Finding;

    #[test]
    fn results_point_into_the_image_or_the_dockerfile() {
        let img = Finding {
            platform: Some("linux/arm64".into()),
            path: Some("/usr/lib/my lib.so".into()),
            ..Finding::new("missing-library", "x needs y")
        };
        let df = Finding {
            path: Some("build/Dockerfile".into()),
            line: Some(7),
            ..Finding::new("dockerfile-arg-scope", "z")
        };
        let report = Report {
            images: vec![
                ImageReport::new("oci:app".into(), "sha256:d".into(), Vec::new(), vec![img]),
                ImageReport::new(
                    "build/Dockerfile".into(),
                    String::new(),
                    Vec::new(),
                    vec![df],
                ),
            ],
        };
        let log: Value = serde_json::from_str(&render_sarif(&report)).unwrap();
        let run = &log["runs"][0];
        assert_eq!(log["version"], "2.1.0");
        assert_eq!(
            run["tool"]["driver"]["rules"].as_array().unwrap().len(),
            RULES.len()
        );
        let r0 = &run["results"][0];
        assert_eq!(r0["ruleId"], "missing-library");
        let loc = &r0["locations"][0]["physicalLocation"];
        // The space is percent-encoded; the path is relative to the image root.
        assert_eq!(loc["artifactLocation"]["uri"], "usr/lib/my%20lib.so");
        assert_eq!(loc["artifactLocation"]["uriBaseId"], IMAGE_ROOT);
        assert_eq!(loc["region"]["startLine"], 1);
        assert_eq!(r0["properties"]["platform"], "linux/arm64");
        assert_eq!(r0["properties"]["image"], "oci:app");
        let i = r0["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(run["tool"]["driver"]["rules"][i]["id"], "missing-library");
        let r1 = &run["results"][1];
        let loc = &r1["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uri"], "build/Dockerfile");
        assert_eq!(loc["region"]["startLine"], 7);
        assert_eq!(
            r1["partialFingerprints"][FINGERPRINT_KEY]
                .as_str()
                .unwrap()
                .len(),
            32
        );
    }

    #[test]
    fn friendly_names_and_sections() {
        assert_eq!(pascal("missing-symbol-version"), "MissingSymbolVersion");
        assert_eq!(
            section("# a\n## What it does\nThis.\n\n## Why\nx", "What it does"),
            Some("This.")
        );
    }
}
