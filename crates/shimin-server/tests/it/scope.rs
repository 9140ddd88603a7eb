//! R-SCOPE: every role sees exactly what `read_scope` allows.

use reqwest::{Method, StatusCode};
use shimin_domain::item::{ItemKind, Status};
use shimin_domain::role::Role;
use shimin_protocol::*;

use crate::support::*;

#[tokio::test]
async fn unit_roles_see_only_their_units_items() {
    let ts = start().await;
    let total = ts.item_count().await;
    for unit in ["县公安局", "县民政局", "县不动产登记中心"] {
        let unit_id = ts.unit_id(unit).await;
        let expected = ts.items().await.iter().filter(|i| i.unit_id == unit_id).count() as i64;
        assert!(expected > 0 && expected < total);
        for role in [Role::Clerk, Role::DeptLeader, Role::NetAdmin] {
            let s = ts.login_as(role, Some(unit)).await;
            let (changes, _) = s.pull_all(0, Some(200)).await;
            let its = items(&changes);
            assert_eq!(its.len() as i64, expected, "{role:?} at {unit}");
            assert!(
                its.iter().all(|i| i.unit_id == unit_id),
                "{role:?} at {unit} saw another unit's item"
            );
            // Full personal data for the handling unit.
            assert!(its.iter().all(|i| !i.applicant.name.contains('*')));
            // Colleagues: own unit only.
            let colleagues: Vec<&Colleague> = changes
                .iter()
                .filter_map(|c| match c {
                    Change::Colleague(c) => Some(c),
                    _ => None,
                })
                .collect();
            assert!(!colleagues.is_empty());
            assert!(colleagues.iter().all(|c| c.unit_id == Some(unit_id)));
            // Directory and catalogue for everyone.
            assert!(changes.iter().any(|c| matches!(c, Change::Matter(_))));
            assert!(changes.iter().any(|c| matches!(c, Change::Unit(_))));
            assert!(changes.iter().any(|c| matches!(c, Change::Site(_))));
            assert!(changes.iter().any(|c| matches!(c, Change::Calendar(_))));
        }
    }
}

#[tokio::test]
async fn agents_see_only_their_own_cases() {
    let ts = start().await;
    for agent in ts
        .county
        .users_with_role(Role::Agent)
        .cloned()
        .collect::<Vec<_>>()
    {
        let s = ts
            .login(&agent.username, shimin_server::demo::DEMO_PASSWORD)
            .await
            .unwrap();
        let expected = ts
            .items()
            .await
            .iter()
            .filter(|i| i.agent_id == Some(s.user_id()))
            .count() as i64;
        let (changes, _) = s.pull_all(0, None).await;
        let its = items(&changes);
        assert_eq!(its.len() as i64, expected, "{}", agent.username);
        assert!(its
            .iter()
            .all(|i| i.agent_id == Some(s.user_id()) && i.kind == ItemKind::DelegatedCase));
    }
    assert!(ts.items().await.iter().any(|i| i.agent_id.is_some()));
}

#[tokio::test]
async fn supervision_roles_see_everything_masked() {
    let ts = start().await;
    let total = ts.item_count().await;
    for role in [
        Role::Manager,
        Role::CenterLeader,
        Role::Intake,
        Role::Inspector,
        Role::Sysadmin,
    ] {
        let s = ts.login_as(role, None).await;
        let (changes, _) = s.pull_all(0, Some(1000)).await;
        let its = items(&changes);
        assert_eq!(its.len() as i64, total, "{role:?}");
        for i in its {
            let a = &i.applicant;
            assert!(a.name.ends_with("**"), "{role:?}: name not masked");
            assert!(
                a.id_number.starts_with("**************"),
                "{role:?}: id not masked"
            );
            assert!(a.phone.starts_with("*******"), "{role:?}: phone not masked");
        }
        // Supervision reads but does not handle.
        let any = ts
            .items()
            .await
            .into_iter()
            .find(|i| i.status == Status::Received)
            .expect("a received item")
            .id;
        let r = s.push(vec![mutation(1, any, Op::Claim)]).await.unwrap();
        assert!(
            matches!(&r.results[0].outcome, MutationOutcome::Rejected { code, .. } if code == "not_permitted")
        );
    }
}

#[tokio::test]
async fn portal_may_not_pull_push_or_listen_and_others_may_not_intake() {
    let ts = start().await;
    let portal = ts.portal().await;
    let f = portal.pull(0, None).await.err().unwrap();
    assert_eq!(
        (f.status, f.error.code.as_str()),
        (StatusCode::FORBIDDEN, codes::FORBIDDEN)
    );
    let f = portal.push(vec![]).await.err().unwrap();
    assert_eq!(f.error.code, codes::FORBIDDEN);
    let f = fail(portal.req(Method::GET, paths::EVENTS)).await;
    assert_eq!(f.error.code, codes::FORBIDDEN);

    let before = ts.item_count().await;
    let req = NewReservation {
        matter_id: ts.matter_of("县公安局").await,
        applicant: applicant(),
        requested_slot: tomorrow_slot(),
        content: String::new(),
    };
    for role in [Role::Clerk, Role::DeptLeader, Role::Manager, Role::Sysadmin] {
        let unit = if role.is_unit_office() {
            Some("县公安局")
        } else {
            None
        };
        let s = ts.login_as(role, unit).await;
        let f = s
            .post::<_, Created>(paths::INTAKE_RESERVATION, &req)
            .await
            .err()
            .unwrap();
        assert_eq!(
            (f.status, f.error.code.as_str()),
            (StatusCode::FORBIDDEN, codes::FORBIDDEN),
            "{role:?}"
        );
    }
    let agent = ts.login_as(Role::Agent, Some("城关镇")).await;
    let f = agent
        .post::<_, Created>(paths::INTAKE_RESERVATION, &req)
        .await
        .err()
        .unwrap();
    assert_eq!(f.error.code, codes::FORBIDDEN);
    assert_eq!(ts.item_count().await, before);
}

#[tokio::test]
async fn clerks_cannot_act_on_other_units_items() {
    let ts = start().await;
    let portal = ts.portal().await;
    let other = new_reservation(&ts, &portal, "县民政局").await;
    let clerk = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let r = clerk.push(vec![mutation(1, other.id, Op::Claim)]).await.unwrap();
    assert!(
        matches!(&r.results[0].outcome, MutationOutcome::Rejected { code, .. } if code == codes::NOT_FOUND)
    );
    assert_eq!(ts.item(other.id).await.status, Status::Received);
}
