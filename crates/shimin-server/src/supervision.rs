//! Early warning (预警) and supervision (督办), measures §13, §29–§30: a background task that
//! records, for every open item whose statutory clock runs,
//! - a `warning` history entry when the clock passes one of its rule's warning points
//!   (`statutory::rule(kind).warn_at`, e.g. half and 80 % of the limit), once per point;
//! - when the deadline has passed, an `overdue` history entry and a supervision case
//!   (`supervision_cases`), once per clock, and marks the item `overdue` / `supervision`.
//!
//! Each recording gives the item a new version, so desks pull it (and are poked). What has been
//! recorded is kept in `clock_alerts` keyed by the clock's identity (kind and start), so ticks
//! and restarts never record a point twice. A tick reads only items whose `next_alert_at`
//! (maintained by [`crate::deadline::refresh`]) has come.

use std::time::Duration;

use chrono::{DateTime, Utc};
use shimin_domain::calendar::{to_local, WorkCalendar};
use shimin_domain::statutory::rule;
use shimin_protocol::ItemEvent;
use uuid::Uuid;

use crate::audit::Entry;
use crate::calendar::SYSTEM_ACTOR_NAME;
use crate::deadline::{self, Alert, OVERDUE_POINT};
use crate::store::{NewSupervisionCase, StoredItem, Writes};
use crate::{Committed, Result, SharedState};

/// Items looked at per batch of a tick.
const BATCH: i64 = 500;
/// Batches per tick at most (the rest waits for the next tick).
const MAX_BATCHES: usize = 20;
/// Items recorded per write transaction. One commit (and one round of pokes) per group instead
/// of per item: a sweep that reaches hundreds of points at once (the first tick after a start,
/// a morning after a holiday) would otherwise make every desk in scope pull again and again
/// while it runs (issue 6, part 4). Small enough that a desk's push never waits long for the
/// single writer.
const GROUP: usize = 50;

/// What a tick recorded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Warning entries recorded.
    pub warnings: u64,
    /// Overdue entries (and supervision cases) recorded.
    pub overdue: u64,
}

/// Runs [`tick`] every `every` until shutdown (first tick after one interval).
pub async fn run(state: SharedState, every: Duration) {
    let mut shutdown = state.shutdown.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        if let Err(e) = crate::calendar::reload_if_changed(&state).await {
            tracing::warn!(error = %e, "supervision: cannot check the calendar");
        }
        if let Err(e) = prune_login_throttles(&state).await {
            tracing::warn!(error = %e, "supervision: cannot prune login throttles");
        }
        match crate::scan::retry_pending(&state).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(checked = n, "supervision: pending virus checks done"),
            Err(e) => tracing::warn!(error = %e, "supervision: cannot retry virus checks"),
        }
        let outcome = tick(&state, Utc::now()).await;
        crate::metrics::sweep_ran(outcome.is_ok());
        match outcome {
            Ok(r) if r != TickReport::default() => {
                tracing::info!(warnings = r.warnings, overdue = r.overdue, "supervision tick")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "supervision tick failed"),
        }
    }
}

/// Forgets login throttle keys untouched for a day (strangers' names must not pile up).
async fn prune_login_throttles(state: &SharedState) -> Result<()> {
    let mut tx = state.store.write().await?;
    tx.prune_throttles(Utc::now() - chrono::Duration::days(1)).await?;
    tx.commit().await
}

/// Records every warning and overdue point reached by `now` and not recorded yet. With
/// several instances on one database, only the one holding the sweep lease works a tick (the
/// others find nothing to do); a point is recorded once whoever records it.
pub async fn tick(state: &SharedState, now: DateTime<Utc>) -> Result<TickReport> {
    let Some(lease) = state.store.try_sweep_lease().await? else {
        return Ok(TickReport::default());
    };
    let result = sweep(state, now).await;
    lease.release().await;
    result
}

