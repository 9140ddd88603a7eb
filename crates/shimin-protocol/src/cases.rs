//! Supervision cases (督办, R-SUP): the cases of the caller's scope with their history
//! (`GET` [`crate::paths::SUPERVISION_CASES`]), a supervisor opening one on an item (`POST` the
//! same path, [`OpenCase`]), the unit's leader answering ([`AnswerCase`]), a supervisor
//! returning or closing it ([`ReviewCase`]). Each answers the case as it now stands.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shimin_domain::supervision::{CaseAction, CaseKind, CaseStage};
use uuid::Uuid;

/// `GET SUPERVISION_CASES?open=true`: only the cases not closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CaseQuery {
    #[serde(default)]
    pub open: bool,
}

/// A supervision case and its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupervisionCase {
    pub id: i64,
    /// A 督办, or a bad rating's follow-up (差评回访: `item_id` is the evaluation).
    #[serde(with = "crate::coded")]
    pub kind: CaseKind,
    pub item_id: Uuid,
    pub item_number: String,
    pub unit_id: i64,
    pub unit_name: String,
    /// Why: the missed clock's name (e.g. "咨询答复超期") or the supervisor's reason.
    pub reason: String,
    /// When it was opened.
    pub opened_at: DateTime<Utc>,
    #[serde(with = "crate::coded")]
    pub stage: CaseStage,
    /// When the current stage began (its clock's start).
    pub stage_since: DateTime<Utc>,
    /// The current stage's deadline (answer or review); `None` once closed.
    pub due_at: Option<DateTime<Utc>>,
    /// Past `due_at` without the move it waits for.
    pub overdue: bool,
    /// Oldest first.
    pub steps: Vec<CaseStep>,
}

/// One step of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseStep {
    pub at: DateTime<Utc>,
    pub actor_name: String,
    #[serde(with = "crate::coded")]
    pub action: CaseAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub correction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `POST SUPERVISION_CASES`: a supervisor opens a case on an item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenCase {
    pub item_id: Uuid,
    pub reason: String,
}

/// `POST SUPERVISION_CASE_ANSWER`: the unit's answer (a bad rating's follow-up: `cause` is the
/// call back to the citizen, 回访情况).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerCase {
    /// 原因: why it happened.
    pub cause: String,
    /// 整改措施: what the unit changed.
    pub correction: String,
}

/// `POST SUPERVISION_CASE_RETURN` (the note is required: what is missing),
/// `SUPERVISION_CASE_CLOSE` (optional), `SUPERVISION_CASE_APPEAL` (required: why the rating is
/// mistaken), `SUPERVISION_CASE_UPHOLD` (optional), `SUPERVISION_CASE_REJECT` (required).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ReviewCase {
    #[serde(default)]
    pub note: String,
}
