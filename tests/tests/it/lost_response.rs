//! A push whose response is lost (the network dies after the request went out): the desk sends
//! the same batch again and the server applies it once.

use crate::support::*;
use shimin_client::{QueueQuery, QueueView};
use shimin_e2e::proxy::Proxy;
use shimin_protocol::Op;

#[tokio::test]
async fn replay_after_a_lost_response_applies_once() {
    let server = TestServer::demo().await;
    let path = Proxy::start("127.0.0.2:0".parse().unwrap(), server.listen[0])
        .await
        .unwrap();
    let clerk = server.user("clerk", None).await;
    let dir = tempfile::tempdir().unwrap();
    let desk = desk(dir.path(), "clerk", &[path.url()], &clerk).await;
    desk.sync_now().await.unwrap();
    let item = desk
        .queue(QueueQuery {
            view: QueueView::Unit,
            search: None,
            include_closed: false,
            limit: 1,
        })
        .await
        .unwrap()
        .remove(0);
    desk.act(
        item.record.id,
        Op::AddNote {
            text: "已电话联系申请人".into(),
        },
    )
    .await
    .unwrap();

    path.lose_responses(true);
    let err = desk.sync_now().await.expect_err("the response never arrives");
    assert!(err.is_unreachable(), "{err}");
    assert_eq!(
        desk.pending_count().await.unwrap(),
        1,
        "still pending: the desk cannot know"
    );
    path.lose_responses(false);

    let report = desk.sync_now().await.unwrap();
    assert_eq!(
        report.pushed_applied, 1,
        "the replay is answered with the stored result"
    );
    assert_eq!(desk.pending_count().await.unwrap(), 0);
    let notes = server
        .history(item.record.id)
        .await
        .iter()
        .filter(|e| e.action == "add_note")
        .count();
    assert_eq!(notes, 1, "applied once");
}
