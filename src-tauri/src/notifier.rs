//! Reservation alerts: a new reservation and the later steps of its notification ladder
//! (B clerk → leader → overdue) become desktop notifications (notify-rust: D-Bus on Linux), an
//! in-app banner with a sound (`desk://alert`) and the tray's attention state. A notification
//! server may drop a toast, so the banner and the tray carry the same alert.
//!
//! A new reservation alerts whoever acts as A for its matter *when it arrives*, at any hour:
//! the working-time clock decides when the hour runs out, not when the clerk learns of it.
//! The later steps alert when the working clock reaches them.
//!
//! A township agent is alerted when the window sends one of the agent's delegated cases back
//! for a supplement (一次性告知) or finishes it (result ready to collect) — see [`agent_news`].
//!
//! Texts carry the item number and the matter, never the citizen's name, ID number or phone.

use crate::state::Shared;
use crate::toasts::{Toast, ToastKey};
use chrono::{DateTime, Utc};
use serde::Serialize;
use shimin_client::{CacheEvent, Clocks, Desk, ItemView, LadderNotice, QueueQuery, QueueView};
use shimin_domain::item::{ItemKind, Status};
use shimin_domain::ladder::Recipient;
use shimin_domain::role::Role;
use shimin_protocol::{ItemRecord, Matter, UserInfo};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::time::Duration;
use tauri::{AppHandle, Emitter};
use uuid::Uuid;

/// How often reached ladder steps are looked for when nothing changes in the cache.
const TICK: Duration = Duration::from_secs(10);

/// The in-app form of an alert (`Alert` in ui/src/api/contract.ts).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Alert {
    pub item_id: Uuid,
    pub item_number: String,
    pub kind: &'static str,
    pub text: String,
}

/// What is alerted: the arrival, or a later ladder step (by recipient).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    Arrival,
    BClerk,
    Leader,
    Overdue,
}

impl AlertKind {
    fn of_step(step: &LadderNotice) -> AlertKind {
        match step.recipient {
            Recipient::AClerk | Recipient::BClerk => AlertKind::BClerk,
            Recipient::Leader => AlertKind::Leader,
            Recipient::Supervision => AlertKind::Overdue,
        }
    }
}

/// The notification summary and the alert, without personal data.
pub fn alert_for(kind: AlertKind, item_id: Uuid, number: &str, matter: Option<&str>) -> (String, Alert) {
    let what = matter.map(|m| format!("（{m}）")).unwrap_or_default();
    let (code, summary, text) = match kind {
        AlertKind::Arrival => (
            "reservation_new",
            "新预约：请在1个工作小时内处理",
            format!("新预约 {number}{what}：请在1个工作小时内受理或拒绝"),
        ),
        AlertKind::BClerk => (
            "ladder_b",
            "预约仍未处理（B岗提醒）",
            format!("预约 {number}{what} 已过半小时仍无人处理，请B岗及时处理"),
        ),
        AlertKind::Leader => (
            "ladder_leader",
            "预约即将超时（领导提醒）",
            format!("预约 {number}{what} 即将超过1个工作小时，请督促处理"),
        ),
        AlertKind::Overdue => (
            "ladder_overdue",
            "预约已超时",
            format!("预约 {number}{what} 已超过1个工作小时未处理，已记入督办"),
        ),
    };
    (
        summary.to_owned(),
        Alert {
            item_id,
            item_number: number.to_owned(),
            kind: code,
            text,
        },
    )
}

/// The alerts due for `me` on one open reservation now.
pub fn due_alerts(
    clocks: &Clocks,
    me: &UserInfo,
    v: &ItemView,
    matter: Option<&Matter>,
    now: DateTime<Utc>,
) -> Vec<AlertKind> {
    let rec = &v.record;
    if rec.status != Status::Received || rec.handler_id.is_some_and(|h| h != me.id) {
        return Vec::new();
    }
    let mut out = Vec::new();
    if clocks.acting_a(rec.matter_id, rec.unit_id).user_id == Some(me.id) {
        out.push(AlertKind::Arrival);
    }
    let concerned = matter.is_some_and(|m| m.a_clerk_id == Some(me.id) || m.b_clerk_id == Some(me.id))
        || (me.role == Role::DeptLeader && me.unit_id == Some(rec.unit_id));
    let steps = clocks.due_ladder_steps(v, now).unwrap_or_default();
    // The first step is the arrival, handled above with the acting A of now.
    for step in steps.iter().skip(1) {
        let kind = AlertKind::of_step(step);
        let mine = step.user_id == Some(me.id) || (kind == AlertKind::Overdue && concerned);
        if mine && !out.contains(&kind) {
            out.push(kind);
        }
    }
    out
}

