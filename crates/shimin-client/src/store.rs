//! The encrypted local cache: items (server record + optimistic view), the durable outbox,
//! rejection notices, catalogue, and sync bookkeeping.
//!
//! Architecture invariants:
//! - Every write runs in one transaction under [`Store`]'s write lock: an op is appended to the
//!   outbox and applied to the view together; a pull page and its cursor commit together; a
//!   push result and the outbox deletion commit together.
//! - The session token is never stored here.
//! - Nothing in this module logs item contents (citizens' personal data).

use crate::config::CacheKey;
use crate::view::{self, OpActor, PendingOp};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shimin_domain::role::Role;
use shimin_protocol::{
    Change, Colleague, ItemRecord, Matter, Mutation, MutationOutcome, MutationResult, Op, PullResponse, Site,
    Unit, UserInfo,
};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Connection, QueryBuilder, Sqlite, SqlitePool, Transaction};
use std::collections::{BTreeSet, HashSet};
use std::path::Path;
use std::str::FromStr;
use uuid::Uuid;

mod reveals;
mod tickets;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Rows per multi-row INSERT of a pull page (18 parameters each).
const BULK_ROWS: usize = 200;

/// An item as the clerk sees it now: server state with pending local ops applied.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemView {
    #[serde(flatten)]
    pub record: ItemRecord,
    /// Has ops not yet confirmed by the server.
    pub pending: bool,
    pub pending_ops: u32,
}

/// A mutation the server refused; kept until dismissed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectionNotice {
    pub mutation_id: Uuid,
    pub item_id: Uuid,
    pub item_number: String,
    pub op_type: String,
    pub code: String,
    pub message: String,
    pub at: DateTime<Utc>,
}

/// Which items a queue shows.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueView {
    /// Items the user handles (or carries, for agents).
    Mine,
    /// Items of the user's unit.
    Unit,
    /// Items of one kind (`reservation`, …).
    Kind(String),
    /// Open items due within this long from now (server time).
    DueSoon(std::time::Duration),
    /// Open items past their deadline.
    Overdue,
    All,
}

#[derive(Debug, Clone, PartialEq)]
pub struct QueueQuery {
    pub view: QueueView,
    /// Matches applicant name, item number, title or matter name (substring).
    pub search: Option<String>,
    pub include_closed: bool,
    pub limit: u32,
}

impl QueueQuery {
    pub fn new(view: QueueView) -> QueueQuery {
        QueueQuery {
            view,
            search: None,
            include_closed: false,
            limit: 200,
        }
    }
}

/// What a committed pull page changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PullApplied {
    /// Items inserted, updated or removed.
    pub ids: Vec<Uuid>,
    /// Items seen for the first time (empty during the first snapshot).
    pub new_items: Vec<Uuid>,
    pub catalogue_changed: bool,
    pub changes: u64,
}

/// What a committed push answer changed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PushApplied {
    pub applied: u64,
    pub rejected: Vec<RejectionNotice>,
    /// Items whose view changed (rolled back).
    pub ids: Vec<Uuid>,
}

/// The cache. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    path: std::path::PathBuf,
    write: std::sync::Arc<tokio::sync::Mutex<()>>,
}

fn is_key_or_corrupt(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().and_then(|c| c.parse::<i32>().ok()).unwrap_or(0) & 0xff;
            // SQLITE_NOTADB (26), SQLITE_CORRUPT (11)
            code == 26 || code == 11
        }
        _ => false,
    }
}

