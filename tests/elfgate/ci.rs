//! The CI gate and the hooks, checked by the tools that consume them:
//! Microsoft's SARIF validator, junitparser, pre-commit and git itself.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::harness::{ImageBuilder, LayerSpec, ManifestSpec, Run, elfgate_command, testdata};

/// Runs `elfgate ARGS` in `dir` with an empty environment.
fn elfgate_in(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = elfgate_command(args);
    cmd.current_dir(dir);
    Run::of(cmd)
}

/// Where testdata/install-deps.sh installs the npm and PyPI tools.
fn tools() -> PathBuf {
    let home = std::env::var_os("HOME").expect("HOME");
    PathBuf::from(home).join(".cache/elfgate-tools")
}

/// The consul-template trap and the tini download, as one Dockerfile:
/// line 4 runs cgo `go build` on glibc (copied into Alpine at line 8), line 5
/// downloads the amd64 tini, and stage `build` (line 1) compiles without
/// `--platform=$BUILDPLATFORM`.
const TRAP: &str = "\
FROM golang:1.22 AS build
WORKDIR /src
COPY . .
RUN go build -o /out/consul-template .
ADD https://github.com/krallin/tini/releases/download/v0.19.0/tini-static-amd64 /tini

FROM alpine:3.20
COPY --from=build /out/consul-template /usr/local/bin/
ENTRYPOINT [\"consul-template\"]
";

/// Docker's cross-compiling Go pattern: clean.
const CLEAN: &str = "\
FROM --platform=$BUILDPLATFORM golang:1.22 AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .

FROM alpine:3.20
COPY --from=build /out/app /usr/local/bin/app
ENTRYPOINT [\"app\"]
";

fn project(dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Dockerfile"), dockerfile).unwrap();
    dir
}

#[test]
fn sarif_passes_microsofts_validator() {
    let tool = tools().join("node_modules/.bin/sarif-multitool");
    assert!(
        tool.exists(),
        "{} is missing: run testdata/install-deps.sh",
        tool.display()
    );
    let dir = project(TRAP);
    let demo = testdata("demo");
    let run = elfgate_in(
        dir.path(),
        &[
            "scan",
            "--dockerfile",
            "Dockerfile",
            demo.to_str().unwrap(),
            // The demo has no s390x: a finding about the image as a whole.
            "--require-platform",
            "linux/amd64,linux/arm64,linux/s390x",
            "--format",
            "sarif",
            "--output",
            "out.sarif",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let sarif = std::fs::read_to_string(dir.path().join("out.sarif")).unwrap();
    let log: Value = serde_json::from_str(&sarif).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    // The Dockerfile's findings sit on their lines.
    let at = |rule: &str| {
        results
            .iter()
            .find(|r| r["ruleId"] == rule)
            .map(|r| {
                let loc = &r["locations"][0]["physicalLocation"];
                (
                    loc["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                    loc["region"]["startLine"].as_u64(),
                )
            })
            .unwrap_or_else(|| panic!("no {rule} result"))
    };
    assert_eq!(at("dockerfile-cgo-libc"), ("Dockerfile".into(), Some(4)));
    assert_eq!(
        at("dockerfile-hardcoded-arch"),
        ("Dockerfile".into(), Some(5))
    );
    // The demo's amd64 tini in the arm64 image, located inside the image.
    let tini = results
        .iter()
        .find(|r| r["ruleId"] == "arch-mismatch")
        .expect("arch-mismatch");
    assert_eq!(
        tini["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "usr/bin/tini"
    );
    assert_eq!(tini["properties"]["platform"], "linux/arm64");
    let missing = results
        .iter()
        .find(|r| r["ruleId"] == "missing-platform")
        .expect("missing-platform");
    assert_eq!(
        missing["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "."
    );

    let out = Command::new(&tool)
        .args(["validate", "out.sarif", "--output", "validation.sarif"])
        .current_dir(dir.path())
        .output()
        .expect("run sarif-multitool");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("Analysis completed successfully"), "{text}");
    let errors: Vec<&str> = text.lines().filter(|l| l.contains(": error ")).collect();
    assert!(
        errors.is_empty(),
        "validator errors:\n{}",
        errors.join("\n")
    );
    // The validator's own log agrees: no result at level error.
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("validation.sarif")).unwrap(),
    )
    .unwrap();
    let levels: Vec<&str> = v["runs"][0]["results"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["level"].as_str()).collect())
        .unwrap_or_default();
    assert!(!levels.contains(&"error"), "{levels:?}");
}

#[test]
fn junit_reads_back_with_junitparser() {
    let dir = project(TRAP);
    let demo = testdata("demo");
    let run = elfgate_in(
        dir.path(),
        &[
            "scan",
            "--dockerfile",
            "Dockerfile",
            demo.to_str().unwrap(),
            "--format",
            "junit",
            "--output",
            "report.xml",
            "--format",
            "table",
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    // The table went to stdout at the same time.
    assert!(run.stdout.contains("dockerfile-cgo-libc"), "{}", run.stdout);
    let script = r#"
import json, sys
from junitparser import JUnitXml, Failure
xml = JUnitXml.fromfile(sys.argv[1])
out = []
for suite in xml:
    cases = []
    for case in suite:
        fails = [r.type for r in case.result if isinstance(r, Failure)]
        cases.append([case.name, fails])
    out.append({"name": suite.name, "tests": suite.tests, "failures": suite.failures, "cases": cases})
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .args(["-c", script, "report.xml"])
        .current_dir(dir.path())
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let suites: Value = serde_json::from_slice(&out.stdout).unwrap();
    let suite = |name: &str| {
        suites
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"].as_str().unwrap().ends_with(name))
            .unwrap_or_else(|| panic!("no suite {name}: {suites}"))
            .clone()
    };
    // The Dockerfile: one case per Dockerfile rule (five), two of them failing
    // at errors (emulated-build is a warning, below --fail-on error).
    let d = suite("Dockerfile");
    assert_eq!(
        (d["tests"].as_u64(), d["failures"].as_u64()),
        (Some(5), Some(2))
    );
    // The demo (testdata/make-demo.sh): on arm64 the amd64 tini, the glibc
    // consul-template on musl, and the bash script without bash fail; the
    // musl loader passes.
    let arm = suite("linux/arm64");
    let cases: Vec<(String, Vec<String>)> = serde_json::from_value(arm["cases"].clone()).unwrap();
    let failing: Vec<&str> = cases
        .iter()
        .filter(|(_, f)| !f.is_empty())
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(
        failing,
        [
            "/usr/bin/consul-template",
            "/usr/bin/tini",
            "/usr/local/bin/entrypoint.sh"
        ]
    );
    assert!(
        cases
            .iter()
            .any(|(n, f)| n == "/lib/ld-musl-aarch64.so.1" && f.is_empty()),
        "{cases:?}"
    );
    assert_eq!(arm["failures"].as_u64(), Some(3));
}

#[test]
fn github_annotations_carry_file_and_line() {
    let dir = project(TRAP);
    let run = elfgate_in(dir.path(), &["dockerfile", "--format", "github"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(
        lines.iter().any(|l| l.starts_with(
            "::warning file=Dockerfile,line=1,title=elfgate dockerfile-emulated-build::stage build"
        )),
        "{}",
        run.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l
                .starts_with("::error file=Dockerfile,line=4,title=elfgate dockerfile-cgo-libc::")),
        "{}",
        run.stdout
    );
    assert_eq!(lines.len(), 3, "{}", run.stdout);
}

#[test]
fn the_go_cross_compile_pattern_is_clean() {
    let dir = project(CLEAN);
    let run = elfgate_in(dir.path(), &["dockerfile", "--format", "json"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.json()["images"][0]["findings"], serde_json::json!([]));
}

#[test]
fn configuration_is_found_upward_and_applied_once() {
    let dir = project(TRAP);
    std::fs::write(
        dir.path().join(".elfgate.toml"),
        "fail-on = \"error\"\n\
         [rules]\n\
         dockerfile-emulated-build = \"off\"\n\
         dockerfile-hardcoded-arch = \"warning\"\n\
         [[ignore]]\n\
         rule = \"dockerfile-cgo-libc\"\n\
         path = \"sub/Dockerfile\"\n\
         reason = \"the binary is built with netgo\"\n\
         expires = 2999-12-31\n",
    )
    .unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("Dockerfile"), TRAP).unwrap();
    // From sub/, the file one level up applies: emulated-build is off, the
    // cgo finding is ignored, hardcoded-arch is only a warning: exit 0.
    let run = elfgate_in(&sub, &["dockerfile", "Dockerfile", "--format", "json"]);
    let rules: Vec<(String, String)> = run.json()["images"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // The ignore's path is `sub/Dockerfile`, but the finding's path is
    // `Dockerfile` as given: not ignored.
    assert_eq!(
        rules,
        [
            ("dockerfile-cgo-libc".to_string(), "error".to_string()),
            (
                "dockerfile-hardcoded-arch".to_string(),
                "warning".to_string()
            )
        ]
    );
    assert_eq!(run.code, 1);
    let run = elfgate_in(
        dir.path(),
        &["dockerfile", "sub/Dockerfile", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("1 finding hidden by ignores"),
        "{}",
        run.stderr
    );
    // A flag wins over the file.
    let run = elfgate_in(
        dir.path(),
        &[
            "dockerfile",
            "sub/Dockerfile",
            "--format",
            "json",
            "--fail-on",
            "warning",
        ],
    );
    assert_eq!(run.code, 1);
    // --no-config: everything at its default.
    let run = elfgate_in(dir.path(), &["dockerfile", "sub/Dockerfile", "--no-config"]);
    assert_eq!(
        run.json()["images"][0]["findings"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn an_expired_ignore_reports_again_and_says_so() {
    let dir = project(TRAP);
    std::fs::write(
        dir.path().join("policy.toml"),
        "[[ignore]]\nrule = \"dockerfile-cgo-libc\"\nreason = \"netgo\"\nexpires = 2020-01-31\n",
    )
    .unwrap();
    let run = elfgate_in(
        dir.path(),
        &["dockerfile", "--config", "policy.toml", "--format", "json"],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.json()["images"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "dockerfile-cgo-libc")
    );
    assert!(
        run.stderr.contains("policy.toml:1") && run.stderr.contains("expired on 2020-01-31"),
        "{}",
        run.stderr
    );
}

#[test]
fn configuration_errors_name_line_and_column() {
    let dir = project(CLEAN);
    std::fs::write(
        dir.path().join(".elfgate.toml"),
        "# policy\n[rules]\npage-size = \"sometimes\"\n",
    )
    .unwrap();
    let run = elfgate_in(dir.path(), &["dockerfile"]);
    assert_eq!(run.code, 2);
    // Line 3; `page-size = ` is 12 characters, so the value starts at column 13.
    assert!(run.stderr.contains(".elfgate.toml:3:13:"), "{}", run.stderr);
}

#[test]
fn init_writes_a_template_that_loads() {
    let dir = project(CLEAN);
    let run = elfgate_in(dir.path(), &["init"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let text = std::fs::read_to_string(dir.path().join(".elfgate.toml")).unwrap();
    assert!(text.contains("[[ignore]]") && text.contains("fail-on"));
    // It is used as written: the Dockerfile it lists is checked.
    let run = elfgate_in(dir.path(), &["dockerfile", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["images"][0]["reference"], "Dockerfile");
    // A second init does not overwrite.
    assert_eq!(elfgate_in(dir.path(), &["init"]).code, 2);
}

fn arm64_image(dir: &Path, extra_layer: Option<LayerSpec>, motd: bool) -> String {
    let read = |n: &str| std::fs::read(testdata("elf").join(n)).unwrap();
    let mut m = ManifestSpec::new("linux", "arm64", None).layer(
        LayerSpec::default()
            .dir("bin")
            .file("bin/busybox", 0o755, read("aarch64-static")),
    );
    let mut app = LayerSpec::default().dir("usr").dir("usr/bin").file(
        "usr/bin/app",
        0o755,
        read("x86_64-glibc-dynamic"),
    );
    if motd {
        app = app
            .dir("etc")
            .file("etc/motd", 0o644, b"rebuilt\n".to_vec());
    }
    m = m.layer(app);
    if let Some(l) = extra_layer {
        m = m.layer(l);
    }
    ImageBuilder::new().manifest(m).write(dir)
}

#[test]
fn baselines_survive_rebuilds_and_fail_only_on_new_findings() {
    let tmp = tempfile::tempdir().unwrap();
    let first = arm64_image(&tmp.path().join("a"), None, false);
    let args = |image: &str, more: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = ["scan", image, "--require-platform", "linux/arm64"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(more.iter().map(|s| s.to_string()));
        v
    };
    let run_with = |a: Vec<String>| {
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        elfgate_in(tmp.path(), &refs)
    };
    // The amd64 /usr/bin/app in the arm64 image fails the gate.
    let run = run_with(args(&first, &["--format", "json"]));
    assert_eq!(run.code, 1, "{}", run.stdout);
    let run = run_with(args(
        &first,
        &["--write-baseline", "base.json", "--format", "json"],
    ));
    assert_eq!(run.code, 0, "{}", run.stderr);

    // Rebuilt: the same app in a layer with other contents (a new digest).
    let rebuilt = arm64_image(&tmp.path().join("b"), None, true);
    let run = run_with(args(
        &rebuilt,
        &["--baseline", "base.json", "--format", "json"],
    ));
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("1 finding already in the baseline"),
        "{}",
        run.stderr
    );

    // A new amd64 program (balanced by a new arm64 one, so that the label
    // stays right) is the only finding left, and fails.
    let read = |n: &str| std::fs::read(testdata("elf").join(n)).unwrap();
    let more = LayerSpec::default()
        .dir("opt")
        .file("opt/tool", 0o755, read("x86_64-musl-static"))
        .file("opt/tool2", 0o755, read("aarch64-static"));
    let grown = arm64_image(&tmp.path().join("c"), Some(more), true);
    let run = run_with(args(
        &grown,
        &["--baseline", "base.json", "--format", "json"],
    ));
    assert_eq!(run.code, 1, "{}", run.stderr);
    let doc = run.json();
    let paths: Vec<&str> = doc["images"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(paths, ["/opt/tool"]);
}

#[test]
fn dockerfile_baselines_survive_line_moves() {
    let dir = project(TRAP);
    let run = elfgate_in(dir.path(), &["dockerfile", "--write-baseline", "b.json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Two comment lines on top move every finding two lines down.
    std::fs::write(
        dir.path().join("Dockerfile"),
        format!("# syntax=docker/dockerfile:1\n# build\n{TRAP}"),
    )
    .unwrap();
    let run = elfgate_in(
        dir.path(),
        &["dockerfile", "--baseline", "b.json", "--format", "json"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("3 findings already in the baseline"),
        "{}",
        run.stderr
    );
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_pre_push_hook_stops_a_push_of_a_broken_dockerfile() {
    let tmp = tempfile::tempdir().unwrap();
    let remote = tmp.path().join("remote.git");
    let work = tmp.path().join("work");
    std::fs::create_dir(&work).unwrap();
    git(
        tmp.path(),
        &["init", "-q", "--bare", remote.to_str().unwrap()],
    );
    git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(work.join("Dockerfile"), TRAP).unwrap();
    git(&work, &["add", "Dockerfile"]);
    git(&work, &["commit", "-q", "-m", "trap"]);
    git(
        &work,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );

    let run = elfgate_in(&work, &["hook", "install"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let hook = work.join(".git/hooks/pre-push");
    let text = std::fs::read_to_string(&hook).unwrap();
    assert!(text.starts_with("#!/bin/sh\n"), "{text}");

    let push = |dir: &Path| {
        Command::new("git")
            .args(["push", "-q", "origin", "main"])
            .current_dir(dir)
            .output()
            .expect("git push")
    };
    let out = push(&work);
    assert!(!out.status.success(), "the push went through");
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("dockerfile-cgo-libc"), "{said}");

    std::fs::write(work.join("Dockerfile"), CLEAN).unwrap();
    git(&work, &["commit", "-q", "-am", "fix"]);
    let out = push(&work);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Installing again replaces our own hook; a foreign hook needs --force.
    assert_eq!(elfgate_in(&work, &["hook", "install"]).code, 0);
    std::fs::write(&hook, "#!/bin/sh\nexit 0\n").unwrap();
    assert_eq!(elfgate_in(&work, &["hook", "install"]).code, 2);
    assert_eq!(elfgate_in(&work, &["hook", "install", "--force"]).code, 0);
}

#[test]
fn pre_commit_runs_the_hooks_from_this_repository() {
    let tmp = tempfile::tempdir().unwrap();
    // A repository holding this repository's hook definitions.
    let hooks = tmp.path().join("hooks");
    std::fs::create_dir(&hooks).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml"),
        hooks.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    git(&hooks, &["init", "-q", "-b", "main"]);
    git(&hooks, &["add", "."]);
    git(&hooks, &["commit", "-q", "-m", "hooks"]);

    let work = tmp.path().join("work");
    std::fs::create_dir_all(work.join("deploy")).unwrap();
    std::fs::write(work.join("deploy/Dockerfile.release"), TRAP).unwrap();
    std::fs::write(work.join("Dockerfile"), CLEAN).unwrap();
    std::fs::write(work.join("README"), "not a Dockerfile\n").unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "."]);

    let bin_dir = Path::new(env!("CARGO_BIN_EXE_elfgate")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let pre_commit = |args: &[&str]| {
        let out = Command::new("pre-commit")
            .args(args)
            .current_dir(&work)
            .env("PATH", &path)
            .env("PRE_COMMIT_HOME", tmp.path().join("pc-home"))
            .output()
            .expect("run pre-commit (pip install pre-commit)");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let hooks_repo = hooks.to_str().unwrap();
    let (code, out) = pre_commit(&["try-repo", hooks_repo, "elfgate-dockerfile", "--all-files"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("deploy/Dockerfile.release:4"), "{out}");
    assert!(out.contains("dockerfile-cgo-libc"), "{out}");

    // Fixed: the hook passes.
    std::fs::write(work.join("deploy/Dockerfile.release"), CLEAN).unwrap();
    git(&work, &["add", "."]);
    let (code, out) = pre_commit(&["try-repo", hooks_repo, "elfgate-dockerfile", "--all-files"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Passed"), "{out}");

    // The image hook runs only on demand and scans what the configuration names.
    let demo = testdata("demo");
    std::fs::write(
        work.join(".elfgate.toml"),
        format!("images = [\"{}\"]\n", demo.display()),
    )
    .unwrap();
    git(&work, &["add", "."]);
    // At the ordinary commit stage pre-commit does not know it.
    let (_, out) = pre_commit(&["try-repo", hooks_repo, "elfgate-image", "--all-files"]);
    assert!(out.contains("in stage `pre-commit`"), "{out}");
    assert!(!out.contains("arch-mismatch"), "{out}");
    let (code, out) = pre_commit(&[
        "try-repo",
        hooks_repo,
        "elfgate-image",
        "--all-files",
        "--hook-stage",
        "manual",
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("arch-mismatch"), "{out}");
}
