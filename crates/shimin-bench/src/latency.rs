//! Part 2: live latency. A desk with its sync loop running; the portal creates reservations
//! through the intake API (HTTP); the time from just before the intake request until the
//! desk's `CacheEvent::ItemsChanged` names the new item in `new_items` (emitted after the cache
//! transaction committed).
//!
//! shimin-client has no notifier hook yet: the app's notifier will subscribe to
//! `Desk::changes()`, so "handed to the notifier" is measured at the same CacheEvent receipt.
//!
//! Polling only: shimin-client has no switch to turn the live stream off, so the desk talks
//! to the server through a small loopback HTTP proxy that answers the SSE path with 503 and
//! forwards everything else; the sync engine then falls back to polling every
//! `poll_interval` (here 1 s), exactly as when a network path drops the stream.

use crate::report::{summary, Figure, Target};
use crate::wire::{reservation, Api};
use anyhow::{bail, Context, Result};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use shimin_client::{CacheEvent, CacheKey, ClientConfig, Desk, Endpoint};
use shimin_protocol::paths;
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Which path the desk's news takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Poke,
    PollOnly,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Poke => "poke",
            Mode::PollOnly => "poll",
        }
    }
}

pub const POLL_INTERVAL: Duration = Duration::from_secs(1);

#[derive(Debug, Clone)]
pub struct Setup {
    pub server_url: String,
    pub clerk: String,
    pub password: String,
    pub portal: String,
    pub matter_id: i64,
    pub arrivals: usize,
}

/// A loopback proxy refusing the live stream.
struct NoSseProxy {
    upstream: String,
    http: reqwest::Client,
}

async fn forward(State(p): State<Arc<NoSseProxy>>, req: Request) -> Response {
    if req.uri().path() == paths::EVENTS {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "live stream disabled by the benchmark",
        )
            .into_response();
    }
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let mut headers = req.headers().clone();
    headers.remove(axum::http::header::HOST);
    let body = match axum::body::to_bytes(req.into_body(), shimin_protocol::MAX_BODY_BYTES * 2).await {
        Ok(b) => b,
        Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
    };
    let resp = match p
        .http
        .request(method, format!("{}{}", p.upstream, path))
        .headers(headers)
        .body(body)
        .send()
        .await
    {
        Ok(r) => r,
        Err(_) => return StatusCode::BAD_GATEWAY.into_response(),
    };
    let status = resp.status();
    let mut out_headers = resp.headers().clone();
    out_headers.remove(axum::http::header::TRANSFER_ENCODING);
    out_headers.remove(axum::http::header::CONNECTION);
    out_headers.remove(axum::http::header::CONTENT_LENGTH);
    let bytes = resp.bytes().await.unwrap_or_default();
    let mut out = Response::new(Body::from(bytes));
    *out.status_mut() = status;
    *out.headers_mut() = out_headers;
    out
}

async fn start_proxy(upstream: &str) -> Result<(String, JoinHandle<()>)> {
    crate::wire::check_loopback(upstream)?;
    let state = Arc::new(NoSseProxy {
        upstream: upstream.trim_end_matches('/').to_owned(),
        http: reqwest::Client::builder().no_proxy().tcp_nodelay(true).build()?,
    });
    let app = axum::Router::new().fallback(forward).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((format!("http://{addr}"), task))
}

/// Measured arrivals of one mode.
struct Run {
    latency_ms: Vec<f64>,
    intake_ms: Vec<f64>,
    missed: usize,
}

