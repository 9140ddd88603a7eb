//! Working-day calendar (工作日历, R-CAL): statutory holidays, make-up working days (调休),
//! office sessions by season and per-site overrides.
//!
//! Everything here is pure data and pure functions. The national schedule travels as
//! [`CalendarData`] (versioned; the server stores it, clients cache it); a site's office hours
//! and closures as [`SiteCalendar`]. [`WorkCalendar`] joins both, validated, and answers "is this
//! a working day" and "which sessions are open on this date". Clocks live in [`crate::clock`].
//!
//! Local time is China Standard Time (Asia/Shanghai), handled as the fixed offset UTC+08:00:
//! mainland China has observed no daylight-saving time since 1991, so a fixed offset is exact
//! for every date this product deals with and no time-zone database is needed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc, Weekday};

/// Offset of China Standard Time (北京时间) from UTC, in seconds (+08:00, no DST since 1991).
pub const CST_OFFSET_SECS: i64 = 8 * 3600;

/// Converts an instant to China Standard Time wall-clock time (fixed +08:00).
pub fn to_local(instant: DateTime<Utc>) -> NaiveDateTime {
    instant.naive_utc() + Duration::seconds(CST_OFFSET_SECS)
}

/// Converts a China Standard Time wall-clock time (fixed +08:00) to an instant.
/// Every local time exists exactly once (no DST), so this is total and the inverse of [`to_local`].
pub fn from_local(local: NaiveDateTime) -> DateTime<Utc> {
    Utc.from_utc_datetime(&(local - Duration::seconds(CST_OFFSET_SECS)))
}

/// Errors in calendar data or a site's calendar (invalid 日历数据).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The same year appears twice in [`CalendarData::years`].
    #[error("year {0} is listed more than once")]
    DuplicateYear(i32),
    /// A holiday or make-up day listed under a year it does not belong to.
    #[error("date {date} is listed under year {year}")]
    DateOutsideYear {
        /// The schedule's year.
        year: i32,
        /// The offending date.
        date: NaiveDate,
    },
    /// A date listed both as a holiday and as a make-up working day.
    #[error("date {0} is listed both as a holiday and as a make-up working day")]
    HolidayAndMakeup(NaiveDate),
    /// A make-up working day (调休上班) that is not a Saturday or Sunday.
    #[error("make-up working day {0} is not a Saturday or Sunday")]
    MakeupNotWeekend(NaiveDate),
    /// A session whose end is not after its start.
    #[error("session {0} does not end after it starts")]
    EmptySession(Session),
    /// Two sessions of the same day overlap.
    #[error("sessions {0} and {1} overlap")]
    OverlappingSessions(Session, Session),
    /// A season without any session.
    #[error("the {0} session plan has no session")]
    NoSessions(&'static str),
    /// A season start (month, day) that is not a calendar day.
    #[error("season start {month}-{day} is not a valid month and day")]
    InvalidSeasonStart {
        /// Month, 1–12.
        month: u32,
        /// Day of month.
        day: u32,
    },
    /// Summer and winter start on the same day.
    #[error("summer and winter cannot start on the same day")]
    SameSeasonStart,
    /// An extra session overlapping another session of its date.
    #[error("extra session {session} on {date} overlaps another session of that day")]
    ExtraSessionOverlap {
        /// The date of the extra session.
        date: NaiveDate,
        /// The extra session.
        session: Session,
    },
}

/// The official schedule of one year: holidays (放假) and make-up working days (调休上班).
///
/// Ordinary weekends are not listed. `official = false` marks a placeholder (e.g. a draft): such a
/// year is treated as provisional, i.e. weekends only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearSchedule {
    /// The calendar year.
    pub year: i32,
    /// Whether this is the State Council's published schedule (else provisional).
    pub official: bool,
    /// Days off (statutory holidays and the days moved to join them), weekdays or not.
    pub holidays: Vec<NaiveDate>,
    /// Saturdays/Sundays that are working days (调休).
    pub makeup_workdays: Vec<NaiveDate>,
    /// Where the schedule comes from (notice and its date, or a description).
    pub source: String,
}

/// The distributable national calendar data: versioned, stored by the server, cached by clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarData {
    /// Version of this data set; increases with each published change.
    pub version: u32,
    /// One schedule per known year.
    pub years: Vec<YearSchedule>,
}

impl CalendarData {
    /// The schedule of `year`, if present.
    pub fn year(&self, year: i32) -> Option<&YearSchedule> {
        self.years.iter().find(|y| y.year == year)
    }

