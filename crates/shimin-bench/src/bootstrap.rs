//! Part 1: bootstrap of an empty encrypted cache from the server on loopback.
//!
//! The parent seeds N items for one unit into the server's database, then runs the desk side
//! in a child process of this binary (`--phase bootstrap`), so that the child's peak RSS
//! (VmHWM) is the desk's alone. The child, in order:
//! 1. opens a fresh SQLCipher cache, logs in, `sync_now()` — timed (the figure), VmHWM read;
//! 2. pulls the same snapshot over raw HTTP without a cache — timed (where the time goes);
//! 3. inserts the very rows the desk stored into a second, fresh cache file with the same
//!    schema and encryption (SQLCipher raw key, WAL, synchronous=FULL) in one transaction
//!    through one prepared statement — timed (the reference).

use crate::report::{Figure, Target};
use crate::sys::{mib, status_kib};
use crate::wire::Api;
use anyhow::{bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};
use shimin_client::{CacheKey, ClientConfig, Desk, Endpoint, Store};
use shimin_protocol::{Change, MAX_PULL_LIMIT};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{Connection, SqliteConnection};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Arguments of the child phase.
#[derive(Debug, Clone)]
pub struct ChildArgs {
    pub url: String,
    pub username: String,
    pub password: String,
    pub cache: PathBuf,
    pub key_hex: String,
    pub items: usize,
}

/// What the child prints (one JSON object on stdout).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChildOut {
    /// Items in the cache after the bootstrap.
    pub items: u64,
    pub changes: u64,
    pub desk_secs: f64,
    pub hwm_before_kib: u64,
    pub hwm_after_kib: u64,
    pub raw_pull_secs: f64,
    pub raw_pull_bytes_note: String,
    pub ref_rows: u64,
    pub ref_secs: f64,
    /// The same bare insert with a 64 MiB page cache (evidence for where the time goes).
    pub ref_big_cache_secs: f64,
}

pub fn cache_config(cache: &Path, key: CacheKey, url: &str) -> ClientConfig {
    let mut cfg = ClientConfig::new(
        cache,
        key,
        vec![Endpoint::new("内网", url, false).allowing_plain_http()],
    );
    cfg.request_timeout = std::time::Duration::from_secs(120);
    cfg.device = "shimin-bench".into();
    cfg
}

/// The value of `PRAGMA key` for a raw 256-bit key, exactly as the desk's cache sets it.
pub fn pragma_key(key_hex: &str) -> String {
    format!("\"x'{key_hex}'\"")
}

/// The child side (runs in its own process).
pub async fn child(args: ChildArgs) -> Result<ChildOut> {
    crate::wire::check_loopback(&args.url)?;
    let key = CacheKey::from_hex(&args.key_hex).context("bad --key")?;
    if args.cache.exists() {
        bail!(
            "cache {} exists; the bootstrap needs an empty one",
            args.cache.display()
        );
    }
    let desk = Desk::open(cache_config(&args.cache, key.clone(), &args.url)).await?;
    desk.login(&args.username, &args.password).await?;
    let hwm_before_kib = status_kib(None, "VmHWM").unwrap_or(0);
    // Markers on stderr around the measured window (an external profiler can wait for them).
    eprintln!("shimin-bench: part 1 child: bootstrap starts");
    let t = Instant::now();
    let report = desk.sync_now().await?;
    let desk_secs = t.elapsed().as_secs_f64();
    eprintln!("shimin-bench: part 1 child: bootstrap done in {desk_secs:.2} s");
    let hwm_after_kib = status_kib(None, "VmHWM").unwrap_or(0);
    let items = desk.store().item_count().await?;
    ensure!(
        items as usize >= args.items,
        "bootstrap brought {items} items, expected at least {}",
        args.items
    );

    // Where the time goes: the same snapshot over raw HTTP, decoded, not stored.
    let api = Api::new(&args.url)?;
    let session = api
        .login(&args.username, &args.password, uuid::Uuid::new_v4())
        .await?;
    let t = Instant::now();
    let mut cursor = 0;
    let mut pulled = 0usize;
    loop {
        let page = api.pull(&session.token, cursor, MAX_PULL_LIMIT).await?;
        pulled += page
            .changes
            .iter()
            .filter(|c| matches!(c, Change::Item(_)))
            .count();
        let more = page.has_more && page.cursor > cursor;
        cursor = page.cursor;
        if !more {
            break;
        }
    }
    let raw_pull_secs = t.elapsed().as_secs_f64();

    // The reference: the rows the desk stored, bulk-inserted bare.
    let rows = read_rows(&args.cache, &args.key_hex).await?;
    desk.close().await;
    let ref_path = args.cache.with_extension("reference.db");
    let (ref_rows, ref_secs) = bare_insert(&ref_path, &key, &args.key_hex, &rows, None).await?;
    let big_path = args.cache.with_extension("reference-64mib.db");
    let (_, ref_big_cache_secs) =
        bare_insert(&big_path, &key, &args.key_hex, &rows, Some(BIG_CACHE_KIB)).await?;
    Ok(ChildOut {
        items,
        changes: report.pulled_changes,
        desk_secs,
        hwm_before_kib,
        hwm_after_kib,
        raw_pull_secs,
        raw_pull_bytes_note: format!("{pulled} items"),
        ref_rows,
        ref_secs,
        ref_big_cache_secs,
    })
}

