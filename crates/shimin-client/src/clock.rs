//! Desk clocks (办理时限): countdowns, the reservation notification ladder (R-RES-NOTIFY) with
//! who acts as A (AB角, R-AB), and the missing-calendar warning — computed locally, offline,
//! from the cached calendar, catalogue and colleagues with the server-time offset.
//!
//! The deadline is derived exactly as the server derives it: the item's clock from its kind and
//! history (`shimin_domain::statutory::item_clock`), its deadline by `statutory::deadline_for`
//! with the calendar the server distributes (`Change::Calendar`, cached under meta key
//! `calendar`; the built-in calendar until the first sync). A countdown shows the server's
//! recorded `due_at` (the authority) unless local ops not yet confirmed have changed the clock.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shimin_domain::calendar::{SiteCalendar, WorkCalendar};
use shimin_domain::card::{card_state, Card};
use shimin_domain::clock::{remaining, Deadline, DeadlineState, WorkingDuration};
use shimin_domain::item::ItemKind;
use shimin_domain::ladder::{self, LadderConfig, Presence, Recipient, StepLevel};
use shimin_domain::role::Role;
use shimin_domain::statutory::{item_clock, rule, warning_points, ClockKind, ItemClock, Transition};
use shimin_protocol::{CalendarWire, Colleague, ItemRecord, Matter};
use uuid::Uuid;

use crate::store::ItemView;
use crate::Result;

/// How urgent a running clock is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockLevel {
    /// Within time, no warning point passed.
    Normal,
    /// A warning point of the statutory rule has passed (预警).
    Warning,
    /// The deadline has passed (超期).
    Overdue,
    /// Stopped while the case waits on the citizen (补正中).
    Paused,
}

/// The countdown of an item's running statutory clock (倒计时).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Countdown {
    /// Which statutory limit runs.
    pub clock: ClockKind,
    /// The deadline; `None` while paused.
    pub due: Option<DateTime<Utc>>,
    /// Working time left (negative when overdue); while paused, what was left when it stopped.
    pub remaining: WorkingDuration,
    pub level: ClockLevel,
    /// The deadline lies in a year without an official holiday schedule (暂定): it may move.
    pub provisional: bool,
    /// The supervision card the item holds now (R-SUP); `None` while paused.
    pub card: Option<Card>,
    /// The next card and the working time until it comes.
    pub next_card: Option<(Card, WorkingDuration)>,
}

/// Next year's official holiday schedule is missing (shown from 1 December on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CalendarWarning {
    /// The year without an official schedule.
    pub missing_year: i32,
}

/// Who is A for a matter right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActingA {
    /// A clerk, B clerk (A absent) or the leader (both absent).
    pub recipient: Recipient,
    /// That person, if known to the desk.
    pub user_id: Option<i64>,
}

/// One step of a reservation's notification ladder, with the person it goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LadderNotice {
    /// When the step is reached.
    pub at: DateTime<Utc>,
    /// Role notified; for the arrival step, whoever acts as A now (see [`ActingA`]).
    pub recipient: Recipient,
    pub level: StepLevel,
    /// The colleague notified (`None` for the supervision record or an unknown colleague).
    pub user_id: Option<i64>,
}

/// The reached ladder steps of one open reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueLadder {
    pub item_id: Uuid,
    pub number: String,
    pub steps: Vec<LadderNotice>,
}

// Countdowns, ladders and A/B answers hold domain types (no serde in the pure crate): the app
// shell maps them to its own view models.

/// A snapshot of what the clocks need (calendar, matters, colleagues); cheap to query many
/// items with. Build it with `Desk::clocks`.
#[derive(Debug, Clone)]
pub struct Clocks {
    calendar: WorkCalendar,
    matters: HashMap<i64, Matter>,
    colleagues: Vec<Colleague>,
    ladder: LadderConfig,
}

/// The status changes of an item's history.
pub fn transitions(rec: &ItemRecord) -> Vec<Transition> {
    rec.events
        .iter()
        .map(|e| Transition {
            at: e.at,
            status: e.status,
        })
        .collect()
}

/// The working calendar of a cached wire calendar (default office hours, as on the server);
/// the built-in calendar if none is cached or it does not validate.
pub fn build_calendar(wire: Option<&CalendarWire>) -> WorkCalendar {
    match wire.map(|w| WorkCalendar::new(&w.to_data(), SiteCalendar::default())) {
        Some(Ok(cal)) => cal,
        Some(Err(e)) => {
            tracing::warn!(error = %e, "cached calendar is invalid; using the built-in one");
            WorkCalendar::builtin()
        }
        None => WorkCalendar::builtin(),
    }
}

impl Clocks {
    /// From the cached calendar, matters and colleagues, with the default ladder settings.
    pub fn new(wire: Option<&CalendarWire>, matters: Vec<Matter>, colleagues: Vec<Colleague>) -> Clocks {
        Clocks {
            calendar: build_calendar(wire),
            matters: matters.into_iter().map(|m| (m.id, m)).collect(),
            colleagues,
            ladder: LadderConfig::default(),
        }
    }

    /// With other ladder settings (per-site configuration).
    pub fn with_ladder(mut self, ladder: LadderConfig) -> Clocks {
        self.ladder = ladder;
        self
    }

    /// The working calendar in use.
    pub fn calendar(&self) -> &WorkCalendar {
        &self.calendar
    }

    fn promised_days(&self, rec: &ItemRecord) -> Option<u32> {
        rec.matter_id
            .and_then(|id| self.matters.get(&id))
            .map(|m| m.promised_days)
            .filter(|d| *d > 0)
    }

    /// The statutory clock the item runs (None: no clock, e.g. evaluations).
    pub fn clock(&self, rec: &ItemRecord) -> Option<ItemClock> {
        item_clock(rec.kind, rec.received_at, &transitions(rec))
    }