    /// Checks the data: no duplicate years, every date in its year, no date both holiday and
    /// make-up, make-up days on weekends.
    pub fn validate(&self) -> Result<(), CalendarError> {
        let mut seen = BTreeSet::new();
        for y in &self.years {
            if !seen.insert(y.year) {
                return Err(CalendarError::DuplicateYear(y.year));
            }
            for &date in y.holidays.iter().chain(&y.makeup_workdays) {
                if date.year() != y.year {
                    return Err(CalendarError::DateOutsideYear { year: y.year, date });
                }
            }
            for &date in &y.makeup_workdays {
                if y.holidays.contains(&date) {
                    return Err(CalendarError::HolidayAndMakeup(date));
                }
                if !is_weekend(date) {
                    return Err(CalendarError::MakeupNotWeekend(date));
                }
            }
        }
        Ok(())
    }
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid built-in date")
}

fn days(y: i32, (m1, d1): (u32, u32), (m2, d2): (u32, u32)) -> impl Iterator<Item = NaiveDate> {
    let (first, last) = (ymd(y, m1, d1), ymd(y, m2, d2));
    first.iter_days().take_while(move |d| *d <= last)
}

/// The built-in national schedule (version 1): 2025 and 2026 as published by the State Council
/// General Office (see `reference/holidays-cn.md`). Later years are provisional until loaded.
pub fn builtin_calendar_data() -> CalendarData {
    let y2025 = YearSchedule {
        year: 2025,
        official: true,
        holidays: [
            ((1, 1), (1, 1)),   // 元旦
            ((1, 28), (2, 4)),  // 春节
            ((4, 4), (4, 6)),   // 清明节
            ((5, 1), (5, 5)),   // 劳动节
            ((5, 31), (6, 2)),  // 端午节
            ((10, 1), (10, 8)), // 国庆节、中秋节
        ]
        .into_iter()
        .flat_map(|(a, b)| days(2025, a, b))
        .collect(),
        makeup_workdays: vec![
            ymd(2025, 1, 26),
            ymd(2025, 2, 8),
            ymd(2025, 4, 27),
            ymd(2025, 9, 28),
            ymd(2025, 10, 11),
        ],
        source: "State Council General Office notice on 2025 holidays, 2024-11-12".to_owned(),
    };
    let y2026 = YearSchedule {
        year: 2026,
        official: true,
        holidays: [
            ((1, 1), (1, 3)),   // 元旦
            ((2, 15), (2, 23)), // 春节
            ((4, 4), (4, 6)),   // 清明节
            ((5, 1), (5, 5)),   // 劳动节
            ((6, 19), (6, 21)), // 端午节
            ((9, 25), (9, 27)), // 中秋节
            ((10, 1), (10, 7)), // 国庆节
        ]
        .into_iter()
        .flat_map(|(a, b)| days(2026, a, b))
        .collect(),
        makeup_workdays: vec![
            ymd(2026, 1, 4),
            ymd(2026, 2, 14),
            ymd(2026, 2, 28),
            ymd(2026, 5, 9),
            ymd(2026, 9, 20),
            ymd(2026, 10, 10),
        ],
        source: "State Council General Office notice on 2026 holidays, 2025-11-04".to_owned(),
    };
    CalendarData {
        version: 1,
        years: vec![y2025, y2026],
    }
}

/// One office session (办公时段) of a day, `[start, end)` in local time.
/// A session cannot run past midnight (`end` is at most 23:59:59).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Session {
    /// Opening time (inclusive).
    pub start: NaiveTime,
    /// Closing time (exclusive for "inside", but a deadline may fall exactly on it).
    pub end: NaiveTime,
}

impl Session {
    /// A session from hours and minutes, e.g. `Session::hm(8, 30, 12, 0)`.
    ///
    /// # Panics
    /// If a time is not a valid time of day; meant for constants and tests.
    pub fn hm(start_h: u32, start_m: u32, end_h: u32, end_m: u32) -> Session {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).expect("valid session time");
        Session {
            start: t(start_h, start_m),
            end: t(end_h, end_m),
        }
    }

    /// Whether `t` lies inside the session (`start <= t < end`).
    pub fn contains(&self, t: NaiveTime) -> bool {
        self.start <= t && t < self.end
    }

    /// Length of the session.
    pub fn length(&self) -> Duration {
        self.end - self.start
    }
}

impl fmt::Display for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}–{}",
            self.start.format("%H:%M:%S"),
            self.end.format("%H:%M:%S")
        )
    }
}

/// Seasonal office hours (作息时间): summer and winter sessions and the (month, day) each season
/// starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPlan {
    /// Sessions in summer (夏季作息).
    pub summer: Vec<Session>,
    /// Sessions in winter (冬季作息).
    pub winter: Vec<Session>,
    /// First (month, day) of summer.
    pub summer_from: (u32, u32),
    /// First (month, day) of winter.
    pub winter_from: (u32, u32),
}

