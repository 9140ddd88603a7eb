//! Every table as typed rows, the same on every backend: what `shimin-server migrate` copies
//! from one store into another, and what `verify` counts and hashes on both sides.
//!
//! A backend exports a table in primary-key order (text keys in byte order on every backend),
//! streaming chunks into a channel; importing writes the rows as they are (ids, numbers and
//! change sequence numbers kept), so desks keep syncing afterwards without a re-bootstrap.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use shimin_protocol::ItemEvent;
use uuid::Uuid;

use super::model::{
    ColleagueRow, MatterRow, RevealRow, ScanRow, SiteRow, StoredItem, TicketEventRow, UnitRow,
};

/// Rows per exported chunk.
pub const CHUNK: usize = 1000;

/// The tables, in an order that satisfies foreign keys on import.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Table {
    Meta,
    ChangeSeq,
    Sites,
    Units,
    Users,
    Sessions,
    Clients,
    MutationResults,
    Matters,
    Calendar,
    ItemCounters,
    Items,
    ItemEvents,
    Removals,
    AuditLog,
    ClockAlerts,
    SupervisionCases,
    SupervisionSteps,
    Blobs,
    BlobScans,
    BlobUploads,
    ItemAttachments,
    Reveals,
    TicketEvents,
}

impl Table {
    pub const ALL: [Table; 24] = [
        Table::Meta,
        Table::ChangeSeq,
        Table::Sites,
        Table::Units,
        Table::Users,
        Table::Sessions,
        Table::Clients,
        Table::MutationResults,
        Table::Matters,
        Table::Calendar,
        Table::ItemCounters,
        Table::Items,
        Table::ItemEvents,
        Table::Removals,
        Table::AuditLog,
        Table::ClockAlerts,
        Table::SupervisionCases,
        Table::SupervisionSteps,
        Table::Blobs,
        Table::BlobScans,
        Table::BlobUploads,
        Table::ItemAttachments,
        Table::Reveals,
        Table::TicketEvents,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Table::Meta => "meta",
            Table::ChangeSeq => "change_seq",
            Table::Sites => "sites",
            Table::Units => "units",
            Table::Users => "users",
            Table::Sessions => "sessions",
            Table::Clients => "clients",
            Table::MutationResults => "mutation_results",
            Table::Matters => "matters",
            Table::Calendar => "calendar",
            Table::ItemCounters => "item_counters",
            Table::Items => "items",
            Table::ItemEvents => "item_events",
            Table::Removals => "removals",
            Table::AuditLog => "audit_log",
            Table::ClockAlerts => "clock_alerts",
            Table::SupervisionCases => "supervision_cases",
            Table::SupervisionSteps => "supervision_steps",
            Table::Blobs => "blobs",
            Table::BlobScans => "blob_scans",
            Table::BlobUploads => "blob_uploads",
            Table::ItemAttachments => "item_attachments",
            Table::Reveals => "reveals",
            Table::TicketEvents => "ticket_events",
        }
    }

    /// Sessions are only copied when asked (desks then stay logged in).
    pub fn is_optional(self) -> bool {
        self == Table::Sessions
    }
}

