//! The intake API: the citizen portal's service account (role `portal`) hands in reservations,
//! consultations, applications, complaints and evaluations; each becomes a work item of the
//! responsible unit, with its statutory deadline.

use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use shimin_domain::calendar::{to_local, WorkCalendar};
use shimin_domain::item::{citizen_progress_zh, CustodyStep, ItemKind, Status};
use shimin_domain::role::Role;
use shimin_protocol::{
    Applicant, CitizenProgress, Created, ItemDetails, ItemEvent, NewApplication, NewComplaint,
    NewConsultation, NewEvaluation, NewReservation, ProgressStep, MAX_TEXT_CHARS,
};
use uuid::Uuid;

use crate::audit::Entry;
use crate::auth::AuthUser;
use crate::http::Json;
use crate::store::{NewItem, Reads, Writes};
use crate::{deadline, Committed, Error, Result, SharedState};

/// Name recorded as the actor of items the portal creates.
pub const PORTAL_ACTOR_NAME: &str = "市民网门户";
const MAX_TITLE_CHARS: usize = 200;

/// Who hands the item in (for the audit trail); `None` = the server itself (demo trickle).
#[derive(Debug, Clone, Copy)]
pub struct Submitter<'a> {
    pub user_id: i64,
    pub username: &'a str,
    pub client_id: &'a str,
}

/// Any intake request.
#[derive(Debug, Clone)]
pub enum Intake {
    Reservation(NewReservation),
    Consultation(NewConsultation),
    Application(NewApplication),
    Complaint(NewComplaint),
    Evaluation(NewEvaluation),
}

impl Intake {
    fn kind(&self) -> ItemKind {
        match self {
            Intake::Reservation(_) => ItemKind::Reservation,
            Intake::Consultation(_) => ItemKind::Consultation,
            Intake::Application(_) => ItemKind::Application,
            Intake::Complaint(_) => ItemKind::Complaint,
            Intake::Evaluation(_) => ItemKind::Evaluation,
        }
    }
}

fn require_portal(user: &AuthUser) -> Result<()> {
    if user.role == Role::Portal {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

async fn handle(state: SharedState, user: AuthUser, intake: Intake) -> Result<Json<Created>> {
    require_portal(&user)?;
    let submitter = Submitter {
        user_id: user.id,
        username: &user.username,
        client_id: &user.client_id,
    };
    create(&state, Some(submitter), intake).await.map(Json)
}

pub async fn reservation(
    State(state): State<SharedState>,
    user: AuthUser,
    Json(req): Json<NewReservation>,
) -> Result<Json<Created>> {
    handle(state, user, Intake::Reservation(req)).await
}

pub async fn consultation(
    State(state): State<SharedState>,
    user: AuthUser,
    Json(req): Json<NewConsultation>,
) -> Result<Json<Created>> {
    handle(state, user, Intake::Consultation(req)).await
}

pub async fn application(
    State(state): State<SharedState>,
    user: AuthUser,
    Json(req): Json<NewApplication>,
) -> Result<Json<Created>> {
    handle(state, user, Intake::Application(req)).await
}

pub async fn complaint(
    State(state): State<SharedState>,
    user: AuthUser,
    Json(req): Json<NewComplaint>,
) -> Result<Json<Created>> {
    handle(state, user, Intake::Complaint(req)).await
}

pub async fn evaluation(
    State(state): State<SharedState>,
    user: AuthUser,
    Json(req): Json<NewEvaluation>,
) -> Result<Json<Created>> {
    handle(state, user, Intake::Evaluation(req)).await
}

/// `GET INTAKE_PROGRESS`: what the citizen reads of an item's progress (在线查询): the
/// citizen-facing status and the steps so far, without staff names. For a delegated case the
/// steps are its custody chain, so the citizen knows where the papers are.
pub async fn progress(
    State(state): State<SharedState>,
    user: AuthUser,
    axum::extract::Path(number): axum::extract::Path<String>,
) -> Result<Json<CitizenProgress>> {
    require_portal(&user)?;
    let mut reader = state.store.reader().await?;
    let item = reader.item_by_number(&number).await?.ok_or(Error::NotFound)?;
    let events = reader
        .events(&[item.id])
        .await?
        .remove(&item.id)
        .unwrap_or_default();
    let (kind, status) = (item.kind, item.status);
    let mut steps: Vec<ProgressStep> = Vec::new();
    for e in events {
        let step = match CustodyStep::of_event(&e.action, e.status) {
            Some(c) if kind == ItemKind::DelegatedCase => c.name_zh(),
            _ => citizen_progress_zh(kind, e.status),
        };
        if steps.last().is_some_and(|s| s.step == step) {
            continue;
        }
        steps.push(ProgressStep {
            at: e.at,
            step: step.to_owned(),
        });
    }
    Ok(Json(CitizenProgress {
        number,
        kind,
        status,
        progress: citizen_progress_zh(kind, status).to_owned(),
        steps,
    }))
}

/// Validates and stores an intake in one write transaction, audits it (also when refused),
/// then pokes the desks in scope. The demo trickle uses this same path.
pub async fn create(state: &SharedState, by: Option<Submitter<'_>>, intake: Intake) -> Result<Created> {
    create_at(state, by, intake, Utc::now()).await
}

/// [`create`] with the instant of reception given (imports of items received elsewhere,
/// tests): the statutory clock starts from `received_at`.
pub async fn create_at(
    state: &SharedState,
    by: Option<Submitter<'_>>,
    intake: Intake,
    received_at: DateTime<Utc>,
) -> Result<Created> {
    let action = format!("intake.{}", intake.kind().code());
    let mut tx = state.store.write().await?;
    match record(&mut *tx, &state.calendar(), by, intake, received_at).await {
        Ok(created) => {
            tx.commit().await?;
            Ok(created)
        }
        Err(e) => {
            drop(tx);
            if matches!(e, Error::InvalidField { .. }) {
                let mut tx = state.store.write().await?;
                tx.audit(Entry {
                    action: &action,
                    outcome: "invalid_field",
                    ..submitter_entry(by)
                });
                tx.commit().await?;
            }
            Err(e)
        }
    }
}

fn submitter_entry<'a>(by: Option<Submitter<'a>>) -> Entry<'a> {
    Entry {
        user_id: by.map(|b| b.user_id),
        username: by.map(|b| b.username),
        client_id: by.map(|b| b.client_id),
        ..Entry::default()
    }
}

