//! The mission's seed cases, on images built from real toolchains and
//! Debian's packages by testdata/build-fixtures.sh.

use crate::harness::{elfgate, fixture};

fn image(name: &str) -> String {
    format!("oci:{}:latest", fixture(&format!("images/{name}")))
}

/// (platform, severity, rule, path) of every finding.
type Rows = Vec<(String, String, String, String)>;

fn row(p: &str, s: &str, r: &str, path: &str) -> (String, String, String, String) {
    (p.into(), s.into(), r.into(), path.into())
}

#[test]
fn consul_template_glibc_on_alpine() {
    let run = elfgate(&["scan", &image("consul-template")]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let rows: Rows = run.findings();
    assert_eq!(
        rows,
        vec![
            row(
                "linux/arm64",
                "error",
                "libc-mismatch",
                "/usr/bin/consul-template"
            ),
            // Static on amd64, dynamic on arm64: the divergence itself.
            row(
                "linux/arm64",
                "warning",
                "cgo-divergence",
                "/usr/bin/consul-template"
            ),
            // Debian's musl 1.2.3 is older than 1.2.4 (relro on 64K pages).
            row(
                "linux/arm64",
                "info",
                "toolchain-bug",
                "/lib/ld-musl-aarch64.so.1"
            ),
        ],
        "arm64 is a libc mismatch, amd64 is clean"
    );
    let doc = run.json();
    let f = &doc["images"][0]["findings"][0];
    assert!(f["layer"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(f["details"]["interpreter"], "/lib/ld-linux-aarch64.so.1");
    let platforms = doc["images"][0]["platforms"].as_array().unwrap();
    assert!(
        platforms.iter().all(|p| p["libc"] == "musl"),
        "{platforms:?}"
    );
}

#[test]
fn consul_template_from_an_oci_archive_gives_the_same_report() {
    let layout = elfgate(&["scan", &image("consul-template")]).findings();
    let archive = fixture("archives/consul-template.oci.tar");
    let run = elfgate(&["scan", &format!("oci-archive:{archive}:latest")]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.findings(), layout);
    // A bare path is recognised by what it holds.
    assert_eq!(elfgate(&["scan", &archive]).findings(), layout);
}

#[test]
fn tini_static_amd64_in_arm64_image() {
    for reference in [
        image("tini-static"),
        format!(
            "docker-archive:{}",
            fixture("archives/tini-static.docker.tar")
        ),
    ] {
        let run = elfgate(&["scan", &reference, "--require-platform", "linux/arm64"]);
        assert_eq!(run.code, 1, "{reference}: {}", run.stderr);
        assert_eq!(
            run.findings(),
            vec![row(
                "linux/arm64",
                "error",
                "arch-mismatch",
                "/usr/bin/tini"
            )],
            "{reference}"
        );
    }
}

#[test]
fn no_arm64_manifest_in_a_real_index() {
    let run = elfgate(&["scan", &image("no-arm64-manifest")]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.findings(),
        vec![row("linux/arm64", "error", "missing-platform", "-")]
    );
}

#[test]
fn glibc_symbol_version_too_new() {
    let run = elfgate(&[
        "scan",
        &image("glibc-too-new"),
        "--require-platform",
        "linux/amd64",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc = run.json();
    let findings = doc["images"][0]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    assert_eq!(f["rule"], "missing-symbol-version");
    assert_eq!(f["path"], "/usr/bin/newglibc");
    // Debian bullseye's libc6 is 2.31; arc4random came in 2.36, and every
    // program linked against glibc 2.34 or later needs GLIBC_2.34.
    let versions: Vec<&str> = f["details"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(versions, ["GLIBC_2.34", "GLIBC_2.36"]);
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("version `GLIBC_2.34' not found")
    );
}

#[test]
fn bash_script_on_busybox_from_debian_packages() {
    let run = elfgate(&[
        "scan",
        &image("bash-on-busybox"),
        "--require-platform",
        "linux/arm64",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        run.findings(),
        vec![row(
            "linux/arm64",
            "error",
            "script-interpreter-missing",
            "/usr/local/bin/entrypoint.sh"
        )]
    );
}

#[test]
fn debian_bookworm_minbase_has_no_errors() {
    let run = elfgate(&["scan", &image("bookworm-minbase"), "--fail-on", "warning"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let doc = run.json();
    assert_eq!(doc["summary"]["error"], 0);
    assert_eq!(doc["summary"]["warning"], 0);
    let platforms = doc["images"][0]["platforms"].as_array().unwrap();
    assert_eq!(platforms.len(), 2);
    for p in platforms {
        assert_eq!(p["libc"], "glibc");
        // A minbase root has some 700 ELF files; all of them were read.
        assert!(p["elf_files"].as_u64().unwrap() > 600, "{p}");
    }
}

#[test]
fn the_demo_image_shows_the_seed_failures() {
    let demo = crate::harness::testdata("demo");
    let run = elfgate(&["scan", demo.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let rules: Vec<(String, String)> = run
        .findings()
        .into_iter()
        .map(|(p, _, r, _)| (p, r))
        .collect();
    assert!(
        !rules.iter().any(|(p, _)| p == "linux/amd64"),
        "amd64 is clean: {rules:?}"
    );
    for rule in [
        "libc-mismatch",
        "arch-mismatch",
        "script-interpreter-missing",
    ] {
        assert!(
            rules.contains(&("linux/arm64".to_string(), rule.to_string())),
            "{rule} missing: {rules:?}"
        );
    }
}
