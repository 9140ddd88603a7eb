//! Statutory clocks: start, working hours and days, elapsed time, pauses, statutory table.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use proptest::prelude::*;
use shimin_domain::calendar::{builtin_calendar_data, from_local, to_local, SiteCalendar, WorkCalendar};
use shimin_domain::clock::{
    add_working_days, add_working_hours, add_working_time, deadline_with_pauses, is_working_instant,
    remaining, start_of_clock, working_days_with_pauses, working_time_between, ClockError, Deadline,
    DeadlineState, Pause, WorkingDuration,
};
use shimin_domain::statutory::{deadline_for, rule, warning_points, ClockKind, Limit};

/// A local (CST) wall-clock time, "YYYY-MM-DD HH:MM[:SS]".
pub fn t(s: &str) -> DateTime<Utc> {
    let fmt = if s.len() > 16 {
        "%Y-%m-%d %H:%M:%S"
    } else {
        "%Y-%m-%d %H:%M"
    };
    from_local(NaiveDateTime::parse_from_str(s, fmt).expect("test time"))
}

/// Local rendering "YYYY-MM-DD HH:MM" (seconds added when not zero).
pub fn show(i: DateTime<Utc>) -> String {
    let l = to_local(i);
    if l.format("%S").to_string() == "00" {
        l.format("%Y-%m-%d %H:%M").to_string()
    } else {
        l.format("%Y-%m-%d %H:%M:%S").to_string()
    }
}

fn cal() -> WorkCalendar {
    WorkCalendar::builtin()
}

fn min(m: i64) -> WorkingDuration {
    WorkingDuration::from_minutes(m)
}

#[test]
fn clock_start() {
    let cal = cal();
    let check = |received: &str, expected: &str| {
        assert_eq!(
            show(start_of_clock(&cal, t(received)).unwrap()),
            expected,
            "start_of_clock({received})"
        );
    };
    let table = [
        // inside a session: at once
        ("2026-03-02 10:00", "2026-03-02 10:00"),
        ("2026-03-02 08:30", "2026-03-02 08:30"),
        ("2026-03-02 17:29:59", "2026-03-02 17:29:59"),
        // before opening, lunch break (winter / summer), exactly at a session's end, evening
        ("2026-03-02 07:00", "2026-03-02 08:30"),
        ("2026-03-02 12:00", "2026-03-02 13:30"),
        ("2026-03-02 12:10", "2026-03-02 13:30"),
        ("2026-07-01 12:10", "2026-07-01 14:30"),
        ("2026-07-01 14:00", "2026-07-01 14:30"),
        ("2026-03-02 17:30", "2026-03-03 08:30"),
        ("2026-03-02 23:59", "2026-03-03 08:30"),
        // night and weekend
        ("2026-03-06 19:00", "2026-03-09 08:30"),
        ("2026-03-07 10:00", "2026-03-09 08:30"),
        // holidays
        ("2026-02-15 10:00", "2026-02-24 08:30"),
        ("2026-02-13 18:00", "2026-02-14 08:30"), // make-up Saturday
        ("2026-10-01 09:00", "2026-10-08 08:30"),
        ("2025-10-01 09:00", "2025-10-09 08:30"),
        ("2025-01-25 10:00", "2025-01-26 08:30"), // make-up Sunday
        // year boundary: 1–3 Jan 2026 off, Sun 4 Jan make-up
        ("2025-12-31 18:00", "2026-01-04 08:30"),
        ("2026-01-03 20:00", "2026-01-04 08:30"),
        // into provisional 2027 (weekends only: Fri 1 Jan works)
        ("2026-12-31 18:00", "2027-01-01 08:30"),
    ];
    for (received, expected) in table {
        check(received, expected);
    }
}