    /// The item's deadline computed on this desk, the way the server computes `due_at`.
    pub fn deadline(&self, rec: &ItemRecord) -> Result<Option<DeadlineState>> {
        match self.clock(rec) {
            Some(c) => Ok(Some(c.deadline(&self.calendar, self.promised_days(rec))?)),
            None => Ok(None),
        }
    }

    /// The deadline computed on this desk, unless paused or without clock.
    pub fn local_due(&self, rec: &ItemRecord) -> Result<Option<Deadline>> {
        Ok(self.deadline(rec)?.and_then(|s| s.deadline()))
    }

    /// The countdown of the item's clock at `now` (server time); `None` when no clock runs
    /// (none, or its duty is met: answered, accepted, completed …).
    pub fn countdown(&self, view: &ItemView, now: DateTime<Utc>) -> Result<Option<Countdown>> {
        let rec = &view.record;
        let Some(clock) = self.clock(rec).filter(ItemClock::is_running) else {
            return Ok(None);
        };
        let local = clock.deadline(&self.calendar, self.promised_days(rec))?;
        let deadline = match (view.pending, rec.due_at, local) {
            (_, _, DeadlineState::Paused { remaining, .. }) => {
                return Ok(Some(Countdown {
                    clock: clock.kind,
                    due: None,
                    remaining,
                    level: ClockLevel::Paused,
                    provisional: false,
                    card: None,
                    next_card: None,
                }))
            }
            // The server's record is the authority while no local op changed the item.
            (false, Some(due), _) => Deadline {
                due,
                provisional: rec.due_provisional,
            },
            (_, _, DeadlineState::Running(d)) => d,
        };
        let warnings = warning_points(&self.calendar, clock.start, &deadline, rule(clock.kind).warn_at)?;
        let level = if now > deadline.due {
            ClockLevel::Overdue
        } else if warnings.iter().any(|p| *p <= now) {
            ClockLevel::Warning
        } else {
            ClockLevel::Normal
        };
        let cards = card_state(now, &warnings, deadline.due);
        Ok(Some(Countdown {
            clock: clock.kind,
            due: Some(deadline.due),
            remaining: remaining(&self.calendar, now, deadline.due),
            level,
            provisional: deadline.provisional,
            card: cards.held,
            next_card: cards
                .next
                .map(|(card, at)| (card, remaining(&self.calendar, now, at))),
        }))
    }

    fn colleague_presence(&self, id: Option<i64>) -> Presence {
        id.and_then(|id| self.colleagues.iter().find(|c| c.id == id))
            .map_or(Presence::OffShift, |c| c.presence)
    }

    fn leader_of(&self, unit_id: i64) -> Option<i64> {
        self.colleagues
            .iter()
            .filter(|c| c.role == Role::DeptLeader && c.unit_id == Some(unit_id))
            .map(|c| c.id)
            .min()
    }

    /// Who acts as A for `matter_id` of `unit_id` now: the matter's A clerk if on duty, else its
    /// B clerk if on duty, else the unit's leader (presence from the cached colleagues).
    pub fn acting_a(&self, matter_id: Option<i64>, unit_id: i64) -> ActingA {
        let m = matter_id.and_then(|id| self.matters.get(&id));
        let (a, b) = (m.and_then(|m| m.a_clerk_id), m.and_then(|m| m.b_clerk_id));
        let recipient = ladder::acting_a(self.colleague_presence(a), self.colleague_presence(b));
        let user_id = match recipient {
            Recipient::AClerk => a,
            Recipient::BClerk => b,
            Recipient::Leader => self.leader_of(unit_id),
            Recipient::Supervision => None,
        };
        ActingA { recipient, user_id }
    }

    /// The notification ladder of an open reservation (empty for other items and once the
    /// reservation is handled): A (whoever acts as A now) on arrival, B after a share of the
    /// hour, the leader near the deadline, the supervision record at the deadline.
    pub fn ladder_steps(&self, view: &ItemView) -> Result<Vec<LadderNotice>> {
        let rec = &view.record;
        if rec.kind != ItemKind::Reservation || !self.clock(rec).is_some_and(|c| c.is_running()) {
            return Ok(Vec::new());
        }
        let steps = ladder::reservation_ladder(&self.calendar, rec.received_at, &self.ladder)?;
        let acting = self.acting_a(rec.matter_id, rec.unit_id);
        let b = rec
            .matter_id
            .and_then(|id| self.matters.get(&id))
            .and_then(|m| m.b_clerk_id);
        Ok(steps
            .into_iter()
            .map(|s| {
                let (recipient, user_id) = match s.recipient {
                    Recipient::AClerk => (acting.recipient, acting.user_id),
                    Recipient::BClerk => (Recipient::BClerk, b),
                    Recipient::Leader => (Recipient::Leader, self.leader_of(rec.unit_id)),
                    Recipient::Supervision => (Recipient::Supervision, None),
                };
                LadderNotice {
                    at: s.at,
                    recipient,
                    level: s.level,
                    user_id,
                }
            })
            .collect())
    }

    /// The ladder steps of `view` reached by `now`.
    pub fn due_ladder_steps(&self, view: &ItemView, now: DateTime<Utc>) -> Result<Vec<LadderNotice>> {
        Ok(self
            .ladder_steps(view)?
            .into_iter()
            .filter(|s| s.at <= now)
            .collect())
    }

    /// The missing-schedule warning on local date `today` (from 1 December: next year; any
    /// time: the current year).
    pub fn calendar_warning(&self, today: NaiveDate) -> Option<CalendarWarning> {
        self.calendar
            .missing_next_year_warning(today)
            .map(|missing_year| CalendarWarning { missing_year })
    }
}
