//! Bootstrap of an empty cache, then incremental changes.

use crate::support::*;
use shimin_client::{QueueQuery, QueueView};
use shimin_domain::item::Status;

fn everything() -> QueueQuery {
    QueueQuery {
        view: QueueView::All,
        search: None,
        include_closed: true,
        limit: 100_000,
    }
}

#[tokio::test]
async fn bootstrap_fills_an_empty_cache_with_exactly_the_units_items() {
    let server = TestServer::demo().await;
    let clerk = server.user("clerk", None).await;
    let dir = tempfile::tempdir().unwrap();
    let desk = desk(dir.path(), "clerk", &[server.url()], &clerk).await;

    assert!(
        desk.queue(everything()).await.unwrap().is_empty(),
        "a new cache is empty"
    );
    let report = desk.sync_now().await.unwrap();

    let expected = server.unit_item_ids(clerk.unit_id.unwrap()).await;
    assert!(expected.len() > 10, "demo unit has items");
    let mut cached: Vec<String> = desk
        .queue(everything())
        .await
        .unwrap()
        .iter()
        .map(|v| v.record.id.to_string())
        .collect();
    cached.sort();
    assert_eq!(cached, expected);
    assert!(report.pulled_changes >= expected.len() as u64);
    assert!(!desk.matters().await.unwrap().is_empty(), "catalogue cached");
    let status = desk.status().borrow().clone();
    assert!(status.last_sync.is_some());
    assert_eq!(status.pending, 0);
}

#[tokio::test]
async fn incremental_sync_brings_only_what_changed() {
    let server = TestServer::demo().await;
    let clerk = server.user("clerk", None).await;
    let dir = tempfile::tempdir().unwrap();
    let desk = desk(dir.path(), "clerk", &[server.url()], &clerk).await;
    desk.sync_now().await.unwrap();

    let again = desk.sync_now().await.unwrap();
    assert_eq!(again.pulled_changes, 0, "nothing changed, nothing pulled");

    let portal = Portal::login(&server).await;
    let created = portal
        .reserve(server.matter_of(clerk.unit_id.unwrap()).await, citizen(1))
        .await;
    let report = desk.sync_now().await.unwrap();
    assert_eq!(report.pulled_changes, 1, "only the new reservation");
    let item = desk
        .item(created.id)
        .await
        .unwrap()
        .expect("new reservation cached");
    assert_eq!(item.record.number, created.number);
    assert_eq!(item.record.status, Status::Received);
    assert!(
        item.record.due_at.is_some(),
        "the statutory deadline travels with the item"
    );
}
