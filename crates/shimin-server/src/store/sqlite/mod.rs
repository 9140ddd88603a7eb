//! The SQLite backend: one file `<data-dir>/shimin.db` in WAL mode, read by a pool and written
//! through one writer connection.
//!
//! Timestamps are RFC 3339 UTC text with microseconds (`2026-03-02T08:50:00.000000Z`), which
//! sorts as text in time order; booleans are integers; JSON is text.
//!
//! Durability: the writer runs `synchronous=FULL`, so a commit is on disk (the WAL fsynced)
//! before the server answers: an acknowledged push survives a power cut.

mod conn;
mod export;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

use super::{dump, Announcer, Backend, BackendOps, Reader, SweepLease, Tamper, WriteTx};
use crate::{Error, Result};
use conn::SqliteConn;

/// Embedded migrations (`crates/shimin-server/migrations/sqlite`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// The database file of a data directory.
pub fn db_path(data_dir: &Path) -> PathBuf {
    data_dir.join("shimin.db")
}

#[derive(Debug)]
pub struct SqliteStore {
    readers: SqlitePool,
    writer: SqlitePool,
    announcer: Announcer,
}

fn options(path: &Path) -> Result<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10)))
}

impl SqliteStore {
    pub async fn open(data_dir: &Path, announcer: Announcer, migrate: bool) -> Result<SqliteStore> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| Error::Config(format!("无法创建数据目录 {}：{e}", data_dir.display())))?;
        let path = db_path(data_dir);
        let options = options(&path)?;
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .connect_with(options.clone().synchronous(SqliteSynchronous::Full))
            .await
            .map_err(|e| Error::Config(format!("无法打开数据库 {}：{e}", path.display())))?;
        if migrate {
            MIGRATOR.run(&writer).await?;
        }
        let readers = SqlitePoolOptions::new()
            .max_connections(8)
            .connect_with(options.synchronous(SqliteSynchronous::Normal))
            .await?;
        Ok(SqliteStore {
            readers,
            writer,
            announcer,
        })
    }

    /// `VACUUM INTO`: a consistent copy of the database while it serves.
    pub async fn vacuum_into(data_dir: &Path, dest: &Path) -> Result<()> {
        let options = options(&db_path(data_dir))?.create_if_missing(false);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| Error::Config(format!("无法打开数据库：{e}")))?;
        let dest = dest
            .to_str()
            .ok_or_else(|| Error::Config("备份路径须为 UTF-8".into()))?
            .to_owned();
        let result = sqlx::query("VACUUM INTO ?").bind(dest).execute(&pool).await;
        pool.close().await;
        result?;
        Ok(())
    }
}

pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::internal(format!("bad timestamp {s:?} in database: {e}")))
}

/// SQLite has one server instance: the sweep lease is always granted.
#[derive(Debug)]
struct OnlyInstance;
#[async_trait]
impl SweepLease for OnlyInstance {
    async fn release(self: Box<Self>) {}
}

#[async_trait]
impl BackendOps for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn reader(&self) -> Result<Reader> {
        Ok(Box::new(SqliteConn::pooled(self.readers.acquire().await?)))
    }

    async fn snapshot(&self) -> Result<Reader> {
        Ok(Box::new(SqliteConn::tx(
            self.readers.begin().await?,
            self.announcer.clone(),
        )))
    }

    async fn write(&self) -> Result<WriteTx> {
        Ok(Box::new(SqliteConn::tx(
            self.writer.begin_with("BEGIN IMMEDIATE").await?,
            self.announcer.clone(),
        )))
    }

    async fn try_sweep_lease(&self) -> Result<Option<Box<dyn SweepLease>>> {
        Ok(Some(Box::new(OnlyInstance)))
    }

    async fn durability(&self) -> Result<String> {
        let sync: i64 = sqlx::query_scalar("PRAGMA synchronous")
            .fetch_one(&self.writer)
            .await?;
        let journal: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&self.writer)
            .await?;
        let name = match sync {
            0 => "off",
            1 => "normal",
            2 => "full",
            3 => "extra",
            _ => "unknown",
        };
        Ok(format!("journal_mode={journal} synchronous={name}"))
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.readers).await?;
        Ok(())
    }

    async fn close(&self) {
        self.readers.close().await;
        self.writer.close().await;
    }

    async fn export(&self, table: dump::Table, out: tokio::sync::mpsc::Sender<dump::Rows>) -> Result<()> {
        let mut conn = self.readers.acquire().await?;
        export::export(&mut conn, table, out).await
    }

    async fn import(&self, _rows: &dump::Rows) -> Result<()> {
        Err(Error::Config(
            "迁移的目标须为 PostgreSQL（SQLite 是迁移的来源）".into(),
        ))
    }

    async fn finish_import(&self) -> Result<()> {
        Ok(())
    }

    async fn is_empty(&self) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM items) + (SELECT COUNT(*) FROM users) + (SELECT COUNT(*) FROM units)",
        )
        .fetch_one(&self.readers)
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
        sqlx::query(sql).execute(&self.writer).await?;
        Ok(())
    }

    async fn seal_audit(&self) -> Result<u64> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let n = conn::seal_unsealed(&mut tx).await?;
        tx.commit().await?;
        Ok(n)
    }
}
