//! Calendar distribution (PUT ADMIN_CALENDAR), deadlines from the calendar in force, and the
//! supervision task (预警 / 督办).

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::{Method, StatusCode};
use shimin_domain::calendar::{builtin_calendar_data, from_local, WorkCalendar, YearSchedule};
use shimin_domain::role::Role;
use shimin_domain::statutory::{deadline_for, ClockKind};
use shimin_protocol::{codes, paths, CalendarAccepted, CalendarWire, Change, ItemRecord, NewConsultation};
use shimin_server::intake::{self, Intake};
use shimin_server::supervision::{self, TickReport};
use shimin_server::{inspect, RunningServer};
use uuid::Uuid;

use crate::support::*;

fn cst(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    from_local(
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap(),
    )
}

fn first_department(ts: &TestServer) -> &'static str {
    ts.county.departments().next().expect("a department").name
}

/// A consultation to `unit` received at `at` (server-side intake, as the portal would).
async fn consultation_at(server: &RunningServer, unit: i64, at: DateTime<Utc>) -> Uuid {
    let req = NewConsultation {
        matter_id: None,
        unit_id: Some(unit),
        applicant: applicant(),
        title: "咨询".into(),
        content: "请问办理需要什么材料？".into(),
    };
    intake::create_at(server.state(), None, Intake::Consultation(req), at)
        .await
        .expect("intake")
        .id
}

async fn item_of(session: &Session, id: Uuid) -> ItemRecord {
    let (changes, _) = session.pull_all(0, None).await;
    items(&changes)
        .into_iter()
        .rfind(|r| r.id == id)
        .cloned()
        .expect("item in scope")
}

/// The built-in calendar plus an official 2027 with 1 January off.
fn calendar_v2() -> CalendarWire {
    let mut data = builtin_calendar_data();
    data.version = 2;
    data.years.push(YearSchedule {
        year: 2027,
        official: true,
        holidays: vec![NaiveDate::from_ymd_opt(2027, 1, 1).unwrap()],
        makeup_workdays: vec![],
        source: "test schedule".into(),
    });
    CalendarWire::from_data(&data)
}

