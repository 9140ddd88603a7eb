//! The storage layer: the only place in the server with SQL.
//!
//! Handlers and services speak in domain terms ([`Reads`], [`Writes`]) and never see a
//! connection type. Two backends implement them, each with its own migrations and its own SQL
//! where the dialects differ:
//! - [`sqlite`]: the embedded default, one file `<data-dir>/shimin.db` (WAL);
//! - [`postgres`]: for a city that outgrows one box, several server instances on one database.
//!
//! A [`Store`] hands out three kinds of access:
//! - [`Store::reader`]: single reads, no transaction (a session look-up);
//! - [`Store::snapshot`]: several reads that must see one consistent state (a pull page);
//! - [`Store::write`]: a write transaction. The [`Writer`] is the only way to one: on SQLite it
//!   is the single writer connection (`BEGIN IMMEDIATE`), so the rule "all writes through one
//!   writer" is a type, not a convention.
//!
//! Architecture invariant (the change cursor): every change a desk must learn about takes the
//! next value of the change sequence ([`Writes::next_seq`]) inside its write transaction, and on
//! both backends transactions holding change numbers commit in number order:
//! - SQLite serialises writers (one writer connection);
//! - PostgreSQL: the number is taken by updating the one counter row, whose row lock is held
//!   until commit, so the next writer's `next_seq` waits until the previous holder has
//!   committed (and become visible). A pull therefore never sees number N+1 without N, and a
//!   cursor can never skip a change committed late. Locks are always taken in the order
//!   client row → user rows → item rows (sorted, [`Writes::lock_items`]) → counter → audit head,
//!   so writers never deadlock; a deadlock or serialization failure anyway is retried
//!   ([`Error::is_retryable`]).
//!
//! Architecture invariant (the audit trail, R-AUD): audit entries are buffered by
//! [`Writes::audit`] and appended when the transaction commits, each carrying the SHA-256 of
//! its predecessor (a hash chain), so a changed, removed or inserted entry breaks the chain
//! ([`crate::audit::verify`]); the database also refuses UPDATE and DELETE of entries.
//!
//! Committed changes are announced with [`Writes::announce`]: after the commit, to this
//! instance's poke streams, and on PostgreSQL through `NOTIFY` to every other instance's.

pub mod dump;
pub mod model;
pub mod postgres;
pub mod sqlite;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shimin_domain::role::Scope;
use shimin_protocol::ItemEvent;
use tokio::sync::broadcast;
use uuid::Uuid;

pub use model::*;

use crate::{Committed, Error, Result};

/// Which database a server uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// `<data-dir>/shimin.db`.
    Sqlite(PathBuf),
    /// A `postgres://` URL.
    Postgres(String),
}

impl Database {
    /// From `--database`: a `postgres://` / `postgresql://` URL, `sqlite://PATH` (a data
    /// directory) or nothing (the data directory's SQLite file).
    pub fn parse(url: Option<&str>, data_dir: &Path) -> Result<Database> {
        match url {
            None => Ok(Database::Sqlite(data_dir.to_path_buf())),
            Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => {
                Ok(Database::Postgres(u.to_owned()))
            }
            Some(u) if u.starts_with("sqlite://") => {
                Ok(Database::Sqlite(PathBuf::from(&u["sqlite://".len()..])))
            }
            Some(u) => Err(Error::Config(format!(
                "数据库地址须以 postgres:// 或 sqlite:// 开头：{}",
                redact_url(u)
            ))),
        }
    }

    /// For logs and messages: a URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Database::Sqlite(dir) => format!("sqlite:{}", dir.join("shimin.db").display()),
            Database::Postgres(url) => redact_url(url),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Database::Sqlite(_) => Backend::Sqlite,
            Database::Postgres(_) => Backend::Postgres,
        }
    }
}

