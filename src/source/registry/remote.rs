//! One registry repository, reached through `oci-client`: connecting (TLS,
//! credentials, the insecure fallback to plain http), resolving a reference
//! to its platform images, and streaming blobs, all with retries.
//!
//! oci-client's errors carry a refusal's status but not its headers, so when
//! a registry answers 429 or 503, a plain `HEAD` of the same URL (same TLS
//! settings, same token) asks it for the `Retry-After` to honour.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::path::Path;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use futures_util::future::try_join_all;
use oci_client::client::{
    BlobResponse, Certificate, CertificateEncoding, ClientConfig, ClientProtocol,
};
use oci_client::errors::{OciDistributionError, OciErrorCode};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};
use tokio::sync::{OnceCell, mpsc};

use super::auth::Found;
use super::{MAX_BACKOFF, MAX_RETRY_AFTER, RegistryOptions, RegistrySettings};
use crate::platform::Platform;
use crate::source::digest::Digest;
use crate::source::layout::{MAX_DOCUMENT, check_bytes, choose_platform, invalid, parse_json};
use crate::source::manifest::{
    ConfigFile, DOCKER_CONFIG, DOCKER_LIST, DOCKER_MANIFEST, DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED,
    Descriptor, Index, Kind, Manifest, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST,
};
use crate::source::{LayerRef, Layers, OpenOptions, PlatformImage, SourceError};

/// The manifest media types asked for.
const ACCEPT: &[&str] = &[OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST];
/// How deep indexes may nest.
const MAX_DEPTH: usize = 8;
/// How many manifests one image may list.
const MAX_MANIFESTS: usize = 1024;

pub(super) struct Remote {
    /// The reference as the user gave it, for messages.
    user_ref: String,
    reference: Reference,
    found: Found,
    options: RegistryOptions,
    /// The clients, once connected (https, or http for an insecure registry).
    connection: OnceCell<Connection>,
}

/// A registry reached, and how.
struct Connection {
    client: Client,
    /// Plain requests to the same registry with the same TLS settings
    /// (redirects not followed), for the `Retry-After` of a refusal.
    probe: reqwest::Client,
    /// `https` or `http`.
    scheme: &'static str,
    /// The bearer token the registry handed out, if it uses tokens.
    token: Option<String>,
}

/// A reference resolved to its platform images.
pub(super) struct Resolved {
    pub digest: String,
    pub platforms: Vec<PlatformImage>,
    pub sizes: HashMap<Digest, u64>,
}

/// Whether a failure is worth another attempt.
fn retryable(e: &OciDistributionError) -> bool {
    match e {
        OciDistributionError::ServerError { code, .. } => *code == 429 || *code >= 500,
        OciDistributionError::RegistryError { envelope, .. } => envelope
            .errors
            .iter()
            .any(|e| e.code == OciErrorCode::Toomanyrequests),
        OciDistributionError::RequestError(e) => {
            !is_certificate_error(e)
                && (e.is_timeout() || e.is_connect() || e.is_request() || e.is_body())
        }
        OciDistributionError::IoError(e) => io_retryable(e),
        _ => false,
    }
}

/// An error from inside a byte stream: a transport failure is retried, a
/// digest mismatch is not.
fn io_retryable(e: &io::Error) -> bool {
    let inner = e.get_ref();
    !inner.is_some_and(|i| i.is::<oci_client::errors::DigestError>())
        && e.kind() != io::ErrorKind::InvalidData
}

fn is_certificate_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        let text = err.to_string().to_ascii_lowercase();
        if text.contains("certificate") || text.contains("unknownissuer") {
            return true;
        }
        cur = err.source();
    }
    false
}

