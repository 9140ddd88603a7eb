//! Statutory clocks over working time (R-CAL-CLOCK): one definition for server and client.
//!
//! Conventions:
//! - Working time is the union of the sessions of a [`WorkCalendar`]; a session is `[start, end)`
//!   for "is this instant inside". Public durations are whole seconds ([`WorkingDuration`]);
//!   internally arithmetic is exact, sub-second parts are truncated only when reported.
//! - [`start_of_clock`]: an instant inside a session starts the clock at once; otherwise (evening,
//!   lunch break, weekend, holiday, or exactly at a session's end) the clock starts at the
//!   opening of the next session.
//! - [`add_working_time`] with `d > 0` returns the *earliest* instant at which `d` of working
//!   time has elapsed: a deadline that uses up a session exactly stays at that session's end
//!   (e.g. 16:30 + 1 working hour = 17:30 the same day, not 08:30 next morning). So a due instant
//!   is inside a session or exactly at a session's end. Adding zero returns the start unchanged.
//! - [`add_working_days`]: N working days = the same local time of day on the N-th following
//!   working day, after normalizing the start with [`start_of_clock`]; if that time is not inside
//!   a session of that day, the first working instant after it.
//! - [`working_time_between`] is signed and antisymmetric: negative when `b < a`.
//! - A walk that finds no working time for [`MAX_IDLE_DAYS`] consecutive days fails with
//!   [`ClockError::NoWorkingTime`] instead of looping forever.

use std::fmt;
use std::ops::{Add, Neg, Sub};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

use crate::calendar::{from_local, to_local, WorkCalendar};

/// Days without any working time after which a clock walk gives up (about three years).
pub const MAX_IDLE_DAYS: u32 = 3 * 366;

/// A span of working time (工作时间) in whole seconds; may be negative (e.g. overdue).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct WorkingDuration(i64);

impl WorkingDuration {
    /// Zero working time.
    pub const ZERO: WorkingDuration = WorkingDuration(0);

    /// From seconds.
    pub const fn from_secs(secs: i64) -> Self {
        WorkingDuration(secs)
    }

    /// From minutes.
    pub const fn from_minutes(minutes: i64) -> Self {
        WorkingDuration(minutes * 60)
    }

    /// From hours.
    pub const fn from_hours(hours: i64) -> Self {
        WorkingDuration(hours * 3600)
    }

    /// Whole seconds.
    pub const fn as_secs(self) -> i64 {
        self.0
    }

    /// Whether negative (e.g. a remaining time past the deadline).
    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// As a `chrono::Duration`.
    pub fn to_chrono(self) -> Duration {
        Duration::seconds(self.0)
    }

    fn from_chrono(d: Duration) -> Self {
        WorkingDuration(d.num_seconds())
    }
}

impl Add for WorkingDuration {
    type Output = WorkingDuration;
    fn add(self, rhs: Self) -> Self {
        WorkingDuration(self.0 + rhs.0)
    }
}

impl Sub for WorkingDuration {
    type Output = WorkingDuration;
    fn sub(self, rhs: Self) -> Self {
        WorkingDuration(self.0 - rhs.0)
    }
}

impl Neg for WorkingDuration {
    type Output = WorkingDuration;
    fn neg(self) -> Self {
        WorkingDuration(-self.0)
    }
}

impl fmt::Display for WorkingDuration {
    /// `h:mm:ss`, with a leading `-` when negative.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let s = self.0.unsigned_abs();
        write!(f, "{sign}{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }
}

/// Errors computing a clock.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// A negative duration was asked for.
    #[error("negative working duration")]
    NegativeDuration,
    /// No working time found for [`MAX_IDLE_DAYS`] days (calendar without sessions).
    #[error("no working time within {MAX_IDLE_DAYS} days after {from}")]
    NoWorkingTime {
        /// Local date the walk started from.
        from: NaiveDate,
    },
    /// The walk left the range of representable dates.
    #[error("date out of range")]
    OutOfRange,
    /// A completion clock (限时办结) needs the matter's promised limit (承诺时限).
    #[error("the matter's promised limit is required")]
    MissingPromisedLimit,
    /// Invalid notification-ladder configuration.
    #[error("invalid ladder configuration: {0}")]
    InvalidLadderConfig(&'static str),
}

/// A computed deadline (期限).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    /// The instant the clock runs out.
    pub due: DateTime<Utc>,
    /// True if any day from the start to `due` lies in a provisional year (暂定): the deadline may
    /// move once that year's official schedule is loaded, and the client says so.
    pub provisional: bool,
}

/// A supplement period (补正期间) during which the clock is stopped; `to = None` means still open.
/// Overlapping pauses are merged; a closed pause with `to <= from` is ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pause {
    /// When the case started waiting on the citizen.
    pub from: DateTime<Utc>,
    /// When the supplement arrived; `None` while still waiting.
    pub to: Option<DateTime<Utc>>,
}

