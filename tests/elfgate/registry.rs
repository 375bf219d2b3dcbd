//! Registry images: a real registry (Debian's `docker-registry`, the CNCF
//! distribution registry) started on 127.0.0.1 for what a registry does, and
//! an in-process fake for what a real one will not do (wrong digests,
//! truncated blobs, 401 forever, 429, stalls, redirects). Only loopback
//! addresses are ever contacted.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{ImageBuilder, LayerSpec, ManifestSpec, Run, fixture};

// ---------------------------------------------------------------- running

/// Runs `elfgate ARGS` with a clean environment plus `env`, feeding `stdin`.
pub(crate) fn run(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_elfgate"));
    cmd.args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run elfgate");
    {
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn scan(args: &[&str]) -> Run {
    let mut all = vec!["scan"];
    all.extend_from_slice(args);
    run(&all, &[], None)
}

/// The report without what names where the image came from.
fn normalized(run: &Run) -> Value {
    let mut doc = run.json();
    for image in doc["images"].as_array_mut().expect("images") {
        image["reference"] = Value::Null;
    }
    doc
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tool(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

pub(crate) fn sh(cmd: &mut Command) {
    let out = cmd.output().expect("run tool");
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ---------------------------------------------------------------- the real registry

/// A `docker-registry` on 127.0.0.1, stopped when dropped.
pub(crate) struct Registry {
    child: Child,
    port: u16,
    log: PathBuf,
    dir: tempfile::TempDir,
    /// The CA that signed its certificate, when it speaks TLS.
    ca: Option<PathBuf>,
    creds: Option<(String, String)>,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    /// Plain http, anonymous.
    pub(crate) fn plain() -> Registry {
        Registry::start(false, "")
    }

    /// Plain http, anonymous, sending its notifications as `extra` (YAML
    /// at the top level of the configuration) says.
    pub(crate) fn plain_with(extra: &str) -> Registry {
        Registry::start(false, extra)
    }

    /// TLS with a certificate of a CA made here, and htpasswd authentication.
    fn tls_with_auth() -> Registry {
        Registry::start(true, "")
    }

    fn start(secure: bool, top_level: &str) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let d = dir.path();
        let mut extra = String::new();
        let mut ca = None;
        let mut creds = None;
        if secure {
            make_certificates(d);
            let out = Command::new("htpasswd")
                .args(["-Bbn", "tester", "pa55:word"])
                .output()
                .expect("htpasswd (apache2-utils) is needed");
            assert!(out.status.success());
            std::fs::write(d.join("htpasswd"), &out.stdout).unwrap();
            extra = format!(
                "  tls:\n    certificate: {0}/server.crt\n    key: {0}/server.key\n\
                 auth:\n  htpasswd:\n    realm: elfgate-test\n    path: {0}/htpasswd\n",
                d.display()
            );
            ca = Some(d.join("ca.crt"));
            creds = Some(("tester".to_string(), "pa55:word".to_string()));
        }
        let config = format!(
            "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n\
             storage:\n  filesystem:\n    rootdirectory: {}/data\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n{extra}{top_level}",
            d.display()
        );
        std::fs::write(d.join("config.yml"), config).unwrap();
        let log = d.join("registry.log");
        let child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(d.join("config.yml"))
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(d.join("registry.err")).unwrap())
            .spawn()
            .expect("start docker-registry");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "docker-registry did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Registry {
            child,
            port,
            log,
            dir,
            ca,
            creds,
        }
    }

    pub(crate) fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Pushes an OCI layout reference (`oci:DIR:TAG`) as `NAME:TAG`, every platform.
    pub(crate) fn push(&self, source: &str, name: &str) -> String {
        let dest = format!("docker://{}/{name}", self.host());
        let mut cmd = Command::new("skopeo");
        cmd.args(["copy", "--all", "--quiet"]);
        match (&self.ca, &self.creds) {
            (Some(_), Some((u, p))) => {
                let certs = self.dir.path().join("certs");
                std::fs::create_dir_all(&certs).unwrap();
                std::fs::copy(self.ca.as_ref().unwrap(), certs.join("ca.crt")).unwrap();
                cmd.arg(format!("--dest-cert-dir={}", certs.display()))
                    .arg(format!("--dest-creds={u}:{p}"));
            }
            _ => {
                cmd.arg("--dest-tls-verify=false");
            }
        }
        sh(cmd.arg(source).arg(&dest));
        format!("{}/{name}", self.host())
    }

    /// The access log's GET requests whose path contains `needle`.
    fn gets(&self, needle: &str) -> usize {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default()
            + &std::fs::read_to_string(self.dir.path().join("registry.err")).unwrap_or_default();
        text.lines()
            .filter(|l| l.contains("\"GET ") && l.contains(needle) && l.contains("\" 200 "))
            .count()
    }
}

fn make_certificates(d: &Path) {
    let ext = d.join("server.ext");
    std::fs::write(
        &ext,
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    sh(Command::new("openssl")
        .args(["req", "-x509"])
        .args(ec)
        .args(["-days", "2", "-subj", "/CN=elfgate test CA"])
        .arg("-keyout")
        .arg(d.join("ca.key"))
        .arg("-out")
        .arg(d.join("ca.crt")));
    sh(Command::new("openssl")
        .arg("req")
        .args(ec)
        .args(["-subj", "/CN=127.0.0.1"])
        .arg("-keyout")
        .arg(d.join("server.key"))
        .arg("-out")
        .arg(d.join("server.csr")));
    sh(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-CAcreateserial"])
        .arg("-in")
        .arg(d.join("server.csr"))
        .arg("-CA")
        .arg(d.join("ca.crt"))
        .arg("-CAkey")
        .arg(d.join("ca.key"))
        .arg("-out")
        .arg(d.join("server.crt"))
        .arg("-extfile")
        .arg(&ext));
}

/// The tests run the real tools; testdata/install-deps.sh installs them.
pub(crate) fn require_tools(names: &[&str]) {
    for name in names {
        assert!(
            tool(name),
            "{name} is not installed: run testdata/install-deps.sh (as root)"
        );
    }
}

pub(crate) fn layout(name: &str) -> String {
    format!("oci:{}:latest", fixture(&format!("images/{name}")))
}

// ---------------------------------------------------------------- real registry tests

#[test]
fn registry_scans_match_oci_layout_scans() {
    require_tools(&["docker-registry", "skopeo"]);
    let reg = Registry::plain();
    for name in [
        "consul-template",
        "tini-static",
        "no-arm64-manifest",
        "glibc-too-new",
        "bash-on-busybox",
        "bookworm-minbase",
    ] {
        let from_layout = scan(&[&layout(name), "--no-cache"]);
        assert!(
            from_layout.code == 0 || from_layout.code == 1,
            "{}",
            from_layout.stderr
        );
        let pushed = reg.push(&layout(name), &format!("{name}:latest"));
        let remote = scan(&[&format!("docker://{pushed}"), "--insecure", "--no-cache"]);
        assert_eq!(remote.code, from_layout.code, "{name}: {}", remote.stderr);
        // skopeo pushes a layout whose index.json names one manifest as a
        // single manifest, so only the wording of missing-platform may differ.
        assert_eq!(remote.findings(), from_layout.findings(), "{name}");
        let platforms = |r: &Run| r.json()["images"][0]["platforms"].clone();
        assert_eq!(platforms(&remote), platforms(&from_layout), "{name}");
        if name == "consul-template" {
            // A bare reference is the same image.
            let bare = scan(&[&pushed, "--insecure", "--no-cache"]);
            assert_eq!(normalized(&bare), normalized(&remote), "{name} (bare)");
        }
    }
}

#[test]
fn docker_schema2_manifest_list_gives_the_same_findings() {
    require_tools(&["docker-registry", "skopeo"]);
    let reg = Registry::plain();
    let dest = format!("docker://{}/ct-docker:v2", reg.host());
    sh(Command::new("skopeo").args([
        "copy",
        "--all",
        "--quiet",
        "--format",
        "v2s2",
        "--dest-tls-verify=false",
        &layout("consul-template"),
        &dest,
    ]));
    let raw = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false", &dest])
        .output()
        .unwrap();
    let top: Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(
        top["mediaType"],
        "application/vnd.docker.distribution.manifest.list.v2+json"
    );
    let remote = scan(&[&dest, "--insecure", "--no-cache"]);
    let local = scan(&[&layout("consul-template"), "--no-cache"]);
    assert_eq!(remote.code, local.code, "{}", remote.stderr);
    assert_eq!(remote.findings(), local.findings());
    // The conversion changes manifest digests, nothing else.
    let strip = |r: &Run| {
        let mut doc = normalized(r);
        let image = &mut doc["images"][0];
        image["digest"] = Value::Null;
        for p in image["platforms"].as_array_mut().unwrap() {
            p["manifest_digest"] = Value::Null;
        }
        doc
    };
    assert_eq!(strip(&remote), strip(&local));
}

#[test]
fn a_plain_http_registry_needs_insecure_from_the_flag_or_the_configuration() {
    require_tools(&["docker-registry", "skopeo"]);
    let reg = Registry::plain();
    let pushed = reg.push(&layout("consul-template"), "ct:1");
    let reference = format!("docker://{pushed}");
    let run = scan(&[&reference, "--no-cache", "--retry-times", "0"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(&reg.host()), "{}", run.stderr);

    let with_flag = scan(&[&reference, "--insecure", "--no-cache"]);
    assert!(with_flag.code <= 1, "{}", with_flag.stderr);
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join(".elfgate.toml");
    let conf_arg = conf.to_str().unwrap();
    std::fs::write(
        &conf,
        format!("[registries.\"{}\"]\ninsecure = true\n", reg.host()),
    )
    .unwrap();
    let configured = scan(&[&reference, "--config", conf_arg, "--no-cache"]);
    assert_eq!(configured.code, with_flag.code, "{}", configured.stderr);
    assert_eq!(normalized(&configured), normalized(&with_flag));

    // An entry for another registry does not apply; `insecure = false` is
    // overridden by the flag.
    std::fs::write(
        &conf,
        format!(
            "[registries.\"127.0.0.1:1\"]\ninsecure = true\n[registries.\"{}\"]\ninsecure = false\n",
            reg.host()
        ),
    )
    .unwrap();
    let refused = scan(&[
        &reference,
        "--config",
        conf_arg,
        "--no-cache",
        "--retry-times",
        "0",
    ]);
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains(&reg.host()), "{}", refused.stderr);
    let flag_wins = scan(&[&reference, "--config", conf_arg, "--insecure", "--no-cache"]);
    assert_eq!(
        normalized(&flag_wins),
        normalized(&with_flag),
        "{}",
        flag_wins.stderr
    );
}

#[test]
fn unknown_tag_is_a_clear_404() {
    require_tools(&["docker-registry", "skopeo"]);
    let reg = Registry::plain();
    reg.push(&layout("consul-template"), "ct:1");
    let run = scan(&[
        &format!("docker://{}/ct:nope", reg.host()),
        "--insecure",
        "--no-cache",
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("not found"), "{}", run.stderr);
    assert!(run.stderr.contains("tag nope"), "{}", run.stderr);
}

#[test]
fn tls_registry_with_htpasswd_auth() {
    require_tools(&["docker-registry", "skopeo", "htpasswd", "openssl"]);
    let reg = Registry::tls_with_auth();
    let pushed = reg.push(&layout("consul-template"), "secure/ct:v1");
    let expected = normalized(&scan(&[&layout("consul-template"), "--no-cache"]));
    let ca = reg.ca.clone().unwrap();
    let ca = ca.to_str().unwrap();
    let reference = format!("docker://{pushed}");

    // --username with --password-stdin.
    let ok = run(
        &[
            "scan",
            &reference,
            "--ca-file",
            ca,
            "--no-cache",
            "--username",
            "tester",
            "--password-stdin",
        ],
        &[],
        Some("pa55:word\n"),
    );
    assert_eq!(ok.code, 1, "{}", ok.stderr);
    assert_eq!(normalized(&ok), expected);

    // An auth file named by REGISTRY_AUTH_FILE, as skopeo and podman read it.
    let tmp = tempfile::tempdir().unwrap();
    let authfile = tmp.path().join("auth.json");
    // base64("tester:pa55:word"), from the base64 tool.
    std::fs::write(
        &authfile,
        format!(
            r#"{{"auths":{{"{}":{{"auth":"dGVzdGVyOnBhNTU6d29yZA=="}}}}}}"#,
            reg.host()
        ),
    )
    .unwrap();
    let env = [("REGISTRY_AUTH_FILE", authfile.to_str().unwrap())];
    let ok = run(
        &["scan", &reference, "--ca-file", ca, "--no-cache"],
        &env,
        None,
    );
    assert_eq!(normalized(&ok), expected, "{}", ok.stderr);

    // Docker's config.json under $DOCKER_CONFIG.
    let docker = tmp.path().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::write(
        docker.join("config.json"),
        format!(
            r#"{{"auths":{{"https://{}":{{"auth":"dGVzdGVyOnBhNTU6d29yZA=="}}}}}}"#,
            reg.host()
        ),
    )
    .unwrap();
    let env = [("DOCKER_CONFIG", docker.to_str().unwrap())];
    let ok = run(
        &["scan", &reference, "--ca-file", ca, "--no-cache"],
        &env,
        None,
    );
    assert_eq!(normalized(&ok), expected, "{}", ok.stderr);

    // A credential helper named by credHelpers, found on PATH: it gets the
    // registry on stdin and prints the credentials as JSON.
    let helpers = tmp.path().join("bin");
    std::fs::create_dir_all(&helpers).unwrap();
    let helper = helpers.join("docker-credential-elfgatetest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\nread server\n[ \"$1\" = get ] && [ \"$server\" = {} ] || exit 1\n\
             echo '{{\"ServerURL\":\"'$server'\",\"Username\":\"tester\",\"Secret\":\"pa55:word\"}}'\n",
            reg.host()
        ),
    )
    .unwrap();
    sh(Command::new("chmod").arg("755").arg(&helper));
    let helped = tmp.path().join("helped");
    std::fs::create_dir_all(&helped).unwrap();
    std::fs::write(
        helped.join("config.json"),
        format!(r#"{{"credHelpers":{{"{}":"elfgatetest"}}}}"#, reg.host()),
    )
    .unwrap();
    let path = format!("{}:/usr/bin:/bin", helpers.display());
    let env = [
        ("DOCKER_CONFIG", helped.to_str().unwrap()),
        ("PATH", path.as_str()),
    ];
    let ok = run(
        &["scan", &reference, "--ca-file", ca, "--no-cache"],
        &env,
        None,
    );
    assert_eq!(normalized(&ok), expected, "{}", ok.stderr);

    // The CA named by the configuration for this registry (relative to the
    // file), or by --cert-dir as *.crt.
    let conf_dir = tmp.path().join("project");
    std::fs::create_dir_all(&conf_dir).unwrap();
    std::fs::copy(reg.ca.as_ref().unwrap(), conf_dir.join("registry-ca.pem")).unwrap();
    let conf = conf_dir.join(".elfgate.toml");
    std::fs::write(
        &conf,
        format!(
            "[registries.\"{}\"]\nca-file = \"registry-ca.pem\"\n",
            reg.host()
        ),
    )
    .unwrap();
    let certs = tmp.path().join("certs");
    std::fs::create_dir_all(&certs).unwrap();
    std::fs::copy(reg.ca.as_ref().unwrap(), certs.join("ca.crt")).unwrap();
    for (flag, value) in [("--config", &conf), ("--cert-dir", &certs)] {
        let value = value.to_str().unwrap();
        let ok = run(&["scan", &reference, flag, value, "--no-cache"], &env, None);
        assert_eq!(normalized(&ok), expected, "{flag}: {}", ok.stderr);
    }

    // No credentials: 401, named, with what was tried.
    let denied = scan(&[&reference, "--ca-file", ca, "--no-cache"]);
    assert_eq!(denied.code, 2);
    assert!(denied.stderr.contains("401"), "{}", denied.stderr);
    assert!(denied.stderr.contains("anonymous"), "{}", denied.stderr);

    // A wrong password: 401, and the secret is never printed.
    let wrong = run(
        &[
            "scan",
            &reference,
            "--ca-file",
            ca,
            "--no-cache",
            "--username",
            "tester",
            "--password-stdin",
        ],
        &[],
        Some("not-the-Secret-42"),
    );
    assert_eq!(wrong.code, 2);
    assert!(wrong.stderr.contains("401"), "{}", wrong.stderr);
    assert!(!wrong.stderr.contains("not-the-Secret-42"));
    assert!(!wrong.stdout.contains("not-the-Secret-42"));

    // An untrusted certificate is refused unless --insecure.
    let untrusted = run(
        &[
            "scan",
            &reference,
            "--no-cache",
            "--retry-times",
            "0",
            "--username",
            "tester",
            "--password-stdin",
        ],
        &[],
        Some("pa55:word"),
    );
    assert_eq!(untrusted.code, 2);
    assert!(
        untrusted.stderr.contains("certificate"),
        "{}",
        untrusted.stderr
    );
    let insecure = run(
        &[
            "scan",
            &reference,
            "--no-cache",
            "--insecure",
            "--username",
            "tester",
            "--password-stdin",
        ],
        &[],
        Some("pa55:word"),
    );
    assert_eq!(normalized(&insecure), expected, "{}", insecure.stderr);
}

#[test]
fn warm_cache_downloads_no_layer_and_concurrent_scans_share_it() {
    require_tools(&["docker-registry", "skopeo"]);
    let reg = Registry::plain();
    let pushed = reg.push(&layout("bash-on-busybox"), "bb:1");
    let reference = format!("docker://{pushed}");
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    let index: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{}/index.json", fixture("images/bash-on-busybox")))
            .unwrap(),
    )
    .unwrap();
    assert!(index["manifests"].is_array());

    let first = scan(&[&reference, "--insecure", "--cache-dir", cache_dir]);
    assert!(first.code <= 1, "{}", first.stderr);
    let layer_gets = |reg: &Registry| {
        let doc = first.json();
        let mut n = 0;
        for f in layer_digests(&doc, &reg.host(), "bb", "1") {
            n += reg.gets(&format!("/blobs/{f}"));
        }
        n
    };
    let before = layer_gets(&reg);
    assert!(before > 0, "the first scan downloads layers");
    let second = scan(&[&reference, "--insecure", "--cache-dir", cache_dir]);
    assert_eq!(normalized(&second), normalized(&first));
    assert_eq!(
        layer_gets(&reg),
        before,
        "the second scan downloaded a layer"
    );

    // Two scans at once on one fresh cache both succeed and agree.
    let shared = tempfile::tempdir().unwrap();
    let dir = shared.path().to_str().unwrap().to_string();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let reference = reference.clone();
            let dir = dir.clone();
            std::thread::spawn(move || scan(&[&reference, "--insecure", "--cache-dir", &dir]))
        })
        .collect();
    for h in handles {
        let r = h.join().unwrap();
        assert_eq!(r.code, first.code, "{}", r.stderr);
        assert_eq!(normalized(&r), normalized(&first));
    }
    let third = scan(&[&reference, "--insecure", "--cache-dir", &dir]);
    assert_eq!(normalized(&third), normalized(&first));
}

/// The layer digests of an image, read from the registry itself.
fn layer_digests(_doc: &Value, host: &str, name: &str, tag: &str) -> Vec<String> {
    let out = Command::new("skopeo")
        .args(["inspect", "--tls-verify=false", "--raw"])
        .arg(format!("docker://{host}/{name}:{tag}"))
        .output()
        .unwrap();
    let top: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut digests = Vec::new();
    let manifests: Vec<String> = match top["manifests"].as_array() {
        Some(list) => list
            .iter()
            .map(|m| m["digest"].as_str().unwrap().to_string())
            .collect(),
        None => {
            for l in top["layers"].as_array().unwrap() {
                digests.push(l["digest"].as_str().unwrap().to_string());
            }
            vec![]
        }
    };
    for m in manifests {
        let out = Command::new("skopeo")
            .args(["inspect", "--tls-verify=false", "--raw"])
            .arg(format!("docker://{host}/{name}@{m}"))
            .output()
            .unwrap();
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        for l in doc["layers"].as_array().unwrap() {
            digests.push(l["digest"].as_str().unwrap().to_string());
        }
    }
    digests.sort();
    digests.dedup();
    digests
}

// ---------------------------------------------------------------- the fake registry

/// What the fake does wrong.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    None,
    /// Layer blobs come back with one byte changed.
    WrongLayerBytes,
    /// Platform manifests come back with one byte changed.
    WrongManifestBytes,
    /// Layer blobs are cut after half their bytes, and the connection closed.
    TruncatedLayer,
    /// Every request: 401 with a Basic challenge.
    Unauthorized,
    /// Requests for `Limited` answered with this status line and
    /// `Retry-After` for two seconds after the first of them.
    RateLimited(&'static str, Limited),
    /// Layer blobs: headers, then nothing.
    Stall,
    /// Layer blobs: 307 to another path that serves them.
    Redirect,
}

/// What [`Fault::RateLimited`] refuses.
#[derive(Clone, Copy, PartialEq)]
enum Limited {
    Layers,
    TopManifest,
}

/// How long [`Fault::RateLimited`] refuses requests.
const RATE_LIMIT_WINDOW: Duration = Duration::from_secs(2);

/// What the fake saw and did, shared with its connection threads.
#[derive(Default)]
struct FakeLog {
    /// When each request arrived, with whether it was refused (429/503).
    timeline: Mutex<Vec<(Instant, String, bool)>>,
    /// Until when [`Fault::RateLimited`] refuses, once it started.
    limited_until: Mutex<Option<Instant>>,
}

/// An HTTP server on 127.0.0.1:0 serving an OCI layout as a registry.
struct Fake {
    port: u16,
    requests: Arc<Mutex<Vec<String>>>,
    log: Arc<FakeLog>,
    layers: Vec<String>,
    /// Platform manifests, in index order.
    manifests: Vec<String>,
}

struct Served {
    blobs: HashMap<String, Vec<u8>>,
    /// Tag → (bytes, media type) of the top document.
    top: (Vec<u8>, String),
    layers: Vec<String>,
    manifests: Vec<String>,
}

fn load_layout(dir: &Path) -> Served {
    let mut blobs = HashMap::new();
    for e in std::fs::read_dir(dir.join("blobs/sha256")).unwrap() {
        let e = e.unwrap();
        let hex = e.file_name().to_string_lossy().into_owned();
        blobs.insert(format!("sha256:{hex}"), std::fs::read(e.path()).unwrap());
    }
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let entry = &index["manifests"][0];
    let top_digest = entry["digest"].as_str().unwrap().to_string();
    let top_bytes = blobs[&top_digest].clone();
    let top_type = entry["mediaType"].as_str().unwrap().to_string();
    let mut layers = Vec::new();
    let mut manifests = Vec::new();
    let top_doc: Value = serde_json::from_slice(&top_bytes).unwrap();
    let list: Vec<String> = match top_doc["manifests"].as_array() {
        Some(l) => l
            .iter()
            .map(|m| m["digest"].as_str().unwrap().to_string())
            .collect(),
        None => vec![top_digest.clone()],
    };
    for m in list {
        let doc: Value = serde_json::from_slice(&blobs[&m]).unwrap();
        for l in doc["layers"].as_array().unwrap() {
            layers.push(l["digest"].as_str().unwrap().to_string());
        }
        manifests.push(m);
    }
    Served {
        blobs,
        top: (top_bytes, top_type),
        layers,
        manifests,
    }
}

impl Fake {
    fn start(dir: &Path, fault: Fault) -> Fake {
        let served = Arc::new(load_layout(dir));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let layers = served.layers.clone();
        let manifests = served.manifests.clone();
        let log = Arc::new(FakeLog::default());
        let shared = Arc::clone(&log);
        let plain = Arc::clone(&requests);
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { break };
                let served = Arc::clone(&served);
                let log = Arc::clone(&shared);
                let plain = Arc::clone(&plain);
                std::thread::spawn(move || {
                    let _ = serve(conn, &served, fault, &log, &plain);
                });
            }
        });
        Fake {
            port,
            requests,
            log,
            layers,
            manifests,
        }
    }

    fn reference(&self) -> String {
        format!("docker://127.0.0.1:{}/test/app:latest", self.port)
    }

    /// GET requests for layer blobs so far.
    fn layer_gets(&self) -> usize {
        let reqs = self.requests.lock().unwrap();
        reqs.iter()
            .filter(|r| {
                r.starts_with("GET ")
                    && r.contains("/blobs/")
                    && self.layers.iter().any(|l| r.contains(l.as_str()))
            })
            .count()
    }
}

