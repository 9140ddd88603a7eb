//! The statutory time limits (法定时限) of DOMAIN.md §2 as data, and [`deadline_for`], the one
//! function server and client call to get an item's deadline.

use chrono::{DateTime, Utc};

use crate::calendar::WorkCalendar;
use crate::clock::{
    add_working_time, deadline_with_pauses, start_of_clock, working_days_with_pauses, ClockError, Deadline,
    DeadlineState, Pause, WorkingDuration,
};

/// The kinds of work item that run a statutory clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClockKind {
    /// Online reservation (在线预约): 1 working hour.
    Reservation,
    /// Online consultation (在线咨询): answered within 1 working day.
    Consultation,
    /// Application pre-review (网上预审): 1 working day.
    PreReview,
    /// Application completion (限时办结): the matter's promised limit in working days.
    Completion,
    /// Online complaint (在线投诉): 3 working days.
    Complaint,
    /// Service-guide update (更新办事指南): 7 working days after a law/policy change.
    GuideUpdate,
}

impl ClockKind {
    /// Every kind, in table order.
    pub const ALL: [ClockKind; 6] = [
        ClockKind::Reservation,
        ClockKind::Consultation,
        ClockKind::PreReview,
        ClockKind::Completion,
        ClockKind::Complaint,
        ClockKind::GuideUpdate,
    ];
}

/// A time limit (时限).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    /// N working hours (工作小时).
    WorkingHours(u32),
    /// N working days (工作日).
    WorkingDays(u32),
    /// The matter's promised limit (承诺时限), in working days.
    PromisedDays,
}

/// One row of the statutory table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StatutoryRule {
    /// The item kind.
    pub kind: ClockKind,
    /// Its time limit.
    pub limit: Limit,
    /// Early-warning points (预警) as shares of the limit's working time, ascending, e.g. 0.5, 0.8.
    pub warn_at: &'static [f64],
    /// Requirement id in DOMAIN.md, e.g. `"R-RES"`.
    pub requirement_id: &'static str,
    /// Chinese name of the item kind.
    pub name_zh: &'static str,
}

/// The statutory rule for `kind`.
pub fn rule(kind: ClockKind) -> StatutoryRule {
    let (limit, warn_at, requirement_id, name_zh): (Limit, &'static [f64], _, _) = match kind {
        // The reservation's own escalation is the notification ladder (crate::ladder); these
        // shares match its defaults (B at half the hour, leader 10 minutes before the end).
        ClockKind::Reservation => (Limit::WorkingHours(1), &[0.5, 5.0 / 6.0], "R-RES", "在线预约"),
        ClockKind::Consultation => (Limit::WorkingDays(1), &[0.5, 0.8], "R-CON", "在线咨询"),
        ClockKind::PreReview => (Limit::WorkingDays(1), &[0.5, 0.8], "R-APP", "网上预审"),
        ClockKind::Completion => (Limit::PromisedDays, &[0.5, 0.8], "R-APP", "限时办结"),
        ClockKind::Complaint => (Limit::WorkingDays(3), &[0.5, 0.8], "R-CMP", "在线投诉"),
        ClockKind::GuideUpdate => (Limit::WorkingDays(7), &[0.5, 0.8], "R-GDE", "更新办事指南"),
    };
    StatutoryRule {
        kind,
        limit,
        warn_at,
        requirement_id,
        name_zh,
    }
}

/// The deadline of an item of `kind` received at `received` (R-CAL-CLOCK): the clock starts at
/// [`start_of_clock`], runs for the rule's limit (`promised_days` for [`ClockKind::Completion`],
/// ignored otherwise) and is stopped during `pauses` (补正).
pub fn deadline_for(
    cal: &WorkCalendar,
    kind: ClockKind,
    received: DateTime<Utc>,
    promised_days: Option<u32>,
    pauses: &[Pause],
) -> Result<DeadlineState, ClockError> {
    let start = start_of_clock(cal, received)?;
    let state = match rule(kind).limit {
        Limit::WorkingHours(n) => {
            deadline_with_pauses(cal, start, WorkingDuration::from_hours(i64::from(n)), pauses)?
        }
        Limit::WorkingDays(n) => working_days_with_pauses(cal, start, n, pauses)?,
        Limit::PromisedDays => {
            let n = promised_days.ok_or(ClockError::MissingPromisedLimit)?;
            working_days_with_pauses(cal, start, n, pauses)?
        }
    };
    // Provisional over the whole span, including the days between reception and clock start.
    Ok(match state {
        DeadlineState::Running(d) => DeadlineState::Running(Deadline {
            due: d.due,
            provisional: d.provisional || cal.is_provisional(crate::calendar::to_local(received).date()),
        }),
        paused => paused,
    })
}

/// The early-warning instants (预警时点) of a clock from `start` to `deadline`: for each share in
/// `shares` (of the clock's working time, 0..=1), the instant that share has elapsed. Pauses are
/// not taken into account.
pub fn warning_points(
    cal: &WorkCalendar,
    start: DateTime<Utc>,
    deadline: &Deadline,
    shares: &[f64],
) -> Result<Vec<DateTime<Utc>>, ClockError> {
    let start = start_of_clock(cal, start)?;
    let total = crate::clock::working_time_between(cal, start, deadline.due)
        .as_secs()
        .max(0);
    shares
        .iter()
        .map(|share| {
            let secs = (total as f64 * share.clamp(0.0, 1.0)).round() as i64;
            add_working_time(cal, start, WorkingDuration::from_secs(secs)).map(|d| d.due)
        })
        .collect()
}
