//! [`Reads`] and [`Writes`] on PostgreSQL: one connection, pooled (single reads) or in a
//! transaction (snapshots: repeatable read, read only; writes: read committed with row locks).

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use shimin_domain::identity::PersonalField;
use shimin_domain::item::{ItemKind, Status};
use shimin_domain::ladder::Presence;
use shimin_domain::role::{Role, Scope, UnitKind};
use shimin_domain::supervision::CaseStage;
use shimin_protocol::{Applicant, CalendarWire, ItemDetails, ItemEvent};
use sqlx::pool::PoolConnection;
use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, Transaction};
use uuid::Uuid;

use super::{Notice, CHANNEL};
use crate::audit::{self, OwnedEntry};
use crate::store::model::*;
use crate::store::{Announcer, Pending, Reads, Writes};
use crate::{Committed, Error, Result};

enum Inner {
    Pooled(PoolConnection<Postgres>),
    Tx(Transaction<'static, Postgres>),
}

pub(super) struct PgConn {
    inner: Inner,
    pending: Pending,
    announcer: Option<Announcer>,
    instance: Uuid,
}

impl std::fmt::Debug for PgConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PgConn")
    }
}

impl PgConn {
    pub(super) fn pooled(c: PoolConnection<Postgres>) -> PgConn {
        PgConn {
            inner: Inner::Pooled(c),
            pending: Pending::default(),
            announcer: None,
            instance: Uuid::nil(),
        }
    }

    pub(super) fn tx(t: Transaction<'static, Postgres>, announcer: Announcer, instance: Uuid) -> PgConn {
        PgConn {
            inner: Inner::Tx(t),
            pending: Pending::default(),
            announcer: Some(announcer),
            instance,
        }
    }

    fn c(&mut self) -> &mut PgConnection {
        match &mut self.inner {
            Inner::Pooled(c) => c,
            Inner::Tx(t) => t,
        }
    }
}

pub(super) const ITEM_COLUMNS: &str = "id, number, kind, status, unit_id, matter_id, agent_id, handler_id, applicant_name, \
     applicant_id_number, applicant_phone, title, content, received_at, due_at, due_provisional, details, version, \
     overdue, supervision, next_alert_at";

#[derive(sqlx::FromRow)]
pub(super) struct ItemRow {
    id: Uuid,
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
    received_at: DateTime<Utc>,
    due_at: Option<DateTime<Utc>>,
    due_provisional: bool,
    details: Json<ItemDetails>,
    version: i64,
    overdue: bool,
    supervision: bool,
    next_alert_at: Option<DateTime<Utc>>,
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

impl ItemRow {
    pub(super) fn into_item(self) -> Result<StoredItem> {
        Ok(StoredItem {
            id: self.id,
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
            received_at: self.received_at,
            due_at: self.due_at,
            due_provisional: self.due_provisional,
            details: self.details.0,
            version: self.version,
            overdue: self.overdue,
            supervision: self.supervision,
            next_alert_at: self.next_alert_at,
        })
    }
}

fn items(rows: Vec<ItemRow>) -> Result<Vec<StoredItem>> {
    rows.into_iter().map(ItemRow::into_item).collect()
}

#[derive(sqlx::FromRow)]
pub(super) struct EventRow {
    pub item_id: Uuid,
    pub at: DateTime<Utc>,
    pub actor_id: Option<i64>,
    pub actor_name: String,
    pub action: String,
    pub status: String,
    pub note: Option<String>,
    pub place: Option<String>,
}

impl EventRow {
    pub(super) fn event(self) -> Result<ItemEvent> {
        Ok(ItemEvent {
            at: self.at,
            actor_id: self.actor_id,
            actor_name: self.actor_name,
            action: self.action,
            status: status(&self.status)?,
            note: self.note,
            place: self.place,
        })
    }
}

pub(super) const MATTER_COLUMNS: &str =
    "id, code, name, unit_id, promised_days, materials, fee_fen, a_clerk_id, b_clerk_id, version";

#[derive(sqlx::FromRow)]
pub(super) struct MatterSql {
    id: i64,
    code: String,
    name: String,
    unit_id: i64,
    promised_days: i64,
    materials: Json<Vec<String>>,
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
            materials: self.materials.0,
            fee_fen: self.fee_fen,
            a_clerk_id: self.a_clerk_id,
            b_clerk_id: self.b_clerk_id,
            version: self.version,
        })
    }
}

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
/// `$n`, with its value.
fn figure_filter(scope: FigureScope, n: u32) -> (String, Option<i64>) {
    match scope {
        FigureScope::Own(user) => (format!("AND person_id = ${n}"), Some(user)),
        FigureScope::Unit(unit) => (format!("AND unit_id = ${n}"), Some(unit)),
        FigureScope::All => (String::new(), None),
    }
}

/// The columns of a [`CaseSql`] (cases `c` joined with their items `i`).
const CASE_COLUMNS: &str =
    "c.id, c.item_id, i.number, c.unit_id, c.clock, c.due_at, c.recorded_at, c.stage, c.stage_since, c.reason";

#[derive(sqlx::FromRow)]
struct CaseSql {
    id: i64,
    item_id: Uuid,
    number: String,
    unit_id: i64,
    clock: String,
    due_at: DateTime<Utc>,
    recorded_at: DateTime<Utc>,
    stage: String,
    stage_since: Option<DateTime<Utc>>,
    reason: Option<String>,
}

