//! R-AUD: the audit trail records what happened and cannot be changed.

use shimin_domain::role::Role;
use shimin_protocol::*;

use shimin_server::inspect;
use shimin_server::store::Tamper;

use crate::support::*;

#[tokio::test]
async fn audit_log_is_append_only() {
    let ts = start().await;
    ts.login_as(Role::Clerk, Some("县公安局")).await;
    // The sweep records warnings of the demo's items (clock alerts to tamper with too).
    let swept = shimin_server::supervision::tick(ts.server.state(), chrono::Utc::now())
        .await
        .unwrap();
    assert!(swept.warnings + swept.overdue > 0);
    let before = inspect::audit(ts.store()).await.unwrap();
    assert!(!before.is_empty());
    for tamper in [
        Tamper::UpdateAuditEntry,
        Tamper::DeleteAuditEntry,
        Tamper::UpdateHistoryEntry,
        Tamper::DeleteHistoryEntry,
        Tamper::DeleteClockAlert,
    ] {
        let err = ts
            .store()
            .attempt_tamper(tamper)
            .await
            .expect_err("the database refuses it");
        assert!(err.to_string().contains("append-only"), "{tamper:?}: {err}");
    }
    assert_eq!(inspect::audit(ts.store()).await.unwrap(), before);
    let verified = shimin_server::audit::verify(ts.store()).await.unwrap();
    assert_eq!(verified.entries, before.len() as u64);
    assert_eq!(verified.broken, None);
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
    let rows: Vec<AuditRow> = inspect::audit(ts.store())
        .await
        .unwrap()
        .into_iter()
        .map(|a| AuditRow(a.username, a.action, a.target, a.client_id, a.outcome))
        .collect();
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
#[derive(Debug)]
struct AuditRow(Option<String>, String, Option<String>, Option<String>, String);
