//! Statistics (监督考核统计, R-STAT, measures §13, §28–§30).
//!
//! The figures are aggregates over a projection of the items' histories kept in the store
//! (`stat_clocks`, `stat_ratings`): [`project`] rewrites an item's rows whenever its history
//! changes (it runs inside [`crate::deadline::refresh`], the one place every change of an item
//! passes), so an offline desk's late push, a transfer or a supplement period is counted as it
//! happened; a calendar update rejudges the clocks still running and leaves the met ones as
//! they were judged. Every judgement (which clocks an item ran, its dimension, its deadline,
//! in time or not, the working time used, what a bad rating is, the score) is made by
//! `shimin_domain::stats`; here rows are written and figures put together.
//!
//! `GET STATS?from=&to=` ([`report`]) answers the figures of the caller's scope
//! (`shimin_domain::stats::stat_scope`): a clerk's own, a leader's unit with its persons,
//! supervision roles every unit, ranked by score.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Query, State};
use axum::Json;
use chrono::{DateTime, Utc};
use shimin_domain::calendar::{to_local, WorkCalendar};
use shimin_domain::item::ItemKind;
use shimin_domain::role::Scope;
use shimin_domain::stats::{
    clock_facts, stat_scope, verdict, ClockTally, Dimension, Rating, RatingTally, ScoreRule, Verdict,
};
use shimin_protocol::{
    DimensionFigures, Figures, ItemEvent, PersonFigures, RatingFigures, StatsQuery, StatsReport, StatsScope,
    UnitFigures, MAX_STATS_DAYS,
};

use crate::auth::AuthUser;
use crate::store::{
    FigureScope, StatClockGroup, StatClockRow, StatRatingGroup, StatRatingRow, StoredItem, Writes,
};
use crate::{Error, Result, SharedState};

/// Meta key recording which version of the projection the rows follow.
const PROJECTION_META: &str = "stats.projection";
/// Bumped when [`project`] writes different rows for the same history: the projection is then
/// rebuilt on the next start.
const PROJECTION_VERSION: &str = "1";
/// Items rebuilt per write transaction.
const REBUILD_BATCH: i64 = 500;

/// Rewrites the statistics rows of `item` from its history `events` (oldest first), inside the
/// caller's transaction. With `keep_met`, rows of clocks already met stay as judged.
pub async fn project(
    tx: &mut dyn Writes,
    cal: &WorkCalendar,
    item: &StoredItem,
    events: &[ItemEvent],
    promised_days: Option<u32>,
    keep_met: bool,
) -> Result<()> {
    if item.kind == ItemKind::Evaluation {
        return project_rating(tx, item).await;
    }
    let history = crate::deadline::transitions(events);
    let rows: Vec<StatClockRow> = clock_facts(cal, item.kind, item.received_at, &history, promised_days)
        .into_iter()
        .enumerate()
        .map(|(ordinal, fact)| {
            let met = fact.clock.met_at;
            // The person who met the duty (the actor of that entry); while it runs, the one
            // who holds the item.
            let person_id = match fact.clock.met_by {
                Some(index) => events.get(index).and_then(|e| e.actor_id),
                None => item.handler_id,
            };
            StatClockRow {
                item_id: item.id,
                ordinal: ordinal as i32,
                clock: fact.clock.kind,
                dimension: fact.dimension,
                unit_id: item.unit_id,
                person_id,
                day: fact.day,
                started_at: fact.clock.start,
                due_at: fact.due,
                met_at: met,
                in_time: met.map(|at| verdict(Some(at), fact.due, at) == Verdict::OnTime),
                used_secs: fact.used.map(|u| u.as_secs()),
            }
        })
        .collect();
    tx.put_stat_clocks(item.id, &rows, keep_met).await
}

/// The row of an evaluation: its rating, credited to the rated item's unit and handler.
async fn project_rating(tx: &mut dyn Writes, item: &StoredItem) -> Result<()> {
    let (Some(stars), Some(rated_id)) = (item.details.rating, item.details.rates_item) else {
        return Ok(());
    };
    let Some(rating) = Rating::from_stars(stars) else {
        return Ok(());
    };
    let person_id = tx.item(rated_id).await?.and_then(|rated| rated.handler_id);
    // An upheld appeal (申诉复核) takes the rating out of the figures; the rating stays on record.
    let excluded = tx.appeal_upheld(item.id).await?;
    tx.put_stat_rating(&StatRatingRow {
        item_id: item.id,
        rated_id,
        unit_id: item.unit_id,
        person_id,
        day: to_local(item.received_at).date(),
        rating,
        excluded,
    })
    .await
}

