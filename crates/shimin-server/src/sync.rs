//! Pull and push (see `shimin_protocol::sync`).
//!
//! Pull merges, by change sequence, every source the caller may see: items of the scope
//! (`shimin_domain::role::read_scope`), removals from it, and the directory/catalogue. Each
//! source is read with an indexed `version > cursor ORDER BY version LIMIT n+1`, all in one
//! snapshot, so building a page costs O(page), not O(table).
//!
//! Push applies a batch in write transactions of up to [`PUSH_GROUP`] mutations; each
//! transaction stores every mutation's result and the client's sequence with its effects, so a
//! replay (same seq, or the same mutation id under a new seq) returns the stored result and
//! never applies twice, and the answer is sent only after the commit is durable.

use axum::extract::{Query, State};
use chrono::{Duration, Utc};
use shimin_domain::item::{decide, may_register_case, Command, ItemKind, REGISTER_CASE};
use shimin_domain::role::{read_scope, Actor, Scope};
use shimin_protocol::{
    codes, Change, Colleague, Matter, Mutation, MutationOutcome, MutationResult, Op, PullQuery, PullResponse,
    PushRequest, PushResponse, Site, Unit, MAX_PULL_LIMIT, MAX_PUSH_BATCH,
};

use crate::auth::{AuthUser, SessionUser};
use crate::http::Json;
use crate::items::records;
use crate::store::{with_retry, ItemChange, Latest, NewItem, Reads, StoredItem, StoredResult, Writes};
use crate::{blobs, deadline, Committed, Error, Result, SharedState};

/// Page size when the client gives none.
pub const DEFAULT_PULL_LIMIT: u32 = 1000;
/// Mutations per write transaction of a push: one durable commit per group, short enough that
/// another writer never waits long.
pub const PUSH_GROUP: usize = 50;

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
    let limit = i64::from(q.limit.unwrap_or(DEFAULT_PULL_LIMIT).clamp(1, MAX_PULL_LIMIT));
    let mut snapshot = state.store.snapshot().await?;
    let mut resp = build_page(&mut *snapshot, &user.actor(), scope, q.cursor, limit).await?;
    resp.epoch = Some(state.epoch.clone());
    Ok(Json(resp))
}

/// One change of a page before items get their histories.
enum Pending {
    Item(Box<StoredItem>),
    Ready(Change),
}

/// One page of changes after `cursor` for `scope`, read from one snapshot.
pub async fn build_page(
    reads: &mut dyn Reads,
    actor: &Actor,
    scope: Scope,
    cursor: i64,
    limit: i64,
) -> Result<PullResponse> {
    let fetch = limit + 1;
    let mut merged: Vec<(i64, Pending)> = Vec::new();
    merged.extend(
        reads
            .changed_items(scope, cursor, fetch)
            .await?
            .into_iter()
            .map(|i| (i.version, Pending::Item(Box::new(i)))),
    );
    // A bootstrap (cursor 0) starts from an empty cache: nothing to drop.
    if cursor > 0 {
        merged.extend(
            reads
                .removals(scope, cursor, fetch)
                .await?
                .into_iter()
                .map(|r| (r.seq, Pending::Ready(Change::ItemRemoved { id: r.item_id }))),
        );
    }
    // Directory, catalogue and calendar change rarely: one statement says which of them have
    // rows after the cursor (and the change sequence for a last page's cursor), so a steady
    // pull runs two statements instead of seven (issue 6, part 4).
    let latest = reads.latest().await?;
    if cursor > latest.seq {
        // A cursor from the future: this database was restored to an older state.
        return Err(Error::CursorAhead {
            server_seq: latest.seq,
        });
    }
    merged.extend(directory_changes(reads, actor, scope, cursor, fetch, &latest).await?);

    merged.sort_by_key(|(seq, _)| *seq);
    let has_more = merged.len() as i64 > limit;
    merged.truncate(limit as usize);
    let next_cursor = if has_more {
        merged.last().map(|(s, _)| *s).unwrap_or(cursor)
    } else {
        // Consistent with the snapshot every read above saw.
        latest.seq.max(cursor)
    };
    Ok(PullResponse {
        changes: with_histories(reads, merged, scope == Scope::AllMasked).await?,
        cursor: next_cursor,
        has_more,
        server_time: Utc::now(),
        epoch: None,
    })
}

