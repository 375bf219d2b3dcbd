//! The malicious-image suite: images built here that each try one attack on
//! the scanner. Each one must end in a clear error (exit 2, naming what was
//! wrong) or in a correct, complete report, within a time bound and under a
//! peak-memory bound measured with `/usr/bin/time` (GNU time's `%M`, the
//! largest resident set of the scanner, in KiB).
//!
//! The bounds: [`SMALL_MIB`] for every attack but one, [`MILLION_FILES_MIB`]
//! for the layer of a million empty files read whole, whose entries the
//! report must hold; [`SECONDS`] for each run (of a debug build).

use std::io::Write;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::testdata;

/// Peak resident memory allowed for one scan of a hostile image.
const SMALL_MIB: u64 = 256;
/// Peak resident memory allowed for the layer of a million empty files.
const MILLION_FILES_MIB: u64 = 1536;
/// Wall-clock time allowed for one scan.
const SECONDS: u64 = 120;

/// One measured run of the scanner.
struct Measured {
    code: i32,
    stdout: String,
    stderr: String,
    peak_kib: u64,
    seconds: f64,
}

impl Measured {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr:\n{}", self.stderr))
    }

    fn assert_peak_below(&self, mib: u64) {
        assert!(
            self.peak_kib < mib * 1024,
            "peak memory {} KiB is over the {mib} MiB bound",
            self.peak_kib
        );
        eprintln!("peak memory {} KiB, {:.2} s", self.peak_kib, self.seconds);
    }

    /// A clear error: exit 2, nothing on stdout, a message holding every needle.
    fn assert_error(&self, needles: &[&str]) {
        assert_eq!(
            self.code, 2,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        assert!(self.stdout.is_empty(), "stdout:\n{}", self.stdout);
        for n in needles {
            assert!(self.stderr.contains(n), "{n:?} not in:\n{}", self.stderr);
        }
    }

    /// A complete report: exit 0 or 1 (findings), JSON on stdout.
    fn report(&self) -> Value {
        assert!(
            self.code == 0 || self.code == 1,
            "exit {}\nstderr:\n{}",
            self.code,
            self.stderr
        );
        self.json()
    }
}

/// Runs `elfgate scan ARGS` under GNU time (and a kill timer), with a clean
/// environment and JSON output.
fn scan_measured(args: &[&str]) -> Measured {
    let dir = tempfile::tempdir().unwrap();
    let stats = dir.path().join("time");
    let start = std::time::Instant::now();
    let out = Command::new("timeout")
        .args([
            "-s",
            "KILL",
            &SECONDS.to_string(),
            "/usr/bin/time",
            "-f",
            "%M %e",
            "-o",
        ])
        .arg(&stats)
        .arg(env!("CARGO_BIN_EXE_elfgate"))
        .args([
            "scan",
            "--format",
            "json",
            "--require-platform",
            "linux/amd64",
        ])
        .args(args)
        .env_clear()
        .output()
        .expect("run timeout and /usr/bin/time (install the `time` package)");
    let code = out.status.code().unwrap_or(-1);
    assert!(code != 137 && code != -1, "killed after {SECONDS} s");
    let stats = std::fs::read_to_string(&stats).unwrap_or_default();
    eprintln!("exit {code} after {:?}; time: {stats}", start.elapsed());
    // GNU time prints "Command exited with non-zero status N" first when it does.
    let last = stats.lines().last().unwrap_or("");
    let mut fields = last.split_whitespace();
    let peak_kib = fields
        .next()
        .and_then(|v| v.parse().ok())
        .expect("peak memory");
    let seconds = fields
        .next()
        .and_then(|v| v.parse().ok())
        .expect("elapsed time");
    Measured {
        code,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        peak_kib,
        seconds,
    }
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// Writes `bytes` as a blob of the layout in `dir`; returns its digest.
fn put_blob(dir: &Path, bytes: &[u8]) -> String {
    let digest = sha256(bytes);
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(blobs.join(&digest["sha256:".len()..]), bytes).unwrap();
    digest
}

fn descriptor(media_type: &str, digest: &str, size: usize) -> Value {
    json!({"mediaType": media_type, "digest": digest, "size": size})
}

const GZIP_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const ZSTD_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

/// An amd64 config with `entrypoint`.
fn config(entrypoint: &[&str]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/bin:/usr/bin"], "Entrypoint": entrypoint},
        "rootfs": {"type": "layers", "diff_ids": []}
    }))
    .unwrap()
}

