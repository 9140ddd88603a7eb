//! Supervision cases on the desk (督办, R-SUP): the cases of the user's scope from the server,
//! with what this user may do next (`shimin_domain::supervision::decide_case`: the unit's
//! leader answers, a supervisor returns or closes), and those moves. Server only: offline the
//! board says so.

use super::logged_in;
use crate::error::{CmdResult, DeskError};
use crate::state::Shared;
use serde::{Deserialize, Serialize};
use shimin_domain::calendar::to_local;
use shimin_domain::role::Actor;
use shimin_domain::supervision::{decide_case, CaseAction, CaseKind, CaseParty};
use shimin_protocol::{AnswerCase, SupervisionCase};
use tauri::State;

#[derive(Debug, Deserialize)]
pub struct CasesReq {
    /// Only the cases not closed.
    open_only: bool,
}

#[derive(Debug, Deserialize)]
pub struct AnswerReq {
    id: i64,
    cause: String,
    correction: String,
}

#[derive(Debug, Deserialize)]
pub struct StepReq {
    id: i64,
    /// A `CaseAction` code: `close`, `return`, `appeal`, `uphold`, `reject`.
    action: String,
    #[serde(default)]
    note: String,
}

/// One case as the board lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CaseView {
    pub id: i64,
    /// `supervision` (督办) or `follow_up` (差评回访).
    pub kind: &'static str,
    pub kind_zh: &'static str,
    /// What the answer's first field is: "原因" (督办) or "回访情况" (a bad rating's follow-up).
    pub cause_label: &'static str,
    pub item_number: String,
    pub unit_name: String,
    pub reason: String,
    /// `open`, `answered`, `returned`, `closed`.
    pub stage: &'static str,
    pub stage_zh: &'static str,
    /// "待单位答复" | "待督查审核" | "".
    pub waiting_zh: &'static str,
    /// Local "YYYY-MM-DD HH:MM".
    pub opened_at: String,
    /// "答复期限 12-09 10:00", "审核期限 …", "已超期（期限 …）" or "".
    pub due_label: String,
    pub overdue: bool,
    /// This user may answer it now (the unit's leader).
    pub can_answer: bool,
    /// This user may return or close it now (a supervisor).
    pub can_review: bool,
    /// This user may appeal it now (the unit's leader, a bad rating's follow-up).
    pub can_appeal: bool,
    /// This user may uphold or reject its appeal now (a supervisor).
    pub can_decide_appeal: bool,
    pub steps: Vec<CaseStepView>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CaseStepView {
    /// Local "MM-DD HH:MM".
    pub at: String,
    pub actor: String,
    pub action_zh: &'static str,
    /// "原因：…；整改：…" or the note.
    pub text: String,
}

/// The cases of the user's scope.
#[tauri::command]
pub async fn supervision_cases(state: State<'_, Shared>, req: CasesReq) -> CmdResult<Vec<CaseView>> {
    let desk = logged_in(&state).await?;
    let actor = actor(&desk)?;
    let cases = desk.supervision_cases(req.open_only).await?;
    Ok(cases.iter().map(|c| case_view(c, &actor)).collect())
}

/// The leader's answer: cause and correction.
#[tauri::command]
pub async fn case_answer(state: State<'_, Shared>, req: AnswerReq) -> CmdResult<CaseView> {
    let desk = logged_in(&state).await?;
    let actor = actor(&desk)?;
    let answer = AnswerCase {
        cause: req.cause,
        correction: req.correction,
    };
    let case = desk.answer_case(req.id, &answer).await?;
    Ok(case_view(&case, &actor))
}

/// A move with a note: a supervisor's close / return / uphold / reject, the leader's appeal.
#[tauri::command]
pub async fn case_step(state: State<'_, Shared>, req: StepReq) -> CmdResult<CaseView> {
    let desk = logged_in(&state).await?;
    let actor = actor(&desk)?;
    let action = CaseAction::from_code(&req.action)
        .ok_or_else(|| DeskError::new("invalid_field", "未知的督办操作"))?;
    let case = desk.case_step(req.id, action, &req.note).await?;
    Ok(case_view(&case, &actor))
}

fn actor(desk: &shimin_client::Desk) -> CmdResult<Actor> {
    let user = desk.user().ok_or_else(DeskError::not_logged_in)?;
    Ok(Actor {
        user_id: user.id,
        role: user.role,
        unit_id: user.unit_id,
    })
}