/// The status code an error carries, when it carries one.
fn status_of(e: &OciDistributionError) -> Option<u16> {
    match e {
        OciDistributionError::ServerError { code, .. } => Some(*code),
        OciDistributionError::UnauthorizedError { .. }
        | OciDistributionError::AuthenticationFailure(_) => Some(401),
        OciDistributionError::RegistryError { envelope, .. } => {
            envelope.errors.iter().find_map(|e| match e.code {
                OciErrorCode::Unauthorized => Some(401),
                OciErrorCode::Denied => Some(403),
                OciErrorCode::ManifestUnknown
                | OciErrorCode::NameUnknown
                | OciErrorCode::BlobUnknown
                | OciErrorCode::NotFound => Some(404),
                OciErrorCode::Toomanyrequests => Some(429),
                _ => None,
            })
        }
        OciDistributionError::RequestError(e) => e.status().map(|s| s.as_u16()),
        _ => None,
    }
}

/// The full text of an error and its causes, on one line.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(err) = cur {
        let more = err.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cur = err.source();
    }
    text
}

/// An error's message without the reference in front (the caller adds it).
fn bare_message(e: SourceError) -> String {
    match e {
        SourceError::Invalid { message, .. } => message,
        other => other.to_string(),
    }
}

/// A small pseudo-random fraction in [0, 1) for jitter, from the clock.
fn jitter() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mixed = (nanos as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11;
    (mixed % 1_000_000) as f64 / 1_000_000.0
}

/// The wait before retry number `attempt` (0-based): `base * 2^attempt`,
/// capped, scaled by a jitter between 0.5 and 1.
pub(super) fn backoff(base: Duration, attempt: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.min(16));
    exp.min(MAX_BACKOFF).mul_f64(0.5 + jitter() / 2.0)
}

/// A `Retry-After` value: delay seconds, or an HTTP date (a date already
/// past is no wait). Anything else is no answer.
pub(super) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The wait after a refusal: the backoff, or what the registry asked for
/// (at most [`MAX_RETRY_AFTER`]) when that is longer.
pub(super) fn pause(backoff: Duration, asked: Option<Duration>) -> Duration {
    asked.map_or(backoff, |a| a.min(MAX_RETRY_AFTER).max(backoff))
}

/// The path of a manifest under the repository's `/v2/NAME/`.
fn manifest_path(reference: &Reference) -> String {
    let r = match (reference.digest(), reference.tag()) {
        (Some(d), _) => d,
        (None, Some(t)) => t,
        (None, None) => "latest",
    };
    format!("manifests/{r}")
}

/// A client for the probes, configured as oci-client configures its own.
fn probe_client(config: &ClientConfig) -> Result<reqwest::Client, OciDistributionError> {
    let roots = config
        .extra_root_certificates
        .iter()
        .map(reqwest::Certificate::try_from)
        .collect::<Result<Vec<_>, _>>()?;
    let mut builder = reqwest::Client::builder()
        .danger_accept_invalid_certs(config.accept_invalid_certificates)
        .tls_certs_merge(roots)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(config.user_agent);
    if let Some(t) = config.read_timeout {
        builder = builder.read_timeout(t);
    }
    if let Some(t) = config.connect_timeout {
        builder = builder.connect_timeout(t);
    }
    Ok(builder.build()?)
}

fn read_pem(path: &Path) -> Result<Certificate, String> {
    let data = std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    if !data.windows(11).any(|w| w == b"-----BEGIN ") {
        return Err(format!("{} is not a PEM certificate", path.display()));
    }
    Ok(Certificate {
        encoding: CertificateEncoding::Pem,
        data,
    })
}

/// The `*.crt` files of a directory, sorted; an absent directory has none.
fn crt_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("reading {}: {e}", dir.display())),
    };
    let mut out: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "crt"))
        .collect();
    out.sort();
    Ok(out)
}

impl Remote {
    pub(super) fn new(
        user_ref: &str,
        reference: Reference,
        options: &RegistryOptions,
    ) -> Result<Remote, SourceError> {
        let found = options
            .credentials
            .lookup(reference.registry(), reference.repository())
            .map_err(|e| invalid(user_ref, format!("credentials: {e}")))?;
        Ok(Remote {
            user_ref: user_ref.to_string(),
            reference,
            found,
            options: options.clone(),
            connection: OnceCell::new(),
        })
    }

    fn host(&self) -> &str {
        self.reference.resolve_registry()
    }

