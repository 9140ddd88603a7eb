//! The assessment board's command (考核统计, R-STAT): the server's figures of the user's scope
//! (a clerk's own, a leader's unit with its persons, the county for supervision roles) for a
//! reporting period so far, with the labels the board shows. Figures come from the server only:
//! offline the board says so.

use super::logged_in;
use crate::error::{CmdResult, DeskError};
use crate::state::Shared;
use crate::views::working_span;
use serde::{Deserialize, Serialize};
use shimin_domain::calendar::to_local;
use shimin_domain::stats::{Dimension, Period, Rating};
use shimin_protocol::{DimensionFigures, Figures, StatsReport, StatsScope};
use tauri::State;

#[derive(Debug, Deserialize)]
pub struct StatsReq {
    /// A [`Period`] code: `day`, `week`, `month`, `quarter`.
    period: String,
}

/// The board.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct StatsView {
    pub period: &'static str,
    /// "本月（2026-12-01 至 2026-12-06）".
    pub title: String,
    /// `own`, `unit` or `all`.
    pub scope: &'static str,
    pub scope_zh: &'static str,
    pub rule_version: u32,
    /// When the server judged the figures, local "HH:MM".
    pub generated_at: String,
    /// The eight dimensions in the measures' order, for the table's header.
    pub dimensions: Vec<DimensionHead>,
    pub total: FiguresView,
    /// Units ranked (supervision roles; a leader's one unit).
    pub units: Vec<RankedView>,
    /// Persons ranked within their unit.
    pub persons: Vec<RankedView>,
    /// The rating levels' names, best first.
    pub rating_levels: Vec<&'static str>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DimensionHead {
    pub code: &'static str,
    pub name: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RankedView {
    pub id: i64,
    pub name: String,
    /// A person's unit (the county's board ranks persons within their unit).
    pub unit_name: Option<String>,
    pub rank: u32,
    pub figures: FiguresView,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FiguresView {
    pub score: Option<f64>,
    /// "76.7" or "—".
    pub score_label: String,
    /// One per dimension, in the header's order.
    pub cells: Vec<CellView>,
    pub ratings: RatingsView,
}

/// One dimension's figures: for the clock dimensions the clocks (on-time rate); for 评议结果管理
/// the ratings (好评率).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CellView {
    pub dimension: &'static str,
    pub count: u64,
    pub on_time: u64,
    pub late: u64,
    pub overdue: u64,
    pub running: u64,
    /// 0..=1.
    pub rate: Option<f64>,
    /// "66.7%" or "—".
    pub rate_label: String,
    /// Mean working time of the met clocks, "1小时5分" or "—".
    pub mean_label: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RatingsView {
    /// Count per level, best first.
    pub levels: [u64; 5],
    pub count: u64,
    pub bad: u64,
    pub excluded: u64,
    pub good_rate_label: String,
}

/// The board for `req.period` so far (today by the server's clock).
#[tauri::command]
pub async fn stats_report(state: State<'_, Shared>, req: StatsReq) -> CmdResult<StatsView> {
    let desk = logged_in(&state).await?;
    let period =
        Period::from_code(&req.period).ok_or_else(|| DeskError::new("invalid_field", "未知的统计周期"))?;
    let today = to_local(desk.server_now()).date();
    let (from, to) = period.so_far(today);
    let report = desk.stats(from, to).await?;
    Ok(board(period, &report))
}

/// The board's view of a report.
pub fn board(period: Period, r: &StatsReport) -> StatsView {
    let ranked = |id: i64, name: &str, unit_name: Option<String>, rank: u32, f: &Figures| RankedView {
        id,
        name: name.to_owned(),
        unit_name,
        rank,
        figures: figures(f),
    };
    let unit_name = |id: i64| {
        r.units
            .iter()
            .find(|u| u.unit_id == id)
            .map(|u| u.unit_name.clone())
    };
    let (scope, scope_zh) = match r.scope {
        StatsScope::Own => ("own", "我的考核"),
        StatsScope::Unit => ("unit", "本单位考核"),
        StatsScope::All => ("all", "全县考核"),
    };
    StatsView {
        period: period.code(),
        title: format!("{}（{} 至 {}）", period.name_zh(), r.from, r.to),
        scope,
        scope_zh,
        rule_version: r.rule_version,
        generated_at: to_local(r.generated_at).format("%H:%M").to_string(),
        dimensions: Dimension::ALL
            .into_iter()
            .map(|d| DimensionHead {
                code: d.code(),
                name: d.name_zh(),
            })
            .collect(),
        total: figures(&r.total),
        units: r
            .units
            .iter()
            .map(|u| ranked(u.unit_id, &u.unit_name, None, u.rank, &u.figures))
            .collect(),
        persons: r
            .persons
            .iter()
            .map(|p| {
                ranked(
                    p.user_id,
                    &p.display_name,
                    unit_name(p.unit_id),
                    p.rank,
                    &p.figures,
                )
            })
            .collect(),
        rating_levels: Rating::ALL.into_iter().map(Rating::name_zh).collect(),
    }
}

fn figures(f: &Figures) -> FiguresView {
    FiguresView {
        score: f.score,
        score_label: f.score.map_or_else(|| "—".to_owned(), |s| format!("{s:.1}")),
        cells: f
            .dimensions
            .iter()
            .map(|d| match d.dimension {
                Dimension::Evaluation => CellView {
                    dimension: d.dimension.code(),
                    count: f.ratings.count,
                    on_time: f.ratings.count - f.ratings.bad,
                    late: f.ratings.bad,
                    overdue: 0,
                    running: 0,
                    rate: f.ratings.good_rate,
                    rate_label: percent(f.ratings.good_rate),
                    mean_label: "—".to_owned(),
                },
                _ => cell(d),
            })
            .collect(),
        ratings: RatingsView {
            levels: f.ratings.levels,
            count: f.ratings.count,
            bad: f.ratings.bad,
            excluded: f.ratings.excluded,
            good_rate_label: percent(f.ratings.good_rate),
        },
    }
}

fn cell(d: &DimensionFigures) -> CellView {
    CellView {
        dimension: d.dimension.code(),
        count: d.count,
        on_time: d.on_time,
        late: d.late,
        overdue: d.overdue,
        running: d.running,
        rate: d.on_time_rate,
        rate_label: percent(d.on_time_rate),
        mean_label: d
            .mean_working_minutes
            .map_or_else(|| "—".to_owned(), |m| working_span(m.round() as i64)),
    }
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone, Utc};
    use shimin_protocol::{PersonFigures, RatingFigures};

    fn figures_with(consultation: (u64, u64, u64), mean: Option<f64>, ratings: [u64; 5]) -> Figures {
        let count = ratings.iter().sum();
        let bad = ratings[3] + ratings[4];
        Figures {
            score: Some(76.66),
            dimensions: Dimension::ALL
                .into_iter()
                .map(|d| {
                    let (on_time, late, overdue) = if d == Dimension::Consultation {
                        consultation
                    } else {
                        (0, 0, 0)
                    };
                    let judged = on_time + late + overdue;
                    DimensionFigures {
                        dimension: d,
                        count: judged,
                        on_time,
                        late,
                        overdue,
                        running: 0,
                        on_time_rate: (judged > 0).then(|| on_time as f64 / judged as f64),
                        mean_working_minutes: if d == Dimension::Consultation { mean } else { None },
                    }
                })
                .collect(),
            ratings: RatingFigures {
                levels: ratings,
                count,
                bad,
                excluded: 0,
                good_rate: (count > 0).then(|| (count - bad) as f64 / count as f64),
            },
        }
    }

    #[test]
    fn the_board_labels_rates_means_scores_and_ratings() {
        let f = figures_with((1, 1, 1), Some(125.4), [1, 0, 0, 0, 1]);
        let report = StatsReport {
            from: NaiveDate::from_ymd_opt(2026, 12, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 12, 6).unwrap(),
            generated_at: Utc.with_ymd_and_hms(2026, 12, 6, 1, 5, 0).unwrap(),
            scope: StatsScope::Unit,
            rule_version: 1,
            total: f.clone(),
            units: vec![shimin_protocol::UnitFigures {
                unit_id: 1,
                unit_name: "县公安局".into(),
                rank: 1,
                figures: f.clone(),
            }],
            persons: vec![PersonFigures {
                user_id: 7,
                display_name: "张伟".into(),
                unit_id: 1,
                rank: 1,
                figures: f,
            }],
        };
        let v = board(Period::Month, &report);
        assert_eq!(v.title, "本月（2026-12-01 至 2026-12-06）");
        assert_eq!(
            (v.scope, v.scope_zh, v.generated_at.as_str()),
            ("unit", "本单位考核", "09:05")
        );
        assert_eq!(v.dimensions.len(), 8);
        assert_eq!(v.dimensions[1].name, "咨询业务办理");
        let consultation = &v.total.cells[1];
        assert_eq!(
            (consultation.rate_label.as_str(), consultation.mean_label.as_str()),
            ("33.3%", "2小时5分")
        );
        let evaluation = &v.total.cells[5];
        assert_eq!(
            (evaluation.count, evaluation.late, evaluation.rate_label.as_str()),
            (2, 1, "50.0%")
        );
        assert_eq!(v.total.cells[0].rate_label, "—");
        assert_eq!(v.total.score_label, "76.7");
        assert_eq!(v.persons[0].name, "张伟");
        assert_eq!(v.persons[0].unit_name.as_deref(), Some("县公安局"));
        assert_eq!(v.units[0].unit_name, None);
        assert_eq!(v.rating_levels[0], "非常满意");
    }
}
