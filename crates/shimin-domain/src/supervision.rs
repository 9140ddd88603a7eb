//! Supervision cases (督办, R-SUP) and the follow-up of bad ratings (差评回访整改, R-EVA): a case is
//! addressed to a unit (an item's deadline was missed, a supervisor opened one on an item, or a
//! citizen gave a bad rating); the unit's leader answers with the cause and the correction
//! (整改) — for a bad rating: the call back to the citizen (回访) and the correction —, a
//! supervisor closes it or returns it for a better answer. A bad rating the unit holds mistaken
//! or malicious may be appealed (申诉复核): a supervisor upholds the appeal (the rating leaves the
//! statistics, never the record) or rejects it (the unit follows up after all). Each stage runs
//! its own working-time clock: the unit has [`ANSWER_DAYS`] working days to answer a 督办 and a
//! configurable number (default [`FOLLOW_UP_DAYS`]) to follow up a bad rating, a supervisor
//! [`REVIEW_DAYS`] to review an answer or an appeal.

use chrono::{DateTime, Utc};

use crate::calendar::WorkCalendar;
use crate::clock::{add_working_days, ClockError, Deadline};
use crate::role::{Actor, Role};

/// Working days the unit has to answer a case (opened or returned).
pub const ANSWER_DAYS: u32 = 3;
/// Working days a supervisor has to review an answer or an appeal.
pub const REVIEW_DAYS: u32 = 2;
/// Working days a unit has to follow up a bad rating, by default (local practice differs:
/// 5 at Dezhou, 15 at Chengdu; the server's `follow_up_days` setting).
pub const FOLLOW_UP_DAYS: u32 = 5;

/// What a case is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseKind {
    /// 督办: a missed deadline, or a supervisor's case on an item.
    Supervision,
    /// 差评回访整改: a bad rating to follow up.
    FollowUp,
}

impl CaseKind {
    pub fn code(self) -> &'static str {
        match self {
            CaseKind::Supervision => "supervision",
            CaseKind::FollowUp => "follow_up",
        }
    }

    pub fn from_code(code: &str) -> Option<CaseKind> {
        [CaseKind::Supervision, CaseKind::FollowUp]
            .into_iter()
            .find(|k| k.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            CaseKind::Supervision => "督办",
            CaseKind::FollowUp => "差评回访",
        }
    }
}
/// Longest cause, correction or note, in characters.
pub const MAX_CASE_TEXT_CHARS: usize = 2000;

/// Where a case stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseStage {
    /// 待答复: waiting for the unit's answer.
    Open,
    /// 待审核: answered, waiting for a supervisor.
    Answered,
    /// 已退回: the supervisor wants a better answer.
    Returned,
    /// 申诉中: the unit appealed the bad rating; a supervisor decides.
    Appealed,
    /// 已办结: closed by a supervisor (or the appeal upheld).
    Closed,
}

impl CaseStage {
    pub const ALL: [CaseStage; 5] = [
        CaseStage::Open,
        CaseStage::Answered,
        CaseStage::Returned,
        CaseStage::Appealed,
        CaseStage::Closed,
    ];

    pub fn code(self) -> &'static str {
        match self {
            CaseStage::Open => "open",
            CaseStage::Answered => "answered",
            CaseStage::Returned => "returned",
            CaseStage::Appealed => "appealed",
            CaseStage::Closed => "closed",
        }
    }

    pub fn from_code(code: &str) -> Option<CaseStage> {
        CaseStage::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            CaseStage::Open => "待答复",
            CaseStage::Answered => "待审核",
            CaseStage::Returned => "已退回",
            CaseStage::Appealed => "申诉中",
            CaseStage::Closed => "已办结",
        }
    }

    /// Whose move it is: the unit's (answer) or a supervisor's (review); `None` once closed.
    pub fn waits_for(self) -> Option<CaseParty> {
        match self {
            CaseStage::Open | CaseStage::Returned => Some(CaseParty::Unit),
            CaseStage::Answered | CaseStage::Appealed => Some(CaseParty::Supervisor),
            CaseStage::Closed => None,
        }
    }
}

