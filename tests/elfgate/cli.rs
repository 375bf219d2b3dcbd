//! The command line itself: catalog commands, usage errors, exit statuses.

use crate::harness::elfgate;

#[test]
fn rules_lists_every_rule_with_its_severity() {
    let run = elfgate(&["rules"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for (slug, sev) in [
        ("missing-platform", "error"),
        ("arch-mismatch", "error"),
        ("missing-interpreter", "error"),
        ("libc-mismatch", "error"),
        ("missing-library", "error"),
        ("missing-symbol-version", "error"),
        ("missing-entrypoint", "error"),
        ("script-interpreter-missing", "error"),
        ("platform-label-mismatch", "error"),
        ("unreadable-elf", "warning"),
    ] {
        let line = run
            .stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(slug))
            .unwrap_or_else(|| panic!("{slug} not listed:\n{}", run.stdout));
        assert_eq!(line.split_whitespace().nth(1), Some(sev), "{line}");
    }
}

#[test]
fn explain_prints_the_rule_doc() {
    let run = elfgate(&["explain", "libc-mismatch"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("# libc-mismatch\n"));
    assert!(run.stdout.contains("## How to fix"));
}

#[test]
fn explain_of_an_unknown_rule_is_a_usage_error() {
    let run = elfgate(&["explain", "no-such-rule"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no rule named"), "{}", run.stderr);
    assert!(run.stderr.contains("libc-mismatch"), "lists the rules");
}

#[test]
fn bad_flags_exit_2() {
    assert_eq!(elfgate(&["scan"]).code, 2);
    assert_eq!(elfgate(&["scan", "x", "--fail-on", "sometimes"]).code, 2);
    assert_eq!(elfgate(&["scan", "x", "--platform", "linux//v7"]).code, 2);
    assert_eq!(elfgate(&["frobnicate"]).code, 2);
}

#[test]
fn a_missing_image_is_an_input_error() {
    let run = elfgate(&["scan", "oci:/nonexistent/layout:latest"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("/nonexistent/layout"), "{}", run.stderr);
    assert!(
        run.stdout.is_empty(),
        "nothing reported clean: {}",
        run.stdout
    );
}

#[test]
fn readme_rule_table_matches_the_catalog() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("<!-- rules:start").expect("start marker");
    let start = start + readme[start..].find('\n').unwrap() + 1;
    let end = readme.find("<!-- rules:end -->").expect("end marker");
    let generated = elfgate(&["rules", "--markdown"]);
    assert_eq!(generated.code, 0);
    assert_eq!(
        &readme[start..end],
        generated.stdout,
        "README.md's rule table is stale: paste `elfgate rules --markdown` between the markers"
    );
}
