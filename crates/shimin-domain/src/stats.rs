//! Statistics of supervision and assessment (监督考核统计, R-STAT, measures §13, §28–§30): the
//! eight measured dimensions, how each statutory clock of an item is judged, the rating levels
//! of 好差评 (R-EVA), the tallies the figures are made of, the versioned score rule and whose
//! figures a user may read. The server stores one row per judged clock and per rating and
//! aggregates them; every judgement is made here.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::calendar::{to_local, WorkCalendar};
use crate::clock::WorkingDuration;
use crate::item::ItemKind;
use crate::role::{Actor, FigureScope, Role};
use crate::statutory::{item_clocks, ClockKind, ItemClock, Transition};

/// The eight dimensions of §13 (八项考核内容).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    /// 信息发布管理: guide updates within 7 working days of a change notice (R-GDE).
    Publishing,
    /// 咨询业务办理: consultations answered within 1 working day.
    Consultation,
    /// 预约业务受理: reservations handled within 1 working hour.
    Reservation,
    /// 申办业务受理: pre-reviews within 1 working day.
    Application,
    /// 办件时限管理: items completed within the matter's promised limit.
    TimeLimit,
    /// 评议结果管理: ratings (好差评).
    Evaluation,
    /// 投诉业务办理: complaints answered within 3 working days.
    ComplaintHandling,
    /// 投诉结果管理: complaints upheld, satisfaction with the answer.
    ComplaintResults,
}

impl Dimension {
    /// Every dimension, in the order of §13.
    pub const ALL: [Dimension; 8] = [
        Dimension::Publishing,
        Dimension::Consultation,
        Dimension::Reservation,
        Dimension::Application,
        Dimension::TimeLimit,
        Dimension::Evaluation,
        Dimension::ComplaintHandling,
        Dimension::ComplaintResults,
    ];

    /// Stable code (storage, wire).
    pub fn code(self) -> &'static str {
        match self {
            Dimension::Publishing => "publishing",
            Dimension::Consultation => "consultation",
            Dimension::Reservation => "reservation",
            Dimension::Application => "application",
            Dimension::TimeLimit => "time_limit",
            Dimension::Evaluation => "evaluation",
            Dimension::ComplaintHandling => "complaint_handling",
            Dimension::ComplaintResults => "complaint_results",
        }
    }

    pub fn from_code(code: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.code() == code)
    }

    /// The name in the county's measures.
    pub fn name_zh(self) -> &'static str {
        match self {
            Dimension::Publishing => "信息发布管理",
            Dimension::Consultation => "咨询业务办理",
            Dimension::Reservation => "预约业务受理",
            Dimension::Application => "申办业务受理",
            Dimension::TimeLimit => "办件时限管理",
            Dimension::Evaluation => "评议结果管理",
            Dimension::ComplaintHandling => "投诉业务办理",
            Dimension::ComplaintResults => "投诉结果管理",
        }
    }

    /// The statutory clock whose timeliness this dimension measures, if any.
    pub fn clock(self) -> Option<ClockKind> {
        ClockKind::ALL.into_iter().find(|k| dimension_of(*k) == self)
    }
}

/// The dimension a statutory clock counts in.
pub fn dimension_of(clock: ClockKind) -> Dimension {
    match clock {
        ClockKind::Reservation => Dimension::Reservation,
        ClockKind::Consultation => Dimension::Consultation,
        ClockKind::PreReview => Dimension::Application,
        ClockKind::Completion => Dimension::TimeLimit,
        ClockKind::Complaint => Dimension::ComplaintHandling,
        ClockKind::GuideUpdate => Dimension::Publishing,
    }
}

/// How a clock stands when judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Duty met by the deadline (the deadline instant itself is in time).
    OnTime,
    /// Duty met after the deadline.
    Late,
    /// Still running past the deadline.
    Overdue,
    /// Still running, in time.
    Running,
}

impl Verdict {
    pub fn code(self) -> &'static str {
        match self {
            Verdict::OnTime => "on_time",
            Verdict::Late => "late",
            Verdict::Overdue => "overdue",
            Verdict::Running => "running",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Verdict::OnTime => "按时",
            Verdict::Late => "超时办结",
            Verdict::Overdue => "已超期未办",
            Verdict::Running => "办理中",
        }
    }
}