/// Sites, units, matters, colleagues and the calendar changed after `cursor`. Not secret within
/// the county; colleagues limited to the own unit (all for supervision).
async fn directory_changes(
    reads: &mut dyn Reads,
    actor: &Actor,
    scope: Scope,
    cursor: i64,
    fetch: i64,
    latest: &Latest,
) -> Result<Vec<(i64, Pending)>> {
    let changed = |v: Option<i64>| v.is_some_and(|v| v > cursor);
    let mut out = Vec::new();
    if changed(latest.sites) {
        out.extend(reads.changed_sites(cursor, fetch).await?.into_iter().map(|s| {
            (
                s.version,
                Pending::Ready(Change::Site(Site {
                    id: s.id,
                    name: s.name,
                })),
            )
        }));
    }
    if changed(latest.units) {
        out.extend(reads.changed_units(cursor, fetch).await?.into_iter().map(|u| {
            (
                u.version,
                Pending::Ready(Change::Unit(Unit {
                    id: u.id,
                    name: u.name,
                    kind: u.kind,
                    site_id: u.site_id,
                })),
            )
        }));
    }
    if changed(latest.matters) {
        out.extend(reads.changed_matters(cursor, fetch).await?.into_iter().map(|m| {
            (
                m.version,
                Pending::Ready(Change::Matter(Matter {
                    id: m.id,
                    code: m.code,
                    name: m.name,
                    unit_id: m.unit_id,
                    promised_days: m.promised_days,
                    materials: m.materials,
                    fee_fen: m.fee_fen,
                    a_clerk_id: m.a_clerk_id,
                    b_clerk_id: m.b_clerk_id,
                })),
            )
        }));
    }
    if changed(latest.users) {
        let unit = match scope {
            Scope::AllMasked => None,
            // Users without a unit see only themselves through the unit filter (-1 matches nobody).
            _ => Some(actor.unit_id.unwrap_or(-1)),
        };
        out.extend(
            reads
                .changed_colleagues(cursor, unit, fetch)
                .await?
                .into_iter()
                .map(|c| {
                    (
                        c.version,
                        Pending::Ready(Change::Colleague(Colleague {
                            id: c.id,
                            display_name: c.display_name,
                            role: c.role,
                            unit_id: c.unit_id,
                            presence: c.presence,
                        })),
                    )
                }),
        );
    }
    if changed(latest.calendar) {
        if let Some(cal) = reads.calendar().await?.filter(|c| c.version > cursor) {
            out.push((cal.version, Pending::Ready(Change::Calendar(cal.wire))));
        }
    }
    Ok(out)
}

/// The page's changes in order, items with their histories (loaded in one query).
async fn with_histories(
    reads: &mut dyn Reads,
    merged: Vec<(i64, Pending)>,
    masked: bool,
) -> Result<Vec<Change>> {
    let items: Vec<StoredItem> = merged
        .iter()
        .filter_map(|(_, p)| match p {
            Pending::Item(i) => Some((**i).clone()),
            Pending::Ready(_) => None,
        })
        .collect();
    let mut recs = records(reads, items, masked).await?.into_iter();
    merged
        .into_iter()
        .map(|(_, p)| match p {
            Pending::Item(_) => recs
                .next()
                .map(|r| Change::Item(Box::new(r)))
                .ok_or_else(|| Error::internal("record count")),
            Pending::Ready(c) => Ok(c),
        })
        .collect()
}

