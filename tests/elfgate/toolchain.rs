//! Toolchains and CPUs: build info, compiler versions, and the rules that read
//! them (cgo-divergence, toolchain-bug, aarch32-binary, arm-float-abi,
//! page-size, x86-isa-level), on real binaries where they exist and on the
//! synthetic ones of testdata/toolchain/ (see its README.md) where not.

use serde_json::Value;

use crate::harness::{ImageBuilder, LayerSpec, ManifestSpec, elfgate, fixture, testdata};

fn tc(name: &str) -> Vec<u8> {
    std::fs::read(testdata("toolchain").join(name)).unwrap()
}

fn elf(name: &str) -> Vec<u8> {
    std::fs::read(testdata("elf").join(name)).unwrap()
}

/// A file of the fixture cache, symlinks followed.
fn cached(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap()
}

/// (platform, severity, path) of the findings of `rule`, in report order.
fn rows(run: &crate::harness::Run, rule: &str) -> Vec<(String, String, String)> {
    run.findings()
        .into_iter()
        .filter(|(_, _, r, _)| r == rule)
        .map(|(p, s, _, path)| (p, s, path))
        .collect()
}

fn row(p: &str, s: &str, path: &str) -> (String, String, String) {
    (p.into(), s.into(), path.into())
}

fn finding<'a>(doc: &'a Value, rule: &str, path: &str) -> &'a Value {
    doc["images"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == rule && f["path"] == path)
        .unwrap_or_else(|| panic!("no {rule} on {path}: {doc:#}"))
}

fn scan(image: &str, extra: &[&str]) -> crate::harness::Run {
    let mut args = vec![
        "scan",
        image,
        "--no-cache",
        "--require-platform",
        "linux/amd64",
    ];
    args.extend_from_slice(extra);
    elfgate(&args)
}

#[test]
fn x86_isa_level_from_gnu_note_and_goamd64() {
    let tmp = tempfile::tempdir().unwrap();
    let layer = || {
        LayerSpec::default()
            .file("usr/bin/isa-v3", 0o755, elf("x86_64-glibc-isa-v3"))
            .file("usr/bin/go-v3", 0o755, cached("bin/go-amd64-v3"))
            .file("usr/bin/go-v1", 0o755, cached("bin/ct-amd64-static"))
            .file("usr/bin/plain", 0o755, elf("x86_64-glibc-dynamic"))
            .file(
                "usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libfast.so.1",
                0o755,
                elf("x86_64-glibc-isa-v3"),
            )
    };
    let image = ImageBuilder::new()
        .manifest(ManifestSpec::new("linux", "amd64", None).layer(layer()))
        .write(&tmp.path().join("v1"));
    let run = scan(&image, &[]);
    assert_eq!(
        rows(&run, "x86-isa-level"),
        vec![
            row("linux/amd64", "warning", "/usr/bin/go-v3"),
            row("linux/amd64", "warning", "/usr/bin/isa-v3"),
        ],
        "{}",
        run.stdout
    );
    let doc = run.json();
    let go = finding(&doc, "x86-isa-level", "/usr/bin/go-v3");
    assert_eq!(go["details"]["source"], "GOAMD64");
    assert_eq!(go["details"]["needed"], 3);
    assert!(
        go["message"]
            .as_str()
            .unwrap()
            .contains("v3 microarchitecture")
    );
    let c = finding(&doc, "x86-isa-level", "/usr/bin/isa-v3");
    assert_eq!(c["details"]["source"], "GNU property note");
    assert!(
        c["message"]
            .as_str()
            .unwrap()
            .contains("CPU ISA level is lower than required")
    );

    // The same files in a linux/amd64/v3 image are fine.
    let image = ImageBuilder::new()
        .manifest(ManifestSpec::new("linux", "amd64", Some("v3")).layer(layer()))
        .write(&tmp.path().join("v3"));
    assert_eq!(rows(&scan(&image, &[]), "x86-isa-level"), vec![]);
}

