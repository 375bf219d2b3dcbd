//! Every rule of the catalog, fired by an image that would really fail, and
//! kept quiet by a close case that would really work.
//!
//! The images are written with the `ImageBuilder` from the committed binaries
//! in `testdata/elf/` and, where a real loader and C library are needed, from
//! Debian's own files in the fixture cache. Where a case needs an object the
//! toolchain does not emit, a committed binary is patched here, in a way that
//! `readelf` shows (a renamed version string, a retagged dynamic entry); each
//! scenario's expected verdict is what glibc's or musl's loader does with it
//! (`ld.so --list` in a chroot of the same files agrees).

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::harness::{ImageBuilder, LayerSpec, ManifestSpec, Run, elfgate, fixture, testdata};

/// Which test fires each rule. The meta-test below checks that it covers
/// every slug `elfgate rules` lists (but the Dockerfile rules and those in
/// [`PENDING`]) and that each test exists in this file.
const FIRES: &[(&str, &str)] = &[
    (
        "missing-platform",
        "no_arm64_manifest_is_a_missing_platform",
    ),
    (
        "platform-label-mismatch",
        "platform_label_mismatch_config_says_amd64",
    ),
    (
        "platform-label-mismatch",
        "most_binaries_amd64_under_arm64_label",
    ),
    ("arch-mismatch", "one_amd64_program_among_arm64_ones"),
    ("arch-mismatch", "foreign_object_nothing_runs_is_only_info"),
    (
        "missing-interpreter",
        "glibc_program_on_scratch_is_missing_interpreter",
    ),
    ("libc-mismatch", "musl_binary_on_debian_is_libc_mismatch"),
    ("libc-mismatch", "glibc_binary_on_alpine_is_libc_mismatch"),
    ("libc-mismatch", "gcompat_shim_is_a_libc_mismatch_warning"),
    (
        "missing-library",
        "missing_library_reported_once_for_many_programs",
    ),
    (
        "missing-library",
        "origin_is_the_program_directory_not_the_working_directory",
    ),
    (
        "missing-library",
        "ld_so_conf_without_ld_so_cache_does_not_find_library",
    ),
    (
        "missing-symbol-version",
        "same_version_need_not_weak_is_missing_symbol_version",
    ),
    ("missing-entrypoint", "entrypoint_not_executable"),
    ("missing-entrypoint", "entrypoint_is_a_directory"),
    (
        "missing-entrypoint",
        "entrypoint_in_usr_bin_but_config_path_is_opt_bin",
    ),
    ("script-interpreter-missing", "env_python3_missing_on_path"),
    (
        "script-interpreter-missing",
        "env_with_two_words_without_s_is_one_command_name",
    ),
    (
        "script-interpreter-missing",
        "script_interpreter_not_executable",
    ),
    ("unreadable-elf", "unreadable_elf_truncated_file"),
    ("unreadable-elf", "elf_above_max_file_size_is_reported"),
];

/// Image rules added beside this file's work whose firing tests are not
/// written here yet. Each must move into `FIRES`; a rule in neither list
/// fails the meta-test.
const PENDING: &[&str] = &[
    "cgo-divergence",
    "toolchain-bug",
    "aarch32-binary",
    "arm-float-abi",
    "page-size",
    "x86-isa-level",
];

// ---------------------------------------------------------------------------
// Building blocks

fn elf(name: &str) -> Vec<u8> {
    std::fs::read(testdata("elf").join(name)).unwrap()
}

/// Debian bookworm's amd64 loader and C library, as the libc6 package lays
/// them out (the PT_INTERP path is a symlink into the multiarch directory).
fn debian_libc() -> LayerSpec {
    let root = fixture("roots/real-binaries-amd64");
    let root = Path::new(&root);
    LayerSpec::default()
        .dir("lib64")
        .host_file(
            "lib64/ld-linux-x86-64.so.2",
            root.join("lib64/ld-linux-x86-64.so.2"),
        )
        .dir("lib/x86_64-linux-gnu")
        .host_file(
            "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            root.join("lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
        )
        .host_file(
            "lib/x86_64-linux-gnu/libc.so.6",
            root.join("lib/x86_64-linux-gnu/libc.so.6"),
        )
}

/// Debian's musl loader (`ld-musl-x86_64.so.1` is musl's libc.so).
fn musl_loader() -> Vec<u8> {
    std::fs::read(fixture("roots/alpine-like-amd64/lib/ld-musl-x86_64.so.1")).unwrap()
}

/// An Alpine-like base: a static busybox stand-in and musl's loader.
fn alpine_like() -> LayerSpec {
    LayerSpec::default()
        .dir("bin")
        .file("bin/busybox", 0o755, elf("x86_64-musl-static"))
        .symlink("bin/sh", "/bin/busybox")
        .dir("lib")
        .file("lib/ld-musl-x86_64.so.1", 0o755, musl_loader())
        .symlink("lib/libc.musl-x86_64.so.1", "ld-musl-x86_64.so.1")
}

fn amd64() -> ManifestSpec {
    ManifestSpec::new("linux", "amd64", None)
}

