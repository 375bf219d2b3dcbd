use super::{Image, OpenOptions, SourceError};

/// Opens the image named by `reference` (a transport-prefixed name or a bare path).
pub fn open(reference: &str, _options: &OpenOptions) -> Result<Image, SourceError> {
    Err(SourceError::Invalid {
        reference: reference.to_string(),
        message: "not implemented yet".into(),
    })
}
