//! Opening images built by a small in-test layout writer and by real tools
//! (umoci writes OCI layouts; skopeo converts them to archives).

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use super::manifest::{DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
use super::*;
use crate::platform::Platform;

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn plat(s: &str) -> Platform {
    Platform::parse(s).unwrap()
}

/// Writes an OCI image layout, blob by blob.
struct Layout {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Layout {
    fn new() -> Layout {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("layout");
        fs::create_dir_all(root.join("blobs/sha256")).unwrap();
        fs::write(
            root.join("oci-layout"),
            br#"{"imageLayoutVersion":"1.0.0"}"#,
        )
        .unwrap();
        Layout { _tmp: tmp, root }
    }

    fn path_of(&self, digest: &str) -> PathBuf {
        self.root
            .join("blobs/sha256")
            .join(digest.strip_prefix("sha256:").unwrap())
    }

    fn blob(&self, media_type: &str, bytes: &[u8]) -> Value {
        let digest = sha256(bytes);
        fs::write(self.path_of(&digest), bytes).unwrap();
        json!({"mediaType": media_type, "digest": digest, "size": bytes.len()})
    }

    fn layer(&self, files: &[(&str, &[u8])]) -> (Value, Vec<u8>) {
        let mut tar = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o755);
            h.set_cksum();
            tar.append_data(&mut h, name, *data).unwrap();
        }
        let tar = tar.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&tar).unwrap();
        let gz = gz.finish().unwrap();
        (
            self.blob("application/vnd.oci.image.layer.v1.tar+gzip", &gz),
            gz,
        )
    }

    fn config(&self, config: Value) -> Value {
        self.blob(
            "application/vnd.oci.image.config.v1+json",
            config.to_string().as_bytes(),
        )
    }

    fn manifest(&self, config: Value, layers: Vec<Value>) -> Value {
        let m = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": config, "layers": layers});
        self.blob(OCI_MANIFEST, m.to_string().as_bytes())
    }

    /// A manifest with one layer and a config for `arch`.
    fn image(&self, arch: &str, variant: Option<&str>) -> Value {
        let (layer, _) = self.layer(&[("bin/true", b"\x7fELF")]);
        let mut cfg = json!({"architecture": arch, "os": "linux",
            "config": {"Env": ["PATH=/usr/bin", format!("ARCH={arch}")]},
            "rootfs": {"type": "layers", "diff_ids": []}});
        if let Some(v) = variant {
            cfg["variant"] = json!(v);
        }
        let config = self.config(cfg);
        self.manifest(config, vec![layer])
    }

    fn index(&self, entries: Vec<Value>) -> Value {
        let i = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries});
        self.blob(OCI_INDEX, i.to_string().as_bytes())
    }

    fn write_index(&self, entries: Vec<Value>) -> Vec<u8> {
        let bytes = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
            .to_string()
            .into_bytes();
        fs::write(self.root.join("index.json"), &bytes).unwrap();
        bytes
    }

    fn reference(&self, tag: Option<&str>) -> String {
        match tag {
            Some(t) => format!("oci:{}:{t}", self.root.display()),
            None => format!("oci:{}", self.root.display()),
        }
    }

    /// Packs the layout into an uncompressed tar.
    fn archive(&self) -> PathBuf {
        let path = self.root.with_file_name("layout.tar");
        let mut b = tar::Builder::new(fs::File::create(&path).unwrap());
        b.append_dir_all(".", &self.root).unwrap();
        b.finish().unwrap();
        path
    }
}

fn tagged(mut d: Value, tag: &str) -> Value {
    d["annotations"] = json!({"org.opencontainers.image.ref.name": tag});
    d
}

fn with_platform(mut d: Value, os: &str, arch: &str, variant: Option<&str>) -> Value {
    d["platform"] = match variant {
        Some(v) => json!({"os": os, "architecture": arch, "variant": v}),
        None => json!({"os": os, "architecture": arch}),
    };
    d
}

