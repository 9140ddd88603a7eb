//! Working-day calendar: national schedule 2025–2026, seasons, site overrides, validation.

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};
use shimin_domain::calendar::{
    builtin_calendar_data, from_local, to_local, CalendarData, CalendarError, Session, SessionPlan,
    SiteCalendar, WorkCalendar, YearSchedule,
};

pub fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
}

fn cal() -> WorkCalendar {
    WorkCalendar::builtin()
}

/// A session as (start hour, start minute, end hour, end minute).
type Hm = (u32, u32, u32, u32);

const SUMMER: [Hm; 2] = [(8, 30, 12, 0), (14, 30, 17, 30)];
const WINTER: [Hm; 2] = [(8, 30, 12, 0), (13, 30, 17, 30)];

fn sessions(list: &[Hm]) -> Vec<Session> {
    list.iter().map(|&(a, b, c, e)| Session::hm(a, b, c, e)).collect()
}

#[test]
fn builtin_data_is_valid_and_versioned() {
    let data = builtin_calendar_data();
    assert_eq!(data.version, 1);
    assert_eq!(data.validate(), Ok(()));
    let years: Vec<i32> = data.years.iter().map(|y| y.year).collect();
    assert_eq!(years, [2025, 2026]);
    assert!(data.years.iter().all(|y| y.official && !y.source.is_empty()));
    // 2025: 1 + 8 + 3 + 5 + 3 + 8 days off; 2026: 3 + 9 + 3 + 5 + 3 + 3 + 7.
    assert_eq!(data.year(2025).unwrap().holidays.len(), 28);
    assert_eq!(data.year(2026).unwrap().holidays.len(), 33);
    assert_eq!(data.year(2025).unwrap().makeup_workdays.len(), 5);
    assert_eq!(data.year(2026).unwrap().makeup_workdays.len(), 6);
}

#[test]
fn working_days_2025_2026() {
    let cal = cal();
    let check = |date: &str, expected: bool| {
        assert_eq!(cal.is_working_day(d(date)), expected, "is_working_day({date})");
        assert_eq!(
            !cal.sessions_on(d(date)).is_empty(),
            expected,
            "sessions_on({date})"
        );
    };
    let table = [
        // 2025 元旦
        ("2024-12-31", true),
        ("2025-01-01", false),
        ("2025-01-02", true),
        // 2025 春节 28 Jan – 4 Feb, make-up Sun 26 Jan and Sat 8 Feb
        ("2025-01-25", false),
        ("2025-01-26", true),
        ("2025-01-27", true),
        ("2025-01-28", false),
        ("2025-01-31", false),
        ("2025-02-04", false),
        ("2025-02-05", true),
        ("2025-02-08", true),
        ("2025-02-09", false),
        // 2025 清明 4–6 Apr
        ("2025-04-03", true),
        ("2025-04-04", false),
        ("2025-04-07", true),
        // 2025 劳动节 1–5 May, make-up Sun 27 Apr
        ("2025-04-26", false),
        ("2025-04-27", true),
        ("2025-04-30", true),
        ("2025-05-01", false),
        ("2025-05-05", false),
        ("2025-05-06", true),
        // 2025 端午 31 May – 2 Jun
        ("2025-05-30", true),
        ("2025-06-02", false),
        ("2025-06-03", true),
        // 2025 国庆+中秋 1–8 Oct, make-up Sun 28 Sep and Sat 11 Oct
        ("2025-09-27", false),
        ("2025-09-28", true),
        ("2025-09-30", true),
        ("2025-10-01", false),
        ("2025-10-08", false),
        ("2025-10-09", true),
        ("2025-10-11", true),
        ("2025-10-12", false),
        // 2026 元旦 1–3 Jan, make-up Sun 4 Jan
        ("2025-12-31", true),
        ("2026-01-01", false),
        ("2026-01-02", false),
        ("2026-01-03", false),
        ("2026-01-04", true),
        ("2026-01-05", true),
        // 2026 春节 15–23 Feb, make-up Sat 14 Feb and Sat 28 Feb
        ("2026-02-13", true),
        ("2026-02-14", true),
        ("2026-02-15", false),
        ("2026-02-16", false),
        ("2026-02-23", false),
        ("2026-02-24", true),
        ("2026-02-28", true),
        ("2026-03-01", false),
        // 2026 清明 4–6 Apr
        ("2026-04-03", true),
        ("2026-04-06", false),
        ("2026-04-07", true),
        // 2026 劳动节 1–5 May, make-up Sat 9 May
        ("2026-04-30", true),
        ("2026-05-01", false),
        ("2026-05-05", false),
        ("2026-05-06", true),
        ("2026-05-09", true),
        ("2026-05-10", false),
        // 2026 端午 19–21 Jun
        ("2026-06-18", true),
        ("2026-06-19", false),
        ("2026-06-22", true),
        // 2026 中秋 25–27 Sep, make-up Sun 20 Sep
        ("2026-09-20", true),
        ("2026-09-24", true),
        ("2026-09-25", false),
        ("2026-09-28", true),
        // 2026 国庆 1–7 Oct, make-up Sat 10 Oct
        ("2026-09-30", true),
        ("2026-10-01", false),
        ("2026-10-07", false),
        ("2026-10-08", true),
        ("2026-10-10", true),
        ("2026-10-11", false),
        // ordinary days
        ("2026-03-02", true),
        ("2026-03-07", false),
        ("2026-03-08", false),
        // provisional 2027: weekends only, so 1 Jan 2027 (Fri) counts as working
        ("2027-01-01", true),
        ("2027-01-02", false),
        ("2027-02-08", true),
    ];
    for (date, expected) in table {
        check(date, expected);
    }
}

