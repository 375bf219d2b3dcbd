//! The library call that the CLI, `serve` and the tests make: image → report.
