//! Pull, push and poke: the sync protocol (ARCHITECTURE.md, "Sync").
//!
//! - Pull: `GET PULL?cursor=C&limit=N` returns the changes after cursor C that the caller may
//!   see, oldest first. `has_more = false` marks the end of the snapshot: the client is then
//!   consistent with the server as of `cursor`.
//! - Push: a batch of [`Mutation`]s with a per-client sequence; the server applies each once,
//!   remembers the result, and answers a replay with the remembered result.
//! - Poke: `GET EVENTS` is a server-sent-events stream; an event `poke` means "pull now".

use crate::{CalendarWire, Colleague, ItemRecord, Matter, Op, Site, Unit};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Query of a pull.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PullQuery {
    /// Last cursor received; 0 for a bootstrap.
    #[serde(default)]
    pub cursor: i64,
    /// Page size; the server caps it at [`crate::MAX_PULL_LIMIT`].
    #[serde(default)]
    pub limit: Option<u32>,
}

/// One change to apply to the cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Change {
    Item(Box<ItemRecord>),
    Matter(Matter),
    Unit(Unit),
    Site(Site),
    Colleague(Colleague),
    Calendar(CalendarWire),
    /// The item left the caller's scope (transferred to another unit): drop it.
    ItemRemoved {
        id: Uuid,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullResponse {
    pub changes: Vec<Change>,
    /// Cursor to send next time.
    pub cursor: i64,
    /// More pages follow; `false` = end of snapshot.
    pub has_more: bool,
    pub server_time: DateTime<Utc>,
    /// The server database's timeline. It changes only when a backup is restored: cursors and
    /// push sequences of another epoch mean nothing here, so a desk seeing a new epoch drops
    /// its confirmed copy and bootstraps again, keeping (and renumbering) its pending
    /// mutations. `None` from servers before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
}

/// One action pushed by a desk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mutation {
    /// Client-generated id, unique forever.
    pub id: Uuid,
    /// Per-client sequence number: 1, 2, 3, … without gaps.
    pub seq: i64,
    pub item_id: Uuid,
    /// When the clerk acted, client clock corrected by the known server offset.
    pub acted_at: DateTime<Utc>,
    pub op: Op,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    pub client_id: Uuid,
    pub mutations: Vec<Mutation>,
}

/// What became of one mutation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum MutationOutcome {
    /// Applied; the item's new server version.
    Applied { version: i64 },
    /// Refused; nothing changed. `code` is a `Refusal` code, `not_found`, or `invalid_field`.
    Rejected { code: String, message: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MutationResult {
    pub id: Uuid,
    pub seq: i64,
    #[serde(flatten)]
    pub outcome: MutationOutcome,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushResponse {
    pub results: Vec<MutationResult>,
    /// Highest sequence number the server has processed for this client.
    pub last_seq: i64,
    pub server_time: DateTime<Utc>,
}

/// Data of an SSE `poke` event: the newest change sequence in the caller's scope.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Poke {
    pub seq: i64,
    /// 0: pull now. Otherwise the change is background work of the server touching many desks
    /// at once (warnings, a calendar recompute): pull after a random delay within this many
    /// milliseconds, so the desks' pulls spread out instead of arriving together.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub spread_ms: u32,
}

fn is_zero(v: &u32) -> bool {
    *v == 0
}

/// How far desks spread their pulls after a background change (see [`Poke::spread_ms`]).
pub const BACKGROUND_SPREAD_MS: u32 = 2000;

/// SSE event names.
pub mod events {
    /// Sent once when the stream opens, data = [`super::Poke`] with the current sequence.
    pub const HELLO: &str = "hello";
    /// Something in the caller's scope changed: pull.
    pub const POKE: &str = "poke";
}
