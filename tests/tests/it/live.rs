//! The desk's background loop against the real server: a new reservation reaches the cache
//! through the SSE poke, a local action is pushed without anyone asking, and the session
//! token never lands in the cache files.

use crate::support::*;
use shimin_client::{CacheEvent, Desk, Error};
use shimin_protocol::Op;
use std::time::{Duration, Instant};

#[tokio::test]
async fn login_errors_are_specific() {
    let server = TestServer::demo().await;
    let clerk = server.user("clerk", None).await;
    let dir = tempfile::tempdir().unwrap();
    let desk = Desk::open(desk_config(dir.path().join("d.db"), &[server.url()]))
        .await
        .unwrap();
    let err = desk.login(&clerk.username, "Wrong#2026").await.unwrap_err();
    assert_eq!(err.code(), "bad_credentials");
    assert!(matches!(err, Error::Api { status: 401, .. }));
    assert!(matches!(desk.sync_now().await.unwrap_err(), Error::NotLoggedIn));
}

#[tokio::test]
async fn poke_brings_a_new_reservation_and_local_actions_are_pushed_by_the_loop() {
    let server = TestServer::demo().await;
    let clerk = server.user("clerk", None).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = desk_config(dir.path().join("clerk.db"), &[server.url()]);
    cfg.poll_interval = Duration::from_secs(30); // polling cannot explain a sub-second arrival
    let desk = Desk::open(cfg).await.unwrap();
    desk.login(&clerk.username, DEMO_PASSWORD).await.unwrap();
    desk.sync_now().await.unwrap();
    let mut events = desk.changes();
    let sync = desk.start();
    let mut status = desk.status();
    tokio::time::timeout(Duration::from_secs(5), status.wait_for(|s| s.live))
        .await
        .unwrap()
        .unwrap();
    // With the poke live, polling is slow: arrival within a second proves the poke carried it.
    let portal = Portal::login(&server).await;
    let sent = Instant::now();
    let created = portal
        .reserve(server.matter_of(clerk.unit_id.unwrap()).await, citizen(31))
        .await;
    let arrived = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            if let Ok(CacheEvent::ItemsChanged { new_items, .. }) = events.recv().await {
                if new_items.contains(&created.id) {
                    return sent.elapsed();
                }
            }
        }
    })
    .await
    .expect("new reservation announced within 1 s");
    assert!(arrived < Duration::from_secs(1));

    desk.act(created.id, Op::Claim).await.unwrap();
    eventually(Duration::from_secs(3), "the loop pushes the claim", || async {
        desk.pending_count().await.unwrap() == 0
    })
    .await;
    let handler = server.item(created.id).await.handler_id;
    assert_eq!(handler, Some(clerk.id));
    sync.stop().await;

    let token = desk.session().unwrap();
    desk.close().await;
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    let needle = token.expose().as_bytes();
    assert!(
        !bytes.windows(needle.len()).any(|w| w == needle),
        "token found in the cache files"
    );
}
