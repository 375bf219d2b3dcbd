//! Webhook payloads → the pushes to scan.
//!
//! Pure functions of the body bytes: what the registry sent becomes a list
//! of [`Push`]es (each with a `docker://` reference the worker can open) and
//! of events ignored with the reason. Names are checked against the
//! distribution grammar before anything is built from them, so a repository
//! such as `../x` or `a;rm -rf` never reaches a reference, a log or the store.

use serde::Deserialize;

use super::store::Push;

/// What a payload asks for.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub pushes: Vec<Push>,
    /// Events that need no scan, with the reason (a pull, a blob, a delete).
    pub ignored: Vec<String>,
}

/// Why a payload is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    /// Not JSON, or not the shape the endpoint takes (400).
    #[error("malformed payload: {0}")]
    Malformed(String),
    /// Well-formed, but naming something that cannot be scanned (422).
    #[error("invalid event: {0}")]
    Invalid(String),
}

/// The most events one envelope may carry.
pub const MAX_EVENTS: usize = 1000;

/// Maps the registry name an event gives to the address elfgate reaches it
/// at (`registry.example.com` → `registry.internal:5000`).
#[derive(Debug, Clone, Default)]
pub struct Aliases(pub Vec<(String, String)>);

impl Aliases {
    fn address<'a>(&'a self, registry: &'a str) -> &'a str {
        self.0
            .iter()
            .find(|(public, _)| public == registry)
            .map_or(registry, |(_, address)| address.as_str())
    }
}

const INDEX_TYPES: &[&str] = &[
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];
const MANIFEST_TYPES: &[&str] = &[
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
];

fn malformed(e: serde_json::Error) -> Rejected {
    Rejected::Malformed(e.to_string())
}

/// A repository path per the distribution grammar: lowercase components of
/// `[a-z0-9]` joined by `.`, `_`, `__` or runs of `-`, separated by `/`.
pub fn valid_repository(name: &str) -> bool {
    if name.is_empty() || name.len() > 255 {
        return false;
    }
    name.split('/').all(|component| {
        let b = component.as_bytes();
        let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
            return false;
        }
        let mut i = 0;
        while i < b.len() {
            if alnum(b[i]) {
                i += 1;
                continue;
            }
            // A separator: `.`, `_`, `__`, or one or more `-`.
            let start = i;
            while i < b.len() && !alnum(b[i]) {
                i += 1;
            }
            let sep = &component[start..i];
            if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|c| c == b'-')) {
                return false;
            }
        }
        true
    })
}

/// A tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn valid_tag(tag: &str) -> bool {
    let b = tag.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// `sha256:` and 64 lowercase hex digits (or `sha512:` and 128).
pub fn valid_digest(digest: &str) -> bool {
    let (algo, hex) = match digest.split_once(':') {
        Some(pair) => pair,
        None => return false,
    };
    let len = match algo {
        "sha256" => 64,
        "sha512" => 128,
        _ => return false,
    };
    hex.len() == len && hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
}

/// A registry host: a DNS name or IPv4 address, an optional port, or a
/// bracketed IPv6 address.
pub fn valid_registry(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b':' | b'[' | b']'))
        && !host.starts_with(['.', '-', ':'])
}

/// Builds the push, checking every name first.
fn push(
    aliases: &Aliases,
    registry: &str,
    repository: &str,
    tag: Option<&str>,
    digest: Option<&str>,
    source: &'static str,
) -> Result<Push, Rejected> {
    if !valid_registry(registry) {
        return Err(Rejected::Invalid(format!(
            "registry {registry:?} is not a host name"
        )));
    }
    if !valid_repository(repository) {
        return Err(Rejected::Invalid(format!(
            "repository {repository:?} is not a valid repository name"
        )));
    }
    let tag = tag.filter(|t| !t.is_empty());
    if let Some(t) = tag
        && !valid_tag(t)
    {
        return Err(Rejected::Invalid(format!("tag {t:?} is not a valid tag")));
    }
    if let Some(d) = digest
        && !valid_digest(d)
    {
        return Err(Rejected::Invalid(format!("{d:?} is not a digest")));
    }
    let address = aliases.address(registry);
    let (key, reference) = match (digest, tag) {
        (Some(d), _) => (
            d.to_string(),
            format!("docker://{address}/{repository}@{d}"),
        ),
        (None, Some(t)) => (
            format!("{registry}/{repository}:{t}"),
            format!("docker://{address}/{repository}:{t}"),
        ),
        (None, None) => {
            return Err(Rejected::Invalid(format!(
                "the push to {repository} names neither a digest nor a tag"
            )));
        }
    };
    Ok(Push {
        key,
        reference,
        registry: registry.to_string(),
        repository: repository.to_string(),
        tag: tag.unwrap_or_default().to_string(),
        source,
    })
}