/// The verdict on a clock met at `met_at` (if it was) with deadline `due`, at `now`. A clock
/// without a deadline (stopped by a supplement period) is in time until it has one.
pub fn verdict(met_at: Option<DateTime<Utc>>, due: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Verdict {
    match (met_at, due) {
        (Some(met), Some(due)) if met > due => Verdict::Late,
        (Some(_), _) => Verdict::OnTime,
        (None, Some(due)) if now > due => Verdict::Overdue,
        (None, _) => Verdict::Running,
    }
}

/// One statutory clock of an item as statistics count it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClockFact {
    pub clock: ItemClock,
    pub dimension: Dimension,
    /// The local day the clock started: the period it counts in (items are counted in the
    /// period they arrived, 本期受理).
    pub day: NaiveDate,
    /// Its deadline by the calendar given (`None` while a supplement period stops it, or when
    /// no deadline can be computed).
    pub due: Option<DateTime<Utc>>,
    /// Working time used (supplement periods excluded) once met.
    pub used: Option<WorkingDuration>,
}

/// Every clock of an item with what statistics need of it: its dimension, day, deadline and
/// the working time it took.
pub fn clock_facts(
    cal: &WorkCalendar,
    kind: ItemKind,
    received: DateTime<Utc>,
    history: &[Transition],
    promised_days: Option<u32>,
) -> Vec<ClockFact> {
    item_clocks(kind, received, history)
        .into_iter()
        .map(|clock| ClockFact {
            dimension: dimension_of(clock.kind),
            day: to_local(clock.start).date(),
            due: clock
                .deadline(cal, promised_days)
                .ok()
                .and_then(|d| d.deadline())
                .map(|d| d.due),
            used: clock.met_at.map(|met| clock.used(cal, met)),
            clock,
        })
        .collect()
}

/// The five levels of an evaluation (好差评, GB/T 39734-2020).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rating {
    VeryDissatisfied = 1,
    Dissatisfied = 2,
    Basic = 3,
    Satisfied = 4,
    VerySatisfied = 5,
}

impl Rating {
    /// Best first, as the citizen sees them.
    pub const ALL: [Rating; 5] = [
        Rating::VerySatisfied,
        Rating::Satisfied,
        Rating::Basic,
        Rating::Dissatisfied,
        Rating::VeryDissatisfied,
    ];

    /// From the intake's 1–5 stars.
    pub fn from_stars(stars: u8) -> Option<Rating> {
        Rating::ALL.into_iter().find(|r| r.stars() == stars)
    }

    pub fn stars(self) -> u8 {
        self as u8
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Rating::VerySatisfied => "非常满意",
            Rating::Satisfied => "满意",
            Rating::Basic => "基本满意",
            Rating::Dissatisfied => "不满意",
            Rating::VeryDissatisfied => "非常不满意",
        }
    }

    /// A bad rating (差评): the two lowest levels; every one opens a follow-up.
    pub fn is_bad(self) -> bool {
        self <= Rating::Dissatisfied
    }
}

/// The clocks of one dimension for one unit or person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClockTally {
    pub on_time: u64,
    pub late: u64,
    pub overdue: u64,
    pub running: u64,
    /// Working seconds used by the met clocks, summed.
    pub used_secs: i64,
}

impl ClockTally {
    /// Adds one clock.
    pub fn add(&mut self, verdict: Verdict, used: Option<WorkingDuration>) {
        match verdict {
            Verdict::OnTime => self.on_time += 1,
            Verdict::Late => self.late += 1,
            Verdict::Overdue => self.overdue += 1,
            Verdict::Running => self.running += 1,
        }
        self.used_secs += used.map_or(0, WorkingDuration::as_secs);
    }

    /// Every clock counted.
    pub fn count(&self) -> u64 {
        self.on_time + self.late + self.overdue + self.running
    }

    /// The clocks whose duty was met.
    pub fn met(&self) -> u64 {
        self.on_time + self.late
    }

    /// Share met in time of those judged (met, or running past their deadline); `None` when
    /// none is judged yet.
    pub fn on_time_rate(&self) -> Option<f64> {
        let judged = self.on_time + self.late + self.overdue;
        (judged > 0).then(|| self.on_time as f64 / judged as f64)
    }

    /// Mean working time of the met clocks.
    pub fn mean_used(&self) -> Option<WorkingDuration> {
        let met = self.met() as i64;
        (met > 0).then(|| WorkingDuration::from_secs((self.used_secs as f64 / met as f64).round() as i64))
    }

    /// Sums two tallies (a unit of its persons, a county of its units).
    pub fn merge(&mut self, other: &ClockTally) {
        self.on_time += other.on_time;
        self.late += other.late;
        self.overdue += other.overdue;
        self.running += other.running;
        self.used_secs += other.used_secs;
    }
}

/// The ratings of one unit or person.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RatingTally {
    /// Count per level, in [`Rating::ALL`] order (非常满意 first), appeals upheld excluded.
    pub levels: [u64; 5],
    /// Bad ratings removed from the figures by an upheld appeal (申诉复核), still on record.
    pub excluded: u64,
    /// Finished items that could be rated (for 未评价率).
    pub rateable: u64,
}