/// Writes `index.json` pointing at `top` (a manifest or index descriptor).
fn put_index_json(dir: &Path, top: Value) {
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [top]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

/// An amd64 OCI layout in `dir` with these layer blobs (bytes, media type).
fn oci_image(dir: &Path, layers: &[(Vec<u8>, &str)], entrypoint: &[&str]) -> String {
    let config = config(entrypoint);
    let config_digest = put_blob(dir, &config);
    let layers: Vec<Value> = layers
        .iter()
        .map(|(bytes, media_type)| descriptor(media_type, &put_blob(dir, bytes), bytes.len()))
        .collect();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, &config_digest, config.len()),
        "layers": layers,
    }))
    .unwrap();
    let digest = put_blob(dir, &manifest);
    let mut top = descriptor(OCI_MANIFEST, &digest, manifest.len());
    top["platform"] = json!({"os": "linux", "architecture": "amd64"});
    put_index_json(dir, top);
    format!("oci:{}", dir.display())
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_mtime(0);
    h
}

/// A tar stream of files `(path, mode, bytes)`.
fn tar_of(files: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, mode, bytes) in files {
        let mut h = header(tar::EntryType::Regular, *mode, bytes.len() as u64);
        b.append_data(&mut h, path, *bytes).unwrap();
    }
    b.into_inner().unwrap()
}

fn elf(name: &str) -> Vec<u8> {
    std::fs::read(testdata("elf").join(name)).unwrap()
}

/// The platform summary of the only platform of the report.
fn summary(report: &Value) -> &Value {
    &report["images"][0]["platforms"][0]
}

