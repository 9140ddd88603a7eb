//! View models of the UI contract (ui/src/api/contract.ts): queue rows, item detail, status,
//! countdown labels. Pure mapping from the desk core's types; no I/O.

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use shimin_client::view::facts;
use shimin_client::{ClockLevel, Clocks, Countdown, ItemView, SyncStatus};
use shimin_domain::calendar::WorkCalendar;
use shimin_domain::card::Card;
use shimin_domain::item::{citizen_progress_zh, decide, Command, CustodyStep, ItemKind, Status};
use shimin_protocol::{AttachmentRef, Colleague, Delivery, Matter, Slot, Unit, UserInfo};
use std::collections::HashMap;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub role_name: String,
    pub unit_id: Option<i64>,
    pub unit_name: Option<String>,
    /// The main screen for the role (`Role::workspace`): `counter`, `agent`, `office`,
    /// `supervision`.
    pub workspace: &'static str,
    /// The call panel and 暂离 are shown (a window's clerk or leader).
    pub has_counter: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SessionView {
    pub user: UserView,
    pub must_change_password: bool,
    pub remembered: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct StatusView {
    pub online: bool,
    pub endpoint: Option<String>,
    pub endpoint_url: Option<String>,
    /// How the endpoint in use carries the traffic: `https`, `plain_intranet`.
    pub security: Option<shimin_client::Security>,
    /// An endpoint refused for transport security (certificate, plain HTTP), in Chinese.
    pub security_problem: Option<String>,
    pub pending: u64,
    pub uploads_pending: u64,
    pub last_sync: Option<DateTime<Utc>>,
    pub live: bool,
    pub last_error: Option<String>,
    pub calendar_warning_year: Option<i32>,
    pub away: bool,
    pub attention: u32,
    /// Increases with every view built: the window keeps the newest one, whichever way it came
    /// (a command's answer and an event travel on different channels and may cross).
    pub revision: u64,
}

impl StatusView {
    pub fn new(s: &SyncStatus, away: bool, attention: u32, revision: u64) -> StatusView {
        StatusView {
            online: s.online,
            endpoint: s.endpoint.clone(),
            endpoint_url: s.endpoint_url.clone(),
            security: s.security,
            security_problem: s.security_problem.as_ref().map(|p| p.message.clone()),
            pending: s.pending,
            uploads_pending: s.uploads_pending,
            last_sync: s.last_sync,
            live: s.live,
            last_error: s.last_error.clone(),
            calendar_warning_year: s.calendar_warning.map(|w| w.missing_year),
            away,
            attention,
            revision,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CountdownView {
    pub clock_name: String,
    pub due_at: Option<DateTime<Utc>>,
    pub remaining_minutes: i64,
    pub level: ClockLevel,
    pub provisional: bool,
    /// The supervision card held now (`yellow`, `red`), if any.
    pub card: Option<&'static str>,
    /// The next card and the working minutes until it comes.
    pub next_card: Option<NextCardView>,
    pub label: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NextCardView {
    pub card: &'static str,
    pub minutes: i64,
}

/// Working minutes as the counter reads them: "1天2小时5分" (a working day is 8 working hours
/// for display only; the deadline itself is computed on the calendar).
pub fn working_span(minutes: i64) -> String {
    let m = minutes.abs();
    let (d, h, mi) = (m / 480, (m % 480) / 60, m % 60);
    match (d, h) {
        (0, 0) => format!("{mi}分"),
        (0, _) => format!("{h}小时{mi}分"),
        _ => format!("{d}天{h}小时"),
    }
}

impl From<Countdown> for CountdownView {
    fn from(c: Countdown) -> CountdownView {
        let minutes = c.remaining.as_secs().div_euclid(60);
        let next = c
            .next_card
            .map(|(card, left)| (card, left.as_secs().div_euclid(60)));
        // What the clerk is judged by comes with the time left: the next card and when.
        let mut label = match (c.level, c.card, next) {
            (ClockLevel::Paused, ..) => format!("暂停（补正中，剩余{}）", working_span(minutes)),
            (ClockLevel::Overdue, ..) => format!("已超期 {}，红牌", working_span(minutes)),
            (_, Some(Card::Yellow), _) => format!("已黄牌，{}后红牌", working_span(minutes)),
            (_, _, Some((card, m))) if m < minutes => {
                format!(
                    "剩余 {}（{}后{}）",
                    working_span(minutes),
                    working_span(m),
                    card.name_zh()
                )
            }
            _ => format!("剩余 {}（到期红牌）", working_span(minutes)),
        };
        if c.provisional {
            label.push_str("（暂定）");
        }
        CountdownView {
            clock_name: c.clock.name_zh().to_owned(),
            due_at: c.due,
            remaining_minutes: minutes,
            level: c.level,
            provisional: c.provisional,
            card: c.card.map(Card::code),
            next_card: next.map(|(card, minutes)| NextCardView {
                card: card.code(),
                minutes,
            }),
            label,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QueueRow {
    pub id: uuid::Uuid,
    pub number: String,
    pub kind: String,
    pub kind_name: String,
    pub status: String,
    pub status_name: String,
    pub closed: bool,
    pub title: String,
    pub applicant_name: String,
    pub matter_name: Option<String>,
    pub unit_name: Option<String>,
    pub handler_name: Option<String>,
    pub received_at: DateTime<Utc>,
    pub countdown: Option<CountdownView>,
    pub overdue: bool,
    pub supervision: bool,
    pub pending: bool,
    pub slot: Option<Slot>,
}

/// The applicant as screens show them: the ID number and phone masked for every role
/// (1304**********583X, 138****5678); the full value only through `reveal_personal`, which
/// leaves an audit entry (issue 16).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ApplicantView {
    pub name: String,
    pub id_number: String,
    pub phone: String,
    /// This user may show the masked numbers in full (their desk holds them).
    pub revealable: bool,
}

impl ApplicantView {
    fn of(a: &shimin_protocol::Applicant, me: Option<&UserInfo>) -> ApplicantView {
        let shown = a.as_on_screen();
        ApplicantView {
            name: shown.name,
            id_number: shown.id_number,
            phone: shown.phone,
            revealable: me.is_some_and(|u| u.actor().holds_personal_data()),
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistoryEntry {
    pub at: DateTime<Utc>,
    pub actor_name: String,
    pub action: String,
    pub action_name: String,
    pub status_name: String,
    pub note: Option<String>,
    pub place: Option<String>,
}

/// One hand-over of a delegated case (代办件流转).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CustodyEntry {
    pub at: DateTime<Utc>,
    pub step: String,
    pub step_name: &'static str,
    pub actor_name: String,
    pub place: Option<String>,
    pub note: Option<String>,
}

/// A material of the matter's list and the files gathered for it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MaterialCheck {
    pub material: String,
    pub attachments: Vec<AttachmentRef>,
    /// Named in the open one-time supplement notice.
    pub requested: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Delegation {
    pub agent_name: Option<String>,
    pub checklist: Vec<MaterialCheck>,
    pub other_attachments: Vec<AttachmentRef>,
    pub custody: Vec<CustodyEntry>,
    pub delivery: Option<Delivery>,
    pub citizen_progress: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MatterInfo {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub promised_days: u32,
    pub materials: Vec<String>,
    pub fee_fen: i64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ItemDetail {
    #[serde(flatten)]
    pub row: QueueRow,
    pub content: String,
    pub applicant: ApplicantView,
    pub requested_slot: Option<Slot>,
    pub granted_slot: Option<Slot>,
    pub reply: Option<String>,
    pub missing_materials: Vec<String>,
    pub rating: Option<u8>,
    pub receipt_no: Option<String>,
    pub matter: Option<MatterInfo>,
    pub history: Vec<HistoryEntry>,
    pub pending_ops: u32,
    pub allowed_actions: Vec<&'static str>,
    pub advance_to: Vec<(&'static str, &'static str)>,
    pub delegation: Option<Delegation>,
}

impl From<&Matter> for MatterInfo {
    fn from(m: &Matter) -> MatterInfo {
        MatterInfo {
            id: m.id,
            code: m.code.clone(),
            name: m.name.clone(),
            promised_days: m.promised_days,
            materials: m.materials.clone(),
            fee_fen: m.fee_fen,
        }
    }
}

/// Names for ids: units, matters, colleagues; and the clocks. Built once per command.
#[derive(Debug)]
pub struct Lookup {
    pub units: HashMap<i64, Unit>,
    pub matters: HashMap<i64, Matter>,
    pub colleagues: HashMap<i64, Colleague>,
    pub clocks: Clocks,
    pub now: DateTime<Utc>,
}

impl Lookup {
    pub fn user(&self, u: &UserInfo) -> UserView {
        UserView {
            id: u.id,
            username: u.username.clone(),
            display_name: u.display_name.clone(),
            role: u.role.code().to_owned(),
            role_name: u.role.name_zh().to_owned(),
            unit_id: u.unit_id,
            unit_name: u
                .unit_id
                .and_then(|id| self.units.get(&id))
                .map(|u| u.name.clone()),
            workspace: u.role.workspace().code(),
            has_counter: u.role.workspace().has_counter(),
        }
    }

    pub fn row(&self, v: &ItemView) -> QueueRow {
        let r = &v.record;
        let countdown = match self.clocks.countdown(v, self.now) {
            Ok(c) => c.map(CountdownView::from),
            Err(e) => {
                tracing::warn!(item = %r.number, error = %e, "countdown not computable");
                None
            }
        };
        QueueRow {
            id: r.id,
            number: r.number.clone(),
            kind: r.kind.code().to_owned(),
            kind_name: r.kind.name_zh().to_owned(),
            status: r.status.code().to_owned(),
            status_name: r.status.name_zh().to_owned(),
            closed: r.status.is_closed(),
            title: r.title.clone(),
            applicant_name: r.applicant.name.clone(),
            matter_name: r
                .matter_id
                .and_then(|id| self.matters.get(&id))
                .map(|m| m.name.clone()),
            unit_name: self.units.get(&r.unit_id).map(|u| u.name.clone()),
            handler_name: r
                .handler_id
                .and_then(|id| self.colleagues.get(&id))
                .map(|c| c.display_name.clone()),
            received_at: r.received_at,
            countdown,
            overdue: r.overdue,
            supervision: r.supervision,
            pending: v.pending,
            slot: r.details.granted_slot.or(r.details.requested_slot),
        }
    }

    pub fn detail(&self, v: &ItemView, me: Option<&UserInfo>) -> ItemDetail {
        let r = &v.record;
        let (allowed_actions, advance_to) = me.map(|u| allowed(v, u)).unwrap_or_default();
        ItemDetail {
            row: self.row(v),
            content: r.content.clone(),
            applicant: ApplicantView::of(&r.applicant, me),
            requested_slot: r.details.requested_slot,
            granted_slot: r.details.granted_slot,
            reply: r.details.reply.clone(),
            missing_materials: r.details.missing_materials.clone(),
            rating: r.details.rating,
            receipt_no: r.details.receipt_no.clone(),
            matter: r
                .matter_id
                .and_then(|id| self.matters.get(&id))
                .map(MatterInfo::from),
            history: r
                .events
                .iter()
                .map(|e| HistoryEntry {
                    at: e.at,
                    actor_name: e.actor_name.clone(),
                    action: e.action.clone(),
                    action_name: Command::action_name_zh(&e.action).to_owned(),
                    status_name: e.status.name_zh().to_owned(),
                    note: e.note.clone(),
                    place: e.place.clone(),
                })
                .collect(),
            pending_ops: v.pending_ops,
            allowed_actions,
            advance_to,
            delegation: self.delegation(r),
        }
    }

    /// The delegated-case part of a detail: materials checklist, custody chain, progress.
    fn delegation(&self, r: &shimin_protocol::ItemRecord) -> Option<Delegation> {
        let (kind, status) = (r.kind, r.status);
        if kind != ItemKind::DelegatedCase {
            return None;
        }
        let listed: Vec<String> = r
            .matter_id
            .and_then(|id| self.matters.get(&id))
            .map(|m| m.materials.clone())
            .unwrap_or_default();
        let open_notice = status == Status::Supplement;
        let checklist = listed
            .iter()
            .map(|m| MaterialCheck {
                material: m.clone(),
                attachments: r
                    .details
                    .attachments
                    .iter()
                    .filter(|a| &a.material == m)
                    .cloned()
                    .collect(),
                requested: open_notice && r.details.missing_materials.contains(m),
            })
            .collect();
        let other_attachments = r
            .details
            .attachments
            .iter()
            .filter(|a| !listed.contains(&a.material))
            .cloned()
            .collect();
        let custody = r
            .events
            .iter()
            .filter_map(|e| {
                let step = CustodyStep::of_event(&e.action, e.status)?;
                Some(CustodyEntry {
                    at: e.at,
                    step: format!("{step:?}"),
                    step_name: step.name_zh(),
                    actor_name: e.actor_name.clone(),
                    place: e.place.clone(),
                    note: e.note.clone(),
                })
            })
            .collect();
        Some(Delegation {
            agent_name: r
                .agent_id
                .and_then(|id| self.colleagues.get(&id))
                .map(|c| c.display_name.clone())
                .or_else(|| r.events.first().map(|e| e.actor_name.clone())),
            checklist,
            other_attachments,
            custody,
            delivery: r.details.delivery.clone(),
            citizen_progress: citizen_progress_zh(kind, status),
        })
    }
}

/// What `user` may do to the item now, by the same rules (`decide`) the server applies.
pub fn allowed(v: &ItemView, user: &UserInfo) -> (Vec<&'static str>, Vec<(&'static str, &'static str)>) {
    let actor = user.actor();
    let item = facts(&v.record);
    let may = |c: Command| decide(&item, &actor, c).is_ok();
    let simple = [
        Command::Claim,
        Command::AcceptReservation,
        Command::RejectReservation,
        Command::MarkArrived,
        Command::MarkNoShow,
        Command::ReplyConsultation,
        Command::PassPreReview,
        Command::RequestSupplement,
        Command::Resubmit,
        Command::RefuseApplication,
        Command::HandOver,
        Command::AddAttachment,
        Command::CollectResult,
        Command::DeliverToCitizen,
        Command::AddNote,
        Command::ReplyComplaint,
        Command::MarkRead,
        // Any other unit: only the handling unit itself is refused (SameUnit).
        Command::Transfer(-1),
    ];
    let mut actions: Vec<&'static str> = simple
        .into_iter()
        .filter(|c| may(*c))
        .map(Command::code)
        .collect();
    // Claiming what one already holds is allowed by the rules but means nothing at the counter.
    if v.record.handler_id == Some(user.id) {
        actions.retain(|a| *a != "claim");
    }
    let advance_to: Vec<(&'static str, &'static str)> = Status::APPLICATION_STAGES
        .into_iter()
        .filter(|s| may(Command::Advance(*s)))
        .map(|s| (s.code(), s.name_zh()))
        .collect();
    if !advance_to.is_empty() {
        actions.push("advance");
    }
    (actions, advance_to)
}

/// A day the accept-reservation dialog offers, with its free slots inside office hours.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SlotDay {
    pub date: NaiveDate,
    /// "12月3日 周四".
    pub label: String,
    pub slots: Vec<Slot>,
}

/// How many working days the accept dialog offers.
pub const SLOT_DAYS: usize = 10;
/// The slot length when the citizen asked for none usable (minutes).
pub const DEFAULT_SLOT_MINUTES: i64 = 30;

/// The slots a clerk may grant for a reservation: the next working days' office sessions cut
/// into slots as long as the one asked for (10 to 120 minutes, else 30), the asked slot itself
/// when it lies inside office hours, nothing already past (`now` local).
pub fn slot_days(cal: &WorkCalendar, requested: Option<Slot>, now: NaiveDateTime) -> Vec<SlotDay> {
    let asked = requested.filter(|r| r.start > now && cal.within_hours(r.start, r.end));
    let minutes = requested
        .map(|r| (r.end - r.start).num_minutes())
        .filter(|m| (10..=120).contains(m))
        .unwrap_or(DEFAULT_SLOT_MINUTES);
    cal.working_days_from(now.date(), SLOT_DAYS)
        .into_iter()
        .filter_map(|date| {
            let mut slots: Vec<Slot> = cal
                .slots_on(date, chrono::Duration::minutes(minutes))
                .into_iter()
                .filter(|(start, _)| *start > now)
                .map(|(start, end)| Slot { start, end })
                .collect();
            if let Some(a) = asked.filter(|a| a.start.date() == date && !slots.contains(a)) {
                slots.push(a);
                slots.sort_by_key(|s| (s.start, s.end));
            }
            (!slots.is_empty()).then(|| SlotDay {
                date,
                label: day_label(date),
                slots,
            })
        })
        .collect()
}

fn day_label(date: NaiveDate) -> String {
    const WEEKDAYS: [&str; 7] = ["周一", "周二", "周三", "周四", "周五", "周六", "周日"];
    format!(
        "{}月{}日 {}",
        date.month(),
        date.day(),
        WEEKDAYS[date.weekday().num_days_from_monday() as usize]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use shimin_domain::clock::WorkingDuration;
    use shimin_domain::statutory::ClockKind;

    #[test]
    fn spans_read_like_a_counter_clock() {
        assert_eq!(working_span(42), "42分");
        assert_eq!(working_span(-42), "42分");
        assert_eq!(working_span(125), "2小时5分");
        assert_eq!(working_span(480 * 3 + 120), "3天2小时");
    }

    #[test]
    fn countdown_labels_by_level() {
        let c = |level, secs, provisional| Countdown {
            clock: ClockKind::Reservation,
            due: None,
            remaining: WorkingDuration::from_secs(secs),
            level,
            provisional,
            card: None,
            next_card: None,
        };
        let yellow_in = |secs| Some((Card::Yellow, WorkingDuration::from_secs(secs)));
        let v = CountdownView::from(Countdown {
            next_card: yellow_in(20 * 60 + 10),
            ..c(ClockLevel::Normal, 42 * 60 + 30, false)
        });
        assert_eq!(
            (v.label.as_str(), v.remaining_minutes),
            ("剩余 42分（20分后黄牌）", 42)
        );
        assert_eq!(
            v.next_card,
            Some(NextCardView {
                card: "yellow",
                minutes: 20
            })
        );
        assert_eq!(v.clock_name, "预约响应");
        let v = CountdownView::from(Countdown {
            card: Some(Card::Yellow),
            next_card: Some((Card::Red, WorkingDuration::from_secs(9 * 60))),
            ..c(ClockLevel::Warning, 9 * 60, false)
        });
        assert_eq!((v.label.as_str(), v.card), ("已黄牌，9分后红牌", Some("yellow")));
        let v = CountdownView::from(Countdown {
            card: Some(Card::Red),
            ..c(ClockLevel::Overdue, -61 * 60, true)
        });
        assert_eq!(v.label, "已超期 1小时1分，红牌（暂定）");
        assert_eq!(v.remaining_minutes, -61);
        assert!(CountdownView::from(c(ClockLevel::Paused, 600, false))
            .label
            .starts_with("暂停"));
    }

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn the_accept_dialog_offers_future_slots_inside_office_hours_and_the_asked_one() {
        let cal = WorkCalendar::builtin();
        // Thursday 10:05; the citizen asked for Friday 9:10–9:30 (20 minutes, off the grid).
        let asked = Slot {
            start: at("2026-12-04 09:10"),
            end: at("2026-12-04 09:30"),
        };
        let days = slot_days(&cal, Some(asked), at("2026-12-03 10:05"));
        assert_eq!(days.len(), SLOT_DAYS);
        assert_eq!(days[0].label, "12月3日 周四");
        assert_eq!(
            days[0].slots[0].start,
            at("2026-12-03 10:10"),
            "nothing already past"
        );
        assert!(days
            .iter()
            .all(|d| d.slots.iter().all(
                |s| s.end - s.start == chrono::Duration::minutes(20) && cal.within_hours(s.start, s.end)
            )));
        assert_eq!(days[1].label, "12月4日 周五");
        assert!(days[1].slots.contains(&asked), "the asked slot is offered");
        assert!(days.iter().all(|d| cal.is_working_day(d.date)), "no weekend");
        // Asked outside office hours (lunch): not offered; the usual slots are.
        let lunch = Slot {
            start: at("2026-12-04 12:00"),
            end: at("2026-12-04 12:30"),
        };
        let days = slot_days(&cal, Some(lunch), at("2026-12-03 10:05"));
        assert!(!days.iter().any(|d| d.slots.contains(&lunch)));
        assert_eq!(
            days[1].slots[0],
            Slot {
                start: at("2026-12-04 08:30"),
                end: at("2026-12-04 09:00")
            }
        );
        // After closing time the first day offered is the next working day.
        let days = slot_days(&cal, None, at("2026-12-04 17:40"));
        assert_eq!(days[0].label, "12月7日 周一");
    }
}
