//! JUnit XML, the test report format every CI system shows.
//!
//! One `<testsuite>` per image and platform, one `<testcase>` per checked
//! program — the ones that pass too, so the CI shows real counts. A program
//! fails when it has a finding at or above `--fail-on`; its findings below
//! that go to `<system-out>`. Findings about a platform or an image as a
//! whole get a testcase of their own. A Dockerfile is a suite with one
//! testcase per Dockerfile rule.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::{FailOn, ImageReport, Report};
use crate::rules::{Finding, RULES};

/// Name of the testcase that carries a platform's path-less findings.
const PLATFORM_CASE: &str = "(platform)";
/// Name of the testcase that carries an image's platform-less findings.
const IMAGE_CASE: &str = "(image)";

struct Case<'a> {
    name: String,
    classname: String,
    findings: Vec<&'a Finding>,
}

struct Suite<'a> {
    name: String,
    cases: Vec<Case<'a>>,
}

fn fails(f: &Finding, fail_on: FailOn) -> bool {
    match fail_on {
        FailOn::Never => false,
        FailOn::Severity(min) => f.severity >= min,
    }
}

fn is_dockerfile(image: &ImageReport) -> bool {
    image.platforms.is_empty()
        && image.digest.is_empty()
        && image.findings.iter().all(|f| f.line.is_some())
}

fn suites(image: &ImageReport) -> Vec<Suite<'_>> {
    let mut out = Vec::new();
    if is_dockerfile(image) {
        let cases = RULES
            .iter()
            .filter(|r| r.slug.starts_with("dockerfile-"))
            .map(|r| Case {
                name: r.slug.to_string(),
                classname: image.reference.clone(),
                findings: image.findings.iter().filter(|f| f.rule == r.slug).collect(),
            })
            .collect();
        out.push(Suite {
            name: image.reference.clone(),
            cases,
        });
        return out;
    }
    let known: Vec<&str> = image
        .platforms
        .iter()
        .map(|p| p.platform.as_str())
        .collect();
    let image_level: Vec<&Finding> = image
        .findings
        .iter()
        .filter(|f| f.platform.as_deref().is_none_or(|p| !known.contains(&p)))
        .collect();
    if !image_level.is_empty() {
        out.push(Suite {
            name: image.reference.clone(),
            cases: vec![Case {
                name: IMAGE_CASE.into(),
                classname: image.reference.clone(),
                findings: image_level,
            }],
        });
    }
    for p in &image.platforms {
        let classname = format!("{} {}", image.reference, p.platform);
        let mut by_path: BTreeMap<String, Vec<&Finding>> = p
            .programs
            .iter()
            .map(|path| (path.clone(), Vec::new()))
            .collect();
        let mut platform_level = Vec::new();
        for f in image
            .findings
            .iter()
            .filter(|f| f.platform.as_deref() == Some(p.platform.as_str()))
        {
            match &f.path {
                Some(path) => by_path.entry(path.clone()).or_default().push(f),
                None => platform_level.push(f),
            }
        }
        let mut cases = Vec::new();
        if !platform_level.is_empty() {
            cases.push(Case {
                name: PLATFORM_CASE.into(),
                classname: classname.clone(),
                findings: platform_level,
            });
        }
        cases.extend(by_path.into_iter().map(|(name, findings)| Case {
            name,
            classname: classname.clone(),
            findings,
        }));
        out.push(Suite {
            name: classname,
            cases,
        });
    }
    out
}