/// Validates and stores an intake inside the caller's write transaction: the item with its
/// `created` event and deadline, the audit entry, the poke after commit.
pub async fn record(
    tx: &mut dyn Writes,
    cal: &WorkCalendar,
    by: Option<Submitter<'_>>,
    intake: Intake,
    received_at: DateTime<Utc>,
) -> Result<Created> {
    let kind = intake.kind();
    let action = format!("intake.{}", kind.code());
    let new = prepare(tx, intake, received_at).await?;
    let created = ItemEvent {
        at: new.received_at,
        actor_id: None,
        actor_name: PORTAL_ACTOR_NAME.to_owned(),
        action: "created".to_owned(),
        status: new.status,
        note: None,
        place: None,
    };
    let (number, seq) = tx.insert_item(&new, &[created]).await?;
    // The deadline from the stored item, the way every later change recomputes it.
    deadline::refresh_stored(tx, cal, new.id).await?;
    if kind == ItemKind::Evaluation {
        follow_up_if_bad(tx, new.id).await?;
    }
    tx.audit(Entry {
        action: &action,
        target: Some(&number),
        outcome: "ok",
        ..submitter_entry(by)
    });
    tx.announce(Committed {
        seq,
        unit_id: Some(new.unit_id),
        old_unit_id: None,
        agent_id: new.agent_id,
        background: false,
    });
    tracing::info!(kind = kind.code(), %number, unit = new.unit_id, "intake");
    Ok(Created {
        id: new.id,
        number,
        server_time: Utc::now(),
    })
}

/// A bad rating's follow-up for the rated item's unit (R-EVA).
async fn follow_up_if_bad(tx: &mut dyn Writes, evaluation_id: Uuid) -> Result<()> {
    let Some(evaluation) = tx.item(evaluation_id).await? else {
        return Ok(());
    };
    let rated_number = match evaluation.details.rates_item {
        Some(id) => tx.item(id).await?.map(|r| r.number).unwrap_or_default(),
        None => String::new(),
    };
    crate::cases::open_follow_up(tx, &evaluation, &rated_number).await
}

fn text(field: &str, value: &str, max: usize, required: bool) -> Result<()> {
    if required && value.trim().is_empty() {
        return Err(Error::invalid(field, "不能为空"));
    }
    if value.chars().count() > max {
        return Err(Error::invalid(field, format!("不能超过{max}个字符")));
    }
    Ok(())
}

fn check_applicant(a: &Applicant) -> Result<()> {
    a.validate().map_err(|e| Error::invalid(e.field, e.message))
}

/// The matter's name and unit.
async fn matter(reads: &mut dyn Reads, id: i64) -> Result<(String, i64)> {
    reads
        .matter(id)
        .await?
        .map(|m| (m.name, m.unit_id))
        .ok_or_else(|| Error::invalid("matter_id", "事项不存在"))
}

