//! GitHub Actions workflow commands: one `::error`, `::warning` or
//! `::notice` line per finding, which the Actions runner turns into an
//! annotation. Dockerfile findings carry `file` and `line`, so the annotation
//! sits on the line in the pull request; image findings name the image,
//! platform and path in the title and the message.

use std::fmt::Write as _;

use super::Report;
use crate::rules::Severity;

/// Renders one workflow command per finding.
pub fn render_github(report: &Report) -> String {
    let mut out = String::new();
    for image in &report.images {
        for f in &image.findings {
            let command = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "notice",
            };
            let mut props = Vec::new();
            let message = match (&f.path, f.line) {
                (Some(path), Some(line)) => {
                    props.push(format!("file={}", property(path)));
                    props.push(format!("line={line}"));
                    props.push(format!(
                        "title={}",
                        property(&format!("elfgate {}", f.rule))
                    ));
                    f.message.clone()
                }
                _ => {
                    let mut title = format!("elfgate {}", f.rule);
                    if let Some(p) = &f.platform {
                        let _ = write!(title, " ({p})");
                    }
                    props.push(format!("title={}", property(&title)));
                    let mut m = image.reference.clone();
                    if let Some(p) = &f.platform {
                        let _ = write!(m, " {p}");
                    }
                    if let Some(path) = &f.path {
                        let _ = write!(m, " {path}");
                    }
                    format!("{m}: {}", f.message)
                }
            };
            let _ = writeln!(out, "::{command} {}::{}", props.join(","), data(&message));
        }
    }
    out
}

/// Escapes a command's message (the runner's `escapeData`).
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a command property value (the runner's `escapeProperty`).
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ImageReport;
    use crate::rules::Finding;

    #[test]
    fn commands_for_image_and_dockerfile_findings() {
        let img = Finding {
            platform: Some("linux/arm64".into()),
            path: Some("/usr/bin/app".into()),
            ..Finding::new(
                "missing-interpreter",
                "needs /lib/ld-linux-aarch64.so.1\n100% gone",
            )
        };
        let df = Finding {
            path: Some("Dockerfile".into()),
            line: Some(3),
            ..Finding::new("dockerfile-emulated-build", "slow, very").severity(Severity::Warning)
        };
        let r = Report {
            images: vec![
                ImageReport::new("oci:app".into(), "d".into(), Vec::new(), vec![img]),
                ImageReport::new("Dockerfile".into(), String::new(), Vec::new(), vec![df]),
            ],
        };
        let text = render_github(&r);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "::error title=elfgate missing-interpreter (linux/arm64)::oci:app linux/arm64 \
                 /usr/bin/app: needs /lib/ld-linux-aarch64.so.1%0A100%25 gone",
                "::warning file=Dockerfile,line=3,title=elfgate dockerfile-emulated-build::slow, very",
            ]
        );
    }
}