fn respond(
    conn: &mut TcpStream,
    status: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    conn.write_all(head.as_bytes())?;
    conn.write_all(body)?;
    conn.flush()
}

fn serve(
    mut conn: TcpStream,
    served: &Served,
    fault: Fault,
    log: &FakeLog,
    plain: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let request = format!("{method} {path}");
    let arrived = Instant::now();
    plain.lock().unwrap().push(request.clone());

    if let Fault::RateLimited(status, what) = fault {
        let limited = match what {
            Limited::Layers => served
                .layers
                .iter()
                .any(|l| path == format!("/v2/test/app/blobs/{l}")),
            Limited::TopManifest => path == "/v2/test/app/manifests/latest",
        };
        let refuse_for = limited
            .then(|| {
                let mut until = log.limited_until.lock().unwrap();
                let until = *until.get_or_insert(arrived + RATE_LIMIT_WINDOW);
                until.checked_duration_since(arrived)
            })
            .flatten()
            .filter(|left| !left.is_zero());
        log.timeline
            .lock()
            .unwrap()
            .push((arrived, request, refuse_for.is_some()));
        if let Some(left) = refuse_for {
            // Whole seconds, rounded up: `2` for the first refusal.
            let secs = left.as_millis().div_ceil(1000);
            return respond(
                &mut conn,
                status,
                &[("Retry-After", secs.to_string())],
                br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#,
            );
        }
    }
    if method == "HEAD" {
        return respond(&mut conn, "200 OK", &[], b"");
    }

    if fault == Fault::Unauthorized {
        return respond(
            &mut conn,
            "401 Unauthorized",
            &[("WWW-Authenticate", "Basic realm=\"fake\"".to_string())],
            br#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
        );
    }
    if path == "/v2/" {
        return respond(&mut conn, "200 OK", &[], b"{}");
    }
    let blob_of = |p: &str| p.rsplit('/').next().unwrap_or("").to_string();
    if let Some(rest) = path.strip_prefix("/storage/") {
        let digest = format!("sha256:{rest}");
        return match served.blobs.get(&digest) {
            Some(b) => respond(&mut conn, "200 OK", &[], b),
            None => respond(&mut conn, "404 Not Found", &[], b""),
        };
    }
    if path.starts_with("/v2/test/app/manifests/") {
        let reference = blob_of(&path);
        let (mut bytes, media_type) = if reference == "latest" {
            served.top.clone()
        } else {
            let Some(b) = served.blobs.get(&reference) else {
                return respond(
                    &mut conn,
                    "404 Not Found",
                    &[],
                    br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}"#,
                );
            };
            let doc: Value = serde_json::from_slice(b).unwrap_or(Value::Null);
            let t = doc["mediaType"].as_str().unwrap_or("").to_string();
            (b.clone(), t)
        };
        if fault == Fault::WrongManifestBytes && served.manifests.contains(&reference) {
            // Same length, one byte different: a space in the JSON.
            if let Some(i) = bytes.iter().position(|&b| b == b':') {
                bytes.insert(i + 1, b' ');
            }
        }
        return respond(&mut conn, "200 OK", &[("Content-Type", media_type)], &bytes);
    }
    if path.starts_with("/v2/test/app/blobs/") {
        let digest = blob_of(&path);
        let Some(blob) = served.blobs.get(&digest) else {
            return respond(
                &mut conn,
                "404 Not Found",
                &[],
                br#"{"errors":[{"code":"BLOB_UNKNOWN","message":"unknown"}]}"#,
            );
        };
        let is_layer = served.layers.contains(&digest);
        if is_layer {
            match fault {
                Fault::WrongLayerBytes => {
                    let mut b = blob.clone();
                    let last = b.len() - 1;
                    b[last] ^= 0x55;
                    return respond(&mut conn, "200 OK", &[], &b);
                }
                Fault::TruncatedLayer => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                        blob.len()
                    );
                    conn.write_all(head.as_bytes())?;
                    conn.write_all(&blob[..blob.len() / 2])?;
                    return conn.flush();
                }
                Fault::Stall => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: {}\r\n\r\n",
                        blob.len()
                    );
                    conn.write_all(head.as_bytes())?;
                    conn.flush()?;
                    std::thread::sleep(Duration::from_secs(30));
                    return Ok(());
                }
                Fault::Redirect => {
                    return respond(
                        &mut conn,
                        "307 Temporary Redirect",
                        &[("Location", format!("/storage/{}", &digest[7..]))],
                        b"",
                    );
                }
                _ => {}
            }
        }
        return respond(&mut conn, "200 OK", &[], blob);
    }
    let mut rest = Vec::new();
    let _ = reader.read(&mut rest);
    respond(&mut conn, "404 Not Found", &[], b"")
}

