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
use shimin_domain::item::Status;
use shimin_domain::role::Role;
use shimin_protocol::{CalendarAccepted, CalendarWire, ItemEvent};
use sqlx::{SqliteConnection, SqlitePool};

use crate::audit::{self, Entry};
use crate::auth::AuthUser;
use crate::db::next_seq;
use crate::http::Json;
use crate::items::{append_event, ItemRow, ITEM_READ_COLUMNS};
use crate::{deadline, Committed, Error, Result, SharedState};

/// Name recorded as the actor of history entries written by the server itself.
pub const SYSTEM_ACTOR_NAME: &str = "市民网系统";

/// Builds and validates the working calendar of a wire calendar (default office hours).
pub fn build(wire: &CalendarWire) -> Result<WorkCalendar, shimin_domain::calendar::CalendarError> {
    WorkCalendar::new(&wire.to_data(), SiteCalendar::default())
}

/// Stores the built-in national calendar if the database has none or an older version; the row
/// takes a change sequence number so desks pull it incrementally.
pub async fn ensure(writer: &SqlitePool) -> Result<()> {
    let data = shimin_domain::calendar::builtin_calendar_data();
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    let stored = stored_version(&mut tx).await?;
    if stored.is_none_or(|v| v < data.version) {
        let seq = next_seq(&mut tx).await?;
        store(&mut tx, &CalendarWire::from_data(&data), seq).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The stored calendar (wire form).
pub async fn load_wire(conn: &mut SqliteConnection) -> Result<Option<CalendarWire>> {
    let data: Option<String> = sqlx::query_scalar("SELECT data FROM calendar WHERE id = 1")
        .fetch_optional(conn)
        .await?;
    data.map(|d| serde_json::from_str(&d).map_err(Error::internal))
        .transpose()
}

/// The stored calendar, built; the built-in one if none is stored.
pub async fn load(conn: &mut SqliteConnection) -> Result<WorkCalendar> {
    match load_wire(conn).await? {
        Some(wire) => build(&wire).map_err(|e| Error::internal(format!("stored calendar is invalid: {e}"))),
        None => Ok(WorkCalendar::builtin()),
    }
}

async fn stored_version(conn: &mut SqliteConnection) -> Result<Option<u32>> {
    let v: Option<i64> = sqlx::query_scalar("SELECT data_version FROM calendar WHERE id = 1")
        .fetch_optional(conn)
        .await?;
    Ok(v.and_then(|v| u32::try_from(v).ok()))
}

async fn store(conn: &mut SqliteConnection, wire: &CalendarWire, seq: i64) -> Result<()> {
    let json = serde_json::to_string(wire).map_err(Error::internal)?;
    sqlx::query(
        "INSERT INTO calendar (id, data_version, data, version) VALUES (1, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET data_version = excluded.data_version, data = excluded.data,
         version = excluded.version",
    )
    .bind(i64::from(wire.version))
    .bind(json)
    .bind(seq)
    .execute(conn)
    .await?;
    Ok(())
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
    /// Changes to announce to the desks (the calendar itself and rescheduled items).
    pub committed: Vec<Committed>,
}

/// Validates and stores a new calendar version, reschedules open items, audits; in one write
/// transaction. Invalid data → `invalid_field`; a version not above the stored one →
/// `calendar_stale`. The caller swaps the calendar in force and pokes the desks.
pub async fn update(writer: &SqlitePool, wire: &CalendarWire, by: Option<Updater<'_>>) -> Result<Updated> {
    let target = format!("calendar v{}", wire.version);
    let calendar = match build(wire) {
        Ok(c) => c,
        Err(e) => {
            let mut conn = writer.acquire().await?;
            audit_update(&mut conn, by, "invalid_field", &target).await?;
            return Err(Error::invalid("calendar", e.to_string()));
        }
    };
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    if let Some(stored) = stored_version(&mut tx).await?.filter(|s| *s >= wire.version) {
        tx.rollback().await?;
        let mut conn = writer.acquire().await?;
        audit_update(&mut conn, by, "calendar_stale", &target).await?;
        return Err(Error::CalendarStale { stored });
    }
    // A version replaces the whole data set: it must not lose an official year in force (an
    // import of next year's schedule alone would turn this year provisional).
    if let Some(stored) = load_wire(&mut tx).await? {
        let lost = stored
            .years
            .iter()
            .filter(|y| y.official)
            .find(|old| !wire.years.iter().any(|y| y.year == old.year && y.official));
        if let Some(lost) = lost {
            tx.rollback().await?;
            let mut conn = writer.acquire().await?;
            audit_update(&mut conn, by, "invalid_field", &target).await?;
            return Err(Error::invalid(
                "calendar",
                format!("新版本缺少{}年的正式日程（每个版本须包含全部年份）", lost.year),
            ));
        }
    }
    let seq = next_seq(&mut tx).await?;
    store(&mut tx, wire, seq).await?;
    let mut committed = vec![Committed {
        seq,
        unit_id: None,
        old_unit_id: None,
        agent_id: None,
        background: true,
    }];
    committed.extend(reschedule(&mut tx, &calendar, wire.version).await?);
    let rescheduled = committed.len() as u64 - 1;
    audit_update(
        &mut tx,
        by,
        &format!("ok, {rescheduled} items rescheduled"),
        &target,
    )
    .await?;
    tx.commit().await?;
    tracing::info!(version = wire.version, rescheduled, "calendar updated");
    Ok(Updated {
        accepted: CalendarAccepted {
            version: wire.version,
            seq,
            items_rescheduled: rescheduled,
        },
        calendar,
        committed,
    })
}

async fn audit_update(
    conn: &mut SqliteConnection,
    by: Option<Updater<'_>>,
    outcome: &str,
    target: &str,
) -> Result<()> {
    audit::record(
        conn,
        Entry {
            user_id: by.map(|b| b.user_id),
            username: by.map(|b| b.username),
            action: "calendar.update",
            target: Some(target),
            client_id: by.map(|b| b.client_id),
            outcome,
        },
    )
    .await
}

/// Recomputes the deadlines of open items with `cal`; items whose deadline moves get a new
/// version and a `deadline_changed` history entry.
async fn reschedule(conn: &mut SqliteConnection, cal: &WorkCalendar, version: u32) -> Result<Vec<Committed>> {
    let closed: Vec<&str> = Status::ALL
        .into_iter()
        .filter(|s| s.is_closed())
        .map(|s| s.code())
        .collect();
    let rows: Vec<ItemRow> = sqlx::query_as(&format!(
        "SELECT {ITEM_READ_COLUMNS} FROM items WHERE status NOT IN (SELECT value FROM json_each(?))"
    ))
    .bind(serde_json::to_string(&closed).map_err(Error::internal)?)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for row in rows {
        let r = deadline::refresh(conn, cal, &row, true).await?;
        if !r.changed {
            continue;
        }
        let seq = next_seq(conn).await?;
        sqlx::query("UPDATE items SET version = ? WHERE id = ?")
            .bind(seq)
            .bind(&row.id)
            .execute(&mut *conn)
            .await?;
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
            status: row.status.clone(),
            note: Some(format!(
                "工作日历更新为第{version}版，办理期限由{}调整为{}",
                fmt(r.old_due_at),
                fmt(r.plan.due_at)
            )),
            place: None,
        };
        append_event(conn, &row.id, &event, seq).await?;
        out.push(Committed {
            seq,
            unit_id: Some(row.unit_id),
            old_unit_id: None,
            agent_id: row.agent_id,
            background: true,
        });
    }
    Ok(out)
}

/// `PUT ADMIN_CALENDAR` (sysadmin only).
pub async fn put(
    State(state): State<SharedState>,
    user: AuthUser,
    Json(wire): Json<CalendarWire>,
) -> Result<Json<CalendarAccepted>> {
    if user.role != Role::Sysadmin {
        let mut conn = state.writer.acquire().await?;
        audit::record(&mut conn, user.audit_entry("calendar.update", None, "forbidden")).await?;
        return Err(Error::Forbidden);
    }
    let by = Updater {
        user_id: user.id,
        username: &user.username,
        client_id: &user.client_id,
    };
    let updated = update(&state.writer, &wire, Some(by)).await?;
    state.set_calendar(updated.calendar);
    state.notify(updated.committed);
    Ok(Json(updated.accepted))
}

/// Reloads the calendar in force if the stored one is newer (an import from the command line
/// while the server runs); pokes every desk then. Returns whether it changed.
pub async fn reload_if_changed(state: &SharedState) -> Result<bool> {
    let mut conn = state.pool.acquire().await?;
    let Some(stored) = stored_version(&mut conn).await? else {
        return Ok(false);
    };
    if stored == state.calendar().data_version() {
        return Ok(false);
    }
    let cal = load(&mut conn).await?;
    let seq = crate::db::current_seq(&mut conn).await?;
    drop(conn);
    tracing::info!(version = stored, "calendar reloaded from the database");
    state.set_calendar(cal);
    state.notify([Committed {
        seq,
        unit_id: None,
        old_unit_id: None,
        agent_id: None,
        background: true,
    }]);
    Ok(true)
}