impl Default for SessionPlan {
    /// Handan practice: summer 1 May–30 Sep 08:30–12:00 and 14:30–17:30; winter 1 Oct–30 Apr
    /// 08:30–12:00 and 13:30–17:30.
    fn default() -> Self {
        SessionPlan {
            summer: vec![Session::hm(8, 30, 12, 0), Session::hm(14, 30, 17, 30)],
            winter: vec![Session::hm(8, 30, 12, 0), Session::hm(13, 30, 17, 30)],
            summer_from: (5, 1),
            winter_from: (10, 1),
        }
    }
}

impl SessionPlan {
    /// Whether `date` falls in summer.
    pub fn is_summer(&self, date: NaiveDate) -> bool {
        let md = (date.month(), date.day());
        if self.summer_from < self.winter_from {
            self.summer_from <= md && md < self.winter_from
        } else {
            md >= self.summer_from || md < self.winter_from
        }
    }

    /// The regular sessions for `date`'s season (whether or not the date is a working day).
    pub fn sessions_for(&self, date: NaiveDate) -> &[Session] {
        if self.is_summer(date) {
            &self.summer
        } else {
            &self.winter
        }
    }

    /// Checks both seasons (non-empty, well-formed, non-overlapping sessions) and season starts.
    pub fn validate(&self) -> Result<(), CalendarError> {
        for (name, sessions) in [("summer", &self.summer), ("winter", &self.winter)] {
            if sessions.is_empty() {
                return Err(CalendarError::NoSessions(name));
            }
            check_sessions(sessions)?;
        }
        for (month, day) in [self.summer_from, self.winter_from] {
            // 2024 is a leap year, so 29 February is accepted.
            if NaiveDate::from_ymd_opt(2024, month, day).is_none() {
                return Err(CalendarError::InvalidSeasonStart { month, day });
            }
        }
        if self.summer_from == self.winter_from {
            return Err(CalendarError::SameSeasonStart);
        }
        Ok(())
    }
}

/// Checks that each session ends after it starts and that no two overlap (touching is allowed).
fn check_sessions(sessions: &[Session]) -> Result<(), CalendarError> {
    for s in sessions {
        if s.end <= s.start {
            return Err(CalendarError::EmptySession(*s));
        }
    }
    let mut sorted = sessions.to_vec();
    sorted.sort();
    for w in sorted.windows(2) {
        if w[1].start < w[0].end {
            return Err(CalendarError::OverlappingSessions(w[0], w[1]));
        }
    }
    Ok(())
}

/// A site's own calendar (网点日历): its office hours and its exceptions to the national schedule.
///
/// On a date listed in `closures` the regular sessions do not apply; sessions in
/// `extra_sessions` are then added for their date (also on weekends and holidays). A date that is
/// both closed and has extra sessions is therefore open exactly during those extra sessions.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SiteCalendar {
    /// Seasonal office hours.
    pub sessions: SessionPlan,
    /// Whole days the site is closed (闭厅) although they are national working days.
    pub closures: Vec<NaiveDate>,
    /// Extra working sessions on given dates (加班/延时服务), even on non-working days.
    pub extra_sessions: Vec<(NaiveDate, Session)>,
}

#[derive(Debug, Clone)]
struct YearIndex {
    official: bool,
    holidays: BTreeSet<NaiveDate>,
    makeups: BTreeSet<NaiveDate>,
}

/// A site's validated working calendar: national schedule plus the site's sessions and exceptions.
///
/// A year absent from the data, or present but not official, is *provisional* (暂定): weekends
/// are the only non-working days.
#[derive(Debug, Clone)]
pub struct WorkCalendar {
    version: u32,
    years: BTreeMap<i32, YearIndex>,
    site: SiteCalendar,
    closures: BTreeSet<NaiveDate>,
    extras: BTreeMap<NaiveDate, Vec<Session>>,
}

impl WorkCalendar {
    /// Builds and validates a calendar from national data and a site calendar.
    pub fn new(data: &CalendarData, site: SiteCalendar) -> Result<WorkCalendar, CalendarError> {
        data.validate()?;
        site.sessions.validate()?;
        let years = data
            .years
            .iter()
            .map(|y| {
                let index = YearIndex {
                    official: y.official,
                    holidays: y.holidays.iter().copied().collect(),
                    makeups: y.makeup_workdays.iter().copied().collect(),
                };
                (y.year, index)
            })
            .collect();
        let mut cal = WorkCalendar {
            version: data.version,
            years,
            closures: site.closures.iter().copied().collect(),
            extras: BTreeMap::new(),
            site,
        };
        let mut extras: BTreeMap<NaiveDate, Vec<Session>> = BTreeMap::new();
        for &(date, session) in &cal.site.extra_sessions {
            if session.end <= session.start {
                return Err(CalendarError::EmptySession(session));
            }
            extras.entry(date).or_default().push(session);
        }
        for (&date, list) in &mut extras {
            list.sort();
            let mut all = cal.regular_sessions(date).to_vec();
            for &session in list.iter() {
                if all.iter().any(|s| s.start < session.end && session.start < s.end) {
                    return Err(CalendarError::ExtraSessionOverlap { date, session });
                }
                all.push(session);
            }
        }
        cal.extras = extras;
        Ok(cal)
    }