/// What one look at the open reservations asks of the window, the tray and the toast.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LadderOutcome {
    /// New banner entries, oldest first (the window puts each on top).
    pub banners: Vec<Alert>,
    /// Items whose alerts are over (handled here or elsewhere, taken, moved away).
    pub withdrawn: Vec<Uuid>,
    /// The grouped toast: `Some(Some(t))` shows or updates it, `Some(None)` withdraws it.
    pub toast: Option<Option<Toast>>,
    /// Open reservations waiting for this user (the tray's attention count).
    pub attention: u32,
}

/// The reservation ladder's memory between looks: what was alerted, what is on the screen.
#[derive(Debug)]
pub struct Ladder {
    alerted: HashSet<(Uuid, AlertKind)>,
    /// Items announced as new by the core (after its first snapshot): alerted one by one.
    news: HashSet<Uuid>,
    /// Until the first sync completes, items arriving are the backlog, not news.
    backlog: bool,
    /// Items with an alert on the screen, and the newest alert of each (with its summary).
    showing: HashMap<Uuid, (u64, String, Alert)>,
    /// The item the backlog reminder banner is attached to.
    reminder: Option<Uuid>,
    seq: u64,
}

impl Default for Ladder {
    fn default() -> Self {
        Ladder {
            alerted: HashSet::new(),
            news: HashSet::new(),
            backlog: true,
            showing: HashMap::new(),
            reminder: None,
            seq: 0,
        }
    }
}

impl Ladder {
    pub fn note_news(&mut self, ids: impl IntoIterator<Item = Uuid>) {
        self.news.extend(ids);
    }

    /// One look: `open` are the open reservations with the alerts due for this user now;
    /// `synced`: the first sync has completed.
    pub fn look(&mut self, open: &[OpenReservation], synced: bool) -> LadderOutcome {
        let mut out = LadderOutcome::default();
        let waiting: Vec<&OpenReservation> =
            open.iter().filter(|(_, _, _, kinds)| !kinds.is_empty()).collect();
        out.attention = waiting.len() as u32;
        let mut changed = self.withdraw_gone(&waiting, &mut out);
        let fresh = self.fresh_alerts(&waiting);
        // News is never folded into the backlog reminder, and comes after it: the newest
        // alert on top of the banner is the reservation that just arrived.
        let (news_now, fresh): (Vec<_>, Vec<_>) = fresh.into_iter().partition(|(is_news, _)| *is_news);
        let was_backlog = self.backlog;
        if self.backlog && synced {
            self.backlog = false;
            // The backlog at login: one reminder instead of a flood (news excluded).
            changed |= self.remind(&waiting, &mut out);
        }
        let fresh = if was_backlog { Vec::new() } else { fresh };
        for (_, (summary, alert)) in news_now.into_iter().chain(fresh) {
            self.put(summary, alert.clone());
            out.banners.push(alert);
            changed = true;
        }
        if changed {
            out.toast = Some(self.group_toast());
        }
        out
    }

    /// Forgets the alerts of items that no longer wait for this user; the reminder moves on.
    fn withdraw_gone(&mut self, waiting: &[&OpenReservation], out: &mut LadderOutcome) -> bool {
        let still: HashSet<Uuid> = waiting.iter().map(|(id, ..)| *id).collect();
        let mut gone: Vec<Uuid> = self
            .showing
            .keys()
            .filter(|id| !still.contains(id))
            .copied()
            .collect();
        if gone.is_empty() {
            return false;
        }
        gone.sort();
        for id in &gone {
            self.showing.remove(id);
        }
        // Gone and back (returned by a colleague, moved back) alerts again.
        self.alerted.retain(|(id, _)| still.contains(id));
        // The reminder's count changed: said again (on the item it was on, if still waiting,
        // so the window replaces it; else on the next one).
        if self.reminder.is_some()
            && gone.iter().any(|id| !self.news.contains(id))
            && !self.remind(waiting, out)
        {
            self.reminder = None;
        }
        out.withdrawn = gone;
        true
    }