/// Builds the projection from every item's history when it was never built for this version
/// (a database from before statistics, a backup restored or moved: the rows are derived and
/// travel with neither). Returns the items projected.
pub async fn ensure_projection(state: &SharedState) -> Result<u64> {
    {
        let mut r = state.store.reader().await?;
        let built = r.meta(PROJECTION_META).await?.as_deref() == Some(PROJECTION_VERSION);
        if built && r.has_stat_clocks().await? {
            return Ok(0);
        }
    }
    let cal = state.calendar();
    let mut cursor = 0;
    let mut projected = 0u64;
    loop {
        let mut tx = state.store.write().await?;
        let items = tx.changed_items(Scope::AllMasked, cursor, REBUILD_BATCH).await?;
        let Some(last) = items.last() else {
            tx.set_meta(PROJECTION_META, PROJECTION_VERSION).await?;
            tx.commit().await?;
            break;
        };
        cursor = last.version;
        let ids: Vec<_> = items.iter().map(|i| i.id).collect();
        let mut histories = tx.events(&ids).await?;
        for item in &items {
            let events = histories.remove(&item.id).unwrap_or_default();
            let promised = crate::deadline::promised_days(&mut *tx, item.matter_id).await?;
            project(&mut *tx, &cal, item, &events, promised, false).await?;
        }
        tx.commit().await?;
        projected += items.len() as u64;
    }
    if projected > 0 {
        tracing::info!(items = projected, "statistics rebuilt from the items' histories");
    }
    Ok(projected)
}

