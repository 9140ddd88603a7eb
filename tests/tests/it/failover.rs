//! Failover between the intranet and internet paths (two loopback addresses standing in for
//! them): with the first dead the desk works through the second within 3 s, and returns to the
//! first once it recovers.

use crate::support::*;
use shimin_e2e::proxy::Proxy;
use std::time::{Duration, Instant};

#[tokio::test]
async fn desk_fails_over_to_the_second_endpoint_and_returns() {
    let server = TestServer::demo().await;
    let upstream = server.listen[0];
    let intranet = Proxy::start("127.0.0.2:0".parse().unwrap(), upstream)
        .await
        .unwrap();
    let internet = Proxy::start("127.0.0.3:0".parse().unwrap(), upstream)
        .await
        .unwrap();
    let clerk = server.user("clerk", None).await;
    let dir = tempfile::tempdir().unwrap();
    let desk = desk(dir.path(), "clerk", &[intranet.url(), internet.url()], &clerk).await;
    let sync = desk.start();
    let mut status = desk.status();
    let on = |name: &'static str| {
        move |s: &shimin_client::SyncStatus| s.online && s.endpoint.as_deref() == Some(name)
    };
    tokio::time::timeout(Duration::from_secs(5), status.wait_for(on("内网")))
        .await
        .unwrap()
        .unwrap();

    let portal = Portal::login(&server).await;
    let matter = server.matter_of(clerk.unit_id.unwrap()).await;

    // The intranet path dies; a reservation arrives meanwhile.
    intranet.cut();
    let cut_at = Instant::now();
    let created = portal.reserve(matter, citizen(21)).await;
    eventually(
        Duration::from_secs(3),
        "reservation reaches the cache over the internet path",
        || async { desk.item(created.id).await.unwrap().is_some() },
    )
    .await;
    let failover = cut_at.elapsed();
    assert!(failover < Duration::from_secs(3), "failover took {failover:?}");
    assert_eq!(desk.status().borrow().endpoint.as_deref(), Some("外网"));
    assert!(internet.connections() > 0);

    // The intranet path recovers: the desk goes back to it.
    intranet.restore().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), status.wait_for(on("内网")))
        .await
        .expect("returns")
        .unwrap();
    let before = intranet.connections();
    let later = portal.reserve(matter, citizen(22)).await;
    eventually(Duration::from_secs(3), "next reservation arrives", || async {
        desk.item(later.id).await.unwrap().is_some()
    })
    .await;
    assert!(
        intranet.connections() >= before,
        "traffic is on the intranet path again"
    );
    sync.stop().await;
}
