//! Statistics (监督考核统计, R-STAT): `GET` [`crate::paths::STATS`] with a [`StatsQuery`]
//! answers the figures of the caller's scope for a period of local days ([`StatsReport`]):
//! per unit and per person, each of the eight dimensions with its counts, on-time rate and
//! mean working time, the ratings (好差评), and a score that names the rule version it used.
//! Figures carry no citizen's data.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shimin_domain::stats::Dimension;

/// Longest period one query covers, in days (a year and a bit: a quarterly or annual report).
pub const MAX_STATS_DAYS: i64 = 370;

/// The period, local (+08:00) days inclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsQuery {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Whose figures the report holds (the caller's scope).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatsScope {
    /// The caller's own.
    Own,
    /// The caller's unit's and its persons'.
    Unit,
    /// Every unit's.
    All,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// When the figures were judged (a clock still running past its deadline by then is
    /// overdue).
    pub generated_at: DateTime<Utc>,
    pub scope: StatsScope,
    /// The version of the score rule the scores used.
    pub rule_version: u32,
    /// Everything in the scope together.
    pub total: Figures,
    /// Units ranked by score (best first; units without a score last, by name).
    pub units: Vec<UnitFigures>,
    /// Persons ranked by score within their unit.
    pub persons: Vec<PersonFigures>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitFigures {
    pub unit_id: i64,
    pub unit_name: String,
    /// 1 for the best score of the report.
    pub rank: u32,
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonFigures {
    pub user_id: i64,
    pub display_name: String,
    pub unit_id: i64,
    /// 1 for the best score within the unit.
    pub rank: u32,
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Out of 100 (one decimal), by the report's rule; `None` without any figures.
    pub score: Option<f64>,
    /// One per dimension, in the order of the measures (§13).
    pub dimensions: Vec<DimensionFigures>,
    pub ratings: RatingFigures,
}

impl Figures {
    /// The figures of `dimension`.
    pub fn dimension(&self, dimension: Dimension) -> Option<&DimensionFigures> {
        self.dimensions.iter().find(|d| d.dimension == dimension)
    }
}

/// The clocks of one dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DimensionFigures {
    #[serde(with = "crate::coded")]
    pub dimension: Dimension,
    /// Every clock counted (started in the period).
    pub count: u64,
    pub on_time: u64,
    /// Met after the deadline.
    pub late: u64,
    /// Not met, past the deadline.
    pub overdue: u64,
    /// Not met, in time.
    pub running: u64,
    /// Share met in time of those judged (0..=1).
    pub on_time_rate: Option<f64>,
    /// Mean working time of the met clocks, in minutes (supplement periods excluded).
    pub mean_working_minutes: Option<f64>,
}

/// The ratings (好差评).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingFigures {
    /// Count per level, 非常满意 (5 stars) first.
    pub levels: [u64; 5],
    pub count: u64,
    /// 差评 counted (不满意, 非常不满意).
    pub bad: u64,
    /// Bad ratings an upheld appeal removed from the figures (still on record).
    pub excluded: u64,
    /// 好评率 (0..=1).
    pub good_rate: Option<f64>,
}
