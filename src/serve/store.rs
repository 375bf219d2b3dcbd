//! Durable work: the queue of scans and their results, behind a small
//! interface.
//!
//! A scan is keyed by what it scans: the image digest when the event names
//! one (so a digest pushed again, or under several tags, is scanned once and
//! its result shared), else the reference (`docker.io/team/app:v1`), which
//! is scanned again when pushed again. Each push that led to a scan is kept
//! beside it (registry, repository, tag), for the `repository` filter.
//!
//! The life of a scan: `queued` → `running` (claimed by a worker) → `done`
//! (with the report) or `failed` (with the error); a `running` scan whose
//! process died goes back to `queued` at the next start ([`Store::recover`]).
//! Completion only moves a `running` scan, so a scan never completes twice.
//!
//! The embedded store is SQLite ([`super::sqlite::SqliteStore`]). A store
//! shared by several replicas (PostgreSQL) implements the same trait: `claim`
//! becomes `UPDATE ... WHERE key = (SELECT key ... FOR UPDATE SKIP LOCKED)`,
//! and `recover` releases only the leases of replicas that stopped renewing
//! them instead of every running scan.

use std::fmt;

use serde::Serialize;

/// Where a scan stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Queued,
    Running,
    Done,
    Failed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Running => "running",
            Status::Done => "done",
            Status::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "queued" => Status::Queued,
            "running" => Status::Running,
            "done" => Status::Done,
            "failed" => Status::Failed,
            _ => return None,
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One push to scan, as an event named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Push {
    /// The scan's key: the digest, or the reference when the event has none.
    pub key: String,
    /// What the worker opens: `docker://ADDRESS/REPOSITORY@DIGEST` (or `:TAG`).
    pub reference: String,
    /// The registry as the event names it (before any address mapping).
    pub registry: String,
    pub repository: String,
    /// The tag pushed, empty when the push was by digest.
    pub tag: String,
    /// Which endpoint took it: `distribution`, `harbor`, `dockerhub`, `api`.
    pub source: &'static str,
}

impl Push {
    /// Whether the key is a digest (content that never changes).
    pub fn by_digest(&self) -> bool {
        self.key.starts_with("sha256:") || self.key.starts_with("sha512:")
    }
}

/// What enqueueing one push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Enqueued {
    /// A new scan was queued.
    New,
    /// A finished scan of a tag, or a failed one, was queued again.
    Requeued,
    /// The scan is queued, running or done already: its result is shared.
    Duplicate,
}

/// A scan a worker took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub key: String,
    pub reference: String,
    /// How many times a worker has started it, this time included.
    pub attempts: u32,
}

/// How a scan ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    Done {
        /// The digest the scan found (for scans keyed by a tag).
        digest: String,
        /// The JSON report, as `scan --format json` writes it.
        report: String,
        errors: u64,
        warnings: u64,
        infos: u64,
    },
    Failed {
        error: String,
    },
}

/// A scan as stored.
#[derive(Debug, Clone, Serialize)]
pub struct ScanRecord {
    /// Its position in arrival order; `after` in listings pages by it.
    pub seq: i64,
    pub key: String,
    pub digest: Option<String>,
    pub reference: String,
    pub status: Status,
    pub attempts: u32,
    pub error: Option<String>,
    /// Finding counts by severity, when done.
    pub errors: Option<u64>,
    pub warnings: Option<u64>,
    pub infos: Option<u64>,
    /// Milliseconds since the Unix epoch.
    pub received_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    /// The pushes that named it.
    pub pushes: Vec<PushRecord>,
    #[serde(skip)]
    pub report: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PushRecord {
    pub registry: String,
    pub repository: String,
    pub tag: String,
    pub source: String,
    pub received_at: i64,
}

/// Which scans a listing returns, oldest first.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub repository: Option<String>,
    pub status: Option<Status>,
    /// Only scans with `seq` above this.
    pub after: Option<i64>,
    pub limit: u32,
}

/// How many scans wait and run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depth {
    pub queued: u64,
    pub running: u64,
}

/// Which finished scans are kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    /// Finished longer ago than this (milliseconds) go.
    pub max_age_ms: i64,
    /// At most this many finished scans are kept; the oldest go first.
    pub max_count: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the queue is full ({0} scans waiting)")]
    QueueFull(u64),
    #[error("the store: {0}")]
    Db(String),
    #[error("the store is closed")]
    Closed,
}

/// The queue and the results. Every method blocks; async callers run them
/// on a blocking thread.
pub trait Store: Send + Sync {
    /// Records the pushes and queues what is not queued, running or done
    /// yet, all or nothing, durably before it returns. New scans beyond
    /// `max_queued` waiting ones fail the whole call with
    /// [`StoreError::QueueFull`].
    fn enqueue(
        &self,
        pushes: &[Push],
        max_queued: u64,
        now: i64,
    ) -> Result<Vec<Enqueued>, StoreError>;
    /// Takes the oldest queued scan and marks it running.
    fn claim(&self, now: i64) -> Result<Option<Claimed>, StoreError>;
    /// Completes a running scan; `false` when it was not running (nothing changed).
    fn finish(&self, key: &str, outcome: &Outcome, now: i64) -> Result<bool, StoreError>;
    /// Puts a running scan back in the queue (a drain that ran out of time).
    fn release(&self, key: &str) -> Result<(), StoreError>;
    /// At start: every scan left running by a process that died is queued again.
    fn recover(&self) -> Result<u64, StoreError>;
    fn get(&self, key: &str) -> Result<Option<ScanRecord>, StoreError>;
    fn list(&self, filter: &Filter) -> Result<Vec<ScanRecord>, StoreError>;
    fn depth(&self) -> Result<Depth, StoreError>;
    /// Deletes finished scans beyond the retention policy; returns how many.
    fn prune(&self, retention: Retention, now: i64) -> Result<u64, StoreError>;
}
