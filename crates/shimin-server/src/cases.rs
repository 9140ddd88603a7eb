//! Supervision cases (督办, R-SUP) and bad ratings' follow-ups (差评回访, R-EVA): the sweep
//! ([`crate::supervision`]) opens a case when an item's deadline is missed, a supervisor may open
//! one on any item, a bad rating opens its follow-up at intake ([`open_follow_up`]); the unit's
//! leader answers with cause (or the call back) and correction, a supervisor closes it or
//! returns it; a follow-up may be appealed, and an upheld appeal takes the rating out of the
//! statistics (`stats::project` asks `Reads::appeal_upheld`). Who may do what at which stage,
//! and each stage's working-time deadline, are `shimin_domain::supervision`'s; here the steps
//! are stored (append-only), audited and answered.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use shimin_domain::calendar::WorkCalendar;
use shimin_domain::stats::Rating;
use shimin_domain::statutory::ClockKind;
use shimin_domain::supervision::{
    case_deadline, decide_case, is_case_supervisor, may_read_cases, CaseAction, CaseKind, CaseRefusal,
    MAX_CASE_TEXT_CHARS,
};
use shimin_protocol::{AnswerCase, CaseQuery, CaseStep, ItemEvent, OpenCase, ReviewCase, SupervisionCase};

use crate::auth::AuthUser;
use crate::store::{
    CaseFilter, CaseRow, CaseStepRow, NewSupervisionCase, Reads, StoredItem, Writes, FOLLOW_UP_CASE_CLOCK,
    MANUAL_CASE_CLOCK,
};
use crate::{Committed, Error, Result, SharedState};

/// Cases one list answers at most (newest first).
const LIST_LIMIT: i64 = 500;