#[test]
fn every_listed_holiday_is_off_and_every_makeup_day_works() {
    let cal = cal();
    for y in builtin_calendar_data().years {
        for h in &y.holidays {
            assert!(!cal.is_working_day(*h), "holiday {h}");
            assert!(cal.sessions_on(*h).is_empty(), "holiday {h}");
        }
        for m in &y.makeup_workdays {
            assert!(cal.is_working_day(*m), "make-up {m}");
            assert!(matches!(m.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun));
        }
    }
}

#[test]
fn seasons_switch_on_1_may_and_1_october() {
    let cal = cal();
    let check = |date: &str, expected: &[Hm]| {
        assert_eq!(
            cal.sessions_on(d(date)),
            sessions(expected),
            "sessions_on({date})"
        );
    };
    let table: [(&str, &[Hm]); 10] = [
        ("2025-04-30", &WINTER),
        ("2025-05-06", &SUMMER),
        ("2025-09-30", &SUMMER),
        ("2025-10-09", &WINTER),
        ("2026-04-30", &WINTER),
        ("2026-05-06", &SUMMER),
        ("2026-09-30", &SUMMER),
        ("2026-10-08", &WINTER),
        ("2027-04-30", &WINTER),
        ("2027-05-03", &SUMMER),
    ];
    for (date, expected) in table {
        check(date, expected);
    }
    let plan = SessionPlan::default();
    assert!(!plan.is_summer(d("2026-04-30")));
    assert!(plan.is_summer(d("2026-05-01")));
    assert!(plan.is_summer(d("2026-09-30")));
    assert!(!plan.is_summer(d("2026-10-01")));
}

#[test]
fn season_plan_wrapping_the_new_year() {
    // A southern-hemisphere-style plan: "summer" from 1 Nov to end of February.
    let plan = SessionPlan {
        summer_from: (11, 1),
        winter_from: (3, 1),
        ..SessionPlan::default()
    };
    let check = |date: &str, expected: bool| assert_eq!(plan.is_summer(d(date)), expected, "{date}");
    for (date, expected) in [
        ("2026-10-31", false),
        ("2026-11-01", true),
        ("2026-12-31", true),
        ("2027-02-28", true),
        ("2027-03-01", false),
    ] {
        check(date, expected);
    }
}

