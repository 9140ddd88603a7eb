//! The demo county: complete, deterministic, idempotent.

use std::collections::HashSet;

use shimin_domain::item::{ItemKind, Status};
use shimin_domain::role::Role;
use shimin_server::demo::{id_check_char, DemoCounty, DEMO_PASSWORD};

use crate::support::*;

#[tokio::test]
async fn every_role_can_log_in_with_the_demo_password() {
    let ts = start().await;
    for role in Role::ALL {
        assert!(
            ts.county.users_with_role(role).next().is_some(),
            "{role:?} missing"
        );
    }
    for u in &ts.county.users {
        let s = ts
            .login(&u.username, DEMO_PASSWORD)
            .await
            .unwrap_or_else(|f| panic!("{}: {f:?}", u.username));
        assert!(!s.login.must_change_password);
        assert_eq!(s.login.user.role, u.role.code());
    }
}

#[tokio::test]
async fn demo_has_items_in_every_state_of_every_kind() {
    let ts = start().await;
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT DISTINCT kind, status FROM items")
        .fetch_all(ts.server.db())
        .await
        .unwrap();
    let seen: HashSet<(String, String)> = rows.into_iter().collect();
    for kind in ItemKind::ALL {
        for status in Status::ALL.into_iter().filter(|s| s.valid_for(kind)) {
            assert!(
                seen.contains(&(kind.code().to_owned(), status.code().to_owned())),
                "{kind:?} {status:?}"
            );
        }
    }
    assert!(ts.item_count().await >= 300);
    assert!(ts.scalar("SELECT COUNT(*) FROM matters").await >= 20);
    assert!(
        ts.scalar("SELECT COUNT(*) FROM units WHERE kind = 'department'")
            .await
            >= 4
    );
    assert!(
        ts.scalar("SELECT COUNT(*) FROM units WHERE kind = 'township'")
            .await
            >= 2
    );
    assert!(ts.scalar("SELECT COUNT(*) FROM sites").await >= 3);
    // ID numbers carry a valid check character; phones look like mobiles.
    let ids: Vec<(String, String)> = sqlx::query_as("SELECT applicant_id_number, applicant_phone FROM items")
        .fetch_all(ts.server.db())
        .await
        .unwrap();
    for (id, phone) in ids {
        assert_eq!(id.len(), 18);
        assert_eq!(id.chars().last().unwrap(), id_check_char(&id[..17]), "{id}");
        assert!(phone.len() == 11 && phone.starts_with('1'));
    }
    // Open items have deadlines from the statutory clocks.
    assert_eq!(
        ts.scalar("SELECT COUNT(*) FROM items WHERE kind = 'reservation' AND due_at IS NULL")
            .await,
        0
    );
}

#[tokio::test]
async fn seeding_twice_changes_nothing_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let first = shimin_server::start(test_config(dir.path())).await.unwrap();
    let snapshot = |pool: sqlx::SqlitePool| async move {
        let v: Vec<(String, String, String, String)> =
            sqlx::query_as("SELECT number, kind, status, applicant_name FROM items ORDER BY version")
                .fetch_all(&pool)
                .await
                .unwrap();
        let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(&pool)
            .await
            .unwrap();
        (v, users)
    };
    let a = snapshot(first.db().clone()).await;
    first.shutdown().await;
    let again = shimin_server::start(test_config(dir.path())).await.unwrap();
    let b = snapshot(again.db().clone()).await;
    again.shutdown().await;
    assert_eq!(a, b, "second start seeds nothing");
    // Another data dir: the same county (kinds, states, names).
    let dir2 = tempfile::tempdir().unwrap();
    let other = shimin_server::start(test_config(dir2.path())).await.unwrap();
    let c = snapshot(other.db().clone()).await;
    other.shutdown().await;
    let strip = |v: &Vec<(String, String, String, String)>| {
        v.iter()
            .map(|(_, k, s, n)| (k.clone(), s.clone(), n.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&a.0), strip(&c.0));
    assert_eq!(DemoCounty::new().users.len() as i64, a.1);
}

#[tokio::test]
async fn the_server_listens_on_every_address() {
    let ts =
        start_with(|c| c.listen = vec!["127.0.0.1:0".parse().unwrap(), "127.0.0.1:0".parse().unwrap()]).await;
    assert_eq!(ts.server.addrs.len(), 2);
    assert_ne!(ts.server.addrs[0], ts.server.addrs[1]);
    for addr in &ts.server.addrs {
        let resp = ts
            .http
            .get(format!("http://{addr}{}", shimin_protocol::paths::HEALTH))
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
    }
}

#[tokio::test]
async fn trickle_creates_reservations() {
    let ts = start_with(|c| {
        c.demo = Some(shimin_server::DemoOptions {
            trickle: Some(std::time::Duration::from_millis(200)),
        })
    })
    .await;
    let before = ts
        .scalar("SELECT COUNT(*) FROM items WHERE kind = 'reservation'")
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let after = ts
        .scalar("SELECT COUNT(*) FROM items WHERE kind = 'reservation'")
        .await;
    assert!(after >= before + 2, "{before} -> {after}");
}