/// A small two-platform image, written as an OCI layout.
fn small_image(dir: &Path) -> String {
    let sh = LayerSpec::default()
        .dir("bin")
        .file("bin/run", 0o755, "#!/bin/missing-shell\necho\n");
    ImageBuilder::new()
        .manifest(ManifestSpec::new("linux", "amd64", None).layer(sh))
        .manifest(
            ManifestSpec::new("linux", "arm64", None).layer(LayerSpec::default().dir("bin").file(
                "bin/run",
                0o755,
                "#!/bin/other-missing\necho\n",
            )),
        )
        .write(dir)
}

fn fake_args<'a>(reference: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![reference, "--insecure", "--no-cache", "--retry-times", "2"];
    v.extend_from_slice(extra);
    v
}

#[test]
fn fake_registry_serves_the_same_report() {
    let tmp = tempfile::tempdir().unwrap();
    let layout_ref = small_image(&tmp.path().join("img"));
    let fake = Fake::start(&tmp.path().join("img"), Fault::None);
    let reference = fake.reference();
    let remote = scan(&fake_args(&reference, &[]));
    let local = scan(&[&layout_ref, "--no-cache"]);
    assert_eq!(remote.code, local.code, "{}", remote.stderr);
    assert_eq!(normalized(&remote), normalized(&local));
    assert_eq!(fake.layer_gets(), fake.layers.len());
    // Not a terminal: no progress display, nothing on stderr.
    assert_eq!(remote.stderr, "");
}

