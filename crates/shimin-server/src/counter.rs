//! Counter events (窗口叫号, R-CTR): desks record each step of their hall tickets (叫号, 开始办理,
//! 挂起, 恢复, 办结, 过号) offline too and hand them in with their next sync, like reveals. Here
//! each becomes a row of `ticket_events` (once, by the desk's id); the hall screen reads the
//! latest calls of the clerk's site, and reports read each ticket's waiting and service times,
//! computed by `shimin_domain::counter::ticket_times` (suspended time is not service time).

use std::collections::BTreeMap;

use axum::extract::{Query, State};
use axum::Json;
use chrono::Utc;
use shimin_domain::calendar::to_local;
use shimin_domain::counter::{may_record, ticket_scope, ticket_times, TicketStep};
use shimin_protocol::{
    HallCall, TicketEvent, TicketEventBatch, TicketEventReceipt, TicketQuery, TicketReport, TicketStepAt,
    TransferQuery, TransferredTicket, MAX_TICKET_EVENT_BATCH,
};

use crate::auth::AuthUser;
use crate::reveals::MAX_CLOCK_AHEAD;
use crate::store::{FigureScope, TicketEventRow};
use crate::{Error, Result, SharedState};

/// Calls the hall screen shows (the current call of each window and the last few).
const HALL_CALLS_SHOWN: i64 = 40;

/// `POST TICKET_EVENTS`: records the desk's counter events. An event the server cannot take
/// (a ticket number that is not one, a window outside 1–99) is settled without a row and
/// logged: a desk must never be stuck on a record it cannot change.
pub async fn record(
    State(state): State<SharedState>,
    user: AuthUser,
    Json(batch): Json<TicketEventBatch>,
) -> Result<Json<TicketEventReceipt>> {
    let unit_id = counter_unit(&user)?;
    if batch.events.len() > MAX_TICKET_EVENT_BATCH {
        return Err(Error::invalid(
            "events",
            format!("一次最多提交{MAX_TICKET_EVENT_BATCH}条"),
        ));
    }
    let now = Utc::now();
    let mut tx = state.store.write().await?;
    let mut recorded = 0;
    for e in &batch.events {
        if let Err(why) = acceptable(e) {
            tracing::warn!(event = %e.id, why, "counter event settled without a record");
            continue;
        }
        let row = TicketEventRow {
            id: e.id,
            client_id: user.client_id.clone(),
            user_id: user.id,
            unit_id,
            day: e.day,
            ticket_no: e.ticket_no.clone(),
            step: e.step,
            at: if e.at > now + MAX_CLOCK_AHEAD { now } else { e.at },
            issued_at: e.issued_at.min(now + MAX_CLOCK_AHEAD),
            item_id: e.item_id,
            window_no: e.window_no.map(|n| n as i32),
            to_window: e.to_window.map(|n| n as i32),
            recorded_at: now,
        };
        if tx.record_ticket_event(&row).await? {
            recorded += 1;
        }
    }
    tx.commit().await?;
    Ok(Json(TicketEventReceipt { recorded }))
}

/// The unit of a user with a counter (the only ones who record or receive tickets).
fn counter_unit(user: &AuthUser) -> Result<i64> {
    let actor = user.actor();
    actor
        .unit_id
        .filter(|_| may_record(&actor))
        .ok_or(Error::Forbidden)
}

/// Why an event cannot be recorded as it is.
fn acceptable(e: &TicketEvent) -> std::result::Result<(), &'static str> {
    let no = &e.ticket_no;
    if no.is_empty() || no.len() > 16 || !no.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err("ticket number");
    }
    let window = |n: Option<u32>| n.is_some_and(|n| !(1..=99).contains(&n));
    if window(e.window_no) || window(e.to_window) {
        return Err("window number");
    }
    if (e.step == TicketStep::Transferred) != e.to_window.is_some() {
        return Err("a transfer names its window, nothing else does");
    }
    Ok(())
}

