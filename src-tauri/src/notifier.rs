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
                // News is never folded into the backlog reminder, and comes after it: the
                // newest alert on top of the banner is the reservation that just arrived.
                let (news_now, fresh): (Vec<_>, Vec<_>) =
                    fresh.into_iter().partition(|(is_news, _)| *is_news);
                let was_backlog = backlog;
                if backlog && synced {
                    backlog = false;
                    // The backlog at login: one reminder instead of a flood (news excluded).
                    let waiting: Vec<_> = open
                        .iter()
                        .filter(|(id, _, _, kinds)| !kinds.is_empty() && !news.contains(id))
                        .collect();
                    if let Some((id, number, matter, _)) = waiting.first() {
                        let (summary, mut alert) =
                            alert_for(AlertKind::Arrival, *id, number, matter.as_deref());
                        alert.text = format!("您有 {} 个预约待处理，请尽快受理或拒绝", waiting.len());
                        deliver(&app, &summary, alert);
                    }
                }
                for (_, (summary, alert)) in news_now {
                    deliver(&app, &summary, alert);
                }
                if !was_backlog {
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
pub async fn agent_loop(app: AppHandle, desk: Desk) {
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
                deliver(&app, &summary, alert);
            }
        }
        first_snapshot = first_snapshot && desk.status().borrow().last_sync.is_none();
    }
}

fn deliver(app: &AppHandle, summary: &str, alert: Alert) {
    tracing::info!(item = %alert.item_number, kind = alert.kind, "alert");
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
