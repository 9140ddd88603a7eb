//! Push: idempotency, replay, gaps, races, transfer.

use reqwest::StatusCode;
use shimin_domain::item::Status;
use shimin_domain::role::Role;
use shimin_protocol::*;

use crate::support::*;

async fn status_of(ts: &TestServer, id: uuid::Uuid) -> (Status, Option<i64>, i64) {
    let i = ts.item(id).await;
    (i.status, i.handler_id, i.unit_id)
}

/// Every history entry the server holds, and the change sequence.
async fn history_and_seq(ts: &TestServer) -> (usize, i64) {
    (
        shimin_server::inspect::events(ts.store()).await.unwrap().len(),
        shimin_server::inspect::current_seq(ts.store()).await.unwrap(),
    )
}

#[tokio::test]
async fn applied_mutation_changes_the_item_and_records_history() {
    let ts = start().await;
    let portal = ts.portal().await;
    let res = new_reservation(&ts, &portal, "县公安局").await;
    let clerk = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let slot = tomorrow_slot();
    let r = clerk
        .push(vec![mutation(1, res.id, Op::AcceptReservation { slot })])
        .await
        .unwrap();
    assert_eq!(r.last_seq, 1);
    let MutationOutcome::Applied { version } = r.results[0].outcome else {
        panic!("{:?}", r.results[0])
    };
    assert_eq!(
        status_of(&ts, res.id).await,
        (
            Status::Accepted,
            Some(clerk.user_id()),
            ts.unit_id("县公安局").await
        )
    );
    let (changes, _) = clerk.pull_all(version - 1, None).await;
    let item = items(&changes)
        .into_iter()
        .find(|i| i.id == res.id)
        .unwrap()
        .clone();
    assert_eq!(item.version, version);
    assert_eq!(item.details.granted_slot, Some(slot));
    assert_eq!(item.events.last().unwrap().action, "accept_reservation");
    assert_eq!(item.events.last().unwrap().actor_id, Some(clerk.user_id()));
}

#[tokio::test]
async fn same_batch_twice_applies_once_and_replays_the_results() {
    let ts = start().await;
    let portal = ts.portal().await;
    let a = new_reservation(&ts, &portal, "县公安局").await;
    let clerk = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let batch = vec![
        mutation(1, a.id, Op::Claim),
        mutation(
            2,
            a.id,
            Op::AddNote {
                text: "已电话联系".into(),
            },
        ),
        mutation(3, a.id, Op::MarkArrived), // refused: not accepted yet
    ];
    let first = clerk.push(batch.clone()).await.unwrap();
    let after_first = history_and_seq(&ts).await;
    let second = clerk.push(batch.clone()).await.unwrap();
    assert_eq!(first.results, second.results);
    assert_eq!(first.last_seq, 3);
    assert_eq!(second.last_seq, 3);
    assert!(matches!(
        first.results[0].outcome,
        MutationOutcome::Applied { .. }
    ));
    assert!(matches!(
        first.results[1].outcome,
        MutationOutcome::Applied { .. }
    ));
    assert!(
        matches!(&first.results[2].outcome, MutationOutcome::Rejected { code, .. } if code == "invalid_state")
    );
    assert_eq!(history_and_seq(&ts).await, after_first, "nothing re-applied");

    // Lost response: send 4, ignore the answer, resend 4 with 5 appended.
    let m4 = mutation(
        4,
        a.id,
        Op::AddNote {
            text: "第二次备注".into(),
        },
    );
    let _ = clerk.push(vec![m4.clone()]).await.unwrap();
    let m5 = mutation(
        5,
        a.id,
        Op::AcceptReservation {
            slot: tomorrow_slot(),
        },
    );
    let again = clerk.push(vec![m4.clone(), m5]).await.unwrap();
    assert_eq!(again.last_seq, 5);
    assert!(again
        .results
        .iter()
        .all(|r| matches!(r.outcome, MutationOutcome::Applied { .. })));
    let notes = ts
        .history(a.id)
        .await
        .iter()
        .filter(|e| e.note.as_deref() == Some("第二次备注"))
        .count();
    assert_eq!(notes, 1, "the resent mutation was applied once");
}

#[tokio::test]
async fn sequence_gap_is_409_with_expected() {
    let ts = start().await;
    let portal = ts.portal().await;
    let a = new_reservation(&ts, &portal, "县公安局").await;
    let clerk = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let f = clerk
        .push(vec![mutation(2, a.id, Op::Claim)])
        .await
        .err()
        .unwrap();
    assert_eq!(
        (f.status, f.error.code.as_str()),
        (StatusCode::CONFLICT, codes::SEQUENCE_GAP)
    );
    assert_eq!(f.error.details.unwrap()["expected"], 1);
    assert_eq!(status_of(&ts, a.id).await.0, Status::Received);
    // Applied up to the gap, then 409.
    let f = clerk
        .push(vec![
            mutation(1, a.id, Op::Claim),
            mutation(3, a.id, Op::MarkNoShow),
        ])
        .await
        .err()
        .unwrap();
    assert_eq!(f.error.details.unwrap()["expected"], 2);
    assert_eq!(status_of(&ts, a.id).await.1, Some(clerk.user_id()));
}