/// `POST PUSH`.
pub async fn push(
    State(state): State<SharedState>,
    user: AuthUser,
    Json(req): Json<PushRequest>,
) -> Result<Json<PushResponse>> {
    if read_scope(&user.actor()) == Scope::Nothing {
        return Err(Error::Forbidden);
    }
    check_batch(&req)?;
    bind_client(&state, &user, &req).await?;
    let mut results = Vec::with_capacity(req.mutations.len());
    let mut last_seq = 0;
    for group in req.mutations.chunks(PUSH_GROUP) {
        let applied = with_retry(|| apply_group(&state, &user, group)).await?;
        results.extend(applied.results);
        last_seq = applied.last_seq;
        if let Some(expected) = applied.gap {
            return Err(Error::SequenceGap { expected });
        }
    }
    if req.mutations.is_empty() {
        last_seq = state
            .store
            .reader()
            .await?
            .client(&user.client_id)
            .await?
            .map_or(0, |c| c.last_seq);
    }
    Ok(Json(PushResponse {
        results,
        last_seq,
        server_time: Utc::now(),
    }))
}

fn check_batch(req: &PushRequest) -> Result<()> {
    if req.mutations.len() > MAX_PUSH_BATCH {
        return Err(Error::invalid(
            "mutations",
            format!("一次最多提交{MAX_PUSH_BATCH}项"),
        ));
    }
    if req.mutations.windows(2).any(|w| w[1].seq <= w[0].seq) || req.mutations.iter().any(|m| m.seq < 1) {
        return Err(Error::invalid("mutations", "序号须从1起严格递增"));
    }
    Ok(())
}

/// A push comes from the session's own client installation: the client recorded with each
/// mutation (and in the audit trail) is the one that logged in, never one named at will.
async fn bind_client(state: &SharedState, user: &SessionUser, req: &PushRequest) -> Result<()> {
    if req.client_id.to_string() == user.client_id {
        return Ok(());
    }
    let mut tx = state.store.write().await?;
    let claimed = req.client_id.to_string();
    tx.audit(crate::audit::Entry {
        client_id: Some(&claimed),
        ..user.audit_entry("push", None, "client_mismatch")
    });
    tx.commit().await?;
    Err(Error::ClientMismatch)
}

/// What one write transaction of a push decided.
struct Applied {
    results: Vec<MutationResult>,
    last_seq: i64,
    /// A gap after the processed mutations: the next sequence number expected.
    gap: Option<i64>,
}

/// Applies mutations in one write transaction. Locks the client's row first (one push of a
/// client at a time across instances), then the items, then takes change numbers.
async fn apply_group(state: &SharedState, user: &SessionUser, group: &[Mutation]) -> Result<Applied> {
    let client_id = user.client_id.as_str();
    let mut tx = state.store.write().await?;
    let Some(client) = tx.lock_client(client_id).await? else {
        return Err(Error::internal("session client not registered"));
    };
    let ids: Vec<uuid::Uuid> = group.iter().map(|m| m.item_id).collect();
    tx.lock_items(&ids).await?;
    let cal = state.calendar();
    let actor = user.actor();
    let mut out = Applied {
        results: Vec::with_capacity(group.len()),
        last_seq: client.last_seq,
        gap: None,
    };
    for m in group {
        if m.seq <= out.last_seq {
            match replay(&mut *tx, client_id, m).await? {
                Some(r) => out.results.push(r),
                None => {
                    // This number was used for another mutation: the desk's numbering and
                    // ours disagree (a restore): it continues from our next number.
                    out.gap = Some(out.last_seq + 1);
                    break;
                }
            }
            continue;
        }
        if m.seq > out.last_seq + 1 {
            out.gap = Some(out.last_seq + 1);
            break;
        }
        let outcome = match tx.result_of_mutation(client_id, m.id).await? {
            // Sent again under a new number (a desk that renumbered its outbox): decided once.
            Some(earlier) => serde_json::from_str(&earlier.outcome).map_err(Error::internal)?,
            None => {
                let outcome = apply(&mut *tx, &cal, &actor, &user.display_name, m).await?;
                audit_mutation(&mut *tx, user, m, &outcome);
                outcome
            }
        };
        let stored = StoredResult {
            seq: m.seq,
            mutation_id: m.id,
            outcome: serde_json::to_string(&outcome).map_err(Error::internal)?,
        };
        tx.store_result(client_id, &stored, Utc::now()).await?;
        out.last_seq = m.seq;
        out.results.push(MutationResult {
            id: m.id,
            seq: m.seq,
            outcome,
        });
    }
    tx.set_client_seq(client_id, out.last_seq).await?;
    tx.commit().await?;
    Ok(out)
}