#[test]
fn fake_registry_fetches_nothing_of_an_unselected_platform() {
    let tmp = tempfile::tempdir().unwrap();
    small_image(&tmp.path().join("img"));
    let fake = Fake::start(&tmp.path().join("img"), Fault::None);
    let reference = fake.reference();
    let run = scan(&fake_args(&reference, &["--platform", "linux/amd64"]));
    assert!(run.code <= 1, "{}", run.stderr);
    let platforms = run.json()["images"][0]["platforms"].clone();
    assert_eq!(platforms.as_array().unwrap().len(), 1);
    assert_eq!(platforms[0]["platform"], "linux/amd64");
    // The arm64 manifest (second in the index) and its layer were never asked for.
    let arm64 = &fake.manifests[1];
    let reqs = fake.requests.lock().unwrap().clone();
    assert!(!reqs.iter().any(|r| r.contains(arm64.as_str())), "{reqs:?}");
    assert_eq!(fake.layer_gets(), 1);
    // linux/arm64 is still known to be present: no missing-platform finding.
    assert!(
        !run.findings().iter().any(|f| f.2 == "missing-platform"),
        "{:?}",
        run.findings()
    );
}

#[test]
fn fake_registry_layer_with_wrong_bytes_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    small_image(&tmp.path().join("img"));
    let fake = Fake::start(&tmp.path().join("img"), Fault::WrongLayerBytes);
    let reference = fake.reference();
    let run = scan(&fake_args(&reference, &[]));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("digest"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "no report on a bad digest");
}

