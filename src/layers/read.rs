use std::io::Read;
use std::path::Path;

use super::{Compression, Layer, LayerError, Limits};

/// Reads one layer blob stream into entries.
pub fn read_layer(
    _reader: impl Read,
    _compression: Compression,
    _digest: &str,
    _limits: &Limits,
) -> Result<Layer, LayerError> {
    Err(LayerError::Format("not implemented yet".into()))
}

/// Walks a root filesystem directory (without following symlinks) as one layer.
pub fn read_dir_tree(_root: &Path, _limits: &Limits) -> Result<Layer, LayerError> {
    Err(LayerError::Format("not implemented yet".into()))
}