#[test]
fn working_hours() {
    let cal = cal();
    let check = |start: &str, hours: u32, expected: &str| {
        let d = add_working_hours(&cal, t(start), hours).unwrap();
        assert_eq!(show(d.due), expected, "{start} + {hours} h");
    };
    let table = [
        // DOMAIN.md: received 12:10 → clock starts 13:30 → due 14:30 (winter)
        ("2026-03-02 12:10", 1, "2026-03-02 14:30"),
        // 16:40 + 1 h: 50 min to 17:30, 10 min next morning → 08:40 (DOMAIN.md's "17:30 + 10 min")
        ("2026-03-02 16:40", 1, "2026-03-03 08:40"),
        // 16:50 + 1 h: only 40 min before closing, 20 min next morning
        ("2026-03-02 16:50", 1, "2026-03-03 08:50"),
        // exactly exhausting a session stays at its end
        ("2026-03-02 16:30", 1, "2026-03-02 17:30"),
        ("2026-03-02 11:00", 1, "2026-03-02 12:00"),
        // across the lunch break, winter and summer
        ("2026-03-02 11:30", 1, "2026-03-02 14:00"),
        ("2026-07-01 11:30", 1, "2026-07-01 15:00"),
        ("2026-07-01 12:10", 1, "2026-07-01 15:30"),
        // night, weekend, holiday arrivals
        ("2026-03-02 21:00", 1, "2026-03-03 09:30"),
        ("2026-03-07 10:00", 1, "2026-03-09 09:30"),
        ("2026-04-04 10:00", 1, "2026-04-07 09:30"),
        // into a holiday block, over a season switch
        ("2026-02-13 17:00", 1, "2026-02-14 09:00"), // make-up Saturday
        ("2026-02-14 17:00", 1, "2026-02-24 09:00"),
        ("2025-04-30 17:00", 1, "2025-05-06 09:00"), // winter → summer
        ("2026-04-30 17:00", 1, "2026-05-06 09:00"),
        ("2025-09-30 17:00", 1, "2025-10-09 09:00"), // summer → winter
        ("2026-09-30 17:00", 1, "2026-10-08 09:00"),
        ("2025-09-26 17:00", 1, "2025-09-28 09:00"), // make-up Sunday
        // year boundary
        ("2025-12-31 17:00", 1, "2026-01-04 09:00"),
        // multi-hour: 7.5 h winter day, 6.5 h summer day
        ("2026-03-02 08:30", 7, "2026-03-02 17:00"),
        ("2026-03-02 08:30", 8, "2026-03-03 09:00"),
        ("2026-07-01 08:30", 7, "2026-07-02 09:00"),
        // zero hours: the start itself
        ("2026-03-02 10:00", 0, "2026-03-02 10:00"),
    ];
    for (start, hours, expected) in table {
        check(start, hours, expected);
    }
}

#[test]
fn working_days() {
    let cal = cal();
    let check = |start: &str, n: u32, expected: &str, provisional: bool| {
        let d = add_working_days(&cal, t(start), n).unwrap();
        assert_eq!(
            (show(d.due).as_str(), d.provisional),
            (expected, provisional),
            "{start} + {n} d"
        );
    };
    let table = [
        // DOMAIN.md: consultation Fri 2026-04-03 10:00, 4–6 April off → Tue 10:00
        ("2026-04-03 10:00", 1, "2026-04-07 10:00", false),
        ("2026-03-02 10:00", 1, "2026-03-03 10:00", false),
        ("2026-03-06 10:00", 1, "2026-03-09 10:00", false),
        // start normalized first: evening → next opening, weekend → Monday opening
        ("2026-03-02 19:00", 1, "2026-03-04 08:30", false),
        ("2026-03-07 10:00", 1, "2026-03-10 08:30", false),
        ("2026-03-02 12:10", 1, "2026-03-03 13:30", false),
        // holiday blocks and make-up days
        ("2025-01-27 10:00", 1, "2025-02-05 10:00", false),
        ("2025-01-24 10:00", 1, "2025-01-26 10:00", false),
        ("2025-02-07 10:00", 1, "2025-02-08 10:00", false),
        ("2025-05-30 10:00", 1, "2025-06-03 10:00", false),
        ("2026-06-18 10:00", 1, "2026-06-22 10:00", false),
        ("2026-09-18 10:00", 1, "2026-09-20 10:00", false),
        ("2026-09-24 10:00", 1, "2026-09-28 10:00", false),
        ("2026-05-08 10:00", 1, "2026-05-09 10:00", false),
        // complaint 3 days over National Day: 8 Oct, 9 Oct, Sat 10 Oct (make-up)
        ("2026-09-30 10:00", 3, "2026-10-10 10:00", false),
        ("2025-09-30 10:00", 3, "2025-10-11 10:00", false),
        // guide update 7 days over Spring Festival 2026: 11,12,13,14(make-up),24,25,26 Feb
        ("2026-02-10 09:00", 7, "2026-02-26 09:00", false),
        // season switch moves the time of day out of a session: 13:45 is summer lunch → 14:30
        ("2026-04-30 13:45", 1, "2026-05-06 14:30", false),
        ("2025-04-30 13:45", 1, "2025-05-06 14:30", false),
        // year boundary
        ("2025-12-31 10:00", 1, "2026-01-04 10:00", false),
        ("2026-12-30 10:00", 1, "2026-12-31 10:00", false),
        // into 2027: provisional
        ("2026-12-31 10:00", 1, "2027-01-01 10:00", true),
        ("2026-12-28 10:00", 7, "2027-01-06 10:00", true),
        // zero days: the clock start
        ("2026-03-02 19:00", 0, "2026-03-03 08:30", false),
    ];
    for (start, n, expected, provisional) in table {
        check(start, n, expected, provisional);
    }
}