#[test]
fn fake_registry_manifest_with_wrong_bytes_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    small_image(&tmp.path().join("img"));
    let fake = Fake::start(&tmp.path().join("img"), Fault::WrongManifestBytes);
    let reference = fake.reference();
    let run = scan(&fake_args(&reference, &[]));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("manifest"), "{}", run.stderr);
    assert!(run.stderr.contains("digest"), "{}", run.stderr);
}

#[test]
fn fake_registry_truncated_layer_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    small_image(&tmp.path().join("img"));
    let fake = Fake::start(&tmp.path().join("img"), Fault::TruncatedLayer);
    let reference = fake.reference();
    let run = scan(&fake_args(&reference, &[]));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stdout.is_empty());
    // Retried (resuming), then given up.
    assert!(fake.layer_gets() > fake.layers.len(), "no retry happened");
}

#[test]
fn fake_registry_401_forever_names_what_was_tried() {
    let tmp = tempfile::tempdir().unwrap();
    small_image(&tmp.path().join("img"));
    let fake = Fake::start(&tmp.path().join("img"), Fault::Unauthorized);
    let reference = fake.reference();
    let run = run(
        &[
            "scan",
            &reference,
            "--insecure",
            "--no-cache",
            "--username",
            "someone",
            "--password-stdin",
        ],
        &[],
        Some("hunter2-secret"),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("401"), "{}", run.stderr);
    assert!(run.stderr.contains("someone"), "{}", run.stderr);
    assert!(!run.stderr.contains("hunter2-secret"), "{}", run.stderr);
}