async fn sweep(state: &SharedState, now: DateTime<Utc>) -> Result<TickReport> {
    let mut report = TickReport::default();
    for _ in 0..MAX_BATCHES {
        let ids = state
            .store
            .reader()
            .await?
            .items_due_for_alerts(now, BATCH)
            .await?;
        let cal = state.calendar();
        for group in ids.chunks(GROUP) {
            let r = crate::store::with_retry(|| record_group(state, &cal, group, now)).await?;
            report.warnings += r.warnings;
            report.overdue += r.overdue;
        }
        if (ids.len() as i64) < BATCH {
            break;
        }
    }
    Ok(report)
}

/// One group of items in one write transaction (items locked first, in id order).
async fn record_group(
    state: &SharedState,
    cal: &WorkCalendar,
    group: &[Uuid],
    now: DateTime<Utc>,
) -> Result<TickReport> {
    let mut report = TickReport::default();
    let mut tx = state.store.write().await?;
    tx.lock_items(group).await?;
    for id in group {
        let r = process(&mut *tx, cal, *id, now).await?;
        report.warnings += r.warnings;
        report.overdue += r.overdue;
    }
    tx.commit().await?;
    Ok(report)
}

/// One item, inside the caller's write transaction.
async fn process(
    tx: &mut dyn Writes,
    cal: &WorkCalendar,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<TickReport> {
    let mut report = TickReport::default();
    let Some(item) = tx.item(id).await? else {
        return Ok(report);
    };
    let plan = deadline::plan_item(tx, cal, &item).await?;
    let (Some(key), Some(clock), Some(due)) = (plan.clock_key(), plan.clock.as_ref(), plan.due_at) else {
        // No deadline (paused, none): nothing to look at until a change.
        tx.set_next_alert(item.id, None).await?;
        return Ok(report);
    };
    let mut done = tx.recorded_alerts(item.id, &key).await?;
    let reached: Vec<Alert> = plan
        .alerts
        .iter()
        .filter(|a| a.at <= now && !done.contains(&a.point))
        .cloned()
        .collect();
    if !reached.is_empty() {
        let seq = tx.next_seq().await?;
        let mut overdue = false;
        for a in &reached {
            tx.record_alert(item.id, &key, &a.point, now).await?;
            done.insert(a.point.clone());
            if a.point == OVERDUE_POINT {
                overdue = true;
                report.overdue += 1;
                tx.open_supervision_case(&NewSupervisionCase {
                    item_id: item.id,
                    unit_id: item.unit_id,
                    clock: clock.kind.code(),
                    clock_start: clock.start,
                    due_at: due,
                    recorded_at: now,
                    reason: None,
                })
                .await?;
            } else {
                report.warnings += 1;
            }
            tx.append_event(item.id, &alert_event(&item, clock.kind, a, due, now), seq)
                .await?;
        }
        tx.set_item_version(item.id, seq).await?;
        if overdue {
            tx.mark_overdue(item.id).await?;
            tx.audit(Entry {
                action: "supervision.overdue",
                target: Some(&item.number),
                outcome: "recorded",
                ..Default::default()
            });
        }
        tx.announce(Committed {
            seq,
            unit_id: Some(item.unit_id),
            old_unit_id: None,
            agent_id: item.agent_id,
            background: true,
        });
    }
    tx.set_next_alert(item.id, plan.next_alert(&done)).await?;
    Ok(report)
}

/// The history entry of a reached point.
fn alert_event(
    item: &StoredItem,
    clock: shimin_domain::statutory::ClockKind,
    a: &Alert,
    due: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ItemEvent {
    let r = rule(clock);
    let due_local = to_local(due).format("%Y-%m-%d %H:%M").to_string();
    let (action, note, at) = if a.point == OVERDUE_POINT {
        (
            "overdue",
            format!("超期：{}期限{due_local}已过，已记录督办", r.name_zh),
            // The overdue point is the deadline itself.
            due,
        )
    } else {
        let pct = (a.share.unwrap_or(0.0) * 100.0).round();
        (
            "warning",
            format!("预警：{}时限已用{pct}%，期限{due_local}", r.name_zh),
            a.at,
        )
    };
    ItemEvent {
        at: at.min(now),
        actor_id: None,
        actor_name: SYSTEM_ACTOR_NAME.to_owned(),
        action: action.to_owned(),
        status: item.status,
        note: Some(note),
        place: None,
    }
}
