//! `elfgate serve` end to end: the real registry notifies a running server,
//! the server is killed and restarted, loaded, and sent hostile requests.
//! Only loopback addresses are ever contacted; every loop is bounded.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

use crate::registry::{Registry, free_port, layout, require_tools, run};

const TOKEN: &str = "s3cret-token";

// ---------------------------------------------------------------- a tiny client

/// One HTTP response.
pub struct Response {
    pub status: u16,
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Response {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }
}

/// Sends one request on its own connection and reads the whole answer.
fn request(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to elfgate serve");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).unwrap();
    // A server may answer (413, 401) before it reads the whole body.
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    parse_response(&raw)
}

fn parse_response(raw: &[u8]) -> Response {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Response {
        status,
        headers,
        body: body.to_string(),
    }
}

fn auth() -> String {
    format!("Bearer {TOKEN}")
}

fn get(port: u16, path: &str) -> Response {
    request(port, "GET", path, &[("Authorization", &auth())], b"")
}

fn post_json(port: u16, path: &str, body: &Value) -> Response {
    request(
        port,
        "POST",
        path,
        &[
            ("Authorization", &auth()),
            ("Content-Type", "application/json"),
        ],
        body.to_string().as_bytes(),
    )
}

/// Polls `f` until it returns `Some`, for at most `limit`.
fn wait_for<T>(limit: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------- the server

/// The binary under test: the one cargo built for the tests, or
/// `ELFGATE_SERVE_BIN` (a release build, for the load figures).
fn binary() -> PathBuf {
    std::env::var_os("ELFGATE_SERVE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_elfgate")))
}

/// A running `elfgate serve`; killed (SIGKILL) when dropped.
struct Server {
    child: Option<Child>,
    port: u16,
    log: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Server {
    /// Starts the server with its database and token in `dir`; `log` names
    /// the file its JSON log lines go to.
    fn start(dir: &Path, log: &str, extra: &[&str]) -> Server {
        let port = free_port();
        std::fs::write(dir.join("token"), format!("{TOKEN}\n")).unwrap();
        let listen = format!("127.0.0.1:{port}");
        let log = dir.join(log);
        let child = Command::new(binary())
            .args(["serve", "--listen", &listen, "--log-format", "json"])
            .arg("--db")
            .arg(dir.join("elfgate.db"))
            .arg("--token-file")
            .arg(dir.join("token"))
            .args(if extra.contains(&"--no-cache") {
                vec![]
            } else {
                vec!["--cache-dir".into(), dir.join("cache").into_os_string()]
            })
            .args(["--no-config", "--insecure"])
            .args(extra)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start elfgate serve");
        let mut server = Server {
            child: Some(child),
            port,
            log,
        };
        wait_for(Duration::from_secs(20), "elfgate serve to listen", || {
            if let Ok(Some(status)) = server.child.as_mut().unwrap().try_wait() {
                panic!(
                    "elfgate serve exited ({status}):\n{}",
                    std::fs::read_to_string(&server.log).unwrap_or_default()
                );
            }
            (!log_lines(&server.log, "listening").is_empty()
                && TcpStream::connect(("127.0.0.1", port)).is_ok())
            .then_some(())
        });
        server
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    fn kill9(&mut self) {
        let mut c = self.child.take().unwrap();
        c.kill().unwrap();
        c.wait().unwrap();
    }

    /// Sends SIGTERM and waits for the exit status, at most `limit`.
    fn sigterm(&mut self, limit: Duration) -> (i32, Duration) {
        let started = Instant::now();
        let ok = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let mut c = self.child.take().unwrap();
        let status = wait_for(limit, "elfgate serve to exit", || c.try_wait().unwrap());
        (status.code().unwrap_or(-1), started.elapsed())
    }

    fn scan(&self, key: &str) -> Response {
        get(self.port, &format!("/v1/scans/{key}"))
    }

    /// Every scan, all pages.
    fn all_scans(&self, query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut after = 0i64;
        for _ in 0..1000 {
            let page = get(
                self.port,
                &format!("/v1/scans?limit=200&after={after}{query}"),
            );
            assert_eq!(page.status, 200, "{}", page.body);
            let doc = page.json();
            out.extend(doc["scans"].as_array().unwrap().iter().cloned());
            match doc["next_after"].as_i64() {
                Some(n) => after = n,
                None => return out,
            }
        }
        panic!("too many pages");
    }

    /// The log lines (JSON) whose `msg` is `msg`.
    fn log_lines(&self, msg: &str) -> Vec<Value> {
        log_lines(&self.log, msg)
    }
}

fn log_lines(path: &Path, msg: &str) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["msg"] == msg)
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The digest of what `docker://REF` points at.
fn remote_digest(reference: &str) -> String {
    let out = Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    sha256(&out.stdout)
}

/// A TCP server that accepts connections and never answers: a registry
/// that stalls, so that scans of it stay running.
fn stalling_registry() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten().take(256) {
            held.push(s);
        }
    });
    port
}

