//! Part 3: queue queries on a large cache — the cache the largest bootstrap of part 1 left,
//! reopened (no network) with its key. Each view the app uses, plus searches by applicant
//! name and by item number, each through `Desk::queue` (SQL + JSON decode of the rows).
//! Reference: reading and decoding the same number of rows with no filter and no order
//! (the floor any queue query pays), on the same encrypted file.

use crate::bootstrap::pragma_key;
use crate::report::{summary, Figure, Target};
use anyhow::Result;
use shimin_client::{CacheKey, ClientConfig, Desk, Endpoint, QueueQuery, QueueView};
use shimin_protocol::ItemRecord;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use std::path::Path;
use std::time::{Duration, Instant};

/// Queue page size (what the app asks for).
pub const LIMIT: u32 = 200;

#[derive(Debug, Clone)]
pub struct Setup {
    pub reps: usize,
    /// Time budget per query kind; fewer reps are run when a query is slow.
    pub budget: Duration,
    pub sample_name: String,
    pub sample_number: String,
}

fn queries(s: &Setup) -> Vec<(&'static str, &'static str, QueueQuery)> {
    let q = |view| QueueQuery {
        view,
        search: None,
        include_closed: false,
        limit: LIMIT,
    };
    let search = |text: &str| QueueQuery {
        view: QueueView::All,
        search: Some(text.to_owned()),
        include_closed: true,
        limit: LIMIT,
    };
    vec![
        ("mine", "mine (open, handled by me)", q(QueueView::Mine)),
        ("unit", "unit (open items of my unit)", q(QueueView::Unit)),
        (
            "kind",
            "kind = reservation (open)",
            q(QueueView::Kind("reservation".into())),
        ),
        (
            "due_soon",
            "due soon (within 24 h)",
            q(QueueView::DueSoon(Duration::from_secs(24 * 3600))),
        ),
        ("overdue", "overdue", q(QueueView::Overdue)),
        ("all", "all open", q(QueueView::All)),
        (
            "search_name",
            "search by applicant name (incl. closed)",
            search(&s.sample_name),
        ),
        (
            "search_number",
            "search by item number (incl. closed)",
            search(&s.sample_number),
        ),
    ]
}

/// Times `f` `reps` times (after 3 warm-ups) or until the budget is spent.
async fn time_it<F, Fut>(reps: usize, budget: Duration, mut f: F) -> Result<(Vec<f64>, usize)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<usize>>,
{
    let mut rows = 0;
    for _ in 0..3 {
        rows = f().await?;
    }
    let start = Instant::now();
    let mut samples = Vec::with_capacity(reps);
    while samples.len() < reps && (samples.len() < 10 || start.elapsed() < budget) {
        let t = Instant::now();
        rows = f().await?;
        samples.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok((samples, rows))
}

pub async fn run(cache: &Path, key_hex: &str, url: &str, s: &Setup) -> Result<Vec<Figure>> {
    let key = CacheKey::from_hex(key_hex).ok_or_else(|| anyhow::anyhow!("bad cache key"))?;
    let desk = Desk::open(ClientConfig::new(
        cache,
        key,
        vec![Endpoint::new("内网", url, false).allowing_plain_http()],
    ))
    .await?;
    let cached = desk.store().item_count().await?;

    // Reference: LIMIT rows, no filter, no order, same decode.
    let raw = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(
            SqliteConnectOptions::new()
                .filename(cache)
                .pragma("key", pragma_key(key_hex))
                .read_only(true),
        )
        .await?;
    let (ref_samples, _) = time_it(s.reps, s.budget, || {
        let pool = raw.clone();
        async move {
            let rows: Vec<(String, i64)> =
                sqlx::query_as("SELECT COALESCE(view, server), pending_ops FROM items LIMIT ?")
                    .bind(i64::from(LIMIT))
                    .fetch_all(&pool)
                    .await?;
            for (json, _) in &rows {
                let _: ItemRecord = serde_json::from_str(json)?;
            }
            Ok(rows.len())
        }
    })
    .await?;
    raw.close().await;
    let (r50, _, r99, _) = summary(ref_samples);

    let mut figures = Vec::new();
    for (name, label, q) in queries(s) {
        let (samples, rows) = time_it(s.reps, s.budget, || {
            let desk = desk.clone();
            let q = q.clone();
            async move { Ok(desk.queue(q).await?.len()) }
        })
        .await?;
        let n = samples.len();
        let (p50, _, p99, max) = summary(samples);
        figures.push(
            Figure::new(
                3,
                format!("queue.{name}.p50_ms"),
                format!("{label}: p50"),
                p50,
                "ms",
            )
            .reference(r50, "ms", format!("read+decode {LIMIT} rows, no filter, p50")),
        );
        figures.push(
            Figure::new(
                3,
                format!("queue.{name}.p99_ms"),
                format!("{label}: p99"),
                p99,
                "ms",
            )
            .reference(r99, "ms", format!("read+decode {LIMIT} rows, no filter, p99"))
            .target(Target::at_most(5.0, "ms"))
            .note(format!(
                "{cached} items in cache; {rows} rows returned (limit {LIMIT}); {n} runs; max {max:.1} ms"
            )),
        );
    }
    desk.close().await;
    Ok(figures)
}
