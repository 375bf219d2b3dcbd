use std::io::Write;

use elfgate::rules::RULES;

pub fn run() -> anyhow::Result<u8> {
    let mut out = std::io::stdout().lock();
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
