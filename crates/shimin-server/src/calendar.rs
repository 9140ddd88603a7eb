//! The working-time calendar in force (工作日历, R-CAL) as versioned data: stored in the
//! `calendar` row, distributed to desks as `Change::Calendar`, updated by a system
//! administrator (`PUT ADMIN_CALENDAR`, or `shimin-server calendar import FILE.json`), e.g.
//! when the State Council publishes next year's holiday schedule.
//!
//! Every site uses the default (Handan) office hours for now; the wire carries the national
//! schedule only.
//!
//! A version is the whole data set and may not drop an official year already in force.
//!
//! After an update, every open item whose clock still runs gets its deadline recomputed with the
//! new calendar (R-CAL-CLOCK: the deadline of a provisional year moves once the official
//! schedule is known). Items whose deadline changes get a new version and a `deadline_changed`
//! history entry, so desks pull them; clocks already met keep their recorded deadline. This
//! is O(open items), once per (rare) calendar update, inside the update's transaction.

use axum::extract::State;
use chrono::Utc;
use shimin_domain::calendar::{SiteCalendar, WorkCalendar};
use shimin_domain::role::Role;
use shimin_protocol::{CalendarAccepted, CalendarWire, ItemEvent};

use crate::audit::Entry;
use crate::auth::AuthUser;
use crate::http::Json;
use crate::store::{Store, Writes};
use crate::{deadline, Committed, Error, Result, SharedState};

/// Name recorded as the actor of history entries written by the server itself.
pub const SYSTEM_ACTOR_NAME: &str = "市民网系统";

/// Builds and validates the working calendar of a wire calendar (default office hours).
pub fn build(wire: &CalendarWire) -> Result<WorkCalendar, shimin_domain::calendar::CalendarError> {
    WorkCalendar::new(&wire.to_data(), SiteCalendar::default())
}

/// Stores the built-in national calendar if the database has none or an older version; the row
/// takes a change sequence number so desks pull it incrementally.
pub async fn ensure(store: &Store) -> Result<()> {
    let data = shimin_domain::calendar::builtin_calendar_data();
    let mut tx = store.write().await?;
    let stored = tx.calendar().await?.map(|c| c.data_version);
    if stored.is_none_or(|v| v < data.version) {
        let seq = tx.next_seq().await?;
        tx.store_calendar(&CalendarWire::from_data(&data), seq).await?;
        tx.announce(Committed {
            seq,
            background: true,
            ..Committed::everyone()
        });
    }
    tx.commit().await
}

/// The stored calendar, built; the built-in one if none is stored.
pub async fn load(store: &Store) -> Result<WorkCalendar> {
    match store.reader().await?.calendar().await? {
        Some(c) => build(&c.wire).map_err(|e| Error::internal(format!("stored calendar is invalid: {e}"))),
        None => Ok(WorkCalendar::builtin()),
    }
}

/// Who updates the calendar (audit trail); `None` = the command line.
#[derive(Debug, Clone, Copy)]
pub struct Updater<'a> {
    pub user_id: i64,
    pub username: &'a str,
    pub client_id: &'a str,
}

/// A committed calendar update.
#[derive(Debug, Clone)]
pub struct Updated {
    pub accepted: CalendarAccepted,
    pub calendar: WorkCalendar,
}

/// Records a refused update (its own transaction).
async fn refuse(
    store: &Store,
    by: Option<Updater<'_>>,
    outcome: &str,
    target: &str,
    e: Error,
) -> Result<Updated> {
    let mut tx = store.write().await?;
    tx.audit(update_entry(by, outcome, target));
    tx.commit().await?;
    Err(e)
}

