//! The embedded store: one SQLite file in WAL mode.
//!
//! Writes go through one writer thread that commits whatever has arrived
//! meanwhile in one transaction (a group commit): each request runs inside
//! its own savepoint, so it is all or nothing, and its caller hears back
//! only after the commit that made it durable (`synchronous = FULL`).
//! Reads use their own connection and never wait for the writer.

use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc;

use rusqlite::{Connection, OptionalExtension, params};

use super::store::{
    Claimed, Depth, Enqueued, Filter, Outcome, Push, PushRecord, Retention, ScanRecord, Status,
    Store, StoreError,
};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS scans (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    digest TEXT,
    reference TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    report TEXT,
    errors INTEGER,
    warnings INTEGER,
    infos INTEGER,
    received_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER
);
CREATE INDEX IF NOT EXISTS scans_status ON scans(status, seq);
CREATE INDEX IF NOT EXISTS scans_finished ON scans(finished_at);
CREATE TABLE IF NOT EXISTS pushes (
    key TEXT NOT NULL,
    registry TEXT NOT NULL,
    repository TEXT NOT NULL,
    tag TEXT NOT NULL,
    source TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (key, registry, repository, tag)
);
CREATE INDEX IF NOT EXISTS pushes_repository ON pushes(repository, key);
PRAGMA user_version = 1;
";

/// How many writes one commit takes at most.
const MAX_GROUP: usize = 512;

type Reply = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// A write: runs in the open transaction and says whether it succeeded
/// (a failed one is rolled back to its savepoint); the reply waits for the commit.
type Job = Box<dyn FnOnce(&Connection) -> (Reply, bool) + Send>;

pub struct SqliteStore {
    writer: Mutex<mpsc::Sender<Job>>,
    reader: Mutex<Connection>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Db(e.to_string())
    }
}

fn open(path: &Path) -> Result<Connection, StoreError> {
    let conn =
        Connection::open(path).map_err(|e| StoreError::Db(format!("{}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating) the database file at `path`.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        let conn = open(path)?;
        conn.execute_batch(SCHEMA)
            .map_err(|e| StoreError::Db(format!("{}: {e}", path.display())))?;
        let reader = open(path)?;
        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("elfgate-store".into())
            .spawn(move || write_loop(conn, rx))
            .map_err(|e| StoreError::Db(format!("starting the writer: {e}")))?;
        Ok(SqliteStore {
            writer: Mutex::new(tx),
            reader: Mutex::new(reader),
        })
    }

    /// Runs `f` in the writer's next transaction and waits for its commit.
    fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = mpsc::sync_channel(1);
        let job: Job = Box::new(move |conn| {
            let result = f(conn);
            let ok = result.is_ok();
            let reply: Reply = Box::new(move |commit: Result<(), StoreError>| {
                let _ = tx.send(commit.and(result));
            });
            (reply, ok)
        });
        self.writer
            .lock()
            .map_err(|_| StoreError::Closed)?
            .send(job)
            .map_err(|_| StoreError::Closed)?;
        rx.recv().map_err(|_| StoreError::Closed)?
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.reader.lock().map_err(|_| StoreError::Closed)?;
        f(&conn)
    }
}

fn write_loop(conn: Connection, rx: mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        if conn.execute_batch("BEGIN IMMEDIATE").is_err() {
            // Dropped unrun: each caller hears that the store is unavailable.
            drop(jobs);
            continue;
        }
        let mut replies = Vec::with_capacity(jobs.len());
        for job in jobs {
            let _ = conn.execute_batch("SAVEPOINT job");
            let (reply, ok) = job(&conn);
            if ok {
                let _ = conn.execute_batch("RELEASE job");
            } else {
                let _ = conn.execute_batch("ROLLBACK TO job; RELEASE job");
            }
            replies.push(reply);
        }
        let commit = conn.execute_batch("COMMIT").map_err(StoreError::from);
        if commit.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for reply in replies {
            reply(match &commit {
                Ok(()) => Ok(()),
                Err(e) => Err(StoreError::Db(e.to_string())),
            });
        }
    }
}

fn now_str(status: Status) -> &'static str {
    status.as_str()
}

fn queued_count(conn: &Connection) -> Result<u64, StoreError> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM scans WHERE status = 'queued'",
        [],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

