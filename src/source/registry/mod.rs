//! `docker://REF` (and bare references): images in a registry, pulled through
//! `oci-client`.
//!
//! Async inside, blocking outside: the transport owns a small tokio runtime.
//! Opening resolves the reference down to every platform's manifest and
//! config (each verified against its digest); [`BlobStore::open_blob`] starts
//! a download task that feeds a bounded channel, and returns a blocking
//! reader over that channel wrapped in a [`VerifyingReader`], so the layer
//! reader decompresses while the bytes arrive and nothing touches the disk.
//!
//! Requests are retried with exponential backoff and jitter on 429, 5xx and
//! dropped or stalled connections, waiting longer when a 429 or 503 comes
//! with a longer `Retry-After`; a blob download that breaks off resumes with
//! a range request where it stopped.

mod auth;
mod remote;

pub use auth::Credentials;

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes_chunk::Chunk;
use tokio::sync::mpsc;

use super::digest::Digest;
use super::layout::invalid;
use super::verify::VerifyingReader;
use super::{BlobStore, Image, OpenOptions, SourceError};
use remote::Remote;

/// How registries are reached. The command layer fills it from flags and
/// the environment; nothing here reads the host's environment.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    pub credentials: Credentials,
    /// `--insecure`: plain http, or https without certificate verification,
    /// for every registry.
    pub insecure: bool,
    /// Registries (`host[:port]`) treated as with `--insecure` (from
    /// containers' registries.conf).
    pub insecure_registries: Vec<String>,
    /// Settings by registry (`host[:port]`), from the configuration file.
    /// `insecure` here wins over `insecure_registries`; `--insecure` wins
    /// over both.
    pub registries: BTreeMap<String, RegistrySettings>,
    /// PEM files of extra trusted CAs (`--ca-file`).
    pub ca_files: Vec<PathBuf>,
    /// Directories whose `*.crt` files are trusted CAs (`--cert-dir`).
    pub cert_dirs: Vec<PathBuf>,
    /// Directories holding one subdirectory per registry (`host[:port]`)
    /// whose `*.crt` files are trusted for that registry
    /// (`/etc/containers/certs.d`, `/etc/docker/certs.d`).
    pub cert_roots: Vec<PathBuf>,
    pub connect_timeout: Duration,
    /// A response that sends nothing for this long is dropped (and retried).
    pub read_timeout: Duration,
    /// How many times a failed request is retried.
    pub retries: u32,
    /// The first backoff; it doubles with each retry, with jitter, up to
    /// [`MAX_BACKOFF`].
    pub retry_delay: Duration,
}

/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The longest `Retry-After` honoured; a registry asking for more is retried
/// after this long.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// What the configuration says about one registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrySettings {
    /// Plain http, or https without certificate verification; `None`: not
    /// said here.
    pub insecure: Option<bool>,
    /// A PEM file of CA certificates trusted for this registry, besides the
    /// `--ca-file` ones.
    pub ca_file: Option<PathBuf>,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            credentials: Credentials::default(),
            insecure: false,
            insecure_registries: Vec::new(),
            registries: BTreeMap::new(),
            ca_files: Vec::new(),
            cert_dirs: Vec::new(),
            cert_roots: Vec::new(),
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            retries: 4,
            retry_delay: Duration::from_secs(1),
        }
    }
}

/// Whether `input` (a bare argument) reads as a registry reference rather
/// than a path: it parses as one, and does not start like a path.
pub(crate) fn looks_like_reference(input: &str) -> bool {
    !input.starts_with('/')
        && !input.starts_with('.')
        && !input.starts_with('~')
        && !input.ends_with('/')
        && oci_client::Reference::try_from(input).is_ok()
}

/// Opens the image `name` (what follows `docker://`) of a registry.
pub(crate) fn open(
    reference: &str,
    name: &str,
    options: &OpenOptions,
) -> Result<Image, SourceError> {
    let parsed = oci_client::Reference::try_from(name).map_err(|e| {
        invalid(
            reference,
            format!(
                "not a valid image reference ({e}): expected [REGISTRY/]REPOSITORY[:TAG|@DIGEST]"
            ),
        )
    })?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .thread_name("elfgate-registry")
        .enable_all()
        .build()
        .map_err(|source| SourceError::Io {
            reference: reference.to_string(),
            what: "starting the registry client".to_string(),
            source,
        })?;
    let remote = Arc::new(Remote::new(reference, parsed, &options.registry)?);
    let resolved = runtime.block_on(remote.resolve(options))?;
    Ok(Image {
        reference: reference.to_string(),
        digest: resolved.digest,
        platforms: resolved.platforms,
        blobs: Box::new(RegistryBlobs {
            reference: reference.to_string(),
            runtime: Arc::new(runtime),
            remote,
            sizes: resolved.sizes,
        }),
    })
}

/// Layer blobs of a registry image, streamed as they download.
struct RegistryBlobs {
    reference: String,
    runtime: Arc<tokio::runtime::Runtime>,
    remote: Arc<Remote>,
    sizes: HashMap<Digest, u64>,
}