/// A server with one worker and a registry that stalls: the first scan
/// taken never ends, and the rest stays queued.
fn stalled_server(dir: &Path, extra: &[&str]) -> (Server, u16) {
    let stall = stalling_registry();
    let mut args = vec![
        "--workers",
        "1",
        "--retry-times",
        "0",
        "--registry-timeout",
        "600",
    ];
    args.extend_from_slice(extra);
    (Server::start(dir, "serve.log", &args), stall)
}

/// A receiver for the outbound notifications: records each POST body, and
/// answers the first `refuse` of them with 503.
fn notification_sink(refuse: usize) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&got);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten().take(32) {
            let mut reader = BufReader::new(stream);
            let mut len = 0usize;
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 0 {
                if line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                line.clear();
            }
            let mut body = vec![0; len.min(1 << 20)];
            let _ = reader.read_exact(&mut body);
            sink.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&body).into_owned());
            let seen = sink.lock().unwrap().len();
            let mut s = reader.into_inner();
            let _ = s.write_all(if seen <= refuse {
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n".as_slice()
            } else {
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".as_slice()
            });
            let _ = s.shutdown(Shutdown::Both);
        }
    });
    (port, got)
}

// ---------------------------------------------------------------- end to end

#[test]
fn registry_notification_leads_to_a_stored_report() {
    require_tools(&["docker-registry", "skopeo"]);
    let dir = tempfile::tempdir().unwrap();
    let (sink, notes) = notification_sink(1);
    let notify = format!("http://127.0.0.1:{sink}/hook");
    let server = Server::start(
        dir.path(),
        "serve.log",
        &["--notify-url", &notify, "--scan-retry-delay", "0.2"],
    );
    let registry = Registry::plain_with(&format!(
        "notifications:\n  endpoints:\n    - name: elfgate\n      \
         url: http://127.0.0.1:{}/v1/webhooks/distribution\n      \
         headers:\n        Authorization: [\"Bearer {TOKEN}\"]\n      \
         timeout: 5s\n      threshold: 3\n      backoff: 1s\n",
        server.port
    ));

    let pushed_at = Instant::now();
    let pushed = registry.push(&layout("consul-template"), "team/ct:v1");
    let digest = remote_digest(&pushed);
    let done = wait_for(Duration::from_secs(120), "the scan to finish", || {
        let r = server.scan(&digest);
        (r.status == 200 && r.json()["status"] != "queued" && r.json()["status"] != "running")
            .then(|| r.json())
    });
    let elapsed = pushed_at.elapsed();
    println!(
        "push to stored result (multi-platform consul-template, skopeo push included): {:.2} s",
        elapsed.as_secs_f64()
    );
    assert_eq!(done["status"], "done", "{done:#}");

    // The report is the one `elfgate scan --format json` writes for the same reference.
    let reference = format!("docker://{}/team/ct@{digest}", registry.host());
    let direct = run(
        &[
            "scan",
            &reference,
            "--insecure",
            "--no-cache",
            "--no-config",
            "--format",
            "json",
        ],
        &[],
        None,
    );
    assert_eq!(direct.code, 1, "{}", direct.stderr);
    let stored = get(server.port, &format!("/v1/scans/{digest}/report"));
    assert_eq!(stored.status, 200);
    assert_eq!(stored.body, direct.stdout, "the stored report differs");
    assert_eq!(done["report"], direct.json());
    let findings: Vec<(String, String, String)> = done["report"]["images"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or("-").to_string();
            (s("platform"), s("rule"), s("path"))
        })
        .collect();
    assert!(
        findings.contains(&(
            "linux/arm64".into(),
            "libc-mismatch".into(),
            "/usr/bin/consul-template".into()
        )),
        "{findings:?}"
    );

    // The platform manifests pushed before the index were not scanned on
    // their own; pushing the same image under a second tag shares the result.
    registry.push(&layout("consul-template"), "team/ct:latest");
    let scans = wait_for(Duration::from_secs(30), "the second tag", || {
        let scans = server.all_scans("&repository=team/ct");
        let tags = scans
            .first()
            .map(|s| s["pushes"].as_array().unwrap().len())
            .unwrap_or(0);
        (tags == 2).then_some(scans)
    });
    assert_eq!(scans.len(), 1, "{scans:#?}");
    assert_eq!(scans[0]["attempts"], 1);
    assert_eq!(server.log_lines("scan finished").len(), 1);

    // Harbor's webhook names the same kind of push.
    let tini = registry.push(&layout("tini-static"), "team/tini:v2");
    let tini_digest = remote_digest(&tini);
    let harbor = json!({"type": "PUSH_ARTIFACT", "occur_at": 1, "operator": "ci",
        "event_data": {"resources": [{"digest": tini_digest, "tag": "v2",
            "resource_url": format!("{tini}")}],
          "repository": {"name": "tini", "namespace": "team", "repo_full_name": "team/tini",
            "repo_type": "private"}}});
    let r = post_json(server.port, "/v1/webhooks/harbor", &harbor);
    assert_eq!(r.status, 202, "{}", r.body);
    let tini_done = wait_for(Duration::from_secs(60), "the harbor scan", || {
        let doc = server.scan(&tini_digest).json();
        (doc["status"] == "done").then_some(doc)
    });
    assert_eq!(
        tini_done["reference"],
        format!("docker://{}/team/tini@{tini_digest}", registry.host())
    );
    assert_eq!(tini_done["pushes"][0]["source"], "harbor");

    // The notification about the errors arrived, sent again after a refusal.
    let note = wait_for(Duration::from_secs(20), "the notification", || {
        let about: Vec<Value> = notes
            .lock()
            .unwrap()
            .iter()
            .filter_map(|n| serde_json::from_str::<Value>(n).ok())
            .filter(|n| n["digest"] == digest.as_str())
            .collect();
        (about.len() >= 2).then(|| about[1].clone())
    });
    assert!(
        note["text"].as_str().unwrap().contains(&reference),
        "{note}"
    );
    assert_eq!(note["digest"], digest.as_str());
    assert!(note["summary"]["error"].as_u64().unwrap() >= 1, "{note}");

    let metrics = request(server.port, "GET", "/metrics", &[], b"");
    let with_findings = [&done, &tini_done]
        .iter()
        .filter(|d| {
            let s = &d["summary"];
            ["error", "warning", "info"]
                .iter()
                .any(|k| s[k].as_u64().unwrap() > 0)
        })
        .count();
    assert!(
        metrics.body.contains(&format!(
            "elfgate_scans_total{{outcome=\"findings\"}} {with_findings}"
        )),
        "{}",
        metrics.body
    );
    assert!(
        metrics
            .body
            .contains("elfgate_findings_total{rule=\"libc-mismatch\",severity=\"error\"}"),
        "{}",
        metrics.body
    );
}

