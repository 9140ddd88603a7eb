//! SQLite storage: opening, migrations, the global change sequence, timestamps.
//!
//! Timestamps are stored as RFC 3339 UTC text with microseconds (`2026-03-02T08:50:00.000000Z`),
//! which sorts as text in time order.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool};

use crate::{Error, Result};

/// Embedded migrations (`crates/shimin-server/migrations`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Opens (creating) `<data_dir>/shimin.db`, migrates it, returns (readers, single writer).
pub async fn open(data_dir: &Path) -> Result<(SqlitePool, SqlitePool)> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| Error::internal(format!("cannot create data dir {}: {e}", data_dir.display())))?;
    let path = data_dir.join("shimin.db");
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .connect_with(options.clone())
        .await?;
    MIGRATOR.run(&writer).await?;
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options.read_only(false))
        .await?;
    Ok((pool, writer))
}

/// Opens a database file for an admin command (one connection, migrated).
pub async fn open_admin(data_dir: &Path) -> Result<SqlitePool> {
    let (pool, writer) = open(data_dir).await?;
    pool.close().await;
    Ok(writer)
}

pub fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn parse_ts(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::internal(format!("bad timestamp {s:?} in database: {e}")))
}

/// Takes the next value of the global change sequence. Must run inside the writing
/// transaction, so the number commits (or rolls back) with the change it stamps.
pub async fn next_seq(conn: &mut SqliteConnection) -> Result<i64> {
    let seq: i64 = sqlx::query_scalar("UPDATE change_seq SET value = value + 1 WHERE id = 1 RETURNING value")
        .fetch_one(&mut *conn)
        .await?;
    Ok(seq)
}

/// The newest committed change sequence number.
pub async fn current_seq(conn: &mut SqliteConnection) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT value FROM change_seq WHERE id = 1")
        .fetch_one(&mut *conn)
        .await?)
}