#[test]
fn x86_isa_level_distribution_built_for_v3_is_said_once() {
    let tmp = tempfile::tempdir().unwrap();
    let v3 = elf("x86_64-glibc-isa-v3");
    let image = ImageBuilder::new()
        .manifest(
            ManifestSpec::new("linux", "amd64", None).layer(
                LayerSpec::default()
                    .file("usr/bin/a", 0o755, v3.clone())
                    .file("usr/bin/b", 0o755, v3.clone())
                    .file("usr/bin/c", 0o755, v3.clone())
                    .file("usr/bin/d", 0o755, v3)
                    .file("usr/bin/e", 0o755, elf("x86_64-glibc-dynamic")),
            ),
        )
        .write(tmp.path());
    let run = scan(&image, &[]);
    assert_eq!(
        rows(&run, "x86-isa-level"),
        vec![row("linux/amd64", "warning", "-")]
    );
    let doc = run.json();
    let f = doc["images"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "x86-isa-level")
        .unwrap();
    assert_eq!(f["details"]["objects"], 4);
    assert_eq!(f["details"]["x86_64_objects"], 5);
}

#[test]
fn aarch32_binary_in_an_arm64_image() {
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(
            ManifestSpec::new("linux", "arm64", None).layer(
                LayerSpec::default()
                    .file("usr/bin/tool32", 0o755, elf("armhf-glibc-dynamic"))
                    .file("usr/bin/tool64", 0o755, elf("aarch64-static"))
                    // A 32-bit object nothing runs (no execute bit, not a library dir).
                    .file("opt/firmware/blob", 0o644, elf("armhf-glibc-dynamic")),
            ),
        )
        .write(tmp.path());
    let run = scan(&image, &[]);
    assert_eq!(
        rows(&run, "aarch32-binary"),
        vec![row("linux/arm64", "warning", "/usr/bin/tool32")]
    );
    let doc = run.json();
    let f = finding(&doc, "aarch32-binary", "/usr/bin/tool32");
    assert_eq!(f["details"]["float_abi"], "hard");
    assert_eq!(f["details"]["cpu_arch"], "v7");
}

#[test]
fn armel_program_in_an_armhf_image_and_the_reverse() {
    let tmp = tempfile::tempdir().unwrap();
    // Hard-float image (Debian armhf's loader) with a soft-float program.
    let image = ImageBuilder::new()
        .manifest(
            ManifestSpec::new("linux", "arm", Some("v7")).layer(
                LayerSpec::default()
                    .file(
                        "lib/ld-linux-armhf.so.3",
                        0o755,
                        cached("roots/debian-libc-armhf/lib/ld-linux-armhf.so.3"),
                    )
                    .file("usr/bin/hello", 0o755, tc("armel-hello")),
            ),
        )
        .write(&tmp.path().join("hf"));
    let run = scan(&image, &[]);
    assert_eq!(
        rows(&run, "arm-float-abi"),
        vec![row("linux/arm/v7", "error", "/usr/bin/hello")],
        "{}",
        run.stdout
    );
    assert_eq!(
        rows(&run, "missing-interpreter"),
        vec![],
        "replaced by arm-float-abi"
    );
    let doc = run.json();
    let f = finding(&doc, "arm-float-abi", "/usr/bin/hello");
    assert_eq!(f["details"]["interpreter"], "/lib/ld-linux.so.3");
    assert_eq!(f["details"]["image_loader"], "/lib/ld-linux-armhf.so.3");
    assert_eq!(f["details"]["e_flags_float"], "soft");

    // Soft-float image (Debian armel's loader) with a hard-float program.
    let image = ImageBuilder::new()
        .manifest(
            ManifestSpec::new("linux", "arm", Some("v5")).layer(
                LayerSpec::default()
                    .file(
                        "lib/ld-linux.so.3",
                        0o755,
                        cached("roots/debian-libc-armel/lib/ld-linux.so.3"),
                    )
                    .file("usr/bin/hello", 0o755, elf("armhf-glibc-dynamic")),
            ),
        )
        .write(&tmp.path().join("el"));
    let run = scan(&image, &[]);
    assert_eq!(
        rows(&run, "arm-float-abi"),
        vec![row("linux/arm/v5", "error", "/usr/bin/hello")],
        "{}",
        run.stdout
    );
    assert_eq!(rows(&run, "missing-interpreter"), vec![]);
}