fn arm64() -> ManifestSpec {
    ManifestSpec::new("linux", "arm64", Some("v8"))
}

/// Writes a one-platform image and scans it, requiring only that platform.
fn scan_one(m: ManifestSpec, extra: &[&str]) -> Run {
    let tmp = tempfile::tempdir().unwrap();
    let required = match m.platform.1 {
        "amd64" => "linux/amd64",
        "arm64" => "linux/arm64",
        other => panic!("no platform string for {other}"),
    };
    let image = ImageBuilder::new().manifest(m).write(tmp.path());
    let mut args = vec!["scan", &image, "--require-platform", required];
    args.extend_from_slice(extra);
    elfgate(&args)
}

/// The rules this file is about (the scan issue's catalog). Findings of
/// rules added since are left out of the exact comparisons, so that a new
/// rule's `info` on a musl loader does not break a libc test; its errors
/// still show in the exit status, which every test checks.
pub const CORE_RULES: &[&str] = &[
    "missing-platform",
    "platform-label-mismatch",
    "arch-mismatch",
    "missing-interpreter",
    "libc-mismatch",
    "missing-library",
    "missing-symbol-version",
    "missing-entrypoint",
    "script-interpreter-missing",
    "unreadable-elf",
];

/// The findings of [`CORE_RULES`] as (platform, severity, rule, path).
pub fn core_findings(run: &Run) -> Vec<(String, String, String, String)> {
    run.findings()
        .into_iter()
        .filter(|f| CORE_RULES.contains(&f.2.as_str()))
        .collect()
}

/// The findings of [`CORE_RULES`] as (severity, rule, path), sorted.
fn rows(run: &Run) -> Vec<(String, String, String)> {
    let mut v: Vec<_> = core_findings(run)
        .into_iter()
        .map(|(_, sev, rule, path)| (sev, rule, path))
        .collect();
    v.sort();
    v
}

fn row(sev: &str, rule: &str, path: &str) -> (String, String, String) {
    (sev.into(), rule.into(), path.into())
}

/// The findings' JSON objects.
fn findings_json(run: &Run) -> Vec<Value> {
    run.json()["images"][0]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| CORE_RULES.contains(&f["rule"].as_str().unwrap_or("")))
        .cloned()
        .collect()
}