#[test]
fn elapsed_and_remaining() {
    let cal = cal();
    let check = |a: &str, b: &str, expected_min: i64| {
        assert_eq!(
            working_time_between(&cal, t(a), t(b)),
            min(expected_min),
            "{a} → {b}"
        );
        assert_eq!(
            working_time_between(&cal, t(b), t(a)),
            min(-expected_min),
            "{b} → {a}"
        );
    };
    let table = [
        ("2026-03-02 10:00", "2026-03-02 10:00", 0),
        ("2026-03-02 10:00", "2026-03-02 11:00", 60),
        ("2026-03-02 11:30", "2026-03-02 14:00", 60),
        ("2026-03-02 12:00", "2026-03-02 13:30", 0),
        ("2026-03-02 16:50", "2026-03-03 08:50", 60),
        ("2026-03-02 08:30", "2026-03-03 08:30", 450),
        ("2026-07-01 08:30", "2026-07-02 08:30", 390),
        ("2026-03-06 17:00", "2026-03-09 09:00", 60),
        ("2026-04-03 10:00", "2026-04-07 10:00", 450),
        ("2026-02-13 17:00", "2026-02-24 09:00", 30 + 450 + 30),
    ];
    for (a, b, expected) in table {
        check(a, b, expected);
    }
    // remaining is negative once overdue
    let due = t("2026-03-03 08:50");
    assert_eq!(remaining(&cal, t("2026-03-02 17:00"), due), min(50));
    assert_eq!(remaining(&cal, t("2026-03-03 09:00"), due), min(-10));
    assert_eq!(format!("{}", min(-10)), "-0:10:00");
    assert_eq!(format!("{}", WorkingDuration::from_secs(3725)), "1:02:05");
}