fn rules_at(report: &Value, path: &str) -> Vec<String> {
    report["images"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["path"] == path)
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn gzip_bomb_stops_at_the_layer_limit() {
    // One tar entry that claims 64 GiB, followed by 4 GiB of zeros: written
    // as one gzip member for the header and then the same member of 64 MiB of
    // zeros (64 KiB compressed) 64 times, which a multi-member reader
    // inflates in turn. Under a 256 MiB limit the scan stops there (the
    // default limit, 16 GiB, stops it the same way, only later).
    let dir = tempfile::tempdir().unwrap();
    let mut head = Vec::new();
    header(tar::EntryType::Regular, 0o644, 64 << 30)
        .as_bytes()
        .iter()
        .for_each(|b| head.push(*b));
    let mut head = tar::Header::from_byte_slice(&head).clone();
    head.set_path("bomb").unwrap();
    head.set_cksum();
    let mut blob = gzip(head.as_bytes());
    let mut zeros = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    zeros.write_all(&vec![0u8; 64 << 20]).unwrap();
    let zeros = zeros.finish().unwrap();
    for _ in 0..64 {
        blob.extend_from_slice(&zeros);
    }
    assert!(
        blob.len() < 8 << 20,
        "the bomb is small: {} bytes",
        blob.len()
    );
    let image = oci_image(dir.path(), &[(blob, GZIP_LAYER)], &["/bomb"]);
    let run = scan_measured(&["--max-layer-bytes", &(256u64 << 20).to_string(), &image]);
    run.assert_error(&["layer sha256:", "max-layer-bytes limit (268435456 bytes)"]);
    run.assert_peak_below(SMALL_MIB);
}

#[test]
fn entries_escaping_with_dotdot_and_absolute_paths_stay_inside() {
    let dir = tempfile::tempdir().unwrap();
    let program = elf("x86_64-musl-static");
    let mut b = tar::Builder::new(Vec::new());
    for (name, bytes) in [
        (&b"../../../../tmp/escaped"[..], &program[..]),
        (&b"/abs/escaped"[..], &program[..]),
        (&b"a/../../b/escaped"[..], &program[..]),
    ] {
        let mut h = header(tar::EntryType::Regular, 0o755, bytes.len() as u64);
        h.as_old_mut().name[..name.len()].copy_from_slice(name);
        h.set_cksum();
        b.append(&h, bytes).unwrap();
    }
    let mut link = header(tar::EntryType::Symlink, 0o777, 0);
    link.set_link_name_literal("../../../../../bin/escaped")
        .unwrap();
    b.append_data(&mut link, "bin/up", &[][..]).unwrap();
    let blob = gzip(&b.into_inner().unwrap());
    let image = oci_image(dir.path(), &[(blob, GZIP_LAYER)], &["/bin/up"]);
    let run = scan_measured(&[&image]);
    let report = run.report();
    // Three files, each at its path clamped to the root; the symlink leads
    // to /bin/escaped inside the image, which does not exist.
    assert_eq!(summary(&report)["files"], 3, "{report:#}");
    assert_eq!(summary(&report)["elf_files"], 3);
    let findings = report["images"][0]["findings"].as_array().unwrap();
    for f in findings {
        let path = f["path"].as_str().unwrap_or("/");
        assert!(path.starts_with('/') && !path.contains(".."), "{f}");
    }
    assert!(
        rules_at(&report, "/bin/up").contains(&"missing-entrypoint".to_string()),
        "{report:#}"
    );
    assert!(!Path::new("/tmp/escaped").exists() && !Path::new("/abs/escaped").exists());
    run.assert_peak_below(SMALL_MIB);
}

/// A layer of symlinks `(path, target)` and an entrypoint through them.
fn symlink_image(dir: &Path, links: &[(String, String)], entrypoint: &str) -> String {
    let mut b = tar::Builder::new(Vec::new());
    for (path, target) in links {
        let mut h = header(tar::EntryType::Symlink, 0o777, 0);
        b.append_link(&mut h, path, target).unwrap();
    }
    let mut h = header(tar::EntryType::Regular, 0o755, 0);
    let program = elf("x86_64-musl-static");
    h.set_size(program.len() as u64);
    b.append_data(&mut h, "bin/real", &program[..]).unwrap();
    let blob = gzip(&b.into_inner().unwrap());
    oci_image(dir, &[(blob, GZIP_LAYER)], &[entrypoint])
}

#[test]
fn symlink_loop_as_the_entrypoint_is_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let links = [
        ("bin/a".to_string(), "b".to_string()),
        ("bin/b".to_string(), "/bin/a".to_string()),
    ];
    let run = scan_measured(&[&symlink_image(dir.path(), &links, "/bin/a")]);
    let report = run.report();
    assert_eq!(run.code, 1);
    let f = &report["images"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "missing-entrypoint")
        .unwrap_or_else(|| panic!("{report:#}"))
        .clone();
    assert!(
        f["message"]
            .as_str()
            .unwrap()
            .contains("too many levels of symbolic links"),
        "{f}"
    );
    run.assert_peak_below(SMALL_MIB);
}

#[test]
fn symlink_chain_of_ten_thousand_links_is_cut_at_forty() {
    // l0 -> l1 -> ... -> l9999 -> /bin/real: the kernel gives up after 40.
    let dir = tempfile::tempdir().unwrap();
    let mut links: Vec<(String, String)> = (0..9_999)
        .map(|i| (format!("bin/l{i}"), format!("l{}", i + 1)))
        .collect();
    links.push(("bin/l9999".to_string(), "/bin/real".to_string()));
    // The last 40 links of the chain still reach the program.
    let run = scan_measured(&[&symlink_image(dir.path(), &links, "/bin/l0")]);
    let report = run.report();
    assert_eq!(run.code, 1, "{report:#}");
    let msg = report["images"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "missing-entrypoint")
        .unwrap_or_else(|| panic!("{report:#}"))["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("too many levels of symbolic links"), "{msg}");
    run.assert_peak_below(SMALL_MIB);
    // One link short of the limit, from l9960 (40 links: l9960..l9999), it starts.
    let dir = tempfile::tempdir().unwrap();
    let run = scan_measured(&[&symlink_image(dir.path(), &links, "/bin/l9960")]);
    let report = run.report();
    assert!(rules_at(&report, "/bin/l9960").is_empty(), "{report:#}");
    run.assert_peak_below(SMALL_MIB);
}

#[test]
fn hard_link_to_a_file_in_no_layer_is_not_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let program = elf("x86_64-musl-static");
    let mut b = tar::Builder::new(Vec::new());
    let mut h = header(tar::EntryType::Regular, 0o755, program.len() as u64);
    b.append_data(&mut h, "bin/real", &program[..]).unwrap();
    let mut h = header(tar::EntryType::Link, 0o755, 0);
    b.append_link(&mut h, "bin/ghost", "nowhere/program")
        .unwrap();
    let blob = gzip(&b.into_inner().unwrap());
    let image = oci_image(dir.path(), &[(blob, GZIP_LAYER)], &["/bin/ghost"]);
    let run = scan_measured(&[&image]);
    let report = run.report();
    // The program the link names exists in no layer: nothing can run at
    // /bin/ghost, and the scan says so rather than reading the host.
    assert_eq!(run.code, 1, "{report:#}");
    assert!(
        rules_at(&report, "/bin/ghost").contains(&"missing-entrypoint".to_string()),
        "{report:#}"
    );
    run.assert_peak_below(SMALL_MIB);
}