/// An account with everything stored about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserDump {
    #[serde(flatten)]
    pub colleague: ColleagueRow,
    pub password_hash: String,
    pub must_change_password: bool,
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionDump {
    pub token_hash: String,
    pub user_id: i64,
    pub client_id: String,
    pub device: String,
    pub created_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub revoked: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientDump {
    pub client_id: String,
    pub user_id: i64,
    pub last_seq: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultDump {
    pub client_id: String,
    pub seq: i64,
    pub mutation_id: Uuid,
    pub outcome: String,
    pub applied_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalendarDump {
    pub data_version: u32,
    pub data: shimin_protocol::CalendarWire,
    pub version: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventDump {
    pub id: i64,
    pub item_id: Uuid,
    pub seq: i64,
    #[serde(flatten)]
    pub event: ItemEvent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovalDump {
    pub id: i64,
    pub item_id: Uuid,
    pub unit_id: Option<i64>,
    pub agent_id: Option<i64>,
    pub seq: i64,
}

/// An audit entry as stored, with its place in the hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditDump {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub user_id: Option<i64>,
    pub username: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub client_id: Option<String>,
    pub outcome: String,
    /// SHA-256 (hex) of the previous entry's `hash` and this entry (see `crate::audit`).
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClockAlertDump {
    pub item_id: Uuid,
    pub clock_key: String,
    pub point: String,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupervisionCaseDump {
    pub id: i64,
    pub item_id: Uuid,
    pub unit_id: i64,
    pub clock: String,
    pub clock_start: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub status: String,
    pub stage: String,
    pub stage_since: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobDump {
    pub hash: String,
    pub size: i64,
    pub mime: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadDump {
    pub user_id: i64,
    pub hash: String,
    pub size: i64,
    pub mime: String,
    pub received: i64,
    pub complete: bool,
    pub started_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// One chunk of one table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Rows {
    Meta(Vec<(String, String)>),
    ChangeSeq(i64),
    Sites(Vec<SiteRow>),
    Units(Vec<UnitRow>),
    Users(Vec<UserDump>),
    Sessions(Vec<SessionDump>),
    Clients(Vec<ClientDump>),
    MutationResults(Vec<ResultDump>),
    Matters(Vec<MatterRow>),
    Calendar(Vec<CalendarDump>),
    ItemCounters(Vec<(String, i64)>),
    Items(Vec<StoredItem>),
    ItemEvents(Vec<EventDump>),
    Removals(Vec<RemovalDump>),
    AuditLog(Vec<AuditDump>),
    ClockAlerts(Vec<ClockAlertDump>),
    SupervisionCases(Vec<SupervisionCaseDump>),
    SupervisionSteps(Vec<super::CaseStepRow>),
    Blobs(Vec<BlobDump>),
    BlobScans(Vec<ScanRow>),
    BlobUploads(Vec<UploadDump>),
    ItemAttachments(Vec<(Uuid, String)>),
    Reveals(Vec<RevealRow>),
    TicketEvents(Vec<TicketEventRow>),
}

impl Rows {
    pub fn len(&self) -> usize {
        match self {
            Rows::Meta(v) => v.len(),
            Rows::ChangeSeq(_) => 1,
            Rows::Sites(v) => v.len(),
            Rows::Units(v) => v.len(),
            Rows::Users(v) => v.len(),
            Rows::Sessions(v) => v.len(),
            Rows::Clients(v) => v.len(),
            Rows::MutationResults(v) => v.len(),
            Rows::Matters(v) => v.len(),
            Rows::Calendar(v) => v.len(),
            Rows::ItemCounters(v) => v.len(),
            Rows::Items(v) => v.len(),
            Rows::ItemEvents(v) => v.len(),
            Rows::Removals(v) => v.len(),
            Rows::AuditLog(v) => v.len(),
            Rows::ClockAlerts(v) => v.len(),
            Rows::SupervisionCases(v) => v.len(),
            Rows::SupervisionSteps(v) => v.len(),
            Rows::Blobs(v) => v.len(),
            Rows::BlobScans(v) => v.len(),
            Rows::BlobUploads(v) => v.len(),
            Rows::ItemAttachments(v) => v.len(),
            Rows::Reveals(v) => v.len(),
            Rows::TicketEvents(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Feeds every row's canonical form (JSON) into `hasher`, one line each.
    pub fn hash_into(&self, hasher: &mut Sha256) {
        fn each<T: Serialize>(rows: &[T], hasher: &mut Sha256) {
            for r in rows {
                hasher.update(serde_json::to_vec(r).expect("rows serialise"));
                hasher.update(b"\n");
            }
        }
        match self {
            Rows::Meta(v) => each(v, hasher),
            Rows::ChangeSeq(v) => each(std::slice::from_ref(v), hasher),
            Rows::Sites(v) => each(v, hasher),
            Rows::Units(v) => each(v, hasher),
            Rows::Users(v) => each(v, hasher),
            Rows::Sessions(v) => each(v, hasher),
            Rows::Clients(v) => each(v, hasher),
            Rows::MutationResults(v) => each(v, hasher),
            Rows::Matters(v) => each(v, hasher),
            Rows::Calendar(v) => each(v, hasher),
            Rows::ItemCounters(v) => each(v, hasher),
            Rows::Items(v) => each(v, hasher),
            Rows::ItemEvents(v) => each(v, hasher),
            Rows::Removals(v) => each(v, hasher),
            Rows::AuditLog(v) => each(v, hasher),
            Rows::ClockAlerts(v) => each(v, hasher),
            Rows::SupervisionCases(v) => each(v, hasher),
            Rows::SupervisionSteps(v) => each(v, hasher),
            Rows::Blobs(v) => each(v, hasher),
            Rows::BlobScans(v) => each(v, hasher),
            Rows::BlobUploads(v) => each(v, hasher),
            Rows::ItemAttachments(v) => each(v, hasher),
            Rows::Reveals(v) => each(v, hasher),
            Rows::TicketEvents(v) => each(v, hasher),
        }
    }
}

/// A table's row count and content hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSummary {
    pub table: Table,
    pub rows: u64,
    /// SHA-256 (hex) over the rows in key order.
    pub hash: String,
}

/// Splits rows into export chunks.
pub fn chunks<T>(rows: Vec<T>, wrap: fn(Vec<T>) -> Rows) -> Vec<Rows> {
    let mut out = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        out.push(wrap(rows.by_ref().take(CHUNK).collect()));
    }
    out
}
