//! The storage layer on either backend (issue 10): change numbers commit in order, so no pull
//! ever skips a change committed late; acknowledged commits are durable; the sweep records each
//! point once across instances; bad database settings are refused with their cause.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use shimin_domain::item::Status;
use shimin_domain::role::Role;
use shimin_protocol::*;
use shimin_server::store::{Backend, Database};
use shimin_server::supervision::{self, TickReport};
use shimin_server::{admin, inspect};
use uuid::Uuid;

use crate::support::*;

/// A transaction takes a change number and holds it (a slow writer) while other writers try to
/// commit and a desk pulls all the time. Later writers wait for it (their numbers come after
/// its number and their commits after its commit), no pull ever shows a later number before the
/// held one, and at the end the desk holds every item at the server's version: nothing skipped.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_change_number_held_by_a_slow_writer_holds_back_later_ones_and_no_pull_skips_a_change() {
    let ts = start_with(|c| c.supervision_every = None).await;
    let unit_name = "县公安局";
    let unit = ts.unit_id(unit_name).await;
    let clerk = ts.login_as(Role::Clerk, Some(unit_name)).await;
    let portal = ts.portal().await;
    let (_, c0) = clerk.pull_all(0, None).await;
    let touched = ts
        .items()
        .await
        .into_iter()
        .find(|i| i.unit_id == unit)
        .expect("an item of the unit")
        .id;

    // The slow writer: takes its number, writes, holds the transaction open.
    let mut slow = ts.store().write().await.unwrap();
    let held = slow.next_seq().await.unwrap();
    slow.set_item_version(touched, held).await.unwrap();
    slow.append_event(
        touched,
        &ItemEvent {
            at: chrono::Utc::now(),
            actor_id: None,
            actor_name: "慢事务".into(),
            action: "add_note".into(),
            status: Status::Received,
            note: Some("held".into()),
            place: None,
        },
        held,
    )
    .await
    .unwrap();

    // Other writers meanwhile: intakes through the API.
    let matter = ts.matter_of(unit_name).await;
    let writers: Vec<_> = (0..4)
        .map(|n| {
            let req = portal
                .req(reqwest::Method::POST, paths::INTAKE_RESERVATION)
                .json(&NewReservation {
                    matter_id: matter,
                    applicant: applicant(),
                    requested_slot: tomorrow_slot(),
                    content: format!("并发{n}"),
                });
            tokio::spawn(async move {
                let created: Created = call(req).await.unwrap();
                (created, Instant::now())
            })
        })
        .collect();
    // A desk pulling all the while; it must not see anything numbered after `held` yet.
    let mut seen: HashMap<Uuid, i64> = HashMap::new();
    let mut cursor = c0;
    let hold_until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < hold_until {
        let page = clerk.pull(cursor, None).await.unwrap();
        assert!(
            page.cursor < held,
            "a pull saw past the held number {held} ({})",
            page.cursor
        );
        for i in items(&page.changes) {
            seen.insert(i.id, i.version);
        }
        cursor = page.cursor;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let released = Instant::now();
    slow.commit().await.unwrap();
    for w in writers {
        let (created, done) = w.await.unwrap();
        let version = ts.item(created.id).await.version;
        assert!(version > held, "a later writer's number comes after the held one");
        assert!(
            done >= released,
            "a later writer committed only after the held number"
        );
    }
    // Catch up incrementally: the desk ends with every changed item at the server's version.
    loop {
        let page = clerk.pull(cursor, None).await.unwrap();
        for i in items(&page.changes) {
            seen.insert(i.id, i.version);
        }
        cursor = page.cursor;
        if !page.has_more {
            break;
        }
    }
    for item in ts
        .items()
        .await
        .into_iter()
        .filter(|i| i.unit_id == unit && i.version > c0)
    {
        assert_eq!(
            seen.get(&item.id),
            Some(&item.version),
            "item {} missed",
            item.number
        );
    }
    assert!(seen.get(&touched) == Some(&held) || seen.get(&touched) > Some(&held));
}