fn enqueue_all(
    conn: &Connection,
    pushes: &[Push],
    max_queued: u64,
    now: i64,
) -> Result<Vec<Enqueued>, StoreError> {
    let mut queued = queued_count(conn)?;
    let mut out = Vec::with_capacity(pushes.len());
    for p in pushes {
        let status: Option<String> = conn
            .query_row(
                "SELECT status FROM scans WHERE key = ?1",
                params![p.key],
                |r| r.get(0),
            )
            .optional()?;
        let status = status.as_deref().and_then(Status::parse);
        let result = match status {
            None => {
                if queued >= max_queued {
                    return Err(StoreError::QueueFull(queued));
                }
                conn.execute(
                    "INSERT INTO scans (key, digest, reference, status, received_at)
                     VALUES (?1, ?2, ?3, 'queued', ?4)",
                    params![p.key, p.by_digest().then_some(&p.key), p.reference, now],
                )?;
                queued += 1;
                Enqueued::New
            }
            Some(Status::Failed) | Some(Status::Done)
                if status == Some(Status::Failed) || !p.by_digest() =>
            {
                if queued >= max_queued {
                    return Err(StoreError::QueueFull(queued));
                }
                conn.execute(
                    "UPDATE scans SET status = 'queued', reference = ?2, error = NULL,
                     report = NULL, errors = NULL, warnings = NULL, infos = NULL,
                     received_at = ?3, started_at = NULL, finished_at = NULL
                     WHERE key = ?1",
                    params![p.key, p.reference, now],
                )?;
                queued += 1;
                Enqueued::Requeued
            }
            Some(_) => Enqueued::Duplicate,
        };
        conn.execute(
            "INSERT INTO pushes (key, registry, repository, tag, source, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (key, registry, repository, tag)
             DO UPDATE SET received_at = excluded.received_at, source = excluded.source",
            params![p.key, p.registry, p.repository, p.tag, p.source, now],
        )?;
        out.push(result);
    }
    Ok(out)
}

const COLUMNS: &str = "seq, key, digest, reference, status, attempts, error, errors, warnings, \
                       infos, received_at, started_at, finished_at, report";

fn record(r: &rusqlite::Row<'_>) -> rusqlite::Result<ScanRecord> {
    let status: String = r.get(4)?;
    Ok(ScanRecord {
        seq: r.get(0)?,
        key: r.get(1)?,
        digest: r.get(2)?,
        reference: r.get(3)?,
        status: Status::parse(&status).unwrap_or(Status::Failed),
        attempts: r.get(5)?,
        error: r.get(6)?,
        errors: r.get(7)?,
        warnings: r.get(8)?,
        infos: r.get(9)?,
        received_at: r.get(10)?,
        started_at: r.get(11)?,
        finished_at: r.get(12)?,
        report: r.get(13)?,
        pushes: Vec::new(),
    })
}