/// An image whose one layer holds a million empty files (`d0/f0` to
/// `d999/f999`), the tar compressed by the `gzip` program (quicker than an
/// unoptimised encoder here).
fn million_files_image(dir: &Path) -> String {
    let path = dir.join("layer");
    let out = std::fs::File::create(&path).unwrap();
    let mut gzip = Command::new("gzip")
        .arg("-1")
        .stdin(std::process::Stdio::piped())
        .stdout(out)
        .spawn()
        .expect("run gzip");
    {
        let mut w = std::io::BufWriter::new(gzip.stdin.take().unwrap());
        let mut h = header(tar::EntryType::Regular, 0o644, 0);
        for i in 0..1_000_000u32 {
            h.set_path(format!("d{}/f{}", i / 1000, i % 1000)).unwrap();
            h.set_cksum();
            w.write_all(h.as_bytes()).unwrap();
        }
        w.write_all(&[0u8; 1024]).unwrap();
    }
    assert!(gzip.wait().unwrap().success());
    let blob = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    oci_image(dir, &[(blob, GZIP_LAYER)], &["/d0/f0"])
}

#[test]
fn layer_of_a_million_empty_files_stops_at_the_entry_limit() {
    let dir = tempfile::tempdir().unwrap();
    let image = million_files_image(dir.path());
    let run = scan_measured(&["--max-entries", "100000", &image]);
    run.assert_error(&["layer sha256:", "max-entries limit (100000 entries)"]);
    run.assert_peak_below(SMALL_MIB);
}

/// The same layer under the default limits (2^21 entries) is read whole.
#[test]
fn layer_of_a_million_empty_files_is_read_completely() {
    let dir = tempfile::tempdir().unwrap();
    let image = million_files_image(dir.path());
    let run = scan_measured(&[&image]);
    let report = run.report();
    assert_eq!(summary(&report)["files"], 1_000_000);
    // The entrypoint is an empty file without an execute bit.
    assert!(!rules_at(&report, "/d0/f0").is_empty(), "{report:#}");
    run.assert_peak_below(MILLION_FILES_MIB);
}

/// A 64-byte ELF64 x86-64 executable header with these program and section
/// header fields, and nothing after it.
fn elf_header(phoff: u64, phnum: u16, shoff: u64, shnum: u16, e_type: u16) -> Vec<u8> {
    let mut h = vec![0u8; 64];
    h[..4].copy_from_slice(b"\x7fELF");
    h[4] = 2; // ELFCLASS64
    h[5] = 1; // little endian
    h[6] = 1; // EV_CURRENT
    h[16..18].copy_from_slice(&e_type.to_le_bytes());
    h[18..20].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    h[20..24].copy_from_slice(&1u32.to_le_bytes());
    h[32..40].copy_from_slice(&phoff.to_le_bytes());
    h[40..48].copy_from_slice(&shoff.to_le_bytes());
    h[52..54].copy_from_slice(&64u16.to_le_bytes()); // e_ehsize
    h[54..56].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
    h[56..58].copy_from_slice(&phnum.to_le_bytes());
    h[58..60].copy_from_slice(&64u16.to_le_bytes()); // e_shentsize
    h[60..62].copy_from_slice(&shnum.to_le_bytes());
    h
}