    /// What the configuration says about this registry.
    fn settings(&self) -> Option<&RegistrySettings> {
        let registries = &self.options.registries;
        registries
            .get(self.reference.registry())
            .or_else(|| registries.get(self.host()))
    }

    /// `--insecure`, else the configuration's `insecure` for this registry,
    /// else whether registries.conf lists it as insecure.
    fn insecure(&self) -> bool {
        if self.options.insecure {
            return true;
        }
        if let Some(insecure) = self.settings().and_then(|s| s.insecure) {
            return insecure;
        }
        let host = self.reference.registry();
        self.options
            .insecure_registries
            .iter()
            .any(|r| r == host || r == self.host())
    }

    fn err(&self, message: impl Into<String>) -> SourceError {
        invalid(&self.user_ref, message)
    }

    fn config(&self, http: bool) -> Result<ClientConfig, SourceError> {
        let mut certs = Vec::new();
        for f in &self.options.ca_files {
            certs.push(read_pem(f).map_err(|e| self.err(format!("--ca-file: {e}")))?);
        }
        if let Some(f) = self.settings().and_then(|s| s.ca_file.as_ref()) {
            certs.push(read_pem(f).map_err(|e| {
                self.err(format!(
                    "ca-file of registry {} in the configuration: {e}",
                    self.reference.registry()
                ))
            })?);
        }
        let mut dirs: Vec<std::path::PathBuf> = self.options.cert_dirs.clone();
        for root in &self.options.cert_roots {
            dirs.push(root.join(self.reference.registry()));
        }
        for dir in dirs {
            for f in crt_files(&dir).map_err(|e| self.err(e))? {
                certs.push(read_pem(&f).map_err(|e| self.err(e))?);
            }
        }
        Ok(ClientConfig {
            protocol: if http {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            accept_invalid_certificates: self.insecure(),
            extra_root_certificates: certs,
            platform_resolver: None,
            read_timeout: Some(self.options.read_timeout),
            connect_timeout: Some(self.options.connect_timeout),
            user_agent: concat!("elfgate/", env!("CARGO_PKG_VERSION")),
            ..ClientConfig::default()
        })
    }

    fn build(&self, http: bool) -> Result<(Client, reqwest::Client), SourceError> {
        let config = self.config(http)?;
        let failed = |e: OciDistributionError| {
            self.err(format!("setting up the HTTP client: {}", chain(&e)))
        };
        let probe = probe_client(&config).map_err(failed)?;
        Ok((Client::try_from(config).map_err(failed)?, probe))
    }

    /// Connects and authenticates once: https, or for an insecure registry
    /// https without verification and then plain http.
    async fn connection(&self) -> Result<&Connection, SourceError> {
        self.connection
            .get_or_try_init(|| async {
                let (https, probe) = self.build(false)?;
                let connected = |client, probe, scheme, token| Connection {
                    client,
                    probe,
                    scheme,
                    token,
                };
                if !self.insecure() {
                    let token = self.retry("connecting", None, || self.ping(&https)).await?;
                    return Ok(connected(https, probe, "https", token));
                }
                match self.ping(&https).await {
                    Ok(token) => Ok(connected(https, probe, "https", token)),
                    Err(OciDistributionError::RequestError(_)) => {
                        let (http, probe) = self.build(true)?;
                        let token = self
                            .retry("connecting over plain http", None, || self.ping(&http))
                            .await?;
                        Ok(connected(http, probe, "http", token))
                    }
                    Err(e) => Err(self.describe(e, "connecting")),
                }
            })
            .await
    }

    async fn client(&self) -> Result<&Client, SourceError> {
        Ok(&self.connection().await?.client)
    }

    /// Authenticates; the bearer token, if the registry hands one out.
    async fn ping(&self, client: &Client) -> Result<Option<String>, OciDistributionError> {
        client
            .auth(&self.reference, &self.found.auth, RegistryOperation::Pull)
            .await
    }

    /// How long the registry asks to wait before `path` (under the
    /// repository's `/v2/NAME/`) is asked for again: the `Retry-After` of a
    /// `HEAD` of it. Any failure is no answer.
    async fn retry_after(&self, path: &str) -> Option<Duration> {
        let c = self.connection.get()?;
        let ns = self
            .reference
            .namespace()
            .map(|ns| format!("?ns={ns}"))
            .unwrap_or_default();
        let url = format!(
            "{}://{}/v2/{}/{path}{ns}",
            c.scheme,
            self.host(),
            self.reference.repository()
        );
        let request = match (&c.token, &self.found.auth) {
            (Some(token), _) => c.probe.head(url).bearer_auth(token),
            (None, RegistryAuth::Basic(user, password)) => {
                c.probe.head(url).basic_auth(user, Some(password))
            }
            (None, _) => c.probe.head(url),
        };
        let response = request.send().await.ok()?;
        let value = response.headers().get(reqwest::header::RETRY_AFTER)?;
        parse_retry_after(value.to_str().ok()?, SystemTime::now())
    }

    /// Waits before retry number `attempt` after `e`: the backoff, or longer
    /// when the registry refused `path` with 429 or 503 and says how long.
    async fn wait(&self, e: &OciDistributionError, attempt: u32, path: Option<&str>) {
        let asked = match (status_of(e), path) {
            (Some(429 | 503), Some(path)) => self.retry_after(path).await,
            _ => None,
        };
        let backoff = backoff(self.options.retry_delay, attempt);
        tokio::time::sleep(pause(backoff, asked)).await;
    }

    /// Runs `op`, a request for `path` (under the repository's `/v2/NAME/`),
    /// until it succeeds, fails for good, or the retries are spent.
    async fn retry<T, F, Fut>(
        &self,
        what: &str,
        path: Option<&str>,
        mut op: F,
    ) -> Result<T, SourceError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, OciDistributionError>>,
    {
        let mut attempt = 0;
        loop {
            match op().await {
                Ok(v) => return Ok(v),
                Err(e) if retryable(&e) && attempt < self.options.retries => {
                    self.wait(&e, attempt, path).await;
                    attempt += 1;
                }
                Err(e) => {
                    let mut err = self.describe(e, what);
                    if attempt > 0
                        && let SourceError::Invalid { message, .. } = &mut err
                    {
                        message.push_str(&format!(" (after {} attempts)", attempt + 1));
                    }
                    return Err(err);
                }
            }
        }
    }

    /// A clear message for a failed request: who refused what, and which
    /// credentials were tried (never the secret).
    fn describe(&self, e: OciDistributionError, what: &str) -> SourceError {
        let host = self.host();
        let repo = self.reference.repository();
        let message = match status_of(&e) {
            Some(401) => format!(
                "{what}: {host} refused the credentials for {repo} (401 Unauthorized); tried {}. \
                 Pass --username with --password-stdin, or add the registry to an auth file \
                 (skopeo login / docker login)",
                self.found.origin
            ),
            Some(403) => format!(
                "{what}: {host} denied access to {repo} (403 Forbidden); tried {}",
                self.found.origin
            ),
            Some(404) => format!(
                "{what}: not found on {host} (404): repository {repo}, {}",
                match (self.reference.digest(), self.reference.tag()) {
                    (Some(d), _) => format!("digest {d}"),
                    (None, Some(t)) => format!("tag {t}"),
                    (None, None) => "tag latest".to_string(),
                }
            ),
            Some(429) => format!("{what}: {host} keeps answering 429 Too Many Requests"),
            _ => match &e {
                OciDistributionError::DigestError(d) => {
                    format!("{what}: the bytes do not match their digest: {d}")
                }
                OciDistributionError::RequestError(r) if is_certificate_error(r) => format!(
                    "{what}: TLS: {host} presented a certificate that is not trusted ({}); \
                     pass --ca-file or --cert-dir, or --insecure",
                    chain(&e)
                ),
                _ => format!("{what}: {}", chain(&e)),
            },
        };
        self.err(message)
    }

    /// Fetches a manifest or index by tag or digest, checked against
    /// `expected` when known, capped in size.
    async fn manifest(
        &self,
        reference: &Reference,
        what: &str,
        expected: Option<(&Digest, Option<u64>)>,
    ) -> Result<(Vec<u8>, Digest), SourceError> {
        let client = self.client().await?;
        let path = manifest_path(reference);
        let (bytes, _header) = self
            .retry(what, Some(&path), || {
                client.pull_manifest_raw(reference, &self.found.auth, ACCEPT)
            })
            .await?;
        if bytes.len() as u64 > MAX_DOCUMENT {
            return Err(self.err(format!(
                "{what}: {} bytes, more than the {MAX_DOCUMENT}-byte limit",
                bytes.len()
            )));
        }
        let bytes = bytes.to_vec();
        let digest = match expected {
            Some((d, size)) => {
                check_bytes(&self.user_ref, what, d, size, &bytes)?;
                d.clone()
            }
            None => Digest::of_bytes(&bytes),
        };
        Ok((bytes, digest))
    }

    /// Fetches a small blob (a config) whole, checked against its digest.
    async fn small_blob(
        &self,
        digest: &Digest,
        size: Option<u64>,
        what: &str,
    ) -> Result<Vec<u8>, SourceError> {
        if let Some(size) = size
            && size > MAX_DOCUMENT
        {
            return Err(self.err(format!(
                "{what} {digest}: declared size {size} exceeds the {MAX_DOCUMENT}-byte limit"
            )));
        }
        let client = self.client().await?;
        let digest_text = digest.to_string();
        let full_what = format!("{what} {digest}");
        let path = format!("blobs/{digest}");
        let bytes = self
            .retry(&full_what, Some(&path), || async {
                let mut stream = client
                    .pull_blob_stream(&self.reference, digest_text.as_str())
                    .await?;
                let mut out = Vec::new();
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk?;
                    if (out.len() + chunk.len()) as u64 > MAX_DOCUMENT {
                        return Err(OciDistributionError::GenericError(Some(format!(
                            "larger than the {MAX_DOCUMENT}-byte limit"
                        ))));
                    }
                    out.extend_from_slice(&chunk);
                }
                Ok(out)
            })
            .await;
        let bytes = match bytes {
            Ok(b) => b,
            Err(e) => return Err(e),
        };
        check_bytes(&self.user_ref, what, digest, size, &bytes)?;
        Ok(bytes)
    }

