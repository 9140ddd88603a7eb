//! R-AUD: the audit trail records what happened and cannot be changed.

use shimin_domain::role::Role;
use shimin_protocol::*;

use crate::support::*;

#[tokio::test]
async fn audit_log_is_append_only() {
    let ts = start().await;
    ts.login_as(Role::Clerk, Some("县公安局")).await;
    let n = ts.scalar("SELECT COUNT(*) FROM audit_log").await;
    assert!(n >= 1);
    let upd = sqlx::query("UPDATE audit_log SET outcome = 'forged'")
        .execute(ts.server.writer())
        .await;
    assert!(upd.is_err(), "UPDATE must fail");
    assert!(upd.unwrap_err().to_string().contains("append-only"));
    let del = sqlx::query("DELETE FROM audit_log")
        .execute(ts.server.writer())
        .await;
    assert!(del.is_err(), "DELETE must fail");
    assert_eq!(ts.scalar("SELECT COUNT(*) FROM audit_log").await, n);
    assert_eq!(
        ts.scalar("SELECT COUNT(*) FROM audit_log WHERE outcome = 'forged'")
            .await,
        0
    );
    // Item history too.
    assert!(sqlx::query("DELETE FROM item_events")
        .execute(ts.server.writer())
        .await
        .is_err());
}

#[tokio::test]
async fn actions_are_audited_with_who_and_client() {
    let ts = start().await;
    let clerk = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let _ = ts
        .login(&ts.demo_user(Role::Clerk, Some("县公安局")), "Wrong#1")
        .await;
    let portal = ts.portal().await;
    let r_created = new_reservation(&ts, &portal, "县公安局").await;
    clerk
        .push(vec![mutation(1, r_created.id, Op::Claim)])
        .await
        .unwrap();
    clerk
        .req(reqwest::Method::POST, paths::LOGOUT)
        .send()
        .await
        .unwrap();
    let rows: Vec<AuditRow> =
        sqlx::query_as("SELECT username, action, target, client_id, outcome FROM audit_log ORDER BY id")
            .fetch_all(ts.server.db())
            .await
            .unwrap();
    let me = ts.demo_user(Role::Clerk, Some("县公安局"));
    let client = clerk.client_id.to_string();
    let has = |action: &str, outcome: &str| {
        rows.iter()
            .any(|r| r.0.as_deref() == Some(&me) && r.1 == action && r.4.starts_with(outcome))
    };
    assert!(has("login", "ok"));
    assert!(has("login", "bad_credentials"));
    assert!(has("push", "applied claim"));
    assert!(has("logout", "ok"));
    assert!(rows
        .iter()
        .any(|r| r.1 == "intake.reservation" && r.2.as_deref() == Some(r_created.number.as_str())));
    assert!(rows
        .iter()
        .filter(|r| r.1 == "push")
        .all(|r| r.3.as_deref() == Some(client.as_str())));
    // No personal data of citizens in the trail.
    assert!(rows.iter().all(|r| !format!("{r:?}").contains("测试人")));
}

/// username, action, target, client_id, outcome
#[derive(Debug, sqlx::FromRow)]
struct AuditRow(Option<String>, String, Option<String>, Option<String>, String);
