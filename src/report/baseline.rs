//! Fingerprints of findings, and baselines made of them.
//!
//! A fingerprint names a problem, not a run: it hashes the rule, the
//! platform, the path, and the detail keys that say *what* is wrong (the
//! library that is missing, the interpreter named), never the layer digest,
//! the line number, the order of findings or lists that grow with the image
//! (which programs need a library). So a rebuild that leaves a file unchanged
//! but moves it to another layer, or a Dockerfile edit that shifts lines,
//! keeps every fingerprint.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::Report;
use crate::rules::Finding;

/// Detail keys that identify a problem. Everything else in `details`
/// (search lists, examples, counts, lines, stage indices) may change
/// without the problem changing.
const IDENTITY_KEYS: &[&str] = &[
    "argument",
    "arch",
    "architecture",
    "argv",
    "bug",
    "build_base",
    "class",
    "command",
    "final_base",
    "interpreter",
    "kind",
    "label",
    "library",
    "machine",
    "needed",
    "required",
    "shebang",
    "toolchain",
    "version",
    "versions",
    "word",
];

/// Version of the fingerprint recipe; part of the hashed text so that a
/// change of recipe can never match old fingerprints by accident.
const RECIPE: &str = "elfgate-fingerprint-v1";

/// The stable fingerprint of a finding: 32 hex digits.
pub fn fingerprint(f: &Finding) -> String {
    let mut identity = serde_json::Map::new();
    if let Value::Object(details) = &f.details {
        for key in IDENTITY_KEYS {
            if let Some(v) = details.get(*key) {
                identity.insert((*key).to_string(), v.clone());
            }
        }
    }
    // serde_json's map is ordered by key, so this text is canonical.
    let text = json!([RECIPE, f.rule, f.platform, f.path, Value::Object(identity)]).to_string();
    let digest = Sha256::digest(text.as_bytes());
    hex::encode(&digest[..16])
}

/// The fingerprints of the findings a team has accepted for now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    fingerprints: BTreeSet<String>,
}

impl Baseline {
    /// The baseline of every finding in `report`.
    pub fn from_report(report: &Report) -> Baseline {
        Baseline {
            fingerprints: report.findings().map(fingerprint).collect(),
        }
    }

    pub fn contains(&self, fingerprint: &str) -> bool {
        self.fingerprints.contains(fingerprint)
    }

    pub fn len(&self) -> usize {
        self.fingerprints.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty()
    }

    /// The file `--write-baseline` writes: JSON, one entry per finding with
    /// enough context for a reviewer to see what was accepted, sorted.
    pub fn render(report: &Report) -> String {
        let mut entries: Vec<(String, Value)> = report
            .findings()
            .map(|f| {
                let fp = fingerprint(f);
                let entry = json!({
                    "fingerprint": fp,
                    "rule": f.rule,
                    "platform": f.platform,
                    "path": f.path,
                });
                (fp, entry)
            })
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        entries.dedup_by(|a, b| a.0 == b.0);
        let doc = json!({
            "elfgate_baseline": 1,
            "findings": entries.into_iter().map(|(_, e)| e).collect::<Vec<_>>(),
        });
        let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
        s.push('\n');
        s
    }

    /// Reads a file written by [`Baseline::render`].
    pub fn parse(text: &str) -> Result<Baseline, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if doc.get("elfgate_baseline").and_then(Value::as_u64) != Some(1) {
            return Err("not an elfgate baseline (no \"elfgate_baseline\": 1)".into());
        }
        let findings = doc
            .get("findings")
            .and_then(Value::as_array)
            .ok_or("no \"findings\" list")?;
        let mut fingerprints = BTreeSet::new();
        for (k, f) in findings.iter().enumerate() {
            let fp = f
                .get("fingerprint")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("findings[{k}] has no \"fingerprint\""))?;
            fingerprints.insert(fp.to_string());
        }
        Ok(Baseline { fingerprints })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ImageReport;

    fn missing(path: &str, layer: &str, programs: &[&str]) -> Finding {
        Finding {
            platform: Some("linux/arm64".into()),
            path: Some(path.into()),
            layer: Some(layer.into()),
            ..Finding::new("missing-library", format!("{path} needs libz.so.1")).details(
                json!({"library": "libz.so.1", "programs": programs, "searched": ["/lib"]}),
            )
        }
    }

    #[test]
    fn fingerprints_ignore_layers_lines_and_growing_lists() {
        let a = missing("/usr/bin/app", "sha256:aaaa", &["/usr/bin/app"]);
        let b = missing(
            "/usr/bin/app",
            "sha256:bbbb",
            &["/usr/bin/app", "/usr/bin/x"],
        );
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_eq!(fingerprint(&a).len(), 32);
        let mut moved = a.clone();
        moved.line = Some(40);
        assert_eq!(fingerprint(&a), fingerprint(&moved));
        // What is wrong, where, and on which platform all count.
        let other_lib = Finding {
            details: json!({"library": "libssl.so.3"}),
            ..a.clone()
        };
        assert_ne!(fingerprint(&a), fingerprint(&other_lib));
        let other_platform = Finding {
            platform: Some("linux/amd64".into()),
            ..a.clone()
        };
        assert_ne!(fingerprint(&a), fingerprint(&other_platform));
        let other_path = missing("/usr/bin/b", "sha256:aaaa", &[]);
        assert_ne!(fingerprint(&a), fingerprint(&other_path));
    }

    #[test]
    fn baselines_round_trip_and_do_not_depend_on_order() {
        let one = Report {
            images: vec![ImageReport::new(
                "oci:a".into(),
                "sha256:1".into(),
                Vec::new(),
                vec![
                    missing("/usr/bin/a", "sha256:l1", &[]),
                    missing("/usr/bin/b", "sha256:l2", &[]),
                ],
            )],
        };
        let two = Report {
            images: vec![ImageReport::new(
                "oci:a".into(),
                "sha256:2".into(),
                Vec::new(),
                vec![
                    missing("/usr/bin/b", "sha256:l9", &[]),
                    missing("/usr/bin/a", "sha256:l8", &[]),
                ],
            )],
        };
        assert_eq!(Baseline::render(&one), Baseline::render(&two));
        let parsed = Baseline::parse(&Baseline::render(&one)).unwrap();
        assert_eq!(parsed, Baseline::from_report(&two));
        assert_eq!(parsed.len(), 2);
        assert!(Baseline::parse("{}").is_err());
        assert!(Baseline::parse("[").is_err());
    }
}