// ---------------------------------------------------------------- distribution

#[derive(Deserialize)]
struct Envelope {
    events: Vec<DistEvent>,
}

#[derive(Deserialize)]
struct DistEvent {
    #[serde(default)]
    id: String,
    action: String,
    #[serde(default)]
    target: DistTarget,
    #[serde(default)]
    request: DistRequest,
}

#[derive(Deserialize, Default)]
struct DistTarget {
    #[serde(rename = "mediaType")]
    media_type: Option<String>,
    digest: Option<String>,
    repository: Option<String>,
    url: Option<String>,
    tag: Option<String>,
}

#[derive(Deserialize, Default)]
struct DistRequest {
    host: Option<String>,
}

/// The host of an `http(s)://HOST/...` URL.
fn url_host(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    rest.split('/').next().filter(|h| !h.is_empty())
}

/// A CNCF Distribution notification envelope. Pushes of an index are
/// scanned, and pushes of an image manifest by tag; an untagged image
/// manifest is a platform of an index pushed next, and is scanned with it.
pub fn distribution(body: &[u8], aliases: &Aliases) -> Result<Parsed, Rejected> {
    let envelope: Envelope = serde_json::from_slice(body).map_err(malformed)?;
    if envelope.events.len() > MAX_EVENTS {
        return Err(Rejected::Invalid(format!(
            "{} events in one envelope; at most {MAX_EVENTS}",
            envelope.events.len()
        )));
    }
    let mut out = Parsed::default();
    for e in envelope.events {
        let what = format!("event {}", e.id);
        if e.action != "push" {
            out.ignored.push(format!("{what}: action {:?}", e.action));
            continue;
        }
        let media_type = e.target.media_type.as_deref().unwrap_or("");
        let is_index = INDEX_TYPES.contains(&media_type);
        if !is_index && !MANIFEST_TYPES.contains(&media_type) {
            out.ignored
                .push(format!("{what}: a push of {media_type:?}, not a manifest"));
            continue;
        }
        if !is_index && e.target.tag.as_deref().is_none_or(str::is_empty) {
            out.ignored
                .push(format!("{what}: an untagged platform manifest"));
            continue;
        }
        let registry = e
            .request
            .host
            .as_deref()
            .filter(|h| !h.is_empty())
            .or_else(|| e.target.url.as_deref().and_then(url_host))
            .ok_or_else(|| Rejected::Invalid(format!("{what}: no registry host")))?;
        let repository = e
            .target
            .repository
            .as_deref()
            .ok_or_else(|| Rejected::Invalid(format!("{what}: no repository")))?;
        let digest = e
            .target
            .digest
            .as_deref()
            .ok_or_else(|| Rejected::Invalid(format!("{what}: no digest")))?;
        out.pushes.push(push(
            aliases,
            registry,
            repository,
            e.target.tag.as_deref(),
            Some(digest),
            "distribution",
        )?);
    }
    Ok(out)
}

// ---------------------------------------------------------------- harbor

#[derive(Deserialize)]
struct Harbor {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    event_data: HarborData,
}

#[derive(Deserialize, Default)]
struct HarborData {
    #[serde(default)]
    resources: Vec<HarborResource>,
    repository: Option<HarborRepository>,
}

#[derive(Deserialize)]
struct HarborResource {
    digest: Option<String>,
    tag: Option<String>,
    resource_url: Option<String>,
}

#[derive(Deserialize)]
struct HarborRepository {
    repo_full_name: Option<String>,
}

/// Harbor's webhook: `PUSH_ARTIFACT` events; every other type is ignored.
pub fn harbor(body: &[u8], aliases: &Aliases) -> Result<Parsed, Rejected> {
    let h: Harbor = serde_json::from_slice(body).map_err(malformed)?;
    let mut out = Parsed::default();
    if h.kind != "PUSH_ARTIFACT" {
        out.ignored.push(format!("type {:?}", h.kind));
        return Ok(out);
    }
    if h.event_data.resources.len() > MAX_EVENTS {
        return Err(Rejected::Invalid("too many resources".into()));
    }
    let repository = h
        .event_data
        .repository
        .and_then(|r| r.repo_full_name)
        .ok_or_else(|| Rejected::Invalid("no event_data.repository.repo_full_name".into()))?;
    for r in &h.event_data.resources {
        let url = r
            .resource_url
            .as_deref()
            .ok_or_else(|| Rejected::Invalid("a resource has no resource_url".into()))?;
        let registry = url.split('/').next().unwrap_or_default();
        out.pushes.push(push(
            aliases,
            registry,
            &repository,
            r.tag.as_deref(),
            r.digest.as_deref(),
            "harbor",
        )?);
    }
    Ok(out)
}

