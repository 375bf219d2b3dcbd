//! elfgate: would each program in this image start on this platform?
//!
//! Data flows one way (see `DESIGN.md` in the project's shared notes):
//! source → layers → filesystem view → ELF facts → loader → rules → report.
//! `elf` and `platform` are leaves that every stage may use; a stage never
//! imports from a later one.

pub mod cache;
pub mod config;
pub mod dockerfile;
pub mod elf;
pub mod fs;
pub mod layers;
pub mod loader;
pub mod platform;
pub mod progress;
pub mod report;
pub mod rules;
pub mod scan;
pub mod serve;
pub mod source;