    /// Resolves the reference to its platform images.
    pub(super) async fn resolve(&self, options: &OpenOptions) -> Result<Resolved, SourceError> {
        let expected = match self.reference.digest() {
            Some(d) => Some(Digest::parse(d).map_err(|e| self.err(e))?),
            None => None,
        };
        let (bytes, top) = self
            .manifest(
                &self.reference,
                "manifest",
                expected.as_ref().map(|d| (d, None)),
            )
            .await?;
        let mut sizes = HashMap::new();
        let platforms = match self.kind_of(&bytes, &top)? {
            Kind::Manifest => {
                let one = self.platform_image(&bytes, &top, None, options).await?;
                one.into_iter().collect()
            }
            Kind::Index => {
                let entries = self.walk_index(bytes, &top).await?;
                let jobs = entries.into_iter().map(|(d, digest)| async move {
                    if let Some(p) = d.platform()
                        && !options.only.is_empty()
                        && !options.only.iter().any(|w| p.satisfies(w))
                    {
                        // Not scanned: only its platform is needed.
                        return Ok(Some(PlatformImage {
                            platform: p.clone(),
                            index_platform: Some(p),
                            manifest_digest: digest.to_string(),
                            config: Default::default(),
                            layers: Layers::Blobs(Vec::new()),
                        }));
                    }
                    let what = format!("manifest {digest}");
                    let r = self.reference.clone_with_digest(digest.to_string());
                    let (bytes, _) = self.manifest(&r, &what, Some((&digest, d.size))).await?;
                    self.platform_image(&bytes, &digest, d.platform(), options)
                        .await
                });
                try_join_all(jobs).await?.into_iter().flatten().collect()
            }
        };
        let platforms: Vec<PlatformImage> = platforms;
        if platforms.is_empty() {
            return Err(self.err(format!(
                "{top} holds no image manifests (only artifacts or attestations)"
            )));
        }
        for p in &platforms {
            if let Layers::Blobs(refs) = &p.layers {
                for r in refs {
                    if let (Some(size), Ok(d)) = (r.size, Digest::parse(&r.digest)) {
                        sizes.insert(d, size);
                    }
                }
            }
        }
        Ok(Resolved {
            digest: top.to_string(),
            platforms,
            sizes,
        })
    }

