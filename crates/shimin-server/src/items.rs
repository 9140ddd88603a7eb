//! Work items in the database: rows, numbers, history, and building wire records in batches.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use shimin_domain::calendar::to_local;
use shimin_domain::item::{ItemFacts, ItemKind, Status};
use shimin_protocol::{Applicant, ItemDetails, ItemEvent, ItemRecord};
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{next_seq, parse_ts, ts};
use crate::{Error, Result};

/// Columns of [`ItemRow`], in order.
pub const ITEM_COLUMNS: &str = "id, number, kind, status, unit_id, matter_id, agent_id, handler_id, applicant_name, \
     applicant_id_number, applicant_phone, title, content, received_at, due_at, due_provisional, details, version";

/// Columns read into [`ItemRow`]: [`ITEM_COLUMNS`] and the supervision flags.
pub const ITEM_READ_COLUMNS: &str = "id, number, kind, status, unit_id, matter_id, agent_id, handler_id, applicant_name, \
     applicant_id_number, applicant_phone, title, content, received_at, due_at, due_provisional, details, version, \
     overdue, supervision";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ItemRow {
    pub id: String,
    pub number: String,
    pub kind: String,
    pub status: String,
    pub unit_id: i64,
    pub matter_id: Option<i64>,
    pub agent_id: Option<i64>,
    pub handler_id: Option<i64>,
    pub applicant_name: String,
    pub applicant_id_number: String,
    pub applicant_phone: String,
    pub title: String,
    pub content: String,
    pub received_at: String,
    pub due_at: Option<String>,
    pub due_provisional: bool,
    pub details: String,
    pub version: i64,
    /// A clock of the item ran out (超期), recorded by [`crate::supervision`].
    #[sqlx(default)]
    pub overdue: bool,
    /// A supervision case (督办) is on record.
    #[sqlx(default)]
    pub supervision: bool,
}

impl ItemRow {
    pub fn kind(&self) -> Result<ItemKind> {
        ItemKind::from_code(&self.kind)
            .ok_or_else(|| Error::internal(format!("unknown item kind {}", self.kind)))
    }

    pub fn status(&self) -> Result<Status> {
        Status::from_code(&self.status)
            .ok_or_else(|| Error::internal(format!("unknown status {}", self.status)))
    }

    pub fn facts(&self) -> Result<ItemFacts> {
        Ok(ItemFacts {
            kind: self.kind()?,
            status: self.status()?,
            unit_id: self.unit_id,
            agent_id: self.agent_id,
            handler_id: self.handler_id,
        })
    }

    pub fn details(&self) -> Result<ItemDetails> {
        serde_json::from_str(&self.details).map_err(Error::internal)
    }

    pub fn uuid(&self) -> Result<Uuid> {
        Uuid::parse_str(&self.id).map_err(Error::internal)
    }

    pub fn into_record(self, events: Vec<ItemEvent>, masked: bool) -> Result<ItemRecord> {
        let applicant = Applicant {
            name: self.applicant_name.clone(),
            id_number: self.applicant_id_number.clone(),
            phone: self.applicant_phone.clone(),
        };
        Ok(ItemRecord {
            id: self.uuid()?,
            details: self.details()?,
            number: self.number,
            kind: self.kind,
            status: self.status,
            unit_id: self.unit_id,
            matter_id: self.matter_id,
            agent_id: self.agent_id,
            handler_id: self.handler_id,
            applicant: if masked { applicant.masked() } else { applicant },
            title: self.title,
            content: self.content,
            received_at: parse_ts(&self.received_at)?,
            due_at: self.due_at.as_deref().map(parse_ts).transpose()?,
            due_provisional: self.due_provisional,
            overdue: self.overdue,
            supervision: self.supervision,
            version: self.version,
            events,
        })
    }
}

pub async fn load_item(conn: &mut SqliteConnection, id: Uuid) -> Result<Option<ItemRow>> {
    Ok(
        sqlx::query_as(&format!("SELECT {ITEM_READ_COLUMNS} FROM items WHERE id = ?"))
            .bind(id.to_string())
            .fetch_optional(conn)
            .await?,
    )
}

#[derive(Debug, sqlx::FromRow)]
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

