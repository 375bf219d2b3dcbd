//! The optional outbound notification when a scan finds errors: a POST of
//! a short text (what Slack's incoming webhooks take as `text`) and the
//! summary, retried with backoff.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use super::State;

/// Attempts before giving up on one notification.
const ATTEMPTS: u32 = 5;

/// Sends the notification in the background, when a URL is configured.
pub fn spawn(
    state: &Arc<State>,
    reference: &str,
    digest: &str,
    errors: u64,
    warnings: u64,
    infos: u64,
) {
    let Some(url) = state.settings.notify_url.clone() else {
        return;
    };
    let body = json!({
        "text": format!(
            "elfgate: {reference} has {errors} error{} that would stop programs from starting",
            if errors == 1 { "" } else { "s" }
        ),
        "reference": reference,
        "digest": digest,
        "summary": {"error": errors, "warning": warnings, "info": infos},
    });
    let state = Arc::clone(state);
    tokio::spawn(async move {
        let mut delay = state.settings.retry_delay;
        for attempt in 1..=ATTEMPTS {
            let sent = state
                .http
                .post(&url)
                .header("content-type", "application/json")
                .body(body.to_string())
                .timeout(Duration::from_secs(10))
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => return,
                Ok(r) if attempt == ATTEMPTS => {
                    state.log.warn(
                        "notification failed",
                        &[("url", json!(url)), ("status", json!(r.status().as_u16()))],
                    );
                }
                Err(e) if attempt == ATTEMPTS => {
                    state.log.warn(
                        "notification failed",
                        &[("url", json!(url)), ("error", json!(e.to_string()))],
                    );
                }
                _ => {}
            }
            if attempt < ATTEMPTS {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(60));
            }
        }
        state.metrics.notification_failed();
    });
}
