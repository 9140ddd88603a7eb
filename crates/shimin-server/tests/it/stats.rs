//! Statistics (R-STAT) on the real server: a history written at past instants through the
//! intake and push paths (so every step is decided by the domain), figures checked against a
//! table computed here independently (working minutes counted minute by minute over the test
//! calendar), late arrivals, a holiday, a supplement period, work passing between persons, a
//! calendar update, the permission matrix and bad periods.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use reqwest::{Method, StatusCode};
use shimin_domain::calendar::{builtin_calendar_data, from_local, to_local, YearSchedule};
use shimin_domain::role::Role;
use shimin_domain::stats::Dimension;
use shimin_protocol::{
    codes, paths, CalendarWire, Figures, Mutation, NewApplication, NewComplaint, NewEvaluation,
    NewReservation, Op, Slot, StatsReport, StatsScope,
};
use shimin_server::intake::{self, Intake};
use uuid::Uuid;

use shimin_server::demo::DEMO_PASSWORD;

use crate::support::*;

/// The test week: a Monday two or three weeks back (every step inside the 30 days a pushed
/// step may lie in the past, and done days before now), its Thursday a holiday.
fn base_monday() -> NaiveDate {
    let d = to_local(Utc::now()).date() - Duration::days(14);
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

/// Local wall-clock time `day_offset` days after the base Monday.
fn at(day_offset: i64, h: u32, m: u32) -> DateTime<Utc> {
    from_local(NaiveDateTime::new(
        base_monday() + Duration::days(day_offset),
        NaiveTime::from_hms_opt(h, m, 0).unwrap(),
    ))
}

fn holiday() -> NaiveDate {
    base_monday() + Duration::days(3)
}

/// The calendar data the test installs: the built-in one with the test week's years replaced
/// by schedules whose only holidays are `holidays` (national holidays near the week would make
/// the table below depend on the day the test runs).
fn test_calendar(version: u32, holidays: &[NaiveDate]) -> CalendarWire {
    let mut data = builtin_calendar_data();
    data.version = version;
    let first = base_monday();
    for year in [first.year(), (first + Duration::days(13)).year()] {
        data.years.retain(|y| y.year != year);
        data.years.push(YearSchedule {
            year,
            official: true,
            holidays: holidays.iter().copied().filter(|d| d.year() == year).collect(),
            makeup_workdays: vec![],
            source: "statistics test".into(),
        });
    }
    data.years.sort_by_key(|y| y.year);
    CalendarWire::from_data(&data)
}

/// Installs a calendar (as the sysadmin).
async fn put_calendar(sysadmin: &Session, wire: CalendarWire) {
    let req = sysadmin.req(Method::PUT, paths::ADMIN_CALENDAR).json(&wire);
    call::<serde_json::Value>(req).await.expect("calendar accepted");
}

/// Working minutes from `a` to `b`, counted minute by minute: office sessions 08:30–12:00 and
/// an afternoon of 14:30–17:30 from 1 May to 30 September, 13:30–17:30 otherwise, on weekdays
/// that are not `holidays`. Independent of the server's clock arithmetic on purpose.
fn working_minutes(a: DateTime<Utc>, b: DateTime<Utc>, holidays: &[NaiveDate]) -> i64 {
    let mut t = to_local(a);
    let end = to_local(b);
    let mut n = 0;
    while t < end {
        let day = t.date();
        let working_day = !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(&day);
        let minute = t.time().hour_minute();
        let summer = (5..=9).contains(&day.month());
        let afternoon = if summer { 14 * 60 + 30 } else { 13 * 60 + 30 };
        let in_session =
            (8 * 60 + 30..12 * 60).contains(&minute) || (afternoon..17 * 60 + 30).contains(&minute);
        if working_day && in_session {
            n += 1;
        }
        t += Duration::minutes(1);
    }
    n
}

trait HourMinute {
    fn hour_minute(&self) -> u32;
}

impl HourMinute for NaiveTime {
    fn hour_minute(&self) -> u32 {
        use chrono::Timelike;
        self.hour() * 60 + self.minute()
    }
}

/// A desk session that pushes steps at past instants, in order.
struct Desk {
    session: Session,
    seq: i64,
}

impl Desk {
    async fn act(&mut self, item: Uuid, op: Op, acted_at: DateTime<Utc>) {
        self.seq += 1;
        let m = Mutation {
            id: Uuid::new_v4(),
            seq: self.seq,
            item_id: item,
            acted_at,
            op,
        };
        let resp = self.session.push(vec![m]).await.expect("push");
        assert!(
            matches!(
                resp.results[0].outcome,
                shimin_protocol::MutationOutcome::Applied { .. }
            ),
            "{:?}",
            resp.results[0]
        );
    }
}

async fn stats(session: &Session, from: NaiveDate, to: NaiveDate) -> StatsReport {
    call(session.req(Method::GET, &format!("{}?from={from}&to={to}", paths::STATS)))
        .await
        .expect("stats")
}

/// What the table says about one dimension: (on time, late, overdue, running, mean minutes).
type Row = (u64, u64, u64, u64, Option<f64>);

fn row(f: &Figures, d: Dimension) -> Row {
    let x = f.dimension(d).expect("every dimension is reported");
    assert_eq!(x.count, x.on_time + x.late + x.overdue + x.running);
    (x.on_time, x.late, x.overdue, x.running, x.mean_working_minutes)
}

fn mean(minutes: &[i64]) -> Option<f64> {
    (!minutes.is_empty()).then(|| minutes.iter().sum::<i64>() as f64 / minutes.len() as f64)
}

struct History {
    unit: i64,
    clerk_a: i64,
    clerk_b: i64,
    net_admin: i64,
    /// The consultation answered offline on the first Monday, pushed late.
    late_push: Uuid,
    /// Minutes each met clock used, by the table's names.
    minutes: std::collections::HashMap<&'static str, i64>,
}

async fn consultation(ts: &TestServer, unit: i64, received: DateTime<Utc>) -> Uuid {
    let req = consultation_to(unit);
    create(ts, Intake::Consultation(req), received).await
}

async fn create(ts: &TestServer, intake: Intake, received: DateTime<Utc>) -> Uuid {
    intake::create_at(ts.server.state(), None, intake, received)
        .await
        .expect("intake")
        .id
}

/// A desk of the department's A (or B) clerk.
async fn desk(ts: &TestServer, unit_name: &str, ab: char) -> Desk {
    let clerk = ts.county.ab_clerk(unit_name, ab).expect("an A and a B clerk");
    Desk {
        session: ts.login(&clerk.username, DEMO_PASSWORD).await.expect("login"),
        seq: 0,
    }
}

/// Writes the history of the table below.
async fn write_history(ts: &TestServer, unit_name: &str) -> History {
    let unit = ts.unit_id(unit_name).await;
    let mut a = desk(ts, unit_name, 'A').await;
    let mut b = desk(ts, unit_name, 'B').await;
    let reply = || Op::ReplyConsultation {
        reply: "您好，请携带身份证。".into(),
    };
    let hol = [holiday()];
    let mut minutes = std::collections::HashMap::new();

    // C1: answered within the hour by A.
    let c1 = consultation(ts, unit, at(0, 9, 0)).await;
    a.act(c1, reply(), at(0, 10, 0)).await;
    minutes.insert("c1", working_minutes(at(0, 9, 0), at(0, 10, 0), &hol));
    // C2: received the day before the holiday, answered by B the day after it: in time only
    // because the holiday does not count.
    let c2 = consultation(ts, unit, at(2, 11, 0)).await;
    b.act(c2, reply(), at(4, 9, 0)).await;
    minutes.insert("c2", working_minutes(at(2, 11, 0), at(4, 9, 0), &hol));
    // C3: answered by A three days later: late.
    let c3 = consultation(ts, unit, at(1, 9, 0)).await;
    a.act(c3, reply(), at(4, 10, 0)).await;
    minutes.insert("c3", working_minutes(at(1, 9, 0), at(4, 10, 0), &hol));
    // C4: taken by A on the second Monday and never answered: overdue, held by A.
    let c4 = consultation(ts, unit, at(7, 9, 0)).await;
    a.act(c4, Op::Claim, at(7, 10, 0)).await;
    // C5: answered by B offline on the first Monday; the push arrives later (below).
    let late_push = consultation(ts, unit, at(0, 14, 0)).await;
    minutes.insert("c5", working_minutes(at(0, 14, 0), at(0, 15, 0), &hol));

    // Reservations: R1 accepted by A after 20 minutes, R2 by B after more than the hour.
    let matter = ts.matter_of(unit_name).await;
    let reservation = |received: DateTime<Utc>| NewReservation {
        matter_id: matter,
        applicant: applicant(),
        requested_slot: slot(received + Duration::days(1)),
        content: "预约".into(),
    };
    let r1 = create(ts, Intake::Reservation(reservation(at(0, 9, 0))), at(0, 9, 0)).await;
    a.act(
        r1,
        Op::AcceptReservation {
            slot: slot(at(1, 9, 0)),
        },
        at(0, 9, 20),
    )
    .await;
    minutes.insert("r1", 20);
    let r2 = create(ts, Intake::Reservation(reservation(at(1, 10, 0))), at(1, 10, 0)).await;
    b.act(
        r2,
        Op::AcceptReservation {
            slot: slot(at(2, 9, 0)),
        },
        at(1, 14, 45),
    )
    .await;
    minutes.insert("r2", working_minutes(at(1, 10, 0), at(1, 14, 45), &hol));

    // P1: pre-review by A with a supplement period (not counted), completed by B.
    let application = NewApplication {
        matter_id: matter,
        applicant: applicant(),
        content: String::new(),
        materials_provided: vec![],
    };
    let p1 = create(ts, Intake::Application(application.clone()), at(0, 9, 0)).await;
    a.act(
        p1,
        Op::RequestSupplement {
            missing: vec!["户口簿".into()],
            note: String::new(),
        },
        at(0, 10, 0),
    )
    .await;
    a.act(p1, Op::Resubmit { place: None }, at(1, 9, 0)).await;
    a.act(p1, Op::PassPreReview, at(1, 10, 0)).await;
    minutes.insert(
        "p1_pre",
        working_minutes(at(0, 9, 0), at(0, 10, 0), &hol) + working_minutes(at(1, 9, 0), at(1, 10, 0), &hol),
    );
    b.act(
        p1,
        Op::Advance {
            to: "completed".into(),
        },
        at(2, 9, 0),
    )
    .await;
    minutes.insert("p1_done", working_minutes(at(1, 10, 0), at(2, 9, 0), &hol));
    // P2: never pre-reviewed: overdue, held by nobody (counts for the unit only).
    create(ts, Intake::Application(application), at(2, 9, 0)).await;

    // K1: a complaint answered by the unit's net admin (网络专管员) the next day.
    let mut n = Desk {
        session: ts.login_as(Role::NetAdmin, Some(unit_name)).await,
        seq: 0,
    };
    let k1 = create(
        ts,
        Intake::Complaint(NewComplaint {
            unit_id: unit,
            applicant: applicant(),
            title: "投诉".into(),
            content: "窗口人员态度不好".into(),
        }),
        at(0, 11, 0),
    )
    .await;
    n.act(k1, Op::Claim, at(0, 11, 30)).await;
    n.act(
        k1,
        Op::ReplyComplaint {
            reply: "已核实并整改。".into(),
        },
        at(1, 11, 0),
    )
    .await;
    minutes.insert("k1", working_minutes(at(0, 11, 0), at(1, 11, 0), &hol));

    // Ratings: A's C1 five stars and C3 one (差评), B's C2 four.
    for (rated, stars) in [(c1, 5), (c3, 1), (c2, 4)] {
        let e = NewEvaluation {
            item_id: rated,
            rating: stars,
            content: String::new(),
        };
        create(ts, Intake::Evaluation(e), at(4, 12, 0)).await;
    }
    History {
        unit,
        clerk_a: a.session.user_id(),
        clerk_b: b.session.user_id(),
        net_admin: n.session.user_id(),
        late_push,
        minutes,
    }
}

fn slot(start: DateTime<Utc>) -> Slot {
    let s = to_local(start);
    Slot {
        start: s,
        end: s + Duration::minutes(30),
    }
}

#[tokio::test]
async fn figures_per_dimension_unit_and_person_match_an_independent_count() {
    let ts = start_empty_county().await;
    let sysadmin = ts.login_as(Role::Sysadmin, None).await;
    let version = builtin_calendar_data().version;
    put_calendar(&sysadmin, test_calendar(version + 1, &[holiday()])).await;
    let unit_name = ts.county.departments().next().unwrap().name;
    let h = write_history(&ts, unit_name).await;
    let (from, to) = (base_monday(), base_monday() + Duration::days(13));
    let leader = ts.login_as(Role::DeptLeader, Some(unit_name)).await;

    let m = |k: &str| h.minutes[k];
    // Before the offline desk's push arrives, its consultation is overdue and nobody's.
    let before = stats(&leader, from, to).await;
    assert_eq!(
        row(&before.total, Dimension::Consultation),
        (2, 1, 2, 0, mean(&[m("c1"), m("c2"), m("c3")]))
    );

    // A second desk of B's: its sequence numbers are its own.
    let mut b = desk(&ts, unit_name, 'B').await;
    b.act(
        h.late_push,
        Op::ReplyConsultation {
            reply: "您好，请携带身份证。".into(),
        },
        at(0, 15, 0),
    )
    .await;
    let report = stats(&leader, from, to).await;
    assert_eq!(report.scope, StatsScope::Unit);
    assert_eq!(report.rule_version, 1);

    // The table, computed here.
    let person = |id: i64| {
        &report
            .persons
            .iter()
            .find(|p| p.user_id == id)
            .unwrap_or_else(|| panic!("person {id} in the report"))
            .figures
    };
    let a = person(h.clerk_a);
    let bf = person(h.clerk_b);
    let n = person(h.net_admin);
    let table: Vec<(&str, &Figures, Dimension, Row)> = vec![
        (
            "A",
            a,
            Dimension::Consultation,
            (1, 1, 1, 0, mean(&[m("c1"), m("c3")])),
        ),
        ("A", a, Dimension::Reservation, (1, 0, 0, 0, mean(&[m("r1")]))),
        ("A", a, Dimension::Application, (1, 0, 0, 0, mean(&[m("p1_pre")]))),
        ("A", a, Dimension::TimeLimit, (0, 0, 0, 0, None)),
        ("A", a, Dimension::ComplaintHandling, (0, 0, 0, 0, None)),
        (
            "net admin",
            n,
            Dimension::ComplaintHandling,
            (1, 0, 0, 0, mean(&[m("k1")])),
        ),
        (
            "B",
            bf,
            Dimension::Consultation,
            (2, 0, 0, 0, mean(&[m("c2"), m("c5")])),
        ),
        ("B", bf, Dimension::Reservation, (0, 1, 0, 0, mean(&[m("r2")]))),
        ("B", bf, Dimension::Application, (0, 0, 0, 0, None)),
        ("B", bf, Dimension::TimeLimit, (1, 0, 0, 0, mean(&[m("p1_done")]))),
        (
            "unit",
            &report.total,
            Dimension::Consultation,
            (3, 1, 1, 0, mean(&[m("c1"), m("c2"), m("c3"), m("c5")])),
        ),
        (
            "unit",
            &report.total,
            Dimension::Application,
            (1, 0, 1, 0, mean(&[m("p1_pre")])),
        ),
        ("unit", &report.total, Dimension::Publishing, (0, 0, 0, 0, None)),
    ];
    for (who, figures, dimension, want) in &table {
        assert_eq!(row(figures, *dimension), *want, "{who} {dimension:?}");
    }
    // The holiday counted as no working time: C2 took less than a working day.
    assert!(m("c2") < 7 * 60, "{}", m("c2"));
    // The supplement period is not pre-review time.
    assert_eq!(m("p1_pre"), 120);

    // Ratings: A 5 + 1 (one 差评), B 4.
    assert_eq!(
        (a.ratings.count, a.ratings.bad, a.ratings.good_rate),
        (2, 1, Some(0.5))
    );
    assert_eq!(a.ratings.levels, [1, 0, 0, 0, 1]);
    assert_eq!((bf.ratings.count, bf.ratings.good_rate), (1, Some(1.0)));
    // Scores (rule 1: the mean of the rates there are) and ranks within the unit.
    let a_score = (1.0 / 3.0 + 1.0 + 1.0 + 0.5) / 4.0 * 100.0;
    let b_score = (1.0 + 0.0 + 1.0 + 1.0) / 4.0 * 100.0;
    assert_eq!(a.score, Some((a_score * 10.0_f64).round() / 10.0));
    assert_eq!(bf.score, Some(b_score));
    assert_eq!(n.score, Some(100.0));
    let ranks: Vec<_> = report.persons.iter().map(|p| (p.user_id, p.rank)).collect();
    assert_eq!(ranks, vec![(h.net_admin, 1), (h.clerk_b, 2), (h.clerk_a, 3)]);
    assert_eq!(report.units.len(), 1);
    assert_eq!(report.units[0].unit_id, h.unit);
    assert_eq!(report.units[0].figures, report.total);

    // A period that ends before the second week leaves C4 and P2 out; one after it is empty.
    let first_week = stats(&leader, from, from + Duration::days(6)).await;
    assert_eq!(
        row(&first_week.total, Dimension::Consultation),
        (
            3,
            1,
            0,
            0,
            report
                .total
                .dimension(Dimension::Consultation)
                .unwrap()
                .mean_working_minutes
        )
    );
    let later = stats(&leader, to + Duration::days(1), to + Duration::days(1)).await;
    assert!(later.total.dimensions.iter().all(|d| d.count == 0));

    // A calendar update (the holiday dropped) rejudges no clock already met.
    put_calendar(&sysadmin, test_calendar(version + 2, &[])).await;
    let after = stats(&leader, from, to).await;
    assert_eq!(after.total, report.total);
    assert_eq!(after.persons, report.persons);
}

#[tokio::test]
async fn each_role_reads_only_its_scope_and_bad_periods_are_refused() {
    let ts = start_empty_county().await;
    let sysadmin = ts.login_as(Role::Sysadmin, None).await;
    put_calendar(
        &sysadmin,
        test_calendar(builtin_calendar_data().version + 1, &[holiday()]),
    )
    .await;
    let mut departments = ts.county.departments();
    let unit_name = departments.next().unwrap().name;
    let other_name = departments.next().unwrap().name;
    let h = write_history(&ts, unit_name).await;
    let (from, to) = (base_monday(), base_monday() + Duration::days(13));

    let clerk_a = desk(&ts, unit_name, 'A').await.session;
    assert_eq!(clerk_a.user_id(), h.clerk_a);
    let own = stats(&clerk_a, from, to).await;
    assert_eq!(own.scope, StatsScope::Own);
    assert!(own.units.is_empty(), "a clerk sees no unit's figures");
    assert_eq!(
        own.persons.iter().map(|p| p.user_id).collect::<Vec<_>>(),
        vec![h.clerk_a]
    );
    assert_eq!(own.total, own.persons[0].figures);

    let leader = ts.login_as(Role::DeptLeader, Some(unit_name)).await;
    let unit = stats(&leader, from, to).await;
    assert_eq!(
        unit.units.iter().map(|u| u.unit_id).collect::<Vec<_>>(),
        vec![h.unit]
    );
    let mut persons: Vec<_> = unit.persons.iter().map(|p| p.user_id).collect();
    persons.sort();
    let mut want = vec![h.clerk_a, h.clerk_b, h.net_admin];
    want.sort();
    assert_eq!(persons, want);

    let other_leader = ts.login_as(Role::DeptLeader, Some(other_name)).await;
    let other = stats(&other_leader, from, to).await;
    assert!(other.persons.is_empty());
    assert!(
        other.total.dimensions.iter().all(|d| d.count == 0),
        "another unit's leader sees none of it"
    );
    let other_clerk = ts.login_as(Role::Clerk, Some(other_name)).await;
    assert!(stats(&other_clerk, from, to)
        .await
        .total
        .dimensions
        .iter()
        .all(|d| d.count == 0));

    for role in [Role::Manager, Role::CenterLeader, Role::Inspector] {
        let s = ts.login_as(role, None).await;
        let all = stats(&s, from, to).await;
        assert_eq!(all.scope, StatsScope::All, "{role:?}");
        let units = ts.county.units.len();
        assert_eq!(all.units.len(), units, "{role:?}: every unit listed");
        let ours = all.units.iter().find(|u| u.unit_id == h.unit).unwrap();
        assert_eq!(ours.figures, unit.total, "{role:?}");
        assert_eq!(ours.rank, 1, "the only unit with figures ranks first");
        // Figures, never a citizen.
        let text = serde_json::to_string(&all).unwrap();
        assert!(!text.contains(&applicant().name) && !text.contains(&applicant().phone));
    }

    for role in [Role::Agent, Role::Portal] {
        let unit = (role == Role::Agent).then(|| ts.county.townships().next().unwrap().name);
        let s = ts.login_as(role, unit).await;
        let f = fail(s.req(Method::GET, &format!("{}?from={from}&to={to}", paths::STATS))).await;
        assert_eq!(f.status, StatusCode::FORBIDDEN, "{role:?}");
    }
    let anonymous = fail(ts.req(Method::GET, &format!("{}?from={from}&to={to}", paths::STATS))).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    let bad = |q: String| {
        let req = leader.req(Method::GET, &format!("{}{q}", paths::STATS));
        async move { fail(req).await }
    };
    let reversed = bad(format!("?from={to}&to={from}")).await;
    assert_eq!(
        (reversed.status, reversed.error.code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, codes::INVALID_FIELD)
    );
    assert!(
        reversed.error.message.contains("结束日期早于开始日期"),
        "{}",
        reversed.error.message
    );
    let long = bad(format!("?from={from}&to={}", from + Duration::days(400))).await;
    assert!(long.error.message.contains("370"), "{}", long.error.message);
    let malformed = bad("?from=yesterday&to=today".into()).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
}
