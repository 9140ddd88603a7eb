//! The counter's call queue (窗口叫号): today's accepted reservations and walk-in tickets
//! (现场取号), in call order, as window queue systems work. Kept per desk in a small JSON file
//! (ticket numbers and item ids only — no personal data).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use shimin_protocol::Slot;
use std::collections::HashSet;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    Reservation,
    WalkIn,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub ticket_no: String,
    pub kind: TicketKind,
    pub item_id: Option<Uuid>,
    pub item_number: Option<String>,
    pub slot: Option<Slot>,
    pub issued_at: DateTime<Utc>,
}

/// A reservation accepted for today, as the queue sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookedToday {
    pub item_id: Uuid,
    pub number: String,
    pub slot: Slot,
    pub received_at: DateTime<Utc>,
}

/// The persisted part: what was issued and called today.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterBook {
    pub date: Option<NaiveDate>,
    pub walk_ins_issued: u32,
    /// Walk-in tickets not yet called.
    pub walk_ins: Vec<Ticket>,
    pub serving: Option<Ticket>,
    /// Reservation items already called today (they leave the waiting list).
    pub called_items: HashSet<Uuid>,
    pub called_today: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CounterState {
    pub serving: Option<Ticket>,
    pub waiting: Vec<Ticket>,
    pub called_today: u32,
    /// This counter's window number (窗口号), if set.
    pub window_no: Option<u32>,
}

impl CounterBook {
    /// A new day starts with an empty book.
    pub fn roll_to(&mut self, today: NaiveDate) {
        if self.date != Some(today) {
            *self = CounterBook {
                date: Some(today),
                ..CounterBook::default()
            };
        }
    }

    /// Issues the next walk-in ticket (W001, W002, …).
    pub fn walk_in(&mut self, now: DateTime<Utc>) -> Ticket {
        self.walk_ins_issued += 1;
        let t = Ticket {
            ticket_no: format!("W{:03}", self.walk_ins_issued),
            kind: TicketKind::WalkIn,
            item_id: None,
            item_number: None,
            slot: None,
            issued_at: now,
        };
        self.walk_ins.push(t.clone());
        t
    }

    /// The waiting list: reservations by slot start (numbered Y001… in slot order), walk-ins
    /// by issue time; merged by when each is due (slot start, or issue time).
    pub fn waiting(
        &self,
        booked: &[BookedToday],
        to_local: impl Fn(DateTime<Utc>) -> NaiveDateTime,
    ) -> Vec<Ticket> {
        let mut booked: Vec<&BookedToday> = booked.iter().collect();
        booked.sort_by_key(|b| (b.slot.start, b.received_at));
        let mut list: Vec<(NaiveDateTime, Ticket)> = booked
            .iter()
            .enumerate()
            .filter(|(_, b)| !self.called_items.contains(&b.item_id))
            .map(|(i, b)| {
                (
                    b.slot.start,
                    Ticket {
                        ticket_no: format!("Y{:03}", i + 1),
                        kind: TicketKind::Reservation,
                        item_id: Some(b.item_id),
                        item_number: Some(b.number.clone()),
                        slot: Some(b.slot),
                        issued_at: b.received_at,
                    },
                )
            })
            .collect();
        list.extend(self.walk_ins.iter().map(|t| (to_local(t.issued_at), t.clone())));
        list.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.ticket_no.cmp(&b.1.ticket_no)));
        list.into_iter().map(|(_, t)| t).collect()
    }

    /// Calls the first waiting ticket; the one being served (if any) is finished first.
    pub fn call_next(&mut self, waiting: &[Ticket]) -> Option<Ticket> {
        let next = waiting.first()?.clone();
        match next.item_id {
            Some(id) => {
                self.called_items.insert(id);
            }
            None => self.walk_ins.retain(|t| t.ticket_no != next.ticket_no),
        }
        self.serving = Some(next.clone());
        self.called_today += 1;
        Some(next)
    }

    pub fn finish(&mut self) -> Option<Ticket> {
        self.serving.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 1)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    fn local(t: DateTime<Utc>) -> NaiveDateTime {
        t.naive_utc() + chrono::Duration::hours(8)
    }

    fn booked(n: u8, start: NaiveDateTime) -> BookedToday {
        BookedToday {
            item_id: Uuid::from_u128(n as u128),
            number: format!("YY-{n}"),
            slot: Slot {
                start,
                end: start + chrono::Duration::minutes(30),
            },
            received_at: Utc.with_ymd_and_hms(2026, 11, 30, 1, 0, 0).unwrap(),
        }
    }

    #[test]
    fn reservations_and_walk_ins_are_called_in_due_order() {
        let mut book = CounterBook::default();
        book.roll_to(at(0, 0).date());
        // Walk-in at 09:10 local (01:10 UTC).
        let w = book.walk_in(Utc.with_ymd_and_hms(2026, 12, 1, 1, 10, 0).unwrap());
        assert_eq!(w.ticket_no, "W001");
        let list = [booked(2, at(10, 0)), booked(1, at(9, 0))];
        let waiting = book.waiting(&list, local);
        let order: Vec<&str> = waiting.iter().map(|t| t.ticket_no.as_str()).collect();
        assert_eq!(order, ["Y001", "W001", "Y002"]);
        assert_eq!(waiting[0].item_id, Some(Uuid::from_u128(1)));

        let first = book.call_next(&waiting).unwrap();
        assert_eq!(first.ticket_no, "Y001");
        let waiting = book.waiting(&list, local);
        assert_eq!(waiting.len(), 2, "a called reservation leaves the list");
        let second = book.call_next(&waiting).unwrap();
        assert_eq!(second.ticket_no, "W001");
        assert_eq!(book.waiting(&list, local).len(), 1);
        assert_eq!(book.finish(), Some(second));
        assert_eq!(book.called_today, 2);
    }

    #[test]
    fn a_new_day_starts_a_new_book() {
        let mut book = CounterBook::default();
        book.roll_to(at(0, 0).date());
        book.walk_in(Utc::now());
        book.roll_to(at(0, 0).date().succ_opt().unwrap());
        assert!(book.walk_ins.is_empty());
        assert_eq!(book.walk_in(Utc::now()).ticket_no, "W001");
        assert!(book.call_next(&[]).is_none());
    }
}