    fn kind_of(&self, bytes: &[u8], digest: &Digest) -> Result<Kind, SourceError> {
        let what = format!("manifest {digest}");
        let doc: serde_json::Value = parse_json(&self.user_ref, &what, bytes)?;
        if let Some(t) = doc.get("mediaType").and_then(|t| t.as_str()) {
            if t == DOCKER_SCHEMA1 || t == DOCKER_SCHEMA1_SIGNED {
                return Err(self.err(format!(
                    "{what}: Docker schema 1 manifests are not supported"
                )));
            }
            if let Some(kind) = Kind::of(t) {
                return Ok(kind);
            }
            return Err(self.err(format!("{what}: unsupported media type {t:?}")));
        }
        if doc.get("schemaVersion").and_then(|v| v.as_u64()) == Some(1) {
            return Err(self.err(format!(
                "{what}: Docker schema 1 manifests are not supported"
            )));
        }
        if doc.get("manifests").is_some() {
            Ok(Kind::Index)
        } else {
            Ok(Kind::Manifest)
        }
    }

    /// The manifest descriptors below an index, nested indexes followed.
    async fn walk_index(
        &self,
        bytes: Vec<u8>,
        top: &Digest,
    ) -> Result<Vec<(Descriptor, Digest)>, SourceError> {
        let mut out = Vec::new();
        let mut pending = vec![(bytes, top.clone(), 0usize)];
        let mut seen = vec![top.clone()];
        while let Some((bytes, digest, depth)) = pending.pop() {
            let what = format!("index {digest}");
            let index: Index = parse_json(&self.user_ref, &what, &bytes)?;
            for entry in index.manifests.unwrap_or_default() {
                if entry.is_attestation() {
                    continue;
                }
                let child = Digest::parse(&entry.digest)
                    .map_err(|e| self.err(format!("{what}: entry: {e}")))?;
                let kind = match entry.media_type.as_deref() {
                    Some(t) => Kind::of(t),
                    None => None,
                };
                if kind == Some(Kind::Index) {
                    if depth + 1 >= MAX_DEPTH || seen.contains(&child) {
                        return Err(self.err(format!(
                            "{what}: nested index {child} is too deep or contains itself"
                        )));
                    }
                    seen.push(child.clone());
                    let r = self.reference.clone_with_digest(child.to_string());
                    let (b, _) = self
                        .manifest(&r, &format!("index {child}"), Some((&child, entry.size)))
                        .await?;
                    pending.push((b, child, depth + 1));
                } else {
                    out.push((entry, child));
                }
                if out.len() > MAX_MANIFESTS {
                    return Err(self.err(format!("more than {MAX_MANIFESTS} manifests")));
                }
            }
        }
        Ok(out)
    }