    /// A calendar with the built-in national data and default (Handan) office hours.
    pub fn builtin() -> WorkCalendar {
        WorkCalendar::new(&builtin_calendar_data(), SiteCalendar::default())
            .expect("built-in calendar is valid")
    }

    /// Version of the national data this calendar was built from.
    pub fn data_version(&self) -> u32 {
        self.version
    }

    /// The site calendar this calendar was built with.
    pub fn site(&self) -> &SiteCalendar {
        &self.site
    }

    /// Whether `date` is a national working day (工作日): not a listed holiday, and a weekday or a
    /// make-up day (调休); in a provisional year simply Monday–Friday. Ignores site exceptions.
    pub fn is_national_working_day(&self, date: NaiveDate) -> bool {
        match self.years.get(&date.year()) {
            Some(y) if y.official => {
                !y.holidays.contains(&date) && (y.makeups.contains(&date) || !is_weekend(date))
            }
            _ => !is_weekend(date),
        }
    }

    /// Regular sessions of `date` after national schedule and site closures (no extras).
    fn regular_sessions(&self, date: NaiveDate) -> &[Session] {
        if self.closures.contains(&date) || !self.is_national_working_day(date) {
            &[]
        } else {
            self.site.sessions.sessions_for(date)
        }
    }

    /// Whether the site works on `date` (工作日), i.e. has at least one session that day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        !self.regular_sessions(date).is_empty() || self.extras.contains_key(&date)
    }

    /// The sessions open on `date`, in order; empty on a non-working day.
    pub fn sessions_on(&self, date: NaiveDate) -> Vec<Session> {
        let mut all = self.regular_sessions(date).to_vec();
        if let Some(extra) = self.extras.get(&date) {
            all.extend_from_slice(extra);
            all.sort();
        }
        all
    }

    /// The reservation slots (预约时段) of `length` on `date`: each session of the day cut
    /// into consecutive slots from its opening, a remainder shorter than `length` dropped, so
    /// that no slot reaches outside office hours; none on a non-working day.
    pub fn slots_on(&self, date: NaiveDate, length: Duration) -> Vec<(NaiveDateTime, NaiveDateTime)> {
        if length <= Duration::zero() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for s in self.sessions_on(date) {
            let mut start = date.and_time(s.start);
            let close = date.and_time(s.end);
            while start + length <= close {
                out.push((start, start + length));
                start += length;
            }
        }
        out
    }

    /// Whether `start..end` lies inside one session of its day (a reservation slot the
    /// office can keep).
    pub fn within_hours(&self, start: NaiveDateTime, end: NaiveDateTime) -> bool {
        start < end
            && start.date() == end.date()
            && self
                .sessions_on(start.date())
                .iter()
                .any(|s| s.start <= start.time() && end.time() <= s.end)
    }

    /// The first `n` working days from `from` on (`from` itself when it is one), looking at
    /// most a year ahead.
    pub fn working_days_from(&self, from: NaiveDate, n: usize) -> Vec<NaiveDate> {
        from.iter_days()
            .take(366)
            .filter(|d| self.is_working_day(*d))
            .take(n)
            .collect()
    }

    /// Whether `year` has no official schedule in the data (暂定: weekends only).
    pub fn is_provisional_year(&self, year: i32) -> bool {
        !self.years.get(&year).is_some_and(|y| y.official)
    }

    /// Whether `date` lies in a provisional year.
    pub fn is_provisional(&self, date: NaiveDate) -> bool {
        self.is_provisional_year(date.year())
    }

    /// The year whose missing official schedule should be shown as a warning on `today`:
    /// from 1 December on, next year if it is provisional; at any time, the current year if it is
    /// provisional (checked first).
    pub fn missing_next_year_warning(&self, today: NaiveDate) -> Option<i32> {
        let year = today.year();
        if self.is_provisional_year(year) {
            Some(year)
        } else if today.month() == 12 && self.is_provisional_year(year + 1) {
            Some(year + 1)
        } else {
            None
        }
    }
}
