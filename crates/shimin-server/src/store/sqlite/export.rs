//! Every table of a SQLite store as [`dump::Rows`], streamed in key order.

use futures_util::TryStreamExt;
use sqlx::sqlite::SqliteRow;
use sqlx::{FromRow, SqliteConnection};
use tokio::sync::mpsc::Sender;

use super::conn::{
    opt_ts, personal_field, unit_kind, uuid, ColleagueSql, ItemRow, MatterSql, MATTER_COLUMNS,
};
use super::parse_ts;
use crate::store::dump::{self, Rows, Table, CHUNK};
use crate::store::model::{RevealRow, ScanRow, SiteRow, UnitRow};
use crate::{Error, Result};

async fn stream<R, T>(
    conn: &mut SqliteConnection,
    sql: &str,
    map: impl Fn(R) -> Result<T>,
    wrap: fn(Vec<T>) -> Rows,
    out: &Sender<Rows>,
) -> Result<()>
where
    R: for<'r> FromRow<'r, SqliteRow> + Send + Unpin,
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

type EventTuple = (
    i64,
    String,
    String,
    Option<i64>,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
);
type AuditTuple = (
    i64,
    String,
    Option<i64>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
);

/// One exported row, as read.
type SessionTuple = (String, i64, String, String, String, String, bool);
/// One exported row, as read.
type CaseTuple = (
    i64,
    String,
    i64,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);
type CaseStepTuple = (
    i64,
    String,
    Option<i64>,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
);
/// One exported row, as read.
type UploadTuple = (i64, String, i64, String, i64, bool, String, Option<String>);

