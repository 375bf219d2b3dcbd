//! `elfgate serve`: the webhook scanner. A registry calls it on every push;
//! each image that lands is scanned, for every platform it claims, with the
//! same library call as `elfgate scan`.
//!
//! payload ([`event`]) → durable queue ([`store`], [`sqlite`]) → workers
//! ([`worker`]) → results, read back over HTTP ([`http`]). Blocking outside,
//! async inside: [`run`] owns its tokio runtime and returns when a SIGTERM
//! (or SIGINT) has drained the service.

pub mod event;
mod http;
pub mod log;
mod metrics;
mod notify;
pub mod sqlite;
pub mod store;
pub mod worker;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use tokio::sync::{Notify, Semaphore};

use crate::report::Policy;
use crate::scan::ScanOptions;
use event::Aliases;
use log::{Logger, now_ms};
use metrics::Metrics;
use store::{Retention, Store, StoreError};

/// Everything `serve` is told.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub db: PathBuf,
    /// The shared secret webhooks must send in `Authorization`.
    pub token: String,
    /// A second secret that may read results; the webhook token always may.
    pub read_token: Option<String>,
    /// Scans at once.
    pub workers: usize,
    /// Queued scans beyond which new ones are refused (503).
    pub max_queue: u64,
    /// The largest request body, in bytes (413 beyond).
    pub max_body: usize,
    pub request_timeout: Duration,
    pub scan_timeout: Duration,
    /// Retries of a scan that failed reaching its registry.
    pub scan_retries: u32,
    /// The first wait before a retry; it doubles each time.
    pub retry_delay: Duration,
    /// How long SIGTERM lets running scans finish.
    pub drain_timeout: Duration,
    pub retention: Retention,
    pub aliases: Aliases,
    /// Where to POST a note when a scan finds errors.
    pub notify_url: Option<String>,
    pub log: Logger,
    pub scan: ScanOptions,
    pub policy: Policy,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{}: {source}", .db.display())]
    Store {
        db: PathBuf,
        #[source]
        source: StoreError,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Runtime(std::io::Error),
}

/// What the HTTP handlers and the workers share.
pub struct State {
    pub settings: Settings,
    pub store: Arc<dyn Store>,
    metrics: Metrics,
    log: Logger,
    /// Woken when scans are queued.
    wake: Notify,
    draining: AtomicBool,
    /// Woken when the drain starts.
    drain: Notify,
    permits: Arc<Semaphore>,
    http: reqwest::Client,
}

impl State {
    fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// Waits for new work, the drain, or a second (a scan queued by another
    /// process sharing the store).
    async fn idle(&self) {
        tokio::select! {
            _ = self.wake.notified() => {}
            _ = self.drain.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

/// Runs the service until SIGTERM or SIGINT, then drains it.
pub fn run(settings: Settings) -> Result<(), ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("elfgate-serve")
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(serve(settings))
}

async fn serve(settings: Settings) -> Result<(), ServeError> {
    let log = settings.log;
    let db = settings.db.clone();
    let store_err = |source| ServeError::Store {
        db: db.clone(),
        source,
    };
    let store: Arc<dyn Store> = {
        let db = db.clone();
        let opened = tokio::task::spawn_blocking(move || sqlite::SqliteStore::open(&db))
            .await
            .map_err(|e| ServeError::Runtime(std::io::Error::other(e)))?;
        Arc::new(opened.map_err(store_err)?)
    };
    let recovered = blocking(&store, |s| s.recover()).await.map_err(store_err)?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(|source| ServeError::Listen {
            addr: settings.listen,
            source,
        })?;
    let addr = listener.local_addr().unwrap_or(settings.listen);
    let workers = settings.workers.max(1);
    let state = Arc::new(State {
        permits: Arc::new(Semaphore::new(workers)),
        http: reqwest::Client::new(),
        store,
        metrics: Metrics::default(),
        log,
        wake: Notify::new(),
        draining: AtomicBool::new(false),
        drain: Notify::new(),
        settings,
    });
    log.info(
        "listening",
        &[
            ("addr", json!(addr.to_string())),
            ("workers", json!(workers)),
            ("resumed", json!(recovered)),
        ],
    );

    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        tasks.spawn(worker::run(Arc::clone(&state)));
    }
    let pruner = tokio::spawn(prune_loop(Arc::clone(&state)));

    let app = http::router(Arc::clone(&state));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let server = tokio::spawn(http::accept(
        listener,
        app,
        stop_rx,
        state.settings.request_timeout,
    ));

    let signal = shutdown_signal().await;
    log.info(
        "draining",
        &[
            ("signal", json!(signal)),
            (
                "deadline_seconds",
                json!(state.settings.drain_timeout.as_secs_f64()),
            ),
        ],
    );
    // Stop taking work: webhooks get 503, workers claim nothing more.
    state.draining.store(true, Ordering::SeqCst);
    state.drain.notify_waiters();
    let _ = stop_tx.send(true);
    let deadline = tokio::time::sleep(state.settings.drain_timeout);
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            next = tasks.join_next() => if next.is_none() { break },
            _ = &mut deadline => break,
        }
    }
    tasks.abort_all();
    pruner.abort();
    // Scans still running at the deadline go back to the queue.
    let left = blocking(&state.store, |s| {
        let d = s.depth()?;
        s.recover()?;
        Ok(d)
    })
    .await;
    match left {
        Ok(d) => log.info(
            "stopped",
            &[
                ("queued", json!(d.queued + d.running)),
                ("interrupted", json!(d.running)),
            ],
        ),
        Err(e) => log.error("store error", &[("error", json!(e.to_string()))]),
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    Ok(())
}

/// Runs a store call on a blocking thread.
async fn blocking<T: Send + 'static>(
    store: &Arc<dyn Store>,
    f: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    let store = Arc::clone(store);
    tokio::task::spawn_blocking(move || f(store.as_ref()))
        .await
        .map_err(|_| StoreError::Closed)?
}

/// Deletes finished scans past the retention policy, now and every ten minutes.
async fn prune_loop(state: Arc<State>) {
    loop {
        let retention = state.settings.retention;
        match blocking(&state.store, move |s| s.prune(retention, now_ms())).await {
            Ok(0) => {}
            Ok(n) => state.log.info("pruned", &[("scans", json!(n))]),
            Err(e) => state
                .log
                .error("store error", &[("error", json!(e.to_string()))]),
        }
        tokio::time::sleep(Duration::from_secs(600)).await;
    }
}

/// Waits for SIGTERM or SIGINT; names the one that came.
async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    match (term, int) {
        (Ok(mut term), Ok(mut int)) => tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        },
        _ => {
            let _ = tokio::signal::ctrl_c().await;
            "SIGINT"
        }
    }
}