fn digest_of(d: &Value) -> String {
    d["digest"].as_str().unwrap().to_string()
}

fn open_ok(reference: &str) -> Image {
    match open(reference, &OpenOptions::default()) {
        Ok(i) => i,
        Err(e) => panic!("opening {reference}: {e}"),
    }
}

fn open_err(reference: &str) -> String {
    match open(reference, &OpenOptions::default()) {
        Ok(_) => panic!("{reference} opened, expected an error"),
        Err(e) => e.to_string(),
    }
}

fn read_blob(image: &Image, digest: &str) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    image.open_blob(digest).unwrap().read_to_end(&mut out)?;
    Ok(out)
}

fn blob_layers(p: &PlatformImage) -> &[LayerRef] {
    match &p.layers {
        Layers::Blobs(l) => l,
        Layers::Directory(_) => panic!("expected blobs"),
    }
}

#[test]
fn tag_selects_index_json_entry() {
    let l = Layout::new();
    let a = l.image("amd64", None);
    let b = l.image("arm64", None);
    l.write_index(vec![tagged(a.clone(), "a"), tagged(b.clone(), "b")]);

    let img = open_ok(&l.reference(Some("b")));
    assert_eq!(img.digest, digest_of(&b));
    assert_eq!(img.platforms.len(), 1);
    let p = &img.platforms[0];
    assert_eq!(p.platform, plat("linux/arm64"));
    assert_eq!(p.index_platform, None);
    assert_eq!(p.manifest_digest, digest_of(&b));
    assert_eq!(p.config.env_var("ARCH"), Some("arm64"));
    assert_eq!(blob_layers(p).len(), 1);

    let err = open_err(&l.reference(None));
    assert!(
        err.contains("several images") && err.contains("a, b"),
        "{err}"
    );
    let err = open_err(&l.reference(Some("c")));
    assert!(err.contains("no image is tagged \"c\""), "{err}");
}

#[test]
fn nested_index_is_walked() {
    let l = Layout::new();
    let arm = with_platform(l.image("arm", Some("v7")), "linux", "arm", Some("v7"));
    let amd = with_platform(l.image("amd64", None), "linux", "amd64", None);
    let inner = l.index(vec![arm.clone()]);
    let outer = l.index(vec![inner, amd.clone()]);
    l.write_index(vec![tagged(outer.clone(), "latest")]);

    let img = open_ok(&l.reference(Some("latest")));
    assert_eq!(img.digest, digest_of(&outer));
    let got: Vec<_> = img
        .platforms
        .iter()
        .map(|p| {
            (
                p.platform.clone(),
                p.index_platform.clone(),
                p.manifest_digest.clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                plat("linux/arm/v7"),
                Some(plat("linux/arm/v7")),
                digest_of(&arm)
            ),
            (
                plat("linux/amd64"),
                Some(plat("linux/amd64")),
                digest_of(&amd)
            ),
        ]
    );
    // Without a tag the only entry is taken.
    assert_eq!(open_ok(&l.reference(None)).digest, digest_of(&outer));
}

#[test]
fn index_json_of_platform_manifests_is_the_index() {
    let l = Layout::new();
    let amd = with_platform(l.image("amd64", None), "linux", "amd64", None);
    let arm = with_platform(l.image("arm64", None), "linux", "arm64", None);
    let attestation = with_platform(l.image("amd64", None), "unknown", "unknown", None);
    let signature = l.manifest(l.blob("application/vnd.oci.empty.v1+json", b"{}"), vec![]);
    let nested = l.index(vec![
        with_platform(l.image("386", None), "linux", "386", None),
        signature.clone(),
    ]);
    let bytes = l.write_index(vec![amd, arm, attestation]);

    let img = open_ok(&l.reference(None));
    assert_eq!(img.digest, sha256(&bytes));
    let platforms: Vec<_> = img
        .platforms
        .iter()
        .map(|p| p.platform.to_string())
        .collect();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"]);

    // Inside an index, an artifact manifest is skipped, not taken for an image.
    l.write_index(vec![tagged(nested, "n"), tagged(signature, "sig")]);
    let img = open_ok(&l.reference(Some("n")));
    assert_eq!(img.platforms.len(), 1);
    assert_eq!(img.platforms[0].platform, plat("linux/386"));
    let err = open_err(&l.reference(Some("sig")));
    assert!(err.contains("holds no image manifests"), "{err}");
}

