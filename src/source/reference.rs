//! Parsing the IMAGE argument: `TRANSPORT:DETAILS` in skopeo's names, or a
//! bare path.

/// What the user named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reference {
    /// `oci:DIR[:TAG]`
    Oci { dir: String, tag: Option<String> },
    /// `oci-archive:FILE[:TAG]`
    OciArchive { file: String, tag: Option<String> },
    /// `docker-archive:FILE[:REF|:@N]`, kept whole: whether the part after a
    /// colon is a selector depends on which paths exist.
    DockerArchive(String),
    /// `dir:ROOTFS`
    Dir(String),
    /// `docker://REF`
    Registry(String),
    /// A skopeo transport elfgate does not read.
    Unsupported(&'static str),
    /// No transport prefix.
    Bare(String),
}

/// skopeo transports that name something elfgate cannot open.
const UNSUPPORTED: &[&str] = &[
    "containers-storage",
    "docker-daemon",
    "ostree",
    "sif",
    "tarball",
];

pub(crate) fn parse(input: &str) -> Reference {
    if let Some(rest) = input.strip_prefix("docker://") {
        return Reference::Registry(rest.to_string());
    }
    if let Some(rest) = input.strip_prefix("oci:") {
        let (dir, tag) = split_tag(rest);
        return Reference::Oci {
            dir: dir.to_string(),
            tag: tag.map(str::to_string),
        };
    }
    if let Some(rest) = input.strip_prefix("oci-archive:") {
        let (file, tag) = split_tag(rest);
        return Reference::OciArchive {
            file: file.to_string(),
            tag: tag.map(str::to_string),
        };
    }
    if let Some(rest) = input.strip_prefix("docker-archive:") {
        return Reference::DockerArchive(rest.to_string());
    }
    if let Some(rest) = input.strip_prefix("dir:") {
        return Reference::Dir(rest.to_string());
    }
    if let Some((transport, _)) = input.split_once(':')
        && let Some(t) = UNSUPPORTED.iter().find(|t| **t == transport)
    {
        return Reference::Unsupported(t);
    }
    Reference::Bare(input.to_string())
}

/// Splits `PATH:TAG` at the last colon, but only when what follows it has no
/// `/` (so `dir:with:colons/x` stays one path). An empty tag is no tag.
pub(crate) fn split_tag(input: &str) -> (&str, Option<&str>) {
    match input.rsplit_once(':') {
        Some((path, tag)) if !tag.contains('/') && !path.is_empty() => {
            (path, Some(tag).filter(|t| !t.is_empty()))
        }
        _ => (input, None),
    }
}

/// How a docker archive's image is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ArchiveSelector {
    /// `@N`: the N-th entry of `manifest.json`.
    Index(usize),
    /// A name with a tag, in its familiar form (`busybox:latest`).
    Tag(String),
}

impl ArchiveSelector {
    pub(crate) fn parse(input: &str) -> Result<ArchiveSelector, String> {
        if let Some(n) = input.strip_prefix('@') {
            return n
                .parse()
                .map(ArchiveSelector::Index)
                .map_err(|_| format!("invalid image index {input:?}: expected @N"));
        }
        if input.is_empty() || input.contains('@') {
            return Err(format!(
                "invalid image reference {input:?}: expected NAME:TAG or @N"
            ));
        }
        let name = familiar(input);
        let last = name.rsplit('/').next().unwrap_or(&name);
        Ok(ArchiveSelector::Tag(if last.contains(':') {
            name
        } else {
            format!("{name}:latest")
        }))
    }
}

/// Docker's familiar form of an image name: `docker.io/library/x:t` → `x:t`,
/// `docker.io/u/x:t` → `u/x:t`.
pub(crate) fn familiar(name: &str) -> String {
    let name = name
        .strip_prefix("docker.io/")
        .or_else(|| name.strip_prefix("index.docker.io/"))
        .unwrap_or(name);
    name.strip_prefix("library/").unwrap_or(name).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transports() {
        assert_eq!(
            parse("oci:/tmp/x:v1"),
            Reference::Oci {
                dir: "/tmp/x".into(),
                tag: Some("v1".into())
            }
        );
        assert_eq!(
            parse("oci:/tmp/a:b/layout"),
            Reference::Oci {
                dir: "/tmp/a:b/layout".into(),
                tag: None
            }
        );
        assert_eq!(
            parse("oci:/tmp/a:b/layout:latest"),
            Reference::Oci {
                dir: "/tmp/a:b/layout".into(),
                tag: Some("latest".into())
            }
        );
        assert_eq!(
            parse("oci-archive:img.tar"),
            Reference::OciArchive {
                file: "img.tar".into(),
                tag: None
            }
        );
        assert_eq!(
            parse("docker://alpine"),
            Reference::Registry("alpine".into())
        );
        assert_eq!(parse("dir:/r"), Reference::Dir("/r".into()));
        assert_eq!(
            parse("docker-archive:a.tar:x:1"),
            Reference::DockerArchive("a.tar:x:1".into())
        );
        assert_eq!(
            parse("containers-storage:x"),
            Reference::Unsupported("containers-storage")
        );
        assert_eq!(parse("alpine:3.19"), Reference::Bare("alpine:3.19".into()));
    }

    #[test]
    fn archive_selectors() {
        assert_eq!(ArchiveSelector::parse("@2"), Ok(ArchiveSelector::Index(2)));
        assert_eq!(
            ArchiveSelector::parse("busybox"),
            Ok(ArchiveSelector::Tag("busybox:latest".into()))
        );
        assert_eq!(
            ArchiveSelector::parse("docker.io/library/busybox:1"),
            Ok(ArchiveSelector::Tag("busybox:1".into()))
        );
        assert_eq!(
            ArchiveSelector::parse("localhost:5000/x"),
            Ok(ArchiveSelector::Tag("localhost:5000/x:latest".into()))
        );
        assert!(ArchiveSelector::parse("@x").is_err());
    }
}