/// `GET SUPERVISION_CASES?open=`: a unit's cases for its office staff, every unit's for
/// supervision roles.
pub async fn list(
    State(state): State<SharedState>,
    user: AuthUser,
    query: std::result::Result<Query<CaseQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<SupervisionCase>>> {
    let Query(q) = query.map_err(|e| Error::Malformed(e.body_text()))?;
    let actor = user.actor();
    let unit = if actor.role.is_supervision() {
        None
    } else {
        match actor.unit_id {
            Some(unit) if may_read_cases(&actor, unit) => Some(unit),
            _ => return Err(Error::Forbidden),
        }
    };
    let mut r = state.store.snapshot().await?;
    let rows = r
        .cases(
            CaseFilter {
                unit,
                open_only: q.open,
            },
            LIST_LIMIT,
        )
        .await?;
    Ok(Json(records(&mut *r, &clocks(&state), rows, Utc::now()).await?))
}

/// `POST SUPERVISION_CASES`: a supervisor opens a case on an item, with the reason.
pub async fn open(
    State(state): State<SharedState>,
    user: AuthUser,
    Json(req): Json<OpenCase>,
) -> Result<Json<SupervisionCase>> {
    if !is_case_supervisor(user.role) {
        return Err(Error::CaseRefused(CaseRefusal::NotPermitted));
    }
    text("reason", &req.reason, true)?;
    let now = Utc::now();
    let mut tx = state.store.write().await?;
    let item = tx.item(req.item_id).await?.ok_or(Error::NotFound)?;
    // The domain's rule decides who opens one (the stage it starts at is always Open).
    decide_case(
        CaseKind::Supervision,
        None,
        item.unit_id,
        &user.actor(),
        CaseAction::Open,
    )
    .map_err(Error::CaseRefused)?;
    let Some(id) = tx
        .open_supervision_case(&NewSupervisionCase {
            item_id: item.id,
            unit_id: item.unit_id,
            clock: MANUAL_CASE_CLOCK,
            clock_start: now,
            due_at: item.due_at.unwrap_or(now),
            recorded_at: now,
            reason: Some(req.reason.trim()),
        })
        .await?
    else {
        return Err(Error::internal("a case opened this very instant exists"));
    };
    step(
        &mut *tx,
        &user,
        id,
        CaseAction::Open,
        now,
        (None, None, Some(req.reason.trim())),
    )
    .await?;
    // The item's desks learn it is under supervision, with the reason in its history.
    let seq = tx.next_seq().await?;
    tx.mark_supervised(item.id).await?;
    tx.set_item_version(item.id, seq).await?;
    tx.append_event(
        item.id,
        &ItemEvent {
            at: now,
            actor_id: Some(user.id),
            actor_name: user.display_name.clone(),
            action: "supervision_opened".to_owned(),
            status: item.status,
            note: Some(format!("督办：{}", req.reason.trim())),
            place: None,
        },
        seq,
    )
    .await?;
    tx.announce(Committed {
        seq,
        unit_id: Some(item.unit_id),
        old_unit_id: None,
        agent_id: item.agent_id,
        background: false,
    });
    tx.audit(user.audit_entry("supervision.open", Some(&item.number), "ok"));
    let answer = one(&mut *tx, &clocks(&state), id, now).await?;
    tx.commit().await?;
    Ok(Json(answer))
}

/// `POST SUPERVISION_CASE_ANSWER`: the unit's leader answers with cause and correction.
pub async fn answer(
    State(state): State<SharedState>,
    user: AuthUser,
    Path(id): Path<i64>,
    Json(req): Json<AnswerCase>,
) -> Result<Json<SupervisionCase>> {
    text("cause", &req.cause, true)?;
    text("correction", &req.correction, true)?;
    let texts = (Some(req.cause.trim()), Some(req.correction.trim()), None);
    act(&state, &user, id, CaseAction::Answer, texts).await
}

/// `POST SUPERVISION_CASE_RETURN`: a supervisor wants a better answer (what is missing).
pub async fn send_back(
    state: State<SharedState>,
    user: AuthUser,
    id: Path<i64>,
    req: Json<ReviewCase>,
) -> Answer {
    noted(state, user, id, req, CaseAction::Return, true).await
}

/// `POST SUPERVISION_CASE_CLOSE`: a supervisor accepts the answer.
pub async fn close(
    state: State<SharedState>,
    user: AuthUser,
    id: Path<i64>,
    req: Json<ReviewCase>,
) -> Answer {
    noted(state, user, id, req, CaseAction::Close, false).await
}

/// `POST SUPERVISION_CASE_APPEAL`: the unit's leader appeals a bad rating (why it is mistaken).
pub async fn appeal(
    state: State<SharedState>,
    user: AuthUser,
    id: Path<i64>,
    req: Json<ReviewCase>,
) -> Answer {
    noted(state, user, id, req, CaseAction::Appeal, true).await
}

/// `POST SUPERVISION_CASE_UPHOLD`: a supervisor upholds the appeal; the rating leaves the
/// statistics (it stays on record).
pub async fn uphold(
    state: State<SharedState>,
    user: AuthUser,
    id: Path<i64>,
    req: Json<ReviewCase>,
) -> Answer {
    noted(state, user, id, req, CaseAction::Uphold, false).await
}

/// `POST SUPERVISION_CASE_REJECT`: a supervisor rejects the appeal (why); the unit follows up.
pub async fn reject(
    state: State<SharedState>,
    user: AuthUser,
    id: Path<i64>,
    req: Json<ReviewCase>,
) -> Answer {
    noted(state, user, id, req, CaseAction::Reject, true).await
}

/// What a move answers: the case as it now stands.
type Answer = Result<Json<SupervisionCase>>;

/// A move whose only text is a note (`required`: it must say why).
async fn noted(
    State(state): State<SharedState>,
    user: AuthUser,
    Path(id): Path<i64>,
    Json(req): Json<ReviewCase>,
    action: CaseAction,
    required: bool,
) -> Answer {
    text("note", &req.note, required)?;
    let note = Some(req.note.trim()).filter(|n| !n.is_empty());
    act(&state, &user, id, action, (None, None, note)).await
}

/// Opens the follow-up of a bad rating (差评回访) for the rated item's unit, inside the
/// intake's transaction; nothing for a rating that is not bad.
pub async fn open_follow_up(tx: &mut dyn Writes, evaluation: &StoredItem, rated_number: &str) -> Result<()> {
    let Some(rating) = evaluation.details.rating.and_then(Rating::from_stars) else {
        return Ok(());
    };
    if !rating.is_bad() {
        return Ok(());
    }
    let reason = format!("差评回访：{rated_number}（{}）", rating.name_zh());
    let opened = tx
        .open_supervision_case(&NewSupervisionCase {
            item_id: evaluation.id,
            unit_id: evaluation.unit_id,
            clock: FOLLOW_UP_CASE_CLOCK,
            clock_start: evaluation.received_at,
            due_at: evaluation.received_at,
            recorded_at: evaluation.received_at,
            reason: Some(&reason),
        })
        .await?;
    if opened.is_some() {
        tx.audit(crate::audit::Entry {
            action: "evaluation.follow_up",
            target: Some(&evaluation.number),
            outcome: "opened",
            ..Default::default()
        });
    }
    Ok(())
}

/// The calendar and the follow-up setting the case clocks run on.
struct Clocks {
    cal: std::sync::Arc<WorkCalendar>,
    follow_up_days: u32,
}

fn clocks(state: &SharedState) -> Clocks {
    Clocks {
        cal: state.calendar(),
        follow_up_days: state.config.follow_up_days,
    }
}

/// Cause, correction and note of a step.
type Texts<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>);