#[test]
fn platform_of_a_single_manifest_comes_from_its_config() {
    let l = Layout::new();
    let m = l.image("arm", Some("v7"));
    l.write_index(vec![m.clone()]);
    let img = open_ok(&l.reference(None));
    assert_eq!(img.digest, digest_of(&m));
    assert_eq!(img.platforms[0].platform, plat("linux/arm/v7"));
    assert_eq!(img.platforms[0].index_platform, None);
}

#[test]
fn layer_streams_are_verified() {
    let l = Layout::new();
    let (layer, gz) = l.layer(&[("bin/sh", b"#!x")]);
    let config = l.config(json!({"architecture": "amd64", "os": "linux"}));
    let m = l.manifest(config, vec![layer.clone()]);
    l.write_index(vec![m]);
    let img = open_ok(&l.reference(None));
    let layers = blob_layers(&img.platforms[0]);
    assert_eq!(layers[0].digest, digest_of(&layer));
    assert_eq!(
        layers[0].media_type,
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    assert_eq!(layers[0].size, Some(gz.len() as u64));
    assert_eq!(read_blob(&img, &layers[0].digest).unwrap(), gz);

    // Same size, one byte changed: the bytes flow, the end of the stream fails.
    let mut bad = gz.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    fs::write(l.path_of(&digest_of(&layer)), &bad).unwrap();
    let mut reader = img.open_blob(&layers[0].digest).unwrap();
    let mut head = vec![0u8; bad.len()];
    reader.read_exact(&mut head).unwrap();
    assert_eq!(head, bad);
    let err = reader.read(&mut [0u8; 16]).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(err.to_string().contains(&digest_of(&layer)), "{err}");

    // A truncated blob is caught before any byte is read.
    fs::write(l.path_of(&digest_of(&layer)), &gz[..10]).unwrap();
    assert!(img.open_blob(&layers[0].digest).is_err());

    // A missing blob.
    fs::remove_file(l.path_of(&digest_of(&layer))).unwrap();
    assert!(matches!(
        img.open_blob(&layers[0].digest),
        Err(SourceError::MissingBlob { .. })
    ));
}

#[test]
fn corrupt_or_missing_index_json() {
    let l = Layout::new();
    fs::write(l.root.join("index.json"), b"{\"manifests\": [").unwrap();
    let err = open_err(&l.reference(None));
    assert!(
        err.contains("index.json") && err.contains("invalid JSON"),
        "{err}"
    );
    fs::remove_file(l.root.join("index.json")).unwrap();
    let err = open_err(&l.reference(None));
    assert!(err.contains("index.json is missing"), "{err}");
}

#[test]
fn missing_config_blob() {
    let l = Layout::new();
    let config = l.config(json!({"architecture": "amd64", "os": "linux"}));
    let m = l.manifest(config.clone(), vec![]);
    l.write_index(vec![m]);
    fs::remove_file(l.path_of(&digest_of(&config))).unwrap();
    match open(&l.reference(None), &OpenOptions::default()) {
        Err(SourceError::MissingBlob { digest, .. }) => {
            assert!(digest.contains(&digest_of(&config)) && digest.contains("config"))
        }
        other => panic!("expected a missing blob, got {:?}", other.err()),
    }
}

#[test]
fn tampered_manifest_is_rejected() {
    let l = Layout::new();
    let m = l.image("amd64", None);
    l.write_index(vec![m.clone()]);
    let path = l.path_of(&digest_of(&m));
    let text = fs::read_to_string(&path)
        .unwrap()
        .replace("\"schemaVersion\":2", "\"schemaVersion\":3");
    fs::write(&path, text).unwrap();
    match open(&l.reference(None), &OpenOptions::default()) {
        Err(SourceError::DigestMismatch { what, digest, .. }) => {
            assert_eq!(what, "manifest");
            assert_eq!(digest, digest_of(&m));
        }
        other => panic!("expected a digest mismatch, got {:?}", other.err()),
    }
}

#[test]
fn path_escaping_digest_is_rejected() {
    let l = Layout::new();
    let config = l.config(json!({"architecture": "amd64", "os": "linux"}));
    let evil = json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": "sha256:../../../../etc/passwd", "size": 1});
    let m = l.manifest(config, vec![evil]);
    l.write_index(vec![m]);
    let err = open_err(&l.reference(None));
    assert!(
        err.contains("layer 0") && err.contains("invalid digest"),
        "{err}"
    );
    // Directly, too.
    let l2 = Layout::new();
    l2.write_index(vec![l2.image("amd64", None)]);
    let img = open_ok(&l2.reference(None));
    assert!(matches!(
        img.open_blob("sha256:../../etc/passwd"),
        Err(SourceError::Invalid { .. })
    ));
    assert!(
        img.open_blob(&format!("sha512:{}", "a".repeat(128)))
            .is_err()
    );
}

#[test]
fn cycle_in_nested_index() {
    // A blob cannot contain its own sha256, so a real cycle always fails
    // verification first; with verification off the walk must still stop.
    let l = Layout::new();
    let fake = format!("sha256:{}", "c".repeat(64));
    let looping = json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_INDEX, "digest": fake, "size": 1}]});
    fs::write(l.path_of(&fake), looping.to_string()).unwrap();
    l.write_index(vec![json!({"mediaType": OCI_INDEX, "digest": fake})]);

    let err = open_err(&l.reference(None));
    assert!(err.contains("does not match its digest"), "{err}");

    let files = super::files::DirFiles::new(&l.root);
    let reference = l.reference(None);
    let options = OpenOptions::default();
    let top = super::layout::TopIndex::read(&files, &reference).unwrap();
    let root = top.select(&reference, None).unwrap();
    let err = super::layout::Resolver::new(&files, &reference, &options)
        .without_verification()
        .resolve(root)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("cycle"), "{err}");
}

