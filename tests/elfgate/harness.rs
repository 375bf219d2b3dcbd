//! Runs the built binary with a clean environment, and writes images.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// What one run of `elfgate` did.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// Findings of the first image as (platform, rule, path) triples.
    pub fn findings(&self) -> Vec<(String, String, String, String)> {
        let doc = self.json();
        doc["images"][0]["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| {
                let s = |k: &str| f[k].as_str().unwrap_or("-").to_string();
                (s("platform"), s("severity"), s("rule"), s("path"))
            })
            .collect()
    }
}

/// Runs `elfgate ARGS` with an empty environment (stdout is a pipe, so the
/// default format is JSON).
pub fn elfgate(args: &[&str]) -> Run {
    Run::of(elfgate_command(args))
}

/// `elfgate ARGS` with an empty environment, to adjust before [`Run::of`].
pub fn elfgate_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_elfgate"));
    cmd.args(args).env_clear();
    cmd
}

impl Run {
    /// Runs `cmd` to completion and keeps its status and output.
    pub fn of(mut cmd: Command) -> Run {
        let out = cmd.output().expect("run elfgate");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Where `testdata/build-fixtures.sh` put the heavy fixtures.
pub fn fixtures() -> PathBuf {
    if let Some(dir) = std::env::var_os("ELFGATE_FIXTURES") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").expect("HOME or ELFGATE_FIXTURES");
    PathBuf::from(home).join(".cache/elfgate-fixtures")
}

/// A fixture path that must exist (the test command builds them first).
pub fn fixture(rel: &str) -> String {
    let p = fixtures().join(rel);
    assert!(
        p.exists(),
        "{} is missing: run testdata/build-fixtures.sh first",
        p.display()
    );
    p.to_string_lossy().into_owned()
}

/// The repository's `testdata/` folder.
pub fn testdata(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

/// One tar entry of a layer.
pub enum Item {
    File(&'static str, u32, Vec<u8>),
    Dir(&'static str),
    Symlink(&'static str, &'static str),
    HardLink(&'static str, &'static str),
    /// A regular file whose header name is written byte for byte, so that it
    /// can hold what `tar::Builder` refuses (`/abs`, `../x`).
    RawName(&'static [u8], u32, Vec<u8>),
}

/// How a layer blob is compressed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Codec {
    #[default]
    Gzip,
    Zstd,
    Plain,
}

/// A layer: its entries, gzip-compressed when written.
#[derive(Default)]
pub struct LayerSpec {
    items: Vec<Item>,
    codec: Codec,
    /// Keep only this many bytes of the compressed blob (the digest is of what is kept).
    truncate: Option<usize>,
}

impl LayerSpec {
    pub fn file(mut self, path: &'static str, mode: u32, bytes: impl Into<Vec<u8>>) -> Self {
        self.items.push(Item::File(path, mode, bytes.into()));
        self
    }
    pub fn dir(mut self, path: &'static str) -> Self {
        self.items.push(Item::Dir(path));
        self
    }
    pub fn symlink(mut self, path: &'static str, target: &'static str) -> Self {
        self.items.push(Item::Symlink(path, target));
        self
    }
    pub fn hardlink(mut self, path: &'static str, target: &'static str) -> Self {
        self.items.push(Item::HardLink(path, target));
        self
    }

    /// A regular file with a verbatim header name (absolute, `..`, ...).
    pub fn raw_name_file(
        mut self,
        name: &'static [u8],
        mode: u32,
        bytes: impl Into<Vec<u8>>,
    ) -> Self {
        self.items.push(Item::RawName(name, mode, bytes.into()));
        self
    }
    /// A copy of the host file `host` (a symlink stays a symlink; mode kept).
    pub fn host_file(self, path: &'static str, host: impl AsRef<Path>) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let host = host.as_ref();
        let meta =
            std::fs::symlink_metadata(host).unwrap_or_else(|e| panic!("{}: {e}", host.display()));
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(host).unwrap();
            let target: &'static str =
                Box::leak(target.to_string_lossy().into_owned().into_boxed_str());
            return self.symlink(path, target);
        }
        let bytes = std::fs::read(host).unwrap();
        self.file(path, meta.permissions().mode() & 0o7777, bytes)
    }
    /// Compress the blob with `codec` instead of gzip.
    pub fn codec(mut self, codec: Codec) -> Self {
        self.codec = codec;
        self
    }
    /// Cut the compressed blob to its first `len` bytes.
    pub fn truncate(mut self, len: usize) -> Self {
        self.truncate = Some(len);
        self
    }

    /// The blob bytes and their media type.
    pub fn blob(&self) -> (Vec<u8>, &'static str) {
        let tar = self.tar();
        let (mut bytes, media_type) = match self.codec {
            Codec::Gzip => {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(&tar).unwrap();
                (
                    gz.finish().unwrap(),
                    "application/vnd.oci.image.layer.v1.tar+gzip",
                )
            }
            Codec::Zstd => (
                zstd::encode_all(tar.as_slice(), 3).unwrap(),
                "application/vnd.oci.image.layer.v1.tar+zstd",
            ),
            Codec::Plain => (tar, "application/vnd.oci.image.layer.v1.tar"),
        };
        if let Some(len) = self.truncate {
            bytes.truncate(len);
        }
        (bytes, media_type)
    }

    /// The uncompressed tar stream.
    pub fn tar(&self) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for item in &self.items {
            let mut h = tar::Header::new_gnu();
            h.set_mtime(0);
            h.set_uid(0);
            h.set_gid(0);
            match item {
                Item::File(path, mode, bytes) => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_mode(*mode);
                    h.set_size(bytes.len() as u64);
                    b.append_data(&mut h, path, bytes.as_slice()).unwrap();
                }
                Item::Dir(path) => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_mode(0o755);
                    h.set_size(0);
                    b.append_data(&mut h, path, std::io::empty()).unwrap();
                }
                Item::Symlink(path, target) | Item::HardLink(path, target) => {
                    h.set_entry_type(if matches!(item, Item::Symlink(..)) {
                        tar::EntryType::Symlink
                    } else {
                        tar::EntryType::Link
                    });
                    h.set_mode(0o777);
                    h.set_size(0);
                    b.append_link(&mut h, path, target).unwrap();
                }
                Item::RawName(name, mode, bytes) => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_mode(*mode);
                    h.set_size(bytes.len() as u64);
                    let field = &mut h.as_old_mut().name;
                    assert!(name.len() < field.len(), "raw name too long");
                    field[..name.len()].copy_from_slice(name);
                    h.set_cksum();
                    b.append(&h, bytes.as_slice()).unwrap();
                }
            }
        }
        b.into_inner().unwrap()
    }
}