#[test]
fn provisional_years() {
    let cal = cal();
    let check = |date: &str, expected: bool| assert_eq!(cal.is_provisional(d(date)), expected, "{date}");
    for (date, expected) in [
        ("2024-12-31", true),
        ("2025-01-01", false),
        ("2026-12-31", false),
        ("2027-01-01", true),
    ] {
        check(date, expected);
    }
    // An unofficial (draft) year is provisional too: its listed holidays are ignored.
    let mut data = builtin_calendar_data();
    data.years.push(YearSchedule {
        year: 2027,
        official: false,
        holidays: vec![d("2027-01-01")],
        makeup_workdays: vec![],
        source: "draft".into(),
    });
    let cal = WorkCalendar::new(&data, SiteCalendar::default()).unwrap();
    assert!(cal.is_provisional(d("2027-01-01")));
    assert!(cal.is_working_day(d("2027-01-01")));
}

#[test]
fn missing_next_year_warning() {
    let cal = cal();
    let check = |today: &str, expected: Option<i32>| {
        assert_eq!(cal.missing_next_year_warning(d(today)), expected, "{today}");
    };
    for (today, expected) in [
        ("2025-12-01", None),
        ("2026-06-01", None),
        ("2026-11-30", None),
        ("2026-12-01", Some(2027)),
        ("2026-12-31", Some(2027)),
        // the current year itself missing is always reported
        ("2027-01-05", Some(2027)),
        ("2024-06-01", Some(2024)),
    ] {
        check(today, expected);
    }
    let mut data = builtin_calendar_data();
    data.version = 2;
    data.years.push(YearSchedule {
        year: 2027,
        official: true,
        holidays: vec![d("2027-01-01")],
        makeup_workdays: vec![],
        source: "test".into(),
    });
    let cal = WorkCalendar::new(&data, SiteCalendar::default()).unwrap();
    assert_eq!(cal.data_version(), 2);
    assert_eq!(cal.missing_next_year_warning(d("2026-12-01")), None);
    assert!(!cal.is_working_day(d("2027-01-01")));
}

#[test]
fn site_closures_and_extra_sessions() {
    let site = SiteCalendar {
        closures: vec![d("2026-03-04"), d("2026-03-05")],
        extra_sessions: vec![
            // Saturday service morning
            (d("2026-03-07"), Session::hm(9, 0, 12, 0)),
            // closed day reopened for an afternoon only
            (d("2026-03-05"), Session::hm(14, 0, 16, 0)),
            // evening extension on a working day
            (d("2026-03-06"), Session::hm(18, 0, 20, 0)),
        ],
        ..SiteCalendar::default()
    };
    let cal = WorkCalendar::new(&builtin_calendar_data(), site).unwrap();
    let check = |date: &str, expected: Vec<Session>| {
        assert_eq!(cal.sessions_on(d(date)), expected, "{date}");
        assert_eq!(cal.is_working_day(d(date)), !expected.is_empty(), "{date}");
    };
    let winter = sessions(&WINTER);
    let mut extended = winter.clone();
    extended.push(Session::hm(18, 0, 20, 0));
    for (date, expected) in [
        ("2026-03-03", winter.clone()),
        ("2026-03-04", vec![]),
        ("2026-03-05", vec![Session::hm(14, 0, 16, 0)]),
        ("2026-03-06", extended),
        ("2026-03-07", vec![Session::hm(9, 0, 12, 0)]),
        ("2026-03-08", vec![]),
    ] {
        check(date, expected);
    }
    // National working day ignores the site.
    assert!(cal.is_national_working_day(d("2026-03-04")));
    assert!(!cal.is_national_working_day(d("2026-03-07")));
}