#[test]
fn docker_schema2_media_types() {
    let l = Layout::new();
    let (layer, _) = l.layer(&[("a", b"b")]);
    let config = l.blob(
        "application/vnd.docker.container.image.v1+json",
        br#"{"architecture":"s390x","os":"linux","config":{"Entrypoint":["/app"],"WorkingDir":"/w"}}"#,
    );
    let mut layer = layer;
    layer["mediaType"] = json!("application/vnd.docker.image.rootfs.diff.tar.gzip");
    let m = json!({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST, "config": config, "layers": [layer]});
    let m = l.blob(DOCKER_MANIFEST, m.to_string().as_bytes());
    let list = json!({"schemaVersion": 2, "mediaType": super::manifest::DOCKER_LIST,
        "manifests": [with_platform(m, "linux", "s390x", None)]});
    let list = l.blob(super::manifest::DOCKER_LIST, list.to_string().as_bytes());
    l.write_index(vec![tagged(list.clone(), "x")]);
    let img = open_ok(&l.reference(Some("x")));
    assert_eq!(img.digest, digest_of(&list));
    let p = &img.platforms[0];
    assert_eq!(p.platform, plat("linux/s390x"));
    assert_eq!(p.config.entrypoint, Some(vec!["/app".to_string()]));
    assert_eq!(p.config.working_dir.as_deref(), Some("/w"));
    assert_eq!(
        blob_layers(p)[0].media_type,
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    );
}

