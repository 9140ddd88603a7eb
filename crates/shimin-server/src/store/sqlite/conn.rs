//! [`Reads`] and [`Writes`] on SQLite: one connection, pooled (single reads) or in a
//! transaction (snapshots on a reader, writes on the single writer).

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shimin_domain::identity::PersonalField;
use shimin_domain::item::{ItemKind, Status};
use shimin_domain::ladder::Presence;
use shimin_domain::role::{Role, Scope, UnitKind};
use shimin_domain::supervision::CaseStage;
use shimin_protocol::{Applicant, CalendarWire, ItemEvent};
use sqlx::pool::PoolConnection;
use sqlx::{Sqlite, SqliteConnection, Transaction};
use uuid::Uuid;

use super::{parse_ts, ts};
use crate::audit::{self, OwnedEntry};
use crate::store::model::*;
use crate::store::{Announcer, Pending, Reads, Writes};
use crate::{Committed, Error, Result};

enum Inner {
    Pooled(PoolConnection<Sqlite>),
    Tx(Transaction<'static, Sqlite>),
}

/// A SQLite connection as the store hands it out.
pub(super) struct SqliteConn {
    inner: Inner,
    pending: Pending,
    announcer: Option<Announcer>,
}

impl std::fmt::Debug for SqliteConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SqliteConn")
    }
}

impl SqliteConn {
    pub(super) fn pooled(c: PoolConnection<Sqlite>) -> SqliteConn {
        SqliteConn {
            inner: Inner::Pooled(c),
            pending: Pending::default(),
            announcer: None,
        }
    }

    pub(super) fn tx(t: Transaction<'static, Sqlite>, announcer: Announcer) -> SqliteConn {
        SqliteConn {
            inner: Inner::Tx(t),
            pending: Pending::default(),
            announcer: Some(announcer),
        }
    }

    fn c(&mut self) -> &mut SqliteConnection {
        match &mut self.inner {
            Inner::Pooled(c) => c,
            Inner::Tx(t) => t,
        }
    }
}

/// Columns of [`ItemRow`], in order.
const ITEM_COLUMNS: &str = "id, number, kind, status, unit_id, matter_id, agent_id, handler_id, applicant_name, \
     applicant_id_number, applicant_phone, title, content, received_at, due_at, due_provisional, details, version, \
     overdue, supervision, next_alert_at";

#[derive(sqlx::FromRow)]
pub(super) struct ItemRow {
    id: String,
    number: String,
    kind: String,
    status: String,
    unit_id: i64,
    matter_id: Option<i64>,
    agent_id: Option<i64>,
    handler_id: Option<i64>,
    applicant_name: String,
    applicant_id_number: String,
    applicant_phone: String,
    title: String,
    content: String,
    received_at: String,
    due_at: Option<String>,
    due_provisional: bool,
    details: String,
    version: i64,
    overdue: bool,
    supervision: bool,
    next_alert_at: Option<String>,
}

pub(super) fn uuid(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| Error::internal(format!("bad uuid {s:?} in database: {e}")))
}

pub(super) fn kind(s: &str) -> Result<ItemKind> {
    ItemKind::from_code(s).ok_or_else(|| Error::internal(format!("unknown item kind {s} in database")))
}

pub(super) fn status(s: &str) -> Result<Status> {
    Status::from_code(s).ok_or_else(|| Error::internal(format!("unknown status {s} in database")))
}

pub(super) fn presence(s: &str) -> Result<Presence> {
    Presence::from_code(s).ok_or_else(|| Error::internal(format!("unknown presence {s} in database")))
}

pub(super) fn unit_kind(s: &str) -> Result<UnitKind> {
    UnitKind::from_code(s).ok_or_else(|| Error::internal(format!("unknown unit kind {s} in database")))
}

pub(super) fn personal_field(s: &str) -> Result<PersonalField> {
    PersonalField::from_code(s)
        .ok_or_else(|| Error::internal(format!("unknown personal field {s} in database")))
}

pub(super) fn role(s: &str) -> Result<Role> {
    Role::from_code(s).ok_or_else(|| Error::internal(format!("unknown role {s} in database")))
}

pub(super) fn opt_ts(s: Option<&str>) -> Result<Option<DateTime<Utc>>> {
    s.map(parse_ts).transpose()
}

impl ItemRow {
    pub(super) fn into_item(self) -> Result<StoredItem> {
        Ok(StoredItem {
            id: uuid(&self.id)?,
            number: self.number,
            kind: kind(&self.kind)?,
            status: status(&self.status)?,
            unit_id: self.unit_id,
            matter_id: self.matter_id,
            agent_id: self.agent_id,
            handler_id: self.handler_id,
            applicant: Applicant {
                name: self.applicant_name,
                id_number: self.applicant_id_number,
                phone: self.applicant_phone,
            },
            title: self.title,
            content: self.content,
            received_at: parse_ts(&self.received_at)?,
            due_at: opt_ts(self.due_at.as_deref())?,
            due_provisional: self.due_provisional,
            details: serde_json::from_str(&self.details).map_err(Error::internal)?,
            version: self.version,
            overdue: self.overdue,
            supervision: self.supervision,
            next_alert_at: opt_ts(self.next_alert_at.as_deref())?,
        })
    }
}

fn items(rows: Vec<ItemRow>) -> Result<Vec<StoredItem>> {
    rows.into_iter().map(ItemRow::into_item).collect()
}

#[derive(sqlx::FromRow)]
struct EventRow {
    item_id: String,
    at: String,
    actor_id: Option<i64>,
    actor_name: String,
    action: String,
    status: String,
    note: Option<String>,
    place: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(super) struct MatterSql {
    id: i64,
    code: String,
    name: String,
    unit_id: i64,
    promised_days: i64,
    materials: String,
    fee_fen: i64,
    a_clerk_id: Option<i64>,
    b_clerk_id: Option<i64>,
    version: i64,
}

impl MatterSql {
    pub(super) fn into_row(self) -> Result<MatterRow> {
        Ok(MatterRow {
            id: self.id,
            code: self.code,
            name: self.name,
            unit_id: self.unit_id,
            promised_days: u32::try_from(self.promised_days).unwrap_or(0),
            materials: serde_json::from_str(&self.materials).map_err(Error::internal)?,
            fee_fen: self.fee_fen,
            a_clerk_id: self.a_clerk_id,
            b_clerk_id: self.b_clerk_id,
            version: self.version,
        })
    }
}

pub(super) const MATTER_COLUMNS: &str =
    "id, code, name, unit_id, promised_days, materials, fee_fen, a_clerk_id, b_clerk_id, version";

#[derive(sqlx::FromRow)]
pub(super) struct ColleagueSql {
    id: i64,
    username: String,
    display_name: String,
    role: String,
    unit_id: Option<i64>,
    presence: String,
    version: i64,
}

impl ColleagueSql {
    pub(super) fn into_row(self) -> Result<ColleagueRow> {
        Ok(ColleagueRow {
            id: self.id,
            username: self.username,
            display_name: self.display_name,
            role: role(&self.role)?,
            unit_id: self.unit_id,
            presence: presence(&self.presence)?,
            version: self.version,
        })
    }
}

/// The filter of a figures read by `scope` (columns `unit_id`, `person_id`) as parameter
/// `?n`, with its value (numbered: the reads number their other parameters).
fn figure_filter(scope: FigureScope, n: u32) -> (String, Option<i64>) {
    match scope {
        FigureScope::Own(user) => (format!("AND person_id = ?{n}"), Some(user)),
        FigureScope::Unit(unit) => (format!("AND unit_id = ?{n}"), Some(unit)),
        FigureScope::All => (String::new(), None),
    }
}

/// The columns of a [`CaseSql`] (cases `c` joined with their items `i`).
const CASE_COLUMNS: &str =
    "c.id, c.item_id, i.number, c.unit_id, c.clock, c.due_at, c.recorded_at, c.stage, c.stage_since, c.reason";

#[derive(sqlx::FromRow)]
struct CaseSql {
    id: i64,
    item_id: String,
    number: String,
    unit_id: i64,
    clock: String,
    due_at: String,
    recorded_at: String,
    stage: String,
    stage_since: Option<String>,
    reason: Option<String>,
}

impl CaseSql {
    fn decode(self) -> Result<CaseRow> {
        let recorded_at = parse_ts(&self.recorded_at)?;
        Ok(CaseRow {
            id: self.id,
            item_id: uuid(&self.item_id)?,
            item_number: self.number,
            unit_id: self.unit_id,
            clock: self.clock,
            due_at: parse_ts(&self.due_at)?,
            recorded_at,
            stage: case_stage(&self.stage)?,
            stage_since: opt_ts(self.stage_since.as_deref())?.unwrap_or(recorded_at),
            reason: self.reason,
        })
    }
}

fn closed_codes() -> String {
    let closed: Vec<&str> = Status::ALL
        .into_iter()
        .filter(|s| s.is_closed())
        .map(|s| s.code())
        .collect();
    serde_json::to_string(&closed).expect("codes serialise")
}

#[async_trait]
impl Reads for SqliteConn {
    async fn item(&mut self, id: Uuid) -> Result<Option<StoredItem>> {
        let row: Option<ItemRow> = sqlx::query_as(&format!("SELECT {ITEM_COLUMNS} FROM items WHERE id = ?"))
            .bind(id.to_string())
            .fetch_optional(self.c())
            .await?;
        row.map(ItemRow::into_item).transpose()
    }