/// `GET STATS?from=&to=`: the figures of the caller's scope for the local days `from..=to`.
pub async fn report(
    State(state): State<SharedState>,
    user: AuthUser,
    query: std::result::Result<Query<StatsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<StatsReport>> {
    let Query(q) = query.map_err(|e| Error::Malformed(e.body_text()))?;
    let scope = stat_scope(&user.actor()).ok_or(Error::Forbidden)?;
    check_period(&q)?;
    let now = Utc::now();
    let mut r = state.store.snapshot().await?;
    let clocks = r.stat_clocks(q.from, q.to, scope, now).await?;
    let ratings = r.stat_ratings(q.from, q.to, scope).await?;
    let units: HashMap<i64, String> = r
        .changed_units(0, i64::MAX)
        .await?
        .into_iter()
        .map(|u| (u.id, u.name))
        .collect();
    let persons: HashMap<i64, String> = r
        .changed_colleagues(0, None, i64::MAX)
        .await?
        .into_iter()
        .map(|p| (p.id, p.display_name))
        .collect();
    let names = Names { units, persons };
    Ok(Json(compose(
        &q,
        scope,
        now,
        &clocks,
        &ratings,
        &names,
        &ScoreRule::initial(),
    )))
}

fn check_period(q: &StatsQuery) -> Result<()> {
    if q.to < q.from {
        return Err(Error::invalid("to", "结束日期早于开始日期"));
    }
    if (q.to - q.from).num_days() >= MAX_STATS_DAYS {
        return Err(Error::invalid("to", format!("统计期间最长{MAX_STATS_DAYS}天")));
    }
    Ok(())
}

/// Display names of units and persons.
#[derive(Debug, Default)]
pub struct Names {
    pub units: HashMap<i64, String>,
    pub persons: HashMap<i64, String>,
}

/// Tallies of one unit or person.
#[derive(Debug, Default, Clone)]
struct Tallies {
    clocks: BTreeMap<Dimension, ClockTally>,
    ratings: RatingTally,
}

impl Tallies {
    fn merge(&mut self, other: &Tallies) {
        for (d, t) in &other.clocks {
            self.clocks.entry(*d).or_default().merge(t);
        }
        self.ratings.merge(&other.ratings);
    }

    fn figures(&self, rule: &ScoreRule) -> Figures {
        let clock = |d: Dimension| self.clocks.get(&d).copied().unwrap_or_default();
        let rate = |d: Dimension| match d {
            Dimension::Evaluation => self.ratings.good_rate(),
            d => clock(d).on_time_rate(),
        };
        Figures {
            score: rule.score(rate),
            dimensions: Dimension::ALL
                .into_iter()
                .map(|d| {
                    let t = clock(d);
                    DimensionFigures {
                        dimension: d,
                        count: t.count(),
                        on_time: t.on_time,
                        late: t.late,
                        overdue: t.overdue,
                        running: t.running,
                        on_time_rate: t.on_time_rate(),
                        mean_working_minutes: t.mean_used().map(|m| m.as_secs() as f64 / 60.0),
                    }
                })
                .collect(),
            ratings: RatingFigures {
                levels: self.ratings.levels,
                count: self.ratings.count(),
                bad: self.ratings.bad(),
                excluded: self.ratings.excluded,
                good_rate: self.ratings.good_rate(),
            },
        }
    }
}

/// The report from the store's groups: tallies per unit and per (unit, person), summed up,
/// scored and ranked.
pub fn compose(
    q: &StatsQuery,
    scope: FigureScope,
    now: DateTime<Utc>,
    clocks: &[StatClockGroup],
    ratings: &[StatRatingGroup],
    names: &Names,
    rule: &ScoreRule,
) -> StatsReport {
    let mut by_person: BTreeMap<(i64, Option<i64>), Tallies> = BTreeMap::new();
    for g in clocks {
        let t = by_person.entry((g.unit_id, g.person_id)).or_default();
        t.clocks.entry(g.dimension).or_default().merge(&g.tally);
    }
    for g in ratings {
        let t = by_person.entry((g.unit_id, g.person_id)).or_default();
        t.ratings.add(g.rating, g.excluded, g.count);
    }
    let mut by_unit: BTreeMap<i64, Tallies> = BTreeMap::new();
    // A unit's or the county's board lists every unit in scope, with or without figures.
    match scope {
        FigureScope::Unit(unit) => {
            by_unit.insert(unit, Tallies::default());
        }
        FigureScope::All => by_unit.extend(names.units.keys().map(|u| (*u, Tallies::default()))),
        FigureScope::Own(_) => {}
    }
    let mut total = Tallies::default();
    for ((unit, _), t) in &by_person {
        if !matches!(scope, FigureScope::Own(_)) {
            by_unit.entry(*unit).or_default().merge(t);
        }
        total.merge(t);
    }
    let unit_name = |id: i64| {
        names
            .units
            .get(&id)
            .cloned()
            .unwrap_or_else(|| format!("单位{id}"))
    };
    let mut units: Vec<UnitFigures> = by_unit
        .iter()
        .map(|(id, t)| UnitFigures {
            unit_id: *id,
            unit_name: unit_name(*id),
            rank: 0,
            figures: t.figures(rule),
        })
        .collect();
    rank(
        &mut units,
        |u| (u.figures.score, u.unit_name.clone()),
        |u, r| u.rank = r,
    );
    let mut persons: Vec<PersonFigures> = by_person
        .iter()
        .filter_map(|((unit, person), t)| {
            let id = (*person)?;
            Some(PersonFigures {
                user_id: id,
                display_name: names
                    .persons
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| format!("用户{id}")),
                unit_id: *unit,
                rank: 0,
                figures: t.figures(rule),
            })
        })
        .collect();
    persons.sort_by_key(|p| p.unit_id);
    for unit in persons.chunk_by_mut(|a, b| a.unit_id == b.unit_id) {
        rank(
            unit,
            |p| (p.figures.score, p.display_name.clone()),
            |p, r| p.rank = r,
        );
    }
    StatsReport {
        from: q.from,
        to: q.to,
        generated_at: now,
        scope: match scope {
            FigureScope::Own(_) => StatsScope::Own,
            FigureScope::Unit(_) => StatsScope::Unit,
            FigureScope::All => StatsScope::All,
        },
        rule_version: rule.version,
        total: total.figures(rule),
        units,
        persons,
    }
}

/// Sorts by score (best first; without a score last) then name, and numbers the ranks (equal
/// scores share one).
fn rank<T>(rows: &mut [T], key: impl Fn(&T) -> (Option<f64>, String), set: impl Fn(&mut T, u32)) {
    rows.sort_by(|a, b| {
        let (sa, na) = key(a);
        let (sb, nb) = key(b);
        let score = |s: Option<f64>| s.unwrap_or(f64::NEG_INFINITY);
        score(sb).total_cmp(&score(sa)).then(na.cmp(&nb))
    });
    let mut last: Option<(Option<f64>, u32)> = None;
    for (i, row) in rows.iter_mut().enumerate() {
        let score = key(row).0;
        let r = match last {
            Some((s, r)) if s == score => r,
            _ => i as u32 + 1,
        };
        set(row, r);
        last = Some((score, r));
    }
}
