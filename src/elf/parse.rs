use super::{ElfError, ElfFacts};

/// Parses one ELF file's bytes into facts.
pub fn parse(_bytes: &[u8]) -> Result<ElfFacts, ElfError> {
    Err(ElfError::Malformed("not implemented yet".into()))
}