    /// One platform image from its manifest; `None` for an artifact.
    async fn platform_image(
        &self,
        bytes: &[u8],
        digest: &Digest,
        index_platform: Option<Platform>,
        options: &OpenOptions,
    ) -> Result<Option<PlatformImage>, SourceError> {
        let what = format!("manifest {digest}");
        let manifest: Manifest = parse_json(&self.user_ref, &what, bytes)?;
        if manifest.schema_version == Some(1) {
            return Err(self.err(format!(
                "{what}: Docker schema 1 manifests are not supported"
            )));
        }
        if let Some(t) = manifest.config.media_type.as_deref()
            && t != OCI_CONFIG
            && t != DOCKER_CONFIG
        {
            return Ok(None);
        }
        let config_digest = Digest::parse(&manifest.config.digest)
            .map_err(|e| self.err(format!("{what}: config: {e}")))?;
        let config_bytes = self
            .small_blob(&config_digest, manifest.config.size, "config")
            .await?;
        let config: ConfigFile = parse_json(
            &self.user_ref,
            &format!("config {config_digest}"),
            &config_bytes,
        )?;
        let config = config.image_config();
        let mut layers = Vec::new();
        for (i, layer) in manifest.layers.unwrap_or_default().iter().enumerate() {
            let d = Digest::parse(&layer.digest)
                .map_err(|e| self.err(format!("{what}: layer {i}: {e}")))?;
            layers.push(LayerRef {
                digest: d.to_string(),
                media_type: layer.media_type.clone().unwrap_or_default(),
                size: layer.size,
            });
        }
        let platform = choose_platform(
            &self.user_ref,
            &what,
            index_platform.as_ref(),
            &config,
            options,
        )?;
        Ok(Some(PlatformImage {
            platform,
            index_platform,
            manifest_digest: digest.to_string(),
            config,
            layers: Layers::Blobs(layers),
        }))
    }