/// A mutation already decided under this sequence number: the answer of the first time;
/// `None` when the number was used for another mutation (and this one was never decided).
async fn replay(reads: &mut dyn Reads, client_id: &str, m: &Mutation) -> Result<Option<MutationResult>> {
    let stored = match reads.stored_result(client_id, m.seq).await? {
        Some(s) if s.mutation_id == m.id => s,
        _ => match reads.result_of_mutation(client_id, m.id).await? {
            Some(s) => s,
            None => {
                tracing::warn!(client = %client_id, seq = m.seq, "sequence number reused for another mutation");
                return Ok(None);
            }
        },
    };
    Ok(Some(MutationResult {
        id: m.id,
        seq: m.seq,
        outcome: serde_json::from_str(&stored.outcome).map_err(Error::internal)?,
    }))
}

fn audit_mutation(tx: &mut dyn Writes, user: &SessionUser, m: &Mutation, outcome: &MutationOutcome) {
    let target = m.item_id.to_string();
    let outcome_text = match outcome {
        MutationOutcome::Applied { .. } => {
            format!(
                "applied {}",
                m.op.command().map(|c| c.code()).unwrap_or(REGISTER_CASE)
            )
        }
        MutationOutcome::Rejected { code, .. } => format!("rejected {code}"),
    };
    tx.audit(user.audit_entry("push", Some(&target), &outcome_text));
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

fn not_found() -> MutationOutcome {
    rejected(codes::NOT_FOUND, "办件不存在或不在您的办理范围内")
}

/// When an op says the clerk acted: offline work syncs later, but never from the future or
/// from more than 30 days back.
fn acted_at(m: &Mutation) -> chrono::DateTime<Utc> {
    let now = Utc::now();
    m.acted_at.clamp(now - Duration::days(30), now)
}

/// Creates the delegated case an agent registered (offline, maybe long ago), under the id the
/// desk chose, handled by the matter's unit.
async fn register_case(
    tx: &mut dyn Writes,
    cal: &shimin_domain::calendar::WorkCalendar,
    actor: &Actor,
    actor_name: &str,
    m: &Mutation,
) -> Result<MutationOutcome> {
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
        return Ok(rejected(refusal.code(), refusal.message_zh()));
    }
    if let Err(invalid) = m.op.check_payload() {
        return Ok(invalid_op(invalid));
    }
    if tx.item(m.item_id).await?.is_some() {
        return Ok(rejected(codes::ALREADY_EXISTS, "此代办件已登记"));
    }
    let Some(matter) = tx.matter(*matter_id).await? else {
        return Ok(rejected(codes::INVALID_FIELD, "matter_id：事项不存在"));
    };
    let at = acted_at(m);
    let status = ItemKind::DelegatedCase.initial_status();
    let new = NewItem {
        id: m.item_id,
        kind: ItemKind::DelegatedCase,
        status,
        unit_id: matter.unit_id,
        matter_id: Some(*matter_id),
        agent_id: Some(actor.user_id),
        handler_id: None,
        applicant: applicant.clone(),
        title: format!("代办：{}", matter.name),
        content: content.clone(),
        received_at: at,
        details: Default::default(),
    };
    let event = shimin_protocol::ItemEvent {
        at,
        actor_id: Some(actor.user_id),
        actor_name: actor_name.to_owned(),
        action: REGISTER_CASE.to_owned(),
        status,
        note: None,
        place: Some(place.clone()),
    };
    let (_, seq) = tx.insert_item(&new, &[event]).await?;
    deadline::refresh_stored(tx, cal, m.item_id).await?;
    tx.announce(Committed {
        seq,
        unit_id: Some(matter.unit_id),
        old_unit_id: None,
        agent_id: Some(actor.user_id),
        background: false,
    });
    Ok(MutationOutcome::Applied { version: seq })
}

