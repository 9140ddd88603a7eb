//! Desk clocks against the real server (in-process on loopback, demo county): the desk's
//! deadline equals the server's for every item, provisional deadlines reach the desk, the
//! ladder names whoever acts as A, and the missing-calendar warning.

use chrono::{DateTime, NaiveDate, Utc};
use shimin_client::{CacheKey, ClientConfig, ClockLevel, Desk, Endpoint, QueueQuery, QueueView};
use shimin_domain::calendar::{builtin_calendar_data, from_local, YearSchedule};
use shimin_domain::ladder::{Recipient, StepLevel};
use shimin_domain::role::Role;
use shimin_domain::statutory::ClockKind;
use shimin_protocol::{Applicant, CalendarWire, NewApplication, NewConsultation, NewReservation, Slot};
use shimin_server::demo::{DemoCounty, DEMO_PASSWORD};
use shimin_server::intake::{self, Intake};
use shimin_server::{Config, DemoOptions, HashParams, RunningServer};
use std::time::Duration;

struct Server {
    server: RunningServer,
    county: DemoCounty,
    _dir: tempfile::TempDir,
}

async fn server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        database: shimin_server::store::postgres::scratch_database_for_tests("client").await,
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        demo: Some(DemoOptions::default()),
        hash_params: HashParams::insecure_fast(),
        // Tests here look at deadlines, not at the supervision task's records.
        supervision_every: None,
        ..Config::default()
    };
    Server {
        server: shimin_server::start(config).await.expect("server starts"),
        county: DemoCounty::new(),
        _dir: dir,
    }
}

impl Server {
    async fn unit_id(&self, name: &str) -> i64 {
        shimin_server::inspect::unit_id(self.server.store(), name)
            .await
            .unwrap()
            .expect("unit")
    }

    async fn matter_of(&self, unit: i64) -> i64 {
        shimin_server::inspect::matters(self.server.store())
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.unit_id == unit)
            .map(|m| m.id)
            .min()
            .expect("a matter of the unit")
    }

    /// A desk of a fresh cache, logged in as `role` of `unit`, synced.
    async fn desk(&self, dir: &tempfile::TempDir, role: Role, unit: Option<&str>) -> Desk {
        let user = self.county.user(role, unit).expect("demo user");
        let endpoint = Endpoint::new("内网", self.server.base_url(), false).allowing_plain_http();
        let mut config = ClientConfig::new(
            dir.path().join(format!("{}.db", user.username)),
            CacheKey::random(),
            vec![endpoint],
        );
        config.request_timeout = Duration::from_secs(10);
        let desk = Desk::open(config).await.expect("cache opens");
        desk.login(&user.username, DEMO_PASSWORD).await.expect("login");
        desk.sync_now().await.expect("sync");
        desk
    }
}

fn cst(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    from_local(
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, min, 0)
            .unwrap(),
    )
}

fn applicant() -> Applicant {
    Applicant {
        name: "测试人".into(),
        id_number: shimin_domain::identity::resident_id("13042719900101123"),
        phone: "13800000000".into(),
    }
}

fn all() -> QueueQuery {
    let mut q = QueueQuery::new(QueueView::All);
    q.include_closed = true;
    q.limit = 100_000;
    q
}

#[tokio::test]
async fn desk_deadline_equals_server_due_at_for_every_demo_item() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let mut compared = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for unit in s.county.departments() {
        let desk = s.desk(&dir, Role::Clerk, Some(unit.name)).await;
        let clocks = desk.clocks().await.unwrap();
        assert_eq!(
            clocks.calendar().data_version(),
            1,
            "the server's calendar is cached"
        );
        for view in desk.queue(all()).await.unwrap() {
            let rec = &view.record;
            let local = clocks.local_due(rec).expect("computable");
            assert_eq!(
                local.map(|d| (d.due, d.provisional)),
                rec.due_at.map(|due| (due, rec.due_provisional)),
                "item {} ({} {})",
                rec.number,
                rec.kind.code(),
                rec.status.code()
            );
            if let Some(c) = clocks.clock(rec) {
                kinds.insert(c.kind);
            }
            compared += 1;
        }
        desk.close().await;
    }
    assert!(compared >= 50, "compared {compared} items");
    for k in [
        ClockKind::Reservation,
        ClockKind::Consultation,
        ClockKind::PreReview,
        ClockKind::Completion,
        ClockKind::Complaint,
    ] {
        assert!(kinds.contains(&k), "no demo item runs a {k:?} clock");
    }
}