fn assert_clean(run: &Run) {
    assert_eq!(rows(run), [], "{}", run.stdout);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

/// Replaces the only occurrence of `from` in `bytes` with `to` (same length).
fn patch(bytes: &mut [u8], from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    let hits: Vec<usize> = (0..=bytes.len() - from.len())
        .filter(|&i| &bytes[i..i + from.len()] == from)
        .collect();
    assert_eq!(hits.len(), 1, "{:?} occurs {} times", from, hits.len());
    bytes[hits[0]..hits[0] + to.len()].copy_from_slice(to);
}

fn le(bytes: &[u8], at: usize, n: usize) -> u64 {
    bytes[at..at + n]
        .iter()
        .rev()
        .fold(0, |acc, b| (acc << 8) | u64::from(*b))
}

/// Changes the tag of the ELF64 little-endian dynamic entry tagged `from`.
fn retag_dynamic(bytes: &mut [u8], from: u64, to: u64) {
    let (phoff, phentsize, phnum) = (
        le(bytes, 0x20, 8) as usize,
        le(bytes, 0x36, 2) as usize,
        le(bytes, 0x38, 2) as usize,
    );
    for i in 0..phnum {
        let ph = phoff + i * phentsize;
        if le(bytes, ph, 4) != 2 {
            continue; // not PT_DYNAMIC
        }
        let (off, size) = (
            le(bytes, ph + 8, 8) as usize,
            le(bytes, ph + 32, 8) as usize,
        );
        for e in (off..off + size).step_by(16) {
            if le(bytes, e, 8) == from {
                bytes[e..e + 8].copy_from_slice(&to.to_le_bytes());
                return;
            }
        }
    }
    panic!("no dynamic entry tagged {from}");
}

/// The SysV ELF hash that `vna_hash` holds.
fn elf_hash(name: &[u8]) -> u32 {
    let mut h: u32 = 0;
    for &c in name {
        h = (h << 4).wrapping_add(u32::from(c));
        let g = h & 0xf000_0000;
        if g != 0 {
            h ^= g >> 24;
        }
        h &= !g;
    }
    h
}

/// `usefoo-weak-rpath` with its FOO_2.0 need made strong again (vna_flags 0).
fn usefoo_strong() -> Vec<u8> {
    let mut b = elf("usefoo-weak-rpath");
    let hash = elf_hash(b"FOO_2.0").to_le_bytes();
    // vna_hash, vna_flags = VER_FLG_WEAK (2), vna_other = 2 (readelf -V).
    let weak = [&hash[..], &[2, 0, 2, 0]].concat();
    let strong = [&hash[..], &[0, 0, 2, 0]].concat();
    patch(&mut b, &weak, &strong);
    b
}

/// `libfoo.so.1` built without FOO_2.0: the version definition's name is
/// renamed, so it defines FOO_1.0 and FOO_2.9.
fn libfoo_without_foo_2_0() -> Vec<u8> {
    let mut b = elf("libfoo.so.1");
    patch(&mut b, b"FOO_2.0\0", b"FOO_2.9\0");
    b
}

fn is_info_or_less(f: &(String, String, String)) -> bool {
    f.0 == "info"
}

// ---------------------------------------------------------------------------
// missing-platform

#[test]
fn no_arm64_manifest_is_a_missing_platform() {
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(amd64().layer(LayerSpec::default().file(
            "bin/app",
            0o755,
            elf("x86_64-musl-static"),
        )))
        .write(tmp.path());
    let run = elfgate(&["scan", &image]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(
        core_findings(&run),
        [(
            "linux/arm64".to_string(),
            "error".to_string(),
            "missing-platform".to_string(),
            "-".to_string()
        )]
    );
}

#[test]
fn arm64_v8_entry_satisfies_the_arm64_requirement() {
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(amd64().layer(LayerSpec::default().file(
            "bin/app",
            0o755,
            elf("x86_64-musl-static"),
        )))
        .manifest(arm64().layer(LayerSpec::default().file("bin/app", 0o755, elf("aarch64-static"))))
        .write(tmp.path());
    let run = elfgate(&["scan", &image]);
    assert_clean(&run);
}

// ---------------------------------------------------------------------------
// platform-label-mismatch

#[test]
fn platform_label_mismatch_config_says_amd64() {
    let run = scan_one(
        arm64()
            .config_arch("amd64")
            .layer(LayerSpec::default().file("bin/app", 0o755, elf("aarch64-static"))),
        &[],
    );
    assert_eq!(rows(&run), [row("error", "platform-label-mismatch", "-")]);
    assert_eq!(run.code, 1);
    let f = &findings_json(&run)[0];
    assert_eq!(f["platform"], "linux/arm64");
    assert!(f["message"].as_str().unwrap().contains("amd64"), "{f}");
}

#[test]
fn most_binaries_amd64_under_arm64_label() {
    let amd = elf("x86_64-musl-static");
    let run = scan_one(
        arm64().layer(
            LayerSpec::default()
                .file("bin/busybox", 0o755, amd.clone())
                .file("usr/bin/app", 0o755, amd.clone())
                .file("usr/bin/helper", 0o755, amd)
                .file("usr/bin/arm-tool", 0o755, elf("aarch64-static")),
        ),
        &[],
    );
    // One root cause, one finding: not also an arch-mismatch per amd64 file.
    assert_eq!(rows(&run), [row("error", "platform-label-mismatch", "-")]);
    let f = &findings_json(&run)[0];
    assert!(f["message"].as_str().unwrap().contains("3 of 4"), "{f}");
}

// ---------------------------------------------------------------------------
// arch-mismatch

#[test]
fn one_amd64_program_among_arm64_ones() {
    let arm = elf("aarch64-static");
    let run = scan_one(
        arm64().layer(
            LayerSpec::default()
                .file("bin/busybox", 0o755, arm.clone())
                .file("usr/bin/app", 0o755, arm)
                .file("usr/bin/tini", 0o755, elf("x86_64-musl-static")),
        ),
        &[],
    );
    assert_eq!(rows(&run), [row("error", "arch-mismatch", "/usr/bin/tini")]);
    assert_eq!(run.code, 1);
}

#[test]
fn foreign_object_nothing_runs_is_only_info() {
    // An aarch64 shared object, not executable, outside every library
    // directory of an amd64 image: nothing executes or loads it.
    let m = amd64().layer(
        LayerSpec::default()
            .file("bin/app", 0o755, elf("x86_64-musl-static"))
            .file(
                "usr/share/firmware/answer.so",
                0o644,
                elf("aarch64-libanswer-bti.so"),
            ),
    );
    let run = scan_one(m, &[]);
    assert_eq!(
        rows(&run),
        [row(
            "info",
            "arch-mismatch",
            "/usr/share/firmware/answer.so"
        )]
    );
    assert!(rows(&run).iter().all(is_info_or_less));
    assert_eq!(
        run.code, 0,
        "an info does not fail the default --fail-on error"
    );
}

#[test]
fn foreign_object_fails_fail_on_info() {
    let m = amd64().layer(
        LayerSpec::default()
            .file("bin/app", 0o755, elf("x86_64-musl-static"))
            .file(
                "usr/share/firmware/answer.so",
                0o644,
                elf("aarch64-libanswer-bti.so"),
            ),
    );
    let run = scan_one(m, &["--fail-on", "info"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
}

// ---------------------------------------------------------------------------
// missing-interpreter

#[test]
fn glibc_program_on_scratch_is_missing_interpreter() {
    let run = scan_one(
        amd64()
            .layer(LayerSpec::default().file("app", 0o755, elf("x86_64-glibc-dynamic")))
            .entrypoint(&["/app"]),
        &[],
    );
    // The interpreter is the root cause; libc.so.6 is not reported on top.
    assert_eq!(rows(&run), [row("error", "missing-interpreter", "/app")]);
    let f = &findings_json(&run)[0];
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("/lib64/ld-linux-x86-64.so.2"),
        "{f}"
    );
}

#[test]
fn static_pie_needs_no_interpreter() {
    let run = scan_one(
        amd64()
            .layer(LayerSpec::default().file("app", 0o755, elf("x86_64-musl-static-pie")))
            .entrypoint(&["/app"]),
        &[],
    );
    assert_clean(&run);
}

#[test]
fn glibc_program_on_debian_loads() {
    let run = scan_one(
        amd64()
            .layer(debian_libc())
            .layer(LayerSpec::default().file("usr/bin/hello", 0o755, elf("x86_64-glibc-dynamic")))
            .entrypoint(&["hello"]),
        &[],
    );
    assert_clean(&run);
}

// ---------------------------------------------------------------------------
// libc-mismatch

#[test]
fn musl_binary_on_debian_is_libc_mismatch() {
    let run = scan_one(
        amd64()
            .layer(debian_libc())
            .layer(LayerSpec::default().file("usr/bin/hello", 0o755, elf("x86_64-musl-dynamic"))),
        &[],
    );
    // Not missing-interpreter, and not a missing libc.so either: one cause.
    assert_eq!(
        rows(&run),
        [row("error", "libc-mismatch", "/usr/bin/hello")]
    );
    assert_eq!(run.code, 1);
    let f = &findings_json(&run)[0];
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("/lib/ld-musl-x86_64.so.1"),
        "{f}"
    );
}

#[test]
fn musl_binary_with_debians_musl_package_loads() {
    // Debian's musl package: the loader is a symlink to its libc.so.
    let run = scan_one(
        amd64().layer(debian_libc()).layer(
            LayerSpec::default()
                .dir("lib/x86_64-linux-musl")
                .file("lib/x86_64-linux-musl/libc.so", 0o755, musl_loader())
                .symlink("lib/ld-musl-x86_64.so.1", "x86_64-linux-musl/libc.so")
                .file("usr/bin/hello", 0o755, elf("x86_64-musl-dynamic")),
        ),
        &[],
    );
    assert_clean(&run);
}

#[test]
fn glibc_binary_on_alpine_is_libc_mismatch() {
    let run = scan_one(
        amd64()
            .layer(alpine_like())
            .layer(LayerSpec::default().file("usr/bin/hello", 0o755, elf("x86_64-glibc-dynamic"))),
        &[],
    );
    assert_eq!(
        rows(&run),
        [row("error", "libc-mismatch", "/usr/bin/hello")]
    );
}

#[test]
fn gcompat_shim_is_a_libc_mismatch_warning() {
    // gcompat / libc6-compat: the glibc loader's names lead to musl's loader.
    let run = scan_one(
        amd64().layer(alpine_like()).layer(
            LayerSpec::default()
                .symlink("lib/ld-linux-x86-64.so.2", "ld-musl-x86_64.so.1")
                .dir("lib64")
                .symlink("lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-x86-64.so.2")
                .file("usr/bin/hello", 0o755, elf("x86_64-glibc-dynamic")),
        ),
        &[],
    );
    // musl's loader satisfies libc.so.6 itself: it starts, so a warning.
    assert_eq!(
        rows(&run),
        [row("warning", "libc-mismatch", "/usr/bin/hello")]
    );
    assert_eq!(run.code, 0);
}

#[test]
fn musl_binary_on_alpine_loads() {
    let run = scan_one(
        amd64()
            .layer(alpine_like())
            .layer(LayerSpec::default().file("usr/bin/hello", 0o755, elf("x86_64-musl-dynamic"))),
        &[],
    );
    assert_clean(&run);
}

// ---------------------------------------------------------------------------
// missing-library

#[test]
fn missing_library_reported_once_for_many_programs() {
    // libfoo.so.1 is found, but it needs libq.so.6, which is nowhere: one
    // finding on libfoo, naming the programs that load it.
    let mut libfoo = elf("libfoo.so.1");
    patch(&mut libfoo, b"libc.so.6\0", b"libq.so.6\0");
    let usefoo = elf("usefoo-weak-rpath");
    let run = scan_one(
        amd64().layer(debian_libc()).layer(
            LayerSpec::default()
                .file("usr/lib/x86_64-linux-gnu/libfoo.so.1", 0o644, libfoo)
                .file("usr/bin/a", 0o755, usefoo.clone())
                .file("usr/bin/b", 0o755, usefoo.clone())
                .file("usr/local/bin/c", 0o755, usefoo),
        ),
        &[],
    );
    let lib = "/usr/lib/x86_64-linux-gnu/libfoo.so.1";
    assert_eq!(rows(&run), [row("error", "missing-library", lib)]);
    let f = &findings_json(&run)[0];
    assert_eq!(f["details"]["library"], "libq.so.6");
    let programs: BTreeSet<&str> = f["details"]["programs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for p in ["/usr/bin/a", "/usr/bin/b", "/usr/local/bin/c"] {
        assert!(programs.contains(p), "{p} not in {programs:?}");
    }
}

#[test]
fn missing_library_reported_once_on_a_merged_usr() {
    // Debian since bookworm: /lib is a symlink to usr/lib. The loader finds
    // libfoo as /lib/x86_64-linux-gnu/libfoo.so.1 (the first default
    // directory); the view lists it under /usr/lib. One file, one finding.
    let root = fixture("roots/real-binaries-amd64");
    let root = Path::new(&root);
    let mut libfoo = elf("libfoo.so.1");
    patch(&mut libfoo, b"libc.so.6\0", b"libq.so.6\0");
    let run = scan_one(
        amd64().layer(
            LayerSpec::default()
                .dir("usr/lib/x86_64-linux-gnu")
                .symlink("lib", "usr/lib")
                .dir("usr/lib64")
                .symlink("lib64", "usr/lib64")
                .symlink(
                    "usr/lib64/ld-linux-x86-64.so.2",
                    "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                )
                .host_file(
                    "usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                    root.join("lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
                )
                .host_file(
                    "usr/lib/x86_64-linux-gnu/libc.so.6",
                    root.join("lib/x86_64-linux-gnu/libc.so.6"),
                )
                .file("usr/lib/x86_64-linux-gnu/libfoo.so.1", 0o644, libfoo)
                .file("usr/bin/a", 0o755, elf("usefoo-weak-rpath"))
                .file("usr/bin/b", 0o755, elf("usefoo-weak-rpath")),
        ),
        &[],
    );
    let found = rows(&run);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].1, "missing-library");
    assert!(
        found[0].2.ends_with("/x86_64-linux-gnu/libfoo.so.1"),
        "{found:?}"
    );
}

#[test]
fn library_found_through_runpath_origin() {
    // usefoo with its DT_RPATH retagged DT_RUNPATH: `$ORIGIN/lib:/opt/foo/lib`.
    let mut usefoo = elf("usefoo-weak-rpath");
    retag_dynamic(&mut usefoo, 15, 29);
    let run = scan_one(
        amd64()
            .layer(debian_libc())
            .layer(
                LayerSpec::default()
                    .file("opt/app/bin/usefoo", 0o755, usefoo)
                    .file("opt/app/bin/lib/libfoo.so.1", 0o644, elf("libfoo.so.1")),
            )
            .entrypoint(&["/opt/app/bin/usefoo"]),
        &[],
    );
    assert_clean(&run);
}

#[test]
fn origin_is_the_program_directory_not_the_working_directory() {
    let mut usefoo = elf("usefoo-weak-rpath");
    retag_dynamic(&mut usefoo, 15, 29);
    let run = scan_one(
        amd64()
            .layer(debian_libc())
            .layer(
                LayerSpec::default()
                    .file("opt/app/bin/usefoo", 0o755, usefoo)
                    .file("opt/app/lib/libfoo.so.1", 0o644, elf("libfoo.so.1")),
            )
            .working_dir("/opt/app")
            .entrypoint(&["bin/usefoo"]),
        &[],
    );
    assert_eq!(
        rows(&run),
        [row("error", "missing-library", "/opt/app/bin/usefoo")]
    );
    let f = &findings_json(&run)[0];
    assert_eq!(f["details"]["library"], "libfoo.so.1");
    let searched = f["details"]["searched"].to_string();
    assert!(searched.contains("/opt/app/bin/lib"), "{searched}");
}

/// An `/etc/ld.so.cache` made by the real `ldconfig` for a root whose
/// `/etc/ld.so.conf` lists `/srv/foo`, holding libfoo.so.1.
pub fn ld_so_cache_for_srv_foo() -> Vec<u8> {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("srv/foo")).unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    std::fs::write(root.path().join("srv/foo/libfoo.so.1"), elf("libfoo.so.1")).unwrap();
    std::fs::write(root.path().join("etc/ld.so.conf"), "/srv/foo\n").unwrap();
    let ldconfig = ["/sbin/ldconfig", "/usr/sbin/ldconfig"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("ldconfig (libc-bin)");
    let out = std::process::Command::new(ldconfig)
        .arg("-r")
        .arg(root.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(root.path().join("etc/ld.so.cache")).unwrap()
}

#[test]
fn ld_so_cache_finds_library_outside_default_dirs() {
    let run = scan_one(
        amd64()
            .layer(debian_libc())
            .layer(
                LayerSpec::default()
                    .file("etc/ld.so.conf", 0o644, b"/srv/foo\n".to_vec())
                    .file("etc/ld.so.cache", 0o644, ld_so_cache_for_srv_foo())
                    .file("srv/foo/libfoo.so.1", 0o644, elf("libfoo.so.1"))
                    .file("usr/bin/usefoo", 0o755, elf("usefoo-weak-rpath")),
            )
            .entrypoint(&["usefoo"]),
        &[],
    );
    assert_clean(&run);
}

#[test]
fn ld_so_conf_without_ld_so_cache_does_not_find_library() {
    // ld.so reads only the cache; the conf matters once ldconfig has run.
    let run = scan_one(
        amd64().layer(debian_libc()).layer(
            LayerSpec::default()
                .file("etc/ld.so.conf", 0o644, b"/srv/foo\n".to_vec())
                .file("srv/foo/libfoo.so.1", 0o644, elf("libfoo.so.1"))
                .file("usr/bin/usefoo", 0o755, elf("usefoo-weak-rpath")),
        ),
        &[],
    );
    assert_eq!(
        rows(&run),
        [row("error", "missing-library", "/usr/bin/usefoo")]
    );
    let f = &findings_json(&run)[0];
    assert_eq!(f["details"]["library"], "libfoo.so.1");
}

// ---------------------------------------------------------------------------
// missing-symbol-version

fn usefoo_image(usefoo: Vec<u8>, libfoo: Vec<u8>) -> ManifestSpec {
    amd64().layer(debian_libc()).layer(
        LayerSpec::default()
            .file("usr/bin/usefoo", 0o755, usefoo)
            .file("usr/lib/x86_64-linux-gnu/libfoo.so.1", 0o644, libfoo),
    )
}

#[test]
fn weak_version_need_passes() {
    let run = scan_one(
        usefoo_image(elf("usefoo-weak-rpath"), libfoo_without_foo_2_0()),
        &[],
    );
    assert_clean(&run);
}

#[test]
fn same_version_need_not_weak_is_missing_symbol_version() {
    let run = scan_one(usefoo_image(usefoo_strong(), libfoo_without_foo_2_0()), &[]);
    assert_eq!(
        rows(&run),
        [row("error", "missing-symbol-version", "/usr/bin/usefoo")]
    );
    let f = &findings_json(&run)[0];
    assert!(f["message"].as_str().unwrap().contains("FOO_2.0"), "{f}");
}

#[test]
fn strong_version_need_met_by_the_full_library_passes() {
    let run = scan_one(usefoo_image(usefoo_strong(), elf("libfoo.so.1")), &[]);
    assert_clean(&run);
}

// ---------------------------------------------------------------------------
// missing-entrypoint

#[test]
fn entrypoint_not_executable() {
    let run = scan_one(
        amd64()
            .layer(LayerSpec::default().file("app/run", 0o644, elf("x86_64-musl-static")))
            .entrypoint(&["/app/run"]),
        &[],
    );
    assert_eq!(rows(&run), [row("error", "missing-entrypoint", "/app/run")]);
}

#[test]
fn entrypoint_is_a_directory() {
    let run = scan_one(
        amd64()
            .layer(LayerSpec::default().dir("app").file(
                "app/run",
                0o755,
                elf("x86_64-musl-static"),
            ))
            .entrypoint(&["/app"]),
        &[],
    );
    assert_eq!(rows(&run), [row("error", "missing-entrypoint", "/app")]);
}

#[test]
fn entrypoint_found_through_config_path() {
    let run = scan_one(
        amd64()
            .env(&["PATH=/opt/bin"])
            .layer(LayerSpec::default().file("opt/bin/app", 0o755, elf("x86_64-musl-static")))
            .entrypoint(&["app"]),
        &[],
    );
    assert_clean(&run);
}

#[test]
fn entrypoint_in_usr_bin_but_config_path_is_opt_bin() {
    let run = scan_one(
        amd64()
            .env(&["PATH=/opt/bin"])
            .layer(LayerSpec::default().file("usr/bin/app", 0o755, elf("x86_64-musl-static")))
            .entrypoint(&["app"]),
        &[],
    );
    assert_eq!(rows(&run), [row("error", "missing-entrypoint", "app")]);
    let f = &findings_json(&run)[0];
    assert_eq!(
        f["details"]["searched"],
        serde_json::json!(["/opt/bin/app"])
    );
}

#[test]
fn relative_cmd_found_from_working_dir() {
    let run = scan_one(
        amd64()
            .layer(LayerSpec::default().file("srv/run", 0o755, elf("x86_64-musl-static")))
            .working_dir("/srv")
            .cmd(&["./run", "--serve"]),
        &[],
    );
    assert_clean(&run);
}

// ---------------------------------------------------------------------------
// script-interpreter-missing

fn with_env_and_script(path_var: &'static str) -> ManifestSpec {
    amd64().env(&[path_var]).layer(
        LayerSpec::default()
            .file("bin/busybox", 0o755, elf("x86_64-musl-static"))
            .symlink("usr/bin/env", "/bin/busybox")
            .file("opt/py/bin/python3", 0o755, elf("x86_64-musl-static"))
            .file(
                "usr/local/bin/tool",
                0o755,
                b"#!/usr/bin/env python3\nprint(1)\n".to_vec(),
            ),
    )
}

#[test]
fn env_python3_missing_on_path() {
    // python3 is in the image, but not on the config's PATH.
    let run = scan_one(
        with_env_and_script("PATH=/usr/local/bin:/usr/bin:/bin"),
        &[],
    );
    assert_eq!(
        rows(&run),
        [row(
            "error",
            "script-interpreter-missing",
            "/usr/local/bin/tool"
        )]
    );
}

#[test]
fn env_python3_found_on_config_path() {
    let run = scan_one(
        with_env_and_script("PATH=/usr/local/bin:/opt/py/bin:/usr/bin:/bin"),
        &[],
    );
    assert_clean(&run);
}

#[test]
fn script_that_nothing_runs_is_not_checked() {
    let run = scan_one(
        amd64().layer(
            LayerSpec::default()
                .file("bin/busybox", 0o755, elf("x86_64-musl-static"))
                .file(
                    "usr/share/doc/x/example.sh",
                    0o644,
                    b"#!/bin/bash\necho hi\n".to_vec(),
                ),
        ),
        &[],
    );
    assert_clean(&run);
}

fn script_image(shebang: &'static [u8], python_mode: u32) -> ManifestSpec {
    amd64().layer(
        LayerSpec::default()
            .file("bin/busybox", 0o755, elf("x86_64-musl-static"))
            .symlink("usr/bin/env", "/bin/busybox")
            .file("usr/bin/python3", python_mode, elf("x86_64-musl-static"))
            .file(
                "usr/local/bin/tool",
                0o755,
                [shebang, b"\nprint(1)\n"].concat(),
            ),
    )
}

#[test]
fn env_with_two_words_without_s_is_one_command_name() {
    // env is handed `python3 -u` as one argument: `env: 'python3 -u': No
    // such file or directory`.
    let run = scan_one(script_image(b"#!/usr/bin/env python3 -u", 0o755), &[]);
    assert_eq!(
        rows(&run),
        [row(
            "error",
            "script-interpreter-missing",
            "/usr/local/bin/tool"
        )]
    );
}

#[test]
fn env_dash_s_splits_the_words() {
    let run = scan_one(script_image(b"#!/usr/bin/env -S python3 -u", 0o755), &[]);
    assert_clean(&run);
}

#[test]
fn script_interpreter_not_executable() {
    // execve fails with EACCES: `bad interpreter: Permission denied`.
    let run = scan_one(script_image(b"#!/usr/bin/python3", 0o644), &[]);
    assert_eq!(
        rows(&run),
        [row(
            "error",
            "script-interpreter-missing",
            "/usr/local/bin/tool"
        )]
    );
    let f = &findings_json(&run)[0];
    assert!(
        f["message"].as_str().unwrap().contains("not executable"),
        "{f}"
    );
}

#[test]
fn script_interpreter_executable_runs() {
    let run = scan_one(script_image(b"#!/usr/bin/python3", 0o755), &[]);
    assert_clean(&run);
}

// ---------------------------------------------------------------------------
// unreadable-elf

#[test]
fn unreadable_elf_truncated_file() {
    let mut truncated = elf("x86_64-glibc-dynamic");
    truncated.truncate(200); // the header stays, the program headers are cut
    let run = scan_one(
        amd64().layer(
            LayerSpec::default()
                .file("bin/app", 0o755, elf("x86_64-musl-static"))
                .file("usr/bin/broken", 0o755, truncated),
        ),
        &[],
    );
    assert_eq!(
        rows(&run),
        [row("warning", "unreadable-elf", "/usr/bin/broken")]
    );
    assert_eq!(run.code, 0, "a warning does not fail --fail-on error");
}

#[test]
fn elf_above_max_file_size_is_reported() {
    let big = elf("x86_64-musl-static");
    let size = big.len();
    let cap = (size - 1).to_string();
    let run = scan_one(
        amd64().layer(LayerSpec::default().file("bin/app", 0o755, big)),
        &["--max-file-size", &cap],
    );
    assert_eq!(rows(&run), [row("warning", "unreadable-elf", "/bin/app")]);
    let f = &findings_json(&run)[0];
    assert_eq!(f["details"]["size"], size);
    assert!(
        f["message"].as_str().unwrap().contains(&size.to_string()),
        "{f}"
    );
}

#[test]
fn elf_at_exactly_max_file_size_is_read() {
    let big = elf("x86_64-musl-static");
    let cap = big.len().to_string();
    let run = scan_one(
        amd64().layer(LayerSpec::default().file("bin/app", 0o755, big)),
        &["--max-file-size", &cap],
    );
    assert_clean(&run);
}

// ---------------------------------------------------------------------------
// Layers

/// The digest the ImageBuilder gives the blob of `layer`.
fn digest_of(layer: &LayerSpec) -> String {
    use sha2::Digest;
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(layer.blob().0))
    )
}

