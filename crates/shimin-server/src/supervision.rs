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
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::audit::{self, Entry};
use crate::calendar::SYSTEM_ACTOR_NAME;
use crate::db::{next_seq, ts};
use crate::deadline::{self, OVERDUE_POINT};
use crate::items::{append_event, load_item};
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
        match tick(&state, Utc::now()).await {
            Ok(r) if r != TickReport::default() => {
                tracing::info!(warnings = r.warnings, overdue = r.overdue, "supervision tick")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "supervision tick failed"),
        }
    }
}

/// Records every warning and overdue point reached by `now` and not recorded yet.
pub async fn tick(state: &SharedState, now: DateTime<Utc>) -> Result<TickReport> {
    let mut report = TickReport::default();
    for _ in 0..MAX_BATCHES {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM items WHERE next_alert_at IS NOT NULL AND next_alert_at <= ?
             ORDER BY next_alert_at LIMIT ?",
        )
        .bind(ts(now))
        .bind(BATCH)
        .fetch_all(&state.pool)
        .await?;
        let cal = state.calendar();
        for group in ids.chunks(GROUP) {
            let mut tx = state.writer.begin_with("BEGIN IMMEDIATE").await?;
            let mut committed = Vec::new();
            for id in group {
                let Ok(uuid) = Uuid::parse_str(id) else { continue };
                let (r, c) = process(&mut tx, &cal, uuid, now).await?;
                report.warnings += r.warnings;
                report.overdue += r.overdue;
                committed.extend(c);
            }
            tx.commit().await?;
            state.notify(committed);
        }
        if (ids.len() as i64) < BATCH {
            break;
        }
    }
    Ok(report)
}

/// One item, inside the caller's write transaction.
async fn process(
    tx: &mut SqliteConnection,
    cal: &WorkCalendar,
    id: Uuid,
    now: DateTime<Utc>,
) -> Result<(TickReport, Option<Committed>)> {
    let mut report = TickReport::default();
    let Some(row) = load_item(&mut *tx, id).await? else {
        return Ok((report, None));
    };
    let plan = deadline::plan_row(&mut *tx, cal, &row).await?;
    let (Some(key), Some(clock), Some(due)) = (plan.clock_key(), plan.clock.as_ref(), plan.due_at) else {
        // No deadline (paused, none): nothing to look at until a change.
        sqlx::query("UPDATE items SET next_alert_at = NULL WHERE id = ?")
            .bind(&row.id)
            .execute(&mut *tx)
            .await?;
        return Ok((report, None));
    };
    let mut done = deadline::recorded_alerts(&mut *tx, &row.id, &key).await?;
    let reached: Vec<_> = plan
        .alerts
        .iter()
        .filter(|a| a.at <= now && !done.contains(&a.point))
        .cloned()
        .collect();
    let mut committed = None;
    if !reached.is_empty() {
        let seq = next_seq(&mut *tx).await?;
        let r = rule(clock.kind);
        let due_local = to_local(due).format("%Y-%m-%d %H:%M").to_string();
        let mut overdue = false;
        for a in &reached {
            sqlx::query(
                "INSERT OR IGNORE INTO clock_alerts (item_id, clock_key, point, recorded_at) VALUES (?, ?, ?, ?)",
            )
            .bind(&row.id)
            .bind(&key)
            .bind(&a.point)
            .bind(ts(now))
            .execute(&mut *tx)
            .await?;
            done.insert(a.point.clone());
            let (action, note) = if a.point == OVERDUE_POINT {
                overdue = true;
                report.overdue += 1;
                sqlx::query(
                    "INSERT OR IGNORE INTO supervision_cases
                     (item_id, unit_id, clock, clock_start, due_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                )
                .bind(&row.id)
                .bind(row.unit_id)
                .bind(clock.kind.code())
                .bind(ts(clock.start))
                .bind(ts(due))
                .bind(ts(now))
                .execute(&mut *tx)
                .await?;
                (
                    "overdue",
                    format!("超期：{}期限{due_local}已过，已记录督办", r.name_zh),
                )
            } else {
                report.warnings += 1;
                let pct = (a.share.unwrap_or(0.0) * 100.0).round();
                (
                    "warning",
                    format!("预警：{}时限已用{pct}%，期限{due_local}", r.name_zh),
                )
            };
            let event = ItemEvent {
                // When the point was reached (the overdue point: the deadline itself).
                at: if a.point == OVERDUE_POINT { due } else { a.at }.min(now),
                actor_id: None,
                actor_name: SYSTEM_ACTOR_NAME.to_owned(),
                action: action.to_owned(),
                status: row.status.clone(),
                note: Some(note),
                place: None,
            };
            append_event(&mut *tx, &row.id, &event, seq).await?;
        }
        sqlx::query(
            "UPDATE items SET version = ?, overdue = MAX(overdue, ?), supervision = MAX(supervision, ?) WHERE id = ?",
        )
        .bind(seq)
        .bind(overdue)
        .bind(overdue)
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
        if overdue {
            audit::record(
                &mut *tx,
                Entry {
                    action: "supervision.overdue",
                    target: Some(&row.number),
                    outcome: "recorded",
                    ..Default::default()
                },
            )
            .await?;
        }
        committed = Some(Committed {
            seq,
            unit_id: Some(row.unit_id),
            old_unit_id: None,
            agent_id: row.agent_id,
            background: true,
        });
    }
    sqlx::query("UPDATE items SET next_alert_at = ? WHERE id = ?")
        .bind(plan.next_alert(&done).map(ts))
        .bind(&row.id)
        .execute(&mut *tx)
        .await?;
    Ok((report, committed))
}
