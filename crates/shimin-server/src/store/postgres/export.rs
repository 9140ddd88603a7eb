//! Every table of a PostgreSQL store as [`dump::Rows`] (text keys in byte order, `COLLATE
//! "C"`, as on SQLite), and the import of such rows into an empty store (`migrate`).

use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use sqlx::postgres::PgRow;
use sqlx::types::Json;
use sqlx::{FromRow, PgConnection, PgPool};
use tokio::sync::mpsc::Sender;
use uuid::Uuid;

use super::conn::{
    personal_field, unit_kind, ColleagueSql, EventRow, ItemRow, MatterSql, ITEM_COLUMNS, MATTER_COLUMNS,
};
use crate::store::dump::{self, Rows, Table, CHUNK};
use crate::store::model::{RevealRow, ScanRow, SiteRow, UnitRow};
use crate::{Error, Result};

async fn stream<R, T>(
    conn: &mut PgConnection,
    sql: &str,
    map: impl Fn(R) -> Result<T>,
    wrap: fn(Vec<T>) -> Rows,
    out: &Sender<Rows>,
) -> Result<()>
where
    R: for<'r> FromRow<'r, PgRow> + Send + Unpin,
{
    let mut rows = sqlx::query_as::<_, R>(sql).fetch(conn);
    let mut buf = Vec::with_capacity(CHUNK);
    while let Some(r) = rows.try_next().await? {
        buf.push(map(r)?);
        if buf.len() == CHUNK {
            send(out, wrap(std::mem::take(&mut buf))).await?;
        }
    }
    if !buf.is_empty() {
        send(out, wrap(buf)).await?;
    }
    Ok(())
}

async fn send(out: &Sender<Rows>, rows: Rows) -> Result<()> {
    out.send(rows)
        .await
        .map_err(|_| Error::internal("export consumer gone"))
}

#[derive(sqlx::FromRow)]
struct EventDumpRow {
    id: i64,
    seq: i64,
    #[sqlx(flatten)]
    e: EventRow,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    #[sqlx(flatten)]
    c: ColleagueSql,
    password_hash: String,
    must_change_password: bool,
    failed_logins: i64,
    locked_until: Option<DateTime<Utc>>,
    disabled: bool,
    created_at: DateTime<Utc>,
}

type AuditTuple = (
    i64,
    DateTime<Utc>,
    Option<i64>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    String,
    String,
);

/// One exported row, as read.
type SessionTuple = (String, i64, String, String, DateTime<Utc>, DateTime<Utc>, bool);
/// One exported row, as read.
type CaseTuple = (
    i64,
    Uuid,
    i64,
    String,
    DateTime<Utc>,
    DateTime<Utc>,
    DateTime<Utc>,
    String,
    String,
    Option<DateTime<Utc>>,
    Option<String>,
);
/// One exported row, as read.
type CaseStepTuple = (
    i64,
    DateTime<Utc>,
    Option<i64>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);