/// The board's view of a case for `actor`.
pub fn case_view(c: &SupervisionCase, actor: &Actor) -> CaseView {
    let may = |action| decide_case(c.kind, Some(c.stage), c.unit_id, actor, action).is_ok();
    let (waiting_zh, due_word) = match c.stage.waits_for() {
        Some(CaseParty::Unit) => ("待单位答复", "答复期限"),
        Some(CaseParty::Supervisor) => ("待督查审核", "审核期限"),
        None => ("", ""),
    };
    let local = |t: chrono::DateTime<chrono::Utc>, f: &str| to_local(t).format(f).to_string();
    let due_label = match c.due_at {
        Some(due) if c.overdue => format!("已超期（{due_word} {}）", local(due, "%m-%d %H:%M")),
        Some(due) => format!("{due_word} {}", local(due, "%m-%d %H:%M")),
        None => String::new(),
    };
    CaseView {
        id: c.id,
        kind: c.kind.code(),
        kind_zh: c.kind.name_zh(),
        cause_label: match c.kind {
            CaseKind::Supervision => "原因",
            CaseKind::FollowUp => "回访情况",
        },
        item_number: c.item_number.clone(),
        unit_name: c.unit_name.clone(),
        reason: c.reason.clone(),
        stage: c.stage.code(),
        stage_zh: c.stage.name_zh(),
        waiting_zh,
        opened_at: local(c.opened_at, "%Y-%m-%d %H:%M"),
        due_label,
        overdue: c.overdue,
        can_answer: may(CaseAction::Answer),
        can_review: may(CaseAction::Close),
        can_appeal: may(CaseAction::Appeal),
        can_decide_appeal: may(CaseAction::Uphold),
        steps: c
            .steps
            .iter()
            .map(|s| CaseStepView {
                at: local(s.at, "%m-%d %H:%M"),
                actor: s.actor_name.clone(),
                action_zh: s.action.name_zh(),
                text: match (&s.cause, &s.correction, &s.note) {
                    (Some(cause), Some(correction), _) => format!("原因：{cause}；整改：{correction}"),
                    (_, _, Some(note)) => note.clone(),
                    _ => String::new(),
                },
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use shimin_domain::role::Role;
    use shimin_domain::supervision::CaseStage;
    use shimin_protocol::CaseStep;

    fn case(stage: CaseStage, overdue: bool) -> SupervisionCase {
        let t = |h| Utc.with_ymd_and_hms(2026, 12, 2, h, 0, 0).unwrap();
        SupervisionCase {
            id: 4,
            kind: CaseKind::Supervision,
            item_id: uuid::Uuid::nil(),
            item_number: "ZX20261201-0001".into(),
            unit_id: 3,
            unit_name: "县公安局".into(),
            reason: "咨询答复超期".into(),
            opened_at: t(1),
            stage,
            stage_since: t(1),
            due_at: (stage != CaseStage::Closed).then(|| t(2)),
            overdue,
            steps: vec![CaseStep {
                at: t(3),
                actor_name: "李局长".into(),
                action: CaseAction::Answer,
                cause: Some("请假未交接".into()),
                correction: Some("明确A/B角".into()),
                note: None,
            }],
        }
    }

    #[test]
    fn what_each_user_may_do_and_what_the_case_says() {
        let leader = Actor {
            user_id: 1,
            role: Role::DeptLeader,
            unit_id: Some(3),
        };
        let manager = Actor {
            user_id: 2,
            role: Role::Manager,
            unit_id: None,
        };
        let open = case_view(&case(CaseStage::Open, false), &leader);
        assert_eq!((open.can_answer, open.can_review), (true, false));
        assert_eq!(
            (open.waiting_zh, open.due_label.as_str()),
            ("待单位答复", "答复期限 12-02 10:00")
        );
        assert_eq!(open.steps[0].text, "原因：请假未交接；整改：明确A/B角");
        assert_eq!(open.steps[0].action_zh, "答复");
        let answered = case_view(&case(CaseStage::Answered, true), &manager);
        assert_eq!((answered.can_answer, answered.can_review), (false, true));
        assert_eq!(answered.due_label, "已超期（审核期限 12-02 10:00）");
        assert!(!case_view(&case(CaseStage::Answered, false), &leader).can_answer);
        assert!(!open.can_appeal, "a 督办 is not appealed");
        let mut follow_up = case(CaseStage::Open, false);
        follow_up.kind = CaseKind::FollowUp;
        let v = case_view(&follow_up, &leader);
        assert_eq!(
            (v.can_answer, v.can_appeal, v.cause_label),
            (true, true, "回访情况")
        );
        follow_up.stage = CaseStage::Appealed;
        let v = case_view(&follow_up, &manager);
        assert_eq!(
            (v.can_review, v.can_decide_appeal, v.waiting_zh),
            (false, true, "待督查审核")
        );
        let closed = case_view(&case(CaseStage::Closed, false), &manager);
        assert_eq!(
            (closed.due_label.as_str(), closed.waiting_zh, closed.can_review),
            ("", "", false)
        );
    }
}