#[test]
fn invalid_data_is_rejected() {
    let year = |holidays: &[&str], makeups: &[&str]| YearSchedule {
        year: 2026,
        official: true,
        holidays: holidays.iter().map(|s| d(s)).collect(),
        makeup_workdays: makeups.iter().map(|s| d(s)).collect(),
        source: "test".into(),
    };
    let check = |years: Vec<YearSchedule>, expected: CalendarError| {
        let data = CalendarData { version: 1, years };
        assert_eq!(data.validate(), Err(expected.clone()));
        assert_eq!(
            WorkCalendar::new(&data, SiteCalendar::default()).unwrap_err(),
            expected
        );
    };
    check(
        vec![year(&["2026-01-01"], &[]), year(&[], &[])],
        CalendarError::DuplicateYear(2026),
    );
    check(
        vec![year(&["2025-12-31"], &[])],
        CalendarError::DateOutsideYear {
            year: 2026,
            date: d("2025-12-31"),
        },
    );
    check(
        vec![year(&[], &["2027-01-02"])],
        CalendarError::DateOutsideYear {
            year: 2026,
            date: d("2027-01-02"),
        },
    );
    check(
        vec![year(&["2026-01-04"], &["2026-01-04"])],
        CalendarError::HolidayAndMakeup(d("2026-01-04")),
    );
    check(
        vec![year(&[], &["2026-01-05"])],
        CalendarError::MakeupNotWeekend(d("2026-01-05")),
    );
}

#[test]
fn invalid_site_calendars_are_rejected() {
    let check = |site: SiteCalendar, expected: CalendarError| {
        assert_eq!(
            WorkCalendar::new(&builtin_calendar_data(), site).unwrap_err(),
            expected
        );
    };
    let plan = |summer: Vec<Session>, winter: Vec<Session>| SiteCalendar {
        sessions: SessionPlan {
            summer,
            winter,
            ..SessionPlan::default()
        },
        ..SiteCalendar::default()
    };
    let w = sessions(&WINTER);
    check(
        plan(vec![Session::hm(12, 0, 12, 0)], w.clone()),
        CalendarError::EmptySession(Session::hm(12, 0, 12, 0)),
    );
    check(
        plan(vec![Session::hm(14, 0, 9, 0)], w.clone()),
        CalendarError::EmptySession(Session::hm(14, 0, 9, 0)),
    );
    check(
        plan(
            vec![Session::hm(13, 0, 17, 0), Session::hm(8, 30, 13, 30)],
            w.clone(),
        ),
        CalendarError::OverlappingSessions(Session::hm(8, 30, 13, 30), Session::hm(13, 0, 17, 0)),
    );
    check(plan(vec![], w.clone()), CalendarError::NoSessions("summer"));
    check(plan(w.clone(), vec![]), CalendarError::NoSessions("winter"));
    let mut site = SiteCalendar::default();
    site.sessions.winter_from = (2, 30);
    check(site, CalendarError::InvalidSeasonStart { month: 2, day: 30 });
    let mut site = SiteCalendar::default();
    site.sessions.winter_from = (5, 1);
    check(site, CalendarError::SameSeasonStart);
    let site = SiteCalendar {
        extra_sessions: vec![(d("2026-03-02"), Session::hm(11, 0, 13, 0))],
        ..SiteCalendar::default()
    };
    check(
        site,
        CalendarError::ExtraSessionOverlap {
            date: d("2026-03-02"),
            session: Session::hm(11, 0, 13, 0),
        },
    );
    let site = SiteCalendar {
        extra_sessions: vec![
            (d("2026-03-07"), Session::hm(9, 0, 11, 0)),
            (d("2026-03-07"), Session::hm(10, 0, 12, 0)),
        ],
        ..SiteCalendar::default()
    };
    check(
        site,
        CalendarError::ExtraSessionOverlap {
            date: d("2026-03-07"),
            session: Session::hm(10, 0, 12, 0),
        },
    );
    // Touching sessions are fine; an extra session overlapping only a closed day's hours too.
    let site = SiteCalendar {
        closures: vec![d("2026-03-02")],
        extra_sessions: vec![(d("2026-03-02"), Session::hm(11, 0, 13, 0))],
        ..SiteCalendar::default()
    };
    assert!(WorkCalendar::new(&builtin_calendar_data(), site).is_ok());
    assert!(WorkCalendar::new(
        &builtin_calendar_data(),
        plan(vec![Session::hm(8, 0, 12, 0), Session::hm(12, 0, 16, 0)], w)
    )
    .is_ok());
}

