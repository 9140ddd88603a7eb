//! The counter's commands (窗口叫号): calling tickets, serving, suspending, and the hall screen.
//! Each step the counter takes is recorded for the server (`Desk::record_ticket_event`: queued
//! offline too, handed in by the next sync) so that waiting and service times can be reported.

use super::logged_in;
use crate::counter::{BookedToday, CounterRefusal, CounterState, Step, Ticket, TicketKind};
use crate::error::{CmdResult, DeskError};
use crate::state::{lock, Shared};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shimin_client::{Desk, Op, QueueQuery, QueueView};
use shimin_domain::calendar::{from_local, to_local};
use shimin_domain::counter::TicketStep;
use shimin_domain::item::{ItemKind, Status};
use shimin_protocol::{HallCall, TicketEvent};
use tauri::{AppHandle, Emitter, Manager, State};
use uuid::Uuid;

impl From<CounterRefusal> for DeskError {
    fn from(r: CounterRefusal) -> DeskError {
        DeskError::new(r.code(), r.message())
    }
}

/// Today's accepted reservations handled by this clerk, for the call queue.
async fn booked_today(desk: &Desk) -> CmdResult<Vec<BookedToday>> {
    let me = desk.user().ok_or_else(DeskError::not_logged_in)?;
    let today = to_local(desk.server_now()).date();
    let mut q = QueueQuery::new(QueueView::Kind(ItemKind::Reservation.code().to_owned()));
    q.limit = 1000;
    Ok(desk
        .queue(q)
        .await?
        .into_iter()
        .filter(|v| v.record.status == Status::Accepted && v.record.handler_id == Some(me.id))
        .filter_map(|v| {
            let slot = v.record.details.granted_slot?;
            (slot.start.date() == today).then(|| BookedToday {
                item_id: v.record.id,
                number: v.record.number.clone(),
                slot,
                received_at: v.record.received_at,
            })
        })
        .collect())
}

async fn counter_view(state: &Shared, desk: &Desk) -> CmdResult<CounterState> {
    let booked = booked_today(desk).await?;
    let book = lock(&state.counter);
    Ok(CounterState {
        serving: book.serving.clone(),
        serving_started: book.serving_started,
        waiting: book.waiting(&booked, to_local),
        suspended: book.suspended.clone(),
        called_today: book.called_today,
        window_no: lock(&state.settings).window_no,
    })
}

/// The waiting list, with the tickets other windows sent here read again from the server.
async fn waiting_now(state: &Shared, desk: &Desk) -> CmdResult<Vec<Ticket>> {
    refresh_incoming(state, desk).await;
    Ok(counter_view(state, desk).await?.waiting)
}

/// Reads the tickets sent to this window (转窗) when the server is reachable and the window
/// has a number; otherwise the last list read stays.
async fn refresh_incoming(state: &Shared, desk: &Desk) {
    let Some(window) = lock(&state.settings).window_no else {
        return;
    };
    if !desk.status().borrow().online {
        return;
    }
    match desk.counter_transfers(window).await {
        Ok(transfers) => lock(&state.counter).set_incoming(&transfers),
        Err(e) => tracing::debug!(error = %e, "transfers to this window unavailable"),
    }
}

fn roll_counter(state: &Shared, desk: &Desk) {
    lock(&state.counter).roll_to(to_local(desk.server_now()).date());
}

/// When a ticket began to wait: a walk-in when it was issued, a reservation at its slot.
fn due_at(ticket: &Ticket) -> DateTime<Utc> {
    match (&ticket.kind, ticket.slot) {
        (TicketKind::Reservation, Some(slot)) => from_local(slot.start),
        _ => ticket.issued_at,
    }
}

/// What a step means for the reservation behind the ticket: the citizen came (已到场) or did
/// not (未到场). Applied only while the reservation still waits for them.
fn item_op(step: TicketStep) -> Option<Op> {
    match step {
        TicketStep::Started | TicketStep::Resumed | TicketStep::Finished => Some(Op::MarkArrived),
        TicketStep::NoShow => Some(Op::MarkNoShow),
        _ => None,
    }
}

/// Saves the book, records the steps for the server, and updates the reservations behind them.
async fn took(state: &Shared, desk: &Desk, steps: &[Step], at: DateTime<Utc>) -> CmdResult<()> {
    state.save_counter();
    let day = lock(&state.counter).date.unwrap_or_else(|| to_local(at).date());
    let window_no = lock(&state.settings).window_no;
    for s in steps {
        desk.record_ticket_event(&TicketEvent {
            id: Uuid::new_v4(),
            day,
            ticket_no: s.ticket.ticket_no.clone(),
            step: s.step,
            at,
            issued_at: due_at(&s.ticket),
            item_id: s.ticket.item_id,
            window_no,
            to_window: s.to_window,
        })
        .await?;
        let (Some(id), Some(op)) = (s.ticket.item_id, item_op(s.step)) else {
            continue;
        };
        let waiting_for_citizen = desk
            .item(id)
            .await?
            .is_some_and(|v| v.record.status == Status::Accepted);
        if waiting_for_citizen {
            desk.act(id, op).await?;
        }
    }
    Ok(())
}