impl RatingTally {
    /// Adds `n` ratings of one level (`excluded`: an upheld appeal removed them from the
    /// figures).
    pub fn add(&mut self, rating: Rating, excluded: bool, n: u64) {
        if excluded {
            self.excluded += n;
        } else if let Some(i) = Rating::ALL.iter().position(|r| *r == rating) {
            self.levels[i] += n;
        }
    }

    /// Ratings counted.
    pub fn count(&self) -> u64 {
        self.levels.iter().sum()
    }

    /// Bad ratings counted (差评).
    pub fn bad(&self) -> u64 {
        Rating::ALL
            .iter()
            .zip(self.levels)
            .filter(|(r, _)| r.is_bad())
            .map(|(_, n)| n)
            .sum()
    }

    /// 好评率: share of the counted ratings that are not bad.
    pub fn good_rate(&self) -> Option<f64> {
        let n = self.count();
        (n > 0).then(|| (n - self.bad()) as f64 / n as f64)
    }

    /// 未评价率: share of the rateable items nobody rated.
    pub fn unrated_rate(&self) -> Option<f64> {
        let rated = self.count() + self.excluded;
        (self.rateable > 0).then(|| self.rateable.saturating_sub(rated) as f64 / self.rateable as f64)
    }

    pub fn merge(&mut self, other: &RatingTally) {
        for (a, b) in self.levels.iter_mut().zip(other.levels) {
            *a += b;
        }
        self.excluded += other.excluded;
        self.rateable += other.rateable;
    }
}

/// How the dimensions weigh in a score (考核评分). Counties weigh differently, so the rule is
/// data with a version, and every score names the version it used.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreRule {
    pub version: u32,
    /// Weight per dimension (any non-negative numbers; a dimension without figures is left out
    /// and the others keep their proportions).
    pub weights: Vec<(Dimension, f64)>,
}

impl ScoreRule {
    /// The first rule: every dimension that has figures weighs the same.
    pub fn initial() -> ScoreRule {
        ScoreRule {
            version: 1,
            weights: Dimension::ALL.into_iter().map(|d| (d, 1.0)).collect(),
        }
    }

    /// The score out of 100 from each dimension's rate (0..=1; `None`: no figures): the
    /// weighted mean of the rates there are. `None` when no dimension has figures.
    pub fn score(&self, rate: impl Fn(Dimension) -> Option<f64>) -> Option<f64> {
        let (sum, weight) = self
            .weights
            .iter()
            .filter(|(_, w)| *w > 0.0)
            .filter_map(|(d, w)| rate(*d).map(|r| (r * w, *w)))
            .fold((0.0, 0.0), |(s, t), (r, w)| (s + r, t + w));
        (weight > 0.0).then(|| (sum / weight * 1000.0).round() / 10.0)
    }
}

/// A reporting period (统计周期, §30) of local days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// 日统计: the day.
    Day,
    /// 周通报: Monday to the day.
    Week,
    /// 月总结: the month to the day.
    Month,
    /// 季考核: the quarter to the day.
    Quarter,
}

impl Period {
    pub const ALL: [Period; 4] = [Period::Day, Period::Week, Period::Month, Period::Quarter];

    pub fn code(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::Quarter => "quarter",
        }
    }

    pub fn from_code(code: &str) -> Option<Period> {
        Period::ALL.into_iter().find(|p| p.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Period::Day => "今日",
            Period::Week => "本周",
            Period::Month => "本月",
            Period::Quarter => "本季度",
        }
    }

    /// The first day of the period holding `day`, and `day` itself (figures so far).
    pub fn so_far(self, day: NaiveDate) -> (NaiveDate, NaiveDate) {
        let first = match self {
            Period::Day => day,
            Period::Week => day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday())),
            Period::Month => day.with_day(1).unwrap_or(day),
            Period::Quarter => {
                let month = (day.month() - 1) / 3 * 3 + 1;
                NaiveDate::from_ymd_opt(day.year(), month, 1).unwrap_or(day)
            }
        };
        (first, day)
    }
}

