//! Hostile and broken input: every case ends either in a clear error (exit 2,
//! naming image, platform, layer and path as they apply, nothing on stdout)
//! or in a report that still holds everything that could be read. Nothing
//! unread is ever reported clean, and nothing panics or hangs.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

use crate::harness::{Codec, ImageBuilder, LayerSpec, ManifestSpec, Run, elfgate, testdata};
use crate::rules_fire::core_findings;

fn elf(name: &str) -> Vec<u8> {
    std::fs::read(testdata("elf").join(name)).unwrap()
}

/// An amd64 image with a static program and a `#!/bin/sh` script on it.
fn small_layer() -> LayerSpec {
    LayerSpec::default()
        .dir("bin")
        .file("bin/busybox", 0o755, elf("x86_64-musl-static"))
        .symlink("bin/sh", "/bin/busybox")
        .file(
            "usr/local/bin/run.sh",
            0o755,
            b"#!/bin/sh\nexec busybox\n".to_vec(),
        )
}

fn amd64(layer: LayerSpec) -> ManifestSpec {
    ManifestSpec::new("linux", "amd64", None).layer(layer)
}

fn two_platforms(dir: &Path) -> String {
    ImageBuilder::new()
        .manifest(amd64(small_layer()))
        .manifest(
            ManifestSpec::new("linux", "arm64", Some("v8")).layer(LayerSpec::default().file(
                "bin/busybox",
                0o755,
                elf("aarch64-static"),
            )),
        )
        .write(dir)
}

/// Exit 2, nothing on stdout, and every `needle` in stderr.
#[track_caller]
fn assert_input_error(run: &Run, needles: &[&str]) {
    assert_eq!(
        run.code, 2,
        "want exit 2\nstdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    assert!(
        run.stdout.is_empty(),
        "an input error prints no report:\n{}",
        run.stdout
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    for n in needles {
        assert!(
            run.stderr.contains(n),
            "stderr lacks {n:?}:\n{}",
            run.stderr
        );
    }
}

fn blob_path(dir: &Path, digest: &str) -> PathBuf {
    dir.join("blobs/sha256")
        .join(digest.strip_prefix("sha256:").unwrap())
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The layer digests of the first manifest of the layout in `dir`
/// (index.json → nested index → manifest), as the ImageBuilder writes it.
fn layer_digests(dir: &Path) -> Vec<String> {
    let top = read_json(&dir.join("index.json"));
    let mut desc = top["manifests"][0].clone();
    loop {
        let doc = read_json(&blob_path(dir, desc["digest"].as_str().unwrap()));
        if let Some(layers) = doc["layers"].as_array() {
            return layers
                .iter()
                .map(|l| l["digest"].as_str().unwrap().to_string())
                .collect();
        }
        desc = doc["manifests"][0].clone();
    }
}

/// Runs elfgate, failing the test instead of hanging when it does not finish.
fn elfgate_within(secs: u64, args: &[&str]) -> Run {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let _ = tx.send(elfgate(&args));
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("elfgate did not finish within {secs}s"))
}

// ---------------------------------------------------------------------------
// The layout's own files

#[test]
fn missing_index_json() {
    let tmp = tempfile::tempdir().unwrap();
    let image = two_platforms(tmp.path());
    std::fs::remove_file(tmp.path().join("index.json")).unwrap();
    let run = elfgate(&["scan", &image]);
    assert_input_error(&run, &["index.json", &tmp.path().display().to_string()]);
}

#[test]
fn corrupt_index_json() {
    let tmp = tempfile::tempdir().unwrap();
    let image = two_platforms(tmp.path());
    std::fs::write(
        tmp.path().join("index.json"),
        b"{\"schemaVersion\": 2, \"manif",
    )
    .unwrap();
    let run = elfgate(&["scan", &image]);
    assert_input_error(&run, &["index.json", &tmp.path().display().to_string()]);
}

// ---------------------------------------------------------------------------
// Blobs

#[test]
fn missing_layer_blob() {
    let tmp = tempfile::tempdir().unwrap();
    let image = two_platforms(tmp.path());
    let layer = layer_digests(tmp.path()).remove(0);
    std::fs::remove_file(blob_path(tmp.path(), &layer)).unwrap();
    let run = elfgate(&["scan", &image]);
    assert_input_error(&run, &[&image, "linux/amd64", &layer]);
}

#[test]
fn layer_blob_with_one_flipped_byte_is_a_digest_mismatch() {
    // A plain tar layer: the flipped byte is inside a file's content, so the
    // tar stream still parses and only the digest check can catch it.
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(amd64(small_layer().codec(Codec::Plain)))
        .write(tmp.path());
    let layer = layer_digests(tmp.path()).remove(0);
    let path = blob_path(tmp.path(), &layer);
    let mut bytes = std::fs::read(&path).unwrap();
    // The busybox stand-in's content starts after the `bin/` header and its own.
    let at = 3 * 512 + 100;
    bytes[at] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let run = elfgate(&["scan", &image, "--require-platform", "linux/amd64"]);
    assert_input_error(&run, &[&image, "linux/amd64", &layer]);
    assert!(
        run.stderr.to_lowercase().contains("digest")
            || run.stderr.to_lowercase().contains("sha256 mismatch"),
        "{}",
        run.stderr
    );
}

#[test]
fn gzip_layer_with_one_flipped_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(amd64(small_layer()))
        .write(tmp.path());
    let layer = layer_digests(tmp.path()).remove(0);
    let path = blob_path(tmp.path(), &layer);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    std::fs::write(&path, bytes).unwrap();
    let run = elfgate(&["scan", &image, "--require-platform", "linux/amd64"]);
    assert_input_error(&run, &[&image, "linux/amd64", &layer]);
    // Whatever the inflater says first, the blob is named as not matching.
    assert!(
        run.stderr.to_lowercase().contains("digest"),
        "{}",
        run.stderr
    );
}

