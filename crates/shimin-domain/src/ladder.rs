//! The reservation notification ladder (R-RES-NOTIFY) and who acts as A (AB角, R-AB).
//!
//! A reservation (在线预约) must be handled within one working hour. On arrival the A-role clerk
//! is notified; if not taken after a share of the hour, the B-role clerk too; shortly before the
//! deadline the unit's leader gets a warning (预警); at the deadline it is overdue and a
//! supervision case (督办) is recorded. All offsets are in working time.

use chrono::{DateTime, Utc};

use crate::calendar::WorkCalendar;
use crate::clock::{add_working_time, start_of_clock, ClockError, WorkingDuration};
use crate::statutory::{rule, ClockKind, Limit};

/// Ladder settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LadderConfig {
    /// Share of the working hour after which the B clerk is notified too (0 < b_after < 1).
    pub b_after: f64,
    /// Working time before the deadline at which the leader is warned (0 ≤ … < the hour).
    pub leader_before: WorkingDuration,
}

impl Default for LadderConfig {
    /// B after half the hour, leader 10 working minutes before the deadline.
    fn default() -> Self {
        LadderConfig {
            b_after: 0.5,
            leader_before: WorkingDuration::from_minutes(10),
        }
    }
}

/// A clerk's presence (在岗状态).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Presence {
    /// At the desk (在岗).
    OnDuty,
    /// Marked away (暂离).
    Away,
    /// On leave (请假).
    OnLeave,
    /// Not on shift (不在班).
    OffShift,
}

impl Presence {
    pub const ALL: [Presence; 4] = [
        Presence::OnDuty,
        Presence::Away,
        Presence::OnLeave,
        Presence::OffShift,
    ];

    /// Stable code (stored and sent on the wire).
    pub fn code(self) -> &'static str {
        match self {
            Presence::OnDuty => "on_duty",
            Presence::Away => "away",
            Presence::OnLeave => "on_leave",
            Presence::OffShift => "off_shift",
        }
    }

    pub fn from_code(code: &str) -> Option<Presence> {
        Presence::ALL.into_iter().find(|p| p.code() == code)
    }

    /// Whether a clerk may set this presence from the own desk (暂离 and back); leave and
    /// shifts are set by the office.
    pub fn settable_from_desk(self) -> bool {
        matches!(self, Presence::OnDuty | Presence::Away)
    }
}

/// Who a ladder step goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Recipient {
    /// The A-role clerk (A角).
    AClerk,
    /// The B-role clerk (B角).
    BClerk,
    /// The unit's leader (部门领导).
    Leader,
    /// Supervision (督办): the overdue case is recorded.
    Supervision,
}

/// Severity of a ladder step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StepLevel {
    /// Plain notification (通知).
    Notify,
    /// Early warning (预警).
    Warning,
    /// Deadline missed (超期).
    Overdue,
}

/// One step of the ladder: at `at`, notify `recipient` with `level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LadderStep {
    /// When the step is reached.
    pub at: DateTime<Utc>,
    /// Who is notified.
    pub recipient: Recipient,
    /// How severe.
    pub level: StepLevel,
}

/// The ladder of a reservation received at `received`, sorted by time: A at clock start, B after
/// `b_after` of the working hour, leader `leader_before` of working time before the deadline,
/// supervision (overdue) at the deadline.
pub fn reservation_ladder(
    cal: &WorkCalendar,
    received: DateTime<Utc>,
    cfg: &LadderConfig,
) -> Result<Vec<LadderStep>, ClockError> {
    let hour = match rule(ClockKind::Reservation).limit {
        Limit::WorkingHours(n) => WorkingDuration::from_hours(i64::from(n)),
        _ => unreachable!("a reservation's limit is in working hours"),
    };
    if !(cfg.b_after > 0.0 && cfg.b_after < 1.0) {
        return Err(ClockError::InvalidLadderConfig(
            "b_after must be strictly between 0 and 1",
        ));
    }
    if cfg.leader_before.is_negative() || cfg.leader_before >= hour {
        return Err(ClockError::InvalidLadderConfig(
            "leader_before must be at least zero and less than the limit",
        ));
    }
    let start = start_of_clock(cal, received)?;
    let b_offset = WorkingDuration::from_secs((hour.as_secs() as f64 * cfg.b_after).round() as i64);
    let at = |d: WorkingDuration| add_working_time(cal, start, d).map(|d| d.due);
    let mut steps = vec![
        LadderStep {
            at: start,
            recipient: Recipient::AClerk,
            level: StepLevel::Notify,
        },
        LadderStep {
            at: at(b_offset)?,
            recipient: Recipient::BClerk,
            level: StepLevel::Notify,
        },
        LadderStep {
            at: at(hour - cfg.leader_before)?,
            recipient: Recipient::Leader,
            level: StepLevel::Warning,
        },
        LadderStep {
            at: at(hour)?,
            recipient: Recipient::Supervision,
            level: StepLevel::Overdue,
        },
    ];
    steps.sort_by_key(|s| s.at);
    Ok(steps)
}

/// The steps reached by `now` (`at <= now`), in ladder order.
pub fn due_steps(ladder: &[LadderStep], now: DateTime<Utc>) -> Vec<LadderStep> {
    ladder.iter().filter(|s| s.at <= now).copied().collect()
}

/// Who acts as A right now: A if on duty, else B if on duty, else the leader.
pub fn acting_a(a: Presence, b: Presence) -> Recipient {
    match (a, b) {
        (Presence::OnDuty, _) => Recipient::AClerk,
        (_, Presence::OnDuty) => Recipient::BClerk,
        _ => Recipient::Leader,
    }
}