/// Whose statistics `actor` may read (R-STAT): a unit's leader the unit's (and its persons'),
/// supervision roles every unit's, those who handle items at a unit only their own; agents and
/// the portal none (`None`).
pub fn stat_scope(actor: &Actor) -> Option<FigureScope> {
    match (actor.role, actor.unit_id) {
        (Role::DeptLeader, Some(unit)) => Some(FigureScope::Unit(unit)),
        (r, _) if r.is_supervision() => Some(FigureScope::All),
        (r, Some(_)) if r.is_unit_office() => Some(FigureScope::Own(actor.user_id)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, 0, 0).unwrap()
    }

    #[test]
    fn verdicts() {
        let cases = [
            (Some(t(3)), Some(t(3)), t(9), Verdict::OnTime),
            (Some(t(4)), Some(t(3)), t(9), Verdict::Late),
            (None, Some(t(3)), t(3), Verdict::Running),
            (None, Some(t(3)), t(4), Verdict::Overdue),
            (None, None, t(9), Verdict::Running),
            (Some(t(4)), None, t(9), Verdict::OnTime),
        ];
        for (met, due, now, want) in cases {
            assert_eq!(verdict(met, due, now), want, "{met:?} {due:?} {now:?}");
        }
    }

    #[test]
    fn every_clock_has_its_dimension_and_back() {
        for k in ClockKind::ALL {
            assert_eq!(dimension_of(k).clock(), Some(k));
        }
        assert_eq!(Dimension::Evaluation.clock(), None);
        for d in Dimension::ALL {
            assert_eq!(Dimension::from_code(d.code()), Some(d));
        }
    }

    #[test]
    fn ratings_tally_good_bad_and_unrated() {
        let mut r = RatingTally {
            rateable: 10,
            ..RatingTally::default()
        };
        for stars in [5, 5, 4, 3, 2, 1] {
            r.add(Rating::from_stars(stars).unwrap(), false, 1);
        }
        r.add(Rating::VeryDissatisfied, true, 1);
        assert_eq!((r.count(), r.bad(), r.excluded), (6, 2, 1));
        assert_eq!(r.good_rate(), Some(4.0 / 6.0));
        assert_eq!(r.unrated_rate(), Some(0.3));
        assert_eq!(Rating::from_stars(0), None);
        assert!(Rating::Dissatisfied.is_bad() && !Rating::Basic.is_bad());
    }

    #[test]
    fn clock_tally_rates_and_means() {
        let mut c = ClockTally::default();
        c.add(Verdict::OnTime, Some(WorkingDuration::from_minutes(30)));
        c.add(Verdict::Late, Some(WorkingDuration::from_minutes(90)));
        c.add(Verdict::Overdue, None);
        c.add(Verdict::Running, None);
        assert_eq!((c.count(), c.met()), (4, 2));
        assert_eq!(c.on_time_rate(), Some(1.0 / 3.0));
        assert_eq!(c.mean_used(), Some(WorkingDuration::from_minutes(60)));
        assert_eq!(ClockTally::default().on_time_rate(), None);
    }

    #[test]
    fn score_is_the_weighted_mean_of_the_rates_there_are() {
        let rule = ScoreRule {
            version: 2,
            weights: vec![(Dimension::Consultation, 3.0), (Dimension::Reservation, 1.0)],
        };
        let rate = |d| match d {
            Dimension::Consultation => Some(1.0),
            Dimension::Reservation => Some(0.5),
            _ => None,
        };
        assert_eq!(rule.score(rate), Some(87.5));
        assert_eq!(rule.score(|_| None), None);
        assert_eq!(ScoreRule::initial().score(rate), Some(75.0));
    }

    #[test]
    fn periods_so_far() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        // Sunday 6 December 2026.
        let cases = [
            (Period::Day, d(12, 6)),
            (Period::Week, d(11, 30)),
            (Period::Month, d(12, 1)),
            (Period::Quarter, d(10, 1)),
        ];
        for (p, first) in cases {
            assert_eq!(p.so_far(d(12, 6)), (first, d(12, 6)), "{p:?}");
            assert_eq!(Period::from_code(p.code()), Some(p));
        }
        assert_eq!(Period::Quarter.so_far(d(3, 31)).0, d(1, 1));
        assert_eq!(Period::Week.so_far(d(11, 30)).0, d(11, 30));
    }

    #[test]
    fn who_reads_whose_figures() {
        let actor = |role, unit| Actor {
            user_id: 7,
            role,
            unit_id: unit,
        };
        let cases = [
            (Role::Clerk, Some(3), Some(FigureScope::Own(7))),
            (Role::NetAdmin, Some(3), Some(FigureScope::Own(7))),
            (Role::DeptLeader, Some(3), Some(FigureScope::Unit(3))),
            (Role::DeptLeader, None, None),
            (Role::Clerk, None, None),
            (Role::Manager, None, Some(FigureScope::All)),
            (Role::CenterLeader, None, Some(FigureScope::All)),
            (Role::Inspector, None, Some(FigureScope::All)),
            (Role::Agent, Some(3), None),
            (Role::Portal, None, None),
        ];
        for (role, unit, want) in cases {
            assert_eq!(stat_scope(&actor(role, unit)), want, "{role:?}");
        }
    }
}