/// Who acts on a case next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseParty {
    Unit,
    Supervisor,
}

/// What is done to a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseAction {
    /// A supervisor opens a case on an item (督办), with the reason.
    Open,
    /// The unit's leader answers: cause and correction (原因及整改措施).
    Answer,
    /// A supervisor returns the answer, with the reason.
    Return,
    /// A supervisor closes the case.
    Close,
    /// The unit appeals a bad rating (申诉复核), with the reason.
    Appeal,
    /// A supervisor upholds the appeal: the rating leaves the statistics.
    Uphold,
    /// A supervisor rejects the appeal, with the reason: the unit follows up.
    Reject,
}

impl CaseAction {
    pub const ALL: [CaseAction; 7] = [
        CaseAction::Open,
        CaseAction::Answer,
        CaseAction::Return,
        CaseAction::Close,
        CaseAction::Appeal,
        CaseAction::Uphold,
        CaseAction::Reject,
    ];

    pub fn code(self) -> &'static str {
        match self {
            CaseAction::Open => "open",
            CaseAction::Answer => "answer",
            CaseAction::Return => "return",
            CaseAction::Close => "close",
            CaseAction::Appeal => "appeal",
            CaseAction::Uphold => "uphold",
            CaseAction::Reject => "reject",
        }
    }

    pub fn from_code(code: &str) -> Option<CaseAction> {
        CaseAction::ALL.into_iter().find(|a| a.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            CaseAction::Open => "督办",
            CaseAction::Answer => "答复",
            CaseAction::Return => "退回",
            CaseAction::Close => "办结",
            CaseAction::Appeal => "申诉",
            CaseAction::Uphold => "申诉成立",
            CaseAction::Reject => "申诉驳回",
        }
    }
}

/// Why a case action is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseRefusal {
    /// Not this actor's move (another unit, not a leader, not a supervisor).
    NotPermitted,
    /// The case is not at a stage this action applies to.
    InvalidStage,
    /// Only a bad rating's follow-up can be appealed.
    NotAppealable,
}

impl CaseRefusal {
    pub fn code(self) -> &'static str {
        match self {
            CaseRefusal::NotPermitted => "not_permitted",
            CaseRefusal::InvalidStage => "invalid_state",
            CaseRefusal::NotAppealable => "not_appealable",
        }
    }

    pub fn message_zh(self) -> &'static str {
        match self {
            CaseRefusal::NotPermitted => "无权办理此督办件",
            CaseRefusal::InvalidStage => "督办件当前状态不能进行此操作",
            CaseRefusal::NotAppealable => "只有差评回访件可以申诉",
        }
    }
}

/// Supervisors who open, return and close cases (管委会 and 督查): not the sysadmin or the
/// intake staff, who read across units for other reasons.
pub fn is_case_supervisor(role: Role) -> bool {
    matches!(role, Role::Manager | Role::CenterLeader | Role::Inspector)
}

/// The stage after `action` on a case of `kind` and `unit_id` at `stage` (`None`: not opened
/// yet) by `actor`, or why not.
pub fn decide_case(
    kind: CaseKind,
    stage: Option<CaseStage>,
    unit_id: i64,
    actor: &Actor,
    action: CaseAction,
) -> Result<CaseStage, CaseRefusal> {
    use CaseStage as S;
    let leader_of_unit = actor.role == Role::DeptLeader && actor.unit_id == Some(unit_id);
    let supervisor = is_case_supervisor(actor.role);
    let (allowed, from, to): (bool, &[Option<CaseStage>], CaseStage) = match action {
        CaseAction::Open => (supervisor, &[None], S::Open),
        CaseAction::Answer => (leader_of_unit, &[Some(S::Open), Some(S::Returned)], S::Answered),
        CaseAction::Return => (supervisor, &[Some(S::Answered)], S::Returned),
        CaseAction::Close => (supervisor, &[Some(S::Answered)], S::Closed),
        CaseAction::Appeal => (leader_of_unit, &[Some(S::Open), Some(S::Returned)], S::Appealed),
        CaseAction::Uphold => (supervisor, &[Some(S::Appealed)], S::Closed),
        CaseAction::Reject => (supervisor, &[Some(S::Appealed)], S::Open),
    };
    if !allowed {
        return Err(CaseRefusal::NotPermitted);
    }
    if action == CaseAction::Appeal && kind != CaseKind::FollowUp {
        return Err(CaseRefusal::NotAppealable);
    }
    if !from.contains(&stage) {
        return Err(CaseRefusal::InvalidStage);
    }
    Ok(to)
}

