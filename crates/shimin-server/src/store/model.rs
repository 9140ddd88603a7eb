//! The storage layer's vocabulary: what the server stores and reads, in domain types (enums,
//! instants, ids), the same for every backend. Each backend decodes its own rows into these.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shimin_domain::counter::TicketStep;
use shimin_domain::identity::PersonalField;
use shimin_domain::item::{ItemFacts, ItemKind, Status};
use shimin_domain::ladder::Presence;
use shimin_domain::role::{Role, UnitKind};
use shimin_domain::stats::{ClockTally, Dimension, Rating};
use shimin_domain::statutory::ClockKind;
use shimin_domain::supervision::{CaseAction, CaseStage};
use shimin_protocol::{Applicant, ItemDetails, ItemEvent, ItemRecord};
use uuid::Uuid;

/// A work item as stored (without its history).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredItem {
    pub id: Uuid,
    pub number: String,
    #[serde(with = "shimin_protocol::coded")]
    pub kind: ItemKind,
    #[serde(with = "shimin_protocol::coded")]
    pub status: Status,
    pub unit_id: i64,
    pub matter_id: Option<i64>,
    pub agent_id: Option<i64>,
    pub handler_id: Option<i64>,
    pub applicant: Applicant,
    pub title: String,
    pub content: String,
    pub received_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub due_provisional: bool,
    pub details: ItemDetails,
    /// Change sequence number of the item's last change.
    pub version: i64,
    /// A clock of the item ran out (超期), recorded by the supervision sweep.
    pub overdue: bool,
    /// A supervision case (督办) is on record.
    pub supervision: bool,
    /// The next warning or overdue point the sweep must look at (`None`: nothing pending).
    pub next_alert_at: Option<DateTime<Utc>>,
}

impl StoredItem {
    /// What the rules need to know.
    pub fn facts(&self) -> ItemFacts {
        ItemFacts {
            kind: self.kind,
            status: self.status,
            unit_id: self.unit_id,
            agent_id: self.agent_id,
            handler_id: self.handler_id,
        }
    }

    /// The wire record with its history; as supervision roles see it when `masked`.
    pub fn into_record(self, events: Vec<ItemEvent>, masked: bool) -> ItemRecord {
        let record = ItemRecord {
            id: self.id,
            number: self.number,
            kind: self.kind,
            status: self.status,
            unit_id: self.unit_id,
            matter_id: self.matter_id,
            agent_id: self.agent_id,
            handler_id: self.handler_id,
            applicant: self.applicant,
            title: self.title,
            content: self.content,
            received_at: self.received_at,
            due_at: self.due_at,
            due_provisional: self.due_provisional,
            overdue: self.overdue,
            supervision: self.supervision,
            details: self.details,
            version: self.version,
            events,
        };
        if masked {
            record.for_supervision()
        } else {
            record
        }
    }
}

/// A new item to store (its number and version are given by the store).
#[derive(Debug, Clone)]
pub struct NewItem {
    pub id: Uuid,
    pub kind: ItemKind,
    pub status: Status,
    pub unit_id: i64,
    pub matter_id: Option<i64>,
    pub agent_id: Option<i64>,
    pub handler_id: Option<i64>,
    pub applicant: Applicant,
    pub title: String,
    pub content: String,
    pub received_at: DateTime<Utc>,
    pub details: ItemDetails,
}

/// An allowed action's effect on an item (from `shimin_domain::item::decide`).
#[derive(Debug, Clone)]
pub struct ItemChange {
    pub status: Status,
    pub handler_id: Option<i64>,
    pub unit_id: i64,
    pub details: ItemDetails,
}

/// An item's schedule as computed from its clock (`crate::deadline`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub due_at: Option<DateTime<Utc>>,
    pub due_provisional: bool,
    pub next_alert_at: Option<DateTime<Utc>>,
}

/// What a pull reads of a matter, and what rules ask of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatterRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub unit_id: i64,
    pub promised_days: u32,
    pub materials: Vec<String>,
    pub fee_fen: i64,
    pub a_clerk_id: Option<i64>,
    pub b_clerk_id: Option<i64>,
    pub version: i64,
}