#[test]
fn fake_registry_retry_after_is_honoured() {
    let tmp = tempfile::tempdir().unwrap();
    let layout_ref = small_image(&tmp.path().join("img"));
    let local = scan(&[&layout_ref, "--no-cache"]);
    for (status, what) in [
        ("429 Too Many Requests", Limited::Layers),
        ("503 Service Unavailable", Limited::TopManifest),
        ("429 Too Many Requests", Limited::TopManifest),
    ] {
        let fake = Fake::start(&tmp.path().join("img"), Fault::RateLimited(status, what));
        let reference = fake.reference();
        // The first backoff (0.5 to 1 s with the default retry delay) is
        // shorter than the 2 s the registry asks for.
        let run = scan(&fake_args(&reference, &[]));
        assert_eq!(run.code, local.code, "{status}: {}", run.stderr);
        assert_eq!(normalized(&run), normalized(&local), "{status}");

        // The first refusal said `Retry-After: 2`: the same GET came again
        // no sooner. No refused GET was asked again while the window lasted.
        let timeline = fake.log.timeline.lock().unwrap().clone();
        let refused: Vec<_> = timeline
            .iter()
            .filter(|(_, r, refused)| *refused && r.starts_with("GET "))
            .collect();
        assert!(!refused.is_empty(), "{status}: nothing was refused");
        for (i, (at, request, _)) in refused.iter().enumerate() {
            let next = timeline
                .iter()
                .find(|(t, r, _)| t > at && r == request)
                .unwrap_or_else(|| panic!("{status}: {request} was not asked again"));
            assert!(!next.2, "{status}: {request} was asked again too early");
            let gap = next.0 - *at;
            assert!(
                i > 0 || gap >= RATE_LIMIT_WINDOW,
                "{status}: {request} asked again after {gap:?}"
            );
        }
    }
}