#[tokio::test]
async fn calendar_update_is_sysadmin_only_versioned_validated_and_reschedules_provisional_items() {
    let ts = start_with(|c| c.supervision_every = None).await;
    let unit_name = first_department(&ts);
    let unit = ts.unit_id(unit_name).await;
    // New Year's Eve evening: the clock starts on 1 January 2027, a provisional year.
    let id = consultation_at(&ts.server, unit, cst(2026, 12, 31, 19, 0)).await;
    let clerk = ts.login_as(Role::Clerk, Some(unit_name)).await;
    let before = item_of(&clerk, id).await;
    assert!(before.due_provisional, "a deadline into 2027 is provisional");
    assert_eq!(before.due_at, Some(cst(2027, 1, 4, 8, 30)));

    // Not a sysadmin.
    let f = fail(clerk.req(Method::PUT, paths::ADMIN_CALENDAR).json(&calendar_v2())).await;
    assert_eq!(f.status, StatusCode::FORBIDDEN);

    let admin = ts.login_as(Role::Sysadmin, None).await;
    // Invalid: a make-up working day on a Wednesday.
    let mut invalid = calendar_v2();
    invalid.years[2]
        .makeup_workdays
        .push(NaiveDate::from_ymd_opt(2027, 1, 6).unwrap());
    let f = fail(admin.req(Method::PUT, paths::ADMIN_CALENDAR).json(&invalid)).await;
    assert_eq!(f.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(f.error.code, codes::INVALID_FIELD);
    assert!(
        f.error.message.contains("not a Saturday or Sunday"),
        "{}",
        f.error.message
    );

    // A version without the official years in force (only 2027).
    let mut partial = calendar_v2();
    partial.years.retain(|y| y.year == 2027);
    let f = fail(admin.req(Method::PUT, paths::ADMIN_CALENDAR).json(&partial)).await;
    assert_eq!(f.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(f.error.message.contains("2025"), "{}", f.error.message);

    // Stale: the stored version is 1.
    let mut stale = calendar_v2();
    stale.version = 1;
    let f = fail(admin.req(Method::PUT, paths::ADMIN_CALENDAR).json(&stale)).await;
    assert_eq!(f.status, StatusCode::CONFLICT);
    assert_eq!(f.error.code, codes::CALENDAR_STALE);
    assert_eq!(f.error.details, Some(serde_json::json!({ "stored_version": 1 })));

    let (_, cursor) = clerk.pull_all(0, None).await;
    let ok: CalendarAccepted = call(admin.req(Method::PUT, paths::ADMIN_CALENDAR).json(&calendar_v2()))
        .await
        .expect("update accepted");
    assert_eq!(ok.version, 2);
    assert!(ok.items_rescheduled >= 1);
    assert_eq!(ts.server.state().calendar().data_version(), 2);

    // Desks pull the new calendar and the rescheduled item.
    let (changes, _) = clerk.pull_all(cursor, None).await;
    assert!(changes
        .iter()
        .any(|c| matches!(c, Change::Calendar(w) if *w == calendar_v2())));
    let after = items(&changes)
        .into_iter()
        .find(|r| r.id == id)
        .expect("rescheduled item pulled");
    assert!(!after.due_provisional);
    assert_eq!(
        after.due_at,
        Some(cst(2027, 1, 5, 8, 30)),
        "1 January 2027 is now a holiday"
    );
    assert!(after.events.iter().any(|e| e.action == "deadline_changed"));

    // Same version again: stale.
    let f = fail(admin.req(Method::PUT, paths::ADMIN_CALENDAR).json(&calendar_v2())).await;
    assert_eq!(f.error.code, codes::CALENDAR_STALE);
    let audited = inspect::audit(ts.store())
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action == "calendar.update")
        .count();
    assert_eq!(audited, 6, "every attempt is audited");
}

#[tokio::test]
async fn new_deadlines_use_the_calendar_in_force() {
    let ts = start_with(|c| c.supervision_every = None).await;
    let admin = ts.login_as(Role::Sysadmin, None).await;
    let _: CalendarAccepted = call(admin.req(Method::PUT, paths::ADMIN_CALENDAR).json(&calendar_v2()))
        .await
        .unwrap();
    let unit_name = first_department(&ts);
    let unit = ts.unit_id(unit_name).await;
    let received = cst(2026, 12, 31, 19, 0);
    let id = consultation_at(&ts.server, unit, received).await;
    let clerk = ts.login_as(Role::Clerk, Some(unit_name)).await;
    let rec = item_of(&clerk, id).await;
    let cal = WorkCalendar::new(&calendar_v2().to_data(), Default::default()).unwrap();
    let expected = deadline_for(&cal, ClockKind::Consultation, received, None, &[])
        .unwrap()
        .deadline()
        .unwrap();
    assert_eq!(rec.due_at, Some(expected.due));
    assert!(!rec.due_provisional);
}

async fn events_of(server: &RunningServer, id: Uuid, action: &str) -> usize {
    inspect::history(server.store(), id)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == action)
        .count()
}

async fn cases_of(server: &RunningServer, id: Uuid) -> usize {
    server
        .store()
        .reader()
        .await
        .unwrap()
        .supervision_cases(id)
        .await
        .unwrap()
        .len()
}

async fn stored(server: &RunningServer, id: Uuid) -> shimin_server::store::StoredItem {
    inspect::item(server.store(), id).await.unwrap().unwrap()
}