    /// The alerts due now and not yet given, each with whether its item is news.
    fn fresh_alerts(&mut self, waiting: &[&OpenReservation]) -> Vec<(bool, (String, Alert))> {
        let mut fresh = Vec::new();
        for (id, number, matter, kinds) in waiting {
            for kind in kinds {
                if self.alerted.insert((*id, *kind)) {
                    fresh.push((
                        self.news.contains(id),
                        alert_for(*kind, *id, number, matter.as_deref()),
                    ));
                }
            }
        }
        fresh
    }

    /// The reminder banner "您有 N 个预约待处理" for the waiting items that are not news.
    fn remind(&mut self, waiting: &[&OpenReservation], out: &mut LadderOutcome) -> bool {
        let mut backlog: Vec<_> = waiting
            .iter()
            .filter(|(id, ..)| !self.news.contains(id))
            .collect();
        // Kept on the item it was on while that one waits.
        if let Some(i) = self
            .reminder
            .and_then(|r| backlog.iter().position(|(id, ..)| *id == r))
        {
            backlog.swap(0, i);
        }
        let Some((id, number, matter, _)) = backlog.first() else {
            return false;
        };
        let (_, mut alert) = alert_for(AlertKind::Arrival, *id, number, matter.as_deref());
        alert.text = format!("您有 {} 个预约待处理，请尽快受理或拒绝", backlog.len());
        // On the screen (the toast counts them) without a banner entry each.
        for (id, number, matter, _) in &backlog {
            if !self.showing.contains_key(id) {
                let (s, a) = alert_for(AlertKind::Arrival, *id, number, matter.as_deref());
                self.put(s, a);
            }
        }
        self.reminder = Some(*id);
        out.banners.push(alert);
        true
    }

    fn put(&mut self, summary: String, alert: Alert) {
        self.seq += 1;
        self.showing.insert(alert.item_id, (self.seq, summary, alert));
    }

    /// The one toast for every reservation on the screen: the newest alert, and how many wait.
    fn group_toast(&self) -> Option<Toast> {
        let (_, summary, newest) = self.showing.values().max_by_key(|(seq, ..)| *seq)?;
        let n = self.showing.len();
        Some(if n == 1 {
            Toast {
                summary: summary.clone(),
                body: newest.text.clone(),
                opens: newest.item_id,
            }
        } else {
            Toast {
                summary: format!("{n} 个预约待处理"),
                body: format!("{}\n另有 {} 个预约待处理", newest.text, n - 1),
                opens: newest.item_id,
            }
        })
    }
}

/// Watches the cache and the clock; alerts this user once per reservation and step, and
/// withdraws the alerts of reservations that no longer wait for them.
pub async fn ladder_loop(app: AppHandle, state: Shared, desk: Desk) {
    let Some(me) = desk.user() else { return };
    let mut changes = desk.changes();
    let mut ladder = Ladder::default();
    loop {
        match scan(&desk, &me).await {
            Ok(open) => {
                let synced = desk.status().borrow().last_sync.is_some();
                let outcome = ladder.look(&open, synced);
                apply(&app, &state, outcome).await;
            }
            Err(e) => tracing::warn!(error = %e, "reservation check failed"),
        }
        tokio::select! {
            ev = changes.recv() => match ev {
                Ok(CacheEvent::ItemsChanged { new_items, .. }) => ladder.note_news(new_items),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                _ => {}
            },
            _ = tokio::time::sleep(TICK) => {}
        }
    }
}