#[test]
fn truncated_gzip_layer() {
    let full = small_layer().blob().0.len();
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(amd64(small_layer().truncate(full / 2)))
        .write(tmp.path());
    let layer = layer_digests(tmp.path()).remove(0);
    let run = elfgate(&["scan", &image, "--require-platform", "linux/amd64"]);
    assert_input_error(&run, &[&image, "linux/amd64", &layer]);
}

#[test]
fn truncated_zstd_layer() {
    let full = small_layer().codec(Codec::Zstd).blob().0.len();
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(amd64(small_layer().codec(Codec::Zstd).truncate(full / 2)))
        .write(tmp.path());
    let layer = layer_digests(tmp.path()).remove(0);
    let run = elfgate(&["scan", &image, "--require-platform", "linux/amd64"]);
    assert_input_error(&run, &[&image, "linux/amd64", &layer]);
}

#[test]
fn zstd_layer_complete_is_read() {
    // The close case of the one above: the same layer whole.
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(amd64(small_layer().codec(Codec::Zstd)))
        .write(tmp.path());
    let run = elfgate(&["scan", &image, "--require-platform", "linux/amd64"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.json()["images"][0]["platforms"][0]["elf_files"], 1);
}

// ---------------------------------------------------------------------------
// Tar entries

#[test]
fn tar_entries_with_absolute_and_parent_paths_stay_inside_the_root() {
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(
            amd64(
                small_layer()
                    .raw_name_file(b"/usr/bin/abs", 0o755, elf("x86_64-musl-static"))
                    .raw_name_file(b"../../etc/x", 0o755, b"#!/bin/bash\n".to_vec()),
            )
            .entrypoint(&["/usr/bin/abs"]),
        )
        .write(tmp.path());
    let run = elfgate(&["scan", &image, "--require-platform", "linux/amd64"]);
    // The scan succeeds; `../../etc/x` is /etc/x of the image, whose
    // interpreter is missing, and the entrypoint /usr/bin/abs exists.
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        core_findings(&run),
        [(
            "linux/amd64".to_string(),
            "error".to_string(),
            "script-interpreter-missing".to_string(),
            "/etc/x".to_string()
        )]
    );
    let doc = run.json();
    assert_eq!(doc["images"][0]["platforms"][0]["elf_files"], 2);
    for f in doc["images"][0]["findings"].as_array().unwrap() {
        let p = f["path"].as_str().unwrap();
        assert!(p.starts_with('/') && !p.contains(".."), "{p}");
    }
}

