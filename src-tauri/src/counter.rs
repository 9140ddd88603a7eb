//! The counter's call queue (窗口叫号): today's accepted reservations and walk-in tickets
//! (现场取号), in call order, as window queue systems work. Kept per desk in a small JSON file
//! (ticket numbers and item ids only — no personal data).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use shimin_domain::counter::TicketStep;
use shimin_protocol::{HallCall, Slot, TransferredTicket};
use std::collections::HashSet;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    Reservation,
    WalkIn,
    /// Sent here by another window of the site (转窗).
    Transferred,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub ticket_no: String,
    pub kind: TicketKind,
    pub item_id: Option<Uuid>,
    pub item_number: Option<String>,
    pub slot: Option<Slot>,
    /// Issued (a transferred ticket: when it was sent here).
    pub issued_at: DateTime<Utc>,
    /// A transferred ticket: the transfer it came with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<TransferFrom>,
}

/// Where a transferred ticket came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferFrom {
    /// The transfer event's id (taken once).
    pub id: Uuid,
    pub from_window: Option<u32>,
}

/// A reservation accepted for today, as the queue sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookedToday {
    pub item_id: Uuid,
    pub number: String,
    pub slot: Slot,
    pub received_at: DateTime<Utc>,
}

/// A step the counter took, for the server's reports (a [`shimin_protocol::TicketEvent`] once
/// the shell adds its id, time and window).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub ticket: Ticket,
    pub step: TicketStep,
    /// A transfer's destination window.
    pub to_window: Option<u32>,
}

impl Step {
    fn new(ticket: Ticket, step: TicketStep) -> Step {
        Step {
            ticket,
            step,
            to_window: None,
        }
    }
}

/// A call this counter made today (for the hall screen).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalCall {
    pub ticket_no: String,
    pub at: DateTime<Utc>,
}

/// Why the counter cannot do what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterRefusal {
    QueueEmpty,
    NothingServing,
    NotWaiting,
    NotSuspended,
    StillServing,
}

impl CounterRefusal {
    pub fn code(self) -> &'static str {
        match self {
            CounterRefusal::QueueEmpty => "queue_empty",
            CounterRefusal::NothingServing => "nothing_serving",
            CounterRefusal::NotWaiting => "ticket_not_waiting",
            CounterRefusal::NotSuspended => "ticket_not_suspended",
            CounterRefusal::StillServing => "still_serving",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            CounterRefusal::QueueEmpty => "当前没有等候的号",
            CounterRefusal::NothingServing => "当前没有正在办理的号",
            CounterRefusal::NotWaiting => "该号不在等候队列中",
            CounterRefusal::NotSuspended => "该号没有挂起",
            CounterRefusal::StillServing => "请先办结、过号或挂起当前的号",
        }
    }
}

/// Calls the hall screen keeps from this counter (the current one and the last few).
const LOCAL_CALLS_KEPT: usize = 20;