/// The histories of many items in one query (no N+1), oldest first per item.
pub async fn load_events(
    conn: &mut SqliteConnection,
    ids: &[String],
) -> Result<HashMap<String, Vec<ItemEvent>>> {
    let mut out: HashMap<String, Vec<ItemEvent>> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let json = serde_json::to_string(ids).map_err(Error::internal)?;
    let rows: Vec<EventRow> = sqlx::query_as(
        "SELECT item_id, at, actor_id, actor_name, action, status, note, place FROM item_events
         WHERE item_id IN (SELECT value FROM json_each(?)) ORDER BY item_id, id",
    )
    .bind(json)
    .fetch_all(conn)
    .await?;
    for r in rows {
        out.entry(r.item_id).or_default().push(ItemEvent {
            at: parse_ts(&r.at)?,
            actor_id: r.actor_id,
            actor_name: r.actor_name,
            action: r.action,
            status: r.status,
            note: r.note,
            place: r.place,
        });
    }
    Ok(out)
}

/// Wire records for rows, histories loaded in one query.
pub async fn records(
    conn: &mut SqliteConnection,
    rows: Vec<ItemRow>,
    masked: bool,
) -> Result<Vec<ItemRecord>> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut events = load_events(conn, &ids).await?;
    rows.into_iter()
        .map(|r| {
            let ev = events.remove(&r.id).unwrap_or_default();
            r.into_record(ev, masked)
        })
        .collect()
}

/// Next item number `<prefix><yyyymmdd>-<4-digit daily counter>` (local date of reception).
pub async fn next_number(
    conn: &mut SqliteConnection,
    kind: ItemKind,
    received_at: DateTime<Utc>,
) -> Result<String> {
    let day = to_local(received_at).format("%Y%m%d").to_string();
    let key = format!("{}{}", kind.number_prefix(), day);
    let n: i64 = sqlx::query_scalar(
        "INSERT INTO item_counters (prefix_day, last) VALUES (?, 1)
         ON CONFLICT (prefix_day) DO UPDATE SET last = last + 1 RETURNING last",
    )
    .bind(&key)
    .fetch_one(conn)
    .await?;
    Ok(format!("{key}-{n:04}"))
}

/// A new item to store.
#[derive(Debug, Clone)]
pub struct NewItem {
    pub id: Uuid,
    pub kind: ItemKind,
    pub status: Status,
    pub unit_id: i64,
    pub matter_id: Option<i64>,
    pub agent_id: Option<i64>,
    pub handler_id: Option<i64>,
    pub applicant: Applicant,
    pub title: String,
    pub content: String,
    pub received_at: DateTime<Utc>,
    pub due_at: Option<DateTime<Utc>>,
    pub due_provisional: bool,
    pub details: ItemDetails,
}

/// Inserts an item with its history (at least the `created` event) under a new change
/// sequence number. Returns (number, seq). Runs inside the caller's write transaction.
pub async fn insert_item(
    conn: &mut SqliteConnection,
    item: &NewItem,
    history: &[ItemEvent],
) -> Result<(String, i64)> {
    let number = next_number(conn, item.kind, item.received_at).await?;
    let seq = next_seq(conn).await?;
    sqlx::query(&format!(
        "INSERT INTO items ({ITEM_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    ))
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
    .bind(item.due_at.map(ts))
    .bind(item.due_provisional)
    .bind(serde_json::to_string(&item.details).map_err(Error::internal)?)
    .bind(seq)
    .execute(&mut *conn)
    .await?;
    for e in history {
        append_event(conn, &item.id.to_string(), e, seq).await?;
    }
    Ok((number, seq))
}

pub async fn append_event(conn: &mut SqliteConnection, item_id: &str, e: &ItemEvent, seq: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO item_events (item_id, at, actor_id, actor_name, action, status, note, place, seq)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(item_id)
    .bind(ts(e.at))
    .bind(e.actor_id)
    .bind(&e.actor_name)
    .bind(&e.action)
    .bind(&e.status)
    .bind(&e.note)
    .bind(&e.place)
    .bind(seq)
    .execute(conn)
    .await?;
    Ok(())
}