/// State of a clock that may be paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineState {
    /// The clock is running (or ran out) with this deadline.
    Running(Deadline),
    /// The clock is stopped by an open supplement period (补正中).
    Paused {
        /// When the open pause began (or the clock start, if later).
        since: DateTime<Utc>,
        /// Working time left when the clock stopped.
        remaining: WorkingDuration,
    },
}

impl DeadlineState {
    /// The deadline, unless paused.
    pub fn deadline(&self) -> Option<Deadline> {
        match self {
            DeadlineState::Running(d) => Some(*d),
            DeadlineState::Paused { .. } => None,
        }
    }
}

fn next_day(day: NaiveDate) -> Result<NaiveDate, ClockError> {
    day.succ_opt().ok_or(ClockError::OutOfRange)
}

/// Whether any day between the two local dates (inclusive) lies in a provisional year.
fn any_provisional(cal: &WorkCalendar, from: NaiveDate, to: NaiveDate) -> bool {
    use chrono::Datelike;
    (from.year().min(to.year())..=from.year().max(to.year())).any(|y| cal.is_provisional_year(y))
}

/// Whether `instant` lies inside a session (`start <= t < end`).
pub fn is_working_instant(cal: &WorkCalendar, instant: DateTime<Utc>) -> bool {
    let l = to_local(instant);
    cal.sessions_on(l.date()).iter().any(|s| s.contains(l.time()))
}

fn start_local(cal: &WorkCalendar, l: NaiveDateTime) -> Result<NaiveDateTime, ClockError> {
    let mut day = l.date();
    for _ in 0..=MAX_IDLE_DAYS {
        for s in cal.sessions_on(day) {
            let (a, b) = (day.and_time(s.start), day.and_time(s.end));
            if l < b {
                return Ok(a.max(l));
            }
        }
        day = next_day(day)?;
    }
    Err(ClockError::NoWorkingTime { from: l.date() })
}

/// When a clock for something received at `received` starts (计时起点): `received` itself if inside
/// a session, else the opening of the next session.
pub fn start_of_clock(cal: &WorkCalendar, received: DateTime<Utc>) -> Result<DateTime<Utc>, ClockError> {
    start_local(cal, to_local(received)).map(from_local)
}

/// Earliest local instant at which `rem` (> 0) of working time has elapsed since `s`.
fn add_local(cal: &WorkCalendar, s: NaiveDateTime, mut rem: Duration) -> Result<NaiveDateTime, ClockError> {
    if rem <= Duration::zero() {
        return Ok(s);
    }
    let mut day = s.date();
    let mut idle = 0;
    loop {
        let mut worked = false;
        for sess in cal.sessions_on(day) {
            let (a, b) = (day.and_time(sess.start), day.and_time(sess.end));
            let begin = a.max(s);
            if b <= begin {
                continue;
            }
            worked = true;
            let avail = b - begin;
            if rem <= avail {
                return Ok(begin + rem);
            }
            rem -= avail;
        }
        if worked {
            idle = 0;
        } else {
            idle += 1;
            if idle > MAX_IDLE_DAYS {
                return Err(ClockError::NoWorkingTime { from: s.date() });
            }
        }
        day = next_day(day)?;
    }
}

/// Exact working time in local `[a, b]`, `a <= b`.
fn between_local(cal: &WorkCalendar, a: NaiveDateTime, b: NaiveDateTime) -> Duration {
    let mut total = Duration::zero();
    let mut day = a.date();
    while day <= b.date() {
        for sess in cal.sessions_on(day) {
            let lo = day.and_time(sess.start).max(a);
            let hi = day.and_time(sess.end).min(b);
            if hi > lo {
                total += hi - lo;
            }
        }
        match day.succ_opt() {
            Some(d) => day = d,
            None => break,
        }
    }
    total
}

fn deadline(cal: &WorkCalendar, from: DateTime<Utc>, due: DateTime<Utc>) -> Deadline {
    Deadline {
        due,
        provisional: any_provisional(cal, to_local(from).date(), to_local(due).date()),
    }
}

/// The instant `dur` of working time after `start` (earliest such instant, see module docs).
pub fn add_working_time(
    cal: &WorkCalendar,
    start: DateTime<Utc>,
    dur: WorkingDuration,
) -> Result<Deadline, ClockError> {
    if dur.is_negative() {
        return Err(ClockError::NegativeDuration);
    }
    let due = from_local(add_local(cal, to_local(start), dur.to_chrono())?);
    Ok(deadline(cal, start, due))
}

/// `n` working hours (工作小时) after `start`.
pub fn add_working_hours(cal: &WorkCalendar, start: DateTime<Utc>, n: u32) -> Result<Deadline, ClockError> {
    add_working_time(cal, start, WorkingDuration::from_hours(i64::from(n)))
}

/// `n` working days (工作日) after `start`: the start is normalized with [`start_of_clock`], then
/// the same local time on the `n`-th following working day, or the first working instant after it.
pub fn add_working_days(cal: &WorkCalendar, start: DateTime<Utc>, n: u32) -> Result<Deadline, ClockError> {
    let s = start_local(cal, to_local(start))?;
    let mut day = s.date();
    let mut count = 0;
    let mut idle = 0;
    while count < n {
        day = next_day(day)?;
        if cal.is_working_day(day) {
            count += 1;
            idle = 0;
        } else {
            idle += 1;
            if idle > MAX_IDLE_DAYS {
                return Err(ClockError::NoWorkingTime { from: s.date() });
            }
        }
    }
    let due = from_local(start_local(cal, day.and_time(s.time()))?);
    Ok(deadline(cal, start, due))
}

