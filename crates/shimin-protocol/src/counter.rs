//! Counter events (窗口叫号, R-CTR): the steps of hall tickets, handed in by desks like reveals
//! (recorded offline with an id of their own, sent with the next sync, counted once), and what
//! the server answers from them: the hall's current calls and each ticket's times.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shimin_domain::counter::TicketStep;
use uuid::Uuid;

/// Most events in one [`TicketEventBatch`].
pub const MAX_TICKET_EVENT_BATCH: usize = 200;

/// One step of one ticket at the caller's counter. A ticket is named by the desk installation
/// (the session's client), its local day, its number and its issue time: `W001` of one desk is
/// not another's, and a `W001` sent back to a desk by another window is a ticket of its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketEvent {
    pub id: Uuid,
    /// The local (+08:00) day the ticket belongs to.
    pub day: NaiveDate,
    pub ticket_no: String,
    #[serde(with = "crate::coded")]
    pub step: TicketStep,
    /// When it happened (the desk's clock corrected by the server offset).
    pub at: DateTime<Utc>,
    /// When the ticket was issued (取号) or, for a reservation, its slot began.
    pub issued_at: DateTime<Utc>,
    /// The reservation the ticket stands for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<Uuid>,
    /// The window (窗口号) the step happened at, if the desk has one set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_no: Option<u32>,
    /// A transfer's (转窗) destination window at the same site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_window: Option<u32>,
}

/// `POST` [`crate::paths::TICKET_EVENTS`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketEventBatch {
    pub events: Vec<TicketEvent>,
}

/// How many events of a batch were new (the rest the server had already).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketEventReceipt {
    pub recorded: u32,
}

/// One call on the hall screen: `GET` [`crate::paths::HALL_CALLS`] answers the latest calls of
/// the caller's site today, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HallCall {
    pub ticket_no: String,
    pub window_no: Option<u32>,
    pub at: DateTime<Utc>,
}

/// A ticket another window of the site sent to the caller's window (转窗) today: `GET`
/// [`crate::paths::COUNTER_TRANSFERS`]`?window=N`, oldest first. The receiving desk serves it as
/// a ticket of its own (its own events), remembering `transfer_id` so it takes it once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferredTicket {
    /// The transfer event's id.
    pub transfer_id: Uuid,
    pub ticket_no: String,
    pub from_window: Option<u32>,
    pub at: DateTime<Utc>,
    /// The reservation behind the ticket, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item_id: Option<Uuid>,
}

/// Query of [`crate::paths::COUNTER_TRANSFERS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferQuery {
    pub window: u32,
}

/// `GET` [`crate::paths::COUNTER_TICKETS`]`?day=YYYY-MM-DD`: each ticket of that day in the
/// caller's scope with its times (computed by `shimin_domain::counter::ticket_times`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketReport {
    pub day: NaiveDate,
    pub ticket_no: String,
    pub user_id: i64,
    pub user_name: String,
    pub unit_id: i64,
    pub window_no: Option<u32>,
    pub issued_at: DateTime<Utc>,
    pub called_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// The final step (`finished`, `no_show`, `transferred`), if any yet.
    #[serde(default, with = "crate::coded::option")]
    pub outcome: Option<TicketStep>,
    pub waited_ms: Option<i64>,
    /// Service time without the suspended time.
    pub served_ms: Option<i64>,
    pub suspended_ms: i64,
    /// Every step, oldest first.
    pub steps: Vec<TicketStepAt>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketStepAt {
    #[serde(with = "crate::coded")]
    pub step: TicketStep,
    pub at: DateTime<Utc>,
}

/// Query of [`crate::paths::COUNTER_TICKETS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketQuery {
    pub day: NaiveDate,
}
