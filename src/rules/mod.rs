//! The rule catalog: one file per rule, and the registry that lists them.
//!
//! A rule is a pure function from facts and the filesystem view to findings.
//! Rules know nothing of `--fail-on`, configuration or output formats.
