//! A hall ticket's way through a counter (窗口叫号) and the times reports take from it (R-CTR).
//!
//! A ticket (号: a reservation's Y001, a walk-in's W001) is called (叫号), maybe called again
//! (重呼), served from the moment the citizen sits down (开始办理), maybe suspended while the
//! citizen fetches a document (挂起) and resumed (恢复), and ends finished (办结), as a no-show
//! (过号) or transferred to another window (转窗). Each step is an event with its time; the
//! waiting time (等候时长) and the service time (办理时长) are computed here, once, from those
//! events, so the desk's own figures and the server's reports agree. Suspended time is the
//! citizen's, not the clerk's: it never counts as service time.

use chrono::{DateTime, Duration, Utc};

use crate::role::{Actor, FigureScope, Role};

/// One step of a ticket at a counter. Codes are stable (stored and sent on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketStep {
    /// 叫号: the ticket is called to the window.
    Called,
    /// 重呼: called again (the citizen did not hear it).
    Recalled,
    /// 开始办理: the citizen is at the window.
    Started,
    /// 挂起: waiting for the citizen (a missing document); the clock of service stops.
    Suspended,
    /// 恢复: the suspended ticket is served again.
    Resumed,
    /// 办结: served.
    Finished,
    /// 过号: the citizen did not come.
    NoShow,
    /// 转窗: sent to another window.
    Transferred,
}

impl TicketStep {
    pub const ALL: [TicketStep; 8] = [
        TicketStep::Called,
        TicketStep::Recalled,
        TicketStep::Started,
        TicketStep::Suspended,
        TicketStep::Resumed,
        TicketStep::Finished,
        TicketStep::NoShow,
        TicketStep::Transferred,
    ];

    pub fn code(self) -> &'static str {
        match self {
            TicketStep::Called => "called",
            TicketStep::Recalled => "recalled",
            TicketStep::Started => "started",
            TicketStep::Suspended => "suspended",
            TicketStep::Resumed => "resumed",
            TicketStep::Finished => "finished",
            TicketStep::NoShow => "no_show",
            TicketStep::Transferred => "transferred",
        }
    }

    pub fn from_code(code: &str) -> Option<TicketStep> {
        TicketStep::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            TicketStep::Called => "叫号",
            TicketStep::Recalled => "重呼",
            TicketStep::Started => "开始办理",
            TicketStep::Suspended => "挂起",
            TicketStep::Resumed => "恢复办理",
            TicketStep::Finished => "办结",
            TicketStep::NoShow => "过号",
            TicketStep::Transferred => "转窗",
        }
    }

    /// A step after which the ticket is no longer at this counter.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TicketStep::Finished | TicketStep::NoShow | TicketStep::Transferred
        )
    }

    /// A call heard in the hall (the hall screen and the voice show these).
    pub fn is_call(self) -> bool {
        matches!(self, TicketStep::Called | TicketStep::Recalled)
    }
}

/// What a ticket's events say about its times.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketTimes {
    /// The first call.
    pub called_at: Option<DateTime<Utc>>,
    /// Service began: the first 开始办理, or the first call when the clerk went straight on.
    pub started_at: Option<DateTime<Utc>>,
    /// The final step's time and the step.
    pub ended: Option<(TicketStep, DateTime<Utc>)>,
    /// Issue (取号 / the reservation's slot start) to the first call.
    pub waited: Option<Duration>,
    /// Start of service to its end, less the suspended time; `None` until served to the end
    /// (finished or transferred after service began).
    pub served: Option<Duration>,
    /// Time spent suspended (挂起 to 恢复, or to the end).
    pub suspended: Duration,
}

/// The times of a ticket issued at `issued_at`, from its steps (in any order: sorted by time
/// here, ties kept in the order given). Steps after the final one are ignored; a suspension
/// still open at the end counts up to the end.
pub fn ticket_times(issued_at: DateTime<Utc>, steps: &[(TicketStep, DateTime<Utc>)]) -> TicketTimes {
    let mut steps = steps.to_vec();
    steps.sort_by_key(|(_, at)| *at);
    let mut called_at = None;
    let mut started_at = None;
    let mut suspended_since: Option<DateTime<Utc>> = None;
    let mut suspended = Duration::zero();
    let mut ended = None;
    for (step, at) in steps {
        match step {
            TicketStep::Called | TicketStep::Recalled => {
                called_at.get_or_insert(at);
            }
            TicketStep::Started => {
                started_at.get_or_insert(at);
            }
            TicketStep::Suspended => {
                started_at.get_or_insert(called_at.unwrap_or(at));
                suspended_since.get_or_insert(at);
            }
            TicketStep::Resumed => {
                if let Some(since) = suspended_since.take() {
                    suspended += at - since;
                }
            }
            TicketStep::Finished | TicketStep::NoShow | TicketStep::Transferred => {
                if let Some(since) = suspended_since.take() {
                    suspended += at - since;
                }
                if step != TicketStep::NoShow {
                    started_at.get_or_insert(called_at.unwrap_or(at));
                }
                ended = Some((step, at));
                break;
            }
        }
    }
    let served = match (started_at, ended) {
        (Some(start), Some((step, end))) if step != TicketStep::NoShow => {
            Some(((end - start) - suspended).max(Duration::zero()))
        }
        _ => None,
    };
    TicketTimes {
        called_at,
        started_at,
        ended,
        waited: called_at.map(|c| (c - issued_at).max(Duration::zero())),
        served,
        suspended,
    }
}

