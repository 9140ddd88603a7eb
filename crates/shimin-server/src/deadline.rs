//! Deadlines of work items (期限). The one place the server asks the domain crate's statutory
//! clocks: the clock an item runs is derived from its kind and history by
//! `shimin_domain::statutory::item_clock` and its deadline by `ItemClock::deadline`
//! (`statutory::deadline_for`), with the calendar in force ([`crate::AppState::calendar`]).
//! The desk derives it the same way from the same data, so both agree.
//!
//! Besides `due_at` / `due_provisional`, [`refresh`] keeps `items.next_alert_at`: the next
//! early-warning (预警) or overdue point of the running clock not recorded yet, which the
//! supervision task ([`crate::supervision`]) looks at.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use shimin_domain::calendar::WorkCalendar;
use shimin_domain::clock::DeadlineState;
use shimin_domain::item::ItemKind;
use shimin_domain::statutory::{item_clock, rule, warning_points, ItemClock, Transition};
use shimin_protocol::ItemEvent;

use crate::store::{Reads, Schedule, StoredItem, Writes};
use crate::Result;

/// The status changes of a history, for [`item_clock`] (unknown status codes are skipped).
pub fn transitions(events: &[ItemEvent]) -> Vec<Transition> {
    events
        .iter()
        .map(|e| Transition {
            at: e.at,
            status: e.status,
        })
        .collect()
}

/// A point of a running clock the supervision task records once.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// `warning:<index>` or [`OVERDUE_POINT`].
    pub point: String,
    /// When it is reached.
    pub at: DateTime<Utc>,
    /// Share of the limit for a warning point (0.5 = half the time used).
    pub share: Option<f64>,
}

/// Point name of the overdue alert.
pub const OVERDUE_POINT: &str = "overdue";

/// An item's clock and deadline as of its kind and history.
#[derive(Debug, Clone)]
pub struct Plan {
    pub clock: Option<ItemClock>,
    pub due_at: Option<DateTime<Utc>>,
    pub provisional: bool,
    /// Warning and overdue points of the clock (unless paused) reached while it ran, in time
    /// order.
    pub alerts: Vec<Alert>,
}

impl Plan {
    /// Identity of the clock for idempotent alerts: `<clock kind>@<clock start>`.
    pub fn clock_key(&self) -> Option<String> {
        self.clock.as_ref().map(clock_key)
    }

    /// The first alert not in `done`.
    pub fn next_alert(&self, done: &HashSet<String>) -> Option<DateTime<Utc>> {
        self.alerts
            .iter()
            .filter(|a| !done.contains(&a.point))
            .map(|a| a.at)
            .min()
    }
}

/// Identity of a clock: `<clock kind>@<clock start>`.
pub fn clock_key(c: &ItemClock) -> String {
    format!(
        "{}@{}",
        c.kind.code(),
        c.start.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    )
}

/// The clock, deadline and alert points of an item of `kind` received at `received` with
/// `history`; `promised_days` is the matter's promised limit (completion clocks).
pub fn plan(
    cal: &WorkCalendar,
    kind: ItemKind,
    received: DateTime<Utc>,
    history: &[Transition],
    promised_days: Option<u32>,
) -> Plan {
    let clock = item_clock(kind, received, history);
    let mut out = Plan {
        clock: clock.clone(),
        due_at: None,
        provisional: false,
        alerts: Vec::new(),
    };
    let Some(clock) = clock else { return out };
    let deadline = match clock.deadline(cal, promised_days) {
        Ok(DeadlineState::Running(d)) => d,
        Ok(DeadlineState::Paused { .. }) => return out,
        Err(e) => {
            tracing::warn!(error = %e, clock = clock.kind.code(), "cannot compute deadline");
            return out;
        }
    };
    out.due_at = Some(deadline.due);
    out.provisional = deadline.provisional;
    // Points reached before the clock's duty was met count (a late answer was overdue), as do
    // all points of a running clock.
    {
        let shares = rule(clock.kind).warn_at;
        match warning_points(cal, clock.start, &deadline, shares) {
            Ok(points) => out.alerts.extend(points.into_iter().zip(shares).enumerate().map(
                |(i, (at, share))| Alert {
                    point: format!("warning:{i}"),
                    at,
                    share: Some(*share),
                },
            )),
            Err(e) => tracing::warn!(error = %e, "cannot compute warning points"),
        }
        // Overdue once the deadline has passed (a deadline instant itself is still in time).
        out.alerts.push(Alert {
            point: OVERDUE_POINT.to_owned(),
            at: deadline.due + Duration::seconds(1),
            share: None,
        });
        out.alerts.retain(|a| clock.met_at.is_none_or(|met| a.at < met));
        out.alerts.sort_by_key(|a| a.at);
    }
    out
}

