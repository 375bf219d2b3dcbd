use std::io::Write;

use elfgate::rules::RULES;

/// Lists the catalog: aligned text, or the Markdown table the README carries.
pub fn run(markdown: bool) -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
    if markdown {
        writeln!(out, "| rule | default severity | what it catches |")?;
        writeln!(out, "|---|---|---|")?;
        for r in RULES {
            writeln!(
                out,
                "| `{}` | {} | {} |",
                r.slug,
                r.severity.as_str(),
                r.summary()
            )?;
        }
        return Ok(0);
    }
    let width = RULES.iter().map(|r| r.slug.len()).max().unwrap_or(0);
    for r in RULES {
        writeln!(
            out,
            "{:width$}  {:7}  {}",
            r.slug,
            r.severity.as_str(),
            r.summary()
        )?;
    }
    Ok(0)
}