#[test]
fn oci_archive_is_read_in_place() {
    let l = Layout::new();
    let (layer, gz) = l.layer(&[("bin/x", b"x")]);
    let config = l.config(json!({"architecture": "riscv64", "os": "linux"}));
    let m = l.manifest(config, vec![layer.clone()]);
    l.write_index(vec![tagged(m.clone(), "v1")]);
    let tar = l.archive();
    let reference = format!("oci-archive:{}:v1", tar.display());
    let img = open_ok(&reference);
    assert_eq!(img.digest, digest_of(&m));
    assert_eq!(img.platforms[0].platform, plat("linux/riscv64"));
    assert_eq!(read_blob(&img, &digest_of(&layer)).unwrap(), gz);
    // Bare path: a tar holding oci-layout.
    let bare = open_ok(&tar.display().to_string());
    assert_eq!(bare.digest, digest_of(&m));

    // A compressed archive is refused with a clear message.
    let gz_path = tar.with_extension("tar.gz");
    let mut enc = flate2::write::GzEncoder::new(
        fs::File::create(&gz_path).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&fs::read(&tar).unwrap()).unwrap();
    enc.finish().unwrap();
    let err = open_err(&format!("oci-archive:{}", gz_path.display()));
    assert!(err.contains("gzip-compressed"), "{err}");
}

/// A classic `docker save` archive: `ID/layer.tar` members, one symlinked.
fn classic_docker_archive(dir: &Path) -> (PathBuf, Vec<u8>, String, String) {
    let layer_tar = {
        let mut t = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_ustar();
        h.set_size(2);
        h.set_mode(0o755);
        t.append_data(&mut h, "bin/app", &b"hi"[..]).unwrap();
        t.into_inner().unwrap()
    };
    let diff_id = sha256(&layer_tar);
    let cfg_amd = json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]}})
    .to_string();
    let cfg_arm = json!({"architecture": "arm64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]}})
    .to_string();
    let id_amd = sha256(cfg_amd.as_bytes());
    let id_arm = sha256(cfg_arm.as_bytes());
    let manifest = json!([
        {"Config": format!("{}.json", &id_amd[7..]), "RepoTags": ["one:latest"], "Layers": ["aaa/layer.tar"]},
        {"Config": format!("{}.json", &id_arm[7..]), "RepoTags": ["docker.io/library/two:1"], "Layers": ["bbb/layer.tar"]},
    ])
    .to_string();
    let path = dir.join("docker.tar");
    let mut b = tar::Builder::new(fs::File::create(&path).unwrap());
    let mut add = |name: &str, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, data).unwrap();
    };
    add("aaa/layer.tar", &layer_tar);
    add(&format!("{}.json", &id_amd[7..]), cfg_amd.as_bytes());
    add(&format!("{}.json", &id_arm[7..]), cfg_arm.as_bytes());
    add("manifest.json", manifest.as_bytes());
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_size(0);
    b.append_link(&mut h, "bbb/layer.tar", "../aaa/layer.tar")
        .unwrap();
    b.finish().unwrap();
    drop(b);
    (path, layer_tar, id_amd, id_arm)
}

#[test]
fn docker_archive_classic() {
    let tmp = tempfile::tempdir().unwrap();
    let (path, layer_tar, id_amd, id_arm) = classic_docker_archive(tmp.path());
    let p = path.display();

    let err = open_err(&format!("docker-archive:{p}"));
    assert!(
        err.contains("2 images") && err.contains("one:latest, two:1"),
        "{err}"
    );

    let img = open_ok(&format!("docker-archive:{p}:two:1"));
    assert_eq!(img.digest, id_arm);
    assert_eq!(img.platforms[0].platform, plat("linux/arm64"));
    let layers = blob_layers(&img.platforms[0]);
    assert_eq!(layers[0].digest, sha256(&layer_tar));
    assert_eq!(
        layers[0].media_type,
        "application/vnd.docker.image.rootfs.diff.tar"
    );
    assert_eq!(read_blob(&img, &layers[0].digest).unwrap(), layer_tar);

    let img = open_ok(&format!("docker-archive:{p}:@0"));
    assert_eq!(img.digest, id_amd);
    let img = open_ok(&format!("docker-archive:{p}:one"));
    assert_eq!(img.digest, id_amd);
    let err = open_err(&format!("docker-archive:{p}:@2"));
    assert!(err.contains("out of range"), "{err}");
    let err = open_err(&format!("docker-archive:{p}:three:1"));
    assert!(err.contains("no image is tagged three:1"), "{err}");
    // Bare path: a tar holding manifest.json.
    let err = open_err(&p.to_string());
    assert!(err.contains("2 images"), "{err}");
}