/// The matter's promised limit (承诺时限) in working days, if any.
pub async fn promised_days(reads: &mut dyn Reads, matter_id: Option<i64>) -> Result<Option<u32>> {
    let Some(id) = matter_id else { return Ok(None) };
    Ok(reads
        .matter(id)
        .await?
        .map(|m| m.promised_days)
        .filter(|d| *d > 0))
}

/// The plan of a stored item, from its stored history.
pub async fn plan_item(reads: &mut dyn Reads, cal: &WorkCalendar, item: &StoredItem) -> Result<Plan> {
    let events = history(reads, item.id).await?;
    let promised = promised_days(reads, item.matter_id).await?;
    Ok(plan(
        cal,
        item.kind,
        item.received_at,
        &transitions(&events),
        promised,
    ))
}

/// An item's stored history, oldest first.
async fn history(reads: &mut dyn Reads, id: uuid::Uuid) -> Result<Vec<ItemEvent>> {
    Ok(reads.events(&[id]).await?.remove(&id).unwrap_or_default())
}

/// What [`refresh`] did to an item's deadline.
#[derive(Debug, Clone)]
pub struct Refreshed {
    pub plan: Plan,
    /// The stored deadline before.
    pub old_due_at: Option<DateTime<Utc>>,
    /// `due_at` or `due_provisional` changed.
    pub changed: bool,
}

/// Recomputes a stored item's deadline and next alert from its history and writes them
/// (without a new version: the caller decides whether the change is one desks must pull), and
/// the item's statistics rows ([`crate::stats::project`]).
/// With `keep_met`, an item whose clock has met its duty keeps its recorded deadline (a
/// calendar update does not rewrite history). Runs inside the caller's write transaction.
pub async fn refresh(
    tx: &mut dyn Writes,
    cal: &WorkCalendar,
    item: &StoredItem,
    keep_met: bool,
) -> Result<Refreshed> {
    let events = history(tx, item.id).await?;
    let promised = promised_days(tx, item.matter_id).await?;
    let plan = plan(cal, item.kind, item.received_at, &transitions(&events), promised);
    // The statistics follow the same history (R-STAT).
    crate::stats::project(tx, cal, item, &events, promised, keep_met).await?;
    let old_due_at = item.due_at;
    let met = plan.clock.as_ref().is_some_and(|c| !c.is_running());
    let (due_at, provisional) = if keep_met && met {
        (old_due_at, item.due_provisional)
    } else {
        (plan.due_at, plan.provisional)
    };
    let done = match plan.clock_key() {
        Some(key) => tx.recorded_alerts(item.id, &key).await?,
        None => HashSet::new(),
    };
    tx.set_schedule(
        item.id,
        Schedule {
            due_at,
            due_provisional: provisional,
            next_alert_at: plan.next_alert(&done),
        },
    )
    .await?;
    Ok(Refreshed {
        changed: due_at != old_due_at || provisional != item.due_provisional,
        old_due_at,
        plan,
    })
}

/// [`refresh`] of the item as stored now (after the caller changed it in this transaction).
pub async fn refresh_stored(tx: &mut dyn Writes, cal: &WorkCalendar, id: uuid::Uuid) -> Result<()> {
    if let Some(item) = tx.item(id).await? {
        refresh(tx, cal, &item, false).await?;
    }
    Ok(())
}