/// Many writers at once, each holding its transaction a random while after taking a number,
/// and desks pulling throughout: every desk ends with every change (the invariant under load).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_with_random_delays_never_make_a_pull_skip_a_change() {
    let ts = start_with(|c| c.supervision_every = None).await;
    let unit = ts.unit_id("县公安局").await;
    let clerk = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let (_, c0) = clerk.pull_all(0, None).await;
    let ids: Vec<Uuid> = ts
        .items()
        .await
        .into_iter()
        .filter(|i| i.unit_id == unit)
        .map(|i| i.id)
        .take(8)
        .collect();
    let store = ts.store().clone();
    let writers: Vec<_> = (0..24u64)
        .map(|n| {
            let (store, id) = (store.clone(), ids[n as usize % ids.len()]);
            tokio::spawn(async move {
                let mut tx = store.write().await.unwrap();
                tx.lock_items(&[id]).await.unwrap();
                let seq = tx.next_seq().await.unwrap();
                tx.set_item_version(id, seq).await.unwrap();
                tokio::time::sleep(Duration::from_millis((n * 37) % 90)).await;
                tx.commit().await.unwrap();
            })
        })
        .collect();
    let mut seen: HashMap<Uuid, i64> = HashMap::new();
    let mut cursor = c0;
    let mut done = false;
    while !done {
        done = writers.iter().all(|w| w.is_finished());
        loop {
            let page = clerk.pull(cursor, None).await.unwrap();
            for i in items(&page.changes) {
                seen.insert(i.id, i.version);
            }
            cursor = page.cursor;
            if !page.has_more {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for id in &ids {
        assert_eq!(seen.get(id), Some(&ts.item(*id).await.version));
    }
}

#[tokio::test]
async fn an_acknowledged_commit_is_on_disk_before_the_answer() {
    let ts = start().await;
    let durability = ts.store().durability().await.unwrap();
    match ts.store().backend() {
        Backend::Sqlite => assert!(
            durability.contains("journal_mode=wal") && durability.contains("synchronous=full"),
            "{durability}"
        ),
        Backend::Postgres => assert!(
            durability.contains("synchronous_commit=on") && durability.contains("fsync=on"),
            "{durability}"
        ),
    }
}

/// Two instances on one PostgreSQL run their sweep tick at the same moment: every warning and
/// overdue point is recorded once (one holds the sweep lease; rows are locked besides).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_sweep_records_each_point_once_across_instances() {
    let Some(database) = fresh_database().await else {
        eprintln!("skipped here: several instances need PostgreSQL (the PostgreSQL pass runs this)");
        return;
    };
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut c1 = test_config(d1.path()).await;
    c1.database = Some(database.clone());
    c1.supervision_every = None;
    let one = shimin_server::start(c1).await.unwrap();
    let mut c2 = test_config(d2.path()).await;
    c2.database = Some(database);
    c2.supervision_every = None;
    c2.demo = None;
    let two = shimin_server::start(c2).await.unwrap();
    let now = chrono::Utc::now();
    let (r1, r2) = tokio::join!(
        supervision::tick(one.state(), now),
        supervision::tick(two.state(), now)
    );
    let (r1, r2) = (r1.unwrap(), r2.unwrap());
    let recorded = r1.warnings + r1.overdue + r2.warnings + r2.overdue;
    assert!(recorded > 0, "the demo county has points to record");
    let events = inspect::events(one.store()).await.unwrap();
    let alert_events: Vec<_> = events
        .iter()
        .filter(|e| matches!(e.event.action.as_str(), "warning" | "overdue"))
        .collect();
    assert_eq!(
        alert_events.len() as u64,
        recorded,
        "each point recorded by one instance"
    );
    let mut per_point = std::collections::HashSet::new();
    for e in &alert_events {
        assert!(
            per_point.insert((e.item_id, e.event.note.clone())),
            "point recorded twice on {}",
            e.item_id
        );
    }
    assert_eq!(
        supervision::tick(two.state(), now).await.unwrap(),
        TickReport::default()
    );
    two.shutdown().await;
    one.shutdown().await;
}

#[tokio::test]
async fn bad_database_settings_are_refused_naming_the_cause_and_nothing_listens() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cases: Vec<(String, &str)> = vec![
        (
            format!("postgres://nobody@127.0.0.1:{port}/shimin"),
            "无法连接 PostgreSQL",
        ),
        ("mysql://root@127.0.0.1/shimin".into(), "postgres://"),
    ];
    for (url, expect) in cases {
        let mut config = test_config(dir.path()).await;
        config.database = Some(url.clone());
        config.listen = vec!["127.0.0.1:0".parse().unwrap()];
        let err = shimin_server::start(config).await.expect_err("refused");
        assert!(err.to_string().contains(expect), "{url}: {err}");
    }
    if let Some(cluster) = shimin_server::store::postgres::test_cluster_url() {
        // The cluster's password-checked role (scripts/pg.sh) with a wrong password.
        let wrong = cluster.replacen("postgres@", "shimin_pw:wrong@", 1);
        let err = admin::open(Database::Postgres(wrong.clone()))
            .await
            .expect_err("wrong password refused");
        let text = err.to_string();
        assert!(
            text.contains("无法连接 PostgreSQL") && text.contains("password"),
            "{text}"
        );
        assert!(!text.contains("wrong"), "the password is not repeated: {text}");
    }
    // Versions: what the server accepts.
    for (version, ok) in [
        (90_600, false),
        (120_017, false),
        (130_000, true),
        (150_018, true),
    ] {
        assert_eq!(
            shimin_server::store::postgres::check_server_version(version).is_ok(),
            ok,
            "{version}"
        );
    }
    assert!(shimin_server::store::postgres::check_server_version(120_017)
        .unwrap_err()
        .to_string()
        .contains("12.0"));
}

#[tokio::test]
async fn a_second_server_on_the_same_sqlite_data_directory_is_refused() {
    if test_cluster().is_some() {
        eprintln!("skipped here: about the SQLite data directory");
        return;
    }
    let ts = start().await;
    let mut config = test_config(ts.server.state().config.data_dir.as_path()).await;
    config.demo = None;
    let err = shimin_server::start(config).await.expect_err("refused");
    assert!(err.to_string().contains("正被另一个"), "{err}");
}
