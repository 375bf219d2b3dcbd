//! elfgate's integration tests: one binary, modules by theme.

mod bad_input;
mod ci;
mod cli;
mod harness;
mod malicious;
mod oracle;
mod registry;
mod rules_fire;
mod seeds;
mod serve;
mod synthetic;
mod toolchain;
