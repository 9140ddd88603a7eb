//! The encrypted cache: encryption at rest, key errors, rebase/rollback, outbox durability,
//! queues.

use crate::fixtures::*;
use chrono::Duration;
use shimin_client::{CacheKey, Error, QueueQuery, QueueView, Store};
use shimin_domain::item::Status;
use shimin_domain::role::Role;
use shimin_protocol::{Change, MutationOutcome, MutationResult, Op, UserInfo};

fn user(id: i64, unit: i64) -> UserInfo {
    UserInfo {
        id,
        username: format!("u{id}"),
        display_name: format!("窗口{id}"),
        role: Role::Clerk,
        unit_id: Some(unit),
    }
}

#[tokio::test]
async fn cache_file_is_encrypted() {
    let (dir, store) = fresh().await;
    store
        .apply_pull(&items_page(vec![item(1, "reservation", 10)], 1, false))
        .await
        .unwrap();
    store.checkpoint().await.unwrap();
    store.close().await;
    let bytes = std::fs::read(dir.path().join("cache.db")).unwrap();
    assert!(bytes.len() > 1000);
    assert_ne!(&bytes[..16], b"SQLite format 3\0");
}

#[tokio::test]
async fn wrong_key_is_refused_and_file_untouched() {
    let (dir, store) = fresh().await;
    store
        .apply_pull(&items_page(vec![item(1, "reservation", 10)], 1, false))
        .await
        .unwrap();
    store.close().await;
    let path = dir.path().join("cache.db");
    let files = || {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            .collect();
        v.sort();
        v
    };
    let before = files();
    let err = Store::open(&path, &CacheKey::from_bytes([8u8; 32]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CacheKeyOrCorrupt), "{err:?}");
    assert_eq!(err.code(), "cache_key_or_corrupt");
    let after = files();
    if after != before {
        let names = |v: &Vec<(String, Vec<u8>)>| {
            v.iter()
                .map(|(n, b)| format!("{n}:{}", b.len()))
                .collect::<Vec<_>>()
        };
        let diff: Vec<usize> = before[0]
            .1
            .iter()
            .zip(after[0].1.iter())
            .enumerate()
            .filter(|(_, (a, b))| a != b)
            .map(|(i, _)| i)
            .take(20)
            .collect();
        panic!(
            "wrong raw key changed the files: {:?} -> {:?}; first diffs {:?}",
            names(&before),
            names(&after),
            diff
        );
    }
    let err = Store::open(&path, &CacheKey::from_passphrase("nope"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::CacheKeyOrCorrupt), "{err:?}");
    assert!(files() == before, "wrong passphrase changed the files");
    // The right key still opens it, data intact.
    let store = Store::open(&path, &key()).await.unwrap();
    assert_eq!(store.item_count().await.unwrap(), 1);
}

#[tokio::test]
async fn garbage_file_is_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    let garbage: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &garbage).unwrap();
    let err = Store::open(&path, &key()).await.unwrap_err();
    assert!(matches!(err, Error::CacheKeyOrCorrupt), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), garbage);
    // A plain (unencrypted) text file too.
    std::fs::write(&path, b"hello, this is not a database at all, just some text").unwrap();
    assert!(matches!(
        Store::open(&path, &key()).await.unwrap_err(),
        Error::CacheKeyOrCorrupt
    ));
}

#[tokio::test]
async fn no_personal_data_in_the_files() {
    let (dir, store) = fresh().await;
    let mut rec = item(1, "reservation", 10);
    rec.applicant.name = "欧阳测试者".into();
    rec.applicant.id_number = "130423199912319876".into();
    rec.applicant.phone = "13987654321".into();
    store
        .apply_pull(&items_page(vec![rec.clone()], 1, false))
        .await
        .unwrap();
    store
        .enqueue(rec.id, &Op::Claim, &clerk(7, 10), t0())
        .await
        .unwrap();
    let needles: [&[u8]; 3] = ["欧阳测试者".as_bytes(), b"130423199912319876", b"13987654321"];
    let scan = |when: &str| {
        for entry in std::fs::read_dir(dir.path()).unwrap() {
            let path = entry.unwrap().path();
            let bytes = std::fs::read(&path).unwrap();
            for n in needles {
                assert!(
                    !bytes.windows(n.len()).any(|w| w == n),
                    "{when}: plaintext found in {}",
                    path.display()
                );
            }
        }
    };
    scan("before checkpoint (WAL)");
    store.checkpoint().await.unwrap();
    scan("after checkpoint");
    store.close().await;
    scan("after close");
}

