//! Supervision cases (督办, R-SUP): the sweep ([`crate::supervision`]) opens one when an item's
//! deadline is missed, a supervisor may open one on any item; the unit's leader answers with
//! cause and correction, a supervisor closes it or returns it. Who may do what at which stage,
//! and each stage's working-time deadline, are `shimin_domain::supervision`'s; here the steps
//! are stored (append-only), audited and answered.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use shimin_domain::calendar::WorkCalendar;
use shimin_domain::statutory::ClockKind;
use shimin_domain::supervision::{
    case_deadline, decide_case, is_case_supervisor, may_read_cases, CaseAction, CaseRefusal, CaseStage,
    MAX_CASE_TEXT_CHARS,
};
use shimin_protocol::{AnswerCase, CaseQuery, CaseStep, ItemEvent, OpenCase, ReviewCase, SupervisionCase};

use crate::auth::AuthUser;
use crate::store::{CaseFilter, CaseRow, CaseStepRow, NewSupervisionCase, Reads, Writes, MANUAL_CASE_CLOCK};
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
    Ok(Json(records(&mut *r, &state.calendar(), rows, Utc::now()).await?))
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
    let stage =
        decide_case(None, item.unit_id, &user.actor(), CaseAction::Open).map_err(Error::CaseRefused)?;
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
    debug_assert_eq!(stage, CaseStage::Open);
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
    let answer = one(&mut *tx, &state.calendar(), id, now).await?;
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
    State(state): State<SharedState>,
    user: AuthUser,
    Path(id): Path<i64>,
    Json(req): Json<ReviewCase>,
) -> Result<Json<SupervisionCase>> {
    text("note", &req.note, true)?;
    act(
        &state,
        &user,
        id,
        CaseAction::Return,
        (None, None, Some(req.note.trim())),
    )
    .await
}

/// `POST SUPERVISION_CASE_CLOSE`: a supervisor accepts the answer.
pub async fn close(
    State(state): State<SharedState>,
    user: AuthUser,
    Path(id): Path<i64>,
    Json(req): Json<ReviewCase>,
) -> Result<Json<SupervisionCase>> {
    text("note", &req.note, false)?;
    let note = Some(req.note.trim()).filter(|n| !n.is_empty());
    act(&state, &user, id, CaseAction::Close, (None, None, note)).await
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
    let stage = decide_case(Some(case.stage), case.unit_id, &actor, action).map_err(Error::CaseRefused)?;
    tx.set_case_stage(id, stage, now).await?;
    step(&mut *tx, user, id, action, now, texts).await?;
    let target = format!("{}#{id}", case.item_number);
    tx.audit(user.audit_entry(audit_action(action), Some(&target), "ok"));
    let answer = one(&mut *tx, &state.calendar(), id, now).await?;
    tx.commit().await?;
    Ok(Json(answer))
}

fn audit_action(action: CaseAction) -> &'static str {
    match action {
        CaseAction::Open => "supervision.open",
        CaseAction::Answer => "supervision.answer",
        CaseAction::Return => "supervision.return",
        CaseAction::Close => "supervision.close",
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
async fn one(
    reads: &mut dyn Reads,
    cal: &WorkCalendar,
    id: i64,
    now: DateTime<Utc>,
) -> Result<SupervisionCase> {
    let row = reads.case(id).await?.ok_or(Error::NotFound)?;
    records(reads, cal, vec![row], now)
        .await?
        .pop()
        .ok_or(Error::NotFound)
}

/// Cases with their steps, unit names and current deadlines.
async fn records(
    reads: &mut dyn Reads,
    cal: &WorkCalendar,
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
            let due_at = case_deadline(cal, c.stage, c.stage_since)
                .map_err(Error::internal)?
                .map(|d| d.due);
            let reason = match (&c.reason, ClockKind::from_code(&c.clock)) {
                (Some(r), _) => r.clone(),
                (None, Some(k)) => format!("{}超期", k.name_zh()),
                (None, None) => "督办".to_owned(),
            };
            Ok(SupervisionCase {
                id: c.id,
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
