//! The intake API: the citizen portal's service account (role `portal`) hands in reservations,
//! consultations, applications, complaints and evaluations; each becomes a work item of the
//! responsible unit, with its statutory deadline.

use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use shimin_domain::calendar::to_local;
use shimin_domain::item::{citizen_progress_zh, CustodyStep, ItemKind, Status};
use shimin_domain::role::Role;
use shimin_protocol::{
    Applicant, CitizenProgress, Created, ItemDetails, ItemEvent, NewApplication, NewComplaint,
    NewConsultation, NewEvaluation, NewReservation, ProgressStep, MAX_TEXT_CHARS,
};
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::audit::{self, Entry};
use crate::auth::AuthUser;
use crate::http::Json;
use crate::items::{insert_item, load_item, NewItem};
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
    let mut conn = state.pool.acquire().await?;
    let row: Option<(String, String, String)> =
        sqlx::query_as("SELECT id, kind, status FROM items WHERE number = ?")
            .bind(&number)
            .fetch_optional(&mut *conn)
            .await?;
    let (id, kind_code, status_code) = row.ok_or(Error::NotFound)?;
    let kind = ItemKind::from_code(&kind_code).ok_or_else(|| Error::internal("unknown kind"))?;
    let status = Status::from_code(&status_code).ok_or_else(|| Error::internal("unknown status"))?;
    let events: Vec<(String, String, String)> =
        sqlx::query_as("SELECT at, action, status FROM item_events WHERE item_id = ? ORDER BY id")
            .bind(&id)
            .fetch_all(&mut *conn)
            .await?;
    let mut steps: Vec<ProgressStep> = Vec::new();
    for (at, action, after) in events {
        let Some(after) = Status::from_code(&after) else {
            continue;
        };
        let step = match CustodyStep::of_event(&action, after) {
            Some(c) if kind == ItemKind::DelegatedCase => c.name_zh(),
            _ => citizen_progress_zh(kind, after),
        };
        if steps.last().is_some_and(|s| s.step == step) {
            continue;
        }
        steps.push(ProgressStep {
            at: crate::db::parse_ts(&at)?,
            step: step.to_owned(),
        });
    }
    Ok(Json(CitizenProgress {
        number,
        kind: kind_code,
        status: status_code,
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
    let kind = intake.kind();
    let action = format!("intake.{}", kind.code());
    let mut tx = state.writer.begin_with("BEGIN IMMEDIATE").await?;
    let audit_entry = |target: Option<&'static str>| Entry {
        user_id: by.map(|b| b.user_id),
        username: by.map(|b| b.username),
        action: "",
        target,
        client_id: by.map(|b| b.client_id),
        outcome: "",
    };
    let new = match prepare(&mut tx, intake, received_at).await {
        Ok(new) => new,
        Err(e) => {
            let outcome = match &e {
                Error::InvalidField { .. } => "invalid_field",
                _ => "error",
            };
            tx.rollback().await?;
            if matches!(e, Error::InvalidField { .. }) {
                let mut conn = state.writer.acquire().await?;
                audit::record(
                    &mut conn,
                    Entry {
                        action: &action,
                        outcome,
                        ..audit_entry(None)
                    },
                )
                .await?;
            }
            return Err(e);
        }
    };
    let created = ItemEvent {
        at: new.received_at,
        actor_id: None,
        actor_name: PORTAL_ACTOR_NAME.to_owned(),
        action: "created".to_owned(),
        status: new.status.code().to_owned(),
        note: None,
        place: None,
    };
    let (number, seq) = insert_item(&mut tx, &new, &[created]).await?;
    // The deadline from the stored item, the way every later change recomputes it.
    if let Some(row) = load_item(&mut tx, new.id).await? {
        deadline::refresh(&mut tx, &state.calendar(), &row, false).await?;
    }
    audit::record(
        &mut tx,
        Entry {
            action: &action,
            target: Some(&number),
            outcome: "ok",
            ..audit_entry(None)
        },
    )
    .await?;
    tx.commit().await?;
    state.notify([Committed {
        seq,
        unit_id: Some(new.unit_id),
        old_unit_id: None,
        agent_id: new.agent_id,
        background: false,
    }]);
    tracing::info!(kind = kind.code(), %number, unit = new.unit_id, "intake");
    Ok(Created {
        id: new.id,
        number,
        server_time: Utc::now(),
    })
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

#[derive(Debug, sqlx::FromRow)]
struct MatterFacts {
    name: String,
    unit_id: i64,
}

async fn matter(conn: &mut SqliteConnection, id: i64) -> Result<MatterFacts> {
    sqlx::query_as("SELECT name, unit_id FROM matters WHERE id = ?")
        .bind(id)
        .fetch_optional(conn)
        .await?
        .ok_or_else(|| Error::invalid("matter_id", "事项不存在"))
}

async fn unit_exists(conn: &mut SqliteConnection, id: i64) -> Result<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM units WHERE id = ?")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    found
        .map(|_| ())
        .ok_or_else(|| Error::invalid("unit_id", "单位不存在"))
}

async fn prepare(conn: &mut SqliteConnection, intake: Intake, now: DateTime<Utc>) -> Result<NewItem> {
    let kind = intake.kind();
    let mut details = ItemDetails::default();
    let (unit_id, matter_id, applicant, title, content) = match intake {
        Intake::Reservation(r) => {
            check_applicant(&r.applicant)?;
            text("content", &r.content, MAX_TEXT_CHARS, false)?;
            let m = matter(conn, r.matter_id).await?;
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
                m.unit_id,
                Some(r.matter_id),
                r.applicant,
                format!("预约办理：{}", m.name),
                r.content,
            )
        }
        Intake::Consultation(c) => {
            check_applicant(&c.applicant)?;
            text("title", &c.title, MAX_TITLE_CHARS, true)?;
            text("content", &c.content, MAX_TEXT_CHARS, true)?;
            let unit = match (c.matter_id, c.unit_id) {
                (Some(m), _) => matter(conn, m).await?.unit_id,
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
            let m = matter(conn, a.matter_id).await?;
            let mut content = a.content;
            if !a.materials_provided.is_empty() {
                if !content.is_empty() {
                    content.push('\n');
                }
                content.push_str("已提交材料：");
                content.push_str(&a.materials_provided.join("；"));
            }
            (m.unit_id, Some(a.matter_id), a.applicant, m.name, content)
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
            let rated = load_item(conn, e.item_id)
                .await?
                .ok_or_else(|| Error::invalid("item_id", "被评议的办件不存在"))?;
            if !rated.status()?.is_closed() && rated.status()? != Status::Completed {
                return Err(Error::invalid("item_id", "办件尚未办结，不能评议"));
            }
            if rated.kind()? == ItemKind::Evaluation {
                return Err(Error::invalid("item_id", "不能评议评议件"));
            }
            details.rating = Some(e.rating);
            details.rates_item = Some(e.item_id);
            let applicant = Applicant {
                name: rated.applicant_name.clone(),
                id_number: rated.applicant_id_number.clone(),
                phone: rated.applicant_phone.clone(),
            };
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
        due_at: None,
        due_provisional: false,
        details,
    })
}
