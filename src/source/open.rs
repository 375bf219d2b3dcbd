use std::io;
use std::path::Path;

use super::files::{Files, TarFiles};
use super::layout::invalid;
use super::reference::{Reference, parse, split_tag};
use super::{Image, OpenOptions, SourceError, dir, docker_archive, oci, oci_archive, registry};

const NOT_A_REFERENCE: &str = "not an image reference either";

/// Opens the image named by `reference` (a transport-prefixed name or a bare path).
pub fn open(reference: &str, options: &OpenOptions) -> Result<Image, SourceError> {
    match parse(reference) {
        Reference::Oci { dir, tag } => {
            oci::open_dir(reference, Path::new(&dir), tag.as_deref(), options)
        }
        Reference::OciArchive { file, tag } => {
            oci_archive::open_archive(reference, Path::new(&file), tag.as_deref(), options)
        }
        Reference::DockerArchive(rest) => {
            // `FILE` when it exists as written, else `FILE:REF` split at the
            // first colon (skopeo's rule).
            let (file, selector) = if Path::new(&rest).exists() {
                (rest.as_str(), None)
            } else {
                match rest.split_once(':') {
                    Some((file, sel)) => (file, Some(sel).filter(|s| !s.is_empty())),
                    None => (rest.as_str(), None),
                }
            };
            docker_archive::open_archive(reference, Path::new(file), selector, options)
        }
        Reference::Dir(root) => dir::open_rootfs(reference, Path::new(&root), options),
        Reference::Registry(name) => registry::open(reference, &name, options),
        Reference::Unsupported(transport) => Err(invalid(
            reference,
            format!("the {transport}: transport is not supported"),
        )),
        Reference::Bare(path) => open_bare(reference, &path, options),
    }
}

/// A bare path: decided by what it holds. A path that does not exist may
/// still be `PATH:TAG`.
fn open_bare(reference: &str, path: &str, options: &OpenOptions) -> Result<Image, SourceError> {
    let p = Path::new(path);
    match p.symlink_metadata() {
        Ok(_) => open_existing(reference, p, None, options),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            if let (base, Some(tag)) = split_tag(path)
                && Path::new(base).exists()
            {
                return open_existing(reference, Path::new(base), Some(tag), options);
            }
            // Not a path: an image in a registry (`alpine:3.20`,
            // `localhost:5000/app:dev`), unless it reads like a path.
            if registry::looks_like_reference(path) {
                return registry::open(reference, path, options);
            }
            Err(invalid(
                reference,
                format!("no such file or directory, and {NOT_A_REFERENCE}"),
            ))
        }
        Err(source) => Err(SourceError::Io {
            reference: reference.to_string(),
            what: path.to_string(),
            source,
        }),
    }
}

fn open_existing(
    reference: &str,
    p: &Path,
    tag: Option<&str>,
    options: &OpenOptions,
) -> Result<Image, SourceError> {
    if p.is_dir() {
        if p.join("oci-layout").is_file() || p.join("index.json").is_file() {
            return oci::open_dir(reference, p, tag, options);
        }
        let has = |name: &str| p.join(name).symlink_metadata().is_ok();
        if tag.is_none() && (has("bin") || has("usr") || has("etc")) {
            return dir::open_rootfs(reference, p, options);
        }
        return Err(invalid(
            reference,
            format!(
                "{} is neither an OCI layout (no oci-layout or index.json) nor a root \
                 filesystem (no bin, usr or etc)",
                p.display()
            ),
        ));
    }
    let tar: TarFiles = oci_archive::scan(reference, p)?;
    if tar.has("manifest.json") {
        docker_archive::open_tar(reference, tar, tag, options)
    } else if tar.has("oci-layout") || tar.has("index.json") {
        oci_archive::open_tar(reference, tar, tag, options)
    } else {
        Err(invalid(
            reference,
            format!(
                "{} is a tar archive without manifest.json, oci-layout or index.json: \
                 not an image archive",
                p.display()
            ),
        ))
    }
}