/// Says the call of the ticket being served, in the hall (voice) and on the hall screen.
fn announce_serving(app: &AppHandle, state: &Shared) {
    let Some(ticket) = lock(&state.counter).serving.clone() else {
        return;
    };
    let window_no = lock(&state.settings).window_no;
    let _ = app.emit(
        crate::EVENT_HALL_CALL,
        HallCallEvent {
            ticket_no: ticket.ticket_no.clone(),
            window_no,
        },
    );
    let text = crate::announce::call_text(&ticket.ticket_no, window_no);
    let dir = state.paths.data_dir.clone();
    tauri::async_runtime::spawn(async move {
        match crate::announce::speak(&text, &dir).await {
            Ok(_) => tracing::info!(ticket = %ticket.ticket_no, "call spoken"),
            Err(e) => tracing::warn!(error = %e, "call not spoken; shown on the screen only"),
        }
    });
}

#[derive(Debug, Clone, Serialize)]
struct HallCallEvent {
    ticket_no: String,
    window_no: Option<u32>,
}

/// A counter command's common frame: the logged-in desk, today's book, the time of the step.
struct Counter {
    state: Shared,
    desk: Desk,
    at: DateTime<Utc>,
}

impl Counter {
    async fn open(state: &Shared) -> CmdResult<Counter> {
        let desk = logged_in(state).await?;
        roll_counter(state, &desk);
        Ok(Counter {
            state: state.clone(),
            at: desk.server_now(),
            desk,
        })
    }

    /// Records `steps` and answers the counter's new state.
    async fn done(&self, steps: &[Step]) -> CmdResult<CounterState> {
        took(&self.state, &self.desk, steps, self.at).await?;
        counter_view(&self.state, &self.desk).await
    }
}

#[tauri::command]
pub async fn counter_state(state: State<'_, Shared>) -> CmdResult<CounterState> {
    let c = Counter::open(&state).await?;
    refresh_incoming(&c.state, &c.desk).await;
    counter_view(&c.state, &c.desk).await
}

/// Calls the next ticket (叫号); the one being served is finished first.
#[tauri::command]
pub async fn counter_call_next(app: AppHandle, state: State<'_, Shared>) -> CmdResult<CounterState> {
    let c = Counter::open(&state).await?;
    let waiting = waiting_now(&c.state, &c.desk).await?;
    let steps = lock(&c.state.counter).call_next(&waiting, c.at)?;
    announce_serving(&app, &c.state);
    c.done(&steps).await
}

#[derive(Debug, Deserialize)]
pub struct TicketReq {
    ticket_no: String,
}

/// Calls a waiting ticket out of turn (指呼).
#[tauri::command]
pub async fn counter_call_number(
    app: AppHandle,
    state: State<'_, Shared>,
    req: TicketReq,
) -> CmdResult<CounterState> {
    let c = Counter::open(&state).await?;
    let waiting = waiting_now(&c.state, &c.desk).await?;
    let steps = lock(&c.state.counter).call_number(&waiting, req.ticket_no.trim(), c.at)?;
    announce_serving(&app, &c.state);
    c.done(&steps).await
}

/// Calls the ticket being served again (重呼): the citizen did not hear it.
#[tauri::command]
pub async fn counter_recall(app: AppHandle, state: State<'_, Shared>) -> CmdResult<CounterState> {
    let c = Counter::open(&state).await?;
    let step = lock(&c.state.counter).recall(c.at)?;
    announce_serving(&app, &c.state);
    c.done(&[step]).await
}

/// The citizen is at the window (开始办理).
#[tauri::command]
pub async fn counter_start(state: State<'_, Shared>) -> CmdResult<CounterState> {
    let c = Counter::open(&state).await?;
    let step = lock(&c.state.counter).start()?;
    c.done(step.as_slice()).await
}

/// Suspends the ticket being served (挂起): the citizen fetches a document; not service time.
#[tauri::command]
pub async fn counter_suspend(state: State<'_, Shared>) -> CmdResult<CounterState> {
    let c = Counter::open(&state).await?;
    let step = lock(&c.state.counter).suspend()?;
    c.done(&[step]).await
}

/// Serves a suspended ticket again (恢复办理).
#[tauri::command]
pub async fn counter_resume(state: State<'_, Shared>, req: TicketReq) -> CmdResult<CounterState> {
    let c = Counter::open(&state).await?;
    let step = lock(&c.state.counter).resume(req.ticket_no.trim())?;
    c.done(&[step]).await
}

#[derive(Debug, Deserialize)]
pub struct TransferReq {
    to_window: u32,
}

/// Sends the ticket being served to another window of the site (转窗): it waits there.
#[tauri::command]
pub async fn counter_transfer(state: State<'_, Shared>, req: TransferReq) -> CmdResult<CounterState> {
    let c = Counter::open(&state).await?;
    let here = lock(&c.state.settings).window_no;
    if !(1..=99).contains(&req.to_window) || here == Some(req.to_window) {
        return Err(DeskError::new(
            "window_no_invalid",
            "请填写本窗口以外的窗口号（1 到 99）",
        ));
    }
    let step = lock(&c.state.counter).transfer(req.to_window)?;
    c.done(&[step]).await
}

