//! The HTTP API.
//!
//! | route | what |
//! | --- | --- |
//! | `POST /v1/webhooks/distribution`, `/harbor`, `/dockerhub` | a registry's event |
//! | `POST /v1/scans` | `{"image": "REF"}` from anything else |
//! | `GET /v1/scans/{digest}` | status, and the report when done |
//! | `GET /v1/scans/{digest}/report` | the report alone, byte for byte as `scan --format json` |
//! | `GET /v1/scans?repository=&status=&after=&limit=` | a page of scans, oldest first |
//! | `GET /healthz`, `/readyz`, `/metrics` | no token needed |
//!
//! Statuses: 202 when scans were queued (200 when the events needed none),
//! 400 malformed JSON, 401 a missing or wrong token (checked before the
//! body is read; such a request never touches the queue), 404, 408 a
//! request slower than the request timeout, 413 a body over the cap, 415 a
//! content type the endpoint does not take, 422 an event naming something
//! that cannot be scanned (nothing of its envelope is queued), 503 with
//! `Retry-After` when the queue is full or the service is draining.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State as Extract};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;
use serde_json::value::RawValue;
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq;

use super::State;
use super::event::{self, Parsed, Rejected};
use super::log::{now_ms, rfc3339};
use super::store::{Enqueued, Filter, ScanRecord, Status, StoreError};

/// Connections open at once; more wait in the listen backlog.
const MAX_CONNECTIONS: usize = 1024;

/// Seconds a refused sender is asked to wait.
const RETRY_AFTER: &str = "10";

const EVENTS_TYPE: &str = "application/vnd.docker.distribution.events.v1+json";

#[derive(Clone, Copy)]
enum Source {
    Distribution,
    Harbor,
    DockerHub,
    Api,
}

pub fn router(state: Arc<State>) -> Router {
    let max_body = state.settings.max_body;
    Router::new()
        .route(
            "/v1/webhooks/distribution",
            post(|s, h, b| webhook(s, h, b, Source::Distribution)),
        )
        .route(
            "/v1/webhooks/harbor",
            post(|s, h, b| webhook(s, h, b, Source::Harbor)),
        )
        .route(
            "/v1/webhooks/dockerhub",
            post(|s, h, b| webhook(s, h, b, Source::DockerHub)),
        )
        .route(
            "/v1/scans",
            post(|s, h, b| webhook(s, h, b, Source::Api)).get(list),
        )
        .route("/v1/scans/{key}", get(show))
        .route("/v1/scans/{key}/report", get(report))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such endpoint") })
        .layer(DefaultBodyLimit::max(max_body))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), auth))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), observe))
        .with_state(state)
}