#[tokio::test]
async fn optimistic_op_then_rejection_rolls_back() {
    let (_dir, store) = fresh().await;
    let rec = item(1, "reservation", 10);
    store
        .apply_pull(&items_page(vec![rec.clone()], 1, false))
        .await
        .unwrap();
    let view = store
        .enqueue(rec.id, &Op::Claim, &clerk(7, 10), t0())
        .await
        .unwrap();
    assert_eq!(view.record.handler_id, Some(7));
    assert!(view.pending);
    assert_eq!(view.pending_ops, 1);
    let stored = store.item(rec.id).await.unwrap().unwrap();
    assert_eq!(stored, view);

    let batch = store.outbox_batch(500).await.unwrap();
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].seq, 1);
    let result = MutationResult {
        id: batch[0].id,
        seq: 1,
        outcome: MutationOutcome::Rejected {
            code: "already_claimed".into(),
            message: "此件已被其他人员接办".into(),
        },
    };
    let applied = store.apply_push(&[result], t0()).await.unwrap();
    assert_eq!(applied.rejected.len(), 1);
    assert_eq!(applied.ids, vec![rec.id]);
    let after = store.item(rec.id).await.unwrap().unwrap();
    assert_eq!(after.record, rec, "view rolled back to the server record");
    assert!(!after.pending);
    assert_eq!(store.pending_count().await.unwrap(), 0);
    let notices = store.rejections().await.unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].item_number, rec.number);
    assert_eq!(notices[0].op_type, "claim");
    assert_eq!(notices[0].code, "already_claimed");
    store.dismiss_rejection(notices[0].mutation_id).await.unwrap();
    assert!(store.rejections().await.unwrap().is_empty());
}

#[tokio::test]
async fn server_record_moves_on_while_op_pending() {
    let (_dir, store) = fresh().await;
    let rec = item(2, "complaint", 10);
    store
        .apply_pull(&items_page(vec![rec.clone()], 1, false))
        .await
        .unwrap();
    let who = clerk(7, 10);
    store
        .enqueue(
            rec.id,
            &Op::AddNote {
                text: "已联系投诉人".into(),
            },
            &who,
            t0(),
        )
        .await
        .unwrap();

    // Someone else changed the item (new deadline, new version) before our push.
    let mut newer = rec.clone();
    newer.version = 50;
    newer.due_at = Some(t0() + Duration::days(3));
    store
        .apply_pull(&items_page(vec![newer.clone()], 50, false))
        .await
        .unwrap();
    let view = store.item(rec.id).await.unwrap().unwrap();
    assert_eq!(view.record.version, 50);
    assert_eq!(view.record.due_at, newer.due_at);
    assert_eq!(
        view.record.status,
        Status::Investigating,
        "pending note replayed on the new record"
    );
    assert_eq!(view.record.handler_id, Some(7));
    assert_eq!(view.record.events.len(), 1);
    assert_eq!(view.record.events[0].note.as_deref(), Some("已联系投诉人"));
    assert_eq!(view.pending_ops, 1);

    // The server record moves so that the op no longer applies: view = server record.
    let mut answered = newer.clone();
    answered.version = 51;
    answered.status = Status::Answered;
    answered.handler_id = Some(9);
    store
        .apply_pull(&items_page(vec![answered.clone()], 51, false))
        .await
        .unwrap();
    let view = store.item(rec.id).await.unwrap().unwrap();
    assert_eq!(view.record.status, Status::Answered);
    // AddNote is allowed even on closed items: the note is kept in the view.
    assert_eq!(view.record.events.len(), 1);
    assert!(view.pending);
}

#[tokio::test]
async fn applied_keeps_view_until_the_pull() {
    let (_dir, store) = fresh().await;
    let rec = item(3, "reservation", 10);
    store
        .apply_pull(&items_page(vec![rec.clone()], 1, false))
        .await
        .unwrap();
    store
        .enqueue(rec.id, &Op::Claim, &clerk(7, 10), t0())
        .await
        .unwrap();
    let batch = store.outbox_batch(500).await.unwrap();
    let ok = MutationResult {
        id: batch[0].id,
        seq: batch[0].seq,
        outcome: MutationOutcome::Applied { version: 60 },
    };
    let applied = store.apply_push(std::slice::from_ref(&ok), t0()).await.unwrap();
    assert_eq!(applied.applied, 1);
    let view = store.item(rec.id).await.unwrap().unwrap();
    assert_eq!(view.record.handler_id, Some(7));
    assert!(!view.pending);
    // A replayed answer for an already settled mutation changes nothing.
    let again = store.apply_push(&[ok], t0()).await.unwrap();
    assert_eq!(again.applied, 0);
    let mut confirmed = rec.clone();
    confirmed.handler_id = Some(7);
    confirmed.version = 60;
    store
        .apply_pull(&items_page(vec![confirmed.clone()], 60, false))
        .await
        .unwrap();
    assert_eq!(store.item(rec.id).await.unwrap().unwrap().record, confirmed);
}

