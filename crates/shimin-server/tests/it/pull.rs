//! Pull paging, end of snapshot, incremental pulls, throughput.

use std::collections::HashSet;
use std::time::Instant;

use shimin_domain::role::Role;
use shimin_protocol::*;

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
    assert_eq!(cursor, ts.scalar("SELECT value FROM change_seq").await);
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

/// Bootstrap of many items: measured and printed (see the report), bounded generously.
#[tokio::test]
async fn bootstrap_throughput() {
    let ts = start().await;
    let unit = ts.unit_id("县公安局").await;
    let n = 20_000;
    {
        // Bulk-insert copies of an item of the unit, each with its own seq and two events.
        let mut tx = ts.server.writer().begin().await.unwrap();
        let base: i64 = sqlx::query_scalar("SELECT value FROM change_seq")
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        for i in 0..n {
            let id = uuid::Uuid::new_v4().to_string();
            let seq = base + 1 + i;
            sqlx::query(
                "INSERT INTO items (id, number, kind, status, unit_id, applicant_name, applicant_id_number, applicant_phone,
                 title, content, received_at, details, version)
                 VALUES (?, ?, 'consultation', 'received', ?, '王建国', '130427199001011234', '13800000000', '咨询', '内容',
                 '2026-03-02T08:00:00.000000Z', '{}', ?)",
            )
            .bind(&id)
            .bind(format!("ZXBULK-{i:06}"))
            .bind(unit)
            .bind(seq)
            .execute(&mut *tx)
            .await
            .unwrap();
            for action in ["created", "claim"] {
                sqlx::query(
                    "INSERT INTO item_events (item_id, at, actor_name, action, status, seq)
                     VALUES (?, '2026-03-02T08:00:00.000000Z', '市民网门户', ?, 'received', ?)",
                )
                .bind(&id)
                .bind(action)
                .bind(seq)
                .execute(&mut *tx)
                .await
                .unwrap();
            }
        }
        sqlx::query("UPDATE change_seq SET value = ?")
            .bind(base + n)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let clerk = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let started = Instant::now();
    let (changes, _) = clerk.pull_all(0, Some(MAX_PULL_LIMIT)).await;
    let elapsed = started.elapsed();
    let count = items(&changes).len();
    assert!(count >= n as usize);
    assert!(items(&changes)
        .iter()
        .filter(|i| i.number.starts_with("ZXBULK"))
        .all(|i| i.events.len() == 2));
    let rate = count as f64 / elapsed.as_secs_f64();
    eprintln!("bootstrap pull: {count} items in {elapsed:?} ({rate:.0} items/s)");
    assert!(elapsed.as_secs() < 60, "bootstrap too slow: {elapsed:?}");
}