#[test]
fn pauses_push_the_deadline() {
    let cal = cal();
    let p = |from: &str, to: Option<&str>| Pause {
        from: t(from),
        to: to.map(t),
    };
    let check = |start: &str, dur: i64, pauses: Vec<Pause>, expected: &str| {
        let state = deadline_with_pauses(&cal, t(start), min(dur), &pauses).unwrap();
        let got = match state {
            DeadlineState::Running(d) => show(d.due),
            DeadlineState::Paused { since, remaining } => {
                format!("paused since {} with {remaining}", show(since))
            }
        };
        assert_eq!(got, expected, "{start} + {dur} min, {pauses:?}");
    };
    let table = [
        ("2026-03-02 10:00", 60, vec![], "2026-03-02 11:00"),
        // 30 working minutes paused → 30 later
        (
            "2026-03-02 10:00",
            60,
            vec![p("2026-03-02 10:15", Some("2026-03-02 10:45"))],
            "2026-03-02 11:30",
        ),
        // pause over the lunch break only: no working time paused
        (
            "2026-03-02 11:00",
            120,
            vec![p("2026-03-02 12:00", Some("2026-03-02 13:30"))],
            "2026-03-02 14:30",
        ),
        // pause spanning the evening: 30 min + 30 min of working time paused
        (
            "2026-03-02 16:30",
            60,
            vec![p("2026-03-02 17:00", Some("2026-03-03 09:00"))],
            "2026-03-03 09:30",
        ),
        // a deadline reached exactly when a pause begins is not pushed
        (
            "2026-03-02 16:00",
            60,
            vec![p("2026-03-02 17:00", Some("2026-03-03 09:00"))],
            "2026-03-02 17:00",
        ),
        // overlapping and unordered pauses are merged: 10:15–11:00 = 45 min
        (
            "2026-03-02 10:00",
            60,
            vec![
                p("2026-03-02 10:30", Some("2026-03-02 11:00")),
                p("2026-03-02 10:15", Some("2026-03-02 10:45")),
            ],
            "2026-03-02 11:45",
        ),
        // pause before the start or after the deadline: no effect
        (
            "2026-03-02 10:00",
            60,
            vec![
                p("2026-03-02 08:30", Some("2026-03-02 09:30")),
                p("2026-03-02 11:00", Some("2026-03-02 15:00")),
            ],
            "2026-03-02 11:00",
        ),
        // a pause straddling the start only counts from the start
        (
            "2026-03-02 10:00",
            60,
            vec![p("2026-03-02 09:00", Some("2026-03-02 10:30"))],
            "2026-03-02 11:30",
        ),
        // open pause: the clock is stopped with what was left
        (
            "2026-03-02 10:00",
            60,
            vec![p("2026-03-02 10:20", None)],
            "paused since 2026-03-02 10:20 with 0:40:00",
        ),
        (
            "2026-03-02 10:00",
            60,
            vec![
                p("2026-03-02 10:10", Some("2026-03-02 10:20")),
                p("2026-03-02 10:30", None),
            ],
            "paused since 2026-03-02 10:30 with 0:40:00",
        ),
        // open pause begun after the deadline: the (missed) deadline stands
        (
            "2026-03-02 10:00",
            60,
            vec![p("2026-03-02 11:30", None)],
            "2026-03-02 11:00",
        ),
        // open pause covering a closed one that started before it
        (
            "2026-03-02 10:00",
            60,
            vec![
                p("2026-03-02 10:10", None),
                p("2026-03-02 10:20", Some("2026-03-02 10:40")),
            ],
            "paused since 2026-03-02 10:10 with 0:50:00",
        ),
    ];
    for (start, dur, pauses, expected) in table {
        check(start, dur, pauses, expected);
    }
}

#[test]
fn working_day_clock_with_pauses() {
    let cal = cal();
    let p = |from: &str, to: &str| Pause {
        from: t(from),
        to: Some(t(to)),
    };
    // 1 working day from Mon 10:00 = Tue 10:00; a 2-hour supplement on Monday pushes it 2 h.
    let state = working_days_with_pauses(
        &cal,
        t("2026-03-02 10:00"),
        1,
        &[p("2026-03-02 14:00", "2026-03-02 16:00")],
    );
    assert_eq!(show(state.unwrap().deadline().unwrap().due), "2026-03-03 13:30");
    // A supplement of a whole working day (7.5 h) pushes it exactly one working day.
    let state = working_days_with_pauses(
        &cal,
        t("2026-03-02 08:30"),
        1,
        &[p("2026-03-02 08:30", "2026-03-02 17:30")],
    );
    assert_eq!(show(state.unwrap().deadline().unwrap().due), "2026-03-04 08:30");
}

#[test]
fn provisional_flag() {
    let cal = cal();
    let check = |start: &str, dur_h: u32, provisional: bool| {
        assert_eq!(
            add_working_hours(&cal, t(start), dur_h).unwrap().provisional,
            provisional,
            "{start}"
        );
    };
    check("2026-12-31 10:00", 1, false);
    check("2026-12-31 17:00", 1, true); // walks into 2027
    check("2027-03-01 10:00", 1, true);
    check("2025-01-02 10:00", 100, false);
    check("2024-12-31 17:00", 1, true); // starts in unknown 2024
}