/// A new matter of the catalogue.
#[derive(Debug, Clone)]
pub struct NewMatter {
    pub code: String,
    pub name: String,
    pub unit_id: i64,
    pub promised_days: u32,
    pub materials: Vec<String>,
    pub fee_fen: i64,
    pub a_clerk_id: Option<i64>,
    pub b_clerk_id: Option<i64>,
}

/// A site (county center, sub-center, township convenience center).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteRow {
    pub id: i64,
    pub name: String,
    pub version: i64,
}

/// A unit (department or township).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnitRow {
    pub id: i64,
    pub name: String,
    #[serde(with = "shimin_protocol::coded")]
    pub kind: UnitKind,
    pub site_id: i64,
    pub version: i64,
}

/// A colleague as desks see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColleagueRow {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    #[serde(with = "shimin_protocol::coded")]
    pub role: Role,
    pub unit_id: Option<i64>,
    #[serde(with = "shimin_protocol::coded")]
    pub presence: Presence,
    pub version: i64,
}

/// An account as login sees it.
#[derive(Debug, Clone)]
pub struct LoginUser {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub unit_id: Option<i64>,
    pub password_hash: String,
    pub must_change_password: bool,
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
    pub disabled: bool,
}

/// A session with its user, as every authenticated request sees it.
#[derive(Debug, Clone)]
pub struct SessionFacts {
    pub client_id: String,
    pub last_seen: DateTime<Utc>,
    pub revoked: bool,
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub unit_id: Option<i64>,
    pub must_change_password: bool,
    pub disabled: bool,
}

/// A new session.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    pub token_hash: &'a str,
    pub user_id: i64,
    pub client_id: &'a str,
    pub device: &'a str,
    pub at: DateTime<Utc>,
}

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub unit_id: Option<i64>,
    /// An argon2id PHC hash.
    pub password_hash: &'a str,
    /// Issued accounts must change the password on first login (R-PWD).
    pub must_change_password: bool,
}

/// A client installation and where its pushes stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientState {
    pub user_id: i64,
    pub last_seq: i64,
}

/// A push result remembered for replays.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResult {
    pub seq: i64,
    pub mutation_id: Uuid,
    /// `MutationOutcome` as JSON.
    pub outcome: String,
}

/// One user's upload of one blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadRow {
    pub size: u64,
    pub mime: String,
    pub received: u64,
    pub complete: bool,
}

/// Where the virus check of a blob stands (§21.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScanStatus {
    /// Not checked yet (the scanner was down): readable by its uploader only.
    Pending,
    Clean,
    /// Quarantined: nobody reads it, no mutation refers to it.
    Infected,
}

impl ScanStatus {
    pub fn code(self) -> &'static str {
        match self {
            ScanStatus::Pending => "pending",
            ScanStatus::Clean => "clean",
            ScanStatus::Infected => "infected",
        }
    }

    pub fn from_code(code: &str) -> Option<ScanStatus> {
        [ScanStatus::Pending, ScanStatus::Clean, ScanStatus::Infected]
            .into_iter()
            .find(|s| s.code() == code)
    }
}

/// The virus check of one blob, as stored and as `migrate` copies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanRow {
    pub hash: String,
    pub status: ScanStatus,
    /// What the scanner named (infected), or why the last attempt failed (pending).
    pub signature: Option<String>,
    pub attempts: i64,
    pub updated_at: DateTime<Utc>,
}

/// The calendar row.
#[derive(Debug, Clone)]
pub struct StoredCalendar {
    pub data_version: u32,
    pub wire: shimin_protocol::CalendarWire,
    pub version: i64,
}

/// A supervision case (督办) opened when a deadline was missed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSupervisionCase<'a> {
    pub item_id: Uuid,
    pub unit_id: i64,
    /// The clock whose deadline was missed, or [`MANUAL_CASE_CLOCK`].
    pub clock: &'a str,
    pub clock_start: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    /// Why a supervisor opened it (cases the sweep opens have none: the deadline was missed).
    pub reason: Option<&'a str>,
}

