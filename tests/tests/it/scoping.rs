//! Permission scoping through the real sync path, for every role a desk can log in with: no
//! item of another unit or another agent ever reaches a cache.

use crate::support::*;
use shimin_client::{QueueQuery, QueueView};
use shimin_domain::role::Role;

fn everything() -> QueueQuery {
    QueueQuery {
        view: QueueView::All,
        search: None,
        include_closed: true,
        limit: 100_000,
    }
}

#[tokio::test]
async fn every_role_gets_exactly_its_scope() {
    let server = TestServer::demo().await;
    let all = server.items().await;
    let total = all.len() as i64;
    let dir = tempfile::tempdir().unwrap();
    for role in Role::ALL {
        let user = server.user(role.code(), None).await;
        let desk = desk(dir.path(), role.code(), &[server.url()], &user).await;
        let synced = desk.sync_now().await;
        if role == Role::Portal {
            let err = synced.expect_err("the portal account cannot pull");
            assert_eq!(err.code(), "forbidden", "{err}");
            continue;
        }
        synced.unwrap_or_else(|e| panic!("{role:?} syncs: {e}"));
        let items = desk.queue(everything()).await.unwrap();
        match role {
            Role::Clerk | Role::DeptLeader | Role::NetAdmin => {
                let unit = user.unit_id.unwrap();
                assert!(!items.is_empty(), "{role:?} sees own unit's items");
                assert!(
                    items.iter().all(|i| i.record.unit_id == unit),
                    "{role:?} sees another unit's item"
                );
                assert_eq!(
                    items.len() as i64,
                    all.iter().filter(|i| i.unit_id == unit).count() as i64
                );
            }
            Role::Agent => {
                assert!(!items.is_empty(), "agent sees own delegated cases");
                assert!(
                    items.iter().all(|i| i.record.agent_id == Some(user.id)),
                    "agent sees another's case"
                );
                assert_eq!(
                    items.len() as i64,
                    all.iter().filter(|i| i.agent_id == Some(user.id)).count() as i64
                );
            }
            _ => {
                assert!(role.is_supervision());
                assert_eq!(items.len() as i64, total, "{role:?} reads across units");
                assert!(
                    items.iter().all(|i| i.record.applicant.name.ends_with("**")),
                    "{role:?} must not receive citizens' personal data"
                );
            }
        }
    }
}