#[test]
fn errors() {
    let cal = cal();
    assert_eq!(
        add_working_time(&cal, t("2026-03-02 10:00"), min(-1)),
        Err(ClockError::NegativeDuration)
    );
    // A site closed for four years has no working time: bounded search, no endless loop.
    let first = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let site = SiteCalendar {
        closures: first.iter_days().take(4 * 366).collect(),
        ..SiteCalendar::default()
    };
    let closed = WorkCalendar::new(&builtin_calendar_data(), site).unwrap();
    let start = t("2026-03-02 10:00");
    let expected = Err(ClockError::NoWorkingTime {
        from: chrono::NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
    });
    assert_eq!(start_of_clock(&closed, start), expected);
    assert_eq!(add_working_hours(&closed, start, 1).map(|d| d.due), expected);
    assert_eq!(add_working_days(&closed, start, 1).map(|d| d.due), expected);
    assert_eq!(
        deadline_for(&cal, ClockKind::Completion, start, None, &[]),
        Err(ClockError::MissingPromisedLimit)
    );
}

#[test]
fn statutory_table() {
    let check = |kind: ClockKind, limit: Limit, id: &str, zh: &str| {
        let r = rule(kind);
        assert_eq!(
            (r.kind, r.limit, r.requirement_id, r.name_zh),
            (kind, limit, id, zh)
        );
        assert!(r.warn_at.windows(2).all(|w| w[0] < w[1]) && r.warn_at.iter().all(|s| *s > 0.0 && *s < 1.0));
    };
    check(
        ClockKind::Reservation,
        Limit::WorkingHours(1),
        "R-RES",
        "在线预约",
    );
    check(
        ClockKind::Consultation,
        Limit::WorkingDays(1),
        "R-CON",
        "在线咨询",
    );
    check(ClockKind::PreReview, Limit::WorkingDays(1), "R-APP", "网上预审");
    check(ClockKind::Completion, Limit::PromisedDays, "R-APP", "限时办结");
    check(ClockKind::Complaint, Limit::WorkingDays(3), "R-CMP", "在线投诉");
    check(
        ClockKind::GuideUpdate,
        Limit::WorkingDays(7),
        "R-GDE",
        "更新办事指南",
    );
    assert_eq!(ClockKind::ALL.len(), 6);
}

#[test]
fn deadline_for_each_kind() {
    let cal = cal();
    let check = |kind: ClockKind, received: &str, promised: Option<u32>, expected: &str| {
        let state = deadline_for(&cal, kind, t(received), promised, &[]).unwrap();
        assert_eq!(
            show(state.deadline().unwrap().due),
            expected,
            "{kind:?} {received}"
        );
    };
    let table = [
        (
            ClockKind::Reservation,
            "2026-03-02 16:40",
            None,
            "2026-03-03 08:40",
        ),
        (
            ClockKind::Reservation,
            "2026-03-02 12:10",
            None,
            "2026-03-02 14:30",
        ),
        (
            ClockKind::Consultation,
            "2026-04-03 10:00",
            None,
            "2026-04-07 10:00",
        ),
        (ClockKind::PreReview, "2026-03-06 18:00", None, "2026-03-10 08:30"),
        (ClockKind::Complaint, "2026-09-30 10:00", None, "2026-10-10 10:00"),
        (
            ClockKind::GuideUpdate,
            "2026-02-10 09:00",
            None,
            "2026-02-26 09:00",
        ),
        (
            ClockKind::Completion,
            "2026-03-02 10:00",
            Some(5),
            "2026-03-09 10:00",
        ),
        (
            ClockKind::Completion,
            "2026-03-02 10:00",
            Some(0),
            "2026-03-02 10:00",
        ),
        // promised days ignored for other kinds
        (
            ClockKind::Complaint,
            "2026-03-02 10:00",
            Some(20),
            "2026-03-05 10:00",
        ),
    ];
    for (kind, received, promised, expected) in table {
        check(kind, received, promised, expected);
    }
    // received on an unknown-year day before the clock starts → provisional
    let d = deadline_for(&cal, ClockKind::Reservation, t("2024-12-31 20:00"), None, &[])
        .unwrap()
        .deadline()
        .unwrap();
    assert_eq!((show(d.due).as_str(), d.provisional), ("2025-01-02 09:30", true));
    // pauses reach deadline_for
    let paused = deadline_for(
        &cal,
        ClockKind::Reservation,
        t("2026-03-02 10:00"),
        None,
        &[Pause {
            from: t("2026-03-02 10:30"),
            to: None,
        }],
    );
    assert_eq!(
        paused,
        Ok(DeadlineState::Paused {
            since: t("2026-03-02 10:30"),
            remaining: min(30)
        })
    );
}