#[test]
fn elf_with_65535_program_headers_past_the_end_is_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let bad = elf_header(0xffff_ffff_ff00, 65535, 0xffff_ffff_0000, 65535, 2);
    let layer = tar_of(&[("bin/bad", 0o755, &bad)]);
    let image = oci_image(dir.path(), &[(gzip(&layer), GZIP_LAYER)], &["/bin/bad"]);
    let run = scan_measured(&[&image]);
    let report = run.report();
    assert_eq!(summary(&report)["elf_files"], 1);
    assert!(
        rules_at(&report, "/bin/bad").contains(&"unreadable-elf".to_string()),
        "{report:#}"
    );
    run.assert_peak_below(SMALL_MIB);
}

#[test]
fn section_header_table_overlapping_itself_is_survived() {
    // The section header table starts inside the ELF header and its 65535
    // entries of 64 bytes run far past the file, over themselves: for a
    // relocatable object (whose sections are read) and for an executable
    // (whose sections are not needed).
    let dir = tempfile::tempdir().unwrap();
    let mut rel = elf_header(0, 0, 8, 65535, 1);
    rel.extend_from_slice(&[0xff; 4096]);
    let mut exe = elf_header(0, 0, 8, 65535, 2);
    exe.extend_from_slice(&[0xff; 4096]);
    let layer = tar_of(&[("lib/x.o", 0o644, &rel), ("bin/exe", 0o755, &exe)]);
    let image = oci_image(dir.path(), &[(gzip(&layer), GZIP_LAYER)], &["/bin/exe"]);
    let run = scan_measured(&[&image]);
    let report = run.report();
    assert_eq!(summary(&report)["elf_files"], 2, "{report:#}");
    assert_eq!(summary(&report)["files"], 2);
    run.assert_peak_below(SMALL_MIB);
}

#[test]
fn index_that_references_itself_is_an_error() {
    // A blob cannot hold its own sha256, so an index listing itself is a
    // blob stored under a digest that is not its own: a digest mismatch.
    let dir = tempfile::tempdir().unwrap();
    let fake = format!("sha256:{}", "ab".repeat(32));
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [descriptor(OCI_INDEX, &fake, 0)]
    }))
    .unwrap();
    let blobs = dir.path().join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(blobs.join("ab".repeat(32)), &index).unwrap();
    let mut top = descriptor(OCI_INDEX, &fake, index.len());
    top["annotations"] = json!({"org.opencontainers.image.ref.name": "latest"});
    put_index_json(dir.path(), top);
    let run = scan_measured(&[&format!("oci:{}", dir.path().display())]);
    run.assert_error(&[&fake, "does not match its digest"]);
    run.assert_peak_below(SMALL_MIB);
}

#[test]
fn chain_of_nested_indexes_is_cut_at_the_depth_limit() {
    // Each index lists the next, 64 deep, down to a real manifest.
    let dir = tempfile::tempdir().unwrap();
    let layer = gzip(&tar_of(&[("bin/x", 0o755, &elf("x86_64-musl-static"))]));
    let image = oci_image(dir.path(), &[(layer, GZIP_LAYER)], &["/bin/x"]);
    assert!(image.starts_with("oci:"));
    let top: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    let mut next = top["manifests"][0].clone();
    for _ in 0..64 {
        let index = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [next]
        }))
        .unwrap();
        next = descriptor(OCI_INDEX, &put_blob(dir.path(), &index), index.len());
    }
    put_index_json(dir.path(), next);
    let run = scan_measured(&[&image]);
    run.assert_error(&["indexes nest deeper than"]);
    run.assert_peak_below(SMALL_MIB);
}

#[test]
fn manifest_whose_layer_is_its_own_config_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(&["/bin/x"]);
    let digest = put_blob(dir.path(), &config);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, &digest, config.len()),
        "layers": [descriptor(GZIP_LAYER, &digest, config.len())],
    }))
    .unwrap();
    let m = put_blob(dir.path(), &manifest);
    put_index_json(dir.path(), descriptor(OCI_MANIFEST, &m, manifest.len()));
    let run = scan_measured(&[&format!("oci:{}", dir.path().display())]);
    // The JSON is no tar stream: the layer is unreadable, never clean.
    run.assert_error(&[&format!("layer {digest}"), "not a tar stream"]);
    run.assert_peak_below(SMALL_MIB);
}