#[test]
fn fake_registry_stalled_connection_times_out() {
    let tmp = tempfile::tempdir().unwrap();
    small_image(&tmp.path().join("img"));
    let fake = Fake::start(&tmp.path().join("img"), Fault::Stall);
    let reference = fake.reference();
    let started = Instant::now();
    let run = scan(&[
        &reference,
        "--insecure",
        "--no-cache",
        "--registry-timeout",
        "1",
        "--retry-times",
        "1",
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        run.stderr.to_lowercase().contains("timed out") || run.stderr.contains("timeout"),
        "{}",
        run.stderr
    );
}

#[test]
fn fake_registry_redirect_is_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let layout_ref = small_image(&tmp.path().join("img"));
    let fake = Fake::start(&tmp.path().join("img"), Fault::Redirect);
    let reference = fake.reference();
    let run = scan(&fake_args(&reference, &[]));
    let local = scan(&[&layout_ref, "--no-cache"]);
    assert_eq!(normalized(&run), normalized(&local), "{}", run.stderr);
    let storage = fake
        .requests
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r.starts_with("GET /storage/"))
        .count();
    assert_eq!(storage, fake.layers.len());
}

#[test]
fn cache_serves_the_second_scan_and_rebuilds_a_corrupt_entry() {
    let tmp = tempfile::tempdir().unwrap();
    small_image(&tmp.path().join("img"));
    let fake = Fake::start(&tmp.path().join("img"), Fault::None);
    let reference = fake.reference();
    let cache = tmp.path().join("cache");
    let cache_dir = cache.to_str().unwrap();
    let args = [reference.as_str(), "--insecure", "--cache-dir", cache_dir];
    let first = scan(&args);
    assert!(first.code <= 1, "{}", first.stderr);
    let n = fake.layers.len();
    assert_eq!(fake.layer_gets(), n);

    let second = scan(&args);
    assert_eq!(normalized(&second), normalized(&first));
    assert_eq!(fake.layer_gets(), n, "a cached layer was downloaded");

    // Corrupt every entry: each is detected, rebuilt from the registry.
    let entries: Vec<PathBuf> = walk(&cache)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "layer"))
        .collect();
    assert_eq!(entries.len(), n);
    for e in &entries {
        let mut bytes = std::fs::read(e).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        std::fs::write(e, bytes).unwrap();
    }
    let third = scan(&args);
    assert_eq!(normalized(&third), normalized(&first));
    assert_eq!(fake.layer_gets(), 2 * n, "corrupt entries must be rebuilt");
    let fourth = scan(&args);
    assert_eq!(normalized(&fourth), normalized(&first));
    assert_eq!(fake.layer_gets(), 2 * n, "rebuilt entries are valid again");

    // --no-cache downloads again.
    let fifth = scan(&[reference.as_str(), "--insecure", "--no-cache"]);
    assert_eq!(normalized(&fifth), normalized(&first));
    assert_eq!(fake.layer_gets(), 3 * n);
}