/// One platform's manifest.
pub struct ManifestSpec {
    pub platform: (&'static str, &'static str, Option<&'static str>),
    /// Overrides the config's architecture (for label mismatches).
    pub config_arch: Option<&'static str>,
    pub env: Vec<String>,
    pub entrypoint: Option<Vec<String>>,
    pub cmd: Option<Vec<String>>,
    pub working_dir: Option<String>,
    pub layers: Vec<LayerSpec>,
}

impl ManifestSpec {
    pub fn new(os: &'static str, arch: &'static str, variant: Option<&'static str>) -> Self {
        ManifestSpec {
            platform: (os, arch, variant),
            config_arch: None,
            env: vec!["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()],
            entrypoint: None,
            cmd: None,
            working_dir: None,
            layers: Vec::new(),
        }
    }
    pub fn layer(mut self, l: LayerSpec) -> Self {
        self.layers.push(l);
        self
    }
    pub fn entrypoint(mut self, argv: &[&str]) -> Self {
        self.entrypoint = Some(argv.iter().map(|s| s.to_string()).collect());
        self
    }
    pub fn cmd(mut self, argv: &[&str]) -> Self {
        self.cmd = Some(argv.iter().map(|s| s.to_string()).collect());
        self
    }
    pub fn working_dir(mut self, dir: &str) -> Self {
        self.working_dir = Some(dir.to_string());
        self
    }
    /// Replaces the config's `Env` (PATH included).
    pub fn env(mut self, vars: &[&str]) -> Self {
        self.env = vars.iter().map(|s| s.to_string()).collect();
        self
    }
    /// Sets the config's `architecture`, unlike the index's platform.
    pub fn config_arch(mut self, arch: &'static str) -> Self {
        self.config_arch = Some(arch);
        self
    }
}

/// Writes an OCI image layout with an index of the given manifests, tag `latest`.
pub struct ImageBuilder {
    pub manifests: Vec<ManifestSpec>,
}

fn sha(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn put_blob(dir: &Path, bytes: &[u8]) -> String {
    let digest = sha(bytes);
    let path = dir.join("blobs/sha256").join(&digest["sha256:".len()..]);
    std::fs::write(path, bytes).unwrap();
    digest
}

impl ImageBuilder {
    pub fn new() -> Self {
        ImageBuilder {
            manifests: Vec::new(),
        }
    }
    pub fn manifest(mut self, m: ManifestSpec) -> Self {
        self.manifests.push(m);
        self
    }

    /// Writes the layout into `dir` and returns `oci:DIR:latest`.
    pub fn write(&self, dir: &Path) -> String {
        std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
        std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
        let mut descs = Vec::new();
        for m in &self.manifests {
            let mut layers = Vec::new();
            let mut diff_ids = Vec::new();
            for l in &m.layers {
                diff_ids.push(sha(&l.tar()));
                let (blob, media_type) = l.blob();
                let digest = put_blob(dir, &blob);
                layers.push(json!({
                    "mediaType": media_type,
                    "digest": digest, "size": blob.len()}));
            }
            let (os, arch, variant) = m.platform;
            let mut config = json!({
                "architecture": m.config_arch.unwrap_or(arch), "os": os,
                "config": {"Env": m.env, "Entrypoint": m.entrypoint},
                "rootfs": {"type": "layers", "diff_ids": diff_ids}});
            if let Some(v) = variant {
                config["variant"] = json!(v);
            }
            if let Some(cmd) = &m.cmd {
                config["config"]["Cmd"] = json!(cmd);
            }
            if let Some(wd) = &m.working_dir {
                config["config"]["WorkingDir"] = json!(wd);
            }
            let config = serde_json::to_vec(&config).unwrap();
            let config_digest = put_blob(dir, &config);
            let manifest = serde_json::to_vec(&json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": config_digest, "size": config.len()},
                "layers": layers}))
            .unwrap();
            let digest = put_blob(dir, &manifest);
            let mut platform = json!({"os": os, "architecture": arch});
            if let Some(v) = variant {
                platform["variant"] = json!(v);
            }
            descs.push(
                json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": digest, "size": manifest.len(), "platform": platform}),
            );
        }
        let index = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": descs}))
        .unwrap();
        let index_digest = put_blob(dir, &index);
        let top = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json",
                "digest": index_digest, "size": index.len(),
                "annotations": {"org.opencontainers.image.ref.name": "latest"}}]});
        std::fs::write(dir.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();
        format!("oci:{}:latest", dir.display())
    }
}
