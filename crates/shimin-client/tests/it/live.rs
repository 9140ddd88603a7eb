//! Desk ↔ (fake) server over real HTTP on loopback: login, push/pull, live pokes, rejections,
//! failover to the second address and return to the first.

use crate::fake_server::{Address, Shared};
use crate::fixtures::*;
use shimin_client::{
    CacheEvent, CacheKey, ClientConfig, Desk, Endpoint, Error, Op, QueueQuery, QueueView, SyncStatus,
};
use std::time::Duration;
use tokio::time::timeout;

fn config(dir: &tempfile::TempDir, urls: &[String]) -> ClientConfig {
    let endpoints = urls
        .iter()
        .enumerate()
        .map(|(i, u)| Endpoint::new(if i == 0 { "内网" } else { "外网" }, u.clone(), false))
        .collect();
    let mut c = ClientConfig::new(dir.path().join("cache.db"), CacheKey::random(), endpoints);
    c.connect_timeout = Duration::from_millis(500);
    c.request_timeout = Duration::from_secs(3);
    c.poll_interval = Duration::from_secs(2);
    c.preferred_retry = Duration::from_secs(1);
    c.backoff_max = Duration::from_secs(2);
    c
}

async fn wait_status(
    desk: &Desk,
    what: &str,
    f: impl Fn(&SyncStatus) -> bool,
    within: Duration,
) -> SyncStatus {
    let mut rx = desk.status();
    let r = timeout(within, async {
        loop {
            {
                let s = rx.borrow_and_update();
                if f(&s) {
                    return s.clone();
                }
            }
            rx.changed().await.unwrap();
        }
    })
    .await;
    match r {
        Ok(s) => s,
        Err(_) => panic!(
            "timed out waiting for {what}; status = {:?}",
            *desk.status().borrow()
        ),
    }
}

#[tokio::test]
async fn login_sync_act_push_roundtrip() {
    let shared = Shared::new();
    for n in 1..=3 {
        shared.put(item(n, "reservation", 10));
    }
    let server = Address::live(&shared);
    let dir = tempfile::tempdir().unwrap();
    let desk = Desk::open(config(&dir, &[server.url()])).await.unwrap();

    let err = desk.login("clerk7", "wrong").await.unwrap_err();
    assert_eq!(err.code(), "bad_credentials");
    assert!(matches!(err, Error::Api { status: 401, .. }));
    assert!(matches!(desk.sync_now().await.unwrap_err(), Error::NotLoggedIn));

    let outcome = desk.login("clerk7", "Secret#1").await.unwrap();
    assert_eq!(outcome.user.id, 7);
    assert!(desk.session().is_some());
    let report = desk.sync_now().await.unwrap();
    assert_eq!(report.pulled_changes, 3);
    assert_eq!(report.cursor, 3);
    assert_eq!(
        desk.queue(QueueQuery::new(QueueView::Unit)).await.unwrap().len(),
        3
    );

    let view = desk.act(uid(1), Op::Claim).await.unwrap();
    assert!(view.pending);
    assert_eq!(desk.pending_count().await.unwrap(), 1);
    let report = desk.sync_now().await.unwrap();
    assert_eq!(report.pushed_applied, 1);
    assert_eq!(shared.item(uid(1)).unwrap().handler_id, Some(7));
    let view = desk.item(uid(1)).await.unwrap().unwrap();
    assert!(!view.pending);
    assert_eq!(
        view.record,
        shared.item(uid(1)).unwrap(),
        "the pull brought the authoritative record"
    );

    // The token never reaches the cache file.
    desk.store().checkpoint().await.unwrap();
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes
            .windows(crate::fake_server::TOKEN.len())
            .any(|w| w == crate::fake_server::TOKEN.as_bytes()));
    }
}

#[tokio::test]
async fn server_rejection_rolls_back_and_notifies() {
    let shared = Shared::new();
    shared.put(item(1, "reservation", 10));
    let server = Address::live(&shared);
    let dir = tempfile::tempdir().unwrap();
    let desk = Desk::open(config(&dir, &[server.url()])).await.unwrap();
    desk.login("clerk7", "Secret#1").await.unwrap();
    desk.sync_now().await.unwrap();
    let mut events = desk.changes();
    // Offline view says claimable; meanwhile a colleague took it on the server.
    desk.act(uid(1), Op::Claim).await.unwrap();
    let mut taken = shared.item(uid(1)).unwrap();
    taken.handler_id = Some(99);
    shared.put(taken);
    let report = desk.sync_now().await.unwrap();
    assert_eq!(report.pushed_rejected, 1);
    let view = desk.item(uid(1)).await.unwrap().unwrap();
    assert_eq!(view.record.handler_id, Some(99));
    assert!(!view.pending);
    let notices = desk.rejections().await.unwrap();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].code, "already_claimed");
    let mut saw_rejected = false;
    while let Ok(ev) = events.try_recv() {
        saw_rejected |= matches!(ev, CacheEvent::Rejected(ref n) if n.item_id == uid(1));
    }
    assert!(saw_rejected);
}