async fn unit_exists(reads: &mut dyn Reads, id: i64) -> Result<()> {
    if reads.unit_exists(id).await? {
        Ok(())
    } else {
        Err(Error::invalid("unit_id", "单位不存在"))
    }
}

async fn prepare(conn: &mut dyn Reads, intake: Intake, now: DateTime<Utc>) -> Result<NewItem> {
    let kind = intake.kind();
    let mut details = ItemDetails::default();
    let (unit_id, matter_id, applicant, title, content) = match intake {
        Intake::Reservation(r) => {
            check_applicant(&r.applicant)?;
            text("content", &r.content, MAX_TEXT_CHARS, false)?;
            let (name, unit_id) = matter(conn, r.matter_id).await?;
            let slot = r.requested_slot;
            let today = to_local(now).date();
            if slot.end <= slot.start {
                return Err(Error::invalid("requested_slot", "预约时段的结束须晚于开始"));
            }
            if slot.start.date() != slot.end.date() || slot.end - slot.start > Duration::hours(12) {
                return Err(Error::invalid("requested_slot", "预约时段须在同一天内"));
            }
            if slot.start.date() < today - Duration::days(1)
                || slot.start.date() > today + Duration::days(366)
            {
                return Err(Error::invalid("requested_slot", "预约日期超出可预约范围"));
            }
            details.requested_slot = Some(slot);
            (
                unit_id,
                Some(r.matter_id),
                r.applicant,
                format!("预约办理：{name}"),
                r.content,
            )
        }
        Intake::Consultation(c) => {
            check_applicant(&c.applicant)?;
            text("title", &c.title, MAX_TITLE_CHARS, true)?;
            text("content", &c.content, MAX_TEXT_CHARS, true)?;
            let unit = match (c.matter_id, c.unit_id) {
                (Some(m), _) => matter(conn, m).await?.1,
                (None, Some(u)) => {
                    unit_exists(conn, u).await?;
                    u
                }
                (None, None) => return Err(Error::invalid("unit_id", "须指定事项或单位")),
            };
            (unit, c.matter_id, c.applicant, c.title, c.content)
        }
        Intake::Application(a) => {
            check_applicant(&a.applicant)?;
            text("content", &a.content, MAX_TEXT_CHARS, false)?;
            if a.materials_provided.len() > 100 {
                return Err(Error::invalid("materials_provided", "材料过多"));
            }
            for m in &a.materials_provided {
                text("materials_provided", m, MAX_TITLE_CHARS, true)?;
            }
            let (name, unit_id) = matter(conn, a.matter_id).await?;
            let mut content = a.content;
            if !a.materials_provided.is_empty() {
                if !content.is_empty() {
                    content.push('\n');
                }
                content.push_str("已提交材料：");
                content.push_str(&a.materials_provided.join("；"));
            }
            (unit_id, Some(a.matter_id), a.applicant, name, content)
        }
        Intake::Complaint(c) => {
            check_applicant(&c.applicant)?;
            text("title", &c.title, MAX_TITLE_CHARS, true)?;
            text("content", &c.content, MAX_TEXT_CHARS, true)?;
            unit_exists(conn, c.unit_id).await?;
            (c.unit_id, None, c.applicant, c.title, c.content)
        }
        Intake::Evaluation(e) => {
            if !(1..=5).contains(&e.rating) {
                return Err(Error::invalid("rating", "评分须为1至5"));
            }
            text("content", &e.content, MAX_TEXT_CHARS, false)?;
            let rated = conn
                .item(e.item_id)
                .await?
                .ok_or_else(|| Error::invalid("item_id", "被评议的办件不存在"))?;
            if !rated.status.is_closed() && rated.status != Status::Completed {
                return Err(Error::invalid("item_id", "办件尚未办结，不能评议"));
            }
            if rated.kind == ItemKind::Evaluation {
                return Err(Error::invalid("item_id", "不能评议评议件"));
            }
            details.rating = Some(e.rating);
            details.rates_item = Some(e.item_id);
            let applicant = rated.applicant.clone();
            let title = format!("评议：{}（{}星）", rated.number, e.rating);
            (rated.unit_id, rated.matter_id, applicant, title, e.content)
        }
    };
    // The deadline is computed by `deadline::refresh` after the insert.
    Ok(NewItem {
        id: Uuid::now_v7(),
        kind,
        status: kind.initial_status(),
        unit_id,
        matter_id,
        agent_id: None,
        handler_id: None,
        applicant,
        title,
        content,
        received_at: now,
        details,
    })
}
