//! `GET /metrics`, in Prometheus' text exposition format (0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use super::store::Depth;

/// Upper bounds of the scan duration buckets, in seconds.
const BUCKETS: &[f64] = &[
    0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

#[derive(Default)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

#[derive(Default)]
pub struct Metrics {
    /// Scans by outcome: `clean`, `findings`, `failed`.
    outcomes: Mutex<BTreeMap<&'static str, u64>>,
    /// Findings by (rule, severity).
    findings: Mutex<BTreeMap<(String, String), u64>>,
    /// Events by result: `new`, `requeued`, `duplicate`, `ignored`, `rejected`.
    events: Mutex<BTreeMap<&'static str, u64>>,
    /// HTTP responses by (route, status).
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    durations: Mutex<Histogram>,
    registry_errors: AtomicU64,
    retries: AtomicU64,
    notifications_failed: AtomicU64,
}

fn bump<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K, n: u64) {
    if let Ok(mut m) = map.lock() {
        *m.entry(key).or_default() += n;
    }
}

impl Metrics {
    pub fn scan_finished(&self, outcome: &'static str, seconds: f64) {
        bump(&self.outcomes, outcome, 1);
        if let Ok(mut h) = self.durations.lock() {
            if h.counts.is_empty() {
                h.counts = vec![0; BUCKETS.len()];
            }
            for (i, le) in BUCKETS.iter().enumerate() {
                if seconds <= *le {
                    h.counts[i] += 1;
                }
            }
            h.sum += seconds;
            h.count += 1;
        }
    }

    pub fn finding(&self, rule: &str, severity: &str) {
        bump(&self.findings, (rule.to_string(), severity.to_string()), 1);
    }

    pub fn events(&self, result: &'static str, n: u64) {
        if n > 0 {
            bump(&self.events, result, n);
        }
    }

    pub fn request(&self, route: &'static str, status: u16) {
        bump(&self.requests, (route, status), 1);
    }

    pub fn registry_error(&self) {
        self.registry_errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn notification_failed(&self) {
        self.notifications_failed.fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text; `depth` is read from the store by the caller.
    pub fn render(&self, depth: Depth) -> String {
        let mut text = String::new();
        let _ = writeln!(
            text,
            "# HELP elfgate_queue_depth Scans waiting for a worker.\n\
             # TYPE elfgate_queue_depth gauge\nelfgate_queue_depth {}",
            depth.queued
        );
        let _ = writeln!(
            text,
            "# HELP elfgate_scans_running Scans running now.\n\
             # TYPE elfgate_scans_running gauge\nelfgate_scans_running {}",
            depth.running
        );
        let _ = writeln!(
            text,
            "# HELP elfgate_scans_total Finished scans by outcome (clean, findings, failed).\n\
             # TYPE elfgate_scans_total counter"
        );
        let outcomes = self.outcomes.lock().map(|m| m.clone()).unwrap_or_default();
        for outcome in ["clean", "findings", "failed"] {
            let _ = writeln!(
                text,
                "elfgate_scans_total{{outcome=\"{outcome}\"}} {}",
                outcomes.get(outcome).copied().unwrap_or(0)
            );
        }
        let _ = writeln!(
            text,
            "# HELP elfgate_scan_duration_seconds How long scans took, from claim to result.\n\
             # TYPE elfgate_scan_duration_seconds histogram"
        );
        if let Ok(h) = self.durations.lock() {
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    text,
                    "elfgate_scan_duration_seconds_bucket{{le=\"{le}\"}} {}",
                    h.counts.get(i).copied().unwrap_or(0)
                );
            }
            let _ = writeln!(
                text,
                "elfgate_scan_duration_seconds_bucket{{le=\"+Inf\"}} {}\n\
                 elfgate_scan_duration_seconds_sum {}\n\
                 elfgate_scan_duration_seconds_count {}",
                h.count, h.sum, h.count
            );
        }
        let _ = writeln!(
            text,
            "# HELP elfgate_findings_total Findings of finished scans by rule and severity.\n\
             # TYPE elfgate_findings_total counter"
        );
        for ((rule, severity), n) in self.findings.lock().map(|m| m.clone()).unwrap_or_default() {
            let _ = writeln!(
                text,
                "elfgate_findings_total{{rule=\"{}\",severity=\"{}\"}} {n}",
                escape(&rule),
                escape(&severity)
            );
        }
        let _ = writeln!(
            text,
            "# HELP elfgate_events_total Webhook events by result.\n\
             # TYPE elfgate_events_total counter"
        );
        for (result, n) in self.events.lock().map(|m| m.clone()).unwrap_or_default() {
            let _ = writeln!(text, "elfgate_events_total{{result=\"{result}\"}} {n}");
        }
        let _ = writeln!(
            text,
            "# HELP elfgate_http_requests_total HTTP responses by route and status.\n\
             # TYPE elfgate_http_requests_total counter"
        );
        for ((route, status), n) in self.requests.lock().map(|m| m.clone()).unwrap_or_default() {
            let _ = writeln!(
                text,
                "elfgate_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}"
            );
        }
        for (name, help, value) in [
            (
                "elfgate_registry_errors_total",
                "Scan attempts that failed reaching a registry.",
                &self.registry_errors,
            ),
            (
                "elfgate_scan_retries_total",
                "Scan attempts retried after a registry error.",
                &self.retries,
            ),
            (
                "elfgate_notifications_failed_total",
                "Outbound notifications given up after their retries.",
                &self.notifications_failed,
            ),
        ] {
            let _ = writeln!(
                text,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                value.load(Ordering::Relaxed)
            );
        }
        text
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
