//! Prometheus metrics (issue 15): requests by route and status, latency of the sync routes,
//! live streams, sweep runs, database errors, TLS handshake failures and certificate reloads.
//!
//! One registry per process (servers started in one test process add to the same figures;
//! tests compare before and after). Served in the Prometheus text format on the separate
//! `metrics_listen` address only, never on the desks' addresses: a scrape port is for the
//! machine room, not the internet.

use std::sync::LazyLock;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// What a request did, as counted.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: Route,
    status: u16,
}

/// Routes measured on their own; everything else is `other` (bounded label values).
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
enum Route {
    pull,
    push,
    login,
    events,
    intake,
    blobs,
    health,
    other,
}

impl Route {
    fn of(path: &str) -> Route {
        use shimin_protocol::paths;
        match path {
            paths::PULL => Route::pull,
            paths::PUSH => Route::push,
            paths::LOGIN => Route::login,
            paths::EVENTS => Route::events,
            paths::HEALTH => Route::health,
            p if p.starts_with("/api/v1/intake") => Route::intake,
            p if p.starts_with("/api/v1/blobs") => Route::blobs,
            _ => Route::other,
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    route: Route,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: Outcome,
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
enum Outcome {
    ok,
    failed,
}

struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<LatencyLabels, Histogram, fn() -> Histogram>,
    live_streams: Gauge,
    sweeps: Family<OutcomeLabels, Counter>,
    database_errors: Counter,
    tls_handshake_failures: Counter,
    tls_reloads: Family<OutcomeLabels, Counter>,
    scans: Family<ScanLabels, Counter>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ScanLabels {
    verdict: &'static str,
}

fn latency_histogram() -> Histogram {
    // 1 ms … ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("shimin");
    let requests = Family::<RequestLabels, Counter>::default();
    registry.register(
        "http_requests",
        "HTTP requests answered, by route and status",
        requests.clone(),
    );
    let latency = Family::<LatencyLabels, Histogram, fn() -> Histogram>::new_with_constructor(
        latency_histogram as fn() -> Histogram,
    );
    registry.register(
        "request_duration_seconds",
        "Time to answer pull, push, login and intake requests",
        latency.clone(),
    );
    let live_streams = Gauge::default();
    registry.register(
        "live_streams",
        "Desks' live streams (SSE) open now",
        live_streams.clone(),
    );
    let sweeps = Family::<OutcomeLabels, Counter>::default();
    registry.register(
        "sweep_runs",
        "Runs of the 预警/督办 sweep, by outcome",
        sweeps.clone(),
    );
    let database_errors = Counter::default();
    registry.register(
        "database_errors",
        "Requests that failed on a database error or an unavailable database",
        database_errors.clone(),
    );
    let tls_handshake_failures = Counter::default();
    registry.register(
        "tls_handshake_failures",
        "TLS handshakes that failed or timed out",
        tls_handshake_failures.clone(),
    );
    let tls_reloads = Family::<OutcomeLabels, Counter>::default();
    registry.register(
        "tls_reloads",
        "Certificate reloads (SIGHUP), by outcome",
        tls_reloads.clone(),
    );
    let scans = Family::<ScanLabels, Counter>::default();
    registry.register(
        "virus_scans",
        "Virus checks of uploads, by verdict (clean, infected, failed)",
        scans.clone(),
    );
    Metrics {
        scans,
        registry,
        requests,
        latency,
        live_streams,
        sweeps,
        database_errors,
        tls_handshake_failures,
        tls_reloads,
    }
});

/// Counts and times every request (a layer of the router).
pub async fn track(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| Route::of(p.as_str()))
        .unwrap_or(Route::other);
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    let m = &*METRICS;
    m.requests
        .get_or_create(&RequestLabels {
            route,
            status: response.status().as_u16(),
        })
        .inc();
    if !matches!(route, Route::events | Route::health | Route::other | Route::blobs) {
        m.latency
            .get_or_create(&LatencyLabels { route })
            .observe(started.elapsed().as_secs_f64());
    }
    response
}

/// A live stream opened; the guard counts it closed when dropped.
pub fn live_stream_opened() -> LiveStreamGuard {
    METRICS.live_streams.inc();
    LiveStreamGuard(())
}

/// Decrements the live-stream gauge when the stream ends, however it ends.
#[derive(Debug)]
pub struct LiveStreamGuard(());

impl Drop for LiveStreamGuard {
    fn drop(&mut self) {
        METRICS.live_streams.dec();
    }
}

pub fn sweep_ran(ok: bool) {
    METRICS
        .sweeps
        .get_or_create(&OutcomeLabels {
            outcome: if ok { Outcome::ok } else { Outcome::failed },
        })
        .inc();
}

pub fn database_error() {
    METRICS.database_errors.inc();
}

pub fn tls_handshake_failed() {
    METRICS.tls_handshake_failures.inc();
}

pub fn tls_reloaded(ok: bool) {
    METRICS
        .tls_reloads
        .get_or_create(&OutcomeLabels {
            outcome: if ok { Outcome::ok } else { Outcome::failed },
        })
        .inc();
}

pub fn scan_ran(verdict: &'static str) {
    METRICS.scans.get_or_create(&ScanLabels { verdict }).inc();
}

/// The registry in the Prometheus text format.
pub fn render() -> String {
    let mut out = String::new();
    // Writing into a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &METRICS.registry);
    out
}

/// `GET /metrics` on the metrics address.
async fn scrape() -> Response {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        render(),
    )
        .into_response()
}

/// The metrics address's router (`/metrics` only).
pub fn router() -> axum::Router {
    axum::Router::new().route("/metrics", axum::routing::get(scrape))
}