#[test]
fn docker_archive_layer_checked_against_diff_id() {
    let tmp = tempfile::tempdir().unwrap();
    let layer_tar = vec![0u8; 1024];
    let wrong = sha256(b"something else");
    let cfg = json!({"architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [wrong]}})
    .to_string();
    let manifest =
        json!([{"Config": "config.json", "RepoTags": null, "Layers": ["l/layer.tar"]}]).to_string();
    let path = tmp.path().join("d.tar");
    let mut b = tar::Builder::new(fs::File::create(&path).unwrap());
    for (name, data) in [
        ("l/layer.tar", &layer_tar[..]),
        ("config.json", cfg.as_bytes()),
        ("manifest.json", manifest.as_bytes()),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_size(data.len() as u64);
        b.append_data(&mut h, name, data).unwrap();
    }
    b.finish().unwrap();
    drop(b);
    let img = open_ok(&format!("docker-archive:{}", path.display()));
    assert_eq!(img.digest, sha256(cfg.as_bytes()));
    let err = read_blob(&img, &wrong).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
}

#[test]
fn dir_needs_a_platform() {
    let tmp = tempfile::tempdir().unwrap();
    fs::create_dir(tmp.path().join("usr")).unwrap();
    let reference = format!("dir:{}", tmp.path().display());
    let err = open_err(&reference);
    assert!(err.ends_with("dir: needs --platform"), "{err}");
    let options = OpenOptions {
        platform: Some(plat("linux/arm64")),
        ..OpenOptions::default()
    };
    let img = open(&reference, &options).unwrap();
    assert_eq!(img.digest, "");
    assert_eq!(img.platforms[0].platform, plat("linux/arm64"));
    assert_eq!(
        img.platforms[0].layers,
        Layers::Directory(tmp.path().to_path_buf())
    );
    // Bare path: a directory with usr/.
    let bare = open(&tmp.path().display().to_string(), &options).unwrap();
    assert_eq!(
        bare.platforms[0].layers,
        Layers::Directory(tmp.path().to_path_buf())
    );
}

#[test]
fn bare_strings_that_are_not_paths() {
    // Reads like a path: never sent to a registry.
    let err = open_err("./alpine:3.19-definitely-not-here");
    assert!(
        err.contains("no such file or directory, and not an image reference either"),
        "{err}"
    );
    let err = open_err("docker://Not A Reference");
    assert!(err.contains("not a valid image reference"), "{err}");
    let tmp = tempfile::tempdir().unwrap();
    let err = open_err(&tmp.path().display().to_string());
    assert!(err.contains("neither an OCI layout"), "{err}");
    let junk = tmp.path().join("junk");
    fs::write(&junk, vec![b'x'; 2048]).unwrap();
    assert!(open(&junk.display().to_string(), &OpenOptions::default()).is_err());
}

// ---- real tools ----

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e} (is the tool installed?)"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An arm64 image with one file, written by umoci.
fn umoci_layout(dir: &Path) -> PathBuf {
    let layout = dir.join("umoci");
    let image = format!("{}:v1", layout.display());
    run(Command::new("umoci")
        .args(["init", "--layout"])
        .arg(&layout));
    run(Command::new("umoci").args(["new", "--image", &image]));
    let file = dir.join("hello");
    fs::write(&file, b"hello\n").unwrap();
    run(Command::new("umoci")
        .args(["insert", "--image", &image])
        .arg(&file)
        .arg("/bin/hello"));
    run(Command::new("umoci").args([
        "config",
        "--image",
        &image,
        "--architecture",
        "arm64",
        "--config.env",
        "PATH=/bin",
        "--config.entrypoint",
        "/bin/hello",
    ]));
    layout
}

/// The digest umoci's index.json gives the tag, read independently.
fn tagged_digest(layout: &Path, tag: &str) -> String {
    let index: Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .map(digest_of)
        .unwrap()
}

/// Member names of a gzip'd tar. `umoci insert` writes the last member's
/// data without padding or end-of-archive blocks (GNU tar reports an
/// unexpected EOF too), so reading stops quietly at the first error.
fn gunzip_names(bytes: &[u8]) -> Vec<String> {
    let mut t = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    t.entries()
        .unwrap()
        .map_while(|e| e.ok().map(|e| e.path().unwrap().display().to_string()))
        .collect()
}

#[test]
fn umoci_layout_opens() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = umoci_layout(tmp.path());
    let expected = tagged_digest(&layout, "v1");
    for reference in [
        format!("oci:{}:v1", layout.display()),
        format!("oci:{}", layout.display()),
        layout.display().to_string(),
        format!("{}:v1", layout.display()),
    ] {
        let img = open_ok(&reference);
        assert_eq!(img.digest, expected, "{reference}");
        let p = &img.platforms[0];
        assert_eq!(p.platform, plat("linux/arm64"));
        assert_eq!(p.config.env, ["PATH=/bin"]);
        assert_eq!(p.config.entrypoint, Some(vec!["/bin/hello".to_string()]));
        let layers = blob_layers(p);
        // umoci new writes no layer; umoci insert adds one.
        assert_eq!(layers.len(), 1);
        let bytes = read_blob(&img, &layers[0].digest).unwrap();
        assert!(
            gunzip_names(&bytes)
                .iter()
                .any(|n| n.ends_with("bin/hello"))
        );
    }
}