#[test]
fn findings_name_the_layer_that_brought_the_file() {
    let base = LayerSpec::default().file("bin/busybox", 0o755, elf("x86_64-musl-static"));
    let mut truncated = elf("x86_64-glibc-dynamic");
    truncated.truncate(200);
    let top = LayerSpec::default()
        .file("app/run", 0o644, elf("x86_64-musl-static"))
        .file("usr/bin/broken", 0o755, truncated);
    let top_digest = digest_of(&top);
    let run = scan_one(
        amd64().layer(base).layer(top).entrypoint(&["/app/run"]),
        &[],
    );
    let found = findings_json(&run);
    assert_eq!(found.len(), 2, "{}", run.stdout);
    for f in found {
        assert_eq!(f["layer"], top_digest.as_str(), "{f}");
    }
}

#[test]
fn loader_deleted_by_a_later_whiteout_is_missing_interpreter() {
    let run = scan_one(
        amd64()
            .layer(debian_libc())
            .layer(LayerSpec::default().file("usr/bin/hello", 0o755, elf("x86_64-glibc-dynamic")))
            .layer(LayerSpec::default().file(
                "lib/x86_64-linux-gnu/.wh.ld-linux-x86-64.so.2",
                0o644,
                Vec::new(),
            )),
        &[],
    );
    // Both would fail to execute: hello, and libc.so.6 itself (it is
    // executable, and runs through the same interpreter). Nothing is
    // reported as a missing library on top.
    assert_eq!(
        rows(&run),
        [
            row(
                "error",
                "missing-interpreter",
                "/lib/x86_64-linux-gnu/libc.so.6"
            ),
            row("error", "missing-interpreter", "/usr/bin/hello"),
        ]
    );
}

