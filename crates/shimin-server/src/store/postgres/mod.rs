//! The PostgreSQL backend: several server instances on one database.
//!
//! - Change numbers: `UPDATE change_seq … RETURNING value` inside the write transaction; the
//!   row lock serialises number holders until commit (see `store/mod.rs` for the invariant).
//! - Pokes across instances: a committed change is also sent with `pg_notify` inside its
//!   transaction (delivered only if it commits); every instance listens
//!   ([`PgStore::listen_for_changes`]) and pokes its own streams, ignoring its own notifications.
//!   After a lost listener connection every desk is poked once (something may have been missed).
//! - The 预警/督办 sweep runs under a transaction-level advisory lock
//!   ([`BackendOps::try_sweep_lease`]): one instance per tick.
//! - Snapshots are `REPEATABLE READ, READ ONLY` transactions; writes are `READ COMMITTED` with
//!   row locks, so writers of different items proceed in parallel until they take a number.
//! - Durability: `synchronous_commit` must be `on` (checked at start) and `fsync` on.

mod conn;
mod export;

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{PgPool, Postgres, Transaction};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::{dump, Announcer, Backend, BackendOps, Reader, SweepLease, Tamper, WriteTx};
use crate::{Committed, Error, Result};
use conn::PgConn;

/// Embedded migrations (`crates/shimin-server/migrations/postgres`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The channel of change notifications.
pub const CHANNEL: &str = "shimin_changes";
/// Oldest PostgreSQL served (Debian 12 ships 15).
pub const MIN_SERVER_VERSION: i64 = 130_000;
/// Advisory lock key of the supervision sweep ("shimin" in ASCII).
const SWEEP_LOCK: i64 = 0x7368_696d_696e;

#[derive(Debug)]
pub struct PgStore {
    pool: PgPool,
    announcer: Announcer,
    instance: Uuid,
}

/// A change as other instances learn it (`NOTIFY` payload).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Notice {
    /// The instance that committed it.
    pub i: Uuid,
    #[serde(flatten)]
    pub c: Committed,
}

/// Why the server version is refused, if it is.
pub fn check_server_version(version_num: i64) -> Result<()> {
    if version_num < MIN_SERVER_VERSION {
        return Err(Error::Config(format!(
            "PostgreSQL 版本过旧（{}.{}），须为 {} 或更新",
            version_num / 10_000,
            version_num % 10_000 / 100,
            MIN_SERVER_VERSION / 10_000
        )));
    }
    Ok(())
}

impl PgStore {
    pub async fn open(url: &str, announcer: Announcer, instance: Uuid, migrate: bool) -> Result<PgStore> {
        let what = super::redact_url(url);
        let options: PgConnectOptions = url
            .parse::<PgConnectOptions>()
            .map_err(|e| Error::Config(format!("数据库地址无效（{what}）：{e}")))?
            .application_name("shimin-server");
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|e| Error::Config(format!("无法连接 PostgreSQL（{what}）：{e}")))?;
        let version: String = sqlx::query_scalar("SHOW server_version_num")
            .fetch_one(&pool)
            .await?;
        check_server_version(version.trim().parse().map_err(Error::internal)?)?;
        let sync: String = sqlx::query_scalar("SHOW synchronous_commit")
            .fetch_one(&pool)
            .await?;
        if sync == "off" {
            return Err(Error::Config(
                "PostgreSQL 的 synchronous_commit 为 off：已确认的提交可能在断电时丢失，请设为 on".into(),
            ));
        }
        if migrate {
            MIGRATOR.run(&pool).await?;
        }
        Ok(PgStore {
            pool,
            announcer,
            instance,
        })
    }

    /// Listens for other instances' changes and pokes this instance's streams with them, until
    /// `shutdown`.
    pub fn listen_for_changes(&self, mut shutdown: watch::Receiver<bool>) -> JoinHandle<()> {
        let pool = self.pool.clone();
        let local = self.announcer.clone();
        let me = self.instance;
        tokio::spawn(async move {
            let mut listener = loop {
                match listen(&pool).await {
                    Ok(l) => break l,
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot LISTEN for changes; retrying");
                        tokio::select! {
                            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                            _ = shutdown.wait_for(|s| *s) => return,
                        }
                    }
                }
            };
            loop {
                let received = tokio::select! {
                    n = listener.try_recv() => n,
                    _ = shutdown.wait_for(|s| *s) => return,
                };
                match received {
                    Ok(Some(n)) => match serde_json::from_str::<Notice>(n.payload()) {
                        Ok(notice) if notice.i != me => local.send([notice.c]),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "unreadable change notification"),
                    },
                    // The connection was lost (it reconnects on the next call): a change may
                    // have gone by unheard, so every desk pulls once.
                    Ok(None) => {
                        tracing::warn!("change listener reconnected; poking every desk");
                        local.send([Committed::everyone()]);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "change listener failed");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
            }
        })
    }
}

