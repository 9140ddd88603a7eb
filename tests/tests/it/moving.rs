//! Moving and protecting a county's data (issue 10): `migrate` from a SQLite data directory into
//! PostgreSQL with desks going on without a re-bootstrap; backups taken while desks push,
//! restored into a fresh place, and desks that synced past the backup recovering by
//! themselves without losing what they had pending.

use crate::support::*;
use shimin_client::{Desk, QueueQuery, QueueView};
use shimin_domain::identity::PersonalField;
use shimin_protocol::Op;
use shimin_server::store::dump::Table;
use shimin_server::store::Database;
use shimin_server::{admin, audit, inspect};
use std::time::Duration;

/// The first open item of the desk's unit.
async fn an_item(desk: &Desk) -> uuid::Uuid {
    let mut q = QueueQuery::new(QueueView::Unit);
    q.limit = 1;
    desk.queue(q).await.unwrap().remove(0).record.id
}

async fn note(desk: &Desk, item: uuid::Uuid, text: &str) {
    desk.act(item, Op::AddNote { text: text.into() }).await.unwrap();
}

/// How often `text` is a note of `item` on the server.
async fn notes(server: &TestServer, item: uuid::Uuid, text: &str) -> usize {
    server
        .history(item)
        .await
        .iter()
        .filter(|e| e.note.as_deref() == Some(text))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_copies_the_demo_county_exactly_and_desks_continue_on_postgresql() {
    let Some(target_url) = fresh_database().await else {
        eprintln!("skipped here: migrating needs PostgreSQL (the PostgreSQL pass runs this)");
        return;
    };
    // A county on SQLite, a desk with mutations made while the server is down for the move.
    let data = tempfile::tempdir().unwrap();
    let listen = vec![format!("127.0.0.1:{}", free_port()).parse().unwrap()];
    let sqlite = shimin_server::start(config(data.path(), None, listen.clone()))
        .await
        .unwrap();
    let mut server = TestServer {
        server: Some(sqlite),
        data,
        listen,
        database: None,
    };
    let clerk = server.user("clerk", None).await;
    let dir = tempfile::tempdir().unwrap();
    let desk = desk(dir.path(), "moving", &[server.url()], &clerk).await;
    desk.sync_now().await.unwrap();
    let items_on_desk = desk.store().item_count().await.unwrap();
    let item = an_item(&desk).await;
    // A reveal handed in before the move (its row must move too) and one made during it.
    desk.reveal(item, PersonalField::Phone).await.unwrap();
    // A counter event too (its table moves like every other).
    let now = chrono::Utc::now();
    desk.record_ticket_event(&shimin_protocol::TicketEvent {
        id: uuid::Uuid::new_v4(),
        day: shimin_domain::calendar::to_local(now).date(),
        ticket_no: "W001".into(),
        step: shimin_domain::counter::TicketStep::Called,
        at: now,
        issued_at: now,
        item_id: None,
        window_no: Some(1),
        to_window: None,
    })
    .await
    .unwrap();
    let report = desk.sync_now().await.unwrap();
    assert_eq!((report.reveals_handed_in, report.ticket_events_handed_in), (1, 1));
    server.stop().await;
    note(&desk, item, "迁移期间的备注一").await;
    note(&desk, item, "迁移期间的备注二").await;
    desk.reveal(item, PersonalField::IdNumber).await.unwrap();
    assert_eq!(desk.pending_count().await.unwrap(), 2);

    // The move.
    let source = admin::open(Database::Sqlite(server.data.path().to_path_buf()))
        .await
        .unwrap();
    let target = admin::open(Database::Postgres(target_url.clone())).await.unwrap();
    let summaries = admin::migrate(&source, &target, true).await.expect("migrated");
    for table in [
        Table::Items,
        Table::ItemEvents,
        Table::AuditLog,
        Table::Users,
        Table::Reveals,
        Table::TicketEvents,
    ] {
        let s = summaries.iter().find(|s| s.table == table).unwrap();
        assert!(s.rows > 0, "{} copied", table.name());
        assert_eq!(*s, source.summary(table).await.unwrap(), "{} equal", table.name());
    }
    assert_eq!(audit::verify(&target).await.unwrap().broken, None);
    // A second run is refused and changes nothing.
    let again = admin::migrate(&source, &target, true).await.expect_err("refused");
    assert!(again.to_string().contains("已有数据"), "{again}");
    assert_eq!(
        target.summary(Table::Items).await.unwrap(),
        source.summary(Table::Items).await.unwrap()
    );
    source.close().await;
    target.close().await;

    // The server comes back on PostgreSQL (same address, same blobs): the desk goes on.
    server.database = Some(target_url);
    server.restart().await;
    let report = desk.sync_now().await.unwrap();
    assert_eq!(report.pushed_applied, 2);
    assert_eq!(report.reveals_handed_in, 1);
    assert_eq!(inspect::reveals(server.store()).await.unwrap().len(), 2);
    assert!(
        (report.pulled_changes as u64) < items_on_desk,
        "no re-bootstrap ({} changes pulled)",
        report.pulled_changes
    );
    for text in ["迁移期间的备注一", "迁移期间的备注二"] {
        assert_eq!(notes(&server, item, text).await, 1, "{text} applied once");
    }
    assert_eq!(desk.pending_count().await.unwrap(), 0);
    desk.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_under_write_load_restores_and_desks_that_synced_past_it_recover_by_themselves() {
    let mut server = TestServer::demo().await;
    let clerk = server.user("clerk", None).await;
    let dir = tempfile::tempdir().unwrap();
    let busy = desk(dir.path(), "busy", &[server.url()], &clerk).await;
    let late = desk(dir.path(), "late", &[server.url()], &clerk).await;
    busy.sync_now().await.unwrap();
    late.sync_now().await.unwrap();
    let item = an_item(&busy).await;
    note(&late, item, "备份前").await;
    late.sync_now().await.unwrap();

    // A backup while a desk pushes all the time.
    let pushing = {
        let busy = busy.clone();
        tokio::spawn(async move {
            for n in 0..40 {
                busy.act(
                    item,
                    Op::AddNote {
                        text: format!("负载{n}"),
                    },
                )
                .await
                .unwrap();
                busy.sync_now().await.unwrap();
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let database = server.running().state().config.database().unwrap();
    let blobs = server.running().state().config.blob_dir();
    let backups = tempfile::tempdir().unwrap();
    let dest = backups.path().join("2026-12-02");
    let manifest = admin::backup(&database, &blobs, &dest)
        .await
        .expect("backup while serving");
    pushing.await.unwrap();
    assert!(manifest.blobs > 0 && manifest.items > 0);
    // Bad destinations: refused, nothing written.
    let exists = admin::backup(&database, &blobs, &dest).await.expect_err("exists");
    assert!(exists.to_string().contains("已存在"), "{exists}");
    let unwritable = admin::backup(&database, &blobs, std::path::Path::new("/proc/shimin-backup"))
        .await
        .expect_err("not writable");
    assert!(unwritable.to_string().contains("不可写"), "{unwritable}");

    // After the backup: the late desk's acknowledged notes (lost with the restore), then
    // notes made offline (pending when the server comes back).
    note(&late, item, "备份后已同步").await;
    late.sync_now().await.unwrap();
    server.stop().await;
    note(&late, item, "恢复期间待同步一").await;
    note(&late, item, "恢复期间待同步二").await;

    // Restore into a fresh place, on the same address.
    let fresh = tempfile::tempdir().unwrap();
    let restored_db = match &database {
        Database::Sqlite(_) => Database::Sqlite(fresh.path().to_path_buf()),
        Database::Postgres(_) => Database::Postgres(fresh_database().await.unwrap()),
    };
    let restored = admin::restore(&dest, &restored_db, &fresh.path().join("blobs"))
        .await
        .expect("restored");
    assert_ne!(restored.epoch, manifest.epoch, "a restore starts a new epoch");
    let into_used = admin::restore(&dest, &restored_db, &fresh.path().join("blobs"))
        .await
        .expect_err("not into used data");
    assert!(
        into_used.to_string().contains("已存在") || into_used.to_string().contains("不为空"),
        "{into_used}"
    );
    let old_data = std::mem::replace(&mut server.data, fresh);
    server.database = match &restored_db {
        Database::Postgres(url) => Some(url.clone()),
        Database::Sqlite(_) => None,
    };
    server.restart().await;
    let chain = audit::verify(server.store()).await.unwrap();
    assert_eq!(chain.broken, None);
    assert_eq!(chain.head, manifest.audit_head, "the trail as of the backup");
    drop(old_data);

    // Both desks notice the new epoch, bootstrap again and keep what is pending.
    let report = late.sync_now().await.expect("the late desk recovers");
    assert_eq!(report.pushed_applied, 2, "its pending notes applied");
    for text in ["恢复期间待同步一", "恢复期间待同步二", "备份前"] {
        assert_eq!(notes(&server, item, text).await, 1, "{text} once");
    }
    assert_eq!(
        notes(&server, item, "备份后已同步").await,
        0,
        "what the server acknowledged after the backup is gone with its state"
    );
    busy.sync_now().await.expect("the busy desk recovers");
    for desk in [&busy, &late] {
        let on_desk: std::collections::HashMap<_, _> = desk
            .queue({
                let mut q = QueueQuery::new(QueueView::Unit);
                q.include_closed = true;
                q.limit = u32::MAX;
                q
            })
            .await
            .unwrap()
            .into_iter()
            .map(|v| (v.record.id, v.record.version))
            .collect();
        let unit = clerk.unit_id.unwrap();
        for i in inspect::items(server.store())
            .await
            .unwrap()
            .into_iter()
            .filter(|i| i.unit_id == unit)
        {
            assert_eq!(
                on_desk.get(&i.id),
                Some(&i.version),
                "desk holds the server's {}",
                i.number
            );
        }
        assert_eq!(desk.pending_count().await.unwrap(), 0);
    }
    busy.close().await;
    late.close().await;
}
