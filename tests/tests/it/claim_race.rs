//! Two clerks take the same reservation at once: exactly one wins; the other's desk rolls back
//! and says why.

use crate::support::*;
use shimin_client::{QueueQuery, QueueView};
use shimin_protocol::Op;

#[tokio::test]
async fn two_clients_claim_the_same_reservation_exactly_one_wins() {
    let server = TestServer::demo().await;
    let (a, b) = server.clerk_pair().await;
    let dir = tempfile::tempdir().unwrap();
    let desk_a = desk(dir.path(), "a", &[server.url()], &a).await;
    let desk_b = desk(dir.path(), "b", &[server.url()], &b).await;
    let portal = Portal::login(&server).await;
    let created = portal
        .reserve(server.matter_of(a.unit_id.unwrap()).await, citizen(7))
        .await;
    desk_a.sync_now().await.unwrap();
    desk_b.sync_now().await.unwrap();

    // Both take it locally (optimistic: each desk shows it as its own).
    let va = desk_a.act(created.id, Op::Claim).await.unwrap();
    let vb = desk_b.act(created.id, Op::Claim).await.unwrap();
    assert_eq!(
        (va.record.handler_id, vb.record.handler_id),
        (Some(a.id), Some(b.id))
    );
    assert!(va.pending && vb.pending);

    let (ra, rb) = tokio::join!(desk_a.sync_now(), desk_b.sync_now());
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(
        ra.pushed_applied + rb.pushed_applied,
        1,
        "exactly one claim applied"
    );
    assert_eq!(ra.pushed_rejected + rb.pushed_rejected, 1, "the other rejected");

    let handler = server.item(created.id).await.handler_id;
    let (winner, loser, loser_desk) = if ra.pushed_applied == 1 {
        (a.id, b.id, &desk_b)
    } else {
        (b.id, a.id, &desk_a)
    };
    assert_eq!(handler, Some(winner));

    // Both desks converge on the server's truth; the loser is told why.
    for d in [&desk_a, &desk_b] {
        d.sync_now().await.unwrap();
        let v = d.item(created.id).await.unwrap().unwrap();
        assert_eq!(v.record.handler_id, Some(winner));
        assert!(!v.pending);
    }
    let notices = loser_desk.rejections().await.unwrap();
    assert_eq!(notices.len(), 1, "user {loser} gets one rejection notice");
    assert_eq!(notices[0].code, "already_claimed");
    assert_eq!(notices[0].item_id, created.id);
    let mine = loser_desk
        .queue(QueueQuery {
            view: QueueView::Mine,
            search: None,
            include_closed: true,
            limit: 1000,
        })
        .await
        .unwrap();
    assert!(
        mine.iter().all(|v| v.record.id != created.id),
        "rolled back out of the loser's own queue"
    );
}