/// One row of the cache's `items` table, as the desk wrote it.
#[derive(Debug, sqlx::FromRow)]
struct CacheRow {
    id: String,
    number: String,
    kind: String,
    status: String,
    closed: i64,
    unit_id: i64,
    matter_id: Option<i64>,
    agent_id: Option<i64>,
    handler_id: Option<i64>,
    applicant_name: String,
    title: String,
    received_at: i64,
    due_at: Option<i64>,
    version: i64,
    pending_ops: i64,
    server: String,
    view: Option<String>,
}

const COLUMNS: &str =
    "id, number, kind, status, closed, unit_id, matter_id, agent_id, handler_id, applicant_name, \
     title, received_at, due_at, version, pending_ops, server, view";

fn connect_options(path: &Path, key_hex: &str) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .pragma("key", pragma_key(key_hex))
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
}

async fn read_rows(cache: &Path, key_hex: &str) -> Result<Vec<CacheRow>> {
    let mut conn = SqliteConnection::connect_with(&connect_options(cache, key_hex)).await?;
    let rows: Vec<CacheRow> = sqlx::query_as(&format!("SELECT {COLUMNS} FROM items"))
        .fetch_all(&mut conn)
        .await?;
    conn.close().await?;
    Ok(rows)
}

/// One transaction, one prepared statement, one row per execution, into a fresh cache file
/// with the desk's own schema (its migrations) and encryption settings.
/// Page cache of the evidence run, KiB (SQLite's default is 2 000 KiB).
const BIG_CACHE_KIB: i64 = 65_536;

async fn bare_insert(
    path: &Path,
    key: &CacheKey,
    key_hex: &str,
    rows: &[CacheRow],
    cache_kib: Option<i64>,
) -> Result<(u64, f64)> {
    let store = Store::open(path, key).await?;
    store.close().await;
    let mut options = connect_options(path, key_hex);
    if let Some(kib) = cache_kib {
        options = options.pragma("cache_size", format!("-{kib}"));
    }
    let mut conn = SqliteConnection::connect_with(&options).await?;
    let sql =
        format!("INSERT INTO items ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    let t = Instant::now();
    let mut tx = conn.begin().await?;
    for r in rows {
        sqlx::query(&sql)
            .bind(&r.id)
            .bind(&r.number)
            .bind(&r.kind)
            .bind(&r.status)
            .bind(r.closed)
            .bind(r.unit_id)
            .bind(r.matter_id)
            .bind(r.agent_id)
            .bind(r.handler_id)
            .bind(&r.applicant_name)
            .bind(&r.title)
            .bind(r.received_at)
            .bind(r.due_at)
            .bind(r.version)
            .bind(r.pending_ops)
            .bind(&r.server)
            .bind(&r.view)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    let secs = t.elapsed().as_secs_f64();
    conn.close().await?;
    Ok((rows.len() as u64, secs))
}

/// Figures from one child's output.
pub fn figures(n: usize, out: &ChildOut, seed_secs: f64) -> Vec<Figure> {
    let label = if n >= 1000 {
        format!("{}k", n / 1000)
    } else {
        n.to_string()
    };
    let desk_rate = out.items as f64 / out.desk_secs;
    let ref_rate = out.ref_rows as f64 / out.ref_secs;
    let raw_rate = out.items as f64 / out.raw_pull_secs;
    vec![
        Figure::new(
            1,
            format!("bootstrap.{n}.items_per_s"),
            format!("{label} items: bootstrap rate (sync_now into empty SQLCipher cache)"),
            desk_rate,
            "items/s",
        )
        .reference(ref_rate, "items/s", "bare SQLCipher bulk insert of the same rows")
        .target(Target::at_least(100_000.0, "items/s"))
        .note(format!(
            "{} items ({} changes) in {:.2} s; seeding the server took {:.2} s",
            out.items, out.changes, out.desk_secs, seed_secs
        )),
        Figure::new(
            1,
            format!("bootstrap.{n}.ratio_to_bare_insert"),
            format!("{label} items: bootstrap time ÷ bare insert time"),
            out.desk_secs / out.ref_secs,
            "×",
        )
        .reference(
            out.ref_secs * 1000.0,
            "ms",
            "bare insert, one transaction, prepared statement",
        )
        .target(Target::at_most(1.5, "×")),
        Figure::new(
            1,
            format!("bootstrap.{n}.pull_only_items_per_s"),
            format!("{label} items: same snapshot, HTTP pull + JSON decode only (no cache)"),
            raw_rate,
            "items/s",
        )
        .reference(desk_rate, "items/s", "full bootstrap")
        .note(format!(
            "{:.2} s of the bootstrap's {:.2} s is server + transfer + decode",
            out.raw_pull_secs, out.desk_secs
        )),
        Figure::new(
            1,
            format!("bootstrap.{n}.bare_insert_64mib_cache_items_per_s"),
            format!("{label} items: evidence — the same bare insert with a 64 MiB page cache"),
            out.ref_rows as f64 / out.ref_big_cache_secs,
            "items/s",
        )
        .reference(ref_rate, "items/s", "bare insert, default 2 MiB page cache")
        .note("PRAGMA cache_size = -65536; same rows, schema and encryption"),
        Figure::new(
            1,
            format!("bootstrap.{n}.peak_rss_mib"),
            format!("{label} items: peak RSS of the desk process (VmHWM)"),
            mib(out.hwm_after_kib),
            "MiB",
        )
        .reference(
            mib(out.hwm_before_kib),
            "MiB",
            "VmHWM after open + login, before the bootstrap",
        ),
    ]
}
