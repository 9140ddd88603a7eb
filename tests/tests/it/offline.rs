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
