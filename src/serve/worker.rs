//! Workers: take the oldest queued scan, run the same library call as
//! `elfgate scan` on its own thread, store the result.
//!
//! At most `workers` scans run at once: a scan holds a permit for as long
//! as its thread runs, even past its timeout (a thread cannot be stopped
//! from outside). A registry error is retried with backoff; any other error
//! fails the scan at once. A failed scan is stored as failed with its
//! error, never as clean.

use std::sync::Arc;
use std::time::Instant;

use serde_json::json;
use tokio::sync::oneshot;

use super::State;
use super::log::now_ms;
use super::store::{Claimed, Outcome};
use crate::report::policy::Date;
use crate::report::{Policy, Report, render_json};
use crate::scan::{ScanError, ScanOptions, scan};

/// What a finished scan yields.
pub struct Scanned {
    pub digest: String,
    pub json: String,
    pub errors: u64,
    pub warnings: u64,
    pub infos: u64,
    /// (rule, severity) of every finding reported.
    pub findings: Vec<(&'static str, &'static str)>,
}

/// Scans `reference` and applies the policy, as `scan --format json` does.
pub fn scan_reference(
    reference: &str,
    options: &ScanOptions,
    policy: &Policy,
) -> Result<Scanned, ScanError> {
    let image = scan(reference, options)?;
    let mut report = Report {
        images: vec![image],
    };
    let policy = Policy {
        today: Date::today(),
        ..policy.clone()
    };
    policy.apply(&mut report);
    let summary = report.summary();
    Ok(Scanned {
        digest: report.images[0].digest.clone(),
        json: render_json(&report),
        errors: summary.error as u64,
        warnings: summary.warning as u64,
        infos: summary.info as u64,
        findings: report
            .findings()
            .map(|f| (f.rule, f.severity.as_str()))
            .collect(),
    })
}

/// Whether an error came from reaching the registry (worth another try)
/// rather than from what the image holds.
fn is_registry_error(e: &ScanError) -> bool {
    matches!(e, ScanError::Source(_) | ScanError::Blob { .. })
}

/// One worker: claims and runs scans until the service drains.
pub async fn run(state: Arc<State>) {
    loop {
        if state.is_draining() {
            return;
        }
        let permit = match Arc::clone(&state.permits).acquire_owned().await {
            Ok(p) => p,
            Err(_) => return,
        };
        if state.is_draining() {
            return;
        }
        let store = Arc::clone(&state.store);
        let claimed = tokio::task::spawn_blocking(move || store.claim(now_ms())).await;
        let job = match claimed {
            Ok(Ok(Some(job))) => job,
            Ok(Ok(None)) => {
                drop(permit);
                state.idle().await;
                continue;
            }
            Ok(Err(e)) => {
                state
                    .log
                    .error("store error", &[("error", json!(e.to_string()))]);
                drop(permit);
                state.idle().await;
                continue;
            }
            Err(_) => return,
        };
        run_job(&state, job, permit).await;
    }
}

async fn run_job(state: &Arc<State>, job: Claimed, permit: tokio::sync::OwnedSemaphorePermit) {
    let started = Instant::now();
    let settings = &state.settings;
    let mut permit = Some(permit);
    let mut attempt = 0u32;
    let outcome = loop {
        let (tx, rx) = oneshot::channel();
        let reference = job.reference.clone();
        let options = settings.scan.clone();
        let policy = settings.policy.clone();
        let held = permit.take();
        let spawned = std::thread::Builder::new()
            .name("elfgate-scan".into())
            .spawn(move || {
                let result = scan_reference(&reference, &options, &policy);
                let _ = tx.send(result);
                // The permit goes when the thread ends, not when the wait does.
                drop(held);
            });
        if let Err(e) = spawned {
            break Outcome::Failed {
                error: format!("cannot start a scan thread: {e}"),
            };
        }
        match tokio::time::timeout(settings.scan_timeout, rx).await {
            Ok(Ok(Ok(scanned))) => {
                for (rule, severity) in &scanned.findings {
                    state.metrics.finding(rule, severity);
                }
                break Outcome::Done {
                    digest: scanned.digest,
                    report: scanned.json,
                    errors: scanned.errors,
                    warnings: scanned.warnings,
                    infos: scanned.infos,
                };
            }
            Ok(Ok(Err(e))) => {
                let registry = is_registry_error(&e);
                if registry {
                    state.metrics.registry_error();
                }
                if registry && attempt < settings.scan_retries {
                    let delay = settings.retry_delay * 2u32.saturating_pow(attempt);
                    state.log.warn(
                        "scan retry",
                        &[
                            ("key", json!(job.key)),
                            ("error", json!(e.to_string())),
                            ("retry_in_ms", json!(delay.as_millis() as u64)),
                        ],
                    );
                    state.metrics.retry();
                    attempt += 1;
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = state.drain.notified() => {}
                    }
                    if state.is_draining() {
                        // Not a failure: the next start tries again.
                        release(state, &job.key).await;
                        return;
                    }
                    permit = Arc::clone(&state.permits).acquire_owned().await.ok();
                    continue;
                }
                break Outcome::Failed {
                    error: e.to_string(),
                };
            }
            Ok(Err(_)) => {
                break Outcome::Failed {
                    error: "the scan thread ended without a result".into(),
                };
            }
            Err(_) => {
                break Outcome::Failed {
                    error: format!("timed out after {} s", settings.scan_timeout.as_secs_f64()),
                };
            }
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    let store = Arc::clone(&state.store);
    let key = job.key.clone();
    let stored = outcome.clone();
    let finished = tokio::task::spawn_blocking(move || store.finish(&key, &stored, now_ms())).await;
    match finished {
        Ok(Ok(true)) => {}
        Ok(Ok(false)) => return,
        Ok(Err(e)) => {
            state.log.error(
                "store error",
                &[("key", json!(job.key)), ("error", json!(e.to_string()))],
            );
            return;
        }
        Err(_) => return,
    }
    match &outcome {
        Outcome::Done {
            digest,
            errors,
            warnings,
            infos,
            ..
        } => {
            state.metrics.scan_finished(
                if errors + warnings + infos > 0 {
                    "findings"
                } else {
                    "clean"
                },
                seconds,
            );
            state.log.info(
                "scan finished",
                &[
                    ("key", json!(job.key)),
                    ("reference", json!(job.reference)),
                    ("digest", json!(digest)),
                    ("status", json!("done")),
                    ("attempts", json!(job.attempts)),
                    ("errors", json!(errors)),
                    ("warnings", json!(warnings)),
                    ("infos", json!(infos)),
                    ("seconds", json!(seconds)),
                ],
            );
            if *errors > 0 {
                super::notify::spawn(state, &job.reference, digest, *errors, *warnings, *infos);
            }
        }
        Outcome::Failed { error } => {
            state.metrics.scan_finished("failed", seconds);
            state.log.warn(
                "scan finished",
                &[
                    ("key", json!(job.key)),
                    ("reference", json!(job.reference)),
                    ("status", json!("failed")),
                    ("attempts", json!(job.attempts)),
                    ("error", json!(error)),
                    ("seconds", json!(seconds)),
                ],
            );
        }
    }
}

/// Puts a scan that will not finish now back in the queue.
async fn release(state: &Arc<State>, key: &str) {
    let store = Arc::clone(&state.store);
    let owned = key.to_string();
    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || store.release(&owned)).await {
        state.log.error(
            "store error",
            &[("key", json!(key)), ("error", json!(e.to_string()))],
        );
    }
}