/// A URL with its password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme + 3], &creds[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The backend kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Single reads, snapshots and write transactions share these reads.
#[async_trait]
pub trait Reads: Send {
    // --- items ---------------------------------------------------------------------------
    async fn item(&mut self, id: Uuid) -> Result<Option<StoredItem>>;
    async fn item_by_number(&mut self, number: &str) -> Result<Option<StoredItem>>;
    /// The histories of many items in one query, oldest first per item.
    async fn events(&mut self, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<ItemEvent>>>;
    /// Items of `scope` changed after `cursor`, oldest change first, at most `limit`.
    async fn changed_items(&mut self, scope: Scope, cursor: i64, limit: i64) -> Result<Vec<StoredItem>>;
    /// Items that left `scope` after `cursor` (transfers), oldest first.
    async fn removals(&mut self, scope: Scope, cursor: i64, limit: i64) -> Result<Vec<Removal>>;
    /// Open items (status not closed): a calendar update recomputes their deadlines.
    async fn open_items(&mut self) -> Result<Vec<StoredItem>>;
    /// Items whose next warning or overdue point has come by `now`, soonest first.
    async fn items_due_for_alerts(&mut self, now: DateTime<Utc>, limit: i64) -> Result<Vec<Uuid>>;
    /// The alert points recorded for one clock of an item.
    async fn recorded_alerts(&mut self, item: Uuid, clock_key: &str) -> Result<HashSet<String>>;
    /// Supervision cases of an item (clock code, due).
    async fn supervision_cases(&mut self, item: Uuid) -> Result<Vec<(String, DateTime<Utc>)>>;
    /// One supervision case (督办).
    async fn case(&mut self, id: i64) -> Result<Option<CaseRow>>;
    /// Supervision cases, newest first, at most `limit`.
    async fn cases(&mut self, filter: CaseFilter, limit: i64) -> Result<Vec<CaseRow>>;
    /// Whether an appeal against the rating of evaluation `item` was upheld (申诉成立).
    async fn appeal_upheld(&mut self, item: Uuid) -> Result<bool>;
    /// The steps of many cases, oldest first per case.
    async fn case_steps(&mut self, ids: &[i64]) -> Result<HashMap<i64, Vec<CaseStepRow>>>;

    // --- directory and catalogue ----------------------------------------------------------
    async fn latest(&mut self) -> Result<Latest>;
    async fn changed_sites(&mut self, cursor: i64, limit: i64) -> Result<Vec<SiteRow>>;
    async fn changed_units(&mut self, cursor: i64, limit: i64) -> Result<Vec<UnitRow>>;
    async fn changed_matters(&mut self, cursor: i64, limit: i64) -> Result<Vec<MatterRow>>;
    /// Office users (no portal account) changed after `cursor`; of one unit, or all.
    async fn changed_colleagues(
        &mut self,
        cursor: i64,
        unit: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ColleagueRow>>;
    async fn calendar(&mut self) -> Result<Option<StoredCalendar>>;
    async fn matter(&mut self, id: i64) -> Result<Option<MatterRow>>;
    async fn matters(&mut self) -> Result<Vec<MatterRow>>;
    async fn unit_exists(&mut self, id: i64) -> Result<bool>;
    /// A unit by id (digits) or exact name.
    async fn find_unit(&mut self, id_or_name: &str) -> Result<Option<i64>>;
    /// The name of the site of a user's unit (where a window works).
    async fn site_of_user(&mut self, user_id: i64) -> Result<Option<String>>;
    async fn user_id(&mut self, username: &str) -> Result<Option<i64>>;

    // --- accounts and sessions ------------------------------------------------------------
    async fn login_user(&mut self, username: &str) -> Result<Option<LoginUser>>;
    async fn session(&mut self, token_hash: &str) -> Result<Option<SessionFacts>>;
    async fn password_hash(&mut self, user_id: i64) -> Result<Option<String>>;
    /// A login throttle key's state: (consecutive failures, blocked until).
    async fn throttle(&mut self, key: &str) -> Result<Option<(u32, Option<DateTime<Utc>>)>>;

    // --- push bookkeeping -----------------------------------------------------------------
    async fn client(&mut self, client_id: &str) -> Result<Option<ClientState>>;
    async fn stored_result(&mut self, client_id: &str, seq: i64) -> Result<Option<StoredResult>>;
    /// The result of a mutation id already decided for this client (under any sequence
    /// number): a mutation is applied once, whatever number it is sent under again.
    async fn result_of_mutation(
        &mut self,
        client_id: &str,
        mutation_id: Uuid,
    ) -> Result<Option<StoredResult>>;

    // --- blobs ----------------------------------------------------------------------------
    async fn upload(&mut self, user_id: i64, hash: &str) -> Result<Option<UploadRow>>;
    async fn blob_mime(&mut self, hash: &str) -> Result<Option<String>>;
    /// Whether an item of `scope` refers to the blob.
    async fn blob_in_scope(&mut self, hash: &str, scope: Scope) -> Result<bool>;
    /// The virus check of a blob (`None`: stored while no scanner was configured).
    async fn blob_scan(&mut self, hash: &str) -> Result<Option<ScanRow>>;
    /// Blobs whose virus check is still to be done, oldest first.
    async fn pending_scans(&mut self, limit: u32) -> Result<Vec<String>>;

    // --- counter events (窗口叫号) ------------------------------------------------------------
    /// The ticket events of a local day in `scope`, each with its clerk's display name, by
    /// ticket (client, number) and then time.
    async fn ticket_events(
        &mut self,
        day: chrono::NaiveDate,
        scope: FigureScope,
    ) -> Result<Vec<(TicketEventRow, String)>>;
    /// The latest calls (叫号, 重呼) of a local day at the site of `unit`, newest first.
    async fn hall_calls(
        &mut self,
        day: chrono::NaiveDate,
        unit: i64,
        limit: i64,
    ) -> Result<Vec<TicketEventRow>>;
    /// The transfers (转窗) of a local day to window `window` at the site of `unit`, oldest first.
    async fn transfers_to(
        &mut self,
        day: chrono::NaiveDate,
        unit: i64,
        window: i32,
    ) -> Result<Vec<TicketEventRow>>;

    // --- statistics (R-STAT) -----------------------------------------------------------------
    /// The clocks started on the local days `from..=to` in `scope` (a person's: the clocks
    /// they met or hold), grouped by unit, person and dimension, judged at `now`.
    async fn stat_clocks(
        &mut self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        scope: FigureScope,
        now: DateTime<Utc>,
    ) -> Result<Vec<StatClockGroup>>;
    /// The ratings given on the local days `from..=to` in `scope`, grouped by unit, person,
    /// level and exclusion.
    async fn stat_ratings(
        &mut self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        scope: FigureScope,
    ) -> Result<Vec<StatRatingGroup>>;
    /// Whether the projection holds any clock row (none while it was never built); checked at
    /// every start, so it stops at the first row instead of counting them all.
    async fn has_stat_clocks(&mut self) -> Result<bool>;

    // --- change sequence, meta --------------------------------------------------------------
    /// The newest committed change sequence number.
    async fn current_seq(&mut self) -> Result<i64>;
    async fn meta(&mut self, key: &str) -> Result<Option<String>>;
}

/// A write transaction: reads plus writes, committed (or dropped: rolled back) as one.
#[async_trait]
pub trait Writes: Reads {
    /// Takes the next change sequence number. Commit order equals number order (see the module
    /// documentation): take it as late as the transaction allows.
    async fn next_seq(&mut self) -> Result<i64>;
    /// Locks items for update (PostgreSQL: `FOR UPDATE`, in id order); no-op on SQLite.
    async fn lock_items(&mut self, ids: &[Uuid]) -> Result<()>;

    // --- items ---------------------------------------------------------------------------
    /// Stores a new item with its history under a new number and change sequence number.
    /// Returns (number, seq).
    async fn insert_item(&mut self, item: &NewItem, history: &[ItemEvent]) -> Result<(String, i64)>;
    /// Stores many new items at once (multi-row statements), each under its own number and
    /// change sequence number, in the order given; returns (number, seq) of each.
    async fn insert_items(&mut self, items: &[BulkItem]) -> Result<Vec<(String, i64)>>;
    /// Applies a decided change under `seq`.
    async fn update_item(&mut self, id: Uuid, change: &ItemChange, seq: i64) -> Result<()>;
    /// A new version without another change (the sweep's warnings, a rescheduled deadline).
    async fn set_item_version(&mut self, id: Uuid, seq: i64) -> Result<()>;
    /// Marks an item overdue and under supervision (never cleared).
    async fn mark_overdue(&mut self, id: Uuid) -> Result<()>;
    async fn append_event(&mut self, id: Uuid, event: &ItemEvent, seq: i64) -> Result<()>;
    async fn set_schedule(&mut self, id: Uuid, schedule: Schedule) -> Result<()>;
    async fn set_next_alert(&mut self, id: Uuid, at: Option<DateTime<Utc>>) -> Result<()>;
    /// The item left `unit` (its desks drop it).
    async fn add_removal(&mut self, id: Uuid, unit: i64, seq: i64) -> Result<()>;
    async fn link_attachment(&mut self, id: Uuid, hash: &str) -> Result<()>;
    /// Records an alert point once; false when it was recorded already.
    async fn record_alert(
        &mut self,
        id: Uuid,
        clock_key: &str,
        point: &str,
        at: DateTime<Utc>,
    ) -> Result<bool>;
    /// Opens a case once per (item, clock, clock start); its id, or `None` when it existed.
    async fn open_supervision_case(&mut self, case: &NewSupervisionCase<'_>) -> Result<Option<i64>>;
    /// Moves a case to `stage` from `since` (`status` becomes `closed` with the stage).
    async fn set_case_stage(
        &mut self,
        id: i64,
        stage: shimin_domain::supervision::CaseStage,
        since: DateTime<Utc>,
    ) -> Result<()>;
    async fn append_case_step(&mut self, step: &CaseStepRow) -> Result<()>;
    /// Marks an item as under supervision (督办), as a missed deadline does.
    async fn mark_supervised(&mut self, id: Uuid) -> Result<()>;
    /// Records a reveal once (by its id); false when it was recorded already.
    async fn record_reveal(&mut self, reveal: &RevealRow) -> Result<bool>;
    /// Records a counter event once (by its id); false when it was recorded already.
    async fn record_ticket_event(&mut self, event: &TicketEventRow) -> Result<bool>;
    /// Replaces an item's statistics rows by `rows`; with `keep_met`, rows of clocks already
    /// met stay as they are (a calendar update does not rejudge the past) and only the others
    /// are replaced.
    async fn put_stat_clocks(&mut self, item_id: Uuid, rows: &[StatClockRow], keep_met: bool) -> Result<()>;
    /// Stores (or replaces) the statistics row of a rating.
    async fn put_stat_rating(&mut self, row: &StatRatingRow) -> Result<()>;

    // --- directory, catalogue, calendar -----------------------------------------------------
    async fn add_site(&mut self, name: &str, seq: i64) -> Result<i64>;
    async fn add_unit(
        &mut self,
        name: &str,
        kind: shimin_domain::role::UnitKind,
        site_id: i64,
        seq: i64,
    ) -> Result<i64>;
    async fn add_matter(&mut self, m: &NewMatter, seq: i64) -> Result<i64>;
    async fn add_user(&mut self, u: &NewUser<'_>, seq: i64) -> Result<i64>;
    async fn set_presence(
        &mut self,
        user_id: i64,
        presence: shimin_domain::ladder::Presence,
        seq: i64,
    ) -> Result<()>;
    async fn store_calendar(&mut self, wire: &shimin_protocol::CalendarWire, seq: i64) -> Result<()>;
    async fn set_meta(&mut self, key: &str, value: &str) -> Result<()>;

    // --- accounts and sessions --------------------------------------------------------------
    /// One more failed login; returns the count of consecutive failures.
    async fn note_failed_login(&mut self, user_id: i64) -> Result<i64>;
    /// Locks the account until `until` and restarts the failure count.
    async fn lock_user(&mut self, user_id: i64, until: DateTime<Utc>) -> Result<()>;
    async fn clear_failed_logins(&mut self, user_id: i64) -> Result<()>;
    async fn create_session(&mut self, s: &NewSession<'_>) -> Result<()>;
    async fn touch_session(&mut self, token_hash: &str, at: DateTime<Utc>) -> Result<()>;
    async fn revoke_session(&mut self, token_hash: &str) -> Result<()>;
    /// Revokes every session of the user but `keep` (its token hash).
    async fn revoke_other_sessions(&mut self, user_id: i64, keep: &str) -> Result<()>;
    async fn set_password(&mut self, user_id: i64, hash: &str, must_change: bool) -> Result<()>;
    /// One more failure of a throttle key; returns its count of consecutive failures.
    async fn note_throttle_failure(&mut self, key: &str, at: DateTime<Utc>) -> Result<u32>;
    async fn block_throttle(&mut self, key: &str, until: DateTime<Utc>) -> Result<()>;
    /// Forgets throttle keys: one exact key, or every key starting with `prefix`.
    async fn clear_throttle(&mut self, key: &str) -> Result<()>;
    async fn clear_throttles_with_prefix(&mut self, prefix: &str) -> Result<u64>;
    /// Forgets keys untouched since `before`.
    async fn prune_throttles(&mut self, before: DateTime<Utc>) -> Result<u64>;

    // --- push bookkeeping -----------------------------------------------------------------
    /// Registers a client installation for a user if it is new; returns its owner.
    async fn register_client(&mut self, client_id: &str, user_id: i64, at: DateTime<Utc>) -> Result<i64>;
    /// Locks the client's row (one push of a client at a time, across instances); its state.
    async fn lock_client(&mut self, client_id: &str) -> Result<Option<ClientState>>;
    async fn store_result(&mut self, client_id: &str, result: &StoredResult, at: DateTime<Utc>)
        -> Result<()>;
    async fn set_client_seq(&mut self, client_id: &str, seq: i64) -> Result<()>;

    // --- blobs ----------------------------------------------------------------------------
    /// Starts (or restarts from nothing) a user's upload of a blob.
    async fn start_upload(
        &mut self,
        user_id: i64,
        hash: &str,
        size: u64,
        mime: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;
    async fn set_upload_received(&mut self, user_id: i64, hash: &str, received: u64) -> Result<()>;
    /// Records where the virus check of a blob stands.
    async fn set_blob_scan(&mut self, scan: &ScanRow) -> Result<()>;
    /// The blob is held complete and verified; the user's upload of it is complete.
    async fn complete_upload(
        &mut self,
        user_id: i64,
        hash: &str,
        size: u64,
        mime: &str,
        at: DateTime<Utc>,
    ) -> Result<()>;

    // --- audit and commit ---------------------------------------------------------------------
    /// Buffers an audit entry; appended (hash-chained) when the transaction commits.
    fn audit(&mut self, entry: crate::audit::Entry<'_>);
    /// Announces a change to the poke streams once the transaction has committed.
    fn announce(&mut self, committed: Committed);
    /// Appends the buffered audit entries, commits, then announces.
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// A transaction's buffered audit entries and announcements, the same for every backend.
#[derive(Debug, Default)]
pub struct Pending {
    pub audit: Vec<crate::audit::OwnedEntry>,
    pub announce: Vec<Committed>,
}

/// Where committed changes go: this instance's poke streams.
#[derive(Debug, Clone)]
pub struct Announcer {
    pub local: broadcast::Sender<Committed>,
}

impl Announcer {
    pub fn send(&self, committed: impl IntoIterator<Item = Committed>) {
        for c in committed {
            // No receivers is fine.
            let _ = self.local.send(c);
        }
    }
}

/// A boxed read access.
pub type Reader = Box<dyn Reads>;
/// A boxed write transaction.
pub type WriteTx = Box<dyn Writes>;

/// Backend operations that are not reads or writes of one transaction.
#[async_trait]
pub(crate) trait BackendOps: Send + Sync + std::fmt::Debug {
    fn backend(&self) -> Backend;
    async fn reader(&self) -> Result<Reader>;
    async fn snapshot(&self) -> Result<Reader>;
    async fn write(&self) -> Result<WriteTx>;
    /// A lease held while a background sweep runs: only one instance sweeps at a time.
    async fn try_sweep_lease(&self) -> Result<Option<Box<dyn SweepLease>>>;
    /// Settings that make an acknowledged commit durable, as the database reports them.
    async fn durability(&self) -> Result<String>;
    async fn ping(&self) -> Result<()>;
    async fn close(&self);
    /// Streams a table's rows, in key order, in chunks (`migrate`, `verify`).
    async fn export(&self, table: dump::Table, out: tokio::sync::mpsc::Sender<dump::Rows>) -> Result<()>;
    /// Writes rows of an export into this (empty) store.
    async fn import(&self, rows: &dump::Rows) -> Result<()>;
    /// After an import: counters and sequences follow the imported rows.
    async fn finish_import(&self) -> Result<()>;
    /// Whether the store holds any data (an import goes into an empty store only).
    async fn is_empty(&self) -> Result<bool>;
    /// Attempts a change the database must refuse (append-only records), for tests.
    async fn attempt_tamper(&self, what: Tamper) -> Result<()>;
    /// Seals audit entries stored before the hash chain existed.
    async fn seal_audit(&self) -> Result<u64>;
    /// Pokes this instance's streams with other instances' changes (PostgreSQL), until
    /// `shutdown`.
    fn spawn_listener(
        &self,
        _shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        None
    }
}

/// A held sweep lease. Release it explicitly: dropped, PostgreSQL's is only released when its
/// connection is next used (a rollback queued by the driver), so the next tick would find it
/// taken.
#[async_trait]
pub trait SweepLease: Send + std::fmt::Debug {
    async fn release(self: Box<Self>);
}

/// A change the database must refuse (R-AUD): the test seam for the append-only guarantee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    UpdateAuditEntry,
    DeleteAuditEntry,
    UpdateHistoryEntry,
    DeleteHistoryEntry,
    DeleteClockAlert,
}

/// The storage layer of a running server (cheap to clone).
#[derive(Debug, Clone)]
pub struct Store {
    ops: Arc<dyn BackendOps>,
    writer: Writer,
}

/// The only way to a write transaction (the single writer on SQLite).
#[derive(Debug, Clone)]
pub struct Writer {
    ops: Arc<dyn BackendOps>,
}

impl Writer {
    pub async fn begin(&self) -> Result<WriteTx> {
        self.ops.write().await
    }
}

/// Options of [`Store::open`].
#[derive(Debug, Clone)]
pub struct OpenOptions {
    pub database: Database,
    /// This instance's name in `NOTIFY` payloads (PostgreSQL), so it ignores its own.
    pub instance: Uuid,
    /// Create the database schema (migrate) if needed. Admin commands that must not change
    /// an existing database's schema version still migrate: migrations only add.
    pub migrate: bool,
}

impl Store {
    /// Opens (and migrates) the database; changes committed through this store are announced
    /// to `announcer`.
    pub async fn open(options: &OpenOptions, announcer: Announcer) -> Result<Store> {
        let ops: Arc<dyn BackendOps> = match &options.database {
            Database::Sqlite(dir) => {
                Arc::new(sqlite::SqliteStore::open(dir, announcer, options.migrate).await?)
            }
            Database::Postgres(url) => {
                Arc::new(postgres::PgStore::open(url, announcer, options.instance, options.migrate).await?)
            }
        };
        let sealed = ops.seal_audit().await?;
        if sealed > 0 {
            tracing::info!(sealed, "audit entries from before the hash chain sealed");
        }
        Ok(Store {
            writer: Writer { ops: ops.clone() },
            ops,
        })
    }

    pub fn backend(&self) -> Backend {
        self.ops.backend()
    }

    /// Single reads (no transaction).
    pub async fn reader(&self) -> Result<Reader> {
        self.ops.reader().await
    }

    /// Reads that see one consistent state.
    pub async fn snapshot(&self) -> Result<Reader> {
        self.ops.snapshot().await
    }

    /// The writer.
    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// A write transaction.
    pub async fn write(&self) -> Result<WriteTx> {
        self.writer.begin().await
    }

    pub async fn try_sweep_lease(&self) -> Result<Option<Box<dyn SweepLease>>> {
        self.ops.try_sweep_lease().await
    }

    pub async fn durability(&self) -> Result<String> {
        self.ops.durability().await
    }

    pub async fn ping(&self) -> Result<()> {
        self.ops.ping().await
    }

    pub async fn close(&self) {
        self.ops.close().await
    }

    /// A table's rows in key order, chunk by chunk, to `each`.
    pub async fn export_each(
        &self,
        table: dump::Table,
        mut each: impl FnMut(dump::Rows) -> Result<()>,
    ) -> Result<()> {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let export = self.ops.export(table, tx);
        let consume = async {
            while let Some(rows) = rx.recv().await {
                each(rows)?;
            }
            Ok::<_, Error>(())
        };
        let (exported, consumed) = tokio::join!(export, consume);
        exported?;
        consumed
    }

    /// Streams a table's rows in key order, in chunks, into `out`.
    pub async fn export_into(
        &self,
        table: dump::Table,
        out: tokio::sync::mpsc::Sender<dump::Rows>,
    ) -> Result<()> {
        self.ops.export(table, out).await
    }

    /// A whole table (tests and small tables).
    pub async fn export_all(&self, table: dump::Table) -> Result<Vec<dump::Rows>> {
        let mut out = Vec::new();
        self.export_each(table, |rows| {
            out.push(rows);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// A table's row count and content hash.
    pub async fn summary(&self, table: dump::Table) -> Result<dump::TableSummary> {
        use sha2::Digest;
        let mut hasher = sha2::Sha256::new();
        let mut rows = 0u64;
        self.export_each(table, |chunk| {
            rows += chunk.len() as u64;
            chunk.hash_into(&mut hasher);
            Ok(())
        })
        .await?;
        Ok(dump::TableSummary {
            table,
            rows,
            hash: crate::blobs::hex(&hasher.finalize()),
        })
    }

    /// Starts the cross-instance change listener (PostgreSQL).
    pub fn spawn_listener(
        &self,
        shutdown: tokio::sync::watch::Receiver<bool>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        self.ops.spawn_listener(shutdown)
    }

    pub async fn import(&self, rows: &dump::Rows) -> Result<()> {
        self.ops.import(rows).await
    }

    pub async fn finish_import(&self) -> Result<()> {
        self.ops.finish_import().await
    }

    pub async fn is_empty(&self) -> Result<bool> {
        self.ops.is_empty().await
    }

    pub async fn attempt_tamper(&self, what: Tamper) -> Result<()> {
        self.ops.attempt_tamper(what).await
    }
}

/// Runs a write transaction body, again when the database reports a deadlock or a
/// serialization failure (PostgreSQL; never happens on SQLite). The body must be free of side
/// effects before its commit.
pub async fn with_retry<T, F, Fut>(mut body: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut attempt = 0;
    loop {
        match body().await {
            Err(e) if e.is_retryable() && attempt < 5 => {
                attempt += 1;
                tracing::info!(attempt, error = %e, "write transaction retried");
                tokio::time::sleep(std::time::Duration::from_millis(5 << attempt)).await;
            }
            other => return other,
        }
    }
}