#[tokio::test]
async fn live_poke_brings_new_items_quickly() {
    let shared = Shared::new();
    shared.put(item(1, "reservation", 10));
    let server = Address::live(&shared);
    let dir = tempfile::tempdir().unwrap();
    let desk = Desk::open(config(&dir, &[server.url()])).await.unwrap();
    desk.login("clerk7", "Secret#1").await.unwrap();
    let mut events = desk.changes();
    let handle = desk.start();
    wait_status(
        &desk,
        "live",
        |s| s.live && s.last_sync.is_some(),
        Duration::from_secs(5),
    )
    .await;
    while events.try_recv().is_ok() {}

    let started = std::time::Instant::now();
    shared.put(item(2, "reservation", 10));
    let new = timeout(Duration::from_secs(2), async {
        loop {
            if let Ok(CacheEvent::ItemsChanged { new_items, .. }) = events.recv().await {
                if !new_items.is_empty() {
                    return new_items;
                }
            }
        }
    })
    .await
    .expect("new item announced");
    assert_eq!(new, vec![uid(2)]);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    // A local action is pushed without calling sync_now.
    desk.act(uid(2), Op::Claim).await.unwrap();
    timeout(Duration::from_secs(3), async {
        while shared.item(uid(2)).unwrap().handler_id != Some(7) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("pushed by the loop");
    wait_status(&desk, "pending 0", |s| s.pending == 0, Duration::from_secs(3)).await;
    handle.stop().await;
}

#[tokio::test]
async fn fails_over_to_the_second_address_and_returns() {
    let shared = Shared::new();
    shared.put(item(1, "reservation", 10));
    let mut first = Address::dead(&shared);
    let second = Address::live(&shared);
    let dir = tempfile::tempdir().unwrap();
    let desk = Desk::open(config(&dir, &[first.url(), second.url()]))
        .await
        .unwrap();
    desk.login("clerk7", "Secret#1").await.unwrap();
    let handle = desk.start();
    let started = std::time::Instant::now();
    let s = wait_status(
        &desk,
        "on 外网",
        |s| s.endpoint.as_deref() == Some("外网") && s.last_sync.is_some(),
        Duration::from_secs(3),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(s.online);
    assert!(shared.pulls(second.port) > 0);
    assert_eq!(
        desk.item(uid(1)).await.unwrap().unwrap().record.number,
        item(1, "reservation", 10).number
    );

    // The intranet comes back: the desk returns to it after preferred_retry.
    first.revive();
    wait_status(
        &desk,
        "back on 内网",
        |s| s.endpoint.as_deref() == Some("内网") && s.live,
        Duration::from_secs(4),
    )
    .await;
    let pulls_before = shared.pulls(first.port);
    shared.put(item(2, "reservation", 10));
    timeout(Duration::from_secs(2), async {
        while desk.item(uid(2)).await.unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("item 2 pulled");
    assert!(
        shared.pulls(first.port) > pulls_before,
        "pulled from the intranet"
    );

    // The intranet dies mid-session: within 3 s the desk pulls from the internet address again.
    first.kill();
    let killed = std::time::Instant::now();
    wait_status(
        &desk,
        "failover",
        |s| s.endpoint.as_deref() == Some("外网"),
        Duration::from_secs(3),
    )
    .await;
    let pulls_before = shared.pulls(second.port);
    shared.put(item(3, "reservation", 10));
    timeout(Duration::from_secs(3), async {
        while desk.item(uid(3)).await.unwrap().is_none() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("item 3 pulled after failover");
    assert!(shared.pulls(second.port) > pulls_before);
    assert!(
        killed.elapsed() < Duration::from_secs(4),
        "{:?}",
        killed.elapsed()
    );
    handle.stop().await;
}

#[tokio::test]
async fn offline_acts_are_kept_and_pushed_later() {
    let shared = Shared::new();
    shared.put(item(1, "consultation", 10));
    let mut server = Address::live(&shared);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&dir, &[server.url()]);
    let desk = Desk::open(cfg.clone()).await.unwrap();
    desk.login("clerk7", "Secret#1").await.unwrap();
    desk.sync_now().await.unwrap();
    let token = desk.session().unwrap();
    server.kill();
    desk.act(
        uid(1),
        Op::AddNote {
            text: "离线备注".into(),
        },
    )
    .await
    .unwrap();
    let err = desk.sync_now().await.unwrap_err();
    assert_eq!(err.code(), "all_endpoints_down");
    // Reads still work offline.
    assert_eq!(
        desk.queue(QueueQuery::new(QueueView::Unit)).await.unwrap().len(),
        1
    );
    desk.close().await;
    drop(desk);

    // Restart the app: the op is still there, the session resumes from the kept token.
    let desk = Desk::open(cfg).await.unwrap();
    assert_eq!(desk.pending_count().await.unwrap(), 1);
    desk.resume(token, crate::fake_server::user()).await.unwrap();
    server.revive();
    let report = desk.sync_now().await.unwrap();
    assert_eq!(report.pushed_applied, 1);
    let rec = shared.item(uid(1)).unwrap();
    assert_eq!(rec.events.last().unwrap().note.as_deref(), Some("离线备注"));
}
