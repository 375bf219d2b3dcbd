use std::io::Write;

use anyhow::bail;
use elfgate::rules::{RULES, rule};

pub fn run(slug: &str) -> anyhow::Result<u8> {
    let Some(r) = rule(slug) else {
        let known: Vec<&str> = RULES.iter().map(|r| r.slug).collect();
        bail!(
            "no rule named {slug:?}; the rules are: {}",
            known.join(", ")
        );
    };
    let mut out = std::io::stdout().lock();
    out.write_all(r.doc.as_bytes())?;
    if !r.doc.ends_with('\n') {
        writeln!(out)?;
    }
    Ok(0)
}
