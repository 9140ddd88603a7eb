//! Pull and push (see `shimin_protocol::sync`).
//!
//! Pull merges, by change sequence, every source the caller may see: items of the scope
//! (`shimin_domain::role::read_scope`), removals from it, and the directory/catalogue. Each
//! source is read with an indexed `version > cursor ORDER BY version LIMIT n+1`, all in one read
//! transaction (one snapshot), so building a page costs O(page), not O(table).
//!
//! Push applies each mutation in its own write transaction that also stores its result and
//! bumps the client's sequence, so a replay (same seq) returns the stored result and never
//! applies twice.

use axum::extract::{Query, State};
use chrono::{Duration, Utc};
use shimin_domain::item::{decide, may_register_case, ItemKind, REGISTER_CASE};
use shimin_domain::role::{read_scope, Actor, Scope};
use shimin_protocol::{
    codes, CalendarWire, Change, Colleague, Matter, Mutation, MutationOutcome, MutationResult, Op, PullQuery,
    PullResponse, PushRequest, PushResponse, Site, Unit, MAX_PULL_LIMIT, MAX_PUSH_BATCH,
};
use sqlx::SqliteConnection;

use crate::audit::{self, Entry};
use crate::auth::AuthUser;
use crate::db::{next_seq, ts};
use crate::http::Json;
use crate::items::{append_event, insert_item, load_item, records, ItemRow, NewItem, ITEM_READ_COLUMNS};
use crate::{blobs, deadline, Committed, Error, Result, SharedState};

/// Page size when the client gives none.
pub const DEFAULT_PULL_LIMIT: u32 = 1000;

enum Pending {
    Item(Box<ItemRow>),
    Ready(Change),
}