#[tokio::test]
async fn concurrent_claims_one_wins() {
    let ts = start().await;
    let portal = ts.portal().await;
    for _ in 0..5 {
        let r = new_reservation(&ts, &portal, "县公安局").await;
        let a = ts.login_as(Role::Clerk, Some("县公安局")).await;
        let b_name = ts.county.ab_clerk("县公安局", 'B').unwrap().username.clone();
        let b = ts
            .login(&b_name, shimin_server::demo::DEMO_PASSWORD)
            .await
            .unwrap();
        let (ra, rb) = tokio::join!(
            a.push(vec![mutation(1, r.id, Op::Claim)]),
            b.push(vec![mutation(1, r.id, Op::Claim)])
        );
        let outcomes = [
            ra.unwrap().results[0].outcome.clone(),
            rb.unwrap().results[0].outcome.clone(),
        ];
        let applied = outcomes
            .iter()
            .filter(|o| matches!(o, MutationOutcome::Applied { .. }))
            .count();
        assert_eq!(applied, 1, "{outcomes:?}");
        assert!(outcomes
            .iter()
            .any(|o| matches!(o, MutationOutcome::Rejected { code, .. } if code == "already_claimed")));
    }
}

#[tokio::test]
async fn invalid_op_payload_is_rejected_not_applied() {
    let ts = start().await;
    let portal = ts.portal().await;
    let a = new_reservation(&ts, &portal, "县公安局").await;
    let clerk = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let r = clerk
        .push(vec![
            mutation(1, a.id, Op::RejectReservation { reason: "  ".into() }),
            mutation(2, uuid::Uuid::new_v4(), Op::Claim),
        ])
        .await
        .unwrap();
    assert!(
        matches!(&r.results[0].outcome, MutationOutcome::Rejected { code, .. } if code == codes::INVALID_FIELD)
    );
    assert!(
        matches!(&r.results[1].outcome, MutationOutcome::Rejected { code, .. } if code == codes::NOT_FOUND)
    );
    assert_eq!(r.last_seq, 2);
    assert_eq!(status_of(&ts, a.id).await.0, Status::Received);
}

#[tokio::test]
async fn transfer_removes_the_item_from_the_old_unit() {
    let ts = start().await;
    let portal = ts.portal().await;
    let old_clerk = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let new_clerk = ts.login_as(Role::Clerk, Some("县民政局")).await;
    let (_, old_cursor) = old_clerk.pull_all(0, None).await;
    let (_, new_cursor) = new_clerk.pull_all(0, None).await;
    let c: Created = portal
        .post(
            paths::INTAKE_COMPLAINT,
            &NewComplaint {
                unit_id: ts.unit_id("县公安局").await,
                applicant: applicant(),
                title: "低保办理问题".into(),
                content: "应由民政部门处理".into(),
            },
        )
        .await
        .unwrap();
    let to = ts.unit_id("县民政局").await;
    let r = old_clerk
        .push(vec![mutation(
            1,
            c.id,
            Op::Transfer {
                to_unit_id: to,
                reason: "属民政局职责".into(),
            },
        )])
        .await
        .unwrap();
    assert!(
        matches!(r.results[0].outcome, MutationOutcome::Applied { .. }),
        "{:?}",
        r.results
    );
    // Old unit: the item arrived and left after its cursor -> it sees the removal last.
    let page = old_clerk.pull(old_cursor, None).await.unwrap();
    assert!(
        matches!(page.changes.last(), Some(Change::ItemRemoved { id }) if *id == c.id),
        "{:?}",
        page.changes
    );
    assert!(items(&page.changes)
        .iter()
        .all(|i| i.id != c.id || i.unit_id != to));
    // New unit: sees the item, now theirs.
    let page = new_clerk.pull(new_cursor, None).await.unwrap();
    let item = items(&page.changes)
        .into_iter()
        .find(|i| i.id == c.id)
        .expect("transferred item")
        .clone();
    assert_eq!(item.unit_id, to);
    assert_eq!(item.handler_id, None);
    assert!(!page
        .changes
        .iter()
        .any(|ch| matches!(ch, Change::ItemRemoved { .. })));
    // A fresh bootstrap of the old unit does not contain it at all.
    let (changes, _) = old_clerk.pull_all(0, None).await;
    assert!(items(&changes).iter().all(|i| i.id != c.id));
}
