//! The JSON documents of OCI and Docker schema 2 images, as far as elfgate
//! reads them. Unknown fields are ignored; `null` is accepted wherever a
//! field is optional.

use std::collections::HashMap;

use serde::Deserialize;

use super::ImageConfig;
use crate::platform::Platform;

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_SCHEMA1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// The media type given to the uncompressed layers of a classic docker archive.
pub const DOCKER_LAYER_TAR: &str = "application/vnd.docker.image.rootfs.diff.tar";
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

/// The annotation holding a tag in an OCI layout's `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// The annotation where containerd (and Docker 25+) keep the full image name.
pub const IMAGE_NAME: &str = "io.containerd.image.name";

/// Whether a media type names an index or manifest list, or a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Index,
    Manifest,
}

impl Kind {
    pub fn of(media_type: &str) -> Option<Kind> {
        match media_type {
            OCI_INDEX | DOCKER_LIST => Some(Kind::Index),
            OCI_MANIFEST | DOCKER_MANIFEST => Some(Kind::Manifest),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: Option<String>,
    pub digest: String,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default)]
    pub platform: Option<PlatformSpec>,
    #[serde(default)]
    pub annotations: Option<HashMap<String, String>>,
}

impl Descriptor {
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }

    /// Attestation manifests (BuildKit's provenance and SBOMs) are not images.
    pub fn is_attestation(&self) -> bool {
        self.annotation("vnd.docker.reference.type") == Some("attestation-manifest")
            || self
                .platform
                .as_ref()
                .is_some_and(|p| p.os == "unknown" && p.architecture == "unknown")
    }

    pub fn platform(&self) -> Option<Platform> {
        self.platform
            .as_ref()
            .map(|p| Platform::new(&p.os, &p.architecture, p.variant.as_deref()))
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct PlatformSpec {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default)]
    pub variant: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub manifests: Option<Vec<Descriptor>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    #[serde(default)]
    pub schema_version: Option<u32>,
    #[serde(default)]
    pub media_type: Option<String>,
    pub config: Descriptor,
    #[serde(default)]
    pub layers: Option<Vec<Descriptor>>,
}

/// An image config (OCI) or image JSON (Docker).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConfigFile {
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default)]
    pub config: Option<RunConfig>,
    #[serde(default)]
    pub rootfs: Option<RootFs>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RunConfig {
    #[serde(rename = "Env", default)]
    pub env: Option<Vec<String>>,
    #[serde(rename = "Entrypoint", default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(rename = "Cmd", default)]
    pub cmd: Option<Vec<String>>,
    #[serde(rename = "WorkingDir", default)]
    pub working_dir: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RootFs {
    #[serde(default)]
    pub diff_ids: Option<Vec<String>>,
}

impl ConfigFile {
    pub fn image_config(&self) -> ImageConfig {
        let run = self.config.clone().unwrap_or_default();
        ImageConfig {
            os: self.os.clone().filter(|s| !s.is_empty()),
            architecture: self.architecture.clone().filter(|s| !s.is_empty()),
            variant: self.variant.clone().filter(|s| !s.is_empty()),
            env: run.env.unwrap_or_default(),
            entrypoint: run.entrypoint,
            cmd: run.cmd,
            working_dir: run.working_dir.filter(|s| !s.is_empty()),
        }
    }
}

/// An entry of a docker archive's `manifest.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct ArchiveEntry {
    #[serde(rename = "Config")]
    pub config: String,
    #[serde(rename = "RepoTags", default)]
    pub repo_tags: Option<Vec<String>>,
    #[serde(rename = "Layers", default)]
    pub layers: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_config_with_nulls() {
        let json = br#"{"architecture":"arm","os":"linux","variant":"v7",
            "config":{"Env":["PATH=/bin","A=b=c"],"Entrypoint":null,"Cmd":["sh"],"WorkingDir":""},
            "rootfs":{"type":"layers","diff_ids":[]}}"#;
        let c: ConfigFile = serde_json::from_slice(json).unwrap();
        let ic = c.image_config();
        assert_eq!(ic.env_var("A"), Some("b=c"));
        assert_eq!(ic.entrypoint, None);
        assert_eq!(ic.cmd, Some(vec!["sh".to_string()]));
        assert_eq!(ic.working_dir, None);
        assert_eq!(
            ic.platform(),
            Some(Platform::parse("linux/arm/v7").unwrap())
        );
        let c: ConfigFile = serde_json::from_slice(br#"{"config":null}"#).unwrap();
        assert_eq!(c.image_config(), ImageConfig::default());
    }

    #[test]
    fn attestations_are_recognised() {
        let d: Descriptor = serde_json::from_str(
            r#"{"digest":"x","platform":{"os":"unknown","architecture":"unknown"}}"#,
        )
        .unwrap();
        assert!(d.is_attestation());
        let d: Descriptor = serde_json::from_str(
            r#"{"digest":"x","annotations":{"vnd.docker.reference.type":"attestation-manifest"}}"#,
        )
        .unwrap();
        assert!(d.is_attestation());
        let d: Descriptor = serde_json::from_str(
            r#"{"digest":"x","platform":{"os":"linux","architecture":"amd64"}}"#,
        )
        .unwrap();
        assert!(!d.is_attestation());
    }
}