#[test]
fn the_cache_serves_local_layouts_too() {
    let tmp = tempfile::tempdir().unwrap();
    let layout_ref = small_image(&tmp.path().join("img"));
    let cache = tmp.path().join("cache");
    let c = cache.to_str().unwrap();
    let first = scan(&[&layout_ref, "--cache-dir", c]);
    let entries = walk(&cache)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "layer"))
        .count();
    assert_eq!(entries, 2);
    let second = scan(&[&layout_ref, "--cache-dir", c]);
    assert_eq!(normalized(&second), normalized(&first));
}

#[test]
fn cached_layers_count_toward_max_image_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    // Two layers of about 600 KiB each once decompressed: either fits in
    // 1 MiB, both do not.
    let layer = |path: &'static str| LayerSpec::default().file(path, 0o644, vec![7u8; 600 << 10]);
    let layout_ref = ImageBuilder::new()
        .manifest(
            ManifestSpec::new("linux", "amd64", None)
                .layer(layer("a"))
                .layer(layer("b")),
        )
        .write(&tmp.path().join("img"));
    let cache = tmp.path().join("cache");
    let c = cache.to_str().unwrap();
    let limit = ["--max-image-bytes", "1048576"];

    // Both layers cached by a scan under the default limit.
    let warm_up = scan(&[&layout_ref, "--cache-dir", c]);
    assert!(warm_up.code <= 1, "{}", warm_up.stderr);
    let entries = || {
        walk(&cache)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|x| x == "layer"))
            .count()
    };
    assert_eq!(entries(), 2);

    let cold = scan(&[&[layout_ref.as_str(), "--no-cache"][..], &limit].concat());
    assert_eq!(cold.code, 2, "{}", cold.stderr);
    assert!(cold.stderr.contains("max-image-bytes"), "{}", cold.stderr);
    let warm = scan(&[&[layout_ref.as_str(), "--cache-dir", c][..], &limit].concat());
    assert_eq!(warm.code, 2, "{}", warm.stderr);
    assert!(warm.stderr.contains("max-image-bytes"), "{}", warm.stderr);

    // Under a limit both fit in, the cached sizes are not overcounted.
    let fits = scan(&[
        layout_ref.as_str(),
        "--cache-dir",
        c,
        "--max-image-bytes",
        "2097152",
    ]);
    assert_eq!(normalized(&fits), normalized(&warm_up), "{}", fits.stderr);
    assert_eq!(entries(), 2);
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