#[test]
fn page_size_4k_linked_arm64_and_jemalloc() {
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(
            ManifestSpec::new("linux", "arm64", None).layer(
                LayerSpec::default()
                    .file("usr/bin/small", 0o755, tc("aarch64-maxpage4k"))
                    .file("usr/bin/normal", 0o755, elf("aarch64-static"))
                    .file("usr/bin/rs", 0o755, tc("rust-auditable-jemalloc-arm64")),
            ),
        )
        .write(tmp.path());
    let run = scan(&image, &[]);
    assert_eq!(
        rows(&run, "page-size"),
        vec![
            row("linux/arm64", "warning", "/usr/bin/small"),
            row("linux/arm64", "info", "/usr/bin/rs"),
        ],
        "{}",
        run.stdout
    );
    let doc = run.json();
    assert_eq!(
        finding(&doc, "page-size", "/usr/bin/small")["details"]["aligned_for"],
        4096
    );
    assert_eq!(
        finding(&doc, "page-size", "/usr/bin/rs")["details"]["jemalloc"],
        "the crate tikv-jemalloc-sys"
    );
}

#[test]
fn toolchain_bugs_of_old_go_and_rust_on_arm64() {
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(
            ManifestSpec::new("linux", "arm64", None).layer(
                LayerSpec::default()
                    .file("usr/bin/go113", 0o755, tc("go1.13-arm64"))
                    .file("usr/bin/go118", 0o755, tc("go1.18.3-arm64"))
                    .file("usr/bin/rust155", 0o755, tc("rust1.55-commit-arm64"))
                    .file(
                        "usr/bin/rust175",
                        0o755,
                        tc("rust-auditable-jemalloc-arm64"),
                    )
                    // Real: Go 1.19 (Debian golang-go), no known bug.
                    .file("usr/bin/go119", 0o755, cached("bin/ct-arm64-static")),
            ),
        )
        .write(tmp.path());
    let run = scan(&image, &[]);
    assert_eq!(
        rows(&run, "toolchain-bug"),
        vec![
            row("linux/arm64", "warning", "/usr/bin/go113"),
            row("linux/arm64", "warning", "/usr/bin/rust155"),
            row("linux/arm64", "info", "/usr/bin/go118"),
        ],
        "{}",
        run.stdout
    );
    let doc = run.json();
    let go = finding(&doc, "toolchain-bug", "/usr/bin/go113");
    assert_eq!(go["details"]["bug"], "go-vdso-signal-crash");
    assert_eq!(go["details"]["version"], "go1.13");
    assert!(
        go["details"]["sources"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "https://github.com/golang/go/issues/32912")
    );
    let rust = finding(&doc, "toolchain-bug", "/usr/bin/rust155");
    assert_eq!(
        rust["details"]["bug"],
        "rust-aarch64-instant-now-contention"
    );
    assert_eq!(rust["details"]["version"], "1.55.0");
    assert_eq!(
        finding(&doc, "toolchain-bug", "/usr/bin/go118")["details"]["bug"],
        "go-arm64-traceback-hang-1.18"
    );
}

/// Real arm64 Go binaries from the npm registry (esbuild's own packages,
/// fetched and pinned by testdata/build-fixtures.sh): go1.18.1 has the
/// traceback hang under profiling, go1.14.2 is past the signal crash.
#[test]
fn toolchain_bug_on_real_go_binaries_from_the_npm_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(
            ManifestSpec::new("linux", "arm64", None).layer(
                LayerSpec::default()
                    .file(
                        "usr/bin/esbuild-go1.18.1",
                        0o755,
                        cached("bin/esbuild-0.14.39-arm64"),
                    )
                    .file(
                        "usr/bin/esbuild-go1.14.2",
                        0o755,
                        cached("bin/esbuild-0.6.15-arm64"),
                    ),
            ),
        )
        .write(tmp.path());
    let run = scan(&image, &["--inventory"]);
    assert_eq!(
        rows(&run, "toolchain-bug"),
        vec![row("linux/arm64", "info", "/usr/bin/esbuild-go1.18.1")],
        "{}",
        run.stdout
    );
    let doc = run.json();
    let f = finding(&doc, "toolchain-bug", "/usr/bin/esbuild-go1.18.1");
    assert_eq!(f["details"]["bug"], "go-arm64-traceback-hang-1.18");
    assert_eq!(f["details"]["version"], "go1.18.1");
    // `go version` on these files prints go1.18.1 and go1.14.2.
    let inventory = doc.to_string();
    for version in ["go1.18.1", "go1.14.2"] {
        assert!(inventory.contains(version), "{version} not in {doc:#}");
    }
}

