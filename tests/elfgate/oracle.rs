//! The real loader as the oracle: for every ELF file and executable script of
//! every fixture root, `testdata/oracle.py` recorded what the real loader did
//! (chroot for amd64, qemu-user inside the root for arm64 and armhf). elfgate's
//! verdict on the same root must agree, file by file.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::harness::{elfgate, fixtures};

/// What elfgate says of one path, in the oracle's words.
fn elfgate_verdicts(report: &Value) -> BTreeMap<String, &'static str> {
    let mut out = BTreeMap::new();
    for f in report["images"][0]["findings"].as_array().unwrap() {
        if f["severity"] != "error" {
            continue;
        }
        let verdict = match f["rule"].as_str().unwrap() {
            "missing-interpreter" | "libc-mismatch" | "script-interpreter-missing" => {
                "missing-interpreter"
            }
            "arch-mismatch" => "exec-format",
            "missing-library" => "missing-library",
            "missing-symbol-version" => "missing-version",
            _ => continue,
        };
        let mut paths: Vec<String> = f["details"]["programs"]
            .as_array()
            .map(|a| a.iter().map(|p| p.as_str().unwrap().to_string()).collect())
            .unwrap_or_default();
        if let Some(p) = f["path"].as_str() {
            paths.push(p.to_string());
        }
        for p in paths {
            out.entry(p).or_insert(verdict);
        }
    }
    out
}

fn platform_of(root: &str) -> Option<&'static str> {
    Some(match root.rsplit('-').next()? {
        "amd64" => "linux/amd64",
        "arm64" => "linux/arm64",
        "armhf" => "linux/arm/v7",
        _ => return None,
    })
}

#[test]
fn every_verdict_agrees_with_the_real_loader() {
    let dir = fixtures().join("oracle");
    let mut checked = 0;
    let mut disagreements = Vec::new();
    let mut roots = 0;
    for entry in std::fs::read_dir(&dir).expect("oracle verdicts: run testdata/build-fixtures.sh") {
        let path = entry.unwrap().path();
        let Some(name) = path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .strip_suffix(".jsonl")
        else {
            continue;
        };
        let Some(platform) = platform_of(name) else {
            continue;
        };
        roots += 1;
        let root = fixtures().join("roots").join(name);
        let run = elfgate(&[
            "scan",
            &format!("dir:{}", root.display()),
            "--platform",
            platform,
            "--format",
            "json",
        ]);
        assert!(run.code < 2, "{name}: {}", run.stderr);
        let mut ours = elfgate_verdicts(&run.json());
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let truth: Value = serde_json::from_str(line).unwrap();
            let file = truth["path"].as_str().unwrap();
            let got = ours.remove(file).unwrap_or("runs");
            let expected = match truth["verdict"].as_str().unwrap() {
                "loads" | "static" => "runs",
                v => v,
            };
            checked += 1;
            if got != expected {
                disagreements.push(format!(
                    "{name}:{file}: real loader {expected} ({}), elfgate {got}",
                    truth["detail"]
                ));
            }
        }
        // Whatever elfgate flags, the real loader must have been asked about.
        for (file, verdict) in ours {
            disagreements.push(format!(
                "{name}:{file}: elfgate {verdict}, not judged by the oracle"
            ));
        }
    }
    eprintln!("checked {checked} files in {roots} roots against the real loader");
    assert!(roots >= 10, "only {roots} roots have oracle verdicts");
    assert!(
        disagreements.is_empty(),
        "{} of {checked} verdicts disagree:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