/// Working time elapsed from `a` to `b` (已用工作时间); negative if `b < a` (antisymmetric).
pub fn working_time_between(cal: &WorkCalendar, a: DateTime<Utc>, b: DateTime<Utc>) -> WorkingDuration {
    if b < a {
        return -working_time_between(cal, b, a);
    }
    WorkingDuration::from_chrono(between_local(cal, to_local(a), to_local(b)))
}

/// Working time left from `now` until `due` (剩余工作时间); negative once overdue.
pub fn remaining(cal: &WorkCalendar, now: DateTime<Utc>, due: DateTime<Utc>) -> WorkingDuration {
    working_time_between(cal, now, due)
}

/// Merges pauses into disjoint intervals sorted by start; `None` end = open.
fn merge_pauses(pauses: &[Pause]) -> Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> {
    let mut list: Vec<_> = pauses
        .iter()
        .filter(|p| p.to.is_none_or(|t| t > p.from))
        .map(|p| (p.from, p.to))
        .collect();
    list.sort_by_key(|p| p.0);
    let mut merged: Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> = Vec::with_capacity(list.len());
    for (from, to) in list {
        match merged.last_mut() {
            Some((_, last_to)) if last_to.is_none_or(|t| from <= t) => {
                *last_to = match (*last_to, to) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    _ => None,
                };
            }
            _ => merged.push((from, to)),
        }
    }
    merged
}

/// Working time from `start` to `end` outside `pauses` (补正): the time a clock actually ran,
/// e.g. to answer or to complete an item (statistics' mean handling time).
pub fn working_time_with_pauses(
    cal: &WorkCalendar,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    pauses: &[Pause],
) -> WorkingDuration {
    if end <= start {
        return WorkingDuration::ZERO;
    }
    let paused: i64 = merge_pauses(pauses)
        .into_iter()
        .map(|(from, to)| (from.max(start), to.unwrap_or(end).min(end)))
        .filter(|(from, to)| from < to)
        .map(|(from, to)| working_time_between(cal, from, to).as_secs())
        .sum();
    WorkingDuration::from_secs(working_time_between(cal, start, end).as_secs() - paused)
}

/// A working-time clock of length `dur` from `start`, stopped during supplement periods (补正):
/// working time inside pauses does not count, so the deadline moves later by the working time
/// paused. If an open pause began before the clock ran out, the clock is [`DeadlineState::Paused`].
/// Pauses that begin after the deadline has passed change nothing.
pub fn deadline_with_pauses(
    cal: &WorkCalendar,
    start: DateTime<Utc>,
    dur: WorkingDuration,
    pauses: &[Pause],
) -> Result<DeadlineState, ClockError> {
    if dur.is_negative() {
        return Err(ClockError::NegativeDuration);
    }
    let mut cur = to_local(start);
    let mut rem = dur.to_chrono();
    for (from, to) in merge_pauses(pauses) {
        let (pf, pt) = (to_local(from), to.map(to_local));
        if pt.is_some_and(|t| t <= cur) {
            continue;
        }
        if pf > cur {
            let candidate = add_local(cal, cur, rem)?;
            if candidate <= pf {
                return Ok(DeadlineState::Running(deadline(
                    cal,
                    start,
                    from_local(candidate),
                )));
            }
            rem -= between_local(cal, cur, pf);
            cur = pf;
        }
        match pt {
            None => {
                return Ok(DeadlineState::Paused {
                    since: from_local(cur),
                    remaining: WorkingDuration::from_chrono(rem),
                })
            }
            Some(t) => cur = t,
        }
    }
    let due = from_local(add_local(cal, cur, rem)?);
    Ok(DeadlineState::Running(deadline(cal, start, due)))
}

/// Like [`deadline_with_pauses`] for a clock of `n` working days: the clock's length is the working
/// time of the unpaused `n`-day clock; pauses push it, and a result at a session's end is moved to
/// the next opening (a working-day deadline is always inside a session).
pub fn working_days_with_pauses(
    cal: &WorkCalendar,
    start: DateTime<Utc>,
    n: u32,
    pauses: &[Pause],
) -> Result<DeadlineState, ClockError> {
    let base = add_working_days(cal, start, n)?;
    if pauses.is_empty() {
        return Ok(DeadlineState::Running(base));
    }
    let s = start_of_clock(cal, start)?;
    let length = working_time_between(cal, s, base.due);
    match deadline_with_pauses(cal, s, length, pauses)? {
        DeadlineState::Running(d) => {
            let due = start_of_clock(cal, d.due)?;
            Ok(DeadlineState::Running(deadline(cal, start, due)))
        }
        paused => Ok(paused),
    }
}