#[test]
fn kill_9_while_scanning_then_restart_scans_every_event_once() {
    require_tools(&["docker-registry", "skopeo"]);
    let registry = Registry::plain();
    let names = [
        "consul-template",
        "tini-static",
        "glibc-too-new",
        "bash-on-busybox",
        "bookworm-minbase",
        "no-arm64-manifest",
    ];
    let mut digests = Vec::new();
    for name in names {
        let pushed = registry.push(&layout(name), &format!("{name}:v1"));
        let digest = remote_digest(&pushed);
        digests.push((format!("{}/{name}@{digest}", registry.host()), digest));
    }
    let dir = tempfile::tempdir().unwrap();
    let mut first = Server::start(dir.path(), "first.log", &["--workers", "2", "--no-cache"]);
    for (reference, _) in &digests {
        let r = post_json(first.port, "/v1/scans", &json!({ "image": reference }));
        assert_eq!(r.status, 202, "{}", r.body);
    }
    // Kill it while scans run.
    wait_for(Duration::from_secs(60), "a scan to start", || {
        first.all_scans("&status=running").first().cloned()
    });
    first.kill9();
    let before: usize = log_lines(&first.log, "scan finished").len();

    let restarted = Instant::now();
    let second = Server::start(dir.path(), "second.log", &["--workers", "2", "--no-cache"]);
    let resumed = second.log_lines("listening")[0]["resumed"]
        .as_u64()
        .unwrap();
    assert!(resumed >= 1, "nothing was running at the kill");
    for (_, digest) in &digests {
        let doc = wait_for(Duration::from_secs(180), "every scan to finish", || {
            let doc = second.scan(digest).json();
            (doc["status"] == "done" || doc["status"] == "failed").then_some(doc)
        });
        assert_eq!(doc["status"], "done", "{doc:#}");
    }
    let drained = restarted.elapsed();
    // No scan completed twice: one `scan finished` line per digest across both runs.
    let mut finished: HashMap<String, usize> = HashMap::new();
    for line in log_lines(&first.log, "scan finished")
        .into_iter()
        .chain(second.log_lines("scan finished"))
    {
        *finished
            .entry(line["key"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    for (_, digest) in &digests {
        assert_eq!(finished.get(digest), Some(&1), "{digest}: {finished:?}");
    }
    let interrupted = digests
        .iter()
        .filter(|(_, d)| second.scan(d).json()["attempts"] == 2)
        .count();
    let after = second.log_lines("scan finished");
    let mean = after
        .iter()
        .filter_map(|l| l["seconds"].as_f64())
        .sum::<f64>()
        / after.len() as f64;
    println!(
        "kill -9 during scans: {} events accepted, {before} finished before the kill, \
         {interrupted} interrupted scans resumed, {} finished after the restart, none twice; \
         the restarted server emptied its queue in {:.2} s (2 workers, no layer cache, \
         {mean:.2} s per scan on average)",
        digests.len(),
        after.len(),
        drained.as_secs_f64()
    );
    assert!(interrupted >= 1);
}

// ---------------------------------------------------------------- limits

fn distribution_event(host: &str, repository: &str, digest: &str, action: &str) -> Value {
    json!({"events": [{
        "id": "ev", "timestamp": "2026-01-01T00:00:00Z", "action": action,
        "target": {"mediaType": "application/vnd.oci.image.index.v1+json",
                   "digest": digest, "repository": repository, "tag": "v1",
                   "url": format!("http://{host}/v2/{repository}/manifests/{digest}")},
        "request": {"id": "r", "host": host, "method": "PUT"}}]})
}

fn fake_digest(n: usize) -> String {
    sha256(format!("image {n}").as_bytes())
}

fn post_events(port: u16, body: &[u8], content_type: &str, token: Option<&str>) -> Response {
    let header = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", content_type)];
    if let Some(h) = &header {
        headers.push(("Authorization", h));
    }
    request(port, "POST", "/v1/webhooks/distribution", &headers, body)
}

#[test]
fn hostile_requests_get_their_status_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let stall = stalling_registry();
    std::fs::write(dir.path().join("read-token"), "reader\n").unwrap();
    let read_token = dir.path().join("read-token");
    let server = Server::start(
        dir.path(),
        "serve.log",
        &[
            "--max-body",
            "4096",
            "--request-timeout",
            "3",
            "--read-token-file",
            read_token.to_str().unwrap(),
        ],
    );
    let port = server.port;
    let host = format!("127.0.0.1:{stall}");
    let good = distribution_event(&host, "team/app", &fake_digest(1), "push").to_string();
    let events = "application/vnd.docker.distribution.events.v1+json";
    let alive = || {
        let r = request(port, "GET", "/healthz", &[], b"");
        assert_eq!(r.status, 200, "the server stopped serving");
    };
    let cases: Vec<(&str, Response, u16)> = vec![
        (
            "no token",
            post_events(port, good.as_bytes(), events, None),
            401,
        ),
        (
            "wrong token",
            post_events(port, good.as_bytes(), events, Some("s3cret-tokem")),
            401,
        ),
        (
            "a token prefix",
            post_events(port, good.as_bytes(), events, Some("s3cret")),
            401,
        ),
        (
            "wrong token, huge body",
            post_events(port, &vec![b'x'; 64 << 10], events, Some("nope")),
            401,
        ),
        (
            "read without token",
            request(port, "GET", "/v1/scans", &[], b""),
            401,
        ),
        (
            "write with the read token",
            post_events(port, good.as_bytes(), events, Some("reader")),
            401,
        ),
        (
            "read with the read token",
            request(
                port,
                "GET",
                "/v1/scans",
                &[("Authorization", "Bearer reader")],
                b"",
            ),
            200,
        ),
        (
            "malformed JSON",
            post_events(port, b"{\"events\": [", events, Some(TOKEN)),
            400,
        ),
        (
            "not an envelope",
            post_events(port, b"[1, 2, 3]", events, Some(TOKEN)),
            400,
        ),
        (
            "wrong content type",
            post_events(port, good.as_bytes(), "text/plain", Some(TOKEN)),
            415,
        ),
        (
            "form content type",
            post_events(
                port,
                good.as_bytes(),
                "application/x-www-form-urlencoded",
                Some(TOKEN),
            ),
            415,
        ),
        (
            "body over the cap",
            post_events(port, &vec![b' '; 8192], events, Some(TOKEN)),
            413,
        ),
        (
            "unknown action",
            post_events(
                port,
                distribution_event(&host, "team/app", &fake_digest(2), "frobnicate")
                    .to_string()
                    .as_bytes(),
                events,
                Some(TOKEN),
            ),
            200,
        ),
        (
            "bad digest",
            post_events(
                port,
                distribution_event(&host, "team/app", "sha256:../../etc", "push")
                    .to_string()
                    .as_bytes(),
                events,
                Some(TOKEN),
            ),
            422,
        ),
        (
            "unknown scan",
            get(port, &format!("/v1/scans/{}", fake_digest(99))),
            404,
        ),
        ("bad status filter", get(port, "/v1/scans?status=evil"), 400),
        (
            "unknown path",
            request(
                port,
                "GET",
                "/../../etc/passwd",
                &[("Authorization", &auth())],
                b"",
            ),
            404,
        ),
    ];
    for (what, response, expected) in cases {
        assert_eq!(response.status, expected, "{what}: {}", response.body);
        alive();
    }
    for repository in [
        "../../etc/passwd",
        "team/../../x",
        "app;rm -rf /",
        "app$(reboot)",
        "app`id`",
        "app|cat",
        "app&&x",
        "App",
        "a b",
        "app\nINFO forged log line",
        "%2e%2e/x",
    ] {
        let body = distribution_event(&host, repository, &fake_digest(3), "push").to_string();
        let r = post_events(port, body.as_bytes(), events, Some(TOKEN));
        assert_eq!(r.status, 422, "{repository:?}: {}", r.body);
        alive();
    }
    for (path, body, status) in [
        ("/v1/webhooks/harbor", json!({"event_data": {}}), 400),
        (
            "/v1/webhooks/harbor",
            json!({"type": "DELETE_ARTIFACT"}),
            200,
        ),
        (
            "/v1/webhooks/harbor",
            json!({"type": "PUSH_ARTIFACT", "event_data": {
                "resources": [{"digest": fake_digest(5), "resource_url": "h/x;id:v1"}],
                "repository": {"repo_full_name": "x;id"}}}),
            422,
        ),
        ("/v1/webhooks/dockerhub", json!({"push_data": {}}), 400),
        (
            "/v1/webhooks/dockerhub",
            json!({"push_data": {"tag": "$(id)"}, "repository": {"repo_name": "team/app"}}),
            422,
        ),
        ("/v1/scans", json!({"image": "x", "extra": 1}), 400),
    ] {
        let r = post_json(port, path, &body);
        assert_eq!(r.status, status, "{path} {body}: {}", r.body);
        alive();
    }
    let r = post_json(port, "/v1/scans", &json!({"image": "/etc/passwd"}));
    assert_eq!(r.status, 422, "{}", r.body);
    let r = post_json(port, "/v1/scans", &json!({"image": "oci:/tmp/x"}));
    assert_eq!(r.status, 422, "{}", r.body);

    // Bytes that are not HTTP at all.
    let mut raw = TcpStream::connect(("127.0.0.1", port)).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    raw.write_all(b"\x16\x03\x01\x00\xff garbage\r\n\r\n")
        .unwrap();
    let mut sink = Vec::new();
    let _ = raw.read_to_end(&mut sink);
    alive();

    // A client that trickles its headers is cut off after the request
    // timeout, and others are served meanwhile.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    slow.write_all(b"POST /v1/scans HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let opened = Instant::now();
    alive();
    let mut rest = Vec::new();
    let _ = slow.read_to_end(&mut rest);
    assert!(
        opened.elapsed() < Duration::from_secs(15),
        "a connection that never finished its headers stayed open"
    );

    // Nothing hostile reached the queue; the good event still does.
    assert!(server.all_scans("").is_empty());
    let r = post_events(port, good.as_bytes(), events, Some(TOKEN));
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(server.all_scans("").len(), 1);
}

#[test]
fn a_full_queue_answers_503_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let (server, stall) = stalled_server(dir.path(), &["--max-queue", "3"]);
    let host = format!("127.0.0.1:{stall}");
    let post = |n: usize| {
        let body = distribution_event(&host, "team/app", &fake_digest(n), "push");
        post_json(server.port, "/v1/webhooks/distribution", &body)
    };
    // The first is taken by the only worker (and stalls); three more wait.
    assert_eq!(post(0).status, 202);
    wait_for(Duration::from_secs(20), "the worker to take it", || {
        (server.scan(&fake_digest(0)).json()["status"] == "running").then_some(())
    });
    for n in 1..=3 {
        assert_eq!(post(n).status, 202);
    }
    let full = post(4);
    assert_eq!(full.status, 503, "{}", full.body);
    assert_eq!(
        full.headers.get("retry-after").map(String::as_str),
        Some("10")
    );
    assert!(server.scan(&fake_digest(4)).status == 404);
    // A digest already queued needs no room.
    let again = post(2);
    assert_eq!(again.status, 202);
    assert_eq!(again.json()["accepted"][0]["result"], "duplicate");
    let metrics = request(server.port, "GET", "/metrics", &[], b"").body;
    assert!(metrics.contains("elfgate_queue_depth 3"), "{metrics}");
}

#[test]
fn sigterm_drains_running_scans_and_leaves_the_rest_queued() {
    require_tools(&["docker-registry", "skopeo"]);
    let registry = Registry::plain();
    let mut refs = Vec::new();
    // The largest first: the only worker takes it, and it runs long enough
    // that the signal lands while it does.
    for name in ["bookworm-minbase", "consul-template", "tini-static"] {
        let pushed = registry.push(&layout(name), &format!("{name}:v1"));
        let digest = remote_digest(&pushed);
        refs.push((format!("{}/{name}@{digest}", registry.host()), digest));
    }
    let dir = tempfile::tempdir().unwrap();
    let args = ["--workers", "1", "--no-cache", "--drain-timeout", "120"];
    let mut server = Server::start(dir.path(), "first.log", &args);
    for (image, _) in &refs {
        let r = post_json(server.port, "/v1/scans", &json!({ "image": image }));
        assert_eq!(r.status, 202, "{}", r.body);
    }
    let running = wait_for(Duration::from_secs(60), "a scan to start", || {
        server
            .all_scans("&status=running")
            .first()
            .map(|s| s["key"].as_str().unwrap().to_string())
    });
    let (code, took) = server.sigterm(Duration::from_secs(150));
    assert_eq!(code, 0, "{}", std::fs::read_to_string(&server.log).unwrap());
    println!("SIGTERM drain took {:.2} s", took.as_secs_f64());
    let log = server.log.clone();
    let finished: Vec<String> = log_lines(&log, "scan finished")
        .iter()
        .map(|l| l["key"].as_str().unwrap().to_string())
        .collect();
    // The running scan finished; nothing else started.
    assert_eq!(finished, [running]);
    let stopped = &log_lines(&log, "stopped")[0];
    assert_eq!(stopped["queued"], (refs.len() - 1) as u64, "{stopped}");
    assert_eq!(stopped["interrupted"], 0, "{stopped}");

    // The rest is still queued, and the next start scans it.
    let server = Server::start(dir.path(), "second.log", &args);
    for (_, digest) in &refs {
        let doc = wait_for(Duration::from_secs(120), "the queued scans", || {
            let doc = server.scan(digest).json();
            (doc["status"] == "done").then_some(doc)
        });
        assert_eq!(doc["attempts"], 1, "{doc:#}");
    }
}

#[test]
fn load_on_loopback_loses_no_event() {
    const REQUESTS: usize = 2000;
    const DISTINCT: usize = 500;
    const CLIENTS: usize = 16;
    let dir = tempfile::tempdir().unwrap();
    // The one worker stalls on its first scan: only acceptance is measured.
    let (server, stall) = stalled_server(dir.path(), &[]);
    let host = format!("127.0.0.1:{stall}");
    let port = server.port;
    let started = Instant::now();
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(REQUESTS)));
    let statuses = Arc::new(Mutex::new(HashMap::<u16, usize>::new()));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (host, latencies, statuses) =
                (host.clone(), Arc::clone(&latencies), Arc::clone(&statuses));
            std::thread::spawn(move || {
                for i in (c..REQUESTS).step_by(CLIENTS) {
                    // Every digest is pushed four times, under four repositories.
                    let digest = fake_digest(i % DISTINCT);
                    let body = distribution_event(
                        &host,
                        &format!("team/app{}", i / DISTINCT),
                        &digest,
                        "push",
                    );
                    let t = Instant::now();
                    let r = post_json(port, "/v1/webhooks/distribution", &body);
                    latencies.lock().unwrap().push(t.elapsed());
                    *statuses.lock().unwrap().entry(r.status).or_default() += 1;
                    assert!(
                        started.elapsed() < Duration::from_secs(300),
                        "load test ran too long"
                    );
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let elapsed = started.elapsed();
    let statuses = statuses.lock().unwrap().clone();
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort();
    let p99 = lat[(lat.len() * 99).div_ceil(100) - 1];
    let p50 = lat[lat.len() / 2];
    println!(
        "load: {REQUESTS} event posts ({DISTINCT} distinct digests) from {CLIENTS} clients in \
         {:.2} s: {:.0} accepted requests/s, p50 {:.1} ms, p99 {:.1} ms; statuses {statuses:?}",
        elapsed.as_secs_f64(),
        REQUESTS as f64 / elapsed.as_secs_f64(),
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
    assert_eq!(statuses.get(&202), Some(&REQUESTS), "{statuses:?}");
    // None lost: every digest has its one scan, with all four of its pushes.
    let scans = server.all_scans("");
    assert_eq!(scans.len(), DISTINCT);
    for s in &scans {
        assert_eq!(
            s["pushes"].as_array().unwrap().len(),
            REQUESTS / DISTINCT,
            "{s}"
        );
    }
    let accepted = server.log_lines("event accepted");
    assert_eq!(accepted.len(), REQUESTS);
    assert_eq!(
        accepted.iter().filter(|l| l["result"] == "new").count(),
        DISTINCT
    );
}

#[test]
fn registry_errors_are_retried_then_stored_as_failed_and_slow_scans_time_out() {
    let dir = tempfile::tempdir().unwrap();
    let stall = stalling_registry();
    // Nothing listens on `closed`: every connection is refused.
    let closed = free_port();
    let server = Server::start(
        dir.path(),
        "serve.log",
        &[
            "--scan-retries",
            "2",
            "--scan-retry-delay",
            "0.1",
            "--retry-times",
            "0",
            "--scan-timeout",
            "2",
            "--registry-timeout",
            "600",
        ],
    );
    let unreachable = format!("127.0.0.1:{closed}/team/app@{}", fake_digest(1));
    let slow = format!("127.0.0.1:{stall}/team/app@{}", fake_digest(2));
    for image in [&unreachable, &slow] {
        let r = post_json(server.port, "/v1/scans", &json!({ "image": image }));
        assert_eq!(r.status, 202, "{}", r.body);
    }
    let finished = |n: usize| {
        wait_for(Duration::from_secs(60), "the scan to fail", || {
            let doc = server.scan(&fake_digest(n)).json();
            (doc["status"] != "queued" && doc["status"] != "running").then_some(doc)
        })
    };
    let refused = finished(1);
    assert_eq!(refused["status"], "failed", "{refused:#}");
    assert!(refused["summary"].is_null() && refused.get("report").is_none());
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains(&format!("127.0.0.1:{closed}")),
        "{refused:#}"
    );
    let retries = server.log_lines("scan retry");
    assert_eq!(
        retries
            .iter()
            .filter(|l| l["key"] == fake_digest(1).as_str())
            .count(),
        2
    );
    let timed_out = finished(2);
    assert_eq!(timed_out["status"], "failed");
    assert!(
        timed_out["error"].as_str().unwrap().contains("timed out"),
        "{timed_out:#}"
    );
    let metrics = request(server.port, "GET", "/metrics", &[], b"").body;
    assert!(
        metrics.contains("elfgate_scans_total{outcome=\"failed\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("elfgate_registry_errors_total 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("elfgate_scans_total{outcome=\"clean\"} 0"),
        "{metrics}"
    );
}

#[test]
fn a_scan_still_running_at_the_drain_deadline_stays_queued() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, stall) = stalled_server(dir.path(), &["--drain-timeout", "1"]);
    let digest = fake_digest(7);
    let body = distribution_event(&format!("127.0.0.1:{stall}"), "team/app", &digest, "push");
    assert_eq!(
        post_json(server.port, "/v1/webhooks/distribution", &body).status,
        202
    );
    wait_for(Duration::from_secs(20), "the worker to take it", || {
        (server.scan(&digest).json()["status"] == "running").then_some(())
    });
    let (code, took) = server.sigterm(Duration::from_secs(30));
    assert_eq!(code, 0);
    assert!(took < Duration::from_secs(15), "the drain took {took:?}");
    let stopped = &log_lines(&server.log, "stopped")[0];
    assert_eq!(
        (stopped["queued"].as_u64(), stopped["interrupted"].as_u64()),
        (Some(1), Some(1)),
        "{stopped}"
    );
    assert!(log_lines(&server.log, "scan finished").is_empty());
    // The next start takes it again.
    let again = Server::start(
        dir.path(),
        "second.log",
        &["--workers", "1", "--registry-timeout", "600"],
    );
    wait_for(Duration::from_secs(20), "the second attempt", || {
        let doc = again.scan(&digest).json();
        (doc["status"] == "running" && doc["attempts"] == 2).then_some(())
    });
}