// ---------------------------------------------------------------------------
// The catalog is covered

#[test]
fn every_rule_has_a_test_that_fires_it() {
    let run = elfgate(&["rules"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let listed: BTreeSet<&str> = run
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(listed.len() >= 10, "{}", run.stdout);
    // `dockerfile-*` rules check a Dockerfile, not an image: the Dockerfile
    // linter's tests fire them.
    let slugs: BTreeSet<&str> = listed
        .iter()
        .copied()
        .filter(|slug| !slug.starts_with("dockerfile-"))
        .filter(|slug| !PENDING.contains(slug))
        .collect();
    let covered: BTreeSet<&str> = FIRES.iter().map(|(slug, _)| *slug).collect();
    assert_eq!(covered, CORE_RULES.iter().copied().collect());
    let uncovered: Vec<_> = slugs.difference(&covered).collect();
    assert!(uncovered.is_empty(), "no test here fires {uncovered:?}");
    let stale: Vec<_> = covered.difference(&listed).collect();
    assert!(stale.is_empty(), "not rules any more: {stale:?}");
    for slug in PENDING {
        assert!(
            listed.contains(slug) && !covered.contains(slug),
            "{slug}: drop it from PENDING"
        );
    }
    let source = include_str!("rules_fire.rs");
    for (slug, test) in FIRES {
        assert!(
            source.contains(&format!("#[test]\nfn {test}()")),
            "{slug}: no test named {test}"
        );
    }
}

// ---------------------------------------------------------------------------
// What a user sees

#[test]
fn table_output_of_a_small_image() {
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(
            amd64()
                .layer(
                    LayerSpec::default()
                        .file("bin/busybox", 0o755, elf("x86_64-musl-static"))
                        .symlink("bin/sh", "/bin/busybox")
                        .file("entrypoint.sh", 0o755, b"#!/bin/bash\nexec app\n".to_vec()),
                )
                .entrypoint(&["/entrypoint.sh"]),
        )
        .write(tmp.path());
    let run = elfgate(&["scan", &image, "--format", "table"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let text = normalise(&run.stdout, tmp.path());
    let expected = "\
oci:TMP:latest (sha256:DIGEST)
  linux/amd64: 2 files, 1 ELF, libc none
┌─────────────┬──────────┬────────────────────────────┬────────────────┬─────────────────────────────────────────────────────────────────────────────────┐
│ platform    ┆ severity ┆ rule                       ┆ path           ┆ message                                                                         │
╞═════════════╪══════════╪════════════════════════════╪════════════════╪═════════════════════════════════════════════════════════════════════════════════╡
│ linux/amd64 ┆ error    ┆ script-interpreter-missing ┆ /entrypoint.sh ┆ /entrypoint.sh starts with `#!/bin/bash`, but /bin/bash is not in the image     │
│             ┆          ┆                            ┆                ┆ (/bin/bash: no such file or directory)                                          │
│ linux/arm64 ┆ error    ┆ missing-platform           ┆ -              ┆ no manifest for linux/arm64 (the image has linux/amd64): pulling fails with `no │
│             ┆          ┆                            ┆                ┆ matching manifest for linux/arm64/v8 in the manifest list entries`              │
└─────────────┴──────────┴────────────────────────────┴────────────────┴─────────────────────────────────────────────────────────────────────────────────┘

2 errors, 0 warnings, 0 info
";
    assert_eq!(text, expected, "\n{text}");
}

/// The temp directory and digests replaced by fixed words.
fn normalise(text: &str, tmp: &Path) -> String {
    let text = text.replace(&tmp.display().to_string(), "TMP");
    let mut out = String::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find("sha256:") {
        out.push_str(&rest[..i + 7]);
        rest = &rest[i + 7..];
        let hex = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
        if hex == 64 {
            out.push_str("DIGEST");
            rest = &rest[64..];
        }
    }
    out.push_str(rest);
    out
}