#[test]
fn warning_points_share_the_working_time() {
    let cal = cal();
    let start = t("2026-03-02 10:00");
    let dl = Deadline {
        due: t("2026-03-03 10:00"),
        provisional: false,
    };
    let points = warning_points(&cal, start, &dl, &[0.5, 0.8]).unwrap();
    let shown: Vec<String> = points.into_iter().map(show).collect();
    // 450 working minutes: 225 → 13:30 + 105 = 15:15; 360 → exactly the end of the day, 17:30
    assert_eq!(shown, ["2026-03-02 15:15", "2026-03-02 17:30"]);
}

// ---- properties -------------------------------------------------------------------------

/// Any instant between 2025-01-01 and 2027-06-30 local time, at second resolution.
fn any_instant() -> impl Strategy<Value = DateTime<Utc>> {
    let base = t("2025-01-01 00:00");
    (0i64..(911 * 86_400)).prop_map(move |s| base + Duration::seconds(s))
}

/// Up to 150 working hours, at second resolution.
fn any_duration() -> impl Strategy<Value = WorkingDuration> {
    (0i64..150 * 3600).prop_map(WorkingDuration::from_secs)
}

/// Whether `i` is inside a session or exactly at a session's end.
fn in_session_or_at_end(cal: &WorkCalendar, i: DateTime<Utc>) -> bool {
    let l = to_local(i);
    cal.sessions_on(l.date())
        .iter()
        .any(|s| s.start <= l.time() && l.time() <= s.end)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn add_is_monotonic(s in any_instant(), a in any_duration(), b in any_duration()) {
        let cal = cal();
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let x = add_working_time(&cal, s, lo).unwrap().due;
        let y = add_working_time(&cal, s, hi).unwrap().due;
        prop_assert!(x <= y);
        if lo < hi {
            prop_assert!(x < y);
        }
    }

    #[test]
    fn add_is_additive(s in any_instant(), a in any_duration(), b in any_duration()) {
        let cal = cal();
        let s = start_of_clock(&cal, s).unwrap();
        let once = add_working_time(&cal, s, a + b).unwrap().due;
        let mid = add_working_time(&cal, s, a).unwrap().due;
        let twice = add_working_time(&cal, mid, b).unwrap().due;
        prop_assert_eq!(once, twice);
    }

    #[test]
    fn due_is_in_a_session_or_at_its_end(s in any_instant(), d in any_duration()) {
        let cal = cal();
        let s = start_of_clock(&cal, s).unwrap();
        prop_assert!(is_working_instant(&cal, s));
        let due = add_working_time(&cal, s, d).unwrap().due;
        prop_assert!(in_session_or_at_end(&cal, due), "due {}", show(due));
    }

    #[test]
    fn elapsed_inverts_add(s in any_instant(), d in any_duration()) {
        let cal = cal();
        let due = add_working_time(&cal, s, d).unwrap().due;
        prop_assert_eq!(working_time_between(&cal, s, due), d);
        prop_assert_eq!(working_time_between(&cal, due, s), -d);
    }

    #[test]
    fn working_days_land_inside_a_session_on_the_nth_working_day(s in any_instant(), n in 0u32..25) {
        let cal = cal();
        let due = add_working_days(&cal, s, n).unwrap().due;
        prop_assert!(is_working_instant(&cal, due), "due {}", show(due));
        let start = to_local(start_of_clock(&cal, s).unwrap()).date();
        let end = to_local(due).date();
        let counted = start.iter_days().skip(1).take_while(|d| *d <= end).filter(|d| cal.is_working_day(*d)).count();
        // the n-th working day, or (time of day outside its sessions) the next one at most
        prop_assert!(counted == n as usize || counted == n as usize + 1, "counted {counted} for {n}");
    }

    #[test]
    fn closed_pauses_push_by_paused_working_time(
        s in any_instant(), d in any_duration(), off in 0i64..(20 * 86_400), len in 0i64..(5 * 86_400)
    ) {
        let cal = cal();
        let pause = Pause { from: s + Duration::seconds(off), to: Some(s + Duration::seconds(off + len)) };
        let plain = add_working_time(&cal, s, d).unwrap().due;
        let state = deadline_with_pauses(&cal, s, d, &[pause]).unwrap();
        let pushed = state.deadline().unwrap().due;
        prop_assert!(pushed >= plain);
        // time elapsed minus time paused is the clock's length
        let paused = working_time_between(&cal, pause.from.max(s), pause.to.unwrap().min(pushed).max(pause.from.max(s)));
        prop_assert_eq!(working_time_between(&cal, s, pushed) - paused, d);
    }
}