/// Who may record counter events: users whose desk has a counter ([`Role::workspace`]), bound
/// to a unit.
pub fn may_record(actor: &Actor) -> bool {
    actor.role.workspace().has_counter() && actor.unit_id.is_some()
}

/// The tickets `actor` may see in reports; `None`: no counter work to see.
pub fn ticket_scope(actor: &Actor) -> Option<FigureScope> {
    match (actor.role, actor.unit_id) {
        (Role::DeptLeader, Some(unit)) => Some(FigureScope::Unit(unit)),
        (r, _) if r.is_supervision() => Some(FigureScope::All),
        (r, Some(_)) if r.workspace().has_counter() => Some(FigureScope::Own(actor.user_id)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::TicketStep::*;
    use super::*;
    use chrono::TimeZone;

    /// Minutes after 09:00 UTC on a fixed day.
    fn t(min: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap() + Duration::minutes(min)
    }

    fn mins(m: i64) -> Duration {
        Duration::minutes(m)
    }

    #[test]
    fn codes_round_trip() {
        for s in TicketStep::ALL {
            assert_eq!(TicketStep::from_code(s.code()), Some(s));
            assert!(!s.name_zh().is_empty());
        }
        assert_eq!(TicketStep::from_code("served"), None);
    }

    #[test]
    fn waiting_and_service_times() {
        // (case, steps at minutes, waited, served, suspended)
        type Case = (
            &'static str,
            Vec<(TicketStep, i64)>,
            Option<i64>,
            Option<i64>,
            i64,
        );
        let table: Vec<Case> = vec![
            (
                "called, started, finished",
                vec![(Called, 10), (Started, 12), (Finished, 30)],
                Some(10),
                Some(18),
                0,
            ),
            (
                "finished without a start: service from the call",
                vec![(Called, 5), (Finished, 20)],
                Some(5),
                Some(15),
                0,
            ),
            (
                "a recall does not restart the wait",
                vec![(Called, 5), (Recalled, 8), (Started, 9), (Finished, 19)],
                Some(5),
                Some(10),
                0,
            ),
            (
                "suspended time is not service time",
                vec![
                    (Called, 0),
                    (Started, 1),
                    (Suspended, 11),
                    (Resumed, 41),
                    (Finished, 51),
                ],
                Some(0),
                Some(20),
                30,
            ),
            (
                "two suspensions add up",
                vec![
                    (Called, 0),
                    (Started, 0),
                    (Suspended, 5),
                    (Resumed, 10),
                    (Suspended, 15),
                    (Resumed, 25),
                    (Finished, 30),
                ],
                Some(0),
                Some(15),
                15,
            ),
            (
                "a suspension open at the end counts to the end",
                vec![(Called, 0), (Started, 0), (Suspended, 10), (Finished, 40)],
                Some(0),
                Some(10),
                30,
            ),
            (
                "a no-show has a wait but no service",
                vec![(Called, 3), (Recalled, 5), (NoShow, 8)],
                Some(3),
                None,
                0,
            ),
            (
                "transferred after service: served so far",
                vec![(Called, 2), (Started, 3), (Transferred, 9)],
                Some(2),
                Some(6),
                0,
            ),
            (
                "still being served: no service time yet",
                vec![(Called, 2), (Started, 3)],
                Some(2),
                None,
                0,
            ),
            ("never called", vec![], None, None, 0),
            (
                "out of order events are sorted",
                vec![(Finished, 30), (Called, 10), (Started, 12)],
                Some(10),
                Some(18),
                0,
            ),
            (
                "steps after the end are ignored",
                vec![(Called, 1), (Finished, 2), (Resumed, 9), (Finished, 20)],
                Some(1),
                Some(1),
                0,
            ),
        ];
        for (case, steps, waited, served, suspended) in table {
            let steps: Vec<_> = steps.into_iter().map(|(s, m)| (s, t(m))).collect();
            let times = ticket_times(t(0), &steps);
            assert_eq!(times.waited, waited.map(mins), "{case}: waited");
            assert_eq!(times.served, served.map(mins), "{case}: served");
            assert_eq!(times.suspended, mins(suspended), "{case}: suspended");
        }
    }

    #[test]
    fn who_records_and_who_sees_tickets() {
        let unit = Some(7);
        for role in Role::ALL {
            let actor = Actor {
                user_id: 3,
                role,
                unit_id: unit,
            };
            let expected = match role {
                Role::Clerk => Some(FigureScope::Own(3)),
                Role::DeptLeader => Some(FigureScope::Unit(7)),
                Role::Manager | Role::CenterLeader | Role::Intake | Role::Inspector | Role::Sysadmin => {
                    Some(FigureScope::All)
                }
                Role::NetAdmin | Role::Agent | Role::Portal => None,
            };
            assert_eq!(ticket_scope(&actor), expected, "{role:?}");
            assert_eq!(
                may_record(&actor),
                matches!(role, Role::Clerk | Role::DeptLeader),
                "{role:?}"
            );
            assert!(
                !may_record(&Actor {
                    unit_id: None,
                    ..actor
                }),
                "{role:?} without a unit"
            );
        }
    }

    #[test]
    fn a_call_before_the_issue_time_waits_zero() {
        // A reservation called before its slot starts.
        let times = ticket_times(t(30), &[(Called, t(20)), (Finished, t(25))]);
        assert_eq!(times.waited, Some(Duration::zero()));
        assert_eq!(times.ended, Some((Finished, t(25))));
        assert_eq!(times.started_at, Some(t(20)));
    }
}