impl CaseSql {
    fn decode(self) -> Result<CaseRow> {
        Ok(CaseRow {
            id: self.id,
            item_id: self.item_id,
            item_number: self.number,
            unit_id: self.unit_id,
            clock: self.clock,
            due_at: self.due_at,
            recorded_at: self.recorded_at,
            stage: case_stage(&self.stage)?,
            stage_since: self.stage_since.unwrap_or(self.recorded_at),
            reason: self.reason,
        })
    }
}

fn closed_codes() -> Vec<String> {
    Status::ALL
        .into_iter()
        .filter(|s| s.is_closed())
        .map(|s| s.code().to_owned())
        .collect()
}

#[async_trait]
impl Reads for PgConn {
    async fn item(&mut self, id: Uuid) -> Result<Option<StoredItem>> {
        let row: Option<ItemRow> = sqlx::query_as(&format!("SELECT {ITEM_COLUMNS} FROM items WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.c())
            .await?;
        row.map(ItemRow::into_item).transpose()
    }

    async fn item_by_number(&mut self, number: &str) -> Result<Option<StoredItem>> {
        let row: Option<ItemRow> =
            sqlx::query_as(&format!("SELECT {ITEM_COLUMNS} FROM items WHERE number = $1"))
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
        let rows: Vec<EventRow> = sqlx::query_as(
            "SELECT item_id, at, actor_id, actor_name, action, status, note, place FROM item_events
             WHERE item_id = ANY($1) ORDER BY item_id, id",
        )
        .bind(ids)
        .fetch_all(self.c())
        .await?;
        for r in rows {
            let id = r.item_id;
            out.entry(id).or_default().push(r.event()?);
        }
        Ok(out)
    }

    async fn changed_items(&mut self, scope: Scope, cursor: i64, limit: i64) -> Result<Vec<StoredItem>> {
        let rows: Vec<ItemRow> = match scope {
            Scope::Unit(u) => {
                sqlx::query_as(&format!(
                    "SELECT {ITEM_COLUMNS} FROM items WHERE unit_id = $1 AND version > $2 ORDER BY version LIMIT $3"
                ))
                .bind(u)
                .bind(cursor)
                .bind(limit)
                .fetch_all(self.c())
                .await?
            }
            Scope::Agent(a) => {
                sqlx::query_as(&format!(
                    "SELECT {ITEM_COLUMNS} FROM items WHERE agent_id = $1 AND version > $2 ORDER BY version LIMIT $3"
                ))
                .bind(a)
                .bind(cursor)
                .bind(limit)
                .fetch_all(self.c())
                .await?
            }
            Scope::AllMasked => {
                sqlx::query_as(&format!(
                    "SELECT {ITEM_COLUMNS} FROM items WHERE version > $1 ORDER BY version LIMIT $2"
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
        let rows: Vec<(Uuid, i64)> = match scope {
            Scope::Unit(u) => {
                sqlx::query_as(
                    "SELECT item_id, seq FROM removals WHERE unit_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                )
                .bind(u)
                .bind(cursor)
                .bind(limit)
                .fetch_all(self.c())
                .await?
            }
            Scope::Agent(a) => sqlx::query_as(
                "SELECT item_id, seq FROM removals WHERE agent_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            )
            .bind(a)
            .bind(cursor)
            .bind(limit)
            .fetch_all(self.c())
            .await?,
            Scope::AllMasked | Scope::Nothing => Vec::new(),
        };
        Ok(rows
            .into_iter()
            .map(|(item_id, seq)| Removal { item_id, seq })
            .collect())
    }

    async fn open_items(&mut self) -> Result<Vec<StoredItem>> {
        let rows: Vec<ItemRow> = sqlx::query_as(&format!(
            "SELECT {ITEM_COLUMNS} FROM items WHERE status <> ALL($1) ORDER BY id"
        ))
        .bind(closed_codes())
        .fetch_all(self.c())
        .await?;
        items(rows)
    }

    async fn items_due_for_alerts(&mut self, now: DateTime<Utc>, limit: i64) -> Result<Vec<Uuid>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM items WHERE next_alert_at IS NOT NULL AND next_alert_at <= $1
             ORDER BY next_alert_at LIMIT $2",
        )
        .bind(now)
        .bind(limit)
        .fetch_all(self.c())
        .await?)
    }

    async fn recorded_alerts(&mut self, item: Uuid, clock_key: &str) -> Result<HashSet<String>> {
        let rows: Vec<String> =
            sqlx::query_scalar("SELECT point FROM clock_alerts WHERE item_id = $1 AND clock_key = $2")
                .bind(item)
                .bind(clock_key)
                .fetch_all(self.c())
                .await?;
        Ok(rows.into_iter().collect())
    }

    async fn supervision_cases(&mut self, item: Uuid) -> Result<Vec<(String, DateTime<Utc>)>> {
        Ok(
            sqlx::query_as("SELECT clock, due_at FROM supervision_cases WHERE item_id = $1 ORDER BY id")
                .bind(item)
                .fetch_all(self.c())
                .await?,
        )
    }

    async fn case(&mut self, id: i64) -> Result<Option<CaseRow>> {
        let sql = format!(
            "SELECT {CASE_COLUMNS} FROM supervision_cases c JOIN items i ON i.id = c.item_id WHERE c.id = $1"
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
             WHERE ($1::bigint IS NULL OR c.unit_id = $1) AND (NOT $2 OR c.stage <> 'closed')
             ORDER BY c.recorded_at DESC, c.id DESC LIMIT $3"
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
             WHERE c.item_id = $1 AND s.action = 'uphold')",
        )
        .bind(item)
        .fetch_one(self.c())
        .await?)
    }

    async fn case_steps(&mut self, ids: &[i64]) -> Result<HashMap<i64, Vec<CaseStepRow>>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            case_id: i64,
            at: DateTime<Utc>,
            actor_id: Option<i64>,
            actor_name: String,
            action: String,
            cause: Option<String>,
            correction: Option<String>,
            note: Option<String>,
        }
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT case_id, at, actor_id, actor_name, action, cause, correction, note FROM supervision_steps
             WHERE case_id = ANY($1) ORDER BY case_id, id",
        )
        .bind(ids)
        .fetch_all(self.c())
        .await?;
        let mut out: HashMap<i64, Vec<CaseStepRow>> = HashMap::new();
        for r in rows {
            out.entry(r.case_id).or_default().push(CaseStepRow {
                case_id: r.case_id,
                at: r.at,
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
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT id, name, version FROM sites WHERE version > $1 ORDER BY version LIMIT $2",
        )
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
            "SELECT id, name, kind, site_id, version FROM units WHERE version > $1 ORDER BY version LIMIT $2",
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
            "SELECT {MATTER_COLUMNS} FROM matters WHERE version > $1 ORDER BY version LIMIT $2"
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
             WHERE role <> 'portal' AND version > $1 AND ($2::bigint IS NULL OR unit_id = $2)
             ORDER BY version LIMIT $3",
        )
        .bind(cursor)
        .bind(unit)
        .bind(limit)
        .fetch_all(self.c())
        .await?;
        rows.into_iter().map(ColleagueSql::into_row).collect()
    }

    async fn calendar(&mut self) -> Result<Option<StoredCalendar>> {
        let row: Option<(i64, Json<CalendarWire>, i64)> =
            sqlx::query_as("SELECT data_version, data, version FROM calendar WHERE id = 1")
                .fetch_optional(self.c())
                .await?;
        row.map(|(data_version, data, version)| {
            Ok(StoredCalendar {
                data_version: u32::try_from(data_version).map_err(Error::internal)?,
                wire: data.0,
                version,
            })
        })
        .transpose()
    }

    async fn matter(&mut self, id: i64) -> Result<Option<MatterRow>> {
        let row: Option<MatterSql> =
            sqlx::query_as(&format!("SELECT {MATTER_COLUMNS} FROM matters WHERE id = $1"))
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
        let found: Option<i64> = sqlx::query_scalar("SELECT id FROM units WHERE id = $1")
            .bind(id)
            .fetch_optional(self.c())
            .await?;
        Ok(found.is_some())
    }

    async fn find_unit(&mut self, id_or_name: &str) -> Result<Option<i64>> {
        if let Ok(id) = id_or_name.parse::<i64>() {
            return Ok(self.unit_exists(id).await?.then_some(id));
        }
        Ok(sqlx::query_scalar("SELECT id FROM units WHERE name = $1")
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
            FigureScope::Own(user) => ("AND e.user_id = $2", Some(user)),
            FigureScope::Unit(unit) => ("AND e.unit_id = $2", Some(unit)),
            FigureScope::All => ("", None),
        };
        let sql = format!(
            "SELECT {TICKET_EVENT_COLUMNS}, u.display_name FROM ticket_events e JOIN users u ON u.id = e.user_id
             WHERE e.day = $1 {filter} ORDER BY e.client_id COLLATE \"C\", e.ticket_no COLLATE \"C\", e.at, e.id"
        );
        let mut q = sqlx::query_as::<_, TicketEventSqlNamed>(&sql).bind(day);
        if let Some(key) = key {
            q = q.bind(key);
        }
        Ok(q.fetch_all(self.c())
            .await?
            .into_iter()
            .map(|named| Ok::<_, Error>((named.row.decode()?, named.display_name)))
            .collect::<Result<_>>()?)
    }

    async fn hall_calls(
        &mut self,
        day: chrono::NaiveDate,
        unit: i64,
        limit: i64,
    ) -> Result<Vec<TicketEventRow>> {
        let sql = format!(
            "SELECT {TICKET_EVENT_COLUMNS} FROM ticket_events e
             WHERE e.day = $1 AND e.step IN ('called', 'recalled')
               AND e.unit_id IN (SELECT id FROM units WHERE site_id = (SELECT site_id FROM units WHERE id = $2))
             ORDER BY e.at DESC, e.id LIMIT $3"
        );
        sqlx::query_as::<_, TicketEventSql>(&sql)
            .bind(day)
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
             WHERE e.day = $1 AND e.step = 'transferred' AND e.to_window = $2
               AND e.unit_id IN (SELECT id FROM units WHERE site_id = (SELECT site_id FROM units WHERE id = $3))
             ORDER BY e.at, e.id"
        );
        sqlx::query_as::<_, TicketEventSql>(&sql)
            .bind(day)
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
            "SELECT s.name FROM users u JOIN units n ON n.id = u.unit_id JOIN sites s ON s.id = n.site_id
             WHERE u.id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.c())
        .await?)
    }

    async fn user_id(&mut self, username: &str) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
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
            locked_until: Option<DateTime<Utc>>,
            disabled: bool,
        }
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, username, display_name, role, unit_id, password_hash, must_change_password, failed_logins,
                    locked_until, disabled
             FROM users WHERE username = $1",
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
                locked_until: r.locked_until,
                disabled: r.disabled,
            })
        })
        .transpose()
    }

    async fn session(&mut self, token_hash: &str) -> Result<Option<SessionFacts>> {
        #[derive(sqlx::FromRow)]
        struct Row {
            client_id: String,
            last_seen: DateTime<Utc>,
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
             FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(self.c())
        .await?;
        row.map(|r| {
            Ok(SessionFacts {
                client_id: r.client_id,
                last_seen: r.last_seen,
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
        Ok(
            sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_optional(self.c())
                .await?,
        )
    }

    async fn throttle(&mut self, key: &str) -> Result<Option<(u32, Option<DateTime<Utc>>)>> {
        let row: Option<(i64, Option<DateTime<Utc>>)> =
            sqlx::query_as("SELECT failures, blocked_until FROM login_throttle WHERE key = $1")
                .bind(key)
                .fetch_optional(self.c())
                .await?;
        Ok(row.map(|(f, until)| (u32::try_from(f).unwrap_or(u32::MAX), until)))
    }

    async fn client(&mut self, client_id: &str) -> Result<Option<ClientState>> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT user_id, last_seq FROM clients WHERE client_id = $1")
                .bind(client_id)
                .fetch_optional(self.c())
                .await?;
        Ok(row.map(|(user_id, last_seq)| ClientState { user_id, last_seq }))
    }

    async fn stored_result(&mut self, client_id: &str, seq: i64) -> Result<Option<StoredResult>> {
        let row: Option<(i64, Uuid, String)> = sqlx::query_as(
            "SELECT seq, mutation_id, outcome FROM mutation_results WHERE client_id = $1 AND seq = $2",
        )
        .bind(client_id)
        .bind(seq)
        .fetch_optional(self.c())
        .await?;
        Ok(row.map(|(seq, mutation_id, outcome)| StoredResult {
            seq,
            mutation_id,
            outcome,
        }))
    }

    async fn result_of_mutation(
        &mut self,
        client_id: &str,
        mutation_id: Uuid,
    ) -> Result<Option<StoredResult>> {
        let row: Option<(i64, Uuid, String)> = sqlx::query_as(
            "SELECT seq, mutation_id, outcome FROM mutation_results WHERE client_id = $1 AND mutation_id = $2
             ORDER BY seq LIMIT 1",
        )
        .bind(client_id)
        .bind(mutation_id)
        .fetch_optional(self.c())
        .await?;
        Ok(row.map(|(seq, mutation_id, outcome)| StoredResult {
            seq,
            mutation_id,
            outcome,
        }))
    }

    async fn upload(&mut self, user_id: i64, hash: &str) -> Result<Option<UploadRow>> {
        let row: Option<(i64, String, i64, bool)> = sqlx::query_as(
            "SELECT size, mime, received, complete FROM blob_uploads WHERE user_id = $1 AND hash = $2",
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
        let row: Option<(String, Option<String>, i32, DateTime<Utc>)> =
            sqlx::query_as("SELECT status, signature, attempts, updated_at FROM blob_scans WHERE hash = $1")
                .bind(hash)
                .fetch_optional(self.c())
                .await?;
        row.map(|(status, signature, attempts, updated_at)| {
            Ok(ScanRow {
                hash: hash.to_owned(),
                status: scan_status(&status)?,
                signature,
                attempts: attempts as i64,
                updated_at,
            })
        })
        .transpose()
    }

    async fn pending_scans(&mut self, limit: u32) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT hash FROM blob_scans WHERE status = 'pending' ORDER BY updated_at LIMIT $1",
        )
        .bind(limit as i64)
        .fetch_all(self.c())
        .await?)
    }

    async fn blob_mime(&mut self, hash: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT mime FROM blobs WHERE hash = $1")
            .bind(hash)
            .fetch_optional(self.c())
            .await?)
    }

    async fn blob_in_scope(&mut self, hash: &str, scope: Scope) -> Result<bool> {
        let hit: Option<i32> = match scope {
            Scope::Unit(u) => {
                sqlx::query_scalar(
                    "SELECT 1 FROM item_attachments a JOIN items i ON i.id = a.item_id
                     WHERE a.hash = $1 AND i.unit_id = $2 LIMIT 1",
                )
                .bind(hash)
                .bind(u)
                .fetch_optional(self.c())
                .await?
            }
            Scope::Agent(me) => {
                sqlx::query_scalar(
                    "SELECT 1 FROM item_attachments a JOIN items i ON i.id = a.item_id
                     WHERE a.hash = $1 AND i.agent_id = $2 LIMIT 1",
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
                    COUNT(*) FILTER (WHERE in_time) AS on_time,
                    COUNT(*) FILTER (WHERE NOT in_time) AS late,
                    COUNT(*) FILTER (WHERE in_time IS NULL AND due_at < $1) AS overdue,
                    COUNT(*) FILTER (WHERE in_time IS NULL AND (due_at IS NULL OR due_at >= $1)) AS running,
                    COALESCE(SUM(used_secs), 0)::bigint AS used_secs
             FROM stat_clocks WHERE day BETWEEN $2 AND $3 {filter}
             GROUP BY unit_id, person_id, dimension"
        );
        let mut q = sqlx::query_as::<_, Row>(&sql).bind(now).bind(from).bind(to);
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
            rating: i32,
            excluded: bool,
            n: i64,
        }
        let (filter, key) = figure_filter(scope, 3);
        let sql = format!(
            "SELECT unit_id, person_id, rating, excluded, COUNT(*) AS n
             FROM stat_ratings WHERE day BETWEEN $1 AND $2 {filter}
             GROUP BY unit_id, person_id, rating, excluded"
        );
        let mut q = sqlx::query_as::<_, Row>(&sql).bind(from).bind(to);
        if let Some(key) = key {
            q = q.bind(key);
        }
        q.fetch_all(self.c())
            .await?
            .into_iter()
            .map(|r| StatRatingGroup::decode((r.unit_id, r.person_id), i64::from(r.rating), r.excluded, r.n))
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
        Ok(sqlx::query_scalar("SELECT value FROM meta WHERE key = $1")
            .bind(key)
            .fetch_optional(self.c())
            .await?)
    }
}

#[async_trait]
impl Writes for PgConn {
    async fn next_seq(&mut self) -> Result<i64> {
        // The row lock taken here is held until commit: the next writer waits for it, so
        // numbers commit in order (store/mod.rs).
        Ok(
            sqlx::query_scalar("UPDATE change_seq SET value = value + 1 WHERE id = 1 RETURNING value")
                .fetch_one(self.c())
                .await?,
        )
    }

    async fn lock_items(&mut self, ids: &[Uuid]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut sorted = ids.to_vec();
        sorted.sort();
        sorted.dedup();
        sqlx::query("SELECT id FROM items WHERE id = ANY($1) ORDER BY id FOR UPDATE")
            .bind(&sorted)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn insert_item(&mut self, item: &NewItem, history: &[ItemEvent]) -> Result<(String, i64)> {
        let day = shimin_domain::calendar::to_local(item.received_at).format("%Y%m%d");
        let key = format!("{}{}", item.kind.number_prefix(), day);
        let n: i64 = sqlx::query_scalar(
            "INSERT INTO item_counters (prefix_day, last) VALUES ($1, 1)
             ON CONFLICT (prefix_day) DO UPDATE SET last = item_counters.last + 1 RETURNING last",
        )
        .bind(&key)
        .fetch_one(self.c())
        .await?;
        let number = format!("{key}-{n:04}");
        let seq = self.next_seq().await?;
        sqlx::query(
            "INSERT INTO items (id, number, kind, status, unit_id, matter_id, agent_id, handler_id, applicant_name,
                applicant_id_number, applicant_phone, title, content, received_at, details, version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(item.id)
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
        .bind(item.received_at)
        .bind(Json(&item.details))
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
                "INSERT INTO item_counters (prefix_day, last) VALUES ($1, $2)
                 ON CONFLICT (prefix_day) DO UPDATE SET last = item_counters.last + excluded.last RETURNING last",
            )
            .bind(key)
            .bind(n)
            .fetch_one(self.c())
            .await?;
            first_number.push(last - n);
        }
        let n = items.len() as i64;
        let last_seq: i64 =
            sqlx::query_scalar("UPDATE change_seq SET value = value + $1 WHERE id = 1 RETURNING value")
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
            let mut qb: sqlx::QueryBuilder<Postgres> = sqlx::QueryBuilder::new(
                "INSERT INTO items (id, number, kind, status, unit_id, matter_id, agent_id, handler_id, applicant_name, \
                 applicant_id_number, applicant_phone, title, content, received_at, due_at, due_provisional, details, version) ",
            );
            qb.push_values(chunk.iter().zip(numbers), |mut row, (b, (number, seq))| {
                let details = Json(&b.item.details);
                row.push_bind(b.item.id)
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
                    .push_bind(b.item.received_at)
                    .push_bind(b.due_at)
                    .push_bind(false)
                    .push_bind(details)
                    .push_bind(*seq);
            });
            qb.build().execute(self.c()).await?;
        }
        let events: Vec<(&Uuid, &ItemEvent, i64)> = items
            .iter()
            .zip(&out)
            .flat_map(|(b, (_, seq))| b.history.iter().map(move |e| (&b.item.id, e, *seq)))
            .collect();
        for chunk in events.chunks(1000) {
            let mut qb: sqlx::QueryBuilder<Postgres> = sqlx::QueryBuilder::new(
                "INSERT INTO item_events (item_id, at, actor_id, actor_name, action, status, note, place, seq) ",
            );
            qb.push_values(chunk, |mut row, (id, e, seq)| {
                row.push_bind(*id)
                    .push_bind(e.at)
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
            "UPDATE items SET status = $1, handler_id = $2, unit_id = $3, details = $4, version = $5 WHERE id = $6",
        )
        .bind(change.status.code())
        .bind(change.handler_id)
        .bind(change.unit_id)
        .bind(Json(&change.details))
        .bind(seq)
        .bind(id)
        .execute(self.c())
        .await?;
        Ok(())
    }

    async fn set_item_version(&mut self, id: Uuid, seq: i64) -> Result<()> {
        sqlx::query("UPDATE items SET version = $1 WHERE id = $2")
            .bind(seq)
            .bind(id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn mark_overdue(&mut self, id: Uuid) -> Result<()> {
        sqlx::query("UPDATE items SET overdue = true, supervision = true WHERE id = $1")
            .bind(id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn append_event(&mut self, id: Uuid, e: &ItemEvent, seq: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO item_events (item_id, at, actor_id, actor_name, action, status, note, place, seq)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(e.at)
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
        sqlx::query("UPDATE items SET due_at = $1, due_provisional = $2, next_alert_at = $3 WHERE id = $4")
            .bind(s.due_at)
            .bind(s.due_provisional)
            .bind(s.next_alert_at)
            .bind(id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn set_next_alert(&mut self, id: Uuid, at: Option<DateTime<Utc>>) -> Result<()> {
        sqlx::query("UPDATE items SET next_alert_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn add_removal(&mut self, id: Uuid, unit: i64, seq: i64) -> Result<()> {
        sqlx::query("INSERT INTO removals (item_id, unit_id, agent_id, seq) VALUES ($1, $2, NULL, $3)")
            .bind(id)
            .bind(unit)
            .bind(seq)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn link_attachment(&mut self, id: Uuid, hash: &str) -> Result<()> {
        sqlx::query("INSERT INTO item_attachments (item_id, hash) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(id)
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
            "INSERT INTO clock_alerts (item_id, clock_key, point, recorded_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING",
        )
        .bind(id)
        .bind(clock_key)
        .bind(point)
        .bind(at)
        .execute(self.c())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_reveal(&mut self, reveal: &RevealRow) -> Result<bool> {
        insert_reveal(self.c(), reveal).await
    }

    async fn record_ticket_event(&mut self, event: &TicketEventRow) -> Result<bool> {
        insert_ticket_event(self.c(), event).await
    }

    async fn put_stat_clocks(&mut self, item_id: Uuid, rows: &[StatClockRow], keep_met: bool) -> Result<()> {
        let clear = if keep_met {
            "DELETE FROM stat_clocks WHERE item_id = $1 AND met_at IS NULL"
        } else {
            "DELETE FROM stat_clocks WHERE item_id = $1"
        };
        sqlx::query(clear).bind(item_id).execute(self.c()).await?;
        for r in rows {
            sqlx::query(
                "INSERT INTO stat_clocks (item_id, ordinal, clock, dimension, unit_id, person_id, day,
                 started_at, due_at, met_at, in_time, used_secs)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT DO NOTHING",
            )
            .bind(r.item_id)
            .bind(r.ordinal)
            .bind(r.clock.code())
            .bind(r.dimension.code())
            .bind(r.unit_id)
            .bind(r.person_id)
            .bind(r.day)
            .bind(r.started_at)
            .bind(r.due_at)
            .bind(r.met_at)
            .bind(r.in_time)
            .bind(r.used_secs)
            .execute(self.c())
            .await?;
        }
        Ok(())
    }

    async fn put_stat_rating(&mut self, r: &StatRatingRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO stat_ratings (item_id, rated_id, unit_id, person_id, day, rating, excluded)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (item_id) DO UPDATE SET rated_id = EXCLUDED.rated_id, unit_id = EXCLUDED.unit_id,
               person_id = EXCLUDED.person_id, day = EXCLUDED.day, rating = EXCLUDED.rating,
               excluded = EXCLUDED.excluded",
        )
        .bind(r.item_id)
        .bind(r.rated_id)
        .bind(r.unit_id)
        .bind(r.person_id)
        .bind(r.day)
        .bind(i32::from(r.rating.stars()))
        .bind(r.excluded)
        .execute(self.c())
        .await?;
        Ok(())
    }

    async fn open_supervision_case(&mut self, c: &NewSupervisionCase<'_>) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar(
            "INSERT INTO supervision_cases (item_id, unit_id, clock, clock_start, due_at, recorded_at, stage_since, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(c.item_id)
        .bind(c.unit_id)
        .bind(c.clock)
        .bind(c.clock_start)
        .bind(c.due_at)
        .bind(c.recorded_at)
        .bind(c.reason)
        .fetch_optional(self.c())
        .await?)
    }

    async fn set_case_stage(&mut self, id: i64, stage: CaseStage, since: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE supervision_cases SET stage = $1, stage_since = $2,
             status = CASE WHEN $1 = 'closed' THEN 'closed' ELSE 'open' END WHERE id = $3",
        )
        .bind(stage.code())
        .bind(since)
        .bind(id)
        .execute(self.c())
        .await?;
        Ok(())
    }

    async fn append_case_step(&mut self, s: &CaseStepRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO supervision_steps (case_id, at, actor_id, actor_name, action, cause, correction, note)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(s.case_id)
        .bind(s.at)
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
        sqlx::query("UPDATE items SET supervision = true WHERE id = $1")
            .bind(id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn add_site(&mut self, name: &str, seq: i64) -> Result<i64> {
        Ok(
            sqlx::query_scalar("INSERT INTO sites (name, version) VALUES ($1, $2) RETURNING id")
                .bind(name)
                .bind(seq)
                .fetch_one(self.c())
                .await?,
        )
    }

    async fn add_unit(&mut self, name: &str, kind: UnitKind, site_id: i64, seq: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO units (name, kind, site_id, version) VALUES ($1, $2, $3, $4) RETURNING id",
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
        )
        .bind(&m.code)
        .bind(&m.name)
        .bind(m.unit_id)
        .bind(i64::from(m.promised_days))
        .bind(Json(&m.materials))
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
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(u.username)
        .bind(u.display_name)
        .bind(u.role.code())
        .bind(u.unit_id)
        .bind(u.password_hash)
        .bind(u.must_change_password)
        .bind(Utc::now())
        .bind(seq)
        .fetch_one(self.c())
        .await?)
    }

    async fn set_presence(&mut self, user_id: i64, presence: Presence, seq: i64) -> Result<()> {
        sqlx::query("UPDATE users SET presence = $1, version = $2 WHERE id = $3")
            .bind(presence.code())
            .bind(seq)
            .bind(user_id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn store_calendar(&mut self, wire: &CalendarWire, seq: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO calendar (id, data_version, data, version) VALUES (1, $1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET data_version = excluded.data_version, data = excluded.data,
             version = excluded.version",
        )
        .bind(i64::from(wire.version))
        .bind(Json(wire))
        .bind(seq)
        .execute(self.c())
        .await?;
        Ok(())
    }

    async fn set_meta(&mut self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(self.c())
        .await?;
        Ok(())
    }

    async fn note_failed_login(&mut self, user_id: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "UPDATE users SET failed_logins = failed_logins + 1 WHERE id = $1 RETURNING failed_logins",
        )
        .bind(user_id)
        .fetch_one(self.c())
        .await?)
    }

    async fn lock_user(&mut self, user_id: i64, until: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = $1 WHERE id = $2")
            .bind(until)
            .bind(user_id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn clear_failed_logins(&mut self, user_id: i64) -> Result<()> {
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(user_id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn create_session(&mut self, s: &NewSession<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, client_id, device, created_at, last_seen, revoked)
             VALUES ($1, $2, $3, $4, $5, $5, false)",
        )
        .bind(s.token_hash)
        .bind(s.user_id)
        .bind(s.client_id)
        .bind(s.device)
        .bind(s.at)
        .execute(self.c())
        .await?;
        Ok(())
    }

    async fn touch_session(&mut self, token_hash: &str, at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen = $1 WHERE token_hash = $2")
            .bind(at)
            .bind(token_hash)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn revoke_session(&mut self, token_hash: &str) -> Result<()> {
        sqlx::query("UPDATE sessions SET revoked = true WHERE token_hash = $1")
            .bind(token_hash)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn revoke_other_sessions(&mut self, user_id: i64, keep: &str) -> Result<()> {
        sqlx::query("UPDATE sessions SET revoked = true WHERE user_id = $1 AND token_hash <> $2")
            .bind(user_id)
            .bind(keep)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn set_password(&mut self, user_id: i64, hash: &str, must_change: bool) -> Result<()> {
        sqlx::query("UPDATE users SET password_hash = $1, must_change_password = $2 WHERE id = $3")
            .bind(hash)
            .bind(must_change)
            .bind(user_id)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn note_throttle_failure(&mut self, key: &str, at: DateTime<Utc>) -> Result<u32> {
        let f: i64 = sqlx::query_scalar(
            "INSERT INTO login_throttle (key, failures, blocked_until, updated_at) VALUES ($1, 1, NULL, $2)
             ON CONFLICT (key) DO UPDATE SET failures = login_throttle.failures + 1,
             updated_at = excluded.updated_at RETURNING failures",
        )
        .bind(key)
        .bind(at)
        .fetch_one(self.c())
        .await?;
        Ok(u32::try_from(f).unwrap_or(u32::MAX))
    }

    async fn block_throttle(&mut self, key: &str, until: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE login_throttle SET blocked_until = $1 WHERE key = $2")
            .bind(until)
            .bind(key)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn clear_throttle(&mut self, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM login_throttle WHERE key = $1")
            .bind(key)
            .execute(self.c())
            .await?;
        Ok(())
    }

    async fn clear_throttles_with_prefix(&mut self, prefix: &str) -> Result<u64> {
        let done = sqlx::query("DELETE FROM login_throttle WHERE starts_with(key, $1)")
            .bind(prefix)
            .execute(self.c())
            .await?;
        Ok(done.rows_affected())
    }

    async fn prune_throttles(&mut self, before: DateTime<Utc>) -> Result<u64> {
        let done = sqlx::query("DELETE FROM login_throttle WHERE updated_at < $1")
            .bind(before)
            .execute(self.c())
            .await?;
        Ok(done.rows_affected())
    }

    async fn register_client(&mut self, client_id: &str, user_id: i64, at: DateTime<Utc>) -> Result<i64> {
        sqlx::query(
            "INSERT INTO clients (client_id, user_id, last_seq, created_at) VALUES ($1, $2, 0, $3)
             ON CONFLICT DO NOTHING",
        )
        .bind(client_id)
        .bind(user_id)
        .bind(at)
        .execute(self.c())
        .await?;
        Ok(
            sqlx::query_scalar("SELECT user_id FROM clients WHERE client_id = $1")
                .bind(client_id)
                .fetch_one(self.c())
                .await?,
        )
    }

    async fn lock_client(&mut self, client_id: &str) -> Result<Option<ClientState>> {
        let row: Option<(i64, i64)> =
            sqlx::query_as("SELECT user_id, last_seq FROM clients WHERE client_id = $1 FOR UPDATE")
                .bind(client_id)
                .fetch_optional(self.c())
                .await?;
        Ok(row.map(|(user_id, last_seq)| ClientState { user_id, last_seq }))
    }

    async fn store_result(&mut self, client_id: &str, r: &StoredResult, at: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "INSERT INTO mutation_results (client_id, seq, mutation_id, outcome, applied_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(client_id)
        .bind(r.seq)
        .bind(r.mutation_id)
        .bind(&r.outcome)
        .bind(at)
        .execute(self.c())
        .await?;
        Ok(())
    }

    async fn set_client_seq(&mut self, client_id: &str, seq: i64) -> Result<()> {
        sqlx::query("UPDATE clients SET last_seq = $1 WHERE client_id = $2")
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
             VALUES ($1, $2, $3, $4, 0, false, $5)
             ON CONFLICT (user_id, hash) DO UPDATE SET size = excluded.size, mime = excluded.mime,
             received = 0, started_at = excluded.started_at",
        )
        .bind(user_id)
        .bind(hash)
        .bind(size as i64)
        .bind(mime)
        .bind(at)
        .execute(self.c())
        .await?;
        Ok(())
    }

    async fn set_upload_received(&mut self, user_id: i64, hash: &str, received: u64) -> Result<()> {
        sqlx::query("UPDATE blob_uploads SET received = $1 WHERE user_id = $2 AND hash = $3")
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
        sqlx::query(
            "INSERT INTO blobs (hash, size, mime, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(hash)
        .bind(size as i64)
        .bind(mime)
        .bind(at)
        .execute(self.c())
        .await?;
        sqlx::query(
            "INSERT INTO blob_uploads (user_id, hash, size, mime, received, complete, started_at, completed_at)
             VALUES ($1, $2, $3, $4, $3, true, $5, $5)
             ON CONFLICT (user_id, hash) DO UPDATE SET complete = true, received = excluded.size,
             completed_at = excluded.completed_at",
        )
        .bind(user_id)
        .bind(hash)
        .bind(size as i64)
        .bind(mime)
        .bind(at)
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
        let instance = self.instance;
        for c in &announce {
            let payload = serde_json::to_string(&Notice { i: instance, c: *c }).map_err(Error::internal)?;
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(payload)
                .execute(self.c())
                .await?;
        }
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

/// Appends entries to the chain under the `audit_head` row lock (the last lock a writer takes).
async fn append_audit(conn: &mut PgConnection, entries: &[OwnedEntry]) -> Result<()> {
    let (mut id, mut prev): (i64, String) =
        sqlx::query_as("SELECT last_id, hash FROM audit_head WHERE id = 1 FOR UPDATE")
            .fetch_one(&mut *conn)
            .await?;
    for e in entries {
        id += 1;
        let hash = audit::chain_hash(&prev, id, e);
        sqlx::query(
            "INSERT INTO audit_log (id, at, user_id, username, action, target, client_id, outcome, hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id)
        .bind(e.at)
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
    sqlx::query("UPDATE audit_head SET last_id = $1, hash = $2 WHERE id = 1")
        .bind(id)
        .bind(&prev)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Inserts a reveal unless its id is known; true when it was new. Also `migrate`'s import.
pub(super) async fn insert_reveal(conn: &mut PgConnection, r: &RevealRow) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO reveals (id, item_id, user_id, client_id, field, revealed_at, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
    )
    .bind(r.id)
    .bind(r.item_id)
    .bind(r.user_id)
    .bind(&r.client_id)
    .bind(r.field.code())
    .bind(r.revealed_at)
    .bind(r.recorded_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Inserts or replaces the virus check of a blob.
pub(super) async fn insert_blob_scan(conn: &mut PgConnection, scan: &ScanRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO blob_scans (hash, status, signature, attempts, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (hash) DO UPDATE SET status = excluded.status, signature = excluded.signature,
         attempts = excluded.attempts, updated_at = excluded.updated_at",
    )
    .bind(&scan.hash)
    .bind(scan.status.code())
    .bind(&scan.signature)
    .bind(scan.attempts as i32)
    .bind(scan.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

pub(super) fn scan_status(code: &str) -> Result<ScanStatus> {
    ScanStatus::from_code(code).ok_or_else(|| Error::internal(format!("unknown scan status {code:?}")))
}

/// Inserts a counter event unless its id is known; true when it was new. Also `migrate`'s import.
pub(super) async fn insert_ticket_event(conn: &mut PgConnection, e: &TicketEventRow) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO ticket_events (id, client_id, user_id, unit_id, day, ticket_no, step, at, issued_at,
         item_id, window_no, to_window, recorded_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT DO NOTHING",
    )
    .bind(e.id)
    .bind(&e.client_id)
    .bind(e.user_id)
    .bind(e.unit_id)
    .bind(e.day)
    .bind(&e.ticket_no)
    .bind(e.step.code())
    .bind(e.at)
    .bind(e.issued_at)
    .bind(e.item_id)
    .bind(e.window_no)
    .bind(e.to_window)
    .bind(e.recorded_at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The columns of a [`TicketEventRow`], in [`TicketEventSql`]'s order (table alias `e`).
pub(super) const TICKET_EVENT_COLUMNS: &str =
    "e.id, e.client_id, e.user_id, e.unit_id, e.day, e.ticket_no, e.step, \
     e.at, e.issued_at, e.item_id, e.window_no, e.to_window, e.recorded_at";

/// A `ticket_events` row as PostgreSQL returns it.
#[derive(sqlx::FromRow)]
pub(super) struct TicketEventSql {
    id: Uuid,
    client_id: String,
    user_id: i64,
    unit_id: i64,
    day: chrono::NaiveDate,
    ticket_no: String,
    step: String,
    at: DateTime<Utc>,
    issued_at: DateTime<Utc>,
    item_id: Option<Uuid>,
    window_no: Option<i32>,
    to_window: Option<i32>,
    recorded_at: DateTime<Utc>,
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
            id: self.id,
            client_id: self.client_id,
            user_id: self.user_id,
            unit_id: self.unit_id,
            day: self.day,
            ticket_no: self.ticket_no,
            step: shimin_domain::counter::TicketStep::from_code(&self.step)
                .ok_or_else(|| Error::internal(format!("unknown ticket step {:?} in database", self.step)))?,
            at: self.at,
            issued_at: self.issued_at,
            item_id: self.item_id,
            window_no: self.window_no,
            to_window: self.to_window,
            recorded_at: self.recorded_at,
        })
    }
}
