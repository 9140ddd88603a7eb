//! Reservation alerts: a new reservation and the later steps of its notification ladder
//! (B clerk → leader → overdue) become desktop notifications (notify-rust: D-Bus on Linux), an
//! in-app banner with a sound (`desk://alert`) and the tray's attention state. A notification
//! server may drop a toast, so the banner and the tray carry the same alert.
//!
//! A new reservation alerts whoever acts as A for its matter *when it arrives*, at any hour:
//! the working-time clock decides when the hour runs out, not when the clerk learns of it.
//! The later steps alert when the working clock reaches them.
//!
//! Texts carry the item number and the matter, never the citizen's name, ID number or phone.

use crate::state::Shared;
use chrono::{DateTime, Utc};
use serde::Serialize;
use shimin_client::{CacheEvent, Clocks, Desk, ItemView, LadderNotice, QueueQuery, QueueView};
use shimin_domain::ladder::Recipient;
use shimin_protocol::{Matter, UserInfo};
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
    if rec.status != "received" || rec.handler_id.is_some_and(|h| h != me.id) {
        return Vec::new();
    }
    let mut out = Vec::new();
    if clocks.acting_a(rec.matter_id, rec.unit_id).user_id == Some(me.id) {
        out.push(AlertKind::Arrival);
    }
    let concerned = matter.is_some_and(|m| m.a_clerk_id == Some(me.id) || m.b_clerk_id == Some(me.id))
        || (me.role == "dept_leader" && me.unit_id == Some(rec.unit_id));
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

/// Watches the cache and the clock; alerts this user once per reservation and step.
pub async fn ladder_loop(app: AppHandle, state: Shared, desk: Desk) {
    let Some(me) = desk.user() else { return };
    let mut changes = desk.changes();
    let mut alerted: HashSet<(Uuid, AlertKind)> = HashSet::new();
    // Items the core announced as new (after its first snapshot): always alerted one by one.
    let mut news: HashSet<Uuid> = HashSet::new();
    // Until the first sync completes, items arriving are the backlog, not news.
    let mut backlog = true;
    loop {
        match scan(&desk, &me).await {
            Ok(open) => {
                let attention = open.iter().filter(|(_, _, _, kinds)| !kinds.is_empty()).count() as u32;
                let mut fresh = Vec::new();
                for (id, number, matter, kinds) in &open {
                    for kind in kinds {
                        if alerted.insert((*id, *kind)) {
                            fresh.push((
                                news.contains(id),
                                alert_for(*kind, *id, number, matter.as_deref()),
                            ));
                        }
                    }
                }
                let synced = desk.status().borrow().last_sync.is_some();
                // News is never folded into the backlog reminder.
                let (news_now, fresh): (Vec<_>, Vec<_>) =
                    fresh.into_iter().partition(|(is_news, _)| *is_news);
                for (_, (summary, alert)) in news_now {
                    deliver(&app, &summary, alert);
                }
                if backlog {
                    if synced {
                        backlog = false;
                        // The backlog at login: one reminder instead of a flood.
                        let first = open.iter().find(|(_, _, _, kinds)| !kinds.is_empty());
                        if let Some((id, number, matter, _)) = first {
                            let (summary, mut alert) =
                                alert_for(AlertKind::Arrival, *id, number, matter.as_deref());
                            alert.text = format!("您有 {attention} 个预约待处理，请尽快受理或拒绝");
                            deliver(&app, &summary, alert);
                        }
                    }
                } else {
                    for (_, (summary, alert)) in fresh {
                        deliver(&app, &summary, alert);
                    }
                }
                if state.attention.swap(attention, Ordering::Relaxed) != attention {
                    crate::tray::refresh(&app, &state).await;
                    crate::emit_status(&app, &state).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "reservation check failed"),
        }
        tokio::select! {
            ev = changes.recv() => match ev {
                Ok(CacheEvent::ItemsChanged { new_items, .. }) => news.extend(new_items),
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                _ => {}
            },
            _ = tokio::time::sleep(TICK) => {}
        }
    }
}

type OpenReservation = (Uuid, String, Option<String>, Vec<AlertKind>);

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

fn deliver(app: &AppHandle, summary: &str, alert: Alert) {
    tracing::info!(item = %alert.item_number, kind = alert.kind, "reservation alert");
    let _ = app.emit(crate::EVENT_ALERT, &alert);
    show(app, summary, alert);
}

/// Pops the desktop notification: critical, never expiring, with an action that opens the item.
fn show(app: &AppHandle, summary: &str, alert: Alert) {
    let app = app.clone();
    let summary = summary.to_owned();
    // The D-Bus call and the wait for the clerk's click block: a thread of their own.
    std::thread::spawn(move || {
        let mut n = notify_rust::Notification::new();
        n.appname("市民网窗口端")
            .summary(&summary)
            .body(&alert.text)
            .icon("dialog-warning")
            .timeout(notify_rust::Timeout::Never);
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            n.urgency(notify_rust::Urgency::Critical)
                .action("default", "查看")
                .action("open", "打开办件")
                .hint(notify_rust::Hint::Category("im.received".to_owned()))
                .hint(notify_rust::Hint::Resident(true));
        }
        match n.show() {
            #[cfg(all(unix, not(target_os = "macos")))]
            Ok(handle) => handle.wait_for_action(|action| {
                if action == "default" || action == "open" {
                    crate::focus_item(&app, alert.item_id);
                }
            }),
            #[cfg(not(all(unix, not(target_os = "macos"))))]
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "desktop notification not shown; banner and tray still alert")
            }
        }
    });
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
            role: role.into(),
            unit_id: Some(UNIT),
        }
    }

    fn colleague(id: i64, role: &str, presence: &str) -> Colleague {
        Colleague {
            id,
            display_name: format!("用户{id}"),
            role: role.into(),
            unit_id: Some(UNIT),
            presence: presence.into(),
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
                kind: "reservation".into(),
                status: "received".into(),
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
}