/// One exported row, as read.
type UploadTuple = (
    i64,
    String,
    i64,
    String,
    i64,
    bool,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

pub(super) async fn export(conn: &mut PgConnection, table: Table, out: Sender<Rows>) -> Result<()> {
    match table {
        Table::Meta => {
            stream(conn, r#"SELECT key, value FROM meta ORDER BY key COLLATE "C""#, Ok, Rows::Meta, &out).await
        }
        Table::ChangeSeq => {
            let v: i64 = sqlx::query_scalar("SELECT value FROM change_seq WHERE id = 1")
                .fetch_one(&mut *conn)
                .await?;
            send(&out, Rows::ChangeSeq(v)).await
        }
        Table::Sites => {
            stream(
                conn,
                "SELECT id, name, version FROM sites ORDER BY id",
                |(id, name, version): (i64, String, i64)| Ok(SiteRow { id, name, version }),
                Rows::Sites,
                &out,
            )
            .await
        }
        Table::Units => {
            stream(
                conn,
                "SELECT id, name, kind, site_id, version FROM units ORDER BY id",
                |(id, name, kind, site_id, version): (i64, String, String, i64, i64)| {
                    Ok(UnitRow {
                        id,
                        name,
                        kind: unit_kind(&kind)?,
                        site_id,
                        version,
                    })
                },
                Rows::Units,
                &out,
            )
            .await
        }
        Table::Users => {
            stream(
                conn,
                "SELECT id, username, display_name, role, unit_id, presence, version, password_hash,
                        must_change_password, failed_logins, locked_until, disabled, created_at
                 FROM users ORDER BY id",
                |r: UserRow| {
                    Ok(dump::UserDump {
                        colleague: r.c.into_row()?,
                        password_hash: r.password_hash,
                        must_change_password: r.must_change_password,
                        failed_logins: r.failed_logins,
                        locked_until: r.locked_until,
                        disabled: r.disabled,
                        created_at: r.created_at,
                    })
                },
                Rows::Users,
                &out,
            )
            .await
        }
        Table::Sessions => {
            stream(
                conn,
                r#"SELECT token_hash, user_id, client_id, device, created_at, last_seen, revoked FROM sessions
                   ORDER BY token_hash COLLATE "C""#,
                |(token_hash, user_id, client_id, device, created_at, last_seen, revoked): SessionTuple| {
                    Ok(dump::SessionDump {
                        token_hash,
                        user_id,
                        client_id,
                        device,
                        created_at,
                        last_seen,
                        revoked,
                    })
                },
                Rows::Sessions,
                &out,
            )
            .await
        }
        Table::Clients => {
            stream(
                conn,
                r#"SELECT client_id, user_id, last_seq, created_at FROM clients ORDER BY client_id COLLATE "C""#,
                |(client_id, user_id, last_seq, created_at): (String, i64, i64, DateTime<Utc>)| {
                    Ok(dump::ClientDump {
                        client_id,
                        user_id,
                        last_seq,
                        created_at,
                    })
                },
                Rows::Clients,
                &out,
            )
            .await
        }
        Table::MutationResults => {
            stream(
                conn,
                r#"SELECT client_id, seq, mutation_id, outcome, applied_at FROM mutation_results
                   ORDER BY client_id COLLATE "C", seq"#,
                |(client_id, seq, mutation_id, outcome, applied_at): (String, i64, Uuid, String, DateTime<Utc>)| {
                    Ok(dump::ResultDump {
                        client_id,
                        seq,
                        mutation_id,
                        outcome,
                        applied_at,
                    })
                },
                Rows::MutationResults,
                &out,
            )
            .await
        }
        Table::Matters => {
            stream(
                conn,
                &format!("SELECT {MATTER_COLUMNS} FROM matters ORDER BY id"),
                MatterSql::into_row,
                Rows::Matters,
                &out,
            )
            .await
        }
        Table::Calendar => {
            stream(
                conn,
                "SELECT data_version, data, version FROM calendar ORDER BY id",
                |(data_version, data, version): (i64, Json<shimin_protocol::CalendarWire>, i64)| {
                    Ok(dump::CalendarDump {
                        data_version: u32::try_from(data_version).map_err(Error::internal)?,
                        data: data.0,
                        version,
                    })
                },
                Rows::Calendar,
                &out,
            )
            .await
        }
        Table::ItemCounters => {
            stream(
                conn,
                r#"SELECT prefix_day, last FROM item_counters ORDER BY prefix_day COLLATE "C""#,
                Ok,
                Rows::ItemCounters,
                &out,
            )
            .await
        }
        Table::Items => {
            stream(
                conn,
                &format!("SELECT {ITEM_COLUMNS} FROM items ORDER BY id"),
                ItemRow::into_item,
                Rows::Items,
                &out,
            )
            .await
        }
        Table::ItemEvents => {
            stream(
                conn,
                "SELECT id, item_id, at, actor_id, actor_name, action, status, note, place, seq FROM item_events
                 ORDER BY id",
                |r: EventDumpRow| {
                    Ok(dump::EventDump {
                        id: r.id,
                        item_id: r.e.item_id,
                        seq: r.seq,
                        event: r.e.event()?,
                    })
                },
                Rows::ItemEvents,
                &out,
            )
            .await
        }
        Table::Removals => {
            stream(
                conn,
                "SELECT id, item_id, unit_id, agent_id, seq FROM removals ORDER BY id",
                |(id, item_id, unit_id, agent_id, seq): (i64, Uuid, Option<i64>, Option<i64>, i64)| {
                    Ok(dump::RemovalDump {
                        id,
                        item_id,
                        unit_id,
                        agent_id,
                        seq,
                    })
                },
                Rows::Removals,
                &out,
            )
            .await
        }
        Table::AuditLog => {
            stream(
                conn,
                "SELECT id, at, user_id, username, action, target, client_id, outcome, hash FROM audit_log ORDER BY id",
                |(id, at, user_id, username, action, target, client_id, outcome, hash): AuditTuple| {
                    Ok(dump::AuditDump {
                        id,
                        at,
                        user_id,
                        username,
                        action,
                        target,
                        client_id,
                        outcome,
                        hash,
                    })
                },
                Rows::AuditLog,
                &out,
            )
            .await
        }
        Table::ClockAlerts => {
            stream(
                conn,
                r#"SELECT item_id, clock_key, point, recorded_at FROM clock_alerts
                   ORDER BY item_id, clock_key COLLATE "C", point COLLATE "C""#,
                |(item_id, clock_key, point, recorded_at): (Uuid, String, String, DateTime<Utc>)| {
                    Ok(dump::ClockAlertDump {
                        item_id,
                        clock_key,
                        point,
                        recorded_at,
                    })
                },
                Rows::ClockAlerts,
                &out,
            )
            .await
        }
        Table::SupervisionCases => {
            stream(
                conn,
                "SELECT id, item_id, unit_id, clock, clock_start, due_at, recorded_at, status, stage, stage_since, reason
                 FROM supervision_cases ORDER BY id",
                |(id, item_id, unit_id, clock, clock_start, due_at, recorded_at, status, stage, stage_since, reason): CaseTuple| {
                    Ok(dump::SupervisionCaseDump {
                        id,
                        item_id,
                        unit_id,
                        clock,
                        clock_start,
                        due_at,
                        recorded_at,
                        status,
                        stage,
                        stage_since,
                        reason,
                    })
                },
                Rows::SupervisionCases,
                &out,
            )
            .await
        }
        Table::SupervisionSteps => {
            stream(
                conn,
                "SELECT case_id, at, actor_id, actor_name, action, cause, correction, note FROM supervision_steps
                 ORDER BY id",
                |(case_id, at, actor_id, actor_name, action, cause, correction, note): CaseStepTuple| {
                    Ok(crate::store::CaseStepRow {
                        case_id,
                        at,
                        actor_id,
                        actor_name,
                        action: crate::store::model::case_action(&action)?,
                        cause,
                        correction,
                        note,
                    })
                },
                Rows::SupervisionSteps,
                &out,
            )
            .await
        }
        Table::Blobs => {
            stream(
                conn,
                r#"SELECT hash, size, mime, created_at FROM blobs ORDER BY hash COLLATE "C""#,
                |(hash, size, mime, created_at): (String, i64, String, DateTime<Utc>)| {
                    Ok(dump::BlobDump {
                        hash,
                        size,
                        mime,
                        created_at,
                    })
                },
                Rows::Blobs,
                &out,
            )
            .await
        }
        Table::BlobUploads => {
            stream(
                conn,
                r#"SELECT user_id, hash, size, mime, received, complete, started_at, completed_at FROM blob_uploads
                   ORDER BY user_id, hash COLLATE "C""#,
                |(user_id, hash, size, mime, received, complete, started_at, completed_at): UploadTuple| {
                    Ok(dump::UploadDump {
                        user_id,
                        hash,
                        size,
                        mime,
                        received,
                        complete,
                        started_at,
                        completed_at,
                    })
                },
                Rows::BlobUploads,
                &out,
            )
            .await
        }
        Table::BlobScans => {
            stream(
                conn,
                "SELECT hash, status, signature, attempts, updated_at FROM blob_scans ORDER BY hash",
                |(hash, status, signature, attempts, updated_at): (String, String, Option<String>, i32, DateTime<Utc>)| {
                    Ok(ScanRow {
                        hash,
                        status: super::conn::scan_status(&status)?,
                        signature,
                        attempts: attempts as i64,
                        updated_at,
                    })
                },
                Rows::BlobScans,
                &out,
            )
            .await
        }
        Table::ItemAttachments => {
            stream(
                conn,
                r#"SELECT item_id, hash FROM item_attachments ORDER BY item_id, hash COLLATE "C""#,
                Ok,
                Rows::ItemAttachments,
                &out,
            )
            .await
        }
        Table::Reveals => {
            stream(
                conn,
                "SELECT id, item_id, user_id, client_id, field, revealed_at, recorded_at FROM reveals ORDER BY id",
                |(id, item_id, user_id, client_id, field, revealed_at, recorded_at): RevealTuple| {
                    Ok(RevealRow {
                        id,
                        item_id,
                        user_id,
                        client_id,
                        field: personal_field(&field)?,
                        revealed_at,
                        recorded_at,
                    })
                },
                Rows::Reveals,
                &out,
            )
            .await
        }
        Table::TicketEvents => {
            let sql = format!(
                "SELECT {} FROM ticket_events e ORDER BY e.id",
                super::conn::TICKET_EVENT_COLUMNS
            );
            stream(conn, &sql, super::conn::TicketEventSql::decode, Rows::TicketEvents, &out).await
        }
    }
}

type RevealTuple = (Uuid, Uuid, i64, String, String, DateTime<Utc>, DateTime<Utc>);

/// Writes one chunk of rows as they are (ids, numbers, versions kept).
pub(super) async fn import(conn: &mut PgConnection, rows: &Rows) -> Result<()> {
    match rows {
        Rows::Meta(v) => {
            for (key, value) in v {
                sqlx::query(
                    "INSERT INTO meta (key, value) VALUES ($1, $2)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(key)
                .bind(value)
                .execute(&mut *conn)
                .await?;
            }
        }
        Rows::ChangeSeq(v) => {
            sqlx::query("UPDATE change_seq SET value = $1 WHERE id = 1")
                .bind(v)
                .execute(&mut *conn)
                .await?;
        }
        Rows::Sites(v) => {
            for s in v {
                sqlx::query("INSERT INTO sites (id, name, version) VALUES ($1, $2, $3)")
                    .bind(s.id)
                    .bind(&s.name)
                    .bind(s.version)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Rows::Units(v) => {
            for u in v {
                sqlx::query(
                    "INSERT INTO units (id, name, kind, site_id, version) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(u.id)
                .bind(&u.name)
                .bind(u.kind.code())
                .bind(u.site_id)
                .bind(u.version)
                .execute(&mut *conn)
                .await?;
            }
        }
        Rows::Users(v) => {
            for u in v {
                let c = &u.colleague;
                sqlx::query(
                    "INSERT INTO users (id, username, display_name, role, unit_id, password_hash, presence,
                        must_change_password, failed_logins, locked_until, disabled, created_at, version)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                )
                .bind(c.id)
                .bind(&c.username)
                .bind(&c.display_name)
                .bind(c.role.code())
                .bind(c.unit_id)
                .bind(&u.password_hash)
                .bind(c.presence.code())
                .bind(u.must_change_password)
                .bind(u.failed_logins)
                .bind(u.locked_until)
                .bind(u.disabled)
                .bind(u.created_at)
                .bind(c.version)
                .execute(&mut *conn)
                .await?;
            }
        }
        Rows::Sessions(v) => {
            for s in v {
                sqlx::query(
                    "INSERT INTO sessions (token_hash, user_id, client_id, device, created_at, last_seen, revoked)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&s.token_hash)
                .bind(s.user_id)
                .bind(&s.client_id)
                .bind(&s.device)
                .bind(s.created_at)
                .bind(s.last_seen)
                .bind(s.revoked)
                .execute(&mut *conn)
                .await?;
            }
        }
        Rows::Clients(v) => {
            for c in v {
                sqlx::query(
                    "INSERT INTO clients (client_id, user_id, last_seq, created_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(&c.client_id)
                .bind(c.user_id)
                .bind(c.last_seq)
                .bind(c.created_at)
                .execute(&mut *conn)
                .await?;
            }
        }
        Rows::MutationResults(v) => {
            for r in v {
                sqlx::query(
                    "INSERT INTO mutation_results (client_id, seq, mutation_id, outcome, applied_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&r.client_id)
                .bind(r.seq)
                .bind(r.mutation_id)
                .bind(&r.outcome)
                .bind(r.applied_at)
                .execute(&mut *conn)
                .await?;
            }
        }
        Rows::Matters(v) => {
            for m in v {
                sqlx::query(
                    "INSERT INTO matters (id, code, name, unit_id, promised_days, materials, fee_fen, a_clerk_id,
                        b_clerk_id, version)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(m.id)
                .bind(&m.code)
                .bind(&m.name)
                .bind(m.unit_id)
                .bind(i64::from(m.promised_days))
                .bind(Json(&m.materials))
                .bind(m.fee_fen)
                .bind(m.a_clerk_id)
                .bind(m.b_clerk_id)
                .bind(m.version)
                .execute(&mut *conn)
                .await?;
            }
        }
        Rows::Calendar(v) => {
            for c in v {
                sqlx::query(
                    "INSERT INTO calendar (id, data_version, data, version) VALUES (1, $1, $2, $3)
                     ON CONFLICT (id) DO UPDATE SET data_version = excluded.data_version, data = excluded.data,
                     version = excluded.version",
                )
                .bind(i64::from(c.data_version))
                .bind(Json(&c.data))
                .bind(c.version)
                .execute(&mut *conn)
                .await?;
            }
        }
        Rows::ItemCounters(v) => {
            for (key, last) in v {
                sqlx::query("INSERT INTO item_counters (prefix_day, last) VALUES ($1, $2)")
                    .bind(key)
                    .bind(last)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Rows::Items(v) => {
            for i in v {
                sqlx::query(&format!(
                    "INSERT INTO items ({ITEM_COLUMNS})
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
                ))
                .bind(i.id)
                .bind(&i.number)
                .bind(i.kind.code())
                .bind(i.status.code())
                .bind(i.unit_id)
                .bind(i.matter_id)
                .bind(i.agent_id)
                .bind(i.handler_id)
                .bind(&i.applicant.name)
                .bind(&i.applicant.id_number)
                .bind(&i.applicant.phone)
                .bind(&i.title)
                .bind(&i.content)
                .bind(i.received_at)
                .bind(i.due_at)
                .bind(i.due_provisional)
                .bind(Json(&i.details))
                .bind(i.version)
                .bind(i.overdue)
                .bind(i.supervision)
                .bind(i.next_alert_at)
                .execute(&mut *conn)
                .await?;
            }
        }
        Rows::ItemEvents(v) => {
            for d in v {
                let e = &d.event;
                sqlx::query(
                    "INSERT INTO item_events (id, item_id, at, actor_id, actor_name, action, status, note, place, seq)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(d.id)
                .bind(d.item_id)
                .bind(e.at)
                .bind(e.actor_id)
                .bind(&e.actor_name)
                .bind(&e.action)
                .bind(e.status.code())
                .bind(&e.note)
                .bind(&e.place)
                .bind(d.seq)
                .execute(&mut *conn)
                .await?;
            }
        }
        Rows::Removals(v) => {
            for r in v {
                sqlx::query(
                    "INSERT INTO removals (id, item_id, unit_id, agent_id, seq) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(r.id)
                .bind(r.item_id)
                .bind(r.unit_id)
                .bind(r.agent_id)
                .bind(r.seq)
                .execute(&mut *conn)
                .await?;
            }
        }
        Rows::AuditLog(v) => {
            for a in v {
                sqlx::query(
                    "INSERT INTO audit_log (id, at, user_id, username, action, target, client_id, outcome, hash)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(a.id)
                .bind(a.at)
                .bind(a.user_id)
                .bind(&a.username)
                .bind(&a.action)
                .bind(&a.target)
                .bind(&a.client_id)
                .bind(&a.outcome)
                .bind(&a.hash)
                .execute(&mut *conn)
                .await?;
            }
        }
        Rows::ClockAlerts(v) => {
            for a in v {
                sqlx::query(
                    "INSERT INTO clock_alerts (item_id, clock_key, point, recorded_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(a.item_id)
                .bind(&a.clock_key)
                .bind(&a.point)
                .bind(a.recorded_at)
                .execute(&mut *conn)
                .await?;
            }
        }
        Rows::SupervisionCases(v) => {
            for c in v {
                sqlx::query(
                    "INSERT INTO supervision_cases (id, item_id, unit_id, clock, clock_start, due_at, recorded_at, status,
                     stage, stage_since, reason) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                )
                .bind(c.id)
                .bind(c.item_id)
                .bind(c.unit_id)
                .bind(&c.clock)
                .bind(c.clock_start)
                .bind(c.due_at)
                .bind(c.recorded_at)
                .bind(&c.status)
                .bind(&c.stage)
                .bind(c.stage_since)
                .bind(&c.reason)
                .execute(&mut *conn)
                .await?;
            }
        }
        Rows::SupervisionSteps(v) => {
            for s in v {
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
                .execute(&mut *conn)
                .await?;
            }
        }
        Rows::Blobs(v) => {
            for b in v {
                sqlx::query("INSERT INTO blobs (hash, size, mime, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(&b.hash)
                    .bind(b.size)
                    .bind(&b.mime)
                    .bind(b.created_at)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Rows::BlobUploads(v) => {
            for u in v {
                sqlx::query(
                    "INSERT INTO blob_uploads (user_id, hash, size, mime, received, complete, started_at, completed_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(u.user_id)
                .bind(&u.hash)
                .bind(u.size)
                .bind(&u.mime)
                .bind(u.received)
                .bind(u.complete)
                .bind(u.started_at)
                .bind(u.completed_at)
                .execute(&mut *conn)
                .await?;
            }
        }
        Rows::ItemAttachments(v) => {
            for (item, hash) in v {
                sqlx::query("INSERT INTO item_attachments (item_id, hash) VALUES ($1, $2)")
                    .bind(item)
                    .bind(hash)
                    .execute(&mut *conn)
                    .await?;
            }
        }
        Rows::Reveals(v) => {
            for r in v {
                super::conn::insert_reveal(&mut *conn, r).await?;
            }
        }
        Rows::TicketEvents(v) => {
            for e in v {
                super::conn::insert_ticket_event(&mut *conn, e).await?;
            }
        }
        Rows::BlobScans(v) => {
            for r in v {
                super::conn::insert_blob_scan(&mut *conn, r).await?;
            }
        }
    }
    Ok(())
}

/// Identity sequences and the audit chain's head follow the imported rows.
pub(super) async fn finish_import(pool: &PgPool) -> Result<()> {
    for table in [
        "sites",
        "units",
        "users",
        "matters",
        "item_events",
        "removals",
        "supervision_cases",
        "supervision_steps",
    ] {
        sqlx::query(&format!(
            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
        ))
        .execute(pool)
        .await?;
    }
    sqlx::query(
        "UPDATE audit_head SET last_id = a.id, hash = a.hash
         FROM (SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1) a WHERE audit_head.id = 1",
    )
    .execute(pool)
    .await?;
    Ok(())
}