#[test]
fn consul_template_cgo_divergence_and_musl_version() {
    let image = format!("oci:{}:latest", fixture("images/consul-template"));
    let run = elfgate(&["scan", &image, "--no-cache", "--inventory"]);
    assert_eq!(
        rows(&run, "cgo-divergence"),
        vec![row("linux/arm64", "warning", "/usr/bin/consul-template")]
    );
    // Debian's musl 1.2.3 (musl_1.2.3-1) is the image's C library.
    assert_eq!(
        rows(&run, "toolchain-bug"),
        vec![row("linux/arm64", "info", "/lib/ld-musl-aarch64.so.1")]
    );
    let doc = run.json();
    let f = finding(&doc, "cgo-divergence", "/usr/bin/consul-template");
    let builds = f["details"]["builds"].as_array().unwrap();
    assert_eq!(builds[0]["platform"], "linux/amd64");
    assert_eq!(builds[0]["cgo_enabled"], false);
    assert_eq!(builds[0]["linkage"], "static");
    assert_eq!(builds[1]["platform"], "linux/arm64");
    assert_eq!(builds[1]["cgo_enabled"], true);
    assert_eq!(builds[1]["interpreter"], "/lib/ld-linux-aarch64.so.1");

    // The inventory: `go version -m` on the two builds says go1.19.8,
    // CGO_ENABLED=0 / 1, GOARCH amd64 / arm64.
    for (i, (arch, cgo, linkage, libc)) in [
        ("amd64", "0", "static", Value::Null),
        ("arm64", "1", "dynamic", Value::from("glibc")),
    ]
    .into_iter()
    .enumerate()
    {
        let p = &doc["images"][0]["platforms"][i];
        assert_eq!(p["platform"], format!("linux/{arch}"));
        let inv = &p["inventory"];
        assert_eq!(inv["musl_version"], "1.2.3");
        assert_eq!(inv["glibc_version"], Value::Null);
        let files = inv["files"].as_array().unwrap();
        let ct = files
            .iter()
            .find(|r| r["path"] == "/usr/bin/consul-template")
            .unwrap();
        assert_eq!(ct["go"]["version"], "go1.19.8");
        assert_eq!(ct["go"]["settings"]["CGO_ENABLED"], cgo);
        assert_eq!(ct["go"]["settings"]["GOARCH"], arch);
        assert_eq!(ct["linkage"], linkage);
        assert_eq!(ct["libc"], libc);
        assert!(ct["layer"].as_str().unwrap().starts_with("sha256:"));
    }
    // Without --inventory the platforms carry no inventory.
    let plain = elfgate(&["scan", &image, "--no-cache"]).json();
    assert!(
        plain["images"][0]["platforms"][0]
            .get("inventory")
            .is_none()
    );
}

#[test]
fn same_build_on_every_platform_is_no_divergence() {
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(
            ManifestSpec::new("linux", "amd64", None).layer(LayerSpec::default().file(
                "usr/bin/app",
                0o755,
                cached("bin/ct-amd64-static"),
            )),
        )
        .manifest(
            ManifestSpec::new("linux", "arm64", None).layer(LayerSpec::default().file(
                "usr/bin/app",
                0o755,
                cached("bin/ct-arm64-static"),
            )),
        )
        .write(tmp.path());
    let run = elfgate(&["scan", &image, "--no-cache"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(run.findings(), vec![]);
}

#[test]
fn inventory_table_summary() {
    let image = format!("oci:{}:latest", fixture("images/consul-template"));
    let run = elfgate(&[
        "scan",
        &image,
        "--no-cache",
        "--inventory",
        "--format",
        "table",
    ]);
    assert!(
        run.stdout.contains("linux/arm64: inventory of 3 ELF files"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("C library: musl 1.2.3"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("go: go1.19.8 1"), "{}", run.stdout);
    assert!(
        run.stdout
            .contains("linkage: dynamic 1, static 1, static-pie 1"),
        "{}",
        run.stdout
    );
}

#[test]
fn bookworm_minbase_is_silent_for_the_toolchain_rules() {
    let image = format!("oci:{}:latest", fixture("images/bookworm-minbase"));
    let run = elfgate(&[
        "scan",
        &image,
        "--no-cache",
        "--inventory",
        "--fail-on",
        "info",
    ]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let doc = run.json();
    for p in doc["images"][0]["platforms"].as_array().unwrap() {
        // Debian bookworm's libc6 is 2.36: libc.so.6 defines GLIBC_2.36 last.
        assert_eq!(p["inventory"]["glibc_version"], "2.36", "{}", p["platform"]);
        assert_eq!(p["inventory"]["musl_version"], Value::Null);
    }
}