    async fn item_by_number(&mut self, number: &str) -> Result<Option<StoredItem>> {
        let row: Option<ItemRow> =
            sqlx::query_as(&format!("SELECT {ITEM_COLUMNS} FROM items WHERE number = ?"))
                .bind(number)
                .fetch_optional(self.c())
                .await?;
        row.map(ItemRow::into_item).transpose()
    }

    async fn events(&mut self, ids: &[Uuid]) -> Result<HashMap<Uuid, Vec<ItemEvent>>> {
        let mut out: HashMap<Uuid, Vec<ItemEvent>> = HashMap::new();
        if ids.is_empty() {
            return Ok(out);
        }
        let list: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT item_id, at, actor_id, actor_name, action, status, note, place FROM item_events
             WHERE item_id IN (SELECT value FROM json_each(?)) ORDER BY item_id, id",
        )
        .bind(serde_json::to_string(&list).map_err(Error::internal)?)
        .fetch_all(self.c())
        .await?;
        for r in rows {
            out.entry(uuid(&r.item_id)?).or_default().push(ItemEvent {
                at: parse_ts(&r.at)?,
                actor_id: r.actor_id,
                actor_name: r.actor_name,
                action: r.action,
                status: status(&r.status)?,
                note: r.note,
                place: r.place,
            });
        }
        Ok(out)
    }

    async fn changed_items(&mut self, scope: Scope, cursor: i64, limit: i64) -> Result<Vec<StoredItem>> {
        let rows: Vec<ItemRow> = match scope {
            Scope::Unit(u) => {
                sqlx::query_as(&format!(
                    "SELECT {ITEM_COLUMNS} FROM items WHERE unit_id = ? AND version > ? ORDER BY version LIMIT ?"
                ))
                .bind(u)
                .bind(cursor)
                .bind(limit)
                .fetch_all(self.c())
                .await?
            }
            Scope::Agent(a) => {
                sqlx::query_as(&format!(
                    "SELECT {ITEM_COLUMNS} FROM items WHERE agent_id = ? AND version > ? ORDER BY version LIMIT ?"
                ))
                .bind(a)
                .bind(cursor)
                .bind(limit)
                .fetch_all(self.c())
                .await?
            }
            Scope::AllMasked => {
                sqlx::query_as(&format!(
                    "SELECT {ITEM_COLUMNS} FROM items WHERE version > ? ORDER BY version LIMIT ?"
                ))
                .bind(cursor)
                .bind(limit)
                .fetch_all(self.c())
                .await?
            }
            Scope::Nothing => Vec::new(),
        };
        items(rows)
    }

    async fn removals(&mut self, scope: Scope, cursor: i64, limit: i64) -> Result<Vec<Removal>> {
        let rows: Vec<(String, i64)> =
            match scope {
                Scope::Unit(u) => sqlx::query_as(
                    "SELECT item_id, seq FROM removals WHERE unit_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                )
                .bind(u)
                .bind(cursor)
                .bind(limit)
                .fetch_all(self.c())
                .await?,
                Scope::Agent(a) => sqlx::query_as(
                    "SELECT item_id, seq FROM removals WHERE agent_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                )
                .bind(a)
                .bind(cursor)
                .bind(limit)
                .fetch_all(self.c())
                .await?,
                Scope::AllMasked | Scope::Nothing => Vec::new(),
            };
        rows.into_iter()
            .map(|(id, seq)| {
                Ok(Removal {
                    item_id: uuid(&id)?,
                    seq,
                })
            })
            .collect()
    }

    async fn open_items(&mut self) -> Result<Vec<StoredItem>> {
        let rows: Vec<ItemRow> = sqlx::query_as(&format!(
            "SELECT {ITEM_COLUMNS} FROM items WHERE status NOT IN (SELECT value FROM json_each(?))"
        ))
        .bind(closed_codes())
        .fetch_all(self.c())
        .await?;
        items(rows)
    }

    async fn items_due_for_alerts(&mut self, now: DateTime<Utc>, limit: i64) -> Result<Vec<Uuid>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM items WHERE next_alert_at IS NOT NULL AND next_alert_at <= ?
             ORDER BY next_alert_at LIMIT ?",
        )
        .bind(ts(now))
        .bind(limit)
        .fetch_all(self.c())
        .await?;
        ids.iter().map(|s| uuid(s)).collect()
    }