/// `GET HALL_CALLS`: today's latest calls at the caller's site, newest first (the hall screen).
pub async fn hall_calls(State(state): State<SharedState>, user: AuthUser) -> Result<Json<Vec<HallCall>>> {
    let unit = user.unit_id.ok_or(Error::Forbidden)?;
    let today = to_local(Utc::now()).date();
    let rows = state
        .store
        .reader()
        .await?
        .hall_calls(today, unit, HALL_CALLS_SHOWN)
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| HallCall {
                ticket_no: r.ticket_no,
                window_no: r.window_no.map(|n| n as u32),
                at: r.at,
            })
            .collect(),
    ))
}

/// `GET COUNTER_TRANSFERS?window=N`: today's tickets sent (转窗) to window N of the caller's
/// site, oldest first; the receiving desk takes each once (by its transfer id).
pub async fn transfers(
    State(state): State<SharedState>,
    user: AuthUser,
    query: std::result::Result<Query<TransferQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<TransferredTicket>>> {
    let Query(q) = query.map_err(|e| Error::Malformed(e.body_text()))?;
    let unit = counter_unit(&user)?;
    if !(1..=99).contains(&q.window) {
        return Err(Error::invalid("window", "窗口号应为 1 到 99 之间的数字"));
    }
    let today = to_local(Utc::now()).date();
    let rows = state
        .store
        .reader()
        .await?
        .transfers_to(today, unit, q.window as i32)
        .await?;
    Ok(Json(
        rows.into_iter()
            .map(|r| TransferredTicket {
                transfer_id: r.id,
                ticket_no: r.ticket_no,
                from_window: r.window_no.map(|n| n as u32),
                at: r.at,
                item_id: r.item_id,
            })
            .collect(),
    ))
}

/// `GET COUNTER_TICKETS?day=`: the day's tickets the caller may see, each with its times.
pub async fn tickets(
    State(state): State<SharedState>,
    user: AuthUser,
    query: std::result::Result<Query<TicketQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<TicketReport>>> {
    let Query(q) = query.map_err(|e| Error::Malformed(e.body_text()))?;
    let scope: FigureScope = ticket_scope(&user.actor()).ok_or(Error::Forbidden)?;
    let rows = state.store.reader().await?.ticket_events(q.day, scope).await?;
    // A ticket: its desk, number and issue time (a number can come back to a desk the same day
    // when another window sends it there).
    type Key = (String, String, chrono::DateTime<Utc>);
    let mut tickets: BTreeMap<Key, Vec<(TicketEventRow, String)>> = BTreeMap::new();
    for (row, name) in rows {
        tickets
            .entry((row.client_id.clone(), row.ticket_no.clone(), row.issued_at))
            .or_default()
            .push((row, name));
    }
    Ok(Json(
        tickets
            .into_values()
            .filter_map(|events| report(&events))
            .collect(),
    ))
}

/// One ticket's report from its events (oldest first).
fn report(events: &[(TicketEventRow, String)]) -> Option<TicketReport> {
    let (first, name) = events.first()?;
    let steps: Vec<_> = events.iter().map(|(e, _)| (e.step, e.at)).collect();
    let times = ticket_times(first.issued_at, &steps);
    let window_no = events
        .iter()
        .rev()
        .find_map(|(e, _)| e.window_no)
        .map(|n| n as u32);
    Some(TicketReport {
        day: first.day,
        ticket_no: first.ticket_no.clone(),
        user_id: first.user_id,
        user_name: name.clone(),
        unit_id: first.unit_id,
        window_no,
        issued_at: first.issued_at,
        called_at: times.called_at,
        started_at: times.started_at,
        ended_at: times.ended.map(|(_, at)| at),
        outcome: times.ended.map(|(step, _)| step),
        waited_ms: times.waited.map(|d| d.num_milliseconds()),
        served_ms: times.served.map(|d| d.num_milliseconds()),
        suspended_ms: times.suspended.num_milliseconds(),
        steps: steps
            .into_iter()
            .map(|(step, at)| TicketStepAt { step, at })
            .collect(),
    })
}
