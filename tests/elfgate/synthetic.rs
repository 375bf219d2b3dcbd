//! Scenarios built with the ImageBuilder: whole images written in a few lines.

use crate::harness::{ImageBuilder, LayerSpec, ManifestSpec, elfgate, testdata};

/// A static program of `arch` (a stand-in for busybox), from testdata/elf.
fn static_program(arch: &str) -> Vec<u8> {
    let name = match arch {
        "amd64" => "x86_64-musl-static",
        "arm64" => "aarch64-static",
        other => panic!("no static program for {other}"),
    };
    std::fs::read(testdata("elf").join(name)).unwrap()
}

fn busybox_like(arch: &'static str) -> ManifestSpec {
    ManifestSpec::new("linux", arch, None).layer(
        LayerSpec::default()
            .dir("bin")
            .file("bin/busybox", 0o755, static_program(arch))
            .symlink("bin/sh", "/bin/busybox"),
    )
}

#[test]
fn bash_script_on_busybox() {
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(
            busybox_like("amd64")
                .layer(LayerSpec::default().file(
                    "entrypoint.sh",
                    0o755,
                    b"#!/bin/bash\necho hi\n".to_vec(),
                ))
                .entrypoint(&["/entrypoint.sh"]),
        )
        .manifest(busybox_like("arm64").layer(LayerSpec::default().file(
            "usr/local/bin/tool",
            0o755,
            b"#!/usr/bin/env python3\nprint(1)\n".to_vec(),
        )))
        .write(tmp.path());
    let run = elfgate(&["scan", &image]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let f = run.findings();
    assert!(
        f.contains(&(
            "linux/amd64".into(),
            "error".into(),
            "script-interpreter-missing".into(),
            "/entrypoint.sh".into()
        )),
        "{f:?}"
    );
    // env exists nowhere either: the interpreter itself is missing.
    assert!(
        f.contains(&(
            "linux/arm64".into(),
            "error".into(),
            "script-interpreter-missing".into(),
            "/usr/local/bin/tool".into()
        )),
        "{f:?}"
    );
}

#[test]
fn no_arm64_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(busybox_like("amd64"))
        .write(tmp.path());
    let run = elfgate(&["scan", &image]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc = run.json();
    let findings = doc["images"][0]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0]["rule"], "missing-platform");
    assert_eq!(findings[0]["platform"], "linux/arm64");
    assert!(findings[0]["path"].is_null());
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .contains("no matching manifest for linux/arm64/v8 in the manifest list entries")
    );
    // Requiring only amd64 makes it clean.
    let run = elfgate(&["scan", &image, "--require-platform", "linux/amd64"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
}

#[test]
fn entrypoint_not_on_path() {
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(busybox_like("amd64").entrypoint(&["app", "--serve"]))
        .manifest(busybox_like("arm64").entrypoint(&["/bin/sh"]))
        .write(tmp.path());
    let run = elfgate(&["scan", &image]);
    let f = run.findings();
    assert!(
        f.contains(&(
            "linux/amd64".into(),
            "error".into(),
            "missing-entrypoint".into(),
            "app".into()
        )),
        "{f:?}"
    );
    assert!(
        !f.iter()
            .any(|x| x.0 == "linux/arm64" && x.2 == "missing-entrypoint"),
        "/bin/sh resolves through its symlink: {f:?}"
    );
}

#[test]
fn json_report_has_the_documented_shape() {
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(busybox_like("amd64"))
        .manifest(busybox_like("arm64"))
        .write(tmp.path());
    let run = elfgate(&["scan", &image, "--format", "json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let doc = run.json();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["tool"]["name"], "elfgate");
    let img = &doc["images"][0];
    assert_eq!(img["reference"], image.as_str());
    assert!(img["digest"].as_str().unwrap().starts_with("sha256:"));
    let platforms: Vec<&str> = img["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["platform"].as_str().unwrap())
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);
    let p0 = &img["platforms"][0];
    assert!(
        p0["manifest_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
    assert_eq!(p0["libc"], "none");
    assert_eq!(p0["files"], 1);
    assert_eq!(p0["elf_files"], 1, "{}", run.stdout);
    assert_eq!(doc["summary"]["error"], 0);
}

#[test]
fn a_hard_link_keeps_the_file_a_later_layer_replaces() {
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(
            busybox_like("arm64")
                .layer(
                    LayerSpec::default()
                        .file("usr/bin/app", 0o755, static_program("arm64"))
                        .hardlink("usr/bin/app-hardlink", "usr/bin/app"),
                )
                // The later layer puts an amd64 build at the original path only.
                .layer(LayerSpec::default().file("usr/bin/app", 0o755, static_program("amd64"))),
        )
        .write(tmp.path());
    let run = elfgate(&["scan", &image, "--require-platform", "linux/arm64"]);
    assert_eq!(
        run.findings(),
        vec![(
            "linux/arm64".into(),
            "error".into(),
            "arch-mismatch".into(),
            "/usr/bin/app".into()
        )],
        "{}",
        run.stderr
    );
    let doc = run.json();
    let layer = doc["images"][0]["findings"][0]["layer"].as_str().unwrap();
    assert!(layer.starts_with("sha256:"), "{layer}");
}