/// The `clock` of a case a supervisor opened by hand.
pub const MANUAL_CASE_CLOCK: &str = "manual";
/// The `clock` of a bad rating's follow-up (差评回访; the case's item is the evaluation).
pub const FOLLOW_UP_CASE_CLOCK: &str = "bad_rating";

/// A supervision case (督办) as stored, with its item's number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseRow {
    pub id: i64,
    pub item_id: Uuid,
    pub item_number: String,
    pub unit_id: i64,
    pub clock: String,
    /// The item's deadline the case is about (a manual case: the item's deadline then, or
    /// the opening instant).
    pub due_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
    pub stage: CaseStage,
    pub stage_since: DateTime<Utc>,
    pub reason: Option<String>,
}

impl CaseRow {
    /// A bad rating's follow-up or a 督办.
    pub fn kind(&self) -> shimin_domain::supervision::CaseKind {
        if self.clock == FOLLOW_UP_CASE_CLOCK {
            shimin_domain::supervision::CaseKind::FollowUp
        } else {
            shimin_domain::supervision::CaseKind::Supervision
        }
    }
}

/// One step of a case (`supervision_steps`, append-only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseStepRow {
    pub case_id: i64,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    #[serde(with = "shimin_protocol::coded")]
    pub action: CaseAction,
    pub cause: Option<String>,
    pub correction: Option<String>,
    pub note: Option<String>,
}

/// Which cases a list read returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseFilter {
    /// One unit's, or every unit's.
    pub unit: Option<i64>,
    /// Only those not closed.
    pub open_only: bool,
}

/// The newest version of each rarely changing source, read in one statement by a pull.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latest {
    pub sites: Option<i64>,
    pub units: Option<i64>,
    pub matters: Option<i64>,
    pub users: Option<i64>,
    pub calendar: Option<i64>,
    /// The change sequence as of the same snapshot.
    pub seq: i64,
}

/// A removal of an item from a scope (transfer), for the old scope's desks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removal {
    pub item_id: Uuid,
    pub seq: i64,
}

/// An item to store in bulk (benchmarks, imports): a new item with its deadline and history.
#[derive(Debug, Clone)]
pub struct BulkItem {
    pub item: NewItem,
    pub due_at: Option<DateTime<Utc>>,
    pub history: Vec<ItemEvent>,
}

/// Number keys (`<prefix><yyyymmdd>`) in first-seen order, each with how many numbers it needs.
pub(crate) type KeyCounts = Vec<(String, i64)>;
/// For every item: the index of its key and its place (1-based) among that key's numbers.
pub(crate) type ItemKeys = Vec<(usize, i64)>;

/// Item numbers of a bulk insert: the keys it needs and where each item falls.
pub(crate) fn number_keys(items: &[BulkItem]) -> (KeyCounts, ItemKeys) {
    let mut keys: Vec<(String, i64)> = Vec::new();
    let mut of_item = Vec::with_capacity(items.len());
    for b in items {
        let key = format!(
            "{}{}",
            b.item.kind.number_prefix(),
            shimin_domain::calendar::to_local(b.item.received_at).format("%Y%m%d")
        );
        let k = match keys.iter().position(|(k, _)| *k == key) {
            Some(k) => k,
            None => {
                keys.push((key, 0));
                keys.len() - 1
            }
        };
        keys[k].1 += 1;
        of_item.push((k, keys[k].1));
    }
    (keys, of_item)
}

/// A user showed a citizen's masked number in full (issue 16): as recorded, and as
/// `migrate` copies it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevealRow {
    pub id: Uuid,
    pub item_id: Uuid,
    pub user_id: i64,
    pub client_id: String,
    #[serde(with = "shimin_protocol::coded")]
    pub field: PersonalField,
    pub revealed_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

/// One step of a hall ticket at a counter (R-CTR), as a desk handed it in and `migrate` copies
/// it. The ticket is (`client_id`, `day`, `ticket_no`); `unit_id` is the clerk's unit when the
/// event arrived (the hall screen shows the calls of the unit's site).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketEventRow {
    pub id: Uuid,
    pub client_id: String,
    pub user_id: i64,
    pub unit_id: i64,
    pub day: NaiveDate,
    pub ticket_no: String,
    #[serde(with = "shimin_protocol::coded")]
    pub step: TicketStep,
    pub at: DateTime<Utc>,
    pub issued_at: DateTime<Utc>,
    pub item_id: Option<Uuid>,
    pub window_no: Option<i32>,
    /// A transfer's destination window.
    pub to_window: Option<i32>,
    pub recorded_at: DateTime<Utc>,
}