#[test]
fn skopeo_archives_open() {
    let tmp = tempfile::tempdir().unwrap();
    let layout = umoci_layout(tmp.path());
    let src = format!("oci:{}:v1", layout.display());
    let docker = tmp.path().join("docker.tar");
    let oci = tmp.path().join("oci.tar");
    run(Command::new("skopeo").args([
        "copy",
        "-q",
        &src,
        &format!("docker-archive:{}:example/app:v1", docker.display()),
    ]));
    run(Command::new("skopeo").args([
        "copy",
        "-q",
        &src,
        &format!("oci-archive:{}:v1", oci.display()),
    ]));

    // The layer's diff_id, from the config umoci wrote.
    let manifest_digest = tagged_digest(&layout, "v1");
    let manifest: Value = serde_json::from_slice(
        &fs::read(layout.join("blobs/sha256").join(&manifest_digest[7..])).unwrap(),
    )
    .unwrap();
    let config_digest = digest_of(&manifest["config"]);
    let config: Value = serde_json::from_slice(
        &fs::read(layout.join("blobs/sha256").join(&config_digest[7..])).unwrap(),
    )
    .unwrap();
    let diff_id = config["rootfs"]["diff_ids"][0]
        .as_str()
        .unwrap()
        .to_string();

    for reference in [
        format!("docker-archive:{}", docker.display()),
        format!("docker-archive:{}:example/app:v1", docker.display()),
        format!("docker-archive:{}:@0", docker.display()),
        docker.display().to_string(),
    ] {
        let img = open_ok(&reference);
        let p = &img.platforms[0];
        assert_eq!(p.platform, plat("linux/arm64"), "{reference}");
        assert_eq!(p.config.entrypoint, Some(vec!["/bin/hello".to_string()]));
        let layers = blob_layers(p);
        assert_eq!(layers.len(), 1);
        assert_eq!(layers[0].digest, diff_id);
        let bytes = read_blob(&img, &diff_id).unwrap();
        let names: Vec<String> = tar::Archive::new(&bytes[..])
            .entries()
            .unwrap()
            .map_while(|e| e.ok().map(|e| e.path().unwrap().display().to_string()))
            .collect();
        assert!(names.iter().any(|n| n.ends_with("bin/hello")), "{names:?}");
    }
    let err = open_err(&format!("docker-archive:{}:other:v1", docker.display()));
    assert!(err.contains("example/app:v1"), "{err}");

    for reference in [
        format!("oci-archive:{}:v1", oci.display()),
        format!("oci-archive:{}", oci.display()),
        oci.display().to_string(),
    ] {
        let img = open_ok(&reference);
        // skopeo copies the manifest byte for byte, so its digest is kept.
        assert_eq!(img.digest, manifest_digest, "{reference}");
        let p = &img.platforms[0];
        assert_eq!(p.platform, plat("linux/arm64"));
        let layers = blob_layers(p);
        let bytes = read_blob(&img, &layers[0].digest).unwrap();
        assert!(
            gunzip_names(&bytes)
                .iter()
                .any(|n| n.ends_with("bin/hello"))
        );
    }
}