#[tokio::test]
async fn refused_locally_writes_nothing() {
    let (_dir, store) = fresh().await;
    let mut rec = item(4, "reservation", 10);
    rec.handler_id = Some(99);
    store
        .apply_pull(&items_page(vec![rec.clone()], 1, false))
        .await
        .unwrap();
    let err = store
        .enqueue(rec.id, &Op::Claim, &clerk(7, 10), t0())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "already_claimed");
    let err = store
        .enqueue(rec.id, &Op::MarkRead, &clerk(7, 10), t0())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "wrong_kind");
    let err = store
        .enqueue(rec.id, &Op::Claim, &clerk(7, 11), t0())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_permitted");
    let err = store
        .enqueue(rec.id, &Op::AddNote { text: "  ".into() }, &clerk(7, 10), t0())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "invalid_field");
    let err = store
        .enqueue(uid(999), &Op::Claim, &clerk(7, 10), t0())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "not_found");
    assert_eq!(store.pending_count().await.unwrap(), 0);
    assert_eq!(store.item(rec.id).await.unwrap().unwrap().record, rec);
}

#[tokio::test]
async fn outbox_survives_reopen_in_order() {
    let (dir, store) = fresh().await;
    let path = dir.path().join("cache.db");
    let recs: Vec<_> = (1..=3).map(|n| item(n, "consultation", 10)).collect();
    store
        .apply_pull(&items_page(recs.clone(), 3, false))
        .await
        .unwrap();
    let client_id = store.client_id().await.unwrap();
    for r in &recs {
        store
            .enqueue(
                r.id,
                &Op::AddNote {
                    text: format!("note {}", r.number),
                },
                &clerk(7, 10),
                t0(),
            )
            .await
            .unwrap();
    }
    let before = store.outbox_batch(500).await.unwrap();
    store.close().await;

    let store = Store::open(&path, &key()).await.unwrap();
    assert_eq!(store.client_id().await.unwrap(), client_id);
    let after = store.outbox_batch(500).await.unwrap();
    assert_eq!(after, before);
    assert_eq!(after.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    // Settle the first two; the next op continues the sequence.
    let results: Vec<_> = after[..2]
        .iter()
        .map(|m| MutationResult {
            id: m.id,
            seq: m.seq,
            outcome: MutationOutcome::Applied { version: 9 },
        })
        .collect();
    store.apply_push(&results, t0()).await.unwrap();
    store
        .enqueue(recs[0].id, &Op::Claim, &clerk(7, 10), t0())
        .await
        .unwrap();
    let rest = store.outbox_batch(500).await.unwrap();
    assert_eq!(rest.iter().map(|m| m.seq).collect::<Vec<_>>(), vec![3, 4]);
}

#[tokio::test]
async fn interrupted_bootstrap_resumes_from_last_page() {
    let (dir, store) = fresh().await;
    let path = dir.path().join("cache.db");
    let first: Vec<_> = (1..=100).map(|n| item(n, "reservation", 10)).collect();
    store.apply_pull(&items_page(first, 100, true)).await.unwrap();
    store.close().await; // "network cut": the second page never comes
    let store = Store::open(&path, &key()).await.unwrap();
    assert_eq!(store.cursor().await.unwrap(), 100);
    assert!(!store.bootstrapped().await.unwrap());
    assert_eq!(store.item_count().await.unwrap(), 100);
    let second: Vec<_> = (101..=150).map(|n| item(n, "reservation", 10)).collect();
    let applied = store.apply_pull(&items_page(second, 150, false)).await.unwrap();
    assert!(
        applied.new_items.is_empty(),
        "the first snapshot reports no new arrivals"
    );
    assert!(store.bootstrapped().await.unwrap());
    // After the snapshot, a new item is reported as new, an update is not.
    let mut updated = item(5, "reservation", 10);
    updated.version = 151;
    let applied = store
        .apply_pull(&items_page(
            vec![updated, item(151, "reservation", 10)],
            152,
            false,
        ))
        .await
        .unwrap();
    assert_eq!(applied.new_items, vec![uid(151)]);
    assert_eq!(applied.ids, vec![uid(5), uid(151)]);
}

#[tokio::test]
async fn item_removed_and_catalogue() {
    let (_dir, store) = fresh().await;
    store
        .apply_pull(&page(
            vec![
                Change::Item(Box::new(item(1, "reservation", 10))),
                Change::Matter(matter(1, "户口迁移", 10)),
                Change::ItemRemoved { id: uid(1) },
            ],
            3,
            false,
        ))
        .await
        .unwrap();
    assert!(store.item(uid(1)).await.unwrap().is_none());
    assert_eq!(store.matters().await.unwrap()[0].name, "户口迁移");
}

#[tokio::test]
async fn queue_views_and_search() {
    let (_dir, store) = fresh().await;
    let mut recs = Vec::new();
    for n in 1..=30u32 {
        let kind = ["reservation", "consultation", "complaint"][n as usize % 3];
        let unit = if n % 2 == 0 { 10 } else { 11 };
        let mut r = item(n, kind, unit);
        r.matter_id = Some(if n % 5 == 0 { 2 } else { 1 });
        recs.push(r);
    }
    recs[0].applicant.name = "王小明".into(); // n=1, unit 11
    recs[1].status = Status::Answered; // n=2 consultation, closed
    recs[3].handler_id = Some(7); // n=4 unit 10
    let mut changes: Vec<Change> = recs.iter().cloned().map(|r| Change::Item(Box::new(r))).collect();
    changes.push(Change::Matter(matter(1, "户口迁移", 10)));
    changes.push(Change::Matter(matter(2, "不动产登记", 11)));
    store.apply_pull(&page(changes, 40, false)).await.unwrap();
    let me = user(7, 10);
    let now = t0() + Duration::minutes(70); // due_at = t0 + 60 + n min → n < 10 overdue
    let q = |view| QueueQuery::new(view);
    let ids = |v: Vec<shimin_client::ItemView>| v.into_iter().map(|i| i.record.number).collect::<Vec<_>>();

    let mine = store.queue(&q(QueueView::Mine), Some(&me), now).await.unwrap();
    assert_eq!(ids(mine), vec!["YY20260302-0004"]);
    let unit = store.queue(&q(QueueView::Unit), Some(&me), now).await.unwrap();
    assert_eq!(unit.len(), 14, "15 items of unit 10, one closed");
    assert!(
        unit.windows(2).all(|w| w[0].record.due_at <= w[1].record.due_at),
        "sorted by deadline"
    );
    let mut with_closed = q(QueueView::Unit);
    with_closed.include_closed = true;
    assert_eq!(store.queue(&with_closed, Some(&me), now).await.unwrap().len(), 15);
    let kind = store
        .queue(&q(QueueView::Kind("complaint".into())), Some(&me), now)
        .await
        .unwrap();
    assert_eq!(kind.len(), 9, "n = 2, 5, …, 29 without closed n = 2");
    let overdue = store.queue(&q(QueueView::Overdue), Some(&me), now).await.unwrap();
    assert_eq!(overdue.len(), 8, "n = 1..9 without closed n = 2");
    let soon = store
        .queue(
            &q(QueueView::DueSoon(std::time::Duration::from_secs(300))),
            Some(&me),
            now,
        )
        .await
        .unwrap();
    assert_eq!(
        ids(soon),
        vec![
            "YY20260302-0010",
            "YY20260302-0011",
            "YY20260302-0012",
            "YY20260302-0013",
            "YY20260302-0014",
            "YY20260302-0015"
        ]
    );
    assert_eq!(
        store.queue(&q(QueueView::Mine), None, now).await.unwrap().len(),
        0
    );

    let search = |s: &str| {
        let mut query = q(QueueView::All);
        query.search = Some(s.into());
        query.include_closed = true;
        let store = store.clone();
        async move { store.queue(&query, None, now).await.unwrap() }
    };
    assert_eq!(ids(search("王小明").await), vec!["YY20260302-0001"]);
    assert_eq!(ids(search("小明").await), vec!["YY20260302-0001"]);
    assert_eq!(ids(search("yy20260302-0017").await), vec!["YY20260302-0017"]);
    assert_eq!(search("不动产").await.len(), 6, "matter name");
    assert_eq!(search("nobody").await.len(), 0);
    // Search within a view.
    let mut query = q(QueueView::Unit);
    query.search = Some("不动产".into());
    assert_eq!(store.queue(&query, Some(&me), now).await.unwrap().len(), 3);
}

#[tokio::test]
/// A 20k-item bootstrap in pages lands every item and stays searchable. (Its speed is a
/// benchmark figure — shimin-bench part 1 — not asserted here.)
async fn bootstrap_of_20k_items_in_pages() {
    let (_dir, store) = fresh().await;
    let total = 20_000u32;
    let pages: Vec<_> = (0..total / 5000)
        .map(|p| {
            let items = (p * 5000 + 1..=(p + 1) * 5000)
                .map(|n| item(n, "application", 10))
                .collect();
            items_page(items, i64::from((p + 1) * 5000), (p + 1) * 5000 < total)
        })
        .collect();
    for p in &pages {
        store.apply_pull(p).await.unwrap();
    }
    assert_eq!(store.item_count().await.unwrap(), u64::from(total));
    // One item is found by its applicant on the big cache.
    let mut query = QueueQuery::new(QueueView::All);
    query.search = Some("申请人19999".into());
    let found = store.queue(&query, None, t0()).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].record.applicant.name, "申请人19999");
}