fn pushes_of(conn: &Connection, key: &str) -> Result<Vec<PushRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT registry, repository, tag, source, received_at FROM pushes
         WHERE key = ?1 ORDER BY received_at, repository, tag",
    )?;
    let rows = stmt.query_map(params![key], |r| {
        Ok(PushRecord {
            registry: r.get(0)?,
            repository: r.get(1)?,
            tag: r.get(2)?,
            source: r.get(3)?,
            received_at: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl Store for SqliteStore {
    fn enqueue(
        &self,
        pushes: &[Push],
        max_queued: u64,
        now: i64,
    ) -> Result<Vec<Enqueued>, StoreError> {
        let pushes = pushes.to_vec();
        self.write(move |conn| enqueue_all(conn, &pushes, max_queued, now))
    }

    fn claim(&self, now: i64) -> Result<Option<Claimed>, StoreError> {
        self.write(move |conn| {
            Ok(conn
                .query_row(
                    "UPDATE scans SET status = 'running', attempts = attempts + 1, started_at = ?1
                     WHERE seq = (SELECT seq FROM scans WHERE status = 'queued'
                                  ORDER BY seq LIMIT 1)
                     RETURNING key, reference, attempts",
                    params![now],
                    |r| {
                        Ok(Claimed {
                            key: r.get(0)?,
                            reference: r.get(1)?,
                            attempts: r.get(2)?,
                        })
                    },
                )
                .optional()?)
        })
    }

    fn finish(&self, key: &str, outcome: &Outcome, now: i64) -> Result<bool, StoreError> {
        let key = key.to_string();
        let outcome = outcome.clone();
        self.write(move |conn| {
            let changed = match &outcome {
                Outcome::Done {
                    digest,
                    report,
                    errors,
                    warnings,
                    infos,
                } => conn.execute(
                    "UPDATE scans SET status = ?2, digest = ?3, report = ?4, errors = ?5,
                     warnings = ?6, infos = ?7, error = NULL, finished_at = ?8
                     WHERE key = ?1 AND status = 'running'",
                    params![
                        key,
                        now_str(Status::Done),
                        digest,
                        report,
                        *errors as i64,
                        *warnings as i64,
                        *infos as i64,
                        now
                    ],
                )?,
                Outcome::Failed { error } => conn.execute(
                    "UPDATE scans SET status = ?2, error = ?3, finished_at = ?4
                     WHERE key = ?1 AND status = 'running'",
                    params![key, now_str(Status::Failed), error, now],
                )?,
            };
            Ok(changed == 1)
        })
    }

    fn release(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_string();
        self.write(move |conn| {
            conn.execute(
                "UPDATE scans SET status = 'queued', started_at = NULL
                 WHERE key = ?1 AND status = 'running'",
                params![key],
            )?;
            Ok(())
        })
    }

    fn recover(&self) -> Result<u64, StoreError> {
        self.write(|conn| {
            Ok(conn.execute(
                "UPDATE scans SET status = 'queued', started_at = NULL WHERE status = 'running'",
                [],
            )? as u64)
        })
    }

    fn get(&self, key: &str) -> Result<Option<ScanRecord>, StoreError> {
        self.read(|conn| {
            let found = conn
                .query_row(
                    &format!(
                        "SELECT {COLUMNS} FROM scans WHERE key = ?1
                         UNION ALL SELECT {COLUMNS} FROM scans WHERE digest = ?1 AND key != ?1
                         LIMIT 1"
                    ),
                    params![key],
                    record,
                )
                .optional()?;
            match found {
                Some(mut rec) => {
                    rec.pushes = pushes_of(conn, &rec.key)?;
                    Ok(Some(rec))
                }
                None => Ok(None),
            }
        })
    }

    fn list(&self, filter: &Filter) -> Result<Vec<ScanRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM scans
                 WHERE seq > ?1
                   AND (?2 IS NULL OR status = ?2)
                   AND (?3 IS NULL OR key IN (SELECT key FROM pushes WHERE repository = ?3))
                 ORDER BY seq LIMIT ?4"
            ))?;
            let rows = stmt.query_map(
                params![
                    filter.after.unwrap_or(0),
                    filter.status.map(Status::as_str),
                    filter.repository,
                    filter.limit
                ],
                record,
            )?;
            let mut out: Vec<ScanRecord> = rows.collect::<Result<_, _>>()?;
            for rec in &mut out {
                rec.report = None;
                rec.pushes = pushes_of(conn, &rec.key)?;
            }
            Ok(out)
        })
    }

    fn depth(&self) -> Result<Depth, StoreError> {
        self.read(|conn| {
            let mut d = Depth::default();
            let mut stmt = conn.prepare_cached(
                "SELECT status, COUNT(*) FROM scans
                 WHERE status IN ('queued', 'running') GROUP BY status",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (status, n) = row?;
                match status.as_str() {
                    "queued" => d.queued = n as u64,
                    _ => d.running = n as u64,
                }
            }
            Ok(d)
        })
    }

    fn prune(&self, retention: Retention, now: i64) -> Result<u64, StoreError> {
        self.write(move |conn| {
            let cutoff = now.saturating_sub(retention.max_age_ms);
            let mut n = conn.execute(
                "DELETE FROM scans WHERE status IN ('done', 'failed') AND finished_at < ?1",
                params![cutoff],
            )?;
            n += conn.execute(
                "DELETE FROM scans WHERE seq IN (
                     SELECT seq FROM scans WHERE status IN ('done', 'failed')
                     ORDER BY finished_at DESC, seq DESC LIMIT -1 OFFSET ?1)",
                params![retention.max_count as i64],
            )?;
            conn.execute(
                "DELETE FROM pushes WHERE key NOT IN (SELECT key FROM scans)",
                [],
            )?;
            Ok(n as u64)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(key: &str, repo: &str, tag: &str) -> Push {
        Push {
            key: key.to_string(),
            reference: format!("docker://reg:5000/{repo}@{key}"),
            registry: "reg:5000".into(),
            repository: repo.into(),
            tag: tag.into(),
            source: "api",
        }
    }

    fn digest(n: u8) -> String {
        format!("sha256:{}", format!("{n:02x}").repeat(32))
    }

    fn done() -> Outcome {
        Outcome::Done {
            digest: digest(1),
            report: "{}\n".into(),
            errors: 1,
            warnings: 0,
            infos: 2,
        }
    }

    #[test]
    fn a_digest_is_scanned_once_and_shared_by_its_tags() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("db")).unwrap();
        let d = digest(1);
        let r = s
            .enqueue(&[push(&d, "a", "v1"), push(&d, "a", "latest")], 10, 1)
            .unwrap();
        assert_eq!(r, [Enqueued::New, Enqueued::Duplicate]);
        let job = s.claim(2).unwrap().unwrap();
        assert_eq!((job.key.as_str(), job.attempts), (d.as_str(), 1));
        assert_eq!(s.claim(2).unwrap(), None);
        assert!(s.finish(&d, &done(), 3).unwrap());
        // Only a running scan completes.
        assert!(!s.finish(&d, &done(), 4).unwrap());
        assert_eq!(
            s.enqueue(&[push(&d, "b", "v2")], 10, 5).unwrap(),
            [Enqueued::Duplicate]
        );
        let rec = s.get(&d).unwrap().unwrap();
        assert_eq!(rec.status, Status::Done);
        assert_eq!((rec.errors, rec.infos), (Some(1), Some(2)));
        assert_eq!(rec.pushes.len(), 3);
        let by_repo = |repo: &str| {
            s.list(&Filter {
                repository: Some(repo.into()),
                limit: 10,
                ..Filter::default()
            })
            .unwrap()
            .len()
        };
        assert_eq!((by_repo("a"), by_repo("b"), by_repo("c")), (1, 1, 0));
    }

    #[test]
    fn a_full_queue_refuses_the_whole_envelope() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("db")).unwrap();
        s.enqueue(&[push(&digest(1), "a", "")], 2, 1).unwrap();
        let e = s
            .enqueue(
                &[push(&digest(2), "a", ""), push(&digest(3), "a", "")],
                2,
                1,
            )
            .unwrap_err();
        assert!(matches!(e, StoreError::QueueFull(2)), "{e}");
        // Nothing of the refused call was kept.
        assert!(s.get(&digest(2)).unwrap().is_none());
        // A duplicate needs no room.
        s.enqueue(&[push(&digest(2), "a", "")], 2, 1).unwrap();
        assert_eq!(
            s.enqueue(&[push(&digest(2), "a", "x")], 2, 1).unwrap(),
            [Enqueued::Duplicate]
        );
    }

    #[test]
    fn running_scans_are_recovered_and_failed_ones_requeued() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let s = SqliteStore::open(&path).unwrap();
            s.enqueue(&[push(&digest(1), "a", "")], 10, 1).unwrap();
            s.claim(2).unwrap().unwrap();
        }
        let s = SqliteStore::open(&path).unwrap();
        assert_eq!(s.depth().unwrap().running, 1);
        assert_eq!(s.recover().unwrap(), 1);
        let job = s.claim(3).unwrap().unwrap();
        assert_eq!(job.attempts, 2);
        let failed = Outcome::Failed {
            error: "registry down".into(),
        };
        assert!(s.finish(&job.key, &failed, 4).unwrap());
        assert_eq!(
            s.get(&job.key).unwrap().unwrap().error.as_deref(),
            Some("registry down")
        );
        assert_eq!(
            s.enqueue(&[push(&digest(1), "a", "")], 10, 5).unwrap(),
            [Enqueued::Requeued]
        );
        assert_eq!(s.depth().unwrap().queued, 1);
    }

    #[test]
    fn retention_keeps_the_newest_finished_scans() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqliteStore::open(&dir.path().join("db")).unwrap();
        for n in 1..=5u8 {
            s.enqueue(&[push(&digest(n), "a", "")], 10, 0).unwrap();
            let job = s.claim(0).unwrap().unwrap();
            s.finish(&job.key, &done(), i64::from(n) * 1000).unwrap();
        }
        s.enqueue(&[push(&digest(9), "a", "")], 10, 0).unwrap();
        let keep = Retention {
            max_age_ms: 3500,
            max_count: 2,
        };
        // At 6000 ms: scans finished before 2500 are too old (1, 2); of the
        // rest, only the two newest (4, 5) stay. The queued one stays.
        assert_eq!(s.prune(keep, 6000).unwrap(), 3);
        let left: Vec<String> = s
            .list(&Filter {
                limit: 10,
                ..Filter::default()
            })
            .unwrap()
            .into_iter()
            .map(|r| r.key)
            .collect();
        assert_eq!(left, [digest(4), digest(5), digest(9)]);
    }
}