#[test]
fn working_time_with_pauses_leaves_the_pauses_out() {
    use shimin_domain::clock::working_time_with_pauses;
    let p = |from: &str, to: Option<&str>| Pause {
        from: t(from),
        to: to.map(t),
    };
    // Monday 2 March 2026 (winter hours: 08:30–12:00, 13:30–17:30).
    let cases: Vec<(&str, &str, Vec<Pause>, i64)> = vec![
        ("2026-03-02 09:00", "2026-03-02 10:00", vec![], 60),
        ("2026-03-02 11:00", "2026-03-02 14:00", vec![], 90),
        (
            "2026-03-02 09:00",
            "2026-03-03 10:00",
            vec![p("2026-03-02 10:00", Some("2026-03-03 09:00"))],
            120,
        ),
        // A pause still open stops the count where it began.
        (
            "2026-03-02 09:00",
            "2026-03-04 09:00",
            vec![p("2026-03-02 09:30", None)],
            30,
        ),
        // Overlapping pauses count once; a pause outside the span changes nothing.
        (
            "2026-03-02 09:00",
            "2026-03-02 12:00",
            vec![
                p("2026-03-02 09:30", Some("2026-03-02 10:30")),
                p("2026-03-02 10:00", Some("2026-03-02 11:00")),
                p("2026-03-03 09:00", Some("2026-03-03 10:00")),
            ],
            90,
        ),
        // Over a weekend: Friday 17:00 to Monday 09:00.
        ("2026-03-06 17:00", "2026-03-09 09:00", vec![], 60),
        ("2026-03-02 10:00", "2026-03-02 09:00", vec![], 0),
    ];
    for (start, end, pauses, want) in cases {
        assert_eq!(
            working_time_with_pauses(&cal(), t(start), t(end), &pauses),
            min(want),
            "{start} → {end} {pauses:?}"
        );
    }
}

#[test]
fn an_application_runs_a_pre_review_then_a_completion_clock_each_met_by_its_entry() {
    use shimin_domain::item::{ItemKind, Status};
    use shimin_domain::statutory::{item_clock, item_clocks, Transition};
    let step = |at: &str, status| Transition { at: t(at), status };
    let history = [
        step("2026-03-02 09:00", Status::Submitted), // the `created` entry: no change
        step("2026-03-02 10:00", Status::Supplement),
        step("2026-03-03 09:00", Status::Submitted),
        step("2026-03-03 10:00", Status::Accepted),
        step("2026-03-03 11:00", Status::Reviewing),
        step("2026-03-04 09:00", Status::Completed),
    ];
    let clocks = item_clocks(ItemKind::Application, t("2026-03-02 09:00"), &history);
    let summary: Vec<_> = clocks
        .iter()
        .map(|c| {
            (
                c.kind,
                show(c.start),
                c.met_at.map(show),
                c.met_by,
                c.pauses.len(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                ClockKind::PreReview,
                "2026-03-02 09:00".into(),
                Some("2026-03-03 10:00".into()),
                Some(3),
                1
            ),
            (
                ClockKind::Completion,
                "2026-03-03 10:00".into(),
                Some("2026-03-04 09:00".into()),
                Some(5),
                0
            ),
        ]
    );
    assert_eq!(
        clocks[0].used(&cal(), t("2026-03-09 09:00")),
        min(120),
        "the supplement period left out"
    );
    assert_eq!(clocks[1].used(&cal(), t("2026-03-09 09:00")), min(120 + 240 + 30));
    assert_eq!(
        item_clock(ItemKind::Application, t("2026-03-02 09:00"), &history),
        clocks.last().cloned()
    );
    // A running clock's time runs until now.
    let running = item_clocks(ItemKind::Consultation, t("2026-03-02 09:00"), &[]);
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].used(&cal(), t("2026-03-02 11:00")), min(120));
    // Evaluations run no clock.
    assert!(item_clocks(ItemKind::Evaluation, t("2026-03-02 09:00"), &[]).is_empty());
}
