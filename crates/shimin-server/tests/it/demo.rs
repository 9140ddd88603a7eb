//! The demo county: complete, deterministic, idempotent.

use std::collections::HashSet;

use shimin_domain::identity::resident_check_char;
use shimin_domain::item::{ItemKind, Status};
use shimin_domain::role::{Role, UnitKind};
use shimin_server::demo::{DemoCounty, DEMO_PASSWORD};
use shimin_server::inspect;

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
        assert_eq!(s.login.user.role, u.role);
    }
}

#[tokio::test]
async fn demo_has_items_in_every_state_of_every_kind() {
    let ts = start().await;
    let items = ts.items().await;
    let seen: HashSet<(ItemKind, Status)> = items.iter().map(|i| (i.kind, i.status)).collect();
    for kind in ItemKind::ALL {
        for status in Status::ALL.into_iter().filter(|s| s.valid_for(kind)) {
            assert!(seen.contains(&(kind, status)), "{kind:?} {status:?}");
        }
    }
    assert!(items.len() >= 300);
    assert!(inspect::matters(ts.store()).await.unwrap().len() >= 20);
    let units = inspect::units(ts.store()).await.unwrap();
    assert!(units.iter().filter(|u| u.kind == UnitKind::Department).count() >= 4);
    assert!(units.iter().filter(|u| u.kind == UnitKind::Township).count() >= 2);
    assert!(inspect::sites(ts.store()).await.unwrap().len() >= 3);
    // ID numbers carry a valid check character; phones look like mobiles.
    for i in &items {
        let (id, phone) = (&i.applicant.id_number, &i.applicant.phone);
        assert_eq!(id.len(), 18);
        assert_eq!(
            id.chars().last().unwrap(),
            resident_check_char(&id[..17]).unwrap(),
            "{id}"
        );
        assert!(phone.len() == 11 && phone.starts_with('1'));
    }
    // Open items have deadlines from the statutory clocks.
    assert!(items
        .iter()
        .filter(|i| i.kind == ItemKind::Reservation)
        .all(|i| i.due_at.is_some()));
}

#[tokio::test]
async fn seeding_twice_changes_nothing_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path()).await;
    let first = shimin_server::start(config.clone()).await.unwrap();
    let snapshot = |store: shimin_server::store::Store| async move {
        let mut items = inspect::items(&store).await.unwrap();
        items.sort_by_key(|i| i.version);
        let v: Vec<(String, ItemKind, Status, String)> = items
            .into_iter()
            .map(|i| (i.number, i.kind, i.status, i.applicant.name))
            .collect();
        (v, inspect::users(&store).await.unwrap().len() as i64)
    };
    let a = snapshot(first.store().clone()).await;
    first.shutdown().await;
    let again = shimin_server::start(config).await.unwrap();
    let b = snapshot(again.store().clone()).await;
    again.shutdown().await;
    assert_eq!(a, b, "second start seeds nothing");
    // Another data dir: the same county (kinds, states, names).
    let dir2 = tempfile::tempdir().unwrap();
    let other = shimin_server::start(test_config(dir2.path()).await)
        .await
        .unwrap();
    let c = snapshot(other.store().clone()).await;
    other.shutdown().await;
    let strip = |v: &Vec<(String, ItemKind, Status, String)>| {
        v.iter()
            .map(|(_, k, s, n)| (*k, *s, n.clone()))
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
            ..Default::default()
        })
    })
    .await;
    let reservations = || async {
        ts.items()
            .await
            .iter()
            .filter(|i| i.kind == ItemKind::Reservation)
            .count()
    };
    let before = reservations().await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let after = reservations().await;
    assert!(after >= before + 2, "{before} -> {after}");
}