/// Finishes the ticket being served (办结).
#[tauri::command]
pub async fn counter_done(state: State<'_, Shared>) -> CmdResult<CounterState> {
    end_serving(&state, TicketStep::Finished).await
}

/// The citizen of the ticket called did not come (过号).
#[tauri::command]
pub async fn counter_no_show(state: State<'_, Shared>) -> CmdResult<CounterState> {
    end_serving(&state, TicketStep::NoShow).await
}

async fn end_serving(state: &Shared, how: TicketStep) -> CmdResult<CounterState> {
    let c = Counter::open(state).await?;
    let step = lock(&c.state.counter)
        .end_serving(how)
        .ok_or(CounterRefusal::NothingServing)?;
    c.done(&[step]).await
}

#[tauri::command]
pub async fn counter_walk_in(state: State<'_, Shared>) -> CmdResult<CounterState> {
    let c = Counter::open(&state).await?;
    lock(&c.state.counter).walk_in(c.at);
    c.done(&[]).await
}

#[derive(Debug, Deserialize)]
pub struct WindowNoReq {
    window_no: Option<u32>,
}

/// Sets this counter's window number (窗口号, 1–99), named in the spoken call; `None` clears it.
#[tauri::command]
pub async fn set_window_no(state: State<'_, Shared>, req: WindowNoReq) -> CmdResult<CounterState> {
    let desk = logged_in(&state).await?;
    if req.window_no.is_some_and(|n| !(1..=99).contains(&n)) {
        return Err(DeskError::new(
            "window_no_invalid",
            "窗口号应为 1 到 99 之间的数字",
        ));
    }
    lock(&state.settings).window_no = req.window_no;
    state.save_settings()?;
    counter_view(&state, &desk).await
}

// ------------------------------------------------------------------ hall screen (大厅叫号屏)

/// What the hall screen shows: the calls of the site today, newest first.
#[derive(Debug, Clone, Serialize)]
pub struct HallBoard {
    pub calls: Vec<HallCallView>,
    /// The site's calls came from the server (else this counter's own only).
    pub site_wide: bool,
}

/// The hall screen's calls: the site's from the server when it answers, merged with this
/// counter's own (which the server may not have yet); this counter's alone offline.
#[tauri::command]
pub async fn hall_board(state: State<'_, Shared>) -> CmdResult<HallBoard> {
    let c = Counter::open(&state).await?;
    let window_no = lock(&c.state.settings).window_no;
    let own = lock(&c.state.counter).local_calls(window_no);
    // Offline (as the sync last found it), the server is not tried: the screen reads every few
    // seconds and must not wait for connection timeouts.
    let online = c.desk.status().borrow().online;
    let site = if online {
        Some(c.desk.hall_calls().await)
    } else {
        None
    };
    let (mut calls, site_wide) = match site {
        Some(Ok(calls)) => (calls, true),
        Some(Err(e)) => {
            tracing::debug!(error = %e, "hall calls of the site unavailable");
            (Vec::new(), false)
        }
        None => (Vec::new(), false),
    };
    for call in own {
        let known = calls
            .iter()
            .any(|k| k.ticket_no == call.ticket_no && k.at.timestamp_millis() == call.at.timestamp_millis());
        if !known {
            calls.push(call);
        }
    }
    calls.sort_by_key(|c| std::cmp::Reverse(c.at));
    let calls = calls.into_iter().map(HallCallView::from).collect();
    Ok(HallBoard { calls, site_wide })
}

/// A call with the words the hall hears (the same the voice says).
#[derive(Debug, Clone, Serialize)]
pub struct HallCallView {
    #[serde(flatten)]
    pub call: HallCall,
    pub text: String,
}

impl From<HallCall> for HallCallView {
    fn from(call: HallCall) -> HallCallView {
        HallCallView {
            text: crate::announce::call_text(&call.ticket_no, call.window_no),
            call,
        }
    }
}

/// Label of the hall screen's window.
pub const HALL_WINDOW: &str = "hall";

/// Opens the hall screen (a second window, for a wall display), or brings it forward.
#[tauri::command]
pub async fn open_hall_screen(app: AppHandle) -> CmdResult<()> {
    if let Some(w) = app.get_webview_window(HALL_WINDOW) {
        let _ = w.show();
        let _ = w.set_focus();
        return Ok(());
    }
    tauri::WebviewWindowBuilder::new(
        &app,
        HALL_WINDOW,
        tauri::WebviewUrl::App("index.html#hall".into()),
    )
    .title("大厅叫号屏")
    .inner_size(1280.0, 720.0)
    .min_inner_size(640.0, 360.0)
    .build()
    .map_err(|e| DeskError::new("hall_screen", format!("大厅叫号屏无法打开：{e}")))?;
    Ok(())
}