#[tokio::test]
async fn supervision_records_each_warning_point_and_overdue_once_even_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = test_config(dir.path()).await;
    c.supervision_every = None;
    let config = || c.clone();
    let server = shimin_server::start(config()).await.unwrap();
    let county = shimin_server::demo::DemoCounty::new();
    let unit_name = county.departments().next().unwrap().name;
    let unit = inspect::unit_id(server.store(), unit_name)
        .await
        .unwrap()
        .unwrap();
    // Mon 2 March 2026 09:00 (winter hours): due Tue 09:00; half the working day is used at
    // 14:15, 80 % at 16:30.
    let id = consultation_at(&server, unit, cst(2026, 3, 2, 9, 0)).await;
    let state = server.state();
    let tick = |h: u32, m: u32, day: u32| supervision::tick(state, cst(2026, 3, day, h, m));
    assert_eq!(tick(13, 0, 2).await.unwrap(), TickReport::default());
    assert_eq!(
        tick(14, 20, 2).await.unwrap(),
        TickReport {
            warnings: 1,
            overdue: 0
        }
    );
    assert_eq!(
        tick(14, 30, 2).await.unwrap(),
        TickReport::default(),
        "once per point"
    );
    assert_eq!(tick(16, 40, 2).await.unwrap().warnings, 1);
    assert_eq!(
        tick(9, 0, 3).await.unwrap(),
        TickReport::default(),
        "at the deadline itself the item is still in time"
    );
    let version_before = stored(&server, id).await.version;
    assert_eq!(
        tick(9, 1, 3).await.unwrap(),
        TickReport {
            warnings: 0,
            overdue: 1
        }
    );
    assert_eq!(tick(10, 0, 4).await.unwrap(), TickReport::default());
    assert_eq!(events_of(&server, id, "warning").await, 2);
    assert_eq!(events_of(&server, id, "overdue").await, 1);
    assert_eq!(cases_of(&server, id).await, 1);
    let after = stored(&server, id).await;
    let (overdue, supervision, version) = (after.overdue, after.supervision, after.version);
    assert!(overdue && supervision);
    assert!(version > version_before, "desks pull the overdue record");
    server.shutdown().await;

    // Restart on the same data: nothing is recorded twice.
    let server = shimin_server::start(config()).await.unwrap();
    assert_eq!(
        supervision::tick(server.state(), cst(2026, 3, 10, 10, 0))
            .await
            .unwrap(),
        TickReport::default()
    );
    assert_eq!(events_of(&server, id, "warning").await, 2);
    assert_eq!(events_of(&server, id, "overdue").await, 1);
    assert_eq!(cases_of(&server, id).await, 1);
    server.shutdown().await;
}

#[tokio::test]
async fn background_supervision_marks_overdue_items_and_desks_pull_them() {
    let ts = start_with(|c| c.supervision_every = Some(Duration::from_millis(100))).await;
    let unit_name = first_department(&ts);
    let unit = ts.unit_id(unit_name).await;
    let id = consultation_at(&ts.server, unit, Utc::now() - chrono::Duration::days(20)).await;
    let clerk = ts.login_as(Role::Clerk, Some(unit_name)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let rec = item_of(&clerk, id).await;
        if rec.overdue {
            assert!(rec.supervision);
            assert!(rec.events.iter().any(|e| e.action == "overdue"));
            assert_eq!(rec.events.iter().filter(|e| e.action == "warning").count(), 2);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "overdue not recorded in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(cases_of(&ts.server, id).await, 1);
}

#[tokio::test]
async fn a_late_answer_is_still_recorded_as_overdue() {
    let ts = start_with(|c| c.supervision_every = None).await;
    let unit_name = first_department(&ts);
    let unit = ts.unit_id(unit_name).await;
    let id = consultation_at(&ts.server, unit, Utc::now() - chrono::Duration::days(20)).await;
    let clerk = ts.login_as(Role::Clerk, Some(unit_name)).await;
    let resp = clerk
        .push(vec![mutation(
            1,
            id,
            shimin_protocol::Op::ReplyConsultation {
                reply: "您好，请携带身份证。".into(),
            },
        )])
        .await
        .unwrap();
    assert!(matches!(
        resp.results[0].outcome,
        shimin_protocol::MutationOutcome::Applied { .. }
    ));
    let r = supervision::tick(ts.server.state(), Utc::now()).await.unwrap();
    assert!(r.overdue >= 1);
    assert_eq!(events_of(&ts.server, id, "overdue").await, 1);
}
