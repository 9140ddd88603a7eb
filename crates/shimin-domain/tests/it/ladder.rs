//! Reservation notification ladder (R-RES-NOTIFY) and acting A (R-AB).

use shimin_domain::calendar::WorkCalendar;
use shimin_domain::clock::{ClockError, WorkingDuration};
use shimin_domain::ladder::{
    acting_a, due_steps, reservation_ladder, LadderConfig, LadderStep, Presence, Recipient, StepLevel,
};

use crate::clock::{show, t};

fn render(steps: &[LadderStep]) -> Vec<(String, Recipient, StepLevel)> {
    steps.iter().map(|s| (show(s.at), s.recipient, s.level)).collect()
}

fn expect(rows: [(&str, Recipient, StepLevel); 4]) -> Vec<(String, Recipient, StepLevel)> {
    rows.iter().map(|(a, r, l)| (a.to_string(), *r, *l)).collect()
}

use Recipient::{AClerk, BClerk, Leader, Supervision};
use StepLevel::{Notify, Overdue, Warning};

#[test]
fn default_ladder() {
    let cal = WorkCalendar::builtin();
    let check = |received: &str, expected: [(&str, Recipient, StepLevel); 4]| {
        let ladder = reservation_ladder(&cal, t(received), &LadderConfig::default()).unwrap();
        assert_eq!(render(&ladder), expect(expected), "received {received}");
    };
    let table = [
        (
            "2026-03-02 10:00",
            [
                ("2026-03-02 10:00", AClerk, Notify),
                ("2026-03-02 10:30", BClerk, Notify),
                ("2026-03-02 10:50", Leader, Warning),
                ("2026-03-02 11:00", Supervision, Overdue),
            ],
        ),
        // over the winter lunch break
        (
            "2026-03-02 11:40",
            [
                ("2026-03-02 11:40", AClerk, Notify),
                ("2026-03-02 13:40", BClerk, Notify),
                ("2026-03-02 14:00", Leader, Warning),
                ("2026-03-02 14:10", Supervision, Overdue),
            ],
        ),
        // received in the lunch break: clock starts 13:30 (DOMAIN.md: due 14:30)
        (
            "2026-03-02 12:10",
            [
                ("2026-03-02 13:30", AClerk, Notify),
                ("2026-03-02 14:00", BClerk, Notify),
                ("2026-03-02 14:20", Leader, Warning),
                ("2026-03-02 14:30", Supervision, Overdue),
            ],
        ),
        // late afternoon: the leader is warned at closing time, overdue next morning
        (
            "2026-03-02 16:40",
            [
                ("2026-03-02 16:40", AClerk, Notify),
                ("2026-03-02 17:10", BClerk, Notify),
                ("2026-03-02 17:30", Leader, Warning),
                ("2026-03-03 08:40", Supervision, Overdue),
            ],
        ),
        // Friday evening before a holiday: everything on the next working day
        (
            "2026-04-03 18:00",
            [
                ("2026-04-07 08:30", AClerk, Notify),
                ("2026-04-07 09:00", BClerk, Notify),
                ("2026-04-07 09:20", Leader, Warning),
                ("2026-04-07 09:30", Supervision, Overdue),
            ],
        ),
    ];
    for (received, expected) in table {
        check(received, expected);
    }
}

#[test]
fn custom_config() {
    let cal = WorkCalendar::builtin();
    let cfg = LadderConfig {
        b_after: 0.25,
        leader_before: WorkingDuration::from_minutes(5),
    };
    let ladder = reservation_ladder(&cal, t("2026-07-01 11:30"), &cfg).unwrap();
    assert_eq!(
        render(&ladder),
        expect([
            ("2026-07-01 11:30", AClerk, Notify),
            ("2026-07-01 11:45", BClerk, Notify),
            ("2026-07-01 14:55", Leader, Warning),
            ("2026-07-01 15:00", Supervision, Overdue),
        ])
    );
    // B after the leader's warning: steps stay in time order
    let cfg = LadderConfig {
        b_after: 0.95,
        leader_before: WorkingDuration::from_minutes(10),
    };
    let ladder = reservation_ladder(&cal, t("2026-03-02 10:00"), &cfg).unwrap();
    assert_eq!(
        render(&ladder),
        expect([
            ("2026-03-02 10:00", AClerk, Notify),
            ("2026-03-02 10:50", Leader, Warning),
            ("2026-03-02 10:57", BClerk, Notify),
            ("2026-03-02 11:00", Supervision, Overdue),
        ])
    );
}

#[test]
fn invalid_config() {
    let cal = WorkCalendar::builtin();
    let check = |b_after: f64, leader_min: i64| {
        let cfg = LadderConfig {
            b_after,
            leader_before: WorkingDuration::from_minutes(leader_min),
        };
        let r = reservation_ladder(&cal, t("2026-03-02 10:00"), &cfg);
        assert!(
            matches!(r, Err(ClockError::InvalidLadderConfig(_))),
            "{b_after} {leader_min}: {r:?}"
        );
    };
    for (b_after, leader_min) in [
        (0.0, 10),
        (1.0, 10),
        (-0.5, 10),
        (f64::NAN, 10),
        (0.5, -1),
        (0.5, 60),
        (0.5, 90),
    ] {
        check(b_after, leader_min);
    }
}

#[test]
fn steps_reached_by_now() {
    let cal = WorkCalendar::builtin();
    let ladder = reservation_ladder(&cal, t("2026-03-02 16:40"), &LadderConfig::default()).unwrap();
    let check = |now: &str, expected: &[Recipient]| {
        let got: Vec<Recipient> = due_steps(&ladder, t(now)).iter().map(|s| s.recipient).collect();
        assert_eq!(got, expected, "now {now}");
    };
    let table: [(&str, &[Recipient]); 7] = [
        ("2026-03-02 16:39", &[]),
        ("2026-03-02 16:40", &[AClerk]),
        ("2026-03-02 17:09", &[AClerk]),
        ("2026-03-02 17:10", &[AClerk, BClerk]),
        ("2026-03-02 20:00", &[AClerk, BClerk, Leader]),
        ("2026-03-03 08:39", &[AClerk, BClerk, Leader]),
        ("2026-03-03 08:40", &[AClerk, BClerk, Leader, Supervision]),
    ];
    for (now, expected) in table {
        check(now, expected);
    }
}

#[test]
fn who_acts_as_a() {
    use Presence::{Away, OffShift, OnDuty, OnLeave};
    let check = |a: Presence, b: Presence, expected: Recipient| {
        assert_eq!(acting_a(a, b), expected, "A {a:?}, B {b:?}");
    };
    let all = [OnDuty, Away, OnLeave, OffShift];
    for b in all {
        check(OnDuty, b, AClerk);
    }
    for a in [Away, OnLeave, OffShift] {
        check(a, OnDuty, BClerk);
        for b in [Away, OnLeave, OffShift] {
            check(a, b, Leader);
        }
    }
}
