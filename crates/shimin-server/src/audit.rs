//! The audit trail (R-AUD): who did what, when, from which client, with what outcome.
//! Append-only: the table's triggers abort any UPDATE or DELETE. Never put citizens' personal
//! data here; targets are item numbers/ids and user names.

use chrono::Utc;
use sqlx::SqliteConnection;

use crate::db::ts;
use crate::Result;

/// One audit record.
#[derive(Debug, Clone, Default)]
pub struct Entry<'a> {
    pub user_id: Option<i64>,
    pub username: Option<&'a str>,
    pub action: &'a str,
    pub target: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub outcome: &'a str,
}

pub async fn record(conn: &mut SqliteConnection, e: Entry<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, user_id, username, action, target, client_id, outcome)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(ts(Utc::now()))
    .bind(e.user_id)
    .bind(e.username)
    .bind(e.action)
    .bind(e.target)
    .bind(e.client_id)
    .bind(e.outcome)
    .execute(conn)
    .await?;
    Ok(())
}