fn key_error(e: sqlx::Error) -> Error {
    if is_key_or_corrupt(&e) {
        Error::CacheKeyOrCorrupt
    } else {
        Error::Cache(e)
    }
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

impl Store {
    /// Opens or creates the cache at `path`. A wrong key or a file that is not a cache gives
    /// [`Error::CacheKeyOrCorrupt`] and leaves the file as it was.
    pub async fn open(path: &Path, key: &CacheKey) -> Result<Store> {
        let base = SqliteConnectOptions::new()
            .filename(path)
            .pragma("key", key.pragma_value());
        if path.exists() {
            // Check the key read-only first: nothing may write to a file we cannot read.
            let mut conn = sqlx::SqliteConnection::connect_with(&base.clone().read_only(true))
                .await
                .map_err(key_error)?;
            let check = sqlx::query_scalar::<_, i64>("SELECT count(*) FROM sqlite_master")
                .fetch_one(&mut conn)
                .await
                .map_err(key_error);
            let _ = conn.close().await;
            check?;
        }
        let options = base
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(std::time::Duration::from_secs(10))
            // 64 MiB of page cache per connection (an upper bound, filled only as pages are
            // read): a 100k-item cache's queue indexes stay in memory between queries.
            .pragma("cache_size", "-65536");
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(key_error)?;
        MIGRATOR.run(&pool).await?;
        let store = Store {
            pool,
            path: path.to_owned(),
            write: Default::default(),
        };
        if store.meta("client_id").await?.is_none() {
            store.set_meta("client_id", &Uuid::new_v4().to_string()).await?;
        }
        Ok(store)
    }

    /// Closes all connections (the last one checkpoints the WAL into the main file and
    /// removes it). sqlx finishes closing SQLite handles on its worker threads slightly after
    /// `Pool::close` returns, so wait (bounded) for the WAL file to go away.
    pub async fn close(&self) {
        let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await;
        self.pool.close().await;
        let wal = {
            let mut p = self.path.clone().into_os_string();
            p.push("-wal");
            std::path::PathBuf::from(p)
        };
        for _ in 0..200 {
            if !wal.exists() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Moves the WAL's content into the main file and truncates the WAL.
    pub async fn checkpoint(&self) -> Result<()> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar::<_, String>("SELECT value FROM meta WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        let _w = self.write.lock().await;
        set_meta(&mut *self.pool.acquire().await?, key, value).await
    }

    async fn meta_i64(&self, key: &str) -> Result<i64> {
        Ok(self.meta(key).await?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// This installation's id (the push sequence is per client id).
    pub async fn client_id(&self) -> Result<Uuid> {
        let v = self
            .meta("client_id")
            .await?
            .ok_or_else(|| Error::Protocol("client_id missing".into()))?;
        Uuid::from_str(&v).map_err(|e| Error::Protocol(e.to_string()))
    }

    pub async fn cursor(&self) -> Result<i64> {
        self.meta_i64("cursor").await
    }

    /// Whether a first snapshot has been completed.
    pub async fn bootstrapped(&self) -> Result<bool> {
        Ok(self.meta("bootstrapped").await?.as_deref() == Some("1"))
    }

    /// The last logged-in user (not secret; lets queues work offline after a restart).
    pub async fn user(&self) -> Result<Option<UserInfo>> {
        Ok(self
            .meta("user")
            .await?
            .and_then(|v| serde_json::from_str(&v).ok()))
    }

    pub async fn set_user(&self, user: &UserInfo) -> Result<()> {
        self.set_meta("user", &serde_json::to_string(user)?).await
    }

    /// Forgets everything another user synced and starts a new client id. Refused while
    /// the outbox holds unsent ops.
    pub async fn reset_for_new_user(&self) -> Result<()> {
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        // Reveals and counter events count too: handed in under the next user's session they
        // would be theirs.
        let pending: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM outbox) + (SELECT count(*) FROM pending_reveals)
                  + (SELECT count(*) FROM pending_ticket_events)",
        )
        .fetch_one(&mut *tx)
        .await?;
        if pending > 0 {
            return Err(Error::OtherUserPending {
                pending: pending as u64,
            });
        }
        for table in [
            "items",
            "rejections",
            "matters",
            "units",
            "sites",
            "colleagues",
            "blobs",
        ] {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "DELETE FROM meta WHERE key IN ('cursor', 'bootstrapped', 'calendar', 'next_seq', 'user', 'epoch')",
        )
        .execute(&mut *tx)
        .await?;
        set_meta(&mut tx, "client_id", &Uuid::new_v4().to_string()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets the confirmed copy of the server (items without pending ops, the catalogue, the
    /// cursor) and records the server's new epoch, so the next pull bootstraps again: the
    /// server was restored to an older state. Pending ops and their items' views stay; the
    /// bootstrap rebases them on what the server now holds. One transaction.
    pub async fn restart_sync(&self, epoch: Option<&str>) -> Result<()> {
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM items WHERE id NOT IN (SELECT item_id FROM outbox)")
            .execute(&mut *tx)
            .await?;
        for table in ["matters", "units", "sites", "colleagues"] {
            sqlx::query(&format!("DELETE FROM {table}"))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("DELETE FROM meta WHERE key IN ('cursor', 'bootstrapped', 'calendar', 'epoch')")
            .execute(&mut *tx)
            .await?;
        if let Some(e) = epoch {
            set_meta(&mut tx, "epoch", e).await?;
        }
        tx.commit().await?;
        tracing::warn!("server restored to an older state: bootstrapping again, pending ops kept");
        Ok(())
    }

    /// The server epoch this cache's cursor belongs to.
    pub async fn epoch(&self) -> Result<Option<String>> {
        self.meta("epoch").await
    }

    /// Renumbers the outbox densely from `from` on, order kept, after the server said its
    /// numbering of this client continues there (a restored server). Safe: the server applies
    /// a mutation id once whatever number it comes under. Returns how many ops moved.
    pub async fn renumber_outbox(&self, from: i64) -> Result<u64> {
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        let seqs: Vec<i64> = sqlx::query_scalar("SELECT seq FROM outbox ORDER BY seq")
            .fetch_all(&mut *tx)
            .await?;
        // Through negative numbers, so no two rows ever share a number on the way.
        for (i, seq) in seqs.iter().enumerate() {
            sqlx::query("UPDATE outbox SET seq = ?, state = 'pending' WHERE seq = ?")
                .bind(-(from + i as i64))
                .bind(seq)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE outbox SET seq = -seq WHERE seq < 0")
            .execute(&mut *tx)
            .await?;
        set_meta(&mut tx, "next_seq", &(from + seqs.len() as i64).to_string()).await?;
        tx.commit().await?;
        tracing::warn!(
            from,
            ops = seqs.len(),
            "outbox renumbered to the server's sequence"
        );
        Ok(seqs.len() as u64)
    }

    // ---------------------------------------------------------------- pull

    /// Applies one pull page and stores its cursor, in one transaction.
    pub async fn apply_pull(&self, page: &PullResponse) -> Result<PullApplied> {
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        let pending: HashSet<String> = sqlx::query_scalar::<_, String>("SELECT DISTINCT item_id FROM outbox")
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
        let bootstrapped = get_meta(&mut tx, "bootstrapped").await?.as_deref() == Some("1");
        let mut out = PullApplied {
            changes: page.changes.len() as u64,
            ..Default::default()
        };
        let mut batch: Vec<&ItemRecord> = Vec::new();
        for change in &page.changes {
            match change {
                Change::Item(rec) if pending.contains(&rec.id.to_string()) => {
                    flush_items(&mut tx, &mut batch, bootstrapped, &mut out).await?;
                    if bootstrapped && !item_exists(&mut tx, rec.id).await? {
                        out.new_items.push(rec.id);
                    }
                    let ops = pending_ops(&mut tx, rec.id).await?;
                    let view = view::rebase(rec, &ops);
                    write_item(&mut tx, rec, Some(&view), ops.len()).await?;
                    out.ids.push(rec.id);
                }
                Change::Item(rec) => {
                    batch.push(rec);
                    if batch.len() >= BULK_ROWS {
                        flush_items(&mut tx, &mut batch, bootstrapped, &mut out).await?;
                    }
                }
                Change::ItemRemoved { id } => {
                    flush_items(&mut tx, &mut batch, bootstrapped, &mut out).await?;
                    sqlx::query("DELETE FROM items WHERE id = ?")
                        .bind(id.to_string())
                        .execute(&mut *tx)
                        .await?;
                    out.ids.push(*id);
                }
                Change::Matter(m) => {
                    sqlx::query("INSERT OR REPLACE INTO matters (id, unit_id, code, name, data) VALUES (?, ?, ?, ?, ?)")
                        .bind(m.id)
                        .bind(m.unit_id)
                        .bind(&m.code)
                        .bind(&m.name)
                        .bind(serde_json::to_string(m)?)
                        .execute(&mut *tx)
                        .await?;
                    out.catalogue_changed = true;
                }
                Change::Unit(u) => {
                    sqlx::query("INSERT OR REPLACE INTO units (id, data) VALUES (?, ?)")
                        .bind(u.id)
                        .bind(serde_json::to_string(u)?)
                        .execute(&mut *tx)
                        .await?;
                    out.catalogue_changed = true;
                }
                Change::Site(s) => {
                    sqlx::query("INSERT OR REPLACE INTO sites (id, data) VALUES (?, ?)")
                        .bind(s.id)
                        .bind(serde_json::to_string(s)?)
                        .execute(&mut *tx)
                        .await?;
                    out.catalogue_changed = true;
                }
                Change::Colleague(c) => {
                    sqlx::query("INSERT OR REPLACE INTO colleagues (id, unit_id, data) VALUES (?, ?, ?)")
                        .bind(c.id)
                        .bind(c.unit_id)
                        .bind(serde_json::to_string(c)?)
                        .execute(&mut *tx)
                        .await?;
                    out.catalogue_changed = true;
                }
                Change::Calendar(c) => {
                    set_meta(&mut tx, "calendar", &serde_json::to_string(c)?).await?;
                    out.catalogue_changed = true;
                }
            }
        }
        flush_items(&mut tx, &mut batch, bootstrapped, &mut out).await?;
        set_meta(&mut tx, "cursor", &page.cursor.to_string()).await?;
        if let Some(epoch) = &page.epoch {
            set_meta(&mut tx, "epoch", epoch).await?;
        }
        if !page.has_more && !bootstrapped {
            set_meta(&mut tx, "bootstrapped", "1").await?;
        }
        tx.commit().await?;
        Ok(out)
    }

    // ---------------------------------------------------------------- act / outbox

    /// Applies `op` by `who` optimistically and appends it to the outbox, in one transaction.
    /// Refused by the rules → error, nothing written.
    pub async fn enqueue(
        &self,
        item_id: Uuid,
        op: &Op,
        who: &OpActor,
        acted_at: DateTime<Utc>,
    ) -> Result<ItemView> {
        op.validate()?;
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        let row: Option<(String, Option<String>, i64)> =
            sqlx::query_as("SELECT server, view, pending_ops FROM items WHERE id = ?")
                .bind(item_id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        let (server, view, pending) = row.ok_or(Error::ItemNotFound(item_id))?;
        let server: ItemRecord = serde_json::from_str(&server)?;
        let mut next = match view {
            Some(v) => serde_json::from_str(&v)?,
            None => server.clone(),
        };
        view::apply_op(&mut next, op, who, acted_at)?;
        append_outbox(&mut tx, item_id, op, who, acted_at).await?;
        let pending_ops = (pending + 1) as usize;
        write_item(&mut tx, &server, Some(&next), pending_ops).await?;
        tx.commit().await?;
        Ok(ItemView {
            record: next,
            pending: true,
            pending_ops: pending_ops as u32,
        })
    }

    /// Records an item a local op creates (an agent registering a delegated case, offline):
    /// `record` (version 0) stands as its server record until the server's own arrives by
    /// pull; the op waits in the outbox. One transaction.
    pub async fn enqueue_create(
        &self,
        record: &ItemRecord,
        op: &Op,
        who: &OpActor,
        acted_at: DateTime<Utc>,
    ) -> Result<ItemView> {
        op.check_payload()?;
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        if item_exists(&mut tx, record.id).await? {
            return Err(Error::Protocol(format!("item {} exists already", record.id)));
        }
        append_outbox(&mut tx, record.id, op, who, acted_at).await?;
        write_item(&mut tx, record, None, 1).await?;
        tx.commit().await?;
        Ok(ItemView {
            record: record.clone(),
            pending: true,
            pending_ops: 1,
        })
    }

    // ---------------------------------------------------------------- blobs

    /// Stores an attachment's bytes (captured here, or fetched from the server: `uploaded`).
    pub async fn put_blob(&self, hash: &str, mime: &str, data: &[u8], uploaded: bool) -> Result<()> {
        let _w = self.write.lock().await;
        sqlx::query(
            "INSERT INTO blobs (hash, mime, size, data, uploaded, created_at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (hash) DO UPDATE SET uploaded = max(uploaded, excluded.uploaded)",
        )
        .bind(hash)
        .bind(mime)
        .bind(data.len() as i64)
        .bind(data)
        .bind(uploaded)
        .bind(Utc::now().to_rfc3339())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// An attachment's type and bytes, if the cache has them.
    pub async fn blob(&self, hash: &str) -> Result<Option<(String, Vec<u8>)>> {
        Ok(sqlx::query_as("SELECT mime, data FROM blobs WHERE hash = ?")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?)
    }

    /// Captured attachments the server does not hold yet (nor refused), oldest first.
    pub async fn blobs_to_upload(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT hash FROM blobs WHERE uploaded = 0 AND refused IS NULL ORDER BY created_at, hash",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// How many captured attachments the server does not hold yet.
    pub async fn uploads_pending(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM blobs WHERE uploaded = 0 AND refused IS NULL")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    /// Marks an attachment as held by the server, or (with `refused`) as refused by it.
    pub async fn set_blob_uploaded(&self, hash: &str, refused: Option<&str>) -> Result<()> {
        let _w = self.write.lock().await;
        sqlx::query("UPDATE blobs SET uploaded = ?, refused = ? WHERE hash = ?")
            .bind(refused.is_none())
            .bind(refused)
            .bind(hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Appends `op` to the outbox under the next sequence number, inside `tx`.
async fn append_outbox(
    tx: &mut Transaction<'_, Sqlite>,
    item_id: Uuid,
    op: &Op,
    who: &OpActor,
    acted_at: DateTime<Utc>,
) -> Result<i64> {
    let seq = get_meta(tx, "next_seq")
        .await?
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(1);
    let seq = seq.max(
        sqlx::query_scalar::<_, Option<i64>>("SELECT max(seq) FROM outbox")
            .fetch_one(&mut **tx)
            .await?
            .unwrap_or(0)
            + 1,
    );
    sqlx::query(
            "INSERT INTO outbox (seq, mutation_id, item_id, op_type, op, acted_at, actor_id, actor_role, actor_unit, \
             actor_name, state, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
        )
        .bind(seq)
        .bind(Uuid::now_v7().to_string())
        .bind(item_id.to_string())
        .bind(view::op_type(op))
        .bind(serde_json::to_string(op)?)
        .bind(acted_at.to_rfc3339())
        .bind(who.user_id)
        .bind(who.role.code())
        .bind(who.unit_id)
        .bind(&who.name)
        .bind(Utc::now().to_rfc3339())
        .execute(&mut **tx)
        .await?;
    set_meta(tx, "next_seq", &(seq + 1).to_string()).await?;
    Ok(seq)
}

/// One pending mutation as an operator sees it (no payload: it may hold personal data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub seq: i64,
    pub mutation_id: String,
    pub item_id: String,
    pub op_type: String,
    /// `pending` (never sent) or `sent` (pushed at least once, no answer kept yet).
    pub state: String,
    pub created_at: String,
}

impl Store {
    /// Every pending mutation, in sequence order.
    pub async fn outbox_entries(&self) -> Result<Vec<OutboxEntry>> {
        let rows: Vec<(i64, String, String, String, String, String)> = sqlx::query_as(
            "SELECT seq, mutation_id, item_id, op_type, state, created_at FROM outbox ORDER BY seq",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(seq, mutation_id, item_id, op_type, state, created_at)| OutboxEntry {
                    seq,
                    mutation_id,
                    item_id,
                    op_type,
                    state,
                    created_at,
                },
            )
            .collect())
    }

    /// The oldest `limit` outbox entries, in sequence order, marked as sent.
    pub async fn outbox_batch(&self, limit: usize) -> Result<Vec<Mutation>> {
        let rows: Vec<(i64, String, String, String, String)> =
            sqlx::query_as("SELECT seq, mutation_id, item_id, op, acted_at FROM outbox ORDER BY seq LIMIT ?")
                .bind(limit as i64)
                .fetch_all(&self.pool)
                .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (seq, id, item_id, op, acted_at) in rows {
            out.push(Mutation {
                id: parse_uuid(&id)?,
                seq,
                item_id: parse_uuid(&item_id)?,
                acted_at: parse_time(&acted_at)?,
                op: serde_json::from_str(&op)?,
            });
        }
        if let Some(last) = out.last() {
            let _w = self.write.lock().await;
            sqlx::query("UPDATE outbox SET state = 'sent' WHERE seq <= ? AND state = 'pending'")
                .bind(last.seq)
                .execute(&self.pool)
                .await?;
        }
        Ok(out)
    }

    /// Records the server's answer to a push: applied ops leave the outbox (the view stays
    /// until the pull brings the authoritative record), rejected ones leave it too, become a
    /// notice, and their item's view is recomputed without them (rollback). One transaction.
    pub async fn apply_push(&self, results: &[MutationResult], at: DateTime<Utc>) -> Result<PushApplied> {
        let _w = self.write.lock().await;
        let mut tx = self.pool.begin().await?;
        let mut out = PushApplied::default();
        let mut touched: BTreeSet<String> = BTreeSet::new();
        let mut rolled_back: BTreeSet<String> = BTreeSet::new();
        for r in results {
            let row: Option<(String, String)> =
                sqlx::query_as("SELECT item_id, op_type FROM outbox WHERE seq = ? AND mutation_id = ?")
                    .bind(r.seq)
                    .bind(r.id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
            let Some((item_id, op_type)) = row else { continue };
            sqlx::query("DELETE FROM outbox WHERE seq = ?")
                .bind(r.seq)
                .execute(&mut *tx)
                .await?;
            touched.insert(item_id.clone());
            match &r.outcome {
                MutationOutcome::Applied { .. } => out.applied += 1,
                MutationOutcome::Rejected { code, message } => {
                    let number: Option<String> = sqlx::query_scalar("SELECT number FROM items WHERE id = ?")
                        .bind(&item_id)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let notice = RejectionNotice {
                        mutation_id: r.id,
                        item_id: parse_uuid(&item_id)?,
                        item_number: number.unwrap_or_default(),
                        op_type,
                        code: code.clone(),
                        message: message.clone(),
                        at,
                    };
                    sqlx::query(
                        "INSERT OR REPLACE INTO rejections (mutation_id, item_id, item_number, op_type, code, message, at) \
                         VALUES (?, ?, ?, ?, ?, ?, ?)",
                    )
                    .bind(notice.mutation_id.to_string())
                    .bind(&item_id)
                    .bind(&notice.item_number)
                    .bind(&notice.op_type)
                    .bind(&notice.code)
                    .bind(&notice.message)
                    .bind(notice.at.to_rfc3339())
                    .execute(&mut *tx)
                    .await?;
                    out.rejected.push(notice);
                    rolled_back.insert(item_id);
                }
            }
        }
        for item_id in &touched {
            let id = parse_uuid(item_id)?;
            let ops = pending_ops(&mut tx, id).await?;
            if rolled_back.contains(item_id) {
                let server: Option<String> = sqlx::query_scalar("SELECT server FROM items WHERE id = ?")
                    .bind(item_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(server) = server {
                    let server: ItemRecord = serde_json::from_str(&server)?;
                    let view = view::rebase(&server, &ops);
                    write_item(&mut tx, &server, Some(&view), ops.len()).await?;
                    out.ids.push(id);
                }
            } else {
                sqlx::query("UPDATE items SET pending_ops = ? WHERE id = ?")
                    .bind(ops.len() as i64)
                    .bind(item_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    pub async fn pending_count(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }

    pub async fn rejections(&self) -> Result<Vec<RejectionNotice>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            mutation_id: String,
            item_id: String,
            item_number: String,
            op_type: String,
            code: String,
            message: String,
            at: String,
        }
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT mutation_id, item_id, item_number, op_type, code, message, at FROM rejections \
             WHERE dismissed = 0 ORDER BY at, mutation_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(RejectionNotice {
                    mutation_id: parse_uuid(&r.mutation_id)?,
                    item_id: parse_uuid(&r.item_id)?,
                    item_number: r.item_number,
                    op_type: r.op_type,
                    code: r.code,
                    message: r.message,
                    at: parse_time(&r.at)?,
                })
            })
            .collect()
    }

    pub async fn dismiss_rejection(&self, mutation_id: Uuid) -> Result<()> {
        let _w = self.write.lock().await;
        sqlx::query("UPDATE rejections SET dismissed = 1 WHERE mutation_id = ?")
            .bind(mutation_id.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    // ---------------------------------------------------------------- reads

    pub async fn item(&self, id: Uuid) -> Result<Option<ItemView>> {
        let row: Option<(String, i64)> =
            sqlx::query_as("SELECT COALESCE(view, server), pending_ops FROM items WHERE id = ?")
                .bind(id.to_string())
                .fetch_optional(&self.pool)
                .await?;
        row.map(|(json, n)| to_view(&json, n)).transpose()
    }

    /// The confirmed server record of an item, without local ops.
    pub async fn server_item(&self, id: Uuid) -> Result<Option<ItemRecord>> {
        let row: Option<String> = sqlx::query_scalar("SELECT server FROM items WHERE id = ?")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|json| serde_json::from_str(&json)).transpose()?)
    }

    /// A queue, as of `now` (server time), for `me`: at most `q.limit` items ordered by
    /// deadline (none last), then arrival, then cache row.
    ///
    /// Two reads in one snapshot: the ids in queue order, from indexes whose order is the
    /// queue order (see migration 0002), then those rows' JSON.
    pub async fn queue(
        &self,
        q: &QueueQuery,
        me: Option<&UserInfo>,
        now: DateTime<Utc>,
    ) -> Result<Vec<ItemView>> {
        let Some(plan) = QueuePlan::new(q, me, now) else {
            return Ok(Vec::new());
        };
        let mut tx = self.pool.begin().await?;
        let search = plan.search_mode(&mut tx).await?;
        let mut b = QueryBuilder::new("");
        plan.push_ids(&mut b, &search);
        let ids: Vec<(i64, i64, i64)> = b.build_query_as().fetch_all(&mut *tx).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(
            "SELECT rowid, COALESCE(view, server), pending_ops FROM items WHERE rowid IN (",
        );
        let mut sep = b.separated(", ");
        for (rowid, _, _) in &ids {
            sep.push_bind(*rowid);
        }
        b.push(")");
        let rows: Vec<(i64, String, i64)> = b.build_query_as().fetch_all(&mut *tx).await?;
        tx.rollback().await?;
        let mut by_id: std::collections::HashMap<i64, (String, i64)> =
            rows.into_iter().map(|(id, json, n)| (id, (json, n))).collect();
        ids.iter()
            .filter_map(|(rowid, _, _)| by_id.remove(rowid))
            .map(|(json, n)| to_view(&json, n))
            .collect()
    }

    /// `EXPLAIN QUERY PLAN` of the id query [`Store::queue`] would run (tests and tuning).
    #[doc(hidden)]
    pub async fn queue_query_plan(
        &self,
        q: &QueueQuery,
        me: Option<&UserInfo>,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>> {
        let Some(plan) = QueuePlan::new(q, me, now) else {
            return Ok(Vec::new());
        };
        let mut conn = self.pool.acquire().await?;
        let search = plan.search_mode(&mut conn).await?;
        let mut b = QueryBuilder::new("EXPLAIN QUERY PLAN ");
        plan.push_ids(&mut b, &search);
        let rows: Vec<(i64, i64, i64, String)> = b.build_query_as().fetch_all(&mut *conn).await?;
        Ok(rows.into_iter().map(|r| r.3).collect())
    }

    pub async fn matters(&self) -> Result<Vec<Matter>> {
        self.catalogue("SELECT data FROM matters ORDER BY id").await
    }

    pub async fn units(&self) -> Result<Vec<Unit>> {
        self.catalogue("SELECT data FROM units ORDER BY id").await
    }

    pub async fn sites(&self) -> Result<Vec<Site>> {
        self.catalogue("SELECT data FROM sites ORDER BY id").await
    }

    pub async fn colleagues(&self) -> Result<Vec<Colleague>> {
        self.catalogue("SELECT data FROM colleagues ORDER BY id").await
    }

    pub async fn calendar(&self) -> Result<Option<shimin_protocol::CalendarWire>> {
        Ok(self
            .meta("calendar")
            .await?
            .map(|v| serde_json::from_str(&v))
            .transpose()?)
    }

    async fn catalogue<T: serde::de::DeserializeOwned>(&self, sql: &'static str) -> Result<Vec<T>> {
        let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(&self.pool).await?;
        rows.iter().map(|r| Ok(serde_json::from_str(r)?)).collect()
    }

    pub async fn item_count(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM items")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as u64)
    }
}

/// Search candidates (trigram hits plus the items of matching matters) above which a search
/// walks the view's index (stopping at the page size) instead of sorting all its candidates.
const SEARCH_CANDIDATES_MAX: i64 = 5_000;

/// One indexed condition of a queue view.
#[derive(Debug, Clone)]
enum ViewEq {
    Handler(i64),
    Agent(i64),
    Unit(i64),
    Kind(String),
}

/// How a queue query narrows by its search text.
#[derive(Debug)]
enum SearchMode {
    None,
    /// Check the exact predicate on each row while walking the view's index in queue order
    /// (short texts, which the trigram index cannot serve, and very common ones).
    Scan(String),
    /// Sort the trigram index's candidates (and the matching matters' items) that pass the
    /// view and the exact predicate: (exact text, FTS5 query; None = no trigram can match).
    Candidates(String, Option<String>),
}

/// Trigrams a one- or two-character search may OR together before it walks the view instead.
const SHORT_SEARCH_TERMS_MAX: usize = 400;

/// A queue query, decomposed into index-served parts.
#[derive(Debug)]
struct QueuePlan {
    /// OR-ed conditions, each served by its own index; empty = every item.
    eqs: Vec<ViewEq>,
    open_only: bool,
    /// `due_sort >= from`.
    due_from: Option<i64>,
    /// `due_sort <= until`.
    due_until: Option<i64>,
    /// `due_sort < before`.
    due_before: Option<i64>,
    search: Option<String>,
    limit: i64,
}

/// The exact search text as an FTS5 phrase (substring for the trigram tokenizer).
fn fts_phrase(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl QueuePlan {
    /// None: the view is empty for this user (no user, or no unit).
    fn new(q: &QueueQuery, me: Option<&UserInfo>, now: DateTime<Utc>) -> Option<QueuePlan> {
        let mut plan = QueuePlan {
            eqs: Vec::new(),
            open_only: !q.include_closed,
            due_from: None,
            due_until: None,
            due_before: None,
            search: q
                .search
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            limit: i64::from(q.limit),
        };
        match &q.view {
            QueueView::Mine => {
                let me = me?;
                plan.eqs = vec![ViewEq::Handler(me.id), ViewEq::Agent(me.id)];
            }
            QueueView::Unit => plan.eqs = vec![ViewEq::Unit(me.and_then(|m| m.unit_id)?)],
            QueueView::Kind(kind) => plan.eqs = vec![ViewEq::Kind(kind.clone())],
            QueueView::DueSoon(within) => {
                let until = now + chrono::Duration::from_std(*within).unwrap_or(chrono::Duration::days(3650));
                plan.due_from = Some(ms(now));
                plan.due_until = Some(ms(until));
                plan.open_only = true;
            }
            QueueView::Overdue => {
                plan.due_before = Some(ms(now));
                plan.open_only = true;
            }
            QueueView::All => {}
        }
        Some(plan)
    }

    async fn search_mode(&self, conn: &mut sqlx::SqliteConnection) -> Result<SearchMode> {
        let Some(s) = &self.search else {
            return Ok(SearchMode::None);
        };
        let fts = if s.chars().count() >= 3 {
            Some(fts_phrase(s))
        } else {
            // Every indexed trigram that starts with the text (values are padded, see
            // migration 0002); the index stores them case-folded.
            let prefix = s.to_lowercase();
            let terms: Vec<(String, i64)> = sqlx::query_as(
                "SELECT term, doc FROM items_fts_terms WHERE term >= ?1 AND term < ?2 LIMIT ?3",
            )
            .bind(&prefix)
            .bind(format!("{prefix}\u{10FFFF}"))
            .bind(SHORT_SEARCH_TERMS_MAX as i64 + 1)
            .fetch_all(&mut *conn)
            .await?;
            let docs: i64 = terms.iter().map(|t| t.1).sum();
            if terms.len() > SHORT_SEARCH_TERMS_MAX || docs > SEARCH_CANDIDATES_MAX {
                return Ok(SearchMode::Scan(s.clone()));
            }
            (!terms.is_empty()).then(|| {
                terms
                    .iter()
                    .map(|(t, _)| fts_phrase(t))
                    .collect::<Vec<_>>()
                    .join(" OR ")
            })
        };
        let mut b = QueryBuilder::new("SELECT count(*) FROM (SELECT c FROM ");
        push_candidates(&mut b, s, fts.as_deref(), " UNION ALL ");
        b.push(" LIMIT ").push_bind(SEARCH_CANDIDATES_MAX + 1).push(")");
        let n: i64 = b.build_query_scalar().fetch_one(&mut *conn).await?;
        Ok(if n > SEARCH_CANDIDATES_MAX {
            SearchMode::Scan(s.clone())
        } else {
            SearchMode::Candidates(s.clone(), fts)
        })
    }

    /// The query of (rowid, due_sort, received_at) in queue order, at most `limit` rows.
    fn push_ids<'a>(&'a self, b: &mut QueryBuilder<'a, Sqlite>, search: &'a SearchMode) {
        match search {
            SearchMode::Candidates(s, fts) => {
                b.push("SELECT i.rowid AS rid, i.due_sort AS ds, i.received_at AS ra FROM ");
                push_candidates(b, s, fts.as_deref(), " UNION ");
                b.push(" AS cand CROSS JOIN items i ON i.rowid = cand.c WHERE 1 = 1");
                if !self.eqs.is_empty() {
                    b.push(" AND (");
                    for (n, eq) in self.eqs.iter().enumerate() {
                        if n > 0 {
                            b.push(" OR ");
                        }
                        push_eq(b, "i.", eq);
                    }
                    b.push(")");
                }
                if self.open_only {
                    b.push(" AND i.closed = 0");
                }
                self.push_due(b, "i.");
                push_search(b, "i.", s);
            }
            SearchMode::None | SearchMode::Scan(_) => {
                // One arm per (indexed condition, closed value); each reads its index in queue
                // order and SQLite merges the arms (a compound SELECT's ORDER BY), stopping at
                // the limit. "Mine" is two conditions: UNION drops an item matching both.
                let closed: &[i64] = if self.open_only { &[0] } else { &[0, 1] };
                let eqs: Vec<Option<&ViewEq>> = if self.eqs.is_empty() {
                    vec![None]
                } else {
                    self.eqs.iter().map(Some).collect()
                };
                let glue = if eqs.len() > 1 { " UNION " } else { " UNION ALL " };
                let mut first = true;
                for eq in &eqs {
                    for c in closed {
                        if !first {
                            b.push(glue);
                        }
                        first = false;
                        b.push("SELECT rowid AS rid, due_sort AS ds, received_at AS ra FROM items WHERE ");
                        if let Some(eq) = eq {
                            push_eq(b, "", eq);
                            b.push(" AND ");
                        }
                        b.push(format_args!("closed = {c}"));
                        self.push_due(b, "");
                        if let SearchMode::Scan(s) = search {
                            push_search(b, "", s);
                        }
                    }
                }
            }
        }
        b.push(" ORDER BY ds, ra, rid LIMIT ").push_bind(self.limit);
    }

    fn push_due(&self, b: &mut QueryBuilder<'_, Sqlite>, p: &str) {
        if let Some(v) = self.due_from {
            b.push(format_args!(" AND {p}due_sort >= ")).push_bind(v);
        }
        if let Some(v) = self.due_until {
            b.push(format_args!(" AND {p}due_sort <= ")).push_bind(v);
        }
        if let Some(v) = self.due_before {
            b.push(format_args!(" AND {p}due_sort < ")).push_bind(v);
        }
    }
}

/// `(SELECT c …)`: the rows the trigram query finds, and the items of the matters whose name
/// contains the text.
fn push_candidates<'a>(b: &mut QueryBuilder<'a, Sqlite>, s: &'a str, fts: Option<&'a str>, glue: &str) {
    b.push("(");
    if let Some(fts) = fts {
        b.push("SELECT rowid AS c FROM items_fts WHERE items_fts MATCH ")
            .push_bind(fts)
            .push(glue);
    }
    b.push("SELECT rowid AS c FROM items WHERE matter_id IN (SELECT id FROM matters WHERE instr(name, ")
        .push_bind(s)
        .push(") > 0))");
}

fn push_eq<'a>(b: &mut QueryBuilder<'a, Sqlite>, p: &str, eq: &'a ViewEq) {
    match eq {
        ViewEq::Handler(id) => b.push(format_args!("{p}handler_id = ")).push_bind(*id),
        ViewEq::Agent(id) => b.push(format_args!("{p}agent_id = ")).push_bind(*id),
        ViewEq::Unit(id) => b.push(format_args!("{p}unit_id = ")).push_bind(*id),
        ViewEq::Kind(kind) => b.push(format_args!("{p}kind = ")).push_bind(kind.as_str()),
    };
}

/// The search predicate itself: applicant name, title or matter name contain the text, or the
/// item number does, ignoring ASCII case.
fn push_search<'a>(b: &mut QueryBuilder<'a, Sqlite>, p: &str, s: &'a str) {
    b.push(format_args!(" AND (instr({p}applicant_name, "))
        .push_bind(s)
        .push(format_args!(") > 0 OR instr(upper({p}number), upper("))
        .push_bind(s)
        .push(format_args!(")) > 0 OR instr({p}title, "))
        .push_bind(s)
        .push(format_args!(
            ") > 0 OR {p}matter_id IN (SELECT id FROM matters WHERE instr(name, "
        ))
        .push_bind(s)
        .push(") > 0))");
}

fn to_view(json: &str, pending_ops: i64) -> Result<ItemView> {
    Ok(ItemView {
        record: serde_json::from_str(json)?,
        pending: pending_ops > 0,
        pending_ops: pending_ops as u32,
    })
}

fn parse_uuid(s: &str) -> Result<Uuid> {
    Uuid::from_str(s).map_err(|e| Error::Protocol(e.to_string()))
}

fn parse_time(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::Protocol(e.to_string()))
}

async fn get_meta(conn: &mut sqlx::SqliteConnection, key: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
        .bind(key)
        .fetch_optional(conn)
        .await?)
}

async fn set_meta(conn: &mut sqlx::SqliteConnection, key: &str, value: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(conn)
    .await?;
    Ok(())
}

async fn item_exists(tx: &mut Transaction<'_, Sqlite>, id: Uuid) -> Result<bool> {
    Ok(sqlx::query_scalar::<_, i64>("SELECT 1 FROM items WHERE id = ?")
        .bind(id.to_string())
        .fetch_optional(&mut **tx)
        .await?
        .is_some())
}

#[derive(sqlx::FromRow)]
struct OutboxRow {
    seq: i64,
    op: String,
    acted_at: String,
    actor_id: i64,
    actor_role: String,
    actor_unit: Option<i64>,
    actor_name: String,
}

/// The item's ops still in the outbox, in order.
async fn pending_ops(tx: &mut Transaction<'_, Sqlite>, id: Uuid) -> Result<Vec<PendingOp>> {
    let rows: Vec<OutboxRow> = sqlx::query_as(
        "SELECT seq, op, acted_at, actor_id, actor_role, actor_unit, actor_name FROM outbox \
         WHERE item_id = ? ORDER BY seq",
    )
    .bind(id.to_string())
    .fetch_all(&mut **tx)
    .await?;
    rows.into_iter()
        .map(|r| {
            Ok(PendingOp {
                seq: r.seq,
                op: serde_json::from_str(&r.op)?,
                acted_at: parse_time(&r.acted_at)?,
                actor: OpActor {
                    user_id: r.actor_id,
                    role: Role::from_code(&r.actor_role).ok_or(Error::UnknownRole(r.actor_role))?,
                    unit_id: r.actor_unit,
                    name: r.actor_name,
                },
            })
        })
        .collect()
}

const ITEM_COLUMNS: &str =
    "INSERT INTO items (id, number, kind, status, closed, unit_id, matter_id, agent_id, \
     handler_id, applicant_name, title, received_at, due_at, due_sort, version, pending_ops, server, view) ";
const ITEM_UPSERT: &str = " ON CONFLICT(id) DO UPDATE SET number = excluded.number, kind = excluded.kind, \
     status = excluded.status, closed = excluded.closed, unit_id = excluded.unit_id, \
     matter_id = excluded.matter_id, agent_id = excluded.agent_id, handler_id = excluded.handler_id, \
     applicant_name = excluded.applicant_name, title = excluded.title, received_at = excluded.received_at, \
     due_at = excluded.due_at, due_sort = excluded.due_sort, version = excluded.version, pending_ops = excluded.pending_ops, \
     server = excluded.server, view = excluded.view";

/// Writes one item row: `server` confirmed record, `view` (None = same as server).
async fn write_item(
    tx: &mut Transaction<'_, Sqlite>,
    server: &ItemRecord,
    view: Option<&ItemRecord>,
    pending_ops: usize,
) -> Result<()> {
    let server_json = serde_json::to_string(server)?;
    let view_json = view.map(serde_json::to_string).transpose()?;
    let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(ITEM_COLUMNS);
    let row = ItemRow::new(server, view, pending_ops, server_json, view_json);
    b.push_values(std::iter::once(row), ItemRow::bind);
    b.push(ITEM_UPSERT);
    b.build().execute(&mut **tx).await?;
    Ok(())
}

/// Inserts the batched plain items (no pending ops) with multi-row upserts.
async fn flush_items(
    tx: &mut Transaction<'_, Sqlite>,
    batch: &mut Vec<&ItemRecord>,
    bootstrapped: bool,
    out: &mut PullApplied,
) -> Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    if bootstrapped {
        let mut b: QueryBuilder<Sqlite> = QueryBuilder::new("SELECT id FROM items WHERE id IN (");
        let mut sep = b.separated(", ");
        for rec in batch.iter() {
            sep.push_bind(rec.id.to_string());
        }
        b.push(")");
        let existing: HashSet<String> = b
            .build_query_scalar::<String>()
            .fetch_all(&mut **tx)
            .await?
            .into_iter()
            .collect();
        out.new_items.extend(
            batch
                .iter()
                .filter(|r| !existing.contains(&r.id.to_string()))
                .map(|r| r.id),
        );
    }
    let mut rows = Vec::with_capacity(batch.len());
    for rec in batch.iter() {
        out.ids.push(rec.id);
        rows.push(ItemRow::new(rec, None, 0, serde_json::to_string(rec)?, None));
    }
    let mut b: QueryBuilder<Sqlite> = QueryBuilder::new(ITEM_COLUMNS);
    b.push_values(rows, ItemRow::bind);
    b.push(ITEM_UPSERT);
    b.build().execute(&mut **tx).await?;
    batch.clear();
    Ok(())
}

/// Column values of one item row; the plain columns describe the view.
struct ItemRow {
    id: String,
    number: String,
    kind: &'static str,
    status: &'static str,
    closed: bool,
    unit_id: i64,
    matter_id: Option<i64>,
    agent_id: Option<i64>,
    handler_id: Option<i64>,
    applicant_name: String,
    title: String,
    received_at: i64,
    due_at: Option<i64>,
    /// `due_at`, or the largest integer without a deadline: the queue order's first key.
    due_sort: i64,
    version: i64,
    pending_ops: i64,
    server: String,
    view: Option<String>,
}

impl ItemRow {
    fn new(
        server: &ItemRecord,
        view: Option<&ItemRecord>,
        pending_ops: usize,
        server_json: String,
        view_json: Option<String>,
    ) -> ItemRow {
        let v = view.unwrap_or(server);
        ItemRow {
            id: v.id.to_string(),
            number: v.number.clone(),
            kind: v.kind.code(),
            status: v.status.code(),
            closed: view::is_closed(v),
            unit_id: v.unit_id,
            matter_id: v.matter_id,
            agent_id: v.agent_id,
            handler_id: v.handler_id,
            applicant_name: v.applicant.name.clone(),
            title: v.title.clone(),
            received_at: ms(v.received_at),
            due_at: v.due_at.map(ms),
            due_sort: v.due_at.map_or(i64::MAX, ms),
            version: server.version,
            pending_ops: pending_ops as i64,
            server: server_json,
            view: view_json,
        }
    }

    fn bind(mut b: sqlx::query_builder::Separated<'_, '_, Sqlite, &'static str>, r: ItemRow) {
        b.push_bind(r.id)
            .push_bind(r.number)
            .push_bind(r.kind)
            .push_bind(r.status)
            .push_bind(r.closed)
            .push_bind(r.unit_id)
            .push_bind(r.matter_id)
            .push_bind(r.agent_id)
            .push_bind(r.handler_id)
            .push_bind(r.applicant_name)
            .push_bind(r.title)
            .push_bind(r.received_at)
            .push_bind(r.due_at)
            .push_bind(r.due_sort)
            .push_bind(r.version)
            .push_bind(r.pending_ops)
            .push_bind(r.server)
            .push_bind(r.view);
    }
}