async fn run_mode(dir: &Path, setup: &Setup, mode: Mode) -> Result<Run> {
    let (desk_url, proxy) = match mode {
        Mode::Poke => (setup.server_url.clone(), None),
        Mode::PollOnly => {
            let (url, task) = start_proxy(&setup.server_url).await?;
            (url, Some(task))
        }
    };
    let mut cfg = ClientConfig::new(
        dir.join(format!("latency-{}.db", mode.name())),
        CacheKey::random(),
        vec![Endpoint::new("内网", desk_url, false).allowing_plain_http()],
    );
    cfg.device = "shimin-bench".into();
    match mode {
        // The poll timer stays at its default (15 s; ×4 while live): news comes by poke.
        Mode::Poke => {}
        Mode::PollOnly => {
            cfg.poll_interval = POLL_INTERVAL;
        }
    }
    let desk = Desk::open(cfg).await?;
    desk.login(&setup.clerk, &setup.password).await?;
    desk.sync_now().await?;
    let mut events = desk.changes();
    let seen: Arc<Mutex<HashMap<Uuid, Instant>>> = Arc::default();
    let collector = {
        let seen = seen.clone();
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(CacheEvent::ItemsChanged { new_items, .. }) => {
                        let now = Instant::now();
                        let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                        for id in new_items {
                            seen.entry(id).or_insert(now);
                        }
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(n, "latency collector lagged");
                    }
                    Err(_) => break,
                }
            }
        })
    };
    let handle = desk.start();
    // Wait for the loop to be online (and, with the poke, live).
    let mut status = desk.status();
    let ready = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            {
                let s = status.borrow_and_update();
                if s.online && (mode == Mode::PollOnly || s.live) {
                    break;
                }
            }
            if status.changed().await.is_err() {
                break;
            }
        }
    })
    .await;
    if ready.is_err() {
        bail!(
            "{} desk did not come online within 20 s: {:?}",
            mode.name(),
            *status.borrow()
        );
    }
    if mode == Mode::PollOnly && status.borrow().live {
        bail!("the live stream is up although the proxy refuses it");
    }
    // Let the first post-start sync settle.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let portal = Api::new(&setup.server_url)?;
    let token = portal
        .login(&setup.portal, &setup.password, Uuid::new_v4())
        .await?
        .token;
    let mut sent: Vec<(Uuid, Instant, Instant)> = Vec::with_capacity(setup.arrivals);
    for i in 0..setup.arrivals {
        let t0 = Instant::now();
        let created = portal
            .reserve(&token, &reservation(setup.matter_id, i as u64))
            .await?;
        sent.push((created.id, t0, Instant::now()));
        // Arrivals at random moments relative to the poll timer and to each other.
        let gap = rand::thread_rng().gen_range(20..80);
        tokio::time::sleep(Duration::from_millis(gap)).await;
    }
    let wait = match mode {
        Mode::Poke => Duration::from_secs(5),
        Mode::PollOnly => POLL_INTERVAL * 3 + Duration::from_secs(2),
    };
    let until = Instant::now() + wait;
    loop {
        let done = {
            let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
            sent.iter().all(|(id, _, _)| seen.contains_key(id))
        };
        if done || Instant::now() >= until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    handle.stop().await;
    collector.abort();
    desk.close().await;
    if let Some(p) = proxy {
        p.abort();
    }
    let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
    let mut run = Run {
        latency_ms: Vec::new(),
        intake_ms: Vec::new(),
        missed: 0,
    };
    for (id, t0, t_resp) in &sent {
        run.intake_ms
            .push(t_resp.duration_since(*t0).as_secs_f64() * 1000.0);
        match seen.get(id) {
            Some(t) => run
                .latency_ms
                .push(t.saturating_duration_since(*t0).as_secs_f64() * 1000.0),
            None => run.missed += 1,
        }
    }
    Ok(run)
}

pub async fn run(dir: &Path, setup: &Setup) -> Result<Vec<Figure>> {
    let mut figures = Vec::new();
    for mode in [Mode::Poke, Mode::PollOnly] {
        let r = run_mode(dir, setup, mode)
            .await
            .with_context(|| format!("latency ({})", mode.name()))?;
        if r.latency_ms.is_empty() {
            bail!("latency ({}): no arrival reached the desk", mode.name());
        }
        let n = r.latency_ms.len();
        let (p50, p95, p99, max) = summary(r.latency_ms);
        let (i50, i95, i99, _) = summary(r.intake_ms);
        let m = mode.name();
        let (what, target, extra) = match mode {
            Mode::Poke => ("with SSE poke", Target::at_most(500.0, "ms"), String::new()),
            Mode::PollOnly => (
                "polling only (SSE refused by a proxy)",
                None,
                format!(
                    "poll interval {} ms; via a loopback forwarding proxy; ",
                    POLL_INTERVAL.as_millis()
                ),
            ),
        };
        let reference =
            |f: Figure, v: f64, pct: &str| f.reference(v, "ms", format!("intake request round trip {pct}"));
        figures.push(reference(
            Figure::new(
                2,
                format!("latency.{m}.p50_ms"),
                format!("intake → desk cache committed, p50, {what}"),
                p50,
                "ms",
            ),
            i50,
            "p50",
        ));
        figures.push(reference(
            Figure::new(
                2,
                format!("latency.{m}.p95_ms"),
                format!("intake → desk cache committed, p95, {what}"),
                p95,
                "ms",
            ),
            i95,
            "p95",
        ));
        figures.push(
            reference(
                Figure::new(
                    2,
                    format!("latency.{m}.p99_ms"),
                    format!("intake → desk cache committed, p99, {what}"),
                    p99,
                    "ms",
                ),
                i99,
                "p99",
            )
            .target(if mode == Mode::Poke { target.clone() } else { None })
            .note(format!("{extra}{n} arrivals, max {max:.1} ms")),
        );
        figures.push(
            Figure::new(2, format!("latency.{m}.notifier_p99_ms"), format!("intake → handed to the notifier, p99, {what}"), p99, "ms")
                .target(if mode == Mode::Poke { target } else { None })
                .note("no notifier hook in shimin-client yet: measured at CacheEvent::ItemsChanged receipt, which the app's notifier will subscribe to"),
        );
        figures.push(
            Figure::new(
                2,
                format!("latency.{m}.missed"),
                format!("arrivals that never reached the desk, {what}"),
                r.missed as f64,
                "items",
            )
            .target(Target::at_most(0.0, "items")),
        );
    }
    Ok(figures)
}