    async fn recorded_alerts(&mut self, item: Uuid, clock_key: &str) -> Result<HashSet<String>> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT point FROM clock_alerts WHERE item_id = ? AND clock_key = ?")
                .bind(item.to_string())
                .bind(clock_key)
                .fetch_all(self.c())
                .await?;
        Ok(rows.into_iter().collect())
    }

    async fn supervision_cases(&mut self, item: Uuid) -> Result<Vec<(String, DateTime<Utc>)>> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT clock, due_at FROM supervision_cases WHERE item_id = ? ORDER BY id")
                .bind(item.to_string())
                .fetch_all(self.c())
                .await?;
        rows.into_iter().map(|(c, d)| Ok((c, parse_ts(&d)?))).collect()
    }

    async fn case(&mut self, id: i64) -> Result<Option<CaseRow>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM supervision_cases c JOIN items i ON i.id = c.item_id WHERE c.id = ?"
        );
        sqlx::query_as::<_, CaseSql>(&sql)
            .bind(id)
            .fetch_optional(self.c())
            .await?
            .map(CaseSql::decode)
            .transpose()
    }

    async fn cases(&mut self, filter: CaseFilter, limit: i64) -> Result<Vec<CaseRow>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM supervision_cases c JOIN items i ON i.id = c.item_id
             WHERE (?1 IS NULL OR c.unit_id = ?1) AND (?2 = 0 OR c.stage <> 'closed')
             ORDER BY c.recorded_at DESC, c.id DESC LIMIT ?3"
        );
        sqlx::query_as::<_, CaseSql>(&sql)
            .bind(filter.unit)
            .bind(filter.open_only)
            .bind(limit)
            .fetch_all(self.c())
            .await?
            .into_iter()
            .map(CaseSql::decode)
            .collect()
    }

    async fn appeal_upheld(&mut self, item: Uuid) -> Result<bool> {
        Ok(sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM supervision_cases c JOIN supervision_steps s ON s.case_id = c.id
             WHERE c.item_id = ? AND s.action = 'uphold')",
        )
        .bind(item.to_string())
        .fetch_one(self.c())
        .await?)
    }

    async fn case_steps(&mut self, ids: &[i64]) -> Result<HashMap<i64, Vec<CaseStepRow>>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            case_id: i64,
            at: String,
            actor_id: Option<i64>,
            actor_name: String,
            action: String,
            cause: Option<String>,
            correction: Option<String>,
            note: Option<String>,
        }
        let ids = serde_json::to_string(ids).map_err(Error::internal)?;
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT case_id, at, actor_id, actor_name, action, cause, correction, note FROM supervision_steps
             WHERE case_id IN (SELECT value FROM json_each(?)) ORDER BY case_id, id",
        )
        .bind(ids)
        .fetch_all(self.c())
        .await?;
        let mut out: HashMap<i64, Vec<CaseStepRow>> = HashMap::new();
        for r in rows {
            out.entry(r.case_id).or_default().push(CaseStepRow {
                case_id: r.case_id,
                at: parse_ts(&r.at)?,
                actor_id: r.actor_id,
                actor_name: r.actor_name,
                action: case_action(&r.action)?,
                cause: r.cause,
                correction: r.correction,
                note: r.note,
            });
        }
        Ok(out)
    }

    async fn latest(&mut self) -> Result<Latest> {
        let (sites, units, matters, users, calendar, seq): (
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            i64,
        ) = sqlx::query_as(
            "SELECT (SELECT max(version) FROM sites), (SELECT max(version) FROM units),
                    (SELECT max(version) FROM matters), (SELECT max(version) FROM users),
                    (SELECT version FROM calendar WHERE id = 1),
                    (SELECT value FROM change_seq WHERE id = 1)",
        )
        .fetch_one(self.c())
        .await?;
        Ok(Latest {
            sites,
            units,
            matters,
            users,
            calendar,
            seq,
        })
    }

    async fn changed_sites(&mut self, cursor: i64, limit: i64) -> Result<Vec<SiteRow>> {
        let rows: Vec<(i64, String, i64)> =
            sqlx::query_as("SELECT id, name, version FROM sites WHERE version > ? ORDER BY version LIMIT ?")
                .bind(cursor)
                .bind(limit)
                .fetch_all(self.c())
                .await?;
        Ok(rows
            .into_iter()
            .map(|(id, name, version)| SiteRow { id, name, version })
            .collect())
    }

    async fn changed_units(&mut self, cursor: i64, limit: i64) -> Result<Vec<UnitRow>> {
        let rows: Vec<(i64, String, String, i64, i64)> = sqlx::query_as(
            "SELECT id, name, kind, site_id, version FROM units WHERE version > ? ORDER BY version LIMIT ?",
        )
        .bind(cursor)
        .bind(limit)
        .fetch_all(self.c())
        .await?;
        rows.into_iter()
            .map(|(id, name, kind, site_id, version)| {
                Ok(UnitRow {
                    id,
                    name,
                    kind: unit_kind(&kind)?,
                    site_id,
                    version,
                })
            })
            .collect()
    }

    async fn changed_matters(&mut self, cursor: i64, limit: i64) -> Result<Vec<MatterRow>> {
        let rows: Vec<MatterSql> = sqlx::query_as(&format!(
            "SELECT {MATTER_COLUMNS} FROM matters WHERE version > ? ORDER BY version LIMIT ?"
        ))
        .bind(cursor)
        .bind(limit)
        .fetch_all(self.c())
        .await?;
        rows.into_iter().map(MatterSql::into_row).collect()
    }

    async fn changed_colleagues(
        &mut self,
        cursor: i64,
        unit: Option<i64>,
        limit: i64,
    ) -> Result<Vec<ColleagueRow>> {
        let rows: Vec<ColleagueSql> = sqlx::query_as(
            "SELECT id, username, display_name, role, unit_id, presence, version FROM users
             WHERE role <> 'portal' AND version > ? AND (? IS NULL OR unit_id = ?) ORDER BY version LIMIT ?",
        )
        .bind(cursor)
        .bind(unit)
        .bind(unit)
        .bind(limit)
        .fetch_all(self.c())
        .await?;
        rows.into_iter().map(ColleagueSql::into_row).collect()
    }

    async fn calendar(&mut self) -> Result<Option<StoredCalendar>> {
        let row: Option<(i64, String, i64)> =
            sqlx::query_as("SELECT data_version, data, version FROM calendar WHERE id = 1")
                .fetch_optional(self.c())
                .await?;
        row.map(|(data_version, data, version)| {
            Ok(StoredCalendar {
                data_version: u32::try_from(data_version).map_err(Error::internal)?,
                wire: serde_json::from_str::<CalendarWire>(&data).map_err(Error::internal)?,
                version,
            })
        })
        .transpose()
    }

    async fn matter(&mut self, id: i64) -> Result<Option<MatterRow>> {
        let row: Option<MatterSql> =
            sqlx::query_as(&format!("SELECT {MATTER_COLUMNS} FROM matters WHERE id = ?"))
                .bind(id)
                .fetch_optional(self.c())
                .await?;
        row.map(MatterSql::into_row).transpose()
    }

    async fn matters(&mut self) -> Result<Vec<MatterRow>> {
        let rows: Vec<MatterSql> =
            sqlx::query_as(&format!("SELECT {MATTER_COLUMNS} FROM matters ORDER BY id"))
                .fetch_all(self.c())
                .await?;
        rows.into_iter().map(MatterSql::into_row).collect()
    }

    async fn unit_exists(&mut self, id: i64) -> Result<bool> {
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM units WHERE id = ?")
            .bind(id)
            .fetch_optional(self.c())
            .await?;
        Ok(found.is_some())
    }

    async fn find_unit(&mut self, id_or_name: &str) -> Result<Option<i64>> {
        if let Ok(id) = id_or_name.parse::<i64>() {
            return Ok(self.unit_exists(id).await?.then_some(id));
        }
        Ok(sqlx::query_scalar("SELECT id FROM units WHERE name = ?")
            .bind(id_or_name)
            .fetch_optional(self.c())
            .await?)
    }

    async fn ticket_events(
        &mut self,
        day: chrono::NaiveDate,
        scope: FigureScope,
    ) -> Result<Vec<(TicketEventRow, String)>> {
        let (filter, key) = match scope {
            FigureScope::Own(user) => ("AND e.user_id = ?", Some(user)),
            FigureScope::Unit(unit) => ("AND e.unit_id = ?", Some(unit)),
            FigureScope::All => ("", None),
        };
        let sql = format!(
            "SELECT {TICKET_EVENT_COLUMNS}, u.display_name FROM ticket_events e JOIN users u ON u.id = e.user_id
             WHERE e.day = ? {filter} ORDER BY e.client_id, e.ticket_no, e.at, e.id"
        );
        let mut q = sqlx::query_as::<_, TicketEventSqlNamed>(&sql).bind(day.to_string());
        if let Some(key) = key {
            q = q.bind(key);
        }
        q.fetch_all(self.c())
            .await?
            .into_iter()
            .map(|named| Ok((named.row.decode()?, named.display_name)))
            .collect()
    }

    async fn hall_calls(
        &mut self,
        day: chrono::NaiveDate,
        unit: i64,
        limit: i64,
    ) -> Result<Vec<TicketEventRow>> {
        let sql = format!(
            "SELECT {TICKET_EVENT_COLUMNS} FROM ticket_events e
             WHERE e.day = ? AND e.step IN ('called', 'recalled')
               AND e.unit_id IN (SELECT id FROM units WHERE site_id = (SELECT site_id FROM units WHERE id = ?))
             ORDER BY e.at DESC, e.id LIMIT ?"
        );
        sqlx::query_as::<_, TicketEventSql>(&sql)
            .bind(day.to_string())
            .bind(unit)
            .bind(limit)
            .fetch_all(self.c())
            .await?
            .into_iter()
            .map(TicketEventSql::decode)
            .collect()
    }

    async fn transfers_to(
        &mut self,
        day: chrono::NaiveDate,
        unit: i64,
        window: i32,
    ) -> Result<Vec<TicketEventRow>> {
        let sql = format!(
            "SELECT {TICKET_EVENT_COLUMNS} FROM ticket_events e
             WHERE e.day = ? AND e.step = 'transferred' AND e.to_window = ?
               AND e.unit_id IN (SELECT id FROM units WHERE site_id = (SELECT site_id FROM units WHERE id = ?))
             ORDER BY e.at, e.id"
        );
        sqlx::query_as::<_, TicketEventSql>(&sql)
            .bind(day.to_string())
            .bind(window)
            .bind(unit)
            .fetch_all(self.c())
            .await?
            .into_iter()
            .map(TicketEventSql::decode)
            .collect()
    }

    async fn site_of_user(&mut self, user_id: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT s.name FROM users u JOIN units n ON n.id = u.unit_id JOIN sites s ON s.id = n.site_id WHERE u.id = ?",
        )
        .bind(user_id)
        .fetch_optional(self.c())
        .await?)
    }

    async fn user_id(&mut self, username: &str) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM users WHERE username = ?")
            .bind(username)
            .fetch_optional(self.c())
            .await?)
    }

    async fn login_user(&mut self, username: &str) -> Result<Option<LoginUser>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            id: i64,
            username: String,
            display_name: String,
            role: String,
            unit_id: Option<i64>,
            password_hash: String,
            must_change_password: bool,
            failed_logins: i64,
            locked_until: Option<String>,
            disabled: bool,
        }
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, username, display_name, role, unit_id, password_hash, must_change_password, failed_logins,
                    locked_until, disabled
             FROM users WHERE username = ?",
        )
        .bind(username)
        .fetch_optional(self.c())
        .await?;
        row.map(|r| {
            Ok(LoginUser {
                id: r.id,
                username: r.username,
                display_name: r.display_name,
                role: role(&r.role)?,
                unit_id: r.unit_id,
                password_hash: r.password_hash,
                must_change_password: r.must_change_password,
                failed_logins: r.failed_logins,
                locked_until: opt_ts(r.locked_until.as_deref())?,
                disabled: r.disabled,
            })
        })
        .transpose()
    }

    async fn session(&mut self, token_hash: &str) -> Result<Option<SessionFacts>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            client_id: String,
            last_seen: String,
            revoked: bool,
            id: i64,
            username: String,
            display_name: String,
            role: String,
            unit_id: Option<i64>,
            must_change_password: bool,
            disabled: bool,
        }
        let row: Option<Row> = sqlx::query_as(
            "SELECT s.client_id, s.last_seen, s.revoked, u.id, u.username, u.display_name, u.role, u.unit_id,
                    u.must_change_password, u.disabled
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = ?",
        )
        .bind(token_hash)
        .fetch_optional(self.c())
        .await?;
        row.map(|r| {
            Ok(SessionFacts {
                client_id: r.client_id,
                last_seen: parse_ts(&r.last_seen)?,
                revoked: r.revoked,
                user_id: r.id,
                username: r.username,
                display_name: r.display_name,
                role: role(&r.role)?,
                unit_id: r.unit_id,
                must_change_password: r.must_change_password,
                disabled: r.disabled,
            })
        })
        .transpose()
    }

    async fn password_hash(&mut self, user_id: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT password_hash FROM users WHERE id = ?")
            .bind(user_id)
            .fetch_optional(self.c())
            .await?)
    }

    async fn throttle(&mut self, key: &str) -> Result<Option<(u32, Option<DateTime<Utc>>)>> {
        let row: Option<(i64, Option<String>)> =
            sqlx::query_as("SELECT failures, blocked_until FROM login_throttle WHERE key = ?")
                .bind(key)
                .fetch_optional(self.c())
                .await?;
        row.map(|(f, until)| Ok((u32::try_from(f).unwrap_or(u32::MAX), opt_ts(until.as_deref())?)))
            .transpose()
    }

    async fn client(&mut self, client_id: &str) -> Result<Option<ClientState>> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT user_id, last_seq FROM clients WHERE client_id = ?")
                .bind(client_id)
                .fetch_optional(self.c())
                .await?;
        Ok(row.map(|(user_id, last_seq)| ClientState { user_id, last_seq }))
    }

    async fn stored_result(&mut self, client_id: &str, seq: i64) -> Result<Option<StoredResult>> {
        let row: Option<(i64, String, String)> = sqlx::query_as(
            "SELECT seq, mutation_id, outcome FROM mutation_results WHERE client_id = ? AND seq = ?",
        )
        .bind(client_id)
        .bind(seq)
        .fetch_optional(self.c())
        .await?;
        row.map(|(seq, id, outcome)| {
            Ok(StoredResult {
                seq,
                mutation_id: uuid(&id)?,
                outcome,
            })
        })
        .transpose()
    }

    async fn result_of_mutation(
        &mut self,
        client_id: &str,
        mutation_id: Uuid,
    ) -> Result<Option<StoredResult>> {
        let row: Option<(i64, String, String)> = sqlx::query_as(
            "SELECT seq, mutation_id, outcome FROM mutation_results WHERE client_id = ? AND mutation_id = ?
             ORDER BY seq LIMIT 1",
        )
        .bind(client_id)
        .bind(mutation_id.to_string())
        .fetch_optional(self.c())
        .await?;
        row.map(|(seq, id, outcome)| {
            Ok(StoredResult {
                seq,
                mutation_id: uuid(&id)?,
                outcome,
            })
        })
        .transpose()
    }

    async fn upload(&mut self, user_id: i64, hash: &str) -> Result<Option<UploadRow>> {
        let row: Option<(i64, String, i64, bool)> = sqlx::query_as(
            "SELECT size, mime, received, complete FROM blob_uploads WHERE user_id = ? AND hash = ?",
        )
        .bind(user_id)
        .bind(hash)
        .fetch_optional(self.c())
        .await?;
        Ok(row.map(|(size, mime, received, complete)| UploadRow {
            size: size as u64,
            mime,
            received: received as u64,
            complete,
        }))
    }

    async fn blob_scan(&mut self, hash: &str) -> Result<Option<ScanRow>> {
        let row: Option<(String, Option<String>, i64, String)> =
            sqlx::query_as("SELECT status, signature, attempts, updated_at FROM blob_scans WHERE hash = ?")
                .bind(hash)
                .fetch_optional(self.c())
                .await?;
        row.map(|(status, signature, attempts, updated_at)| {
            Ok(ScanRow {
                hash: hash.to_owned(),
                status: scan_status(&status)?,
                signature,
                attempts,
                updated_at: parse_ts(&updated_at)?,
            })
        })
        .transpose()
    }

    async fn pending_scans(&mut self, limit: u32) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT hash FROM blob_scans WHERE status = 'pending' ORDER BY updated_at LIMIT ?",
        )
        .bind(limit as i64)
        .fetch_all(self.c())
        .await?)
    }

    async fn blob_mime(&mut self, hash: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT mime FROM blobs WHERE hash = ?")
            .bind(hash)
            .fetch_optional(self.c())
            .await?)
    }

    async fn blob_in_scope(&mut self, hash: &str, scope: Scope) -> Result<bool> {
        let hit: Option<i64> = match scope {
            Scope::Unit(u) => {
                sqlx::query_scalar(
                    "SELECT 1 FROM item_attachments a JOIN items i ON i.id = a.item_id
                     WHERE a.hash = ? AND i.unit_id = ? LIMIT 1",
                )
                .bind(hash)
                .bind(u)
                .fetch_optional(self.c())
                .await?
            }
            Scope::Agent(me) => {
                sqlx::query_scalar(
                    "SELECT 1 FROM item_attachments a JOIN items i ON i.id = a.item_id
                     WHERE a.hash = ? AND i.agent_id = ? LIMIT 1",
                )
                .bind(hash)
                .bind(me)
                .fetch_optional(self.c())
                .await?
            }
            Scope::AllMasked | Scope::Nothing => None,
        };
        Ok(hit.is_some())
    }

    async fn stat_clocks(
        &mut self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        scope: FigureScope,
        now: DateTime<Utc>,
    ) -> Result<Vec<StatClockGroup>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            unit_id: i64,
            person_id: Option<i64>,
            dimension: String,
            on_time: i64,
            late: i64,
            overdue: i64,
            running: i64,
            used_secs: i64,
        }
        let (filter, key) = figure_filter(scope, 4);
        let sql = format!(
            "SELECT unit_id, person_id, dimension,
                    SUM(in_time = 1) AS on_time, SUM(in_time = 0) AS late,
                    SUM(in_time IS NULL AND due_at IS NOT NULL AND due_at < ?1) AS overdue,
                    SUM(in_time IS NULL AND (due_at IS NULL OR due_at >= ?1)) AS running,
                    COALESCE(SUM(used_secs), 0) AS used_secs
             FROM stat_clocks WHERE day BETWEEN ?2 AND ?3 {filter}
             GROUP BY unit_id, person_id, dimension"
        );
        let mut q = sqlx::query_as::<_, Row>(&sql)
            .bind(ts(now))
            .bind(from.to_string())
            .bind(to.to_string());
        if let Some(key) = key {
            q = q.bind(key);
        }
        q.fetch_all(self.c())
            .await?
            .into_iter()
            .map(|r| {
                StatClockGroup::decode(
                    (r.unit_id, r.person_id, &r.dimension),
                    [r.on_time, r.late, r.overdue, r.running],
                    r.used_secs,
                )
            })
            .collect()
    }

    async fn stat_ratings(
        &mut self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
        scope: FigureScope,
    ) -> Result<Vec<StatRatingGroup>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            unit_id: i64,
            person_id: Option<i64>,
            rating: i64,
            excluded: bool,
            n: i64,
        }
        let (filter, key) = figure_filter(scope, 3);
        let sql = format!(
            "SELECT unit_id, person_id, rating, excluded, COUNT(*) AS n
             FROM stat_ratings WHERE day BETWEEN ?1 AND ?2 {filter}
             GROUP BY unit_id, person_id, rating, excluded"
        );
        let mut q = sqlx::query_as::<_, Row>(&sql)
            .bind(from.to_string())
            .bind(to.to_string());
        if let Some(key) = key {
            q = q.bind(key);
        }
        q.fetch_all(self.c())
            .await?
            .into_iter()
            .map(|r| StatRatingGroup::decode((r.unit_id, r.person_id), r.rating, r.excluded, r.n))
            .collect()
    }

    async fn has_stat_clocks(&mut self) -> Result<bool> {
        Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM stat_clocks)")
            .fetch_one(self.c())
            .await?)
    }

    async fn current_seq(&mut self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT value FROM change_seq WHERE id = 1")
            .fetch_one(self.c())
            .await?)
    }

    async fn meta(&mut self, key: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = ?")
            .bind(key)
            .fetch_optional(self.c())
            .await?)
    }
}

