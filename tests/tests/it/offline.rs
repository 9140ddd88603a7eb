//! Offline: actions taken while the server is down are kept, shown as pending, and applied
//! exactly once when it returns.

use crate::support::*;
use shimin_client::{QueueQuery, QueueView};
use shimin_domain::item::Status;
use shimin_protocol::{Op, Slot};

#[tokio::test]
async fn mutations_made_while_the_server_is_down_apply_once_after_it_returns() {
    let mut server = TestServer::demo().await;
    let clerk = server.user("clerk", None).await;
    let dir = tempfile::tempdir().unwrap();
    // Three reservations waiting in the clerk's unit, whatever the demo's own state.
    let portal = Portal::login(&server).await;
    let matter = server.matter_of(clerk.unit_id.expect("a clerk has a unit")).await;
    for n in 0..3 {
        portal.reserve(matter, citizen(900 + n)).await;
    }
    let desk = desk(dir.path(), "clerk", &[server.url()], &clerk).await;
    desk.sync_now().await.unwrap();

    let open: Vec<_> = desk
        .queue(QueueQuery {
            view: QueueView::Kind("reservation".into()),
            search: None,
            include_closed: false,
            limit: 500,
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|v| v.record.status == Status::Received && v.record.handler_id.is_none())
        .take(3)
        .collect();
    assert_eq!(open.len(), 3, "demo unit has open reservations");

    server.stop().await;
    let start = slot_start(1);
    for v in &open {
        let slot = Slot {
            start,
            end: start + chrono::Duration::minutes(20),
        };
        let after = desk
            .act(v.record.id, Op::AcceptReservation { slot })
            .await
            .expect("works offline");
        assert_eq!(after.record.status, Status::Accepted);
        assert!(after.pending);
    }
    assert_eq!(desk.pending_count().await.unwrap(), 3);
    let err = desk.sync_now().await.expect_err("server is down");
    assert!(err.is_unreachable(), "{err}");
    assert!(!desk.status().borrow().online);
    // Still readable and marked pending while offline.
    let again = desk.item(open[0].record.id).await.unwrap().unwrap();
    assert_eq!((again.record.status, again.pending), (Status::Accepted, true));

    server.restart().await;
    let report = desk.sync_now().await.unwrap();
    assert_eq!((report.pushed_applied, report.pushed_rejected), (3, 0));
    assert_eq!(desk.pending_count().await.unwrap(), 0);
    let second = desk.sync_now().await.unwrap();
    assert_eq!(second.pushed_applied, 0);
    for v in &open {
        let accepts = server
            .history(v.record.id)
            .await
            .iter()
            .filter(|e| e.action == "accept_reservation")
            .count();
        assert_eq!(accepts, 1, "applied exactly once");
        let view = desk.item(v.record.id).await.unwrap().unwrap();
        assert_eq!((view.record.status, view.pending), (Status::Accepted, false));
    }
}

/// A masked number shown in full while the server is down (issue 16): the desk shows the value
/// from its cache at once, keeps the record, and hands it in once when the server returns;
/// the server's audit trail then names the clerk, the item and the field, not the value.
#[tokio::test]
async fn a_number_revealed_offline_reaches_the_audit_trail_once() {
    use shimin_domain::identity::PersonalField;
    let mut server = TestServer::demo().await;
    let clerk = server.user("clerk", None).await;
    let dir = tempfile::tempdir().unwrap();
    let portal = Portal::login(&server).await;
    let matter = server.matter_of(clerk.unit_id.expect("a clerk has a unit")).await;
    let created = portal.reserve(matter, citizen(950)).await;
    let desk = desk(dir.path(), "clerk", &[server.url()], &clerk).await;
    desk.sync_now().await.unwrap();

    server.stop().await;
    let shown = desk
        .reveal(created.id, PersonalField::IdNumber)
        .await
        .expect("works offline");
    assert_eq!(shown, citizen(950).id_number);
    desk.sync_now().await.expect_err("server is down");

    server.restart().await;
    let report = desk.sync_now().await.unwrap();
    assert_eq!(report.reveals_handed_in, 1);
    assert_eq!(desk.sync_now().await.unwrap().reveals_handed_in, 0);
    let audit = shimin_server::inspect::audit(server.store()).await.unwrap();
    let reveals: Vec<_> = audit.iter().filter(|e| e.action == "personal.reveal").collect();
    assert_eq!(reveals.len(), 1, "recorded once");
    assert_eq!(reveals[0].user_id, Some(clerk.id));
    assert_eq!(reveals[0].target.as_deref(), Some(created.number.as_str()));
    assert!(!reveals[0].outcome.contains(&shown), "the audit holds no value");
}