/// The persisted part: what was issued and called today.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterBook {
    pub date: Option<NaiveDate>,
    pub walk_ins_issued: u32,
    /// Walk-in tickets not yet called.
    pub walk_ins: Vec<Ticket>,
    pub serving: Option<Ticket>,
    /// The citizen of the ticket being served is at the window (开始办理).
    #[serde(default)]
    pub serving_started: bool,
    /// Tickets suspended (挂起) while their citizen fetches something, oldest first.
    #[serde(default)]
    pub suspended: Vec<Ticket>,
    /// Reservation items already called today (they leave the waiting list).
    pub called_items: HashSet<Uuid>,
    pub called_today: u32,
    /// This counter's calls today, newest first (the hall screen).
    #[serde(default)]
    pub calls: Vec<LocalCall>,
    /// Tickets other windows sent here (转窗), not yet called, as last read from the server.
    #[serde(default)]
    pub incoming: Vec<Ticket>,
    /// Transfers already taken (called here), by transfer id.
    #[serde(default)]
    pub taken_transfers: HashSet<Uuid>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CounterState {
    pub serving: Option<Ticket>,
    /// The citizen of the ticket being served is at the window (开始办理 done).
    pub serving_started: bool,
    pub waiting: Vec<Ticket>,
    pub suspended: Vec<Ticket>,
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
            transfer: None,
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
                        transfer: None,
                    },
                )
            })
            .collect();
        list.extend(
            self.walk_ins
                .iter()
                .chain(&self.incoming)
                .map(|t| (to_local(t.issued_at), t.clone())),
        );
        list.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.ticket_no.cmp(&b.1.ticket_no)));
        list.into_iter().map(|(_, t)| t).collect()
    }

    /// Calls the first waiting ticket (叫号); the one being served (if any) is finished first.
    pub fn call_next(&mut self, waiting: &[Ticket], at: DateTime<Utc>) -> Result<Vec<Step>, CounterRefusal> {
        let next = waiting.first().ok_or(CounterRefusal::QueueEmpty)?.clone();
        Ok(self.call(next, at))
    }

    /// Calls a given waiting ticket out of turn (指呼); the one being served is finished first.
    pub fn call_number(
        &mut self,
        waiting: &[Ticket],
        ticket_no: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<Step>, CounterRefusal> {
        let ticket = waiting
            .iter()
            .find(|t| t.ticket_no == ticket_no)
            .ok_or(CounterRefusal::NotWaiting)?
            .clone();
        Ok(self.call(ticket, at))
    }

    fn call(&mut self, next: Ticket, at: DateTime<Utc>) -> Vec<Step> {
        let mut steps: Vec<Step> = self.end_serving(TicketStep::Finished).into_iter().collect();
        match (&next.transfer, next.item_id) {
            (Some(from), _) => {
                self.taken_transfers.insert(from.id);
                self.incoming.retain(|t| t.transfer != next.transfer);
            }
            (None, Some(id)) => {
                self.called_items.insert(id);
            }
            (None, None) => self.walk_ins.retain(|t| t.ticket_no != next.ticket_no),
        }
        self.serving = Some(next.clone());
        self.serving_started = false;
        self.called_today += 1;
        self.note_call(&next, at);
        steps.push(Step::new(next, TicketStep::Called));
        steps
    }

    /// Calls the ticket being served again (重呼).
    pub fn recall(&mut self, at: DateTime<Utc>) -> Result<Step, CounterRefusal> {
        let ticket = self.serving.clone().ok_or(CounterRefusal::NothingServing)?;
        self.note_call(&ticket, at);
        Ok(Step::new(ticket, TicketStep::Recalled))
    }

    fn note_call(&mut self, ticket: &Ticket, at: DateTime<Utc>) {
        self.calls.insert(
            0,
            LocalCall {
                ticket_no: ticket.ticket_no.clone(),
                at,
            },
        );
        self.calls.truncate(LOCAL_CALLS_KEPT);
    }

    /// The citizen is at the window (开始办理); nothing when already started.
    pub fn start(&mut self) -> Result<Option<Step>, CounterRefusal> {
        let ticket = self.serving.clone().ok_or(CounterRefusal::NothingServing)?;
        if self.serving_started {
            return Ok(None);
        }
        self.serving_started = true;
        Ok(Some(Step::new(ticket, TicketStep::Started)))
    }

    /// Suspends the ticket being served (挂起): it waits aside and the counter is free.
    pub fn suspend(&mut self) -> Result<Step, CounterRefusal> {
        let ticket = self.serving.take().ok_or(CounterRefusal::NothingServing)?;
        self.serving_started = false;
        self.suspended.push(ticket.clone());
        Ok(Step::new(ticket, TicketStep::Suspended))
    }

    /// Serves a suspended ticket again (恢复办理); the counter must be free.
    pub fn resume(&mut self, ticket_no: &str) -> Result<Step, CounterRefusal> {
        if self.serving.is_some() {
            return Err(CounterRefusal::StillServing);
        }
        let at = self
            .suspended
            .iter()
            .position(|t| t.ticket_no == ticket_no)
            .ok_or(CounterRefusal::NotSuspended)?;
        let ticket = self.suspended.remove(at);
        self.serving = Some(ticket.clone());
        self.serving_started = true;
        Ok(Step::new(ticket, TicketStep::Resumed))
    }

    /// Sends the ticket being served to window `to_window` of the site (转窗).
    pub fn transfer(&mut self, to_window: u32) -> Result<Step, CounterRefusal> {
        let ticket = self.serving.take().ok_or(CounterRefusal::NothingServing)?;
        self.serving_started = false;
        Ok(Step {
            to_window: Some(to_window),
            ..Step::new(ticket, TicketStep::Transferred)
        })
    }

    /// The tickets sent here, as the server lists them: those not yet taken wait here.
    pub fn set_incoming(&mut self, transfers: &[TransferredTicket]) {
        self.incoming = transfers
            .iter()
            .filter(|t| !self.taken_transfers.contains(&t.transfer_id))
            .map(|t| Ticket {
                ticket_no: t.ticket_no.clone(),
                kind: TicketKind::Transferred,
                item_id: t.item_id,
                item_number: None,
                slot: None,
                issued_at: t.at,
                transfer: Some(TransferFrom {
                    id: t.transfer_id,
                    from_window: t.from_window,
                }),
            })
            .collect();
    }

    /// Ends the ticket being served as finished (办结) or as a no-show (过号).
    pub fn end_serving(&mut self, how: TicketStep) -> Option<Step> {
        debug_assert!(how.is_final());
        let ticket = self.serving.take()?;
        self.serving_started = false;
        Some(Step::new(ticket, how))
    }

    /// The calls of this counter for the hall screen, newest first, at window `window_no`.
    pub fn local_calls(&self, window_no: Option<u32>) -> Vec<HallCall> {
        self.calls
            .iter()
            .map(|c| HallCall {
                ticket_no: c.ticket_no.clone(),
                window_no,
                at: c.at,
            })
            .collect()
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

        let now = Utc::now();
        let first = book.call_next(&waiting, now).unwrap();
        assert_eq!(steps_of(&first), [("Y001", TicketStep::Called)]);
        let waiting = book.waiting(&list, local);
        assert_eq!(waiting.len(), 2, "a called reservation leaves the list");
        let second = book.call_next(&waiting, now).unwrap();
        assert_eq!(
            steps_of(&second),
            [("Y001", TicketStep::Finished), ("W001", TicketStep::Called)],
            "the next call finishes the one served"
        );
        assert_eq!(book.waiting(&list, local).len(), 1);
        let end = book.end_serving(TicketStep::Finished).unwrap();
        assert_eq!(end.ticket.ticket_no, "W001");
        assert_eq!(book.called_today, 2);
        let calls: Vec<_> = book
            .local_calls(Some(3))
            .into_iter()
            .map(|c| (c.ticket_no, c.window_no))
            .collect();
        assert_eq!(
            calls,
            [("W001".to_owned(), Some(3)), ("Y001".to_owned(), Some(3))],
            "newest first"
        );
    }

    #[test]
    fn a_new_day_starts_a_new_book() {
        let mut book = CounterBook::default();
        book.roll_to(at(0, 0).date());
        book.walk_in(Utc::now());
        book.roll_to(at(0, 0).date().succ_opt().unwrap());
        assert!(book.walk_ins.is_empty());
        assert_eq!(book.walk_in(Utc::now()).ticket_no, "W001");
        assert_eq!(book.call_next(&[], Utc::now()), Err(CounterRefusal::QueueEmpty));
    }

    fn steps_of(steps: &[Step]) -> Vec<(&str, TicketStep)> {
        steps
            .iter()
            .map(|s| (s.ticket.ticket_no.as_str(), s.step))
            .collect()
    }

    #[test]
    fn a_ticket_is_called_out_of_turn_suspended_and_resumed() {
        let mut book = CounterBook::default();
        book.roll_to(at(0, 0).date());
        let now = Utc::now();
        book.walk_in(now);
        book.walk_in(now);
        let waiting = book.waiting(&[], local);
        assert_eq!(
            book.call_number(&waiting, "W009", now),
            Err(CounterRefusal::NotWaiting)
        );
        let steps = book.call_number(&waiting, "W002", now).unwrap();
        assert_eq!(
            steps_of(&steps),
            [("W002", TicketStep::Called)],
            "指呼 picks the number asked"
        );
        assert_eq!(book.recall(now).unwrap().step, TicketStep::Recalled);
        assert_eq!(book.start().unwrap().map(|s| s.step), Some(TicketStep::Started));
        assert_eq!(book.start().unwrap(), None, "started once");
        assert_eq!(book.suspend().unwrap().step, TicketStep::Suspended);
        assert!(
            book.serving.is_none(),
            "the counter is free while the citizen is away"
        );
        assert_eq!(book.suspend(), Err(CounterRefusal::NothingServing));

        // The next citizen is called meanwhile; the suspended one waits.
        let waiting = book.waiting(&[], local);
        book.call_next(&waiting, now).unwrap();
        assert_eq!(book.resume("W002"), Err(CounterRefusal::StillServing));
        book.end_serving(TicketStep::NoShow).unwrap();
        assert_eq!(book.resume("W001"), Err(CounterRefusal::NotSuspended));
        let back = book.resume("W002").unwrap();
        assert_eq!(
            (back.ticket.ticket_no.as_str(), back.step),
            ("W002", TicketStep::Resumed)
        );
        assert!(book.serving_started, "a resumed ticket is being served");
        assert!(book.suspended.is_empty());
        assert_eq!(book.start().unwrap(), None);
    }

    #[test]
    fn a_transferred_ticket_leaves_here_and_waits_once_at_its_window() {
        let now = Utc::now();
        let mut here = CounterBook::default();
        here.roll_to(at(0, 0).date());
        here.walk_in(now);
        let waiting = here.waiting(&[], local);
        here.call_next(&waiting, now).unwrap();
        let sent = here.transfer(5).unwrap();
        assert_eq!((sent.step, sent.to_window), (TicketStep::Transferred, Some(5)));
        assert!(here.serving.is_none());
        assert_eq!(here.transfer(5), Err(CounterRefusal::NothingServing));

        // Window 5 learns of it from the server, calls it, and never lists it again.
        let mut there = CounterBook::default();
        there.roll_to(at(0, 0).date());
        let transfer = TransferredTicket {
            transfer_id: Uuid::from_u128(77),
            ticket_no: sent.ticket.ticket_no.clone(),
            from_window: Some(3),
            at: now,
            item_id: None,
        };
        there.set_incoming(std::slice::from_ref(&transfer));
        let waiting = there.waiting(&[], local);
        assert_eq!(waiting.len(), 1);
        assert_eq!(
            (waiting[0].kind.clone(), waiting[0].ticket_no.as_str()),
            (TicketKind::Transferred, "W001")
        );
        there.call_next(&waiting, now).unwrap();
        there.set_incoming(&[transfer]);
        assert!(there.waiting(&[], local).is_empty(), "a transfer is taken once");
    }

    #[test]
    fn a_book_saved_before_suspensions_still_loads() {
        let old = r#"{"date":"2026-12-01","walk_ins_issued":1,"walk_ins":[],"serving":null,"called_items":[],"called_today":1}"#;
        let book: CounterBook = serde_json::from_str(old).unwrap();
        assert_eq!(book.called_today, 1);
        assert!(book.suspended.is_empty() && book.calls.is_empty());
    }
}