/// Whose figures and ticket events a read returns (`shimin_domain::role::FigureScope`).
pub use shimin_domain::role::FigureScope;

/// One statutory clock of an item as the statistics count it (`stat_clocks`, R-STAT).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatClockRow {
    pub item_id: Uuid,
    /// The clock's place among the item's clocks (0: the first).
    pub ordinal: i32,
    pub clock: ClockKind,
    pub dimension: Dimension,
    pub unit_id: i64,
    /// Who met the duty; while the clock runs, the item's handler.
    pub person_id: Option<i64>,
    /// The local day the clock started (the period it counts in).
    pub day: NaiveDate,
    pub started_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub met_at: Option<DateTime<Utc>>,
    /// Met in time (`Some(true)`), late (`Some(false)`), running (`None`).
    pub in_time: Option<bool>,
    pub used_secs: Option<i64>,
}

/// One rating (好差评) as the statistics count it (`stat_ratings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatRatingRow {
    /// The evaluation item.
    pub item_id: Uuid,
    pub rated_id: Uuid,
    pub unit_id: i64,
    /// The rated item's handler.
    pub person_id: Option<i64>,
    pub day: NaiveDate,
    pub rating: Rating,
    /// An upheld appeal removed it from the figures.
    pub excluded: bool,
}

/// The clocks of one (unit, person, dimension) in a period, judged at a given instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatClockGroup {
    pub unit_id: i64,
    pub person_id: Option<i64>,
    pub dimension: Dimension,
    pub tally: ClockTally,
}

/// The ratings of one (unit, person, level, excluded) in a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatRatingGroup {
    pub unit_id: i64,
    pub person_id: Option<i64>,
    pub rating: Rating,
    pub excluded: bool,
    pub count: u64,
}

impl StatClockGroup {
    /// From a row of the backends' aggregate: (unit, person, dimension code), the counts
    /// [on time, late, overdue, running] and the working seconds used.
    pub(crate) fn decode(
        (unit_id, person_id, dimension): (i64, Option<i64>, &str),
        [on_time, late, overdue, running]: [i64; 4],
        used_secs: i64,
    ) -> crate::Result<StatClockGroup> {
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(StatClockGroup {
            unit_id,
            person_id,
            dimension: Dimension::from_code(dimension).ok_or_else(|| {
                crate::Error::internal(format!("unknown dimension {dimension} in database"))
            })?,
            tally: ClockTally {
                on_time: count(on_time),
                late: count(late),
                overdue: count(overdue),
                running: count(running),
                used_secs,
            },
        })
    }
}

impl StatRatingGroup {
    /// From a row of the backends' aggregate.
    pub(crate) fn decode(
        (unit_id, person_id): (i64, Option<i64>),
        stars: i64,
        excluded: bool,
        count: i64,
    ) -> crate::Result<StatRatingGroup> {
        let rating = u8::try_from(stars)
            .ok()
            .and_then(Rating::from_stars)
            .ok_or_else(|| crate::Error::internal(format!("bad rating {stars} in database")))?;
        Ok(StatRatingGroup {
            unit_id,
            person_id,
            rating,
            excluded,
            count: u64::try_from(count).unwrap_or(0),
        })
    }
}

/// A stored case stage, or an error naming the bad value.
pub(crate) fn case_stage(s: &str) -> crate::Result<CaseStage> {
    CaseStage::from_code(s)
        .ok_or_else(|| crate::Error::internal(format!("unknown case stage {s} in database")))
}

/// A stored case action, or an error naming the bad value.
pub(crate) fn case_action(s: &str) -> crate::Result<CaseAction> {
    CaseAction::from_code(s)
        .ok_or_else(|| crate::Error::internal(format!("unknown case action {s} in database")))
}