/// Docker 25+ `docker save`: an OCI layout and a manifest.json in one tar.
fn docker25_archive(names: bool) -> (Layout, PathBuf, Value, Value, Value) {
    let l = Layout::new();
    let (layer, gz) = l.layer(&[("bin/x", b"x")]);
    let mut plain = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut plain)
        .unwrap();
    let rootfs = json!({"type": "layers", "diff_ids": [sha256(&plain)]});
    let config = l.config(json!({"architecture": "amd64", "os": "linux", "rootfs": rootfs}));
    let one = l.manifest(config.clone(), vec![layer.clone()]);
    let config2 = l.config(json!({"architecture": "arm64", "os": "linux", "rootfs": rootfs}));
    let two = l.manifest(config2.clone(), vec![layer.clone()]);
    let annotate = |mut d: Value, name: &str, tag: &str| {
        if names {
            d["annotations"] = json!({"io.containerd.image.name": name,
                "org.opencontainers.image.ref.name": tag});
        }
        d
    };
    l.write_index(vec![
        annotate(one.clone(), "docker.io/library/app:v1", "v1"),
        annotate(two.clone(), "docker.io/library/app:v2", "v2"),
    ]);
    let entry = |config: &Value, tag: &str| {
        json!({"Config": format!("blobs/sha256/{}", &digest_of(config)[7..]),
               "RepoTags": [tag],
               "Layers": [format!("blobs/sha256/{}", &digest_of(&layer)[7..])]})
    };
    let manifest = json!([entry(&config, "app:v1"), entry(&config2, "app:v2")]);
    fs::write(l.root.join("manifest.json"), manifest.to_string()).unwrap();
    let tar = l.archive();
    (l, tar, one, two, layer)
}

#[test]
fn docker25_archive_prefers_the_oci_index() {
    let (_l, tar, one, two, _) = docker25_archive(true);
    let img = open_ok(&format!("docker-archive:{}:app:v2", tar.display()));
    // Found through index.json: the digest is the manifest's, not the config's.
    assert_eq!(img.digest, digest_of(&two));
    assert_eq!(img.platforms[0].platform, plat("linux/arm64"));
    let img = open_ok(&format!("docker-archive:{}:@0", tar.display()));
    assert_eq!(img.digest, digest_of(&one));
    // A bare path holding both manifest.json and oci-layout is a docker archive.
    let err = open_err(&tar.display().to_string());
    assert!(err.contains("manifest.json lists 2 images"), "{err}");
}

#[test]
fn docker25_archive_without_names_falls_back_to_manifest_json() {
    let (_l, tar, _, _, layer) = docker25_archive(false);
    let img = open_ok(&format!("docker-archive:{}:app:v1", tar.display()));
    let p = &img.platforms[0];
    assert_eq!(p.platform, plat("linux/amd64"));
    let layers = blob_layers(p);
    // The blob is named by its own (compressed) digest and sniffed as gzip.
    assert_eq!(layers[0].digest, digest_of(&layer));
    assert_eq!(
        layers[0].media_type,
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    );
    assert!(read_blob(&img, &layers[0].digest).is_ok());
}
