//! Several server instances on one PostgreSQL (issue 10): any instance serves any desk, a
//! change through one pokes desks streaming from another, and an instance killed mid-push
//! loses and duplicates nothing for a desk that fails over to the other. Instances are real
//! `shimin-server` processes (killed with SIGKILL); the database is a fresh one on the test
//! cluster. These tests need PostgreSQL: they run in the PostgreSQL pass of `scripts/test.sh`
//! and say so (and do nothing) in the SQLite pass.

use crate::support::*;
use shimin_client::{QueueQuery, QueueView};
use shimin_protocol::Op;
use shimin_server::store::{Database, Store};
use shimin_server::{admin, inspect};
use std::time::{Duration, Instant};

/// Two instances (A seeded with the demo county, B) on a fresh database, sharing blobs.
struct Pair {
    a: ServerProcess,
    b: ServerProcess,
    store: Store,
    _dirs: (tempfile::TempDir, tempfile::TempDir, tempfile::TempDir),
}

async fn pair() -> Option<Pair> {
    let Some(database) = fresh_database().await else {
        eprintln!("skipped here: several instances need PostgreSQL (the PostgreSQL pass runs this)");
        return None;
    };
    let dirs = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let blobs = dirs.2.path();
    // A seeds the demo county; B starts on the seeded database.
    let a = ServerProcess::start(dirs.0.path(), &database, blobs, true).await;
    let b = ServerProcess::start(dirs.1.path(), &database, blobs, false).await;
    let store = admin::open(Database::Postgres(database)).await.unwrap();
    Some(Pair {
        a,
        b,
        store,
        _dirs: dirs,
    })
}

/// The first matter with its A clerk on duty, and that clerk.
async fn matter_and_clerk(store: &Store) -> (i64, DemoUser) {
    let users = inspect::users(store).await.unwrap();
    let mut matters = inspect::matters(store).await.unwrap();
    matters.sort_by_key(|m| m.id);
    matters
        .into_iter()
        .find_map(|m| {
            let u = users.iter().find(|u| Some(u.colleague.id) == m.a_clerk_id)?;
            (u.colleague.presence == shimin_domain::ladder::Presence::OnDuty).then(|| {
                (
                    m.id,
                    DemoUser {
                        username: u.colleague.username.clone(),
                        id: u.colleague.id,
                        unit_id: u.colleague.unit_id,
                    },
                )
            })
        })
        .expect("a matter with its A clerk on duty")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reservation_through_instance_a_reaches_a_desk_streaming_from_instance_b_within_a_second() {
    let Some(p) = pair().await else { return };
    let (matter, clerk) = matter_and_clerk(&p.store).await;
    let dir = tempfile::tempdir().unwrap();
    let desk = desk(dir.path(), "on-b", &[p.b.url()], &clerk).await;
    let sync = desk.start();
    let mut status = desk.status();
    tokio::time::timeout(
        Duration::from_secs(10),
        status.wait_for(|s| s.live && s.last_sync.is_some()),
    )
    .await
    .expect("live on B")
    .unwrap();

    let portal = Portal::login_at(&p.a.url(), "portal").await;
    let created = portal.reserve(matter, citizen(71)).await;
    let sent = Instant::now();
    eventually(
        Duration::from_secs(1),
        "the reservation made through A is in the cache of the desk on B",
        || async { desk.item(created.id).await.unwrap().is_some() },
    )
    .await;
    eprintln!("A → B poke to cache: {:?}", sent.elapsed());
    sync.stop().await;
    desk.close().await;
}

const NOTES: usize = 1500;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_mid_push_loses_and_duplicates_nothing_for_a_desk_failing_over() {
    let Some(mut p) = pair().await else { return };
    let (_, clerk) = matter_and_clerk(&p.store).await;
    let dir = tempfile::tempdir().unwrap();
    let desk = desk(dir.path(), "a-then-b", &[p.a.url(), p.b.url()], &clerk).await;
    desk.sync_now().await.unwrap();
    let mut q = QueueQuery::new(QueueView::Unit);
    q.limit = 1;
    let item = desk.queue(q).await.unwrap().remove(0).record.id;
    for i in 0..NOTES {
        desk.act(
            item,
            Op::AddNote {
                text: format!("failover-{i}"),
            },
        )
        .await
        .unwrap();
    }
    let notes = |store: Store| async move {
        inspect::history(&store, item)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|e| e.note)
            .filter(|n| n.starts_with("failover-"))
            .collect::<Vec<_>>()
    };

    // The desk pushes to A; A dies once part of the push is committed.
    let pushing = {
        let desk = desk.clone();
        tokio::spawn(async move { desk.sync_now().await })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while notes(p.store.clone()).await.is_empty() {
        assert!(Instant::now() < deadline, "the push never started");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    p.a.kill();
    let at_kill = notes(p.store.clone()).await.len();
    assert!(at_kill < NOTES, "killed mid-push ({at_kill} of {NOTES} applied)");

    // The desk goes on through B (this sync, or the next one).
    if pushing.await.unwrap().is_err() {
        desk.sync_now().await.expect("sync through B");
    }
    assert_eq!(desk.pending_count().await.unwrap(), 0);
    assert_eq!(desk.status().borrow().endpoint.as_deref(), Some("外网"));
    let mut got = notes(p.store.clone()).await;
    assert_eq!(got.len(), NOTES, "every note once");
    got.sort_by_key(|n| n["failover-".len()..].parse::<usize>().unwrap());
    let want: Vec<String> = (0..NOTES).map(|i| format!("failover-{i}")).collect();
    assert_eq!(got, want);
    desk.close().await;
    drop(p.b);
}