#[tokio::test]
async fn a_deadline_in_a_provisional_year_is_flagged_on_the_desk() {
    let s = server().await;
    let unit_name = s.county.departments().next().unwrap().name;
    let unit = s.unit_id(unit_name).await;
    let matter = s.matter_of(unit).await;
    let state = s.server.state();
    // A consultation on New Year's Eve evening: its clock starts on 1 January 2027.
    let consultation = intake::create_at(
        state,
        None,
        Intake::Consultation(NewConsultation {
            matter_id: None,
            unit_id: Some(unit),
            applicant: applicant(),
            title: "咨询".into(),
            content: "元旦后能办理吗？".into(),
        }),
        cst(2026, 12, 31, 19, 0),
    )
    .await
    .unwrap();
    // An application on the last afternoon of 2026: pre-review is due on 1 January 2027.
    let application = intake::create_at(
        state,
        None,
        Intake::Application(NewApplication {
            matter_id: matter,
            applicant: applicant(),
            content: String::new(),
            materials_provided: vec!["身份证".into()],
        }),
        cst(2026, 12, 31, 16, 0),
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let desk = s.desk(&dir, Role::Clerk, Some(unit_name)).await;
    for (id, due) in [
        (consultation.id, cst(2027, 1, 4, 8, 30)),
        (application.id, cst(2027, 1, 1, 16, 0)),
    ] {
        let view = desk.item(id).await.unwrap().expect("cached");
        assert!(view.record.due_provisional, "the server's flag reaches the cache");
        assert_eq!(view.record.due_at, Some(due));
        let countdown = desk.countdown(&view).await.unwrap().expect("clock runs");
        assert!(countdown.provisional);
        assert_eq!(countdown.due, Some(due));
        assert_eq!(countdown.level, ClockLevel::Normal);
        assert!(countdown.remaining.as_secs() > 0);
        let local = desk
            .clocks()
            .await
            .unwrap()
            .local_due(&view.record)
            .unwrap()
            .unwrap();
        assert_eq!((local.due, local.provisional), (due, true));
    }
    desk.close().await;
}

#[tokio::test]
async fn ladder_steps_name_the_acting_a_clerk_and_due_steps_follow_the_clock() {
    let s = server().await;
    // 县民政局's A clerk is on leave in the demo: B acts as A.
    let unit_name = "县民政局";
    let unit = s.unit_id(unit_name).await;
    let matter = s.matter_of(unit).await;
    let received = cst(2026, 3, 2, 10, 0);
    let day = NaiveDate::from_ymd_opt(2026, 3, 3).unwrap();
    let start = day.and_hms_opt(9, 0, 0).unwrap();
    let created = intake::create_at(
        s.server.state(),
        None,
        Intake::Reservation(NewReservation {
            matter_id: matter,
            applicant: applicant(),
            requested_slot: Slot {
                start,
                end: start + chrono::Duration::minutes(30),
            },
            content: String::new(),
        }),
        received,
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let desk = s.desk(&dir, Role::Clerk, Some(unit_name)).await;
    let view = desk.item(created.id).await.unwrap().unwrap();
    let m = desk
        .matters()
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.id == matter)
        .unwrap();
    let leader = desk
        .colleagues()
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.role == Role::DeptLeader && c.unit_id == Some(unit))
        .map(|c| c.id);
    let steps = desk.ladder_steps(&view).await.unwrap();
    let got: Vec<_> = steps
        .iter()
        .map(|s| (s.at, s.recipient, s.level, s.user_id))
        .collect();
    assert_eq!(
        got,
        vec![
            (received, Recipient::BClerk, StepLevel::Notify, m.b_clerk_id),
            (
                cst(2026, 3, 2, 10, 30),
                Recipient::BClerk,
                StepLevel::Notify,
                m.b_clerk_id
            ),
            (
                cst(2026, 3, 2, 10, 50),
                Recipient::Leader,
                StepLevel::Warning,
                leader
            ),
            (
                cst(2026, 3, 2, 11, 0),
                Recipient::Supervision,
                StepLevel::Overdue,
                None
            ),
        ]
    );
    let clocks = desk.clocks().await.unwrap();
    let acting = clocks.acting_a(Some(matter), unit);
    assert_eq!(
        (acting.recipient, acting.user_id),
        (Recipient::BClerk, m.b_clerk_id)
    );

    let due = desk.due_ladder_steps(cst(2026, 3, 2, 10, 40)).await.unwrap();
    let mine: Vec<_> = due.iter().filter(|d| d.item_id == created.id).collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].steps.len(), 2, "A on arrival and B after half the hour");
    assert!(
        due.iter().all(|d| d.item_id == created.id),
        "the demo's reservations arrive later"
    );

    // Long past its hour: overdue on the desk's countdown, in working time.
    let countdown = desk.countdown(&view).await.unwrap().unwrap();
    assert_eq!(countdown.level, ClockLevel::Overdue);
    assert!(countdown.remaining.is_negative());

    // Taken: no more ladder, no countdown.
    let taken = desk
        .act(
            created.id,
            shimin_client::Op::AcceptReservation {
                slot: Slot {
                    start,
                    end: start + chrono::Duration::minutes(30),
                },
            },
        )
        .await
        .unwrap();
    assert!(desk.ladder_steps(&taken).await.unwrap().is_empty());
    assert_eq!(desk.countdown(&taken).await.unwrap(), None);
    desk.close().await;
}

fn calendar_with_2027() -> CalendarWire {
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
async fn missing_next_year_schedule_warns_from_first_december_until_the_calendar_arrives() {
    let s = server().await;
    let unit_name = s.county.departments().next().unwrap().name;
    let dir = tempfile::tempdir().unwrap();
    let desk = s.desk(&dir, Role::Clerk, Some(unit_name)).await;
    let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
    assert_eq!(desk.calendar_warning_on(day(11, 29)).await.unwrap(), None);
    let warning = desk
        .calendar_warning_on(day(12, 1))
        .await
        .unwrap()
        .expect("warning");
    assert_eq!(warning.missing_year, 2027);
    assert!(desk.calendar_warning_on(day(12, 31)).await.unwrap().is_some());
    // The status bar shows today's answer.
    assert_eq!(
        desk.status().borrow().calendar_warning,
        desk.calendar_warning().await.unwrap()
    );

    // The administrator imports the 2027 schedule; the desk pulls it.
    let updated = shimin_server::calendar::update(s.server.store(), &calendar_with_2027(), None)
        .await
        .unwrap();
    s.server.state().set_calendar(updated.calendar);
    desk.sync_now().await.unwrap();
    assert_eq!(desk.clocks().await.unwrap().calendar().data_version(), 2);
    assert_eq!(desk.calendar_warning_on(day(12, 1)).await.unwrap(), None);
    assert_eq!(desk.status().borrow().calendar_warning, None);
    desk.close().await;
}