// ---------------------------------------------------------------- docker hub

#[derive(Deserialize)]
struct DockerHub {
    push_data: DockerHubPush,
    repository: DockerHubRepository,
}

#[derive(Deserialize)]
struct DockerHubPush {
    tag: Option<String>,
}

#[derive(Deserialize)]
struct DockerHubRepository {
    repo_name: String,
}

/// Docker Hub's webhook names a tag, not a digest: the scan resolves it.
pub fn dockerhub(body: &[u8], aliases: &Aliases) -> Result<Parsed, Rejected> {
    let h: DockerHub = serde_json::from_slice(body).map_err(malformed)?;
    let tag = h.push_data.tag.unwrap_or_else(|| "latest".to_string());
    let repository = if h.repository.repo_name.contains('/') {
        h.repository.repo_name
    } else {
        format!("library/{}", h.repository.repo_name)
    };
    Ok(Parsed {
        pushes: vec![push(
            aliases,
            "docker.io",
            &repository,
            Some(&tag),
            None,
            "dockerhub",
        )?],
        ignored: Vec::new(),
    })
}

// ---------------------------------------------------------------- generic

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Generic {
    image: String,
}

/// `POST /v1/scans {"image": "REF"}`: a registry reference, with or without
/// `docker://`.
pub fn generic(body: &[u8], aliases: &Aliases) -> Result<Parsed, Rejected> {
    let g: Generic = serde_json::from_slice(body).map_err(malformed)?;
    let name = g.image.strip_prefix("docker://").unwrap_or(&g.image);
    let invalid = || Rejected::Invalid(format!("{:?} is not an image reference", g.image));
    if name.len() > 1024 || name.starts_with(['/', '.', '~']) || name.contains(char::is_whitespace)
    {
        return Err(invalid());
    }
    let parsed = oci_client::Reference::try_from(name).map_err(|_| invalid())?;
    Ok(Parsed {
        pushes: vec![push(
            aliases,
            parsed.registry(),
            parsed.repository(),
            parsed.tag(),
            parsed.digest(),
            "api",
        )?],
        ignored: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn envelope(action: &str, media_type: &str, repo: &str, tag: Option<&str>) -> String {
        serde_json::json!({"events": [{
            "id": "e1", "timestamp": "2026-01-01T00:00:00Z", "action": action,
            "target": {"mediaType": media_type, "digest": D, "repository": repo,
                       "url": format!("http://reg.example:5000/v2/{repo}/manifests/{D}"),
                       "tag": tag},
            "request": {"id": "r1", "host": "reg.example:5000", "method": "PUT"}}]})
        .to_string()
    }

    #[test]
    fn distribution_index_push_is_scanned_by_digest() {
        let body = envelope("push", INDEX_TYPES[0], "team/app", Some("v1"));
        let p = distribution(body.as_bytes(), &Aliases::default()).unwrap();
        assert_eq!(p.pushes.len(), 1);
        let push = &p.pushes[0];
        assert_eq!(push.key, D);
        assert_eq!(
            push.reference,
            format!("docker://reg.example:5000/team/app@{D}")
        );
        assert_eq!(
            (push.repository.as_str(), push.tag.as_str()),
            ("team/app", "v1")
        );
    }

    #[test]
    fn aliases_map_the_public_name_to_the_address() {
        let body = envelope("push", MANIFEST_TYPES[0], "app", Some("v1"));
        let aliases = Aliases(vec![("reg.example:5000".into(), "10.0.0.9:5000".into())]);
        let p = distribution(body.as_bytes(), &aliases).unwrap();
        assert_eq!(
            p.pushes[0].reference,
            format!("docker://10.0.0.9:5000/app@{D}")
        );
        assert_eq!(p.pushes[0].registry, "reg.example:5000");
    }

    #[test]
    fn pulls_blobs_deletes_and_untagged_platform_manifests_are_ignored() {
        for (action, media_type, tag) in [
            ("pull", INDEX_TYPES[0], Some("v1")),
            ("delete", INDEX_TYPES[0], None),
            ("push", "application/octet-stream", None),
            ("push", "application/vnd.oci.image.layer.v1.tar+gzip", None),
            ("push", MANIFEST_TYPES[1], None),
            ("frobnicate", INDEX_TYPES[0], None),
        ] {
            let body = envelope(action, media_type, "app", tag);
            let p = distribution(body.as_bytes(), &Aliases::default()).unwrap();
            assert!(p.pushes.is_empty(), "{action} {media_type}");
            assert_eq!(p.ignored.len(), 1);
        }
    }

    #[test]
    fn hostile_names_are_refused() {
        for repo in [
            "../etc",
            "a/../b",
            "app;rm -rf /",
            "$(id)",
            "app`id`",
            "App",
            "a//b",
            "/abs",
            "a b",
            "",
            "a\nb",
        ] {
            let body = envelope("push", INDEX_TYPES[0], repo, Some("v1"));
            let e = distribution(body.as_bytes(), &Aliases::default()).unwrap_err();
            assert!(matches!(e, Rejected::Invalid(_)), "{repo:?}: {e}");
        }
        let body = envelope("push", INDEX_TYPES[0], "app", Some("v1;reboot"));
        assert!(distribution(body.as_bytes(), &Aliases::default()).is_err());
    }

    #[test]
    fn the_grammar_takes_what_registries_name() {
        for ok in ["app", "team/app", "a.b_c__d---e/f9", "library/ubuntu"] {
            assert!(valid_repository(ok), "{ok}");
        }
        for bad in ["a..b", "a._b", "-a", "a-", "a/", "a___b"] {
            assert!(!valid_repository(bad), "{bad}");
        }
        assert!(valid_digest(D));
        assert!(!valid_digest("sha256:abc"));
        assert!(!valid_digest(&D.to_uppercase()));
    }

    #[test]
    fn malformed_payloads() {
        for body in ["", "{", "[]", "{\"events\": 3}", "{\"events\": [{}]}"] {
            let e = distribution(body.as_bytes(), &Aliases::default()).unwrap_err();
            assert!(matches!(e, Rejected::Malformed(_)), "{body}: {e}");
        }
    }

    #[test]
    fn harbor_push_artifact() {
        let body = serde_json::json!({"type": "PUSH_ARTIFACT", "occur_at": 1, "operator": "admin",
            "event_data": {"resources": [{"digest": D, "tag": "latest",
                "resource_url": "harbor.example/library/busybox:latest"}],
              "repository": {"name": "busybox", "namespace": "library",
                "repo_full_name": "library/busybox", "repo_type": "private"}}})
        .to_string();
        let p = harbor(body.as_bytes(), &Aliases::default()).unwrap();
        assert_eq!(
            p.pushes[0].reference,
            format!("docker://harbor.example/library/busybox@{D}")
        );
        let other = serde_json::json!({"type": "DELETE_ARTIFACT", "event_data": {}}).to_string();
        assert_eq!(
            harbor(other.as_bytes(), &Aliases::default())
                .unwrap()
                .pushes,
            []
        );
    }

    #[test]
    fn dockerhub_push_is_keyed_by_tag() {
        let body = serde_json::json!({"callback_url": "https://registry.hub.docker.com/u/x/",
            "push_data": {"pushed_at": 1, "pusher": "x", "tag": "v2"},
            "repository": {"repo_name": "team/app", "name": "app", "namespace": "team"}})
        .to_string();
        let p = dockerhub(body.as_bytes(), &Aliases::default()).unwrap();
        assert_eq!(p.pushes[0].key, "docker.io/team/app:v2");
        assert_eq!(p.pushes[0].reference, "docker://docker.io/team/app:v2");
    }

    #[test]
    fn generic_references() {
        let body = format!("{{\"image\": \"docker://localhost:5000/app@{D}\"}}");
        let p = generic(body.as_bytes(), &Aliases::default()).unwrap();
        assert_eq!(p.pushes[0].key, D);
        assert_eq!(
            p.pushes[0].reference,
            format!("docker://localhost:5000/app@{D}")
        );
        for bad in [
            "/etc/passwd",
            "./x",
            "a b",
            "localhost:5000/A",
            "oci:/tmp/x",
        ] {
            let body = serde_json::json!({ "image": bad }).to_string();
            assert!(
                generic(body.as_bytes(), &Aliases::default()).is_err(),
                "{bad}"
            );
        }
    }
}