#[test]
fn symlink_loop_as_entrypoint() {
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(
            amd64(
                small_layer()
                    .dir("app")
                    .symlink("app/a", "b")
                    .symlink("app/b", "/app/a"),
            )
            .entrypoint(&["/app/a"]),
        )
        .write(tmp.path());
    let run = elfgate_within(60, &["scan", &image, "--require-platform", "linux/amd64"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        core_findings(&run),
        [(
            "linux/amd64".to_string(),
            "error".to_string(),
            "missing-entrypoint".to_string(),
            "/app/a".to_string()
        )]
    );
    let msg = run.json()["images"][0]["findings"][0]["message"].to_string();
    assert!(
        msg.to_lowercase().contains("loop") || msg.contains("symbolic links"),
        "{msg}"
    );
}

// ---------------------------------------------------------------------------
// ELF files with absurd headers

/// A copy of a real program whose header claims 65535 program and section
/// headers at offsets far past the end of the file.
fn absurd_elf() -> Vec<u8> {
    let mut b = elf("x86_64-glibc-dynamic");
    b[0x20..0x28].copy_from_slice(&0xffff_ffff_ff00_0000u64.to_le_bytes()); // e_phoff
    b[0x28..0x30].copy_from_slice(&0x7fff_ffff_ffff_fff0u64.to_le_bytes()); // e_shoff
    b[0x38..0x3a].copy_from_slice(&0xffffu16.to_le_bytes()); // e_phnum
    b[0x3c..0x3e].copy_from_slice(&0xffffu16.to_le_bytes()); // e_shnum
    b[0x3e..0x40].copy_from_slice(&0xfffeu16.to_le_bytes()); // e_shstrndx
    b
}

#[test]
fn elf_with_absurd_counts_and_offsets_is_unreadable_and_the_scan_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(amd64(
            small_layer()
                .file("usr/bin/absurd", 0o755, absurd_elf())
                .file("usr/bin/magic-only", 0o755, b"\x7fELF".to_vec())
                .file("usr/bin/z-later", 0o755, elf("x86_64-musl-static")),
        ))
        .write(tmp.path());
    let run = elfgate(&[
        "scan",
        &image,
        "--require-platform",
        "linux/amd64",
        "--fail-on",
        "error",
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let mut f = core_findings(&run);
    f.sort();
    let w = |p: &str| {
        (
            "linux/amd64".to_string(),
            "warning".to_string(),
            "unreadable-elf".to_string(),
            p.to_string(),
        )
    };
    assert_eq!(f, [w("/usr/bin/absurd"), w("/usr/bin/magic-only")]);
    // Both good programs after them were read too.
    assert_eq!(run.json()["images"][0]["platforms"][0]["elf_files"], 4);
    let run = elfgate(&[
        "scan",
        &image,
        "--require-platform",
        "linux/amd64",
        "--fail-on",
        "warning",
    ]);
    assert_eq!(run.code, 1);
}

// ---------------------------------------------------------------------------
// Platforms

#[test]
fn platform_the_image_does_not_have() {
    let tmp = tempfile::tempdir().unwrap();
    let image = two_platforms(tmp.path());
    let run = elfgate(&["scan", &image, "--platform", "linux/s390x"]);
    assert_input_error(&run, &[&image, "linux/s390x", "linux/amd64", "linux/arm64"]);
}

#[test]
fn dir_root_without_platform() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("bin")).unwrap();
    std::fs::write(tmp.path().join("bin/app"), elf("x86_64-musl-static")).unwrap();
    let image = format!("dir:{}", tmp.path().display());
    let run = elfgate(&["scan", &image]);
    assert_input_error(&run, &[&tmp.path().display().to_string(), "--platform"]);
    // The close case: with --platform it scans.
    let run = elfgate(&["scan", &image, "--platform", "linux/amd64"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
}

#[test]
fn interpreter_symlink_loop_is_a_missing_interpreter() {
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(amd64(
            small_layer()
                .dir("lib64")
                .symlink("lib64/ld-linux-x86-64.so.2", "/lib64/ld-linux-x86-64.so.2")
                .file("usr/bin/hello", 0o755, elf("x86_64-glibc-dynamic")),
        ))
        .write(tmp.path());
    let run = elfgate_within(60, &["scan", &image, "--require-platform", "linux/amd64"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        core_findings(&run),
        [(
            "linux/amd64".to_string(),
            "error".to_string(),
            "missing-interpreter".to_string(),
            "/usr/bin/hello".to_string()
        )]
    );
}

#[test]
fn symlinked_directory_pointing_above_the_root_stays_inside() {
    // `etc -> ../../../../etc`: `..` is clamped at the image root, so the
    // script lands in the image's /etc, never the host's.
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(amd64(small_layer().symlink("etc", "../../../../etc").file(
            "etc/rc.local",
            0o755,
            b"#!/bin/bash\n".to_vec(),
        )))
        .write(tmp.path());
    let run = elfgate(&["scan", &image, "--require-platform", "linux/amd64"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(
        core_findings(&run),
        [(
            "linux/amd64".to_string(),
            "error".to_string(),
            "script-interpreter-missing".to_string(),
            "/etc/rc.local".to_string()
        )]
    );
}

#[test]
fn missing_config_blob() {
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new()
        .manifest(amd64(small_layer()))
        .write(tmp.path());
    let top = read_json(&tmp.path().join("index.json"));
    let index = read_json(&blob_path(
        tmp.path(),
        top["manifests"][0]["digest"].as_str().unwrap(),
    ));
    let manifest = read_json(&blob_path(
        tmp.path(),
        index["manifests"][0]["digest"].as_str().unwrap(),
    ));
    let config = manifest["config"]["digest"].as_str().unwrap().to_string();
    std::fs::remove_file(blob_path(tmp.path(), &config)).unwrap();
    let run = elfgate(&["scan", &image]);
    assert_input_error(&run, &[&image, &config]);
}

/// A docker-archive tar holding `files` (name, bytes).
fn docker_archive(dir: &Path, files: &[(&str, &[u8])]) -> String {
    let mut b = tar::Builder::new(Vec::new());
    for (name, bytes) in files {
        let mut h = tar::Header::new_gnu();
        h.set_mode(0o644);
        h.set_size(bytes.len() as u64);
        b.append_data(&mut h, name, *bytes).unwrap();
    }
    let path = dir.join("image.tar");
    std::fs::write(&path, b.into_inner().unwrap()).unwrap();
    format!("docker-archive:{}", path.display())
}

#[test]
fn docker_archive_without_manifest_json() {
    let tmp = tempfile::tempdir().unwrap();
    let image = docker_archive(tmp.path(), &[("repositories", b"{}")]);
    let run = elfgate(&["scan", &image]);
    assert_input_error(&run, &[&image, "manifest.json"]);
}

#[test]
fn docker_archive_with_corrupt_manifest_json() {
    let tmp = tempfile::tempdir().unwrap();
    let image = docker_archive(tmp.path(), &[("manifest.json", b"[{\"Config\": ")]);
    let run = elfgate(&["scan", &image]);
    assert_input_error(&run, &[&image, "manifest.json"]);
}

/// Deterministic byte mutations of every committed ELF file: header fields,
/// program headers and the dynamic section get flipped, cut and overwritten.
fn mutations() -> Vec<(String, Vec<u8>)> {
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut out = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(testdata("elf"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| std::fs::read(p).is_ok_and(|b| b.starts_with(b"\x7fELF")))
        .collect();
    names.sort();
    for path in names {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let original = std::fs::read(&path).unwrap();
        for i in 0..150 {
            let mut b = original.clone();
            match i % 4 {
                // A few random bytes anywhere in the first 4 KiB.
                0 | 1 => {
                    for _ in 0..1 + next() % 8 {
                        let at = (next() as usize) % b.len().min(4096);
                        b[at] = next() as u8;
                    }
                }
                // A header field set to all ones.
                2 => {
                    let at = 16 + (next() as usize) % 48;
                    b[at] = 0xff;
                    if at + 1 < b.len() {
                        b[at + 1] = 0xff;
                    }
                }
                // Cut somewhere.
                _ => b.truncate((next() as usize) % b.len()),
            }
            out.push((format!("m/{name}.{i}"), b));
        }
    }
    out
}

#[test]
fn mutated_elf_files_never_crash_the_scan() {
    let mut layer = small_layer();
    let mut count = 0;
    for (path, bytes) in mutations() {
        let path: &'static str = Box::leak(path.into_boxed_str());
        layer = layer.file(path, 0o755, bytes);
        count += 1;
    }
    assert!(count >= 400, "{count}");
    let tmp = tempfile::tempdir().unwrap();
    let image = ImageBuilder::new().manifest(amd64(layer)).write(tmp.path());
    let run = elfgate_within(300, &["scan", &image, "--require-platform", "linux/amd64"]);
    assert!(
        run.code == 0 || run.code == 1,
        "exit {}\n{}",
        run.code,
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    // Every mutated file is accounted for: read as ELF, or reported.
    let doc = run.json();
    assert!(doc["images"][0]["platforms"][0]["files"].as_u64().unwrap() >= count);
}

#[test]
fn hostile_loader_configuration_never_crashes_the_scan() {
    // A real ld.so.cache, then the same with bytes overwritten; ld.so.conf
    // files that include each other; a musl path file of junk.
    let cache = crate::rules_fire::ld_so_cache_for_srv_foo();
    let mut seed: u32 = 12345;
    let mut next = move || {
        seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
        seed >> 8
    };
    for round in 0..25 {
        let mut c = cache.clone();
        if round > 0 {
            for _ in 0..1 + next() % 6 {
                let at = next() as usize % c.len();
                c[at] = next() as u8;
            }
            if round % 5 == 0 {
                c.truncate(next() as usize % c.len());
            }
        }
        let tmp = tempfile::tempdir().unwrap();
        let image = ImageBuilder::new()
            .manifest(amd64(
                small_layer()
                    .file("etc/ld.so.cache", 0o644, c)
                    .file(
                        "etc/ld.so.conf",
                        0o644,
                        b"include /etc/ld.so.conf\ninclude ld.so.conf.d/*.conf\n/srv/foo\n"
                            .to_vec(),
                    )
                    .file(
                        "etc/ld.so.conf.d/loop.conf",
                        0o644,
                        b"include ../ld.so.conf\ninclude /etc/ld.so.conf.d/*\n".to_vec(),
                    )
                    .file("etc/ld-musl-x86_64.path", 0o644, vec![0xff; 300])
                    .file("srv/foo/libfoo.so.1", 0o644, elf("libfoo.so.1"))
                    .file("usr/bin/usefoo", 0o755, elf("usefoo-weak-rpath"))
                    .file("usr/bin/hello-musl", 0o755, elf("x86_64-musl-dynamic")),
            ))
            .write(tmp.path());
        let run = elfgate_within(60, &["scan", &image, "--require-platform", "linux/amd64"]);
        assert!(
            (run.code == 0 || run.code == 1) && !run.stderr.contains("panicked"),
            "round {round}: exit {}\n{}",
            run.code,
            run.stderr
        );
    }
}