/// Creates a fresh, empty database on the cluster of `admin_url` (a URL whose user may create
/// databases) and returns its URL: what each test, benchmark run or drill uses, so runs never
/// share state.
pub async fn create_scratch_database(admin_url: &str, prefix: &str) -> Result<String> {
    let options: PgConnectOptions = admin_url
        .parse()
        .map_err(|e| Error::Config(format!("数据库地址无效：{e}")))?;
    let name = format!("{prefix}_{}", Uuid::new_v4().simple());
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options.clone())
        .await
        .map_err(|e| Error::Config(format!("无法连接 PostgreSQL：{e}")))?;
    // A database name cannot be a bound parameter; it is made here of [a-z0-9_] only.
    debug_assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'));
    sqlx::query(&format!(
        r#"CREATE DATABASE "{name}" TEMPLATE template0 ENCODING 'UTF8'"#
    ))
    .execute(&pool)
    .await?;
    pool.close().await;
    let url = url_with_database(admin_url, &name);
    Ok(url)
}

/// The environment variable naming the PostgreSQL cluster the test suites run against
/// (`scripts/test.sh` starts one and sets it for the PostgreSQL pass).
pub const TEST_CLUSTER_ENV: &str = "SHIMIN_TEST_DATABASE";

/// The test cluster's admin URL, when the suites run on PostgreSQL ([`TEST_CLUSTER_ENV`]).
pub fn test_cluster_url() -> Option<String> {
    std::env::var(TEST_CLUSTER_ENV).ok().filter(|s| !s.is_empty())
}

/// A fresh database for one test server when the suites run on PostgreSQL ([`TEST_CLUSTER_ENV`]
/// set); `None` (the data directory's SQLite file) otherwise.
pub async fn scratch_database_for_tests(prefix: &str) -> Option<String> {
    let admin = test_cluster_url()?;
    Some(
        create_scratch_database(&admin, prefix)
            .await
            .unwrap_or_else(|e| panic!("a scratch database on {}: {e}", super::redact_url(&admin))),
    )
}

/// `url` naming database `name` instead of its own.
pub fn url_with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// What a dump holds, read in the very snapshot `pg_dump` copies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpFacts {
    pub epoch: Option<String>,
    pub seq: i64,
    pub items: i64,
    pub audit_entries: i64,
    pub audit_head: String,
}

/// Runs `dump(snapshot_id)` (pg_dump with `--snapshot`) while a repeatable-read transaction
/// holds that snapshot, and reads in it what the dump contains: the backup's manifest then
/// describes exactly the dump, even while the server keeps writing.
pub async fn dump_in_snapshot<F, Fut>(url: &str, dump: F) -> Result<DumpFacts>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let options: PgConnectOptions = url
        .parse()
        .map_err(|e| Error::Config(format!("数据库地址无效：{e}")))?;
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .map_err(|e| Error::Config(format!("无法连接 PostgreSQL：{e}")))?;
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        .await?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()")
        .fetch_one(&mut *tx)
        .await?;
    let (epoch, seq, items, audit_entries, audit_head): (Option<String>, i64, i64, i64, String) = sqlx::query_as(
        "SELECT (SELECT value FROM meta WHERE key = 'epoch'), (SELECT value FROM change_seq WHERE id = 1),
                (SELECT count(*) FROM items), (SELECT count(*) FROM audit_log),
                (SELECT hash FROM audit_head WHERE id = 1)",
    )
    .fetch_one(&mut *tx)
    .await?;
    let dumped = dump(snapshot).await;
    tx.commit().await?;
    pool.close().await;
    dumped?;
    Ok(DumpFacts {
        epoch,
        seq,
        items,
        audit_entries,
        audit_head,
    })
}