#[test]
fn local_time_is_fixed_utc_plus_8() {
    let check = |utc: (i32, u32, u32, u32, u32), local: &str| {
        let instant = Utc
            .with_ymd_and_hms(utc.0, utc.1, utc.2, utc.3, utc.4, 0)
            .unwrap();
        let l = NaiveDateTime::parse_from_str(local, "%Y-%m-%d %H:%M").unwrap();
        assert_eq!(to_local(instant), l, "{local}");
        assert_eq!(from_local(l), instant, "{local}");
    };
    check((2026, 3, 2, 0, 30), "2026-03-02 08:30");
    check((2025, 12, 31, 16, 0), "2026-01-01 00:00");
    check((2026, 7, 1, 9, 30), "2026-07-01 17:30"); // no DST in summer
}

/// Reservation slots lie inside office hours only (issue 13: the accept dialog offers slots
/// instead of free-typed times).
#[test]
fn reservation_slots_tile_the_sessions_and_never_leave_office_hours() {
    let c = cal();
    let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    // Thursday 2026-12-03, winter hours 8:30–12:00 and 13:30–17:30: 30-minute slots.
    let slots = c.slots_on(d("2026-12-03"), chrono::Duration::minutes(30));
    assert_eq!(slots.len(), 7 + 8, "{slots:?}");
    assert_eq!(slots[0], (t("2026-12-03 08:30"), t("2026-12-03 09:00")));
    assert_eq!(slots[6].1, t("2026-12-03 12:00"));
    assert_eq!(slots[7].0, t("2026-12-03 13:30"));
    assert_eq!(slots.last().unwrap().1, t("2026-12-03 17:30"));
    // A remainder shorter than a slot is not offered: 8:30–12:00 holds three 60-minute slots.
    let hours = c.slots_on(d("2026-12-03"), chrono::Duration::minutes(60));
    let noon = t("2026-12-03 12:00");
    assert_eq!(hours.iter().filter(|(s, _)| *s < noon).count(), 3, "{hours:?}");
    for (start, end) in slots.iter().chain(&hours) {
        assert!(c.within_hours(*start, *end), "{start}–{end} outside office hours");
    }
    // The lunch break, before opening, across days: outside.
    assert!(!c.within_hours(t("2026-12-03 11:45"), t("2026-12-03 12:15")));
    assert!(!c.within_hours(t("2026-12-03 08:00"), t("2026-12-03 08:30")));
    assert!(!c.within_hours(t("2026-12-03 17:00"), t("2026-12-04 09:00")));
    assert!(c.within_hours(t("2026-12-03 09:00"), t("2026-12-03 09:20")));
    // None on a weekend or a holiday; none of a senseless length.
    assert!(c
        .slots_on(d("2026-12-05"), chrono::Duration::minutes(30))
        .is_empty());
    assert!(c
        .slots_on(d("2026-10-01"), chrono::Duration::minutes(30))
        .is_empty());
    assert!(c.slots_on(d("2026-12-03"), chrono::Duration::zero()).is_empty());
}

#[test]
fn working_days_from_skips_weekends_and_holidays() {
    let c = cal();
    let days = c.working_days_from(d("2026-12-04"), 3);
    assert_eq!(days, [d("2026-12-04"), d("2026-12-07"), d("2026-12-08")]);
    let national_day = c.working_days_from(d("2026-10-01"), 1);
    assert!(national_day[0] > d("2026-10-01"), "{national_day:?}");
}