async fn apply(app: &AppHandle, state: &Shared, outcome: LadderOutcome) {
    if !outcome.withdrawn.is_empty() {
        tracing::info!(items = outcome.withdrawn.len(), "alerts withdrawn");
        let _ = app.emit(
            crate::EVENT_ALERT_WITHDRAWN,
            AlertsWithdrawn {
                item_ids: outcome.withdrawn,
            },
        );
    }
    for alert in outcome.banners {
        tracing::info!(item = %alert.item_number, kind = alert.kind, "alert");
        let _ = app.emit(crate::EVENT_ALERT, &alert);
    }
    match outcome.toast {
        Some(Some(t)) => state.toasts.show(ToastKey::Reservations, t),
        Some(None) => state.toasts.withdraw(ToastKey::Reservations),
        None => {}
    }
    let attention = outcome.attention;
    if state.attention.swap(attention, Ordering::Relaxed) != attention {
        crate::tray::refresh(app, state).await;
        crate::emit_status(app, state).await;
    }
}

/// `desk://alert-withdrawn`: the banner entries of these items go.
#[derive(Debug, Clone, Serialize)]
struct AlertsWithdrawn {
    item_ids: Vec<Uuid>,
}

/// An open reservation: id, number, matter, the alerts due for this user now.
pub type OpenReservation = (Uuid, String, Option<String>, Vec<AlertKind>);

async fn scan(desk: &Desk, me: &UserInfo) -> shimin_client::Result<Vec<OpenReservation>> {
    let clocks = desk.clocks().await?;
    let matters: HashMap<i64, Matter> = desk.matters().await?.into_iter().map(|m| (m.id, m)).collect();
    let mut q = QueueQuery::new(QueueView::Kind("reservation".to_owned()));
    q.limit = u32::MAX;
    let now = desk.server_now();
    Ok(desk
        .queue(q)
        .await?
        .iter()
        .map(|v| {
            let matter = v.record.matter_id.and_then(|id| matters.get(&id));
            (
                v.record.id,
                v.record.number.clone(),
                matter.map(|m| m.name.clone()),
                due_alerts(&clocks, me, v, matter, now),
            )
        })
        .collect())
}

/// What an agent is told when one of the own delegated cases changed from `before` (the
/// status the desk knew; `None`: first seen) to what `rec` says now.
pub fn agent_news(
    before: Option<Status>,
    rec: &ItemRecord,
    me: i64,
    matter: Option<&str>,
) -> Option<(String, Alert)> {
    if rec.kind != ItemKind::DelegatedCase || rec.agent_id != Some(me) || before == Some(rec.status) {
        return None;
    }
    let what = matter.map(|m| format!("（{m}）")).unwrap_or_default();
    let number = &rec.number;
    let (code, summary, text) = match rec.status {
        Status::Supplement => (
            "case_supplement",
            "代办件需补正材料",
            format!(
                "代办件 {number}{what}：窗口一次性告知需补正：{}",
                rec.details.missing_materials.join("、")
            ),
        ),
        Status::Completed => (
            "case_result_ready",
            "代办件已办结，可领取结果",
            format!("代办件 {number}{what} 已办结，请到窗口领取结果并送达群众"),
        ),
        _ => return None,
    };
    Some((
        summary.to_owned(),
        Alert {
            item_id: rec.id,
            item_number: number.clone(),
            kind: code,
            text,
        },
    ))
}

/// Watches an agent's own delegated cases and alerts [`agent_news`].
pub async fn agent_loop(app: AppHandle, state: Shared, desk: Desk) {
    let Some(me) = desk.user() else { return };
    if me.role != Role::Agent {
        return;
    }
    let mut changes = desk.changes();
    let mut q = QueueQuery::new(QueueView::Mine);
    q.include_closed = true;
    q.limit = u32::MAX;
    // What the desk knew at login: changes from here on are news.
    let mut known: HashMap<Uuid, Status> = match desk.queue(q).await {
        Ok(cases) => cases
            .into_iter()
            .map(|v| (v.record.id, v.record.status))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "agent cases not readable; no case alerts");
            return;
        }
    };
    let mut first_snapshot = desk.status().borrow().last_sync.is_none();
    loop {
        let ids = match changes.recv().await {
            Ok(CacheEvent::ItemsChanged { ids, .. }) => ids,
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            _ => continue,
        };
        let matters: HashMap<i64, Matter> = desk
            .matters()
            .await
            .map(|ms| ms.into_iter().map(|m| (m.id, m)).collect())
            .unwrap_or_default();
        for id in ids {
            let Ok(Some(v)) = desk.item(id).await else {
                continue;
            };
            let matter = v
                .record
                .matter_id
                .and_then(|m| matters.get(&m))
                .map(|m| m.name.as_str());
            let before = known.insert(id, v.record.status);
            // The first snapshot after a fresh login is the backlog, not news.
            if first_snapshot && before.is_none() {
                continue;
            }
            if let Some((summary, alert)) = agent_news(before, &v.record, me.id, matter) {
                deliver_case(&app, &state, &summary, alert);
            }
        }
        first_snapshot = first_snapshot && desk.status().borrow().last_sync.is_none();
    }
}