/// How many chunks may wait between the download and the layer reader.
const CHANNEL_CHUNKS: usize = 32;

impl BlobStore for RegistryBlobs {
    fn open_blob(&self, digest: &str) -> Result<Box<dyn Read + Send + '_>, SourceError> {
        let d =
            Digest::parse(digest).map_err(|e| invalid(&self.reference, format!("blob: {e}")))?;
        let size = self.sizes.get(&d).copied();
        let (tx, rx) = mpsc::channel(CHANNEL_CHUNKS);
        let remote = Arc::clone(&self.remote);
        let blob = d.clone();
        self.runtime
            .spawn(async move { remote.stream_blob(&blob, size, tx).await });
        Ok(Box::new(VerifyingReader::new(
            ChannelReader {
                rx,
                chunk: Chunk::default(),
            },
            d,
            size,
        )))
    }
}

/// A blocking reader over the chunks a download task sends. The channel
/// closing is the end of the stream; an error sent is returned once.
struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Vec<u8>>>,
    chunk: Chunk,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(bytes)) => self.chunk = Chunk::new(bytes),
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        Ok(self.chunk.take_into(buf))
    }
}

mod bytes_chunk {
    /// A received chunk and how much of it was handed out.
    #[derive(Default)]
    pub(super) struct Chunk {
        bytes: Vec<u8>,
        at: usize,
    }

    impl Chunk {
        pub(super) fn new(bytes: Vec<u8>) -> Chunk {
            Chunk { bytes, at: 0 }
        }

        pub(super) fn is_empty(&self) -> bool {
            self.at >= self.bytes.len()
        }

        pub(super) fn take_into(&mut self, buf: &mut [u8]) -> usize {
            let rest = &self.bytes[self.at.min(self.bytes.len())..];
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.at += n;
            n
        }
    }
}

#[cfg(test)]
mod tests {
    use super::remote::{backoff, parse_retry_after, pause};
    use super::*;

    #[test]
    fn bare_references_and_paths() {
        for r in [
            "alpine",
            "alpine:3.20",
            "localhost:5000/app:dev",
            "registry.example.com/team/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert!(looks_like_reference(r), "{r}");
        }
        for p in [
            "./img",
            "/tmp/x",
            "../a:b",
            "~/img",
            "dir/",
            "Upper:case",
            "a b",
        ] {
            assert!(!looks_like_reference(p), "{p}");
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        let base = Duration::from_millis(100);
        for attempt in 0..4u32 {
            let full = base * 2u32.pow(attempt);
            let d = backoff(base, attempt);
            assert!(d >= full / 2 && d <= full, "attempt {attempt}: {d:?}");
        }
        assert!(backoff(base, 30) <= MAX_BACKOFF);
        assert!(backoff(base, 30) >= MAX_BACKOFF / 2);
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        // 1994-11-06 08:49:37 UTC, the example date of RFC 9110.
        let now = std::time::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let secs = Duration::from_secs;
        assert_eq!(parse_retry_after("2", now), Some(secs(2)));
        assert_eq!(parse_retry_after(" 120 ", now), Some(secs(120)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now),
            Some(secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:07 GMT", now),
            Some(Duration::ZERO),
            "a date already past"
        );
        for junk in ["", "-1", "1.5", "soon", "2 s"] {
            assert_eq!(parse_retry_after(junk, now), None, "{junk:?}");
        }
        assert!(parse_retry_after("99999999999999999999999", now).is_some());
    }

    #[test]
    fn the_longer_of_backoff_and_retry_after_capped() {
        let secs = Duration::from_secs;
        assert_eq!(pause(secs(1), None), secs(1));
        assert_eq!(pause(secs(1), Some(secs(2))), secs(2));
        assert_eq!(pause(secs(3), Some(secs(2))), secs(3));
        assert_eq!(pause(secs(1), Some(Duration::ZERO)), secs(1));
        assert_eq!(pause(secs(1), Some(secs(3600))), MAX_RETRY_AFTER);
    }

    #[test]
    fn channel_reader_streams_chunks_then_errors() {
        let (tx, rx) = mpsc::channel(4);
        tx.try_send(Ok(b"hello ".to_vec())).unwrap();
        tx.try_send(Ok(b"world".to_vec())).unwrap();
        tx.try_send(Err(io::Error::other("connection reset")))
            .unwrap();
        drop(tx);
        let mut r = ChannelReader {
            rx,
            chunk: Chunk::default(),
        };
        let mut small = [0u8; 4];
        assert_eq!(r.read(&mut small).unwrap(), 4);
        assert_eq!(&small, b"hell");
        let mut rest = Vec::new();
        let err = r.read_to_end(&mut rest).unwrap_err();
        assert_eq!(rest, b"o world");
        assert!(err.to_string().contains("connection reset"));
        assert_eq!(r.read(&mut small).unwrap(), 0, "the channel is closed");
    }
}