/// Decides and (if allowed) applies one mutation inside the caller's transaction: the one
/// path by which an action changes an item (pushes, and the demo county's history).
pub(crate) async fn apply(
    tx: &mut dyn Writes,
    cal: &shimin_domain::calendar::WorkCalendar,
    actor: &Actor,
    actor_name: &str,
    m: &Mutation,
) -> Result<MutationOutcome> {
    if let Op::RegisterCase { .. } = &m.op {
        return register_case(tx, cal, actor, actor_name, m).await;
    }
    let Some(item) = tx.item(m.item_id).await? else {
        return Ok(not_found());
    };
    if !read_scope(actor).contains(item.unit_id, item.agent_id) {
        return Ok(not_found());
    }
    let command = match m.op.validate() {
        Ok(c) => c,
        Err(invalid) => return Ok(invalid_op(invalid)),
    };
    if let Command::Transfer(to) = command {
        if !tx.unit_exists(to).await? {
            return Ok(rejected(codes::INVALID_FIELD, "to_unit_id：单位不存在"));
        }
    }
    let facts = item.facts();
    let out = match decide(&facts, actor, command) {
        Ok(out) => out,
        Err(refusal) => return Ok(rejected(refusal.code(), refusal.message_zh())),
    };
    // Files the op refers to: uploaded completely by this user (not merely known by hash).
    for a in m.op.attachments() {
        if !blobs::uploaded_by(tx, actor.user_id, &a.hash, a.size, &a.mime).await? {
            return Ok(rejected(
                codes::BLOB_MISSING,
                format!("附件“{}”尚未完整上传，请联网后重试", a.file_name),
            ));
        }
        if let Some(signature) = crate::scan::infection(tx, &a.hash).await? {
            return Ok(rejected(
                codes::ATTACHMENT_INFECTED,
                format!("附件“{}”未通过病毒检查（{signature}），已隔离", a.file_name),
            ));
        }
        tx.link_attachment(item.id, &a.hash).await?;
    }
    let mut details = item.details.clone();
    m.op.apply_details(&mut details);
    let place = match m.op.place() {
        Some(p) => Some(p),
        // A delegated case's custody chain says where every step happened: a window's step
        // happened at its unit's site.
        None if facts.kind == ItemKind::DelegatedCase => tx.site_of_user(actor.user_id).await?,
        None => None,
    };
    let seq = tx.next_seq().await?;
    let change = ItemChange {
        status: out.status,
        handler_id: out.handler_id,
        unit_id: out.unit_id,
        details,
    };
    tx.update_item(item.id, &change, seq).await?;
    let event = shimin_protocol::ItemEvent {
        at: acted_at(m),
        actor_id: Some(actor.user_id),
        actor_name: actor_name.to_owned(),
        action: command.code().to_owned(),
        status: out.status,
        note: m.op.history_note(),
        place,
    };
    tx.append_event(item.id, &event, seq).await?;
    if out.status != facts.status || out.handler_id != facts.handler_id || out.unit_id != facts.unit_id {
        // The history now holds the change: the deadline follows from it (a new clock starts at
        // the instant the clerk acted, as the desk computes it too), and so do the statistics
        // (who holds a running clock, which unit it counts for).
        deadline::refresh_stored(tx, cal, item.id).await?;
    }
    let old_unit = (out.unit_id != item.unit_id).then_some(item.unit_id);
    if let Some(old) = old_unit {
        tx.add_removal(item.id, old, seq).await?;
    }
    tx.announce(Committed {
        seq,
        unit_id: Some(out.unit_id),
        old_unit_id: old_unit,
        agent_id: item.agent_id,
        background: false,
    });
    Ok(MutationOutcome::Applied { version: seq })
}