#[async_trait]
impl Writes for SqliteConn {
    async fn next_seq(&mut self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("UPDATE change_seq SET value = value + 1 WHERE id = 1 RETURNING value")
                .fetch_one(self.c())
                .await?,
        )
    }

    async fn lock_items(&mut self, _ids: &[Uuid]) -> Result<()> {
        // The single writer holds the database's write lock already.
        Ok(())
    }

    async fn insert_item(&mut self, item: &NewItem, history: &[ItemEvent]) -> Result<(String, i64)> {
        let day = shimin_domain::calendar::to_local(item.received_at).format("%Y%m%d");
        let key = format!("{}{}", item.kind.number_prefix(), day);
        let n: i64 = sqlx::query_scalar(
            "INSERT INTO item_counters (prefix_day, last) VALUES (?, 1)
             ON CONFLICT (prefix_day) DO UPDATE SET last = last + 1 RETURNING last",
        )
        .bind(&key)
        .fetch_one(self.c())
        .await?;
        let number = format!("{key}-{n:04}");
        let seq = self.next_seq().await?;
        sqlx::query(
            "INSERT INTO items (id, number, kind, status, unit_id, matter_id, agent_id, handler_id, applicant_name,
                applicant_id_number, applicant_phone, title, content, received_at, due_at, due_provisional, details,
                version)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, 0, ?, ?)",
        )
        .bind(item.id.to_string())
        .bind(&number)
        .bind(item.kind.code())
        .bind(item.status.code())
        .bind(item.unit_id)
        .bind(item.matter_id)
        .bind(item.agent_id)
        .bind(item.handler_id)
        .bind(&item.applicant.name)
        .bind(&item.applicant.id_number)
        .bind(&item.applicant.phone)
        .bind(&item.title)
        .bind(&item.content)
        .bind(ts(item.received_at))
        .bind(serde_json::to_string(&item.details).map_err(Error::internal)?)
        .bind(seq)
        .execute(self.c())
        .await?;
        for e in history {
            self.append_event(item.id, e, seq).await?;
        }
        Ok((number, seq))
    }

    async fn insert_items(&mut self, items: &[BulkItem]) -> Result<Vec<(String, i64)>> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let (keys, of_item) = number_keys(items);
        let mut first_number = Vec::with_capacity(keys.len());
        for (key, n) in &keys {
            let last: i64 = sqlx::query_scalar(
                "INSERT INTO item_counters (prefix_day, last) VALUES (?, ?)
                 ON CONFLICT (prefix_day) DO UPDATE SET last = last + excluded.last RETURNING last",
            )
            .bind(key)
            .bind(n)
            .fetch_one(self.c())
            .await?;
            first_number.push(last - n);
        }
        let n = items.len() as i64;
        let last_seq: i64 =
            sqlx::query_scalar("UPDATE change_seq SET value = value + ? WHERE id = 1 RETURNING value")
                .bind(n)
                .fetch_one(self.c())
                .await?;
        let first_seq = last_seq - n + 1;
        let out: Vec<(String, i64)> = of_item
            .iter()
            .enumerate()
            .map(|(i, (k, idx))| {
                (
                    format!("{}-{:04}", keys[*k].0, first_number[*k] + idx),
                    first_seq + i as i64,
                )
            })
            .collect();
        // Rows per multi-row statement: well under both backends' parameter limits.
        for (chunk, numbers) in items.chunks(400).zip(out.chunks(400)) {
            let mut qb: sqlx::QueryBuilder<Sqlite> = sqlx::QueryBuilder::new(
                "INSERT INTO items (id, number, kind, status, unit_id, matter_id, agent_id, handler_id, applicant_name, \
                 applicant_id_number, applicant_phone, title, content, received_at, due_at, due_provisional, details, version) ",
            );
            let details = chunk
                .iter()
                .map(|b| serde_json::to_string(&b.item.details))
                .collect::<std::result::Result<Vec<String>, _>>()
                .map_err(Error::internal)?;
            qb.push_values(
                chunk.iter().zip(numbers).zip(details),
                |mut row, ((b, (number, seq)), details)| {
                    row.push_bind(b.item.id.to_string())
                        .push_bind(number.clone())
                        .push_bind(b.item.kind.code())
                        .push_bind(b.item.status.code())
                        .push_bind(b.item.unit_id)
                        .push_bind(b.item.matter_id)
                        .push_bind(b.item.agent_id)
                        .push_bind(b.item.handler_id)
                        .push_bind(b.item.applicant.name.clone())
                        .push_bind(b.item.applicant.id_number.clone())
                        .push_bind(b.item.applicant.phone.clone())
                        .push_bind(b.item.title.clone())
                        .push_bind(b.item.content.clone())
                        .push_bind(ts(b.item.received_at))
                        .push_bind(b.due_at.map(ts))
                        .push_bind(false)
                        .push_bind(details)
                        .push_bind(*seq);
                },
            );
            qb.build().execute(self.c()).await?;
        }
        let events: Vec<(&Uuid, &ItemEvent, i64)> = items
            .iter()
            .zip(&out)
            .flat_map(|(b, (_, seq))| b.history.iter().map(move |e| (&b.item.id, e, *seq)))
            .collect();
        for chunk in events.chunks(1000) {
            let mut qb: sqlx::QueryBuilder<Sqlite> = sqlx::QueryBuilder::new(
                "INSERT INTO item_events (item_id, at, actor_id, actor_name, action, status, note, place, seq) ",
            );
            qb.push_values(chunk, |mut row, (id, e, seq)| {
                row.push_bind(id.to_string())
                    .push_bind(ts(e.at))
                    .push_bind(e.actor_id)
                    .push_bind(e.actor_name.clone())
                    .push_bind(e.action.clone())
                    .push_bind(e.status.code())
                    .push_bind(e.note.clone())
                    .push_bind(e.place.clone())
                    .push_bind(*seq);
            });
            qb.build().execute(self.c()).await?;
        }
        Ok(out)
    }

    async fn update_item(&mut self, id: Uuid, change: &ItemChange, seq: i64) -> Result<()> {
        sqlx::query(
            "UPDATE items SET status = ?, handler_id = ?, unit_id = ?, details = ?, version = ? WHERE id = ?",
        )
        .bind(change.status.code())
        .bind(change.handler_id)
        .bind(change.unit_id)
        .bind(serde_json::to_string(&change.details).map_err(Error::internal)?)
        .bind(seq)
        .bind(id.to_string())
        .execute(self.c())
        .await?;
        Ok(())
    }

    async fn set_item_version(&mut self, id: Uuid, seq: i64) -> Result<()> {
        sqlx::query("UPDATE items SET version = ? WHERE id = ?")
            .bind(seq)
            .bind(id.to_string())
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn mark_overdue(&mut self, id: Uuid) -> Result<()> {
        sqlx::query("UPDATE items SET overdue = 1, supervision = 1 WHERE id = ?")
            .bind(id.to_string())
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn append_event(&mut self, id: Uuid, e: &ItemEvent, seq: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO item_events (item_id, at, actor_id, actor_name, action, status, note, place, seq)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(ts(e.at))
        .bind(e.actor_id)
        .bind(&e.actor_name)
        .bind(&e.action)
        .bind(e.status.code())
        .bind(&e.note)
        .bind(&e.place)
        .bind(seq)
        .execute(self.c())
        .await?;
        Ok(())
    }

    async fn set_schedule(&mut self, id: Uuid, s: Schedule) -> Result<()> {
        sqlx::query("UPDATE items SET due_at = ?, due_provisional = ?, next_alert_at = ? WHERE id = ?")
            .bind(s.due_at.map(ts))
            .bind(s.due_provisional)
            .bind(s.next_alert_at.map(ts))
            .bind(id.to_string())
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn set_next_alert(&mut self, id: Uuid, at: Option<DateTime<Utc>>) -> Result<()> {
        sqlx::query("UPDATE items SET next_alert_at = ? WHERE id = ?")
            .bind(at.map(ts))
            .bind(id.to_string())
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn add_removal(&mut self, id: Uuid, unit: i64, seq: i64) -> Result<()> {
        sqlx::query("INSERT INTO removals (item_id, unit_id, agent_id, seq) VALUES (?, ?, NULL, ?)")
            .bind(id.to_string())
            .bind(unit)
            .bind(seq)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn link_attachment(&mut self, id: Uuid, hash: &str) -> Result<()> {
        sqlx::query("INSERT OR IGNORE INTO item_attachments (item_id, hash) VALUES (?, ?)")
            .bind(id.to_string())
            .bind(hash)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn record_alert(
        &mut self,
        id: Uuid,
        clock_key: &str,
        point: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let done = sqlx::query(
            "INSERT OR IGNORE INTO clock_alerts (item_id, clock_key, point, recorded_at) VALUES (?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(clock_key)
        .bind(point)
        .bind(ts(at))
        .execute(self.c())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_reveal(&mut self, reveal: &RevealRow) -> Result<bool> {
        insert_reveal(self.c(), reveal).await
    }

    async fn record_ticket_event(&mut self, event: &TicketEventRow) -> Result<bool> {
        let done = sqlx::query(
            "INSERT OR IGNORE INTO ticket_events (id, client_id, user_id, unit_id, day, ticket_no, step, at,
             issued_at, item_id, window_no, to_window, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(event.id.to_string())
        .bind(&event.client_id)
        .bind(event.user_id)
        .bind(event.unit_id)
        .bind(event.day.to_string())
        .bind(&event.ticket_no)
        .bind(event.step.code())
        .bind(ts(event.at))
        .bind(ts(event.issued_at))
        .bind(event.item_id.map(|id| id.to_string()))
        .bind(event.window_no)
        .bind(event.to_window)
        .bind(ts(event.recorded_at))
        .execute(self.c())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn put_stat_clocks(&mut self, item_id: Uuid, rows: &[StatClockRow], keep_met: bool) -> Result<()> {
        let clear = if keep_met {
            "DELETE FROM stat_clocks WHERE item_id = ? AND met_at IS NULL"
        } else {
            "DELETE FROM stat_clocks WHERE item_id = ?"
        };
        sqlx::query(clear)
            .bind(item_id.to_string())
            .execute(self.c())
            .await?;
        for r in rows {
            sqlx::query(
                "INSERT OR IGNORE INTO stat_clocks (item_id, ordinal, clock, dimension, unit_id, person_id, day,
                 started_at, due_at, met_at, in_time, used_secs) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(r.item_id.to_string())
            .bind(r.ordinal)
            .bind(r.clock.code())
            .bind(r.dimension.code())
            .bind(r.unit_id)
            .bind(r.person_id)
            .bind(r.day.to_string())
            .bind(ts(r.started_at))
            .bind(r.due_at.map(ts))
            .bind(r.met_at.map(ts))
            .bind(r.in_time)
            .bind(r.used_secs)
            .execute(self.c())
            .await?;
        }
        Ok(())
    }

    async fn put_stat_rating(&mut self, r: &StatRatingRow) -> Result<()> {
        sqlx::query(
            "INSERT OR REPLACE INTO stat_ratings (item_id, rated_id, unit_id, person_id, day, rating, excluded)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(r.item_id.to_string())
        .bind(r.rated_id.to_string())
        .bind(r.unit_id)
        .bind(r.person_id)
        .bind(r.day.to_string())
        .bind(i64::from(r.rating.stars()))
        .bind(r.excluded)
        .execute(self.c())
        .await?;
        Ok(())
    }

    async fn open_supervision_case(&mut self, c: &NewSupervisionCase<'_>) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "INSERT OR IGNORE INTO supervision_cases (item_id, unit_id, clock, clock_start, due_at, recorded_at,
             stage_since, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(c.item_id.to_string())
        .bind(c.unit_id)
        .bind(c.clock)
        .bind(ts(c.clock_start))
        .bind(ts(c.due_at))
        .bind(ts(c.recorded_at))
        .bind(ts(c.recorded_at))
        .bind(c.reason)
        .fetch_optional(self.c())
        .await?)
    }

    async fn set_case_stage(&mut self, id: i64, stage: CaseStage, since: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE supervision_cases SET stage = ?, stage_since = ?,
             status = CASE WHEN ? = 'closed' THEN 'closed' ELSE 'open' END WHERE id = ?",
        )
        .bind(stage.code())
        .bind(ts(since))
        .bind(stage.code())
        .bind(id)
        .execute(self.c())
        .await?;
        Ok(())
    }

    async fn append_case_step(&mut self, s: &CaseStepRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO supervision_steps (case_id, at, actor_id, actor_name, action, cause, correction, note)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(s.case_id)
        .bind(ts(s.at))
        .bind(s.actor_id)
        .bind(&s.actor_name)
        .bind(s.action.code())
        .bind(&s.cause)
        .bind(&s.correction)
        .bind(&s.note)
        .execute(self.c())
        .await?;
        Ok(())
    }

    async fn mark_supervised(&mut self, id: Uuid) -> Result<()> {
        sqlx::query("UPDATE items SET supervision = 1 WHERE id = ?")
            .bind(id.to_string())
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn add_site(&mut self, name: &str, seq: i64) -> Result<i64> {
        Ok(
            sqlx::query_scalar("INSERT INTO sites (name, version) VALUES (?, ?) RETURNING id")
                .bind(name)
                .bind(seq)
                .fetch_one(self.c())
                .await?,
        )
    }

    async fn add_unit(&mut self, name: &str, kind: UnitKind, site_id: i64, seq: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO units (name, kind, site_id, version) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(name)
        .bind(kind.code())
        .bind(site_id)
        .bind(seq)
        .fetch_one(self.c())
        .await?)
    }

    async fn add_matter(&mut self, m: &NewMatter, seq: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO matters (code, name, unit_id, promised_days, materials, fee_fen, a_clerk_id, b_clerk_id, version)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&m.code)
        .bind(&m.name)
        .bind(m.unit_id)
        .bind(i64::from(m.promised_days))
        .bind(serde_json::to_string(&m.materials).map_err(Error::internal)?)
        .bind(m.fee_fen)
        .bind(m.a_clerk_id)
        .bind(m.b_clerk_id)
        .bind(seq)
        .fetch_one(self.c())
        .await?)
    }

    async fn add_user(&mut self, u: &NewUser<'_>, seq: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO users (username, display_name, role, unit_id, password_hash, must_change_password, created_at, version)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(u.username)
        .bind(u.display_name)
        .bind(u.role.code())
        .bind(u.unit_id)
        .bind(u.password_hash)
        .bind(u.must_change_password)
        .bind(ts(Utc::now()))
        .bind(seq)
        .fetch_one(self.c())
        .await?)
    }

    async fn set_presence(&mut self, user_id: i64, presence: Presence, seq: i64) -> Result<()> {
        sqlx::query("UPDATE users SET presence = ?, version = ? WHERE id = ?")
            .bind(presence.code())
            .bind(seq)
            .bind(user_id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn store_calendar(&mut self, wire: &CalendarWire, seq: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO calendar (id, data_version, data, version) VALUES (1, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET data_version = excluded.data_version, data = excluded.data,
             version = excluded.version",
        )
        .bind(i64::from(wire.version))
        .bind(serde_json::to_string(wire).map_err(Error::internal)?)
        .bind(seq)
        .execute(self.c())
        .await?;
        Ok(())
    }

    async fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        sqlx::query("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            .bind(key)
            .bind(value)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn note_failed_login(&mut self, user_id: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = ? RETURNING failed_logins",
        )
        .bind(user_id)
        .fetch_one(self.c())
        .await?)
    }

    async fn lock_user(&mut self, user_id: i64, until: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = ? WHERE id = ?")
            .bind(ts(until))
            .bind(user_id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn clear_failed_logins(&mut self, user_id: i64) -> Result<()> {
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?")
            .bind(user_id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn create_session(&mut self, s: &NewSession<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, client_id, device, created_at, last_seen, revoked)
             VALUES (?, ?, ?, ?, ?, ?, 0)",
        )
        .bind(s.token_hash)
        .bind(s.user_id)
        .bind(s.client_id)
        .bind(s.device)
        .bind(ts(s.at))
        .bind(ts(s.at))
        .execute(self.c())
        .await?;
        Ok(())
    }

    async fn touch_session(&mut self, token_hash: &str, at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen = ? WHERE token_hash = ?")
            .bind(ts(at))
            .bind(token_hash)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn revoke_session(&mut self, token_hash: &str) -> Result<()> {
        sqlx::query("UPDATE sessions SET revoked = 1 WHERE token_hash = ?")
            .bind(token_hash)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn revoke_other_sessions(&mut self, user_id: i64, keep: &str) -> Result<()> {
        sqlx::query("UPDATE sessions SET revoked = 1 WHERE user_id = ? AND token_hash <> ?")
            .bind(user_id)
            .bind(keep)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn set_password(&mut self, user_id: i64, hash: &str, must_change: bool) -> Result<()> {
        sqlx::query("UPDATE users SET password_hash = ?, must_change_password = ? WHERE id = ?")
            .bind(hash)
            .bind(must_change)
            .bind(user_id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn note_throttle_failure(&mut self, key: &str, at: DateTime<Utc>) -> Result<u32> {
        let f: i64 = sqlx::query_scalar(
            "INSERT INTO login_throttle (key, failures, blocked_until, updated_at) VALUES (?, 1, NULL, ?)
             ON CONFLICT (key) DO UPDATE SET failures = failures + 1, updated_at = excluded.updated_at
             RETURNING failures",
        )
        .bind(key)
        .bind(ts(at))
        .fetch_one(self.c())
        .await?;
        Ok(u32::try_from(f).unwrap_or(u32::MAX))
    }

    async fn block_throttle(&mut self, key: &str, until: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE login_throttle SET blocked_until = ? WHERE key = ?")
            .bind(ts(until))
            .bind(key)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn clear_throttle(&mut self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_throttle WHERE key = ?")
            .bind(key)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn clear_throttles_with_prefix(&mut self, prefix: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM login_throttle WHERE substr(key, 1, length(?)) = ?")
            .bind(prefix)
            .bind(prefix)
            .execute(self.c())
            .await?;
        Ok(done.rows_affected())
    }

    async fn prune_throttles(&mut self, before: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM login_throttle WHERE updated_at < ?")
            .bind(ts(before))
            .execute(self.c())
            .await?;
        Ok(done.rows_affected())
    }

    async fn register_client(&mut self, client_id: &str, user_id: i64, at: DateTime<Utc>) -> Result<i64> {
        sqlx::query(
            "INSERT OR IGNORE INTO clients (client_id, user_id, last_seq, created_at) VALUES (?, ?, 0, ?)",
        )
        .bind(client_id)
        .bind(user_id)
        .bind(ts(at))
        .execute(self.c())
        .await?;
        Ok(
            sqlx::query_scalar("SELECT user_id FROM clients WHERE client_id = ?")
                .bind(client_id)
                .fetch_one(self.c())
                .await?,
        )
    }

    async fn lock_client(&mut self, client_id: &str) -> Result<Option<ClientState>> {
        self.client(client_id).await
    }

    async fn store_result(&mut self, client_id: &str, r: &StoredResult, at: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO mutation_results (client_id, seq, mutation_id, outcome, applied_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(client_id)
        .bind(r.seq)
        .bind(r.mutation_id.to_string())
        .bind(&r.outcome)
        .bind(ts(at))
        .execute(self.c())
        .await?;
        Ok(())
    }

    async fn set_client_seq(&mut self, client_id: &str, seq: i64) -> Result<()> {
        sqlx::query("UPDATE clients SET last_seq = ? WHERE client_id = ?")
            .bind(seq)
            .bind(client_id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn start_upload(
        &mut self,
        user_id: i64,
        hash: &str,
        size: u64,
        mime: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO blob_uploads (user_id, hash, size, mime, received, complete, started_at)
             VALUES (?, ?, ?, ?, 0, 0, ?)
             ON CONFLICT (user_id, hash) DO UPDATE SET size = excluded.size, mime = excluded.mime,
             received = 0, started_at = excluded.started_at",
        )
        .bind(user_id)
        .bind(hash)
        .bind(size as i64)
        .bind(mime)
        .bind(ts(at))
        .execute(self.c())
        .await?;
        Ok(())
    }

    async fn set_upload_received(&mut self, user_id: i64, hash: &str, received: u64) -> Result<()> {
        sqlx::query("UPDATE blob_uploads SET received = ? WHERE user_id = ? AND hash = ?")
            .bind(received as i64)
            .bind(user_id)
            .bind(hash)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn set_blob_scan(&mut self, scan: &ScanRow) -> Result<()> {
        insert_blob_scan(self.c(), scan).await
    }

    async fn complete_upload(
        &mut self,
        user_id: i64,
        hash: &str,
        size: u64,
        mime: &str,
        at: DateTime<Utc>,
    ) -> Result<()> {
        sqlx::query("INSERT OR IGNORE INTO blobs (hash, size, mime, created_at) VALUES (?, ?, ?, ?)")
            .bind(hash)
            .bind(size as i64)
            .bind(mime)
            .bind(ts(at))
            .execute(self.c())
            .await?;
        sqlx::query(
            "INSERT INTO blob_uploads (user_id, hash, size, mime, received, complete, started_at, completed_at)
             VALUES (?, ?, ?, ?, ?, 1, ?, ?)
             ON CONFLICT (user_id, hash) DO UPDATE SET complete = 1, received = excluded.size,
             completed_at = excluded.completed_at",
        )
        .bind(user_id)
        .bind(hash)
        .bind(size as i64)
        .bind(mime)
        .bind(size as i64)
        .bind(ts(at))
        .bind(ts(at))
        .execute(self.c())
        .await?;
        Ok(())
    }

    fn audit(&mut self, entry: audit::Entry<'_>) {
        self.pending.audit.push(entry.to_owned_entry());
    }

    fn announce(&mut self, committed: Committed) {
        self.pending.announce.push(committed);
    }

    async fn commit(mut self: Box<Self>) -> Result<()> {
        let entries = std::mem::take(&mut self.pending.audit);
        if !entries.is_empty() {
            append_audit(self.c(), &entries).await?;
        }
        let announce = std::mem::take(&mut self.pending.announce);
        let announcer = self.announcer.take();
        match self.inner {
            Inner::Tx(t) => t.commit().await?,
            Inner::Pooled(_) => return Err(Error::internal("commit outside a transaction")),
        }
        if let Some(a) = announcer {
            a.send(announce);
        }
        Ok(())
    }
}

/// The newest audit entry's (id, hash); the chain's genesis when there is none.
async fn audit_head(conn: &mut SqliteConnection) -> Result<(i64, String)> {
    let head: Option<(i64, Option<String>)> =
        sqlx::query_as("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    Ok(match head {
        Some((id, Some(hash))) => (id, hash),
        Some((id, None)) => return Err(Error::internal(format!("audit entry {id} is not sealed"))),
        None => (0, audit::GENESIS.to_owned()),
    })
}

/// Appends entries to the chain (inside the single writer's transaction).
async fn append_audit(conn: &mut SqliteConnection, entries: &[OwnedEntry]) -> Result<()> {
    let (mut id, mut prev) = audit_head(conn).await?;
    for e in entries {
        id += 1;
        let hash = audit::chain_hash(&prev, id, e);
        sqlx::query(
            "INSERT INTO audit_log (id, at, user_id, username, action, target, client_id, outcome, hash)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(ts(e.at))
        .bind(e.user_id)
        .bind(&e.username)
        .bind(&e.action)
        .bind(&e.target)
        .bind(&e.client_id)
        .bind(&e.outcome)
        .bind(&hash)
        .execute(&mut *conn)
        .await?;
        prev = hash;
    }
    Ok(())
}

/// Chains entries written before the chain existed (migration 0004), oldest first.
pub(super) async fn seal_unsealed(conn: &mut SqliteConnection) -> Result<u64> {
    #[derive(sqlx::FromRow)]
    struct Row {
        id: i64,
        at: String,
        user_id: Option<i64>,
        username: Option<String>,
        action: String,
        target: Option<String>,
        client_id: Option<String>,
        outcome: String,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, at, user_id, username, action, target, client_id, outcome FROM audit_log
         WHERE hash IS NULL ORDER BY id",
    )
    .fetch_all(&mut *conn)
    .await?;
    let Some(first) = rows.first() else { return Ok(0) };
    let before: Option<Option<String>> =
        sqlx::query_scalar("SELECT hash FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT 1")
            .bind(first.id)
            .fetch_optional(&mut *conn)
            .await?;
    let mut prev = before.flatten().unwrap_or_else(|| audit::GENESIS.to_owned());
    for r in &rows {
        let e = OwnedEntry {
            at: parse_ts(&r.at)?,
            user_id: r.user_id,
            username: r.username.clone(),
            action: r.action.clone(),
            target: r.target.clone(),
            client_id: r.client_id.clone(),
            outcome: r.outcome.clone(),
        };
        let hash = audit::chain_hash(&prev, r.id, &e);
        sqlx::query("UPDATE audit_log SET hash = ? WHERE id = ?")
            .bind(&hash)
            .bind(r.id)
            .execute(&mut *conn)
            .await?;
        prev = hash;
    }
    Ok(rows.len() as u64)
}

/// Inserts a reveal unless its id is known; true when it was new.
async fn insert_reveal(conn: &mut SqliteConnection, r: &RevealRow) -> Result<bool> {
    let done = sqlx::query(
        "INSERT OR IGNORE INTO reveals (id, item_id, user_id, client_id, field, revealed_at, recorded_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(r.id.to_string())
    .bind(r.item_id.to_string())
    .bind(r.user_id)
    .bind(&r.client_id)
    .bind(r.field.code())
    .bind(ts(r.revealed_at))
    .bind(ts(r.recorded_at))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Inserts or replaces the virus check of a blob.
pub(super) async fn insert_blob_scan(conn: &mut SqliteConnection, scan: &ScanRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO blob_scans (hash, status, signature, attempts, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (hash) DO UPDATE SET status = excluded.status, signature = excluded.signature,
         attempts = excluded.attempts, updated_at = excluded.updated_at",
    )
    .bind(&scan.hash)
    .bind(scan.status.code())
    .bind(&scan.signature)
    .bind(scan.attempts)
    .bind(ts(scan.updated_at))
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) fn scan_status(code: &str) -> Result<ScanStatus> {
    ScanStatus::from_code(code).ok_or_else(|| Error::internal(format!("unknown scan status {code:?}")))
}

/// The columns of a [`TicketEventRow`], in [`TicketEventSql`]'s order (table alias `e`).
pub(super) const TICKET_EVENT_COLUMNS: &str =
    "e.id, e.client_id, e.user_id, e.unit_id, e.day, e.ticket_no, e.step, \
     e.at, e.issued_at, e.item_id, e.window_no, e.to_window, e.recorded_at";

/// A `ticket_events` row as SQLite returns it.
#[derive(sqlx::FromRow)]
pub(super) struct TicketEventSql {
    id: String,
    client_id: String,
    user_id: i64,
    unit_id: i64,
    day: String,
    ticket_no: String,
    step: String,
    at: String,
    issued_at: String,
    item_id: Option<String>,
    window_no: Option<i32>,
    to_window: Option<i32>,
    recorded_at: String,
}

/// A `ticket_events` row with its clerk's display name.
#[derive(sqlx::FromRow)]
struct TicketEventSqlNamed {
    #[sqlx(flatten)]
    row: TicketEventSql,
    display_name: String,
}

impl TicketEventSql {
    pub(super) fn decode(self) -> Result<TicketEventRow> {
        Ok(TicketEventRow {
            id: uuid(&self.id)?,
            client_id: self.client_id,
            user_id: self.user_id,
            unit_id: self.unit_id,
            day: self
                .day
                .parse()
                .map_err(|e| Error::internal(format!("bad day {:?} in ticket_events: {e}", self.day)))?,
            ticket_no: self.ticket_no,
            step: shimin_domain::counter::TicketStep::from_code(&self.step)
                .ok_or_else(|| Error::internal(format!("unknown ticket step {:?} in database", self.step)))?,
            at: parse_ts(&self.at)?,
            issued_at: parse_ts(&self.issued_at)?,
            item_id: self.item_id.as_deref().map(uuid).transpose()?,
            window_no: self.window_no,
            to_window: self.to_window,
            recorded_at: parse_ts(&self.recorded_at)?,
        })
    }
}
