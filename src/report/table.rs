//! `--format table`: per image and platform, one row per finding, then a summary.

use comfy_table::{Cell, Color, ContentArrangement, Table, presets};

use super::Report;
use crate::rules::Severity;

pub fn render_table(report: &Report, color: bool) -> String {
    let mut out = String::new();
    for image in &report.images {
        out.push_str(&image.reference);
        if !image.digest.is_empty() {
            out.push_str(&format!(" ({})", image.digest));
        }
        out.push('\n');
        for p in &image.platforms {
            out.push_str(&format!(
                "  {}: {} files, {} ELF, libc {}\n",
                p.platform, p.files, p.elf_files, p.libc
            ));
        }
        if image.findings.is_empty() {
            out.push_str("  no findings\n\n");
            continue;
        }
        let mut table = Table::new();
        table
            .load_style(presets::UTF8_FULL_CONDENSED)
            .set_content_arrangement(ContentArrangement::Dynamic)
            .set_header(["platform", "severity", "rule", "path", "message"]);
        if !color {
            table.force_no_tty();
        }
        table.set_width(160);
        for f in &image.findings {
            let mut sev = Cell::new(f.severity.as_str());
            if color {
                sev = sev.fg(match f.severity {
                    Severity::Error => Color::Red,
                    Severity::Warning => Color::Yellow,
                    Severity::Info => Color::Blue,
                });
            }
            table.add_row(vec![
                Cell::new(f.platform.as_deref().unwrap_or("-")),
                sev,
                Cell::new(f.rule),
                Cell::new(match (f.path.as_deref(), f.line) {
                    (Some(p), Some(l)) => format!("{p}:{l}"),
                    (p, _) => p.unwrap_or("-").to_string(),
                }),
                Cell::new(&f.message),
            ]);
        }
        out.push_str(&table.to_string());
        out.push_str("\n\n");
    }
    let s = report.summary();
    out.push_str(&format!(
        "{} error{}, {} warning{}, {} info\n",
        s.error,
        if s.error == 1 { "" } else { "s" },
        s.warning,
        if s.warning == 1 { "" } else { "s" },
        s.info
    ));
    out
}
