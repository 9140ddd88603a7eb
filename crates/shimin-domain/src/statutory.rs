//! The statutory time limits (法定时限) of DOMAIN.md §2 as data, and [`deadline_for`], the one
//! function server and client call to get an item's deadline.

use chrono::{DateTime, Utc};

use crate::calendar::WorkCalendar;
use crate::clock::{
    add_working_time, deadline_with_pauses, start_of_clock, working_days_with_pauses, ClockError, Deadline,
    DeadlineState, Pause, WorkingDuration,
};
use crate::item::{ItemKind, Status};

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

    /// Stable code (storage, wire), e.g. `pre_review`.
    pub fn code(self) -> &'static str {
        match self {
            ClockKind::Reservation => "reservation",
            ClockKind::Consultation => "consultation",
            ClockKind::PreReview => "pre_review",
            ClockKind::Completion => "completion",
            ClockKind::Complaint => "complaint",
            ClockKind::GuideUpdate => "guide_update",
        }
    }

    pub fn from_code(code: &str) -> Option<ClockKind> {
        ClockKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The name a clerk knows the limit by.
    pub fn name_zh(self) -> &'static str {
        match self {
            ClockKind::Reservation => "预约响应",
            ClockKind::Consultation => "咨询答复",
            ClockKind::PreReview => "网上预审",
            ClockKind::Completion => "承诺办结",
            ClockKind::Complaint => "投诉答复",
            ClockKind::GuideUpdate => "指南更新",
        }
    }
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

/// A status change in an item's history (办理记录): the status after it and when it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// The item's status after it.
    pub status: Status,
}

/// The statutory clock an item runs (R-CAL-CLOCK), derived from its kind and history by
/// [`item_clock`]: server and desk both derive it this way, so they agree on the deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemClock {
    /// Which statutory limit applies.
    pub kind: ClockKind,
    /// When the clock was started (reception, acceptance 受理, hand-over to the window); the
    /// working-time start rule ([`start_of_clock`]) is applied by [`deadline_for`].
    pub start: DateTime<Utc>,
    /// Supplement periods (补正) since the start; the last one may still be open.
    pub pauses: Vec<Pause>,
    /// When the clock's duty was met (reservation handled, answered, application decided,
    /// completed …); `None` while the clock still runs.
    pub met_at: Option<DateTime<Utc>>,
    /// Which entry of the history met it (its actor is the person the statistics credit).
    pub met_by: Option<usize>,
}

impl ItemClock {
    /// Whether the clock still runs (its duty is not met yet).
    pub fn is_running(&self) -> bool {
        self.met_at.is_none()
    }

    /// The item's deadline by this clock ([`deadline_for`] with the clock's pauses).
    /// `promised_days` is the matter's promised limit (承诺时限), used by completion clocks only.
    pub fn deadline(
        &self,
        cal: &WorkCalendar,
        promised_days: Option<u32>,
    ) -> Result<DeadlineState, ClockError> {
        deadline_for(cal, self.kind, self.start, promised_days, &self.pauses)
    }

    /// The working time the clock has run until its duty was met (or until `now` while it
    /// runs), supplement periods excluded (R-STAT's mean handling time).
    pub fn used(&self, cal: &WorkCalendar, now: DateTime<Utc>) -> WorkingDuration {
        crate::clock::working_time_with_pauses(cal, self.start, self.met_at.unwrap_or(now), &self.pauses)
    }
}

/// The clock an item of `kind` starts on reception (`None`: evaluations run none; a delegated
/// case's clock starts when the agent hands it over to the window).
pub fn clock_on_reception(kind: ItemKind) -> Option<ClockKind> {
    match kind {
        ItemKind::Reservation => Some(ClockKind::Reservation),
        ItemKind::Consultation => Some(ClockKind::Consultation),
        ItemKind::Application => Some(ClockKind::PreReview),
        ItemKind::Complaint => Some(ClockKind::Complaint),
        ItemKind::Evaluation | ItemKind::DelegatedCase => None,
    }
}

/// The clock a status change from `from` to `to` starts, if any: acceptance (受理) starts the
/// completion clock (限时办结), the hand-over of a delegated case to the window its pre-review.
pub fn clock_on_transition(kind: ItemKind, from: Status, to: Status) -> Option<ClockKind> {
    match (kind, from, to) {
        (ItemKind::Application | ItemKind::DelegatedCase, _, Status::Accepted) => Some(ClockKind::Completion),
        (ItemKind::DelegatedCase, Status::Registered, Status::Submitted) => Some(ClockKind::PreReview),
        _ => None,
    }
}

/// Whether an item in `status` has met the duty of clock `clock`.
fn clock_met(clock: ClockKind, status: Status) -> bool {
    if status.is_closed() {
        return true;
    }
    match clock {
        // Handled "at once": accepted or rejected.
        ClockKind::Reservation => status != Status::Received,
        ClockKind::Consultation | ClockKind::Complaint => status == Status::Answered,
        ClockKind::PreReview => !matches!(status, Status::Submitted | Status::Supplement),
        ClockKind::Completion => matches!(status, Status::Completed | Status::Delivered),
        ClockKind::GuideUpdate => false,
    }
}

/// The clock an item of `kind` received at `received` runs after `history` (oldest first;
/// entries that do not change the status, e.g. notes or the `created` entry, are ignored): the
/// last of [`item_clocks`].
pub fn item_clock(kind: ItemKind, received: DateTime<Utc>, history: &[Transition]) -> Option<ItemClock> {
    item_clocks(kind, received, history).pop()
}

/// Every clock an item of `kind` received at `received` ran over `history`, oldest first (an
/// application's pre-review, then its completion clock; statistics judge each).
///
/// Rules: the reception clock ([`clock_on_reception`]) starts at `received`; a transition
/// listed by [`clock_on_transition`] starts a new clock at its instant (the one before ends
/// there, met or not); entering [`Status::Supplement`] pauses the clock (补正), leaving it
/// resumes it; the first status that meets the clock's duty stops it (`met_at`, `met_by`).
pub fn item_clocks(kind: ItemKind, received: DateTime<Utc>, history: &[Transition]) -> Vec<ItemClock> {
    let started = |kind: ClockKind, start: DateTime<Utc>| ItemClock {
        kind,
        start,
        pauses: Vec::new(),
        met_at: None,
        met_by: None,
    };
    let mut clocks: Vec<ItemClock> = clock_on_reception(kind)
        .map(|k| started(k, received))
        .into_iter()
        .collect();
    let mut status = kind.initial_status();
    for (index, t) in history.iter().enumerate() {
        if t.status == status {
            continue;
        }
        if let Some(c) = clocks.last_mut().filter(|c| c.met_at.is_none()) {
            if t.status == Status::Supplement {
                c.pauses.push(Pause { from: t.at, to: None });
            } else if status == Status::Supplement {
                if let Some(p) = c.pauses.last_mut().filter(|p| p.to.is_none()) {
                    p.to = Some(t.at);
                }
            }
        }
        let next = clock_on_transition(kind, status, t.status);
        if let Some(c) = clocks.last_mut().filter(|c| c.met_at.is_none()) {
            // A new clock ends the one before: the item moved past its duty.
            if next.is_some() || clock_met(c.kind, t.status) {
                c.met_at = Some(t.at);
                c.met_by = Some(index);
            }
        }
        if let Some(k) = next {
            clocks.push(started(k, t.at));
        }
        status = t.status;
    }
    clocks
}