async fn listen(pool: &PgPool) -> Result<PgListener> {
    let mut l = PgListener::connect_with(pool).await?;
    l.listen(CHANNEL).await?;
    Ok(l)
}

/// The sweep lease: a transaction holding `pg_try_advisory_xact_lock`; dropped, it rolls back
/// and the lock is released (also when the instance dies: the connection ends).
#[derive(Debug)]
struct AdvisoryLease(Transaction<'static, Postgres>);
#[async_trait]
impl SweepLease for AdvisoryLease {
    async fn release(self: Box<Self>) {
        if let Err(e) = self.0.rollback().await {
            tracing::warn!(error = %e, "releasing the sweep lease");
        }
    }
}

#[async_trait]
impl BackendOps for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn reader(&self) -> Result<Reader> {
        Ok(Box::new(PgConn::pooled(self.pool.acquire().await?)))
    }

    async fn snapshot(&self) -> Result<Reader> {
        let tx = self
            .pool
            .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await?;
        Ok(Box::new(PgConn::tx(tx, self.announcer.clone(), self.instance)))
    }

    async fn write(&self) -> Result<WriteTx> {
        Ok(Box::new(PgConn::tx(
            self.pool.begin().await?,
            self.announcer.clone(),
            self.instance,
        )))
    }

    async fn try_sweep_lease(&self) -> Result<Option<Box<dyn SweepLease>>> {
        let mut tx = self.pool.begin().await?;
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_xact_lock($1)")
            .bind(SWEEP_LOCK)
            .fetch_one(&mut *tx)
            .await?;
        Ok(got.then(|| Box::new(AdvisoryLease(tx)) as Box<dyn SweepLease>))
    }

    async fn durability(&self) -> Result<String> {
        let sync: String = sqlx::query_scalar("SHOW synchronous_commit")
            .fetch_one(&self.pool)
            .await?;
        let fsync: String = sqlx::query_scalar("SHOW fsync").fetch_one(&self.pool).await?;
        Ok(format!("synchronous_commit={sync} fsync={fsync}"))
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }

    async fn export(&self, table: dump::Table, out: tokio::sync::mpsc::Sender<dump::Rows>) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        export::export(&mut conn, table, out).await
    }

    async fn import(&self, rows: &dump::Rows) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        export::import(&mut tx, rows).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn finish_import(&self) -> Result<()> {
        export::finish_import(&self.pool).await
    }

    async fn is_empty(&self) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM items) + (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM units)
                    + (SELECT COUNT(*) FROM audit_log)",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(n == 0)
    }

    async fn attempt_tamper(&self, what: Tamper) -> Result<()> {
        let sql = match what {
            Tamper::UpdateAuditEntry => "UPDATE audit_log SET outcome = 'forged'",
            Tamper::DeleteAuditEntry => "DELETE FROM audit_log",
            Tamper::UpdateHistoryEntry => "UPDATE item_events SET note = 'forged'",
            Tamper::DeleteHistoryEntry => "DELETE FROM item_events",
            Tamper::DeleteClockAlert => "DELETE FROM clock_alerts",
        };
        sqlx::query(sql).execute(&self.pool).await?;
        Ok(())
    }

    async fn seal_audit(&self) -> Result<u64> {
        // Entries are chained as they are written from the first migration on.
        Ok(0)
    }

    fn spawn_listener(&self, shutdown: watch::Receiver<bool>) -> Option<JoinHandle<()>> {
        Some(self.listen_for_changes(shutdown))
    }
}
