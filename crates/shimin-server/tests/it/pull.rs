//! Pull paging, end of snapshot, incremental pulls, throughput.

use std::collections::HashSet;

use shimin_domain::item::{ItemKind, Status};
use shimin_domain::role::Role;
use shimin_protocol::*;
use shimin_server::store::NewItem;

use crate::support::*;

#[tokio::test]
async fn paging_reaches_the_end_of_the_snapshot_without_gaps_or_duplicates() {
    let ts = start().await;
    let s = ts.login_as(Role::Inspector, None).await;
    let (all_at_once, cursor_a) = s.pull_all(0, Some(MAX_PULL_LIMIT)).await;
    let mut cursor = 0;
    let mut paged = Vec::new();
    let mut pages = 0;
    loop {
        let page = s.pull(cursor, Some(37)).await.unwrap();
        assert!(page.changes.len() <= 37);
        pages += 1;
        paged.extend(page.changes);
        cursor = page.cursor;
        if !page.has_more {
            break;
        }
    }
    assert!(pages > 5);
    assert_eq!(paged, all_at_once);
    assert_eq!(cursor, cursor_a);
    let ids: Vec<_> = items(&paged).iter().map(|i| i.id).collect();
    assert_eq!(
        ids.len(),
        ids.iter().collect::<HashSet<_>>().len(),
        "no duplicates"
    );
    assert_eq!(ids.len() as i64, ts.item_count().await);
    // Versions strictly increase along the stream.
    let versions: Vec<i64> = items(&paged).iter().map(|i| i.version).collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]));
    // At the end: empty page, same cursor.
    let end = s.pull(cursor, None).await.unwrap();
    assert!(end.changes.is_empty() && !end.has_more);
    assert_eq!(end.cursor, cursor);
    assert_eq!(
        cursor,
        shimin_server::inspect::current_seq(ts.store()).await.unwrap()
    );
}

#[tokio::test]
async fn incremental_pull_returns_only_the_new_item() {
    let ts = start().await;
    let clerk = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let (_, cursor) = clerk.pull_all(0, None).await;
    let portal = ts.portal().await;
    let mine = new_reservation(&ts, &portal, "县公安局").await;
    let _theirs = new_reservation(&ts, &portal, "县民政局").await;
    let page = clerk.pull(cursor, None).await.unwrap();
    assert!(!page.has_more);
    assert_eq!(page.changes.len(), 1, "{:?}", page.changes);
    let Change::Item(item) = &page.changes[0] else {
        panic!("item expected")
    };
    assert_eq!(item.id, mine.id);
    assert_eq!(item.number, mine.number);
    assert!(page.cursor > cursor);
}

#[tokio::test]
async fn limit_is_capped_and_defaulted() {
    let ts = start().await;
    let s = ts.login_as(Role::Manager, None).await;
    let (all, _) = s.pull_all(0, Some(MAX_PULL_LIMIT)).await;
    let page = s.pull(0, None).await.unwrap();
    assert_eq!(page.changes.len(), all.len().min(1000), "default limit 1000");
    assert_eq!(page.has_more, all.len() > 1000);
    let page = s.pull(0, Some(10)).await.unwrap();
    assert_eq!(page.changes.len(), 10);
    assert!(page.has_more);
    let page = s.pull(0, Some(0)).await.unwrap();
    assert_eq!(page.changes.len(), 1, "limit is at least 1");
    let page = s.pull(0, Some(1_000_000)).await.unwrap();
    assert!(page.changes.len() <= MAX_PULL_LIMIT as usize);
    let bad = s.pull(-5, None).await.err().unwrap();
    assert_eq!(bad.error.code, codes::INVALID_FIELD);
}

/// A bootstrap of many items over full pages: every item exactly once, each with its whole
/// history, in version order. (Its speed is the benchmark's business, part 1.)
#[tokio::test]
async fn a_large_bootstrap_delivers_every_item_once_with_its_history() {
    let ts = start().await;
    let unit = ts.unit_id("县公安局").await;
    let n = 6_000;
    let mut ids = std::collections::HashSet::new();
    {
        let mut tx = ts.store().write().await.unwrap();
        let at = chrono::Utc::now() - chrono::Duration::days(1);
        for _ in 0..n {
            let id = uuid::Uuid::new_v4();
            ids.insert(id);
            let new = NewItem {
                id,
                kind: ItemKind::Consultation,
                status: Status::Received,
                unit_id: unit,
                matter_id: None,
                agent_id: None,
                handler_id: None,
                applicant: applicant(),
                title: "咨询".into(),
                content: "内容".into(),
                received_at: at,
                details: Default::default(),
            };
            let event = |action: &str| ItemEvent {
                at,
                actor_id: None,
                actor_name: "市民网门户".into(),
                action: action.into(),
                status: Status::Received,
                note: None,
                place: None,
            };
            tx.insert_item(&new, &[event("created"), event("add_note")])
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    let clerk = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let (changes, _) = clerk.pull_all(0, Some(MAX_PULL_LIMIT)).await;
    let got = items(&changes);
    let bulk: Vec<_> = got.iter().filter(|i| ids.contains(&i.id)).collect();
    assert_eq!(bulk.len(), n, "every item once");
    assert!(bulk.iter().all(|i| i.events.len() == 2));
    let versions: Vec<i64> = got.iter().map(|i| i.version).collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "in version order");
}
