//! elfgate's integration tests: one binary, modules by theme.

mod cli;
mod harness;
mod oracle;
mod seeds;
mod synthetic;