    /// Downloads a blob into `tx`, resuming where it broke off. Failures are
    /// sent as the last item; a closed channel (the reader gave up) stops it.
    pub(super) async fn stream_blob(
        &self,
        digest: &Digest,
        size: Option<u64>,
        tx: mpsc::Sender<io::Result<Vec<u8>>>,
    ) {
        if let Err(message) = self.stream_blob_inner(digest, size, &tx).await {
            let _ = tx
                .send(Err(io::Error::other(format!(
                    "{}: {message}",
                    self.user_ref
                ))))
                .await;
        }
    }

    async fn stream_blob_inner(
        &self,
        digest: &Digest,
        size: Option<u64>,
        tx: &mpsc::Sender<io::Result<Vec<u8>>>,
    ) -> Result<(), String> {
        let client = self.client().await.map_err(bare_message)?;
        let digest_text = digest.to_string();
        let what = format!("blob {digest}");
        let path = format!("blobs/{digest}");
        let mut offset: u64 = 0;
        let mut attempt = 0u32;
        loop {
            if size.is_some_and(|s| offset >= s) {
                return Ok(());
            }
            let opened = if offset == 0 {
                client
                    .pull_blob_stream(&self.reference, digest_text.as_str())
                    .await
                    .map(|s| (s, 0))
            } else {
                match client
                    .pull_blob_stream_partial(&self.reference, digest_text.as_str(), offset, None)
                    .await
                {
                    Ok(BlobResponse::Partial(s)) => Ok((s, 0)),
                    // The registry ignored the range: skip what was sent.
                    Ok(BlobResponse::Full(s)) => Ok((s, offset)),
                    Err(e) => Err(e),
                }
            };
            let (mut stream, mut skip) = match opened {
                Ok(s) => s,
                Err(e) if retryable(&e) && attempt < self.options.retries => {
                    self.wait(&e, attempt, Some(&path)).await;
                    attempt += 1;
                    continue;
                }
                Err(e) => return Err(bare_message(self.describe(e, &what))),
            };
            let mut failed = None;
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(bytes) => {
                        let mut bytes = bytes.as_ref();
                        if skip > 0 {
                            let n = (skip.min(bytes.len() as u64)) as usize;
                            bytes = &bytes[n..];
                            skip -= n as u64;
                        }
                        if bytes.is_empty() {
                            continue;
                        }
                        offset += bytes.len() as u64;
                        if tx.send(Ok(bytes.to_vec())).await.is_err() {
                            return Ok(());
                        }
                    }
                    Err(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            match failed {
                None => return Ok(()),
                Some(e) if io_retryable(&e) && attempt < self.options.retries => {
                    tokio::time::sleep(backoff(self.options.retry_delay, attempt)).await;
                    attempt += 1;
                }
                Some(e) => {
                    return Err(format!(
                        "{what}: download failed after {offset} bytes ({} attempts): {}",
                        attempt + 1,
                        chain(&e)
                    ));
                }
            }
        }
    }
}