#[test]
fn blob_whose_media_type_lies_is_read_as_what_it_is() {
    // A zstd layer declared as gzip, and a gzip one declared as plain tar:
    // the digests are right, the bytes decide.
    let dir = tempfile::tempdir().unwrap();
    let program = elf("x86_64-musl-static");
    let zstd_layer = zstd::encode_all(&tar_of(&[("bin/x", 0o755, &program)])[..], 3).unwrap();
    let gzip_layer = gzip(&tar_of(&[("bin/y", 0o755, &program)]));
    let image = oci_image(
        dir.path(),
        &[
            (zstd_layer, GZIP_LAYER),
            (gzip_layer, "application/vnd.oci.image.layer.v1.tar"),
        ],
        &["/bin/x"],
    );
    let run = scan_measured(&[&image]);
    let report = run.report();
    assert_eq!(run.code, 0, "{report:#}");
    assert_eq!(summary(&report)["files"], 2);
    assert_eq!(summary(&report)["elf_files"], 2);
    run.assert_peak_below(SMALL_MIB);
}

#[test]
fn zstd_frame_with_a_huge_window_is_refused() {
    // A frame declaring a 2 GiB window (window log 31): decoding it could
    // need that much memory, so the decoder refuses it.
    let dir = tempfile::tempdir().unwrap();
    let tar = tar_of(&[("bin/x", 0o755, &elf("x86_64-musl-static"))]);
    let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
    encoder.window_log(31).unwrap();
    encoder.long_distance_matching(true).unwrap();
    encoder.write_all(&tar).unwrap();
    let blob = encoder.finish().unwrap();
    // The frame header's window descriptor (after magic and descriptor byte)
    // says 2^31: exponent 21 over 2^10, no mantissa.
    assert_eq!(blob[5], 21 << 3, "window descriptor {:#x}", blob[5]);
    let image = oci_image(dir.path(), &[(blob, ZSTD_LAYER)], &["/bin/x"]);
    let run = scan_measured(&[&image]);
    run.assert_error(&["layer sha256:", "Frame requires too much memory"]);
    run.assert_peak_below(SMALL_MIB);
}

#[test]
fn sparse_entry_of_two_gib_is_not_materialised() {
    // A GNU sparse file of 2 GiB whose only data is an ELF header at its
    // start: too large to read as ELF (the cap is 512 MiB), so it is
    // reported, and neither 2 GiB of zeros nor the file is held in memory.
    let dir = tempfile::tempdir().unwrap();
    let mut data = elf_header(64, 0, 0, 0, 2);
    data.resize(512, 0);
    let mut h = tar::Header::new_gnu();
    h.set_path("bin/holes").unwrap();
    h.set_entry_type(tar::EntryType::GNUSparse);
    h.set_mode(0o755);
    h.set_mtime(0);
    h.set_size(512);
    {
        let gnu = h.as_gnu_mut().unwrap();
        gnu.set_real_size(2 << 30);
        gnu.sparse[0].set_offset(0);
        gnu.sparse[0].set_length(512);
        // GNU tar ends a map whose file ends in a hole with an empty chunk
        // at the logical end.
        gnu.sparse[1].set_offset(2 << 30);
        gnu.sparse[1].set_length(0);
    }
    h.set_cksum();
    let mut b = tar::Builder::new(Vec::new());
    b.append(&h, &data[..]).unwrap();
    let mut after = header(tar::EntryType::Regular, 0o644, 2);
    b.append_data(&mut after, "etc/after", &b"ok"[..]).unwrap();
    let blob = gzip(&b.into_inner().unwrap());
    let image = oci_image(dir.path(), &[(blob, GZIP_LAYER)], &["/bin/holes"]);
    let run = scan_measured(&[&image]);
    let report = run.report();
    assert_eq!(summary(&report)["files"], 2, "{report:#}");
    assert!(
        rules_at(&report, "/bin/holes").contains(&"unreadable-elf".to_string()),
        "{report:#}"
    );
    run.assert_peak_below(SMALL_MIB);
}