/// A township agent's case news: the banner entry and the case's own toast.
fn deliver_case(app: &AppHandle, state: &Shared, summary: &str, alert: Alert) {
    tracing::info!(item = %alert.item_number, kind = alert.kind, "alert");
    let _ = app.emit(crate::EVENT_ALERT, &alert);
    state.toasts.show(
        ToastKey::Case(alert.item_id),
        Toast {
            summary: summary.to_owned(),
            body: alert.text,
            opens: alert.item_id,
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use shimin_protocol::{Applicant, Colleague, ItemRecord};

    const A: i64 = 11;
    const B: i64 = 12;
    const LEADER: i64 = 13;
    const OTHER: i64 = 14;
    const UNIT: i64 = 5;

    fn user(id: i64, role: &str) -> UserInfo {
        UserInfo {
            id,
            username: format!("u{id}"),
            display_name: format!("用户{id}"),
            role: Role::from_code(role).unwrap(),
            unit_id: Some(UNIT),
        }
    }

    fn colleague(id: i64, role: &str, presence: &str) -> Colleague {
        Colleague {
            id,
            display_name: format!("用户{id}"),
            role: Role::from_code(role).unwrap(),
            unit_id: Some(UNIT),
            presence: shimin_domain::ladder::Presence::from_code(presence).unwrap(),
        }
    }

    fn matter() -> Matter {
        Matter {
            id: 1,
            code: "GA-001".into(),
            name: "户籍迁入".into(),
            unit_id: UNIT,
            promised_days: 5,
            materials: vec![],
            fee_fen: 0,
            a_clerk_id: Some(A),
            b_clerk_id: Some(B),
        }
    }

    fn clocks(a_presence: &str) -> Clocks {
        Clocks::new(
            None,
            vec![matter()],
            vec![
                colleague(A, "clerk", a_presence),
                colleague(B, "clerk", "on_duty"),
                colleague(LEADER, "dept_leader", "on_duty"),
                colleague(OTHER, "clerk", "on_duty"),
            ],
        )
    }

    /// Received Tuesday 2026-12-01 09:00 (+08:00), a working day.
    fn received() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap()
    }

    fn reservation(handler: Option<i64>) -> ItemView {
        ItemView {
            record: ItemRecord {
                id: Uuid::from_u128(7),
                number: "YY20261201-0001".into(),
                kind: ItemKind::Reservation,
                status: Status::Received,
                unit_id: UNIT,
                matter_id: Some(1),
                agent_id: None,
                handler_id: handler,
                applicant: Applicant::default(),
                title: "预约".into(),
                content: String::new(),
                received_at: received(),
                due_at: None,
                due_provisional: false,
                overdue: false,
                supervision: false,
                details: Default::default(),
                version: 1,
                events: vec![],
            },
            pending: false,
            pending_ops: 0,
        }
    }

    fn alerts(presence: &str, who: &UserInfo, handler: Option<i64>, minutes: i64) -> Vec<AlertKind> {
        let now = received() + chrono::Duration::minutes(minutes);
        due_alerts(
            &clocks(presence),
            who,
            &reservation(handler),
            Some(&matter()),
            now,
        )
    }

    #[test]
    fn a_new_reservation_alerts_the_acting_a_clerk_only() {
        assert_eq!(
            alerts("on_duty", &user(A, "clerk"), None, 0),
            [AlertKind::Arrival]
        );
        assert!(alerts("on_duty", &user(B, "clerk"), None, 0).is_empty());
        assert!(alerts("on_duty", &user(OTHER, "clerk"), None, 0).is_empty());
        // A is away (暂离): B acts as A from the arrival on.
        assert_eq!(alerts("away", &user(B, "clerk"), None, 0), [AlertKind::Arrival]);
        assert!(alerts("away", &user(A, "clerk"), None, 0).is_empty());
    }

    #[test]
    fn the_ladder_reaches_b_then_the_leader_then_records_overdue() {
        let b = user(B, "clerk");
        assert!(alerts("on_duty", &b, None, 29).is_empty());
        assert_eq!(alerts("on_duty", &b, None, 31), [AlertKind::BClerk]);
        let leader = user(LEADER, "dept_leader");
        assert!(alerts("on_duty", &leader, None, 49).is_empty());
        assert_eq!(alerts("on_duty", &leader, None, 51), [AlertKind::Leader]);
        // At the hour: A, B and the leader learn it is overdue; others do not.
        let late = alerts("on_duty", &user(A, "clerk"), None, 61);
        assert!(late.contains(&AlertKind::Overdue) && late.contains(&AlertKind::Arrival));
        assert!(alerts("on_duty", &leader, None, 61).contains(&AlertKind::Overdue));
        assert!(alerts("on_duty", &user(OTHER, "clerk"), None, 61).is_empty());
    }

    #[test]
    fn a_reservation_someone_took_alerts_nobody_else() {
        assert!(alerts("on_duty", &user(A, "clerk"), Some(B), 0).is_empty());
        assert!(
            alerts("on_duty", &user(B, "clerk"), Some(B), 0).is_empty(),
            "not the arrival once taken: B took it"
        );
    }

    #[test]
    fn alert_texts_name_the_item_and_matter_not_the_citizen() {
        let (summary, alert) = alert_for(AlertKind::Arrival, Uuid::nil(), "YY-1", Some("户籍迁入"));
        assert!(summary.contains("1个工作小时"));
        assert_eq!(alert.kind, "reservation_new");
        assert!(alert.text.contains("YY-1") && alert.text.contains("户籍迁入"));
        assert_eq!(
            alert_for(AlertKind::Overdue, Uuid::nil(), "YY-1", None).1.kind,
            "ladder_overdue"
        );
    }

    fn waiting(n: u128) -> OpenReservation {
        (
            Uuid::from_u128(n),
            format!("YY-{n}"),
            Some("户籍迁入".into()),
            vec![AlertKind::Arrival],
        )
    }

    fn toast_of(o: &LadderOutcome) -> Option<&Toast> {
        o.toast.as_ref().and_then(|t| t.as_ref())
    }

    #[test]
    fn the_backlog_at_login_is_one_reminder_and_one_grouped_toast() {
        let mut l = Ladder::default();
        let open = [waiting(1), waiting(2)];
        let before = l.look(&open, false);
        assert!(before.banners.is_empty() && before.toast.is_none(), "{before:?}");
        assert_eq!(before.attention, 2);
        let at_sync = l.look(&open, true);
        assert_eq!(at_sync.banners.len(), 1, "{at_sync:?}");
        assert!(at_sync.banners[0].text.contains("您有 2 个预约待处理"));
        assert_eq!(toast_of(&at_sync).unwrap().summary, "2 个预约待处理");
        // Nothing new: nothing said again.
        assert_eq!(
            l.look(&open, true),
            LadderOutcome {
                attention: 2,
                ..Default::default()
            }
        );
    }

    #[test]
    fn news_updates_the_one_toast_and_a_handled_reservation_is_withdrawn() {
        let mut l = Ladder::default();
        l.look(&[], true);
        l.note_news([Uuid::from_u128(1)]);
        let one = l.look(&[waiting(1)], true);
        let t = toast_of(&one).unwrap();
        assert_eq!(
            (t.summary.as_str(), t.opens),
            ("新预约：请在1个工作小时内处理", Uuid::from_u128(1))
        );
        assert!(t.body.contains("YY-1（户籍迁入）"));
        l.note_news([Uuid::from_u128(2)]);
        let two = l.look(&[waiting(1), waiting(2)], true);
        let t = toast_of(&two).unwrap();
        assert_eq!(t.summary, "2 个预约待处理");
        assert!(
            t.body.contains("YY-2") && t.body.contains("另有 1 个预约待处理"),
            "{t:?}"
        );
        assert_eq!(t.opens, Uuid::from_u128(2), "the newest opens");
        // Handled (here or elsewhere): withdrawn; the toast says the one left.
        let left = l.look(&[waiting(2)], true);
        assert_eq!(left.withdrawn, [Uuid::from_u128(1)]);
        assert!(left.banners.is_empty());
        let t = toast_of(&left).unwrap();
        assert!(t.body.contains("YY-2") && !t.body.contains("另有"), "{t:?}");
        // The last one handled: the toast goes.
        let none = l.look(&[], true);
        assert_eq!(none.withdrawn, [Uuid::from_u128(2)]);
        assert_eq!(none.toast, Some(None));
        assert_eq!(none.attention, 0);
        // Back again (returned to the queue): alerted again.
        let again = l.look(&[waiting(2)], true);
        assert_eq!(again.banners.len(), 1);
        assert!(toast_of(&again).is_some());
    }

    #[test]
    fn the_backlog_reminder_is_said_again_with_the_new_count() {
        let mut l = Ladder::default();
        l.look(&[waiting(1), waiting(2), waiting(3)], true);
        // A backlog item other than the reminder's is handled: same item, new count.
        let o = l.look(&[waiting(1), waiting(3)], true);
        assert_eq!(o.withdrawn, [Uuid::from_u128(2)]);
        assert_eq!(o.banners.len(), 1);
        assert_eq!(o.banners[0].item_id, Uuid::from_u128(1), "kept on its item");
        assert!(o.banners[0].text.contains("您有 2 个"));
        // The reminder's own item handled: it moves on to the one left.
        let o = l.look(&[waiting(3)], true);
        assert_eq!(
            (o.withdrawn.as_slice(), o.banners[0].item_id),
            ([Uuid::from_u128(1)].as_slice(), Uuid::from_u128(3))
        );
        assert!(o.banners[0].text.contains("您有 1 个"));
    }

    #[test]
    fn an_agent_hears_of_a_supplement_notice_and_a_ready_result_of_own_cases_only() {
        const AGENT: i64 = 40;
        let mut case = reservation(None).record;
        case.kind = ItemKind::DelegatedCase;
        case.number = "DB20261201-0003".into();
        case.agent_id = Some(AGENT);
        case.status = Status::Supplement;
        case.details.missing_materials = vec!["户口本".into(), "结婚证".into()];
        let (summary, alert) = agent_news(Some(Status::Submitted), &case, AGENT, Some("婚姻登记")).unwrap();
        assert_eq!(
            (summary.as_str(), alert.kind),
            ("代办件需补正材料", "case_supplement")
        );
        assert!(alert.text.contains("DB20261201-0003（婚姻登记）") && alert.text.contains("户口本、结婚证"));
        // Told once: the status the desk already knew is no news.
        assert!(agent_news(Some(Status::Supplement), &case, AGENT, None).is_none());
        case.status = Status::Completed;
        assert_eq!(
            agent_news(Some(Status::Deciding), &case, AGENT, None)
                .unwrap()
                .1
                .kind,
            "case_result_ready"
        );
        // Not the agent's own case, or nothing the agent must act on.
        assert!(agent_news(Some(Status::Deciding), &case, AGENT + 1, None).is_none());
        case.status = Status::Accepted;
        assert!(agent_news(Some(Status::Submitted), &case, AGENT, None).is_none());
        // No personal data in the texts.
        case.applicant.name = "王秀英".into();
        case.status = Status::Completed;
        let (summary, alert) = agent_news(None, &case, AGENT, None).unwrap();
        assert!(!summary.contains("王秀英") && !alert.text.contains("王秀英"));
    }
}