/// `GET PULL?cursor=&limit=`.
pub async fn pull(
    State(state): State<SharedState>,
    user: AuthUser,
    query: Result<Query<PullQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<PullResponse>> {
    let Query(q) = query.map_err(|e| Error::Malformed(e.body_text()))?;
    let scope = read_scope(&user.actor());
    if scope == Scope::Nothing {
        return Err(Error::Forbidden);
    }
    if q.cursor < 0 {
        return Err(Error::invalid("cursor", "游标不能为负"));
    }
    let limit = q.limit.unwrap_or(DEFAULT_PULL_LIMIT).clamp(1, MAX_PULL_LIMIT) as i64;
    let mut tx = state.pool.begin().await?;
    let resp = build_page(&mut tx, &user.actor(), scope, q.cursor, limit).await?;
    tx.commit().await?;
    Ok(Json(resp))
}

/// One page of changes after `cursor` for `scope`.
pub async fn build_page(
    conn: &mut SqliteConnection,
    actor: &Actor,
    scope: Scope,
    cursor: i64,
    limit: i64,
) -> Result<PullResponse> {
    let fetch = limit + 1;
    let mut merged: Vec<(i64, Pending)> = Vec::new();

    // Items of the scope.
    let items: Vec<ItemRow> = match scope {
        Scope::Unit(u) => {
            sqlx::query_as(&format!(
                "SELECT {ITEM_READ_COLUMNS} FROM items WHERE unit_id = ? AND version > ? ORDER BY version LIMIT ?"
            ))
            .bind(u)
            .bind(cursor)
            .bind(fetch)
            .fetch_all(&mut *conn)
            .await?
        }
        Scope::Agent(a) => {
            sqlx::query_as(&format!(
                "SELECT {ITEM_READ_COLUMNS} FROM items WHERE agent_id = ? AND version > ? ORDER BY version LIMIT ?"
            ))
            .bind(a)
            .bind(cursor)
            .bind(fetch)
            .fetch_all(&mut *conn)
            .await?
        }
        Scope::AllMasked => {
            sqlx::query_as(&format!(
                "SELECT {ITEM_READ_COLUMNS} FROM items WHERE version > ? ORDER BY version LIMIT ?"
            ))
            .bind(cursor)
            .bind(fetch)
            .fetch_all(&mut *conn)
            .await?
        }
        Scope::Nothing => Vec::new(),
    };
    merged.extend(items.into_iter().map(|r| (r.version, Pending::Item(Box::new(r)))));

    // Items that left the scope. A bootstrap (cursor 0) starts from an empty cache: nothing to drop.
    if cursor > 0 {
        let removals: Vec<(String, i64)> =
            match scope {
                Scope::Unit(u) => sqlx::query_as(
                    "SELECT item_id, seq FROM removals WHERE unit_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                )
                .bind(u)
                .bind(cursor)
                .bind(fetch)
                .fetch_all(&mut *conn)
                .await?,
                Scope::Agent(a) => sqlx::query_as(
                    "SELECT item_id, seq FROM removals WHERE agent_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                )
                .bind(a)
                .bind(cursor)
                .bind(fetch)
                .fetch_all(&mut *conn)
                .await?,
                Scope::AllMasked | Scope::Nothing => Vec::new(),
            };
        for (id, seq) in removals {
            let id = uuid::Uuid::parse_str(&id).map_err(Error::internal)?;
            merged.push((seq, Pending::Ready(Change::ItemRemoved { id })));
        }
    }

    // Directory, catalogue and calendar change rarely. One statement says which of them have
    // rows after the cursor, and reads the change sequence for a last page's cursor, so that a
    // steady-state pull runs its items query and this one instead of seven: under a poke
    // fan-out the cost of a pull is its statements (each one a hop to the connection's worker
    // thread and back), not SQLite (issue 6, part 4: see crates/shimin-bench/CLOSING_NOTE.md).
    // Same read snapshot as every query of this page (the caller's transaction).
    #[derive(sqlx::FromRow)]
    struct Latest {
        sites: Option<i64>,
        units: Option<i64>,
        matters: Option<i64>,
        users: Option<i64>,
        calendar: Option<i64>,
        seq: i64,
    }
    let latest: Latest = sqlx::query_as(
        "SELECT (SELECT max(version) FROM sites) AS sites, (SELECT max(version) FROM units) AS units,
                (SELECT max(version) FROM matters) AS matters, (SELECT max(version) FROM users) AS users,
                (SELECT version FROM calendar WHERE id = 1) AS calendar,
                (SELECT value FROM change_seq WHERE id = 1) AS seq",
    )
    .fetch_one(&mut *conn)
    .await?;
    let changed = |v: Option<i64>| v.is_some_and(|v| v > cursor);

    // Directory and catalogue: not secret within the county; colleagues limited to the own unit
    // (all for supervision) and to what A/B routing and history need.
    let sites: Vec<(i64, String, i64)> = if changed(latest.sites) {
        sqlx::query_as("SELECT id, name, version FROM sites WHERE version > ? ORDER BY version LIMIT ?")
            .bind(cursor)
            .bind(fetch)
            .fetch_all(&mut *conn)
            .await?
    } else {
        Vec::new()
    };
    merged.extend(
        sites
            .into_iter()
            .map(|(id, name, v)| (v, Pending::Ready(Change::Site(Site { id, name })))),
    );
    let units: Vec<(i64, String, String, i64, i64)> = if changed(latest.units) {
        sqlx::query_as(
            "SELECT id, name, kind, site_id, version FROM units WHERE version > ? ORDER BY version LIMIT ?",
        )
        .bind(cursor)
        .bind(fetch)
        .fetch_all(&mut *conn)
        .await?
    } else {
        Vec::new()
    };
    merged.extend(units.into_iter().map(|(id, name, kind, site_id, v)| {
        (
            v,
            Pending::Ready(Change::Unit(Unit {
                id,
                name,
                kind,
                site_id,
            })),
        )
    }));
    #[derive(sqlx::FromRow)]
    struct MatterRow {
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
    let matters: Vec<MatterRow> = if changed(latest.matters) {
        sqlx::query_as(
            "SELECT id, code, name, unit_id, promised_days, materials, fee_fen, a_clerk_id, b_clerk_id, version
             FROM matters WHERE version > ? ORDER BY version LIMIT ?",
        )
        .bind(cursor)
        .bind(fetch)
        .fetch_all(&mut *conn)
        .await?
    } else {
        Vec::new()
    };
    for m in matters {
        let matter = Matter {
            id: m.id,
            code: m.code,
            name: m.name,
            unit_id: m.unit_id,
            promised_days: u32::try_from(m.promised_days).unwrap_or(0),
            materials: serde_json::from_str(&m.materials).map_err(Error::internal)?,
            fee_fen: m.fee_fen,
            a_clerk_id: m.a_clerk_id,
            b_clerk_id: m.b_clerk_id,
        };
        merged.push((m.version, Pending::Ready(Change::Matter(matter))));
    }
    let colleague_sql = "SELECT id, display_name, role, unit_id, presence, version FROM users
         WHERE role <> 'portal' AND version > ? AND (? IS NULL OR unit_id = ?) ORDER BY version LIMIT ?";
    let colleague_unit = match scope {
        Scope::AllMasked => None,
        // Users without a unit see only themselves through the unit filter (-1 matches nobody).
        _ => Some(actor.unit_id.unwrap_or(-1)),
    };
    let colleagues: Vec<(i64, String, String, Option<i64>, String, i64)> = if changed(latest.users) {
        sqlx::query_as(colleague_sql)
            .bind(cursor)
            .bind(colleague_unit)
            .bind(colleague_unit)
            .bind(fetch)
            .fetch_all(&mut *conn)
            .await?
    } else {
        Vec::new()
    };
    merged.extend(
        colleagues
            .into_iter()
            .map(|(id, display_name, role, unit_id, presence, v)| {
                (
                    v,
                    Pending::Ready(Change::Colleague(Colleague {
                        id,
                        display_name,
                        role,
                        unit_id,
                        presence,
                    })),
                )
            }),
    );
    let calendar: Option<(String, i64)> = if changed(latest.calendar) {
        sqlx::query_as("SELECT data, version FROM calendar WHERE id = 1 AND version > ?")
            .bind(cursor)
            .fetch_optional(&mut *conn)
            .await?
    } else {
        None
    };
    if let Some((data, v)) = calendar {
        let wire: CalendarWire = serde_json::from_str(&data).map_err(Error::internal)?;
        merged.push((v, Pending::Ready(Change::Calendar(wire))));
    }

    merged.sort_by_key(|(seq, _)| *seq);
    let has_more = merged.len() as i64 > limit;
    merged.truncate(limit as usize);
    let cursor = if has_more {
        merged.last().map(|(s, _)| *s).unwrap_or(cursor)
    } else {
        // Consistent with the snapshot every query above read (read in the same transaction).
        latest.seq.max(cursor)
    };

    let masked = scope == Scope::AllMasked;
    let rows: Vec<ItemRow> = merged
        .iter()
        .filter_map(|(_, p)| match p {
            Pending::Item(r) => Some((**r).clone()),
            Pending::Ready(_) => None,
        })
        .collect();
    let mut recs = records(conn, rows, masked).await?.into_iter();
    let mut changes = Vec::with_capacity(merged.len());
    for (_, p) in merged {
        changes.push(match p {
            Pending::Item(_) => Change::Item(Box::new(
                recs.next().ok_or_else(|| Error::internal("record count"))?,
            )),
            Pending::Ready(c) => c,
        });
    }
    Ok(PullResponse {
        changes,
        cursor,
        has_more,
        server_time: Utc::now(),
    })
}

/// The calendar as the desks receive it.
pub fn calendar_wire(data: &shimin_domain::calendar::CalendarData) -> CalendarWire {
    CalendarWire::from_data(data)
}

/// `POST PUSH`.
pub async fn push(
    State(state): State<SharedState>,
    user: AuthUser,
    Json(req): Json<PushRequest>,
) -> Result<Json<PushResponse>> {
    let actor = user.actor();
    if read_scope(&actor) == Scope::Nothing {
        return Err(Error::Forbidden);
    }
    if req.mutations.len() > MAX_PUSH_BATCH {
        return Err(Error::invalid(
            "mutations",
            format!("一次最多提交{MAX_PUSH_BATCH}项"),
        ));
    }
    if req.mutations.windows(2).any(|w| w[1].seq <= w[0].seq) || req.mutations.iter().any(|m| m.seq < 1) {
        return Err(Error::invalid("mutations", "序号须从1起严格递增"));
    }
    let client_id = req.client_id.to_string();
    {
        let mut conn = state.writer.acquire().await?;
        sqlx::query(
            "INSERT OR IGNORE INTO clients (client_id, user_id, last_seq, created_at) VALUES (?, ?, 0, ?)",
        )
        .bind(&client_id)
        .bind(user.id)
        .bind(ts(Utc::now()))
        .execute(&mut *conn)
        .await?;
        let owner: i64 = sqlx::query_scalar("SELECT user_id FROM clients WHERE client_id = ?")
            .bind(&client_id)
            .fetch_one(&mut *conn)
            .await?;
        if owner != user.id {
            audit::record(
                &mut conn,
                Entry {
                    user_id: Some(user.id),
                    username: Some(&user.username),
                    action: "push",
                    target: None,
                    client_id: Some(&client_id),
                    outcome: "client_mismatch",
                },
            )
            .await?;
            return Err(Error::ClientMismatch);
        }
    }

    let mut results = Vec::with_capacity(req.mutations.len());
    for m in &req.mutations {
        let mut tx = state.writer.begin_with("BEGIN IMMEDIATE").await?;
        let last_seq: i64 = sqlx::query_scalar("SELECT last_seq FROM clients WHERE client_id = ?")
            .bind(&client_id)
            .fetch_one(&mut *tx)
            .await?;
        if m.seq <= last_seq {
            // Replay: answer what was decided the first time.
            let stored: Option<(String, String)> = sqlx::query_as(
                "SELECT mutation_id, outcome FROM mutation_results WHERE client_id = ? AND seq = ?",
            )
            .bind(&client_id)
            .bind(m.seq)
            .fetch_optional(&mut *tx)
            .await?;
            tx.rollback().await?;
            let (mutation_id, outcome) =
                stored.ok_or_else(|| Error::internal("stored mutation result missing"))?;
            if mutation_id != m.id.to_string() {
                tracing::warn!(client = %client_id, seq = m.seq, "replayed sequence number with a different mutation id");
            }
            let outcome: MutationOutcome = serde_json::from_str(&outcome).map_err(Error::internal)?;
            results.push(MutationResult {
                id: m.id,
                seq: m.seq,
                outcome,
            });
            continue;
        }
        if m.seq > last_seq + 1 {
            tx.rollback().await?;
            return Err(Error::SequenceGap {
                expected: last_seq + 1,
            });
        }
        let cal = state.calendar();
        let (outcome, committed) = apply(&mut tx, &cal, &actor, &user.display_name, m).await?;
        sqlx::query(
            "INSERT INTO mutation_results (client_id, seq, mutation_id, outcome, applied_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(&client_id)
        .bind(m.seq)
        .bind(m.id.to_string())
        .bind(serde_json::to_string(&outcome).map_err(Error::internal)?)
        .bind(ts(Utc::now()))
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE clients SET last_seq = ? WHERE client_id = ?")
            .bind(m.seq)
            .bind(&client_id)
            .execute(&mut *tx)
            .await?;
        let target = m.item_id.to_string();
        let outcome_text = match &outcome {
            MutationOutcome::Applied { .. } => {
                format!(
                    "applied {}",
                    m.op.command().map(|c| c.code()).unwrap_or(REGISTER_CASE)
                )
            }
            MutationOutcome::Rejected { code, .. } => format!("rejected {code}"),
        };
        audit::record(
            &mut tx,
            Entry {
                user_id: Some(user.id),
                username: Some(&user.username),
                action: "push",
                target: Some(&target),
                client_id: Some(&client_id),
                outcome: &outcome_text,
            },
        )
        .await?;
        tx.commit().await?;
        state.notify(committed);
        results.push(MutationResult {
            id: m.id,
            seq: m.seq,
            outcome,
        });
    }
    let last_seq: i64 = sqlx::query_scalar("SELECT last_seq FROM clients WHERE client_id = ?")
        .bind(&client_id)
        .fetch_one(&state.writer)
        .await?;
    Ok(Json(PushResponse {
        results,
        last_seq,
        server_time: Utc::now(),
    }))
}

fn rejected(code: &str, message: impl Into<String>) -> MutationOutcome {
    MutationOutcome::Rejected {
        code: code.to_owned(),
        message: message.into(),
    }
}

/// An op whose payload is invalid: rejected, naming the field.
fn invalid_op(invalid: shimin_protocol::InvalidOp) -> MutationOutcome {
    rejected(
        codes::INVALID_FIELD,
        format!("{}：{}", invalid.field, invalid.message),
    )
}

/// The name of the site of `user_id`'s unit (where a window works).
async fn actor_site(conn: &mut SqliteConnection, user_id: i64) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT s.name FROM users u JOIN units n ON n.id = u.unit_id JOIN sites s ON s.id = n.site_id WHERE u.id = ?",
    )
    .bind(user_id)
    .fetch_optional(conn)
    .await?)
}

/// Creates the delegated case an agent registered (offline, maybe long ago), under the id the
/// desk chose, handled by the matter's unit.
async fn register_case(
    conn: &mut SqliteConnection,
    cal: &shimin_domain::calendar::WorkCalendar,
    actor: &Actor,
    actor_name: &str,
    m: &Mutation,
) -> Result<(MutationOutcome, Option<Committed>)> {
    let Op::RegisterCase {
        matter_id,
        applicant,
        content,
        place,
    } = &m.op
    else {
        return Err(Error::internal("register_case called for another op"));
    };
    if let Err(refusal) = may_register_case(actor) {
        return Ok((rejected(refusal.code(), refusal.message_zh()), None));
    }
    if let Err(invalid) = m.op.check_payload() {
        return Ok((invalid_op(invalid), None));
    }
    if load_item(conn, m.item_id).await?.is_some() {
        return Ok((rejected(codes::ALREADY_EXISTS, "此代办件已登记"), None));
    }
    let matter: Option<(String, i64)> = sqlx::query_as("SELECT name, unit_id FROM matters WHERE id = ?")
        .bind(matter_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some((matter_name, unit_id)) = matter else {
        return Ok((rejected(codes::INVALID_FIELD, "matter_id：事项不存在"), None));
    };
    let now = Utc::now();
    let at = m.acted_at.clamp(now - Duration::days(30), now);
    let status = ItemKind::DelegatedCase.initial_status();
    let new = NewItem {
        id: m.item_id,
        kind: ItemKind::DelegatedCase,
        status,
        unit_id,
        matter_id: Some(*matter_id),
        agent_id: Some(actor.user_id),
        handler_id: None,
        applicant: applicant.clone(),
        title: format!("代办：{matter_name}"),
        content: content.clone(),
        received_at: at,
        due_at: None,
        due_provisional: false,
        details: Default::default(),
    };
    let event = shimin_protocol::ItemEvent {
        at,
        actor_id: Some(actor.user_id),
        actor_name: actor_name.to_owned(),
        action: REGISTER_CASE.to_owned(),
        status: status.code().to_owned(),
        note: None,
        place: Some(place.clone()),
    };
    let (_, seq) = insert_item(conn, &new, &[event]).await?;
    if let Some(row) = load_item(conn, m.item_id).await? {
        deadline::refresh(conn, cal, &row, false).await?;
    }
    Ok((
        MutationOutcome::Applied { version: seq },
        Some(Committed {
            seq,
            unit_id: Some(unit_id),
            old_unit_id: None,
            agent_id: Some(actor.user_id),
            background: false,
        }),
    ))
}

/// Decides and (if allowed) applies one mutation inside the caller's transaction.
async fn apply(
    conn: &mut SqliteConnection,
    cal: &shimin_domain::calendar::WorkCalendar,
    actor: &Actor,
    actor_name: &str,
    m: &Mutation,
) -> Result<(MutationOutcome, Option<Committed>)> {
    let not_found = || {
        rejected(
            shimin_protocol::codes::NOT_FOUND,
            "办件不存在或不在您的办理范围内",
        )
    };
    if let Op::RegisterCase { .. } = &m.op {
        return register_case(conn, cal, actor, actor_name, m).await;
    }
    let Some(row) = load_item(conn, m.item_id).await? else {
        return Ok((not_found(), None));
    };
    if !read_scope(actor).contains(row.unit_id, row.agent_id) {
        return Ok((not_found(), None));
    }
    let command = match m.op.validate() {
        Ok(c) => c,
        Err(invalid) => return Ok((invalid_op(invalid), None)),
    };
    if let shimin_domain::item::Command::Transfer(to) = command {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM units WHERE id = ?")
            .bind(to)
            .fetch_optional(&mut *conn)
            .await?;
        if exists.is_none() {
            return Ok((
                rejected(shimin_protocol::codes::INVALID_FIELD, "to_unit_id：单位不存在"),
                None,
            ));
        }
    }
    let facts = row.facts()?;
    let out = match decide(&facts, actor, command) {
        Ok(out) => out,
        Err(refusal) => return Ok((rejected(refusal.code(), refusal.message_zh()), None)),
    };
    // Files the op refers to: uploaded completely by this user (not merely known by hash).
    for a in m.op.attachments() {
        if !blobs::uploaded_by(conn, actor.user_id, &a.hash, a.size, &a.mime).await? {
            return Ok((
                rejected(
                    codes::BLOB_MISSING,
                    format!("附件“{}”尚未完整上传，请联网后重试", a.file_name),
                ),
                None,
            ));
        }
        sqlx::query("INSERT OR IGNORE INTO item_attachments (item_id, hash) VALUES (?, ?)")
            .bind(&row.id)
            .bind(&a.hash)
            .execute(&mut *conn)
            .await?;
    }

    let now = Utc::now();
    // The history shows when the clerk acted (offline work syncs later), never in the future.
    let at = m.acted_at.clamp(now - Duration::days(30), now);
    let mut details = row.details()?;
    m.op.apply_details(&mut details);
    let seq = next_seq(conn).await?;
    sqlx::query(
        "UPDATE items SET status = ?, handler_id = ?, unit_id = ?, details = ?, version = ? WHERE id = ?",
    )
    .bind(out.status.code())
    .bind(out.handler_id)
    .bind(out.unit_id)
    .bind(serde_json::to_string(&details).map_err(Error::internal)?)
    .bind(seq)
    .bind(&row.id)
    .execute(&mut *conn)
    .await?;
    let event = shimin_protocol::ItemEvent {
        at,
        actor_id: Some(actor.user_id),
        actor_name: actor_name.to_owned(),
        action: command.code().to_owned(),
        status: out.status.code().to_owned(),
        note: m.op.history_note(),
        place: match m.op.place() {
            Some(p) => Some(p),
            // A delegated case's custody chain says where every step happened: a window's
            // step happened at its unit's site.
            None if facts.kind == ItemKind::DelegatedCase => actor_site(conn, actor.user_id).await?,
            None => None,
        },
    };
    append_event(conn, &row.id, &event, seq).await?;
    if out.status != facts.status {
        // The history now holds the change: the deadline follows from it (a new clock starts at
        // the instant the clerk acted, as the desk computes it too).
        if let Some(updated) = load_item(conn, m.item_id).await? {
            deadline::refresh(conn, cal, &updated, false).await?;
        }
    }
    let old_unit = (out.unit_id != row.unit_id).then_some(row.unit_id);
    if let Some(old) = old_unit {
        sqlx::query("INSERT INTO removals (item_id, unit_id, agent_id, seq) VALUES (?, ?, NULL, ?)")
            .bind(&row.id)
            .bind(old)
            .bind(seq)
            .execute(&mut *conn)
            .await?;
    }
    Ok((
        MutationOutcome::Applied { version: seq },
        Some(Committed {
            seq,
            unit_id: Some(out.unit_id),
            old_unit_id: old_unit,
            agent_id: row.agent_id,
            background: false,
        }),
    ))
}