/// Renders the report as JUnit XML; `fail_on` decides what is a failure.
pub fn render_junit(report: &Report, fail_on: FailOn) -> String {
    let all: Vec<Suite<'_>> = report.images.iter().flat_map(suites).collect();
    let count = |s: &Suite<'_>| {
        let failed = s
            .cases
            .iter()
            .filter(|c| c.findings.iter().any(|f| fails(f, fail_on)))
            .count();
        (s.cases.len(), failed)
    };
    let (tests, failures) = all
        .iter()
        .map(count)
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        x,
        "<testsuites name=\"elfgate\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">"
    );
    for s in &all {
        let (tests, failures) = count(s);
        let _ = writeln!(
            x,
            "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" \
             skipped=\"0\">",
            esc(&s.name)
        );
        for c in &s.cases {
            let _ = write!(
                x,
                "    <testcase name=\"{}\" classname=\"{}\"",
                esc(&c.name),
                esc(&c.classname)
            );
            if c.findings.is_empty() {
                x.push_str("/>\n");
                continue;
            }
            x.push_str(">\n");
            let (failing, other): (Vec<&Finding>, Vec<&Finding>) =
                c.findings.iter().partition(|f| fails(f, fail_on));
            if let Some(first) = failing.first() {
                let body: Vec<String> = failing.iter().map(|f| describe(f)).collect();
                let _ = writeln!(
                    x,
                    "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                    esc(&first.message),
                    esc(first.rule),
                    esc(&body.join("\n"))
                );
            }
            if !other.is_empty() {
                let body: Vec<String> = other.iter().map(|f| describe(f)).collect();
                let _ = writeln!(
                    x,
                    "      <system-out>{}</system-out>",
                    esc(&body.join("\n"))
                );
            }
            x.push_str("    </testcase>\n");
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

/// One finding as a line of text: severity, rule, where, message.
fn describe(f: &Finding) -> String {
    let mut s = format!("{} [{}]", f.severity.as_str(), f.rule);
    if let Some(p) = &f.path {
        s.push(' ');
        s.push_str(p);
        if let Some(l) = f.line {
            let _ = write!(s, ":{l}");
        }
    }
    if let Some(layer) = &f.layer {
        let _ = write!(s, " (layer {layer})");
    }
    let _ = write!(s, ": {}", f.message);
    s
}

/// Escapes text for an XML attribute or element; characters XML 1.0 cannot
/// carry at all (most controls) become U+FFFD.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' | '\r' => {
                let _ = write!(out, "&#{};", u32::from(c));
            }
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::PlatformSummary;
    use crate::rules::Severity;

    #[test]
    fn escaping_keeps_the_document_well_formed() {
        assert_eq!(
            esc("a<b>&\"c'\u{1}"),
            "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}"
        );
    }

    #[test]
    fn passes_failures_and_lower_findings() {
        let summary = PlatformSummary {
            platform: "linux/arm64".into(),
            manifest_digest: String::new(),
            libc: "glibc".into(),
            files: 3,
            elf_files: 2,
            inventory: None,
            programs: vec!["/bin/ok".into(), "/bin/bad".into()],
        };
        let bad = Finding {
            platform: Some("linux/arm64".into()),
            path: Some("/bin/bad".into()),
            ..Finding::new("missing-library", "needs libz")
        };
        let warn = Finding {
            platform: Some("linux/arm64".into()),
            path: Some("/bin/ok".into()),
            ..Finding::new("page-size", "4k").severity(Severity::Warning)
        };
        let report = Report {
            images: vec![ImageReport::new(
                "oci:app".into(),
                "sha256:x".into(),
                vec![summary],
                vec![bad, warn],
            )],
        };
        let x = render_junit(&report, FailOn::Severity(Severity::Error));
        assert!(
            x.contains("<testsuites name=\"elfgate\" tests=\"2\" failures=\"1\""),
            "{x}"
        );
        assert!(x.contains("<testsuite name=\"oci:app linux/arm64\" tests=\"2\" failures=\"1\""));
        assert!(x.contains("<failure message=\"needs libz\" type=\"missing-library\">"));
        assert!(x.contains("<system-out>warning [page-size] /bin/ok: 4k</system-out>"));
        let strict = render_junit(&report, FailOn::Severity(Severity::Warning));
        assert!(strict.contains("tests=\"2\" failures=\"2\""), "{strict}");
    }
}