/// One move on an existing case: decided by the domain, stored with its step, audited.
async fn act(
    state: &SharedState,
    user: &AuthUser,
    id: i64,
    action: CaseAction,
    texts: Texts<'_>,
) -> Result<Json<SupervisionCase>> {
    let now = Utc::now();
    let mut tx = state.store.write().await?;
    let case = tx.case(id).await?.ok_or(Error::NotFound)?;
    let actor = user.actor();
    // Someone who may not even read the unit's cases learns nothing of this one.
    if !may_read_cases(&actor, case.unit_id) {
        return Err(Error::NotFound);
    }
    let stage = decide_case(case.kind(), Some(case.stage), case.unit_id, &actor, action)
        .map_err(Error::CaseRefused)?;
    tx.set_case_stage(id, stage, now).await?;
    step(&mut *tx, user, id, action, now, texts).await?;
    if action == CaseAction::Uphold {
        // The evaluation's statistics row now leaves the rating out.
        crate::deadline::refresh_stored(&mut *tx, &state.calendar(), case.item_id).await?;
    }
    let target = format!("{}#{id}", case.item_number);
    tx.audit(user.audit_entry(audit_action(action), Some(&target), "ok"));
    let answer = one(&mut *tx, &clocks(state), id, now).await?;
    tx.commit().await?;
    Ok(Json(answer))
}

fn audit_action(action: CaseAction) -> &'static str {
    match action {
        CaseAction::Open => "supervision.open",
        CaseAction::Answer => "supervision.answer",
        CaseAction::Return => "supervision.return",
        CaseAction::Close => "supervision.close",
        CaseAction::Appeal => "supervision.appeal",
        CaseAction::Uphold => "supervision.uphold",
        CaseAction::Reject => "supervision.reject",
    }
}

async fn step(
    tx: &mut dyn Writes,
    user: &AuthUser,
    case_id: i64,
    action: CaseAction,
    at: DateTime<Utc>,
    (cause, correction, note): Texts<'_>,
) -> Result<()> {
    tx.append_case_step(&CaseStepRow {
        case_id,
        at,
        actor_id: Some(user.id),
        actor_name: user.display_name.clone(),
        action,
        cause: cause.map(str::to_owned),
        correction: correction.map(str::to_owned),
        note: note.map(str::to_owned),
    })
    .await
}

fn text(field: &str, value: &str, required: bool) -> Result<()> {
    if required && value.trim().is_empty() {
        return Err(Error::invalid(field, "不能为空"));
    }
    if value.chars().count() > MAX_CASE_TEXT_CHARS {
        return Err(Error::invalid(
            field,
            format!("不能超过{MAX_CASE_TEXT_CHARS}个字符"),
        ));
    }
    Ok(())
}

/// One case as answered.
async fn one(reads: &mut dyn Reads, clocks: &Clocks, id: i64, now: DateTime<Utc>) -> Result<SupervisionCase> {
    let row = reads.case(id).await?.ok_or(Error::NotFound)?;
    records(reads, clocks, vec![row], now)
        .await?
        .pop()
        .ok_or(Error::NotFound)
}

/// Cases with their steps, unit names and current deadlines.
async fn records(
    reads: &mut dyn Reads,
    clocks: &Clocks,
    rows: Vec<CaseRow>,
    now: DateTime<Utc>,
) -> Result<Vec<SupervisionCase>> {
    let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();
    let mut steps = reads.case_steps(&ids).await?;
    let units: HashMap<i64, String> = reads
        .changed_units(0, i64::MAX)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    rows.into_iter()
        .map(|c| {
            let kind = c.kind();
            let due_at = case_deadline(&clocks.cal, kind, c.stage, c.stage_since, clocks.follow_up_days)
                .map_err(Error::internal)?
                .map(|d| d.due);
            let reason = match (&c.reason, ClockKind::from_code(&c.clock)) {
                (Some(r), _) => r.clone(),
                (None, Some(k)) => format!("{}超期", k.name_zh()),
                (None, None) => "督办".to_owned(),
            };
            Ok(SupervisionCase {
                id: c.id,
                kind,
                item_id: c.item_id,
                item_number: c.item_number,
                unit_id: c.unit_id,
                unit_name: units.get(&c.unit_id).cloned().unwrap_or_default(),
                reason,
                opened_at: c.recorded_at,
                stage: c.stage,
                stage_since: c.stage_since,
                overdue: due_at.is_some_and(|d| now > d),
                due_at,
                steps: steps
                    .remove(&c.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|s| CaseStep {
                        at: s.at,
                        actor_name: s.actor_name,
                        action: s.action,
                        cause: s.cause,
                        correction: s.correction,
                        note: s.note,
                    })
                    .collect(),
            })
        })
        .collect()
}