/// Serves connections until `stop` turns true, then lets each finish its
/// request. At most [`MAX_CONNECTIONS`] at once; a client gets `timeout` to
/// send its request headers (a connection that trickles them is closed).
pub async fn accept(
    listener: tokio::net::TcpListener,
    app: Router,
    mut stop: tokio::sync::watch::Receiver<bool>,
    timeout: std::time::Duration,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(MAX_CONNECTIONS));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => slot,
            _ = stopped(&mut stop) => break,
        };
        let Ok(slot) = slot else { break };
        let (io, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(_) => {
                    // Out of file descriptors, or a connection reset before
                    // it was accepted: wait a little rather than spin.
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stopped(&mut stop) => break,
        };
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let mut stop = stop.clone();
        connections.spawn(async move {
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(timeout);
            let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(io), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stopped(&mut stop) => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(slot);
        });
        // Reap finished connections so the set does not grow.
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Waits until `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn error(status: StatusCode, message: &str) -> Response {
    json_response(status, &json!({ "error": message }))
}

fn unavailable(message: &str) -> Response {
    let mut r = error(StatusCode::SERVICE_UNAVAILABLE, message);
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER));
    r
}

/// The route label of a path, for metrics.
fn route_of(path: &str) -> &'static str {
    match path {
        "/v1/webhooks/distribution" => "distribution",
        "/v1/webhooks/harbor" => "harbor",
        "/v1/webhooks/dockerhub" => "dockerhub",
        "/v1/scans" => "scans",
        "/healthz" => "healthz",
        "/readyz" => "readyz",
        "/metrics" => "metrics",
        p if p.starts_with("/v1/scans/") => "scan",
        _ => "other",
    }
}

/// Times every request out and counts its status.
async fn observe(Extract(state): Extract<Arc<State>>, req: Request, next: Next) -> Response {
    let route = route_of(req.uri().path());
    let response = match tokio::time::timeout(state.settings.request_timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => error(StatusCode::REQUEST_TIMEOUT, "the request took too long"),
    };
    state.metrics.request(route, response.status().as_u16());
    response
}

/// Whether `given` (an `Authorization` value: `Bearer SECRET` or `SECRET`)
/// is `secret`. Both sides are hashed first, so the comparison takes the
/// same time whatever the lengths.
fn token_matches(given: &[u8], secret: &str) -> bool {
    let given = given.strip_prefix(b"Bearer ").unwrap_or(given);
    let a = Sha256::digest(given);
    let b = Sha256::digest(secret.as_bytes());
    bool::from(a.ct_eq(&b))
}

/// Checks the token before anything reads the body.
async fn auth(Extract(state): Extract<Arc<State>>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if matches!(path, "/healthz" | "/readyz" | "/metrics") {
        return next.run(req).await;
    }
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    let settings = &state.settings;
    let write = token_matches(given, &settings.token);
    let read = req.method() != Method::POST
        && settings
            .read_token
            .as_deref()
            .is_some_and(|t| token_matches(given, t));
    if given.is_empty() || !(write || read) {
        let mut r = error(
            StatusCode::UNAUTHORIZED,
            "a valid token is needed in the Authorization header",
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    next.run(req).await
}

/// Whether the request's content type is one the endpoint takes.
fn content_type_ok(headers: &HeaderMap, source: Source) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mime = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (matches!(source, Source::Distribution) && mime == EVENTS_TYPE)
}

async fn webhook(
    Extract(state): Extract<Arc<State>>,
    headers: HeaderMap,
    body: Bytes,
    source: Source,
) -> Response {
    if state.is_draining() {
        return unavailable("shutting down");
    }
    if !content_type_ok(&headers, source) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            match source {
                Source::Distribution => "expected application/json or ".to_string() + EVENTS_TYPE,
                _ => "expected application/json".to_string(),
            }
            .as_str(),
        );
    }
    let aliases = &state.settings.aliases;
    let parsed = match source {
        Source::Distribution => event::distribution(&body, aliases),
        Source::Harbor => event::harbor(&body, aliases),
        Source::DockerHub => event::dockerhub(&body, aliases),
        Source::Api => event::generic(&body, aliases),
    };
    let Parsed { pushes, ignored } = match parsed {
        Ok(p) => p,
        Err(e) => {
            state.metrics.events("rejected", 1);
            state.log.warn(
                "event rejected",
                &[
                    ("endpoint", json!(route_of_source(source))),
                    ("error", json!(e.to_string())),
                ],
            );
            let status = match e {
                Rejected::Malformed(_) => StatusCode::BAD_REQUEST,
                Rejected::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            };
            return error(status, &e.to_string());
        }
    };
    state.metrics.events("ignored", ignored.len() as u64);
    if pushes.is_empty() {
        return json_response(StatusCode::OK, &json!({"accepted": [], "ignored": ignored}));
    }
    let max_queue = state.settings.max_queue;
    let to_store = pushes.clone();
    let enqueued = super::blocking(&state.store, move |s| {
        s.enqueue(&to_store, max_queue, now_ms())
    })
    .await;
    let results = match enqueued {
        Ok(r) => r,
        Err(StoreError::QueueFull(n)) => {
            state.metrics.events("refused", pushes.len() as u64);
            state.log.warn(
                "queue full",
                &[("queued", json!(n)), ("events", json!(pushes.len()))],
            );
            return unavailable(&format!("the queue is full ({n} scans waiting)"));
        }
        Err(e) => {
            state
                .log
                .error("store error", &[("error", json!(e.to_string()))]);
            return error(StatusCode::INTERNAL_SERVER_ERROR, "the store failed");
        }
    };
    // Wake every idle worker, and leave a wake-up for one that is between
    // an empty claim and its wait.
    state.wake.notify_waiters();
    state.wake.notify_one();
    let mut accepted = Vec::new();
    for (p, r) in pushes.iter().zip(&results) {
        let label = match r {
            Enqueued::New => "new",
            Enqueued::Requeued => "requeued",
            Enqueued::Duplicate => "duplicate",
        };
        state.metrics.events(label, 1);
        state.log.info(
            "event accepted",
            &[
                ("endpoint", json!(route_of_source(source))),
                ("key", json!(p.key)),
                ("registry", json!(p.registry)),
                ("repository", json!(p.repository)),
                ("tag", json!(p.tag)),
                ("result", json!(label)),
            ],
        );
        accepted.push(json!({"key": p.key, "reference": p.reference, "result": label}));
    }
    json_response(
        StatusCode::ACCEPTED,
        &json!({"accepted": accepted, "ignored": ignored}),
    )
}

fn route_of_source(source: Source) -> &'static str {
    match source {
        Source::Distribution => "distribution",
        Source::Harbor => "harbor",
        Source::DockerHub => "dockerhub",
        Source::Api => "scans",
    }
}

/// A scan as the API shows it.
#[derive(Serialize)]
struct ScanView {
    key: String,
    digest: Option<String>,
    reference: String,
    status: Status,
    attempts: u32,
    error: Option<String>,
    summary: Option<serde_json::Value>,
    received_at: String,
    started_at: Option<String>,
    finished_at: Option<String>,
    pushes: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<Box<RawValue>>,
    #[serde(skip)]
    seq: i64,
}

fn view(rec: ScanRecord, with_report: bool) -> ScanView {
    let summary = match (rec.errors, rec.warnings, rec.infos) {
        (Some(e), Some(w), Some(i)) => Some(json!({"error": e, "warning": w, "info": i})),
        _ => None,
    };
    let report = if with_report {
        rec.report
            .and_then(|text| RawValue::from_string(text.trim_end().to_string()).ok())
    } else {
        None
    };
    ScanView {
        seq: rec.seq,
        key: rec.key,
        digest: rec.digest,
        reference: rec.reference,
        status: rec.status,
        attempts: rec.attempts,
        error: rec.error,
        summary,
        received_at: rfc3339(rec.received_at),
        started_at: rec.started_at.map(rfc3339),
        finished_at: rec.finished_at.map(rfc3339),
        pushes: rec
            .pushes
            .into_iter()
            .map(|p| {
                json!({"registry": p.registry, "repository": p.repository, "tag": p.tag,
                       "source": p.source, "received_at": rfc3339(p.received_at)})
            })
            .collect(),
        report,
    }
}

fn json_response(status: StatusCode, value: &impl Serialize) -> Response {
    match serde_json::to_string_pretty(value) {
        Ok(mut text) => {
            text.push('\n');
            (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
        }
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

async fn fetch(state: &Arc<State>, key: String) -> Result<ScanRecord, Response> {
    match super::blocking(&state.store, move |s| s.get(&key)).await {
        Ok(Some(rec)) => Ok(rec),
        Ok(None) => Err(error(StatusCode::NOT_FOUND, "no scan of that digest")),
        Err(e) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string())),
    }
}

async fn show(Extract(state): Extract<Arc<State>>, Path(key): Path<String>) -> Response {
    match fetch(&state, key).await {
        Ok(rec) => json_response(StatusCode::OK, &view(rec, true)),
        Err(r) => r,
    }
}

async fn report(Extract(state): Extract<Arc<State>>, Path(key): Path<String>) -> Response {
    match fetch(&state, key).await {
        Ok(ScanRecord {
            report: Some(text), ..
        }) => ([(header::CONTENT_TYPE, "application/json")], text).into_response(),
        Ok(rec) => error(
            StatusCode::NOT_FOUND,
            &format!("the scan is {}: no report", rec.status),
        ),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct ListQuery {
    repository: Option<String>,
    status: Option<String>,
    after: Option<i64>,
    limit: Option<u32>,
}

/// The most scans one page holds.
const MAX_PAGE: u32 = 1000;

async fn list(Extract(state): Extract<Arc<State>>, Query(q): Query<ListQuery>) -> Response {
    let status = match q.status.as_deref().map(|s| (s, Status::parse(s))) {
        None => None,
        Some((_, Some(s))) => Some(s),
        Some((s, None)) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("status {s:?}: expected queued, running, done or failed"),
            );
        }
    };
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_PAGE);
    let filter = Filter {
        repository: q.repository,
        status,
        after: q.after,
        limit,
    };
    match super::blocking(&state.store, move |s| s.list(&filter)).await {
        Ok(recs) => {
            let full = recs.len() == limit as usize;
            let scans: Vec<ScanView> = recs.into_iter().map(|r| view(r, false)).collect();
            let next = if full {
                scans.last().map(|s| s.seq)
            } else {
                None
            };
            json_response(StatusCode::OK, &json!({"scans": scans, "next_after": next}))
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

async fn ready(Extract(state): Extract<Arc<State>>) -> Response {
    if state.is_draining() {
        return unavailable("shutting down");
    }
    match super::blocking(&state.store, |s| s.depth()).await {
        Ok(_) => "ready\n".into_response(),
        Err(e) => unavailable(&e.to_string()),
    }
}

async fn metrics(Extract(state): Extract<Arc<State>>) -> Response {
    let depth = super::blocking(&state.store, |s| s.depth())
        .await
        .unwrap_or_default();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(depth),
    )
        .into_response()
}