/// Validates and stores a new calendar version, reschedules open items, audits; in one write
/// transaction. Invalid data → `invalid_field`; a version not above the stored one →
/// `calendar_stale`. The caller swaps the calendar in force.
pub async fn update(store: &Store, wire: &CalendarWire, by: Option<Updater<'_>>) -> Result<Updated> {
    let target = format!("calendar v{}", wire.version);
    let calendar = match build(wire) {
        Ok(c) => c,
        Err(e) => {
            let err = Error::invalid("calendar", e.to_string());
            return refuse(store, by, "invalid_field", &target, err).await;
        }
    };
    let mut tx = store.write().await?;
    let stored = tx.calendar().await?;
    if let Some(stored) = stored.as_ref().filter(|s| s.data_version >= wire.version) {
        let err = Error::CalendarStale {
            stored: stored.data_version,
        };
        drop(tx);
        return refuse(store, by, "calendar_stale", &target, err).await;
    }
    // A version replaces the whole data set: it must not lose an official year in force (an
    // import of next year's schedule alone would turn this year provisional).
    if let Some(stored) = stored {
        let lost = stored
            .wire
            .years
            .iter()
            .filter(|y| y.official)
            .find(|old| !wire.years.iter().any(|y| y.year == old.year && y.official));
        if let Some(lost) = lost {
            let err = Error::invalid(
                "calendar",
                format!("新版本缺少{}年的正式日程（每个版本须包含全部年份）", lost.year),
            );
            drop(tx);
            return refuse(store, by, "invalid_field", &target, err).await;
        }
    }
    // Items first, then the change number (the lock order of store/mod.rs).
    let open = tx.open_items().await?;
    let ids: Vec<uuid::Uuid> = open.iter().map(|i| i.id).collect();
    tx.lock_items(&ids).await?;
    let seq = tx.next_seq().await?;
    tx.store_calendar(wire, seq).await?;
    tx.announce(Committed {
        seq,
        background: true,
        ..Committed::everyone()
    });
    let rescheduled = reschedule(&mut *tx, &calendar, open, wire.version).await?;
    tx.audit(update_entry(
        by,
        &format!("ok, {rescheduled} items rescheduled"),
        &target,
    ));
    tx.commit().await?;
    tracing::info!(version = wire.version, rescheduled, "calendar updated");
    Ok(Updated {
        accepted: CalendarAccepted {
            version: wire.version,
            seq,
            items_rescheduled: rescheduled,
        },
        calendar,
    })
}

fn update_entry<'a>(by: Option<Updater<'a>>, outcome: &'a str, target: &'a str) -> Entry<'a> {
    Entry {
        user_id: by.map(|b| b.user_id),
        username: by.map(|b| b.username),
        action: "calendar.update",
        target: Some(target),
        client_id: by.map(|b| b.client_id),
        outcome,
    }
}

/// Recomputes the deadlines of open items with `cal`; items whose deadline moves get a new
/// version and a `deadline_changed` history entry. Returns how many moved.
async fn reschedule(
    tx: &mut dyn Writes,
    cal: &WorkCalendar,
    open: Vec<crate::store::StoredItem>,
    version: u32,
) -> Result<u64> {
    let mut moved = 0;
    for item in open {
        let r = deadline::refresh(tx, cal, &item, true).await?;
        if !r.changed {
            continue;
        }
        moved += 1;
        let seq = tx.next_seq().await?;
        tx.set_item_version(item.id, seq).await?;
        let fmt = |t: Option<chrono::DateTime<Utc>>| {
            t.map(|t| {
                shimin_domain::calendar::to_local(t)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_else(|| "无".to_owned())
        };
        let event = ItemEvent {
            at: Utc::now(),
            actor_id: None,
            actor_name: SYSTEM_ACTOR_NAME.to_owned(),
            action: "deadline_changed".to_owned(),
            status: item.status,
            note: Some(format!(
                "工作日历更新为第{version}版，办理期限由{}调整为{}",
                fmt(r.old_due_at),
                fmt(r.plan.due_at)
            )),
            place: None,
        };
        tx.append_event(item.id, &event, seq).await?;
        tx.announce(Committed {
            seq,
            unit_id: Some(item.unit_id),
            old_unit_id: None,
            agent_id: item.agent_id,
            background: true,
        });
    }
    Ok(moved)
}

/// `PUT ADMIN_CALENDAR` (sysadmin only).
pub async fn put(
    State(state): State<SharedState>,
    user: AuthUser,
    Json(wire): Json<CalendarWire>,
) -> Result<Json<CalendarAccepted>> {
    if user.role != Role::Sysadmin {
        let mut tx = state.store.write().await?;
        tx.audit(user.audit_entry("calendar.update", None, "forbidden"));
        tx.commit().await?;
        return Err(Error::Forbidden);
    }
    let by = Updater {
        user_id: user.id,
        username: &user.username,
        client_id: &user.client_id,
    };
    let updated = update(&state.store, &wire, Some(by)).await?;
    state.set_calendar(updated.calendar);
    Ok(Json(updated.accepted))
}

/// Reloads the calendar in force if the stored one is newer (an import from the command line,
/// or another instance's update); pokes this instance's desks then. Returns whether it changed.
pub async fn reload_if_changed(state: &SharedState) -> Result<bool> {
    let Some(stored) = state.store.reader().await?.calendar().await? else {
        return Ok(false);
    };
    if stored.data_version == state.calendar().data_version() {
        return Ok(false);
    }
    let cal = build(&stored.wire).map_err(|e| Error::internal(format!("stored calendar is invalid: {e}")))?;
    tracing::info!(
        version = stored.data_version,
        "calendar reloaded from the database"
    );
    state.set_calendar(cal);
    state.poke_local(Committed {
        seq: stored.version,
        background: true,
        ..Committed::everyone()
    });
    Ok(true)
}