pub(super) async fn export(conn: &mut SqliteConnection, table: Table, out: Sender<Rows>) -> Result<()> {
    match table {
        Table::Meta => {
            stream(conn, "SELECT key, value FROM meta ORDER BY key", Ok, Rows::Meta, &out).await
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
            #[derive(sqlx::FromRow)]
            struct Row {
                #[sqlx(flatten)]
                c: ColleagueSql,
                password_hash: String,
                must_change_password: bool,
                failed_logins: i64,
                locked_until: Option<String>,
                disabled: bool,
                created_at: String,
            }
            stream(
                conn,
                "SELECT id, username, display_name, role, unit_id, presence, version, password_hash,
                        must_change_password, failed_logins, locked_until, disabled, created_at
                 FROM users ORDER BY id",
                |r: Row| {
                    Ok(dump::UserDump {
                        colleague: r.c.into_row()?,
                        password_hash: r.password_hash,
                        must_change_password: r.must_change_password,
                        failed_logins: r.failed_logins,
                        locked_until: opt_ts(r.locked_until.as_deref())?,
                        disabled: r.disabled,
                        created_at: parse_ts(&r.created_at)?,
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
                "SELECT token_hash, user_id, client_id, device, created_at, last_seen, revoked FROM sessions
                 ORDER BY token_hash",
                |(token_hash, user_id, client_id, device, created_at, last_seen, revoked): SessionTuple| {
                    Ok(dump::SessionDump {
                        token_hash,
                        user_id,
                        client_id,
                        device,
                        created_at: parse_ts(&created_at)?,
                        last_seen: parse_ts(&last_seen)?,
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
                "SELECT client_id, user_id, last_seq, created_at FROM clients ORDER BY client_id",
                |(client_id, user_id, last_seq, created_at): (String, i64, i64, String)| {
                    Ok(dump::ClientDump {
                        client_id,
                        user_id,
                        last_seq,
                        created_at: parse_ts(&created_at)?,
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
                "SELECT client_id, seq, mutation_id, outcome, applied_at FROM mutation_results ORDER BY client_id, seq",
                |(client_id, seq, mutation_id, outcome, applied_at): (String, i64, String, String, String)| {
                    Ok(dump::ResultDump {
                        client_id,
                        seq,
                        mutation_id: uuid(&mutation_id)?,
                        outcome,
                        applied_at: parse_ts(&applied_at)?,
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
                |(data_version, data, version): (i64, String, i64)| {
                    Ok(dump::CalendarDump {
                        data_version: u32::try_from(data_version).map_err(Error::internal)?,
                        data: serde_json::from_str(&data).map_err(Error::internal)?,
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
                "SELECT prefix_day, last FROM item_counters ORDER BY prefix_day",
                Ok,
                Rows::ItemCounters,
                &out,
            )
            .await
        }
        Table::Items => {
            stream(
                conn,
                "SELECT id, number, kind, status, unit_id, matter_id, agent_id, handler_id, applicant_name,
                        applicant_id_number, applicant_phone, title, content, received_at, due_at, due_provisional,
                        details, version, overdue, supervision, next_alert_at
                 FROM items ORDER BY id",
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
                |(id, item_id, at, actor_id, actor_name, action, status, note, place, seq): EventTuple| {
                    Ok(dump::EventDump {
                        id,
                        item_id: uuid(&item_id)?,
                        seq,
                        event: shimin_protocol::ItemEvent {
                            at: parse_ts(&at)?,
                            actor_id,
                            actor_name,
                            action,
                            status: super::conn::status(&status)?,
                            note,
                            place,
                        },
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
                |(id, item_id, unit_id, agent_id, seq): (i64, String, Option<i64>, Option<i64>, i64)| {
                    Ok(dump::RemovalDump {
                        id,
                        item_id: uuid(&item_id)?,
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
                        at: parse_ts(&at)?,
                        user_id,
                        username,
                        action,
                        target,
                        client_id,
                        outcome,
                        hash: hash.ok_or_else(|| Error::internal(format!("audit entry {id} is not sealed")))?,
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
                "SELECT item_id, clock_key, point, recorded_at FROM clock_alerts ORDER BY item_id, clock_key, point",
                |(item_id, clock_key, point, recorded_at): (String, String, String, String)| {
                    Ok(dump::ClockAlertDump {
                        item_id: uuid(&item_id)?,
                        clock_key,
                        point,
                        recorded_at: parse_ts(&recorded_at)?,
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
                        item_id: uuid(&item_id)?,
                        unit_id,
                        clock,
                        clock_start: parse_ts(&clock_start)?,
                        due_at: parse_ts(&due_at)?,
                        recorded_at: parse_ts(&recorded_at)?,
                        status,
                        stage,
                        stage_since: stage_since.as_deref().map(parse_ts).transpose()?,
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
                        at: parse_ts(&at)?,
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
                "SELECT hash, size, mime, created_at FROM blobs ORDER BY hash",
                |(hash, size, mime, created_at): (String, i64, String, String)| {
                    Ok(dump::BlobDump {
                        hash,
                        size,
                        mime,
                        created_at: parse_ts(&created_at)?,
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
                "SELECT user_id, hash, size, mime, received, complete, started_at, completed_at FROM blob_uploads
                 ORDER BY user_id, hash",
                |(user_id, hash, size, mime, received, complete, started_at, completed_at): UploadTuple| {
                    Ok(dump::UploadDump {
                        user_id,
                        hash,
                        size,
                        mime,
                        received,
                        complete,
                        started_at: parse_ts(&started_at)?,
                        completed_at: opt_ts(completed_at.as_deref())?,
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
                |(hash, status, signature, attempts, updated_at): (String, String, Option<String>, i64, String)| {
                    Ok(ScanRow {
                        hash,
                        status: super::conn::scan_status(&status)?,
                        signature,
                        attempts,
                        updated_at: parse_ts(&updated_at)?,
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
                "SELECT item_id, hash FROM item_attachments ORDER BY item_id, hash",
                |(item_id, hash): (String, String)| Ok((uuid(&item_id)?, hash)),
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
                        id: uuid(&id)?,
                        item_id: uuid(&item_id)?,
                        user_id,
                        client_id,
                        field: personal_field(&field)?,
                        revealed_at: parse_ts(&revealed_at)?,
                        recorded_at: parse_ts(&recorded_at)?,
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

type RevealTuple = (String, String, i64, String, String, String, String);