/// The deadline of the party a case of `kind` at `stage` since `since` waits for (`None` once
/// closed); `follow_up_days` is the unit's time to follow up a bad rating.
pub fn case_deadline(
    cal: &WorkCalendar,
    kind: CaseKind,
    stage: CaseStage,
    since: DateTime<Utc>,
    follow_up_days: u32,
) -> Result<Option<Deadline>, ClockError> {
    let days = match (stage.waits_for(), kind) {
        (Some(CaseParty::Unit), CaseKind::Supervision) => ANSWER_DAYS,
        (Some(CaseParty::Unit), CaseKind::FollowUp) => follow_up_days,
        (Some(CaseParty::Supervisor), _) => REVIEW_DAYS,
        (None, _) => return Ok(None),
    };
    add_working_days(cal, since, days).map(Some)
}

/// Who may read a unit's cases: its office staff (the leader answers, the others see what is
/// asked of them) and every supervision role.
pub fn may_read_cases(actor: &Actor, unit_id: i64) -> bool {
    actor.role.is_supervision() || (actor.role.is_unit_office() && actor.unit_id == Some(unit_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, unit: Option<i64>) -> Actor {
        Actor {
            user_id: 1,
            role,
            unit_id: unit,
        }
    }

    #[test]
    fn the_case_moves_between_the_unit_and_the_supervisor() {
        let leader = actor(Role::DeptLeader, Some(3));
        let other_leader = actor(Role::DeptLeader, Some(4));
        let clerk = actor(Role::Clerk, Some(3));
        let manager = actor(Role::Manager, None);
        let inspector = actor(Role::Inspector, None);
        let sysadmin = actor(Role::Sysadmin, None);
        use CaseAction as A;
        use CaseStage as S;
        type Case<'a> = (
            Option<CaseStage>,
            &'a Actor,
            CaseAction,
            Result<CaseStage, CaseRefusal>,
        );
        let cases: Vec<Case> = vec![
            (None, &manager, A::Open, Ok(S::Open)),
            (None, &inspector, A::Open, Ok(S::Open)),
            (None, &leader, A::Open, Err(CaseRefusal::NotPermitted)),
            (None, &sysadmin, A::Open, Err(CaseRefusal::NotPermitted)),
            (Some(S::Open), &manager, A::Open, Err(CaseRefusal::InvalidStage)),
            (Some(S::Open), &leader, A::Answer, Ok(S::Answered)),
            (Some(S::Returned), &leader, A::Answer, Ok(S::Answered)),
            (
                Some(S::Open),
                &other_leader,
                A::Answer,
                Err(CaseRefusal::NotPermitted),
            ),
            (Some(S::Open), &clerk, A::Answer, Err(CaseRefusal::NotPermitted)),
            (
                Some(S::Answered),
                &leader,
                A::Answer,
                Err(CaseRefusal::InvalidStage),
            ),
            (Some(S::Open), &manager, A::Close, Err(CaseRefusal::InvalidStage)),
            (Some(S::Answered), &manager, A::Return, Ok(S::Returned)),
            (Some(S::Answered), &inspector, A::Close, Ok(S::Closed)),
            (
                Some(S::Answered),
                &leader,
                A::Close,
                Err(CaseRefusal::NotPermitted),
            ),
            (
                Some(S::Closed),
                &manager,
                A::Return,
                Err(CaseRefusal::InvalidStage),
            ),
            (
                Some(S::Closed),
                &leader,
                A::Answer,
                Err(CaseRefusal::InvalidStage),
            ),
        ];
        for (stage, who, action, want) in cases {
            assert_eq!(
                decide_case(CaseKind::Supervision, stage, 3, who, action),
                want,
                "{stage:?} {:?} {action:?}",
                who.role
            );
        }
    }

    #[test]
    fn a_bad_ratings_follow_up_may_be_appealed_and_the_appeal_decided() {
        let leader = actor(Role::DeptLeader, Some(3));
        let manager = actor(Role::Manager, None);
        use CaseAction as A;
        use CaseStage as S;
        type Case<'a> = (
            CaseKind,
            Option<CaseStage>,
            &'a Actor,
            CaseAction,
            Result<CaseStage, CaseRefusal>,
        );
        let f = CaseKind::FollowUp;
        let cases: Vec<Case> = vec![
            (f, Some(S::Open), &leader, A::Appeal, Ok(S::Appealed)),
            (f, Some(S::Returned), &leader, A::Appeal, Ok(S::Appealed)),
            (
                f,
                Some(S::Answered),
                &leader,
                A::Appeal,
                Err(CaseRefusal::InvalidStage),
            ),
            (
                f,
                Some(S::Open),
                &manager,
                A::Appeal,
                Err(CaseRefusal::NotPermitted),
            ),
            (
                CaseKind::Supervision,
                Some(S::Open),
                &leader,
                A::Appeal,
                Err(CaseRefusal::NotAppealable),
            ),
            (f, Some(S::Appealed), &manager, A::Uphold, Ok(S::Closed)),
            (f, Some(S::Appealed), &manager, A::Reject, Ok(S::Open)),
            (
                f,
                Some(S::Appealed),
                &leader,
                A::Uphold,
                Err(CaseRefusal::NotPermitted),
            ),
            (
                f,
                Some(S::Appealed),
                &leader,
                A::Answer,
                Err(CaseRefusal::InvalidStage),
            ),
            (
                f,
                Some(S::Open),
                &manager,
                A::Uphold,
                Err(CaseRefusal::InvalidStage),
            ),
            (f, Some(S::Open), &leader, A::Answer, Ok(S::Answered)),
        ];
        for (kind, stage, who, action, want) in cases {
            assert_eq!(
                decide_case(kind, stage, 3, who, action),
                want,
                "{kind:?} {stage:?} {action:?}"
            );
        }
    }

    #[test]
    fn each_stage_has_its_clock() {
        use crate::calendar::from_local;
        use chrono::NaiveDate;
        let cal = WorkCalendar::builtin();
        // Monday 2 March 2026, 10:00.
        let since = from_local(
            NaiveDate::from_ymd_opt(2026, 3, 2)
                .unwrap()
                .and_hms_opt(10, 0, 0)
                .unwrap(),
        );
        let day = |d| {
            from_local(
                NaiveDate::from_ymd_opt(2026, 3, d)
                    .unwrap()
                    .and_hms_opt(10, 0, 0)
                    .unwrap(),
            )
        };
        let due = |kind, stage| case_deadline(&cal, kind, stage, since, 5).unwrap().map(|d| d.due);
        let s = CaseKind::Supervision;
        assert_eq!(due(s, CaseStage::Open), Some(day(5)));
        assert_eq!(due(s, CaseStage::Returned), Some(day(5)));
        assert_eq!(due(s, CaseStage::Answered), Some(day(4)));
        assert_eq!(due(s, CaseStage::Closed), None);
        // A bad rating's follow-up: five working days (Monday to the next Monday).
        assert_eq!(due(CaseKind::FollowUp, CaseStage::Open), Some(day(9)));
        assert_eq!(due(CaseKind::FollowUp, CaseStage::Appealed), Some(day(4)));
        for s in CaseStage::ALL {
            assert_eq!(CaseStage::from_code(s.code()), Some(s));
        }
    }

    #[test]
    fn who_reads_a_units_cases() {
        assert!(may_read_cases(&actor(Role::Clerk, Some(3)), 3));
        assert!(!may_read_cases(&actor(Role::Clerk, Some(4)), 3));
        assert!(may_read_cases(&actor(Role::Inspector, None), 3));
        assert!(!may_read_cases(&actor(Role::Agent, Some(3)), 3));
        assert!(!may_read_cases(&actor(Role::Portal, None), 3));
    }
}
