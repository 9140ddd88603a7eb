use std::time::Duration;

use reqwest::{Method, StatusCode};
use shimin_domain::ladder::Presence;
use shimin_domain::role::Role;
use shimin_protocol::*;
use shimin_server::auth::hash_password;
use shimin_server::demo::DEMO_PASSWORD;
use shimin_server::store::NewUser;
use shimin_server::users::add_user;
use shimin_server::HashParams;

use crate::support::*;

#[tokio::test]
async fn login_ok_returns_user_and_server_time() {
    let ts = start().await;
    let name = ts.demo_user(Role::Clerk, Some("县公安局"));
    let resp = ts
        .req(Method::POST, paths::LOGIN)
        .json(&serde_json::json!({"username": name, "password": DEMO_PASSWORD, "client_id": uuid::Uuid::new_v4()}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().contains_key(SERVER_TIME_HEADER));
    let login: LoginResponse = resp.json().await.unwrap();
    assert_eq!(login.user.username, name);
    assert_eq!(login.user.role, Role::Clerk);
    assert!(!login.must_change_password);
    assert_eq!(login.idle_timeout_secs, 8 * 3600);
    assert!(login.token.len() >= 43);
    // Only the hash is stored.
    let sessions = shimin_server::inspect::sessions(ts.store()).await.unwrap();
    assert!(sessions
        .iter()
        .any(|s| s.token_hash == shimin_server::auth::hash_token(&login.token)));
    assert!(
        sessions.iter().all(|s| s.token_hash != login.token),
        "raw token must not be stored"
    );
}

#[tokio::test]
async fn wrong_password_and_unknown_user_are_the_same_error() {
    let ts = start().await;
    let name = ts.demo_user(Role::Clerk, Some("县公安局"));
    let a = ts.login(&name, "Wrong#123").await.err().unwrap();
    let b = ts.login("nobody.here", "Wrong#123").await.err().unwrap();
    assert_eq!(
        (a.status, a.error.code.as_str()),
        (StatusCode::UNAUTHORIZED, codes::BAD_CREDENTIALS)
    );
    assert_eq!(
        (b.status, b.error.code.as_str()),
        (StatusCode::UNAUTHORIZED, codes::BAD_CREDENTIALS)
    );
    assert_eq!(a.error.message, b.error.message);
}

#[tokio::test]
async fn the_fifth_failure_makes_strangers_wait_even_with_the_right_password() {
    let ts = start().await;
    let name = ts.demo_user(Role::Clerk, Some("县民政局"));
    for i in 1..=4 {
        let f = ts.login(&name, "Wrong#123").await.err().unwrap();
        assert_eq!(f.error.code, codes::BAD_CREDENTIALS, "attempt {i}");
    }
    let fifth = ts.login(&name, "Wrong#123").await.err().unwrap();
    assert_eq!(fifth.status, StatusCode::LOCKED);
    assert_eq!(fifth.error.code, codes::ACCOUNT_LOCKED);
    let retry = fifth.error.retry_after_secs.expect("retry_after_secs");
    assert!(retry > 25 && retry <= 30, "{retry}");
    // Trying during the wait is refused unchecked, and the wait doubles.
    let sixth = ts.login(&name, DEMO_PASSWORD).await.err().unwrap();
    assert_eq!(sixth.status, StatusCode::LOCKED);
    assert_eq!(sixth.error.code, codes::ACCOUNT_LOCKED);
    let retry = sixth.error.retry_after_secs.expect("retry_after_secs");
    assert!(retry > 55 && retry <= 60, "{retry}");
    // Other accounts are unaffected.
    ts.login_as(Role::Clerk, Some("县公安局")).await;
}

#[tokio::test]
async fn the_wait_ends() {
    let ts = start_with(|c| c.login_policy.first_delay = Duration::from_millis(1500)).await;
    let name = ts.demo_user(Role::Clerk, Some("县民政局"));
    for _ in 0..5 {
        ts.login(&name, "Wrong#123").await.err().unwrap();
    }
    let waiting = ts.login(&name, DEMO_PASSWORD).await.err().unwrap().error;
    assert_eq!(waiting.code, codes::ACCOUNT_LOCKED);
    let secs = waiting.retry_after_secs.unwrap();
    assert!(secs <= 3, "{secs}");
    tokio::time::sleep(Duration::from_millis(secs * 1000 + 300)).await;
    ts.login(&name, DEMO_PASSWORD).await.expect("the wait is over");
}

#[tokio::test]
async fn success_resets_the_failure_count() {
    let ts = start().await;
    let name = ts.demo_user(Role::Clerk, Some("县民政局"));
    for _ in 0..4 {
        ts.login(&name, "Wrong#123").await.err().unwrap();
    }
    ts.login(&name, DEMO_PASSWORD).await.unwrap();
    for _ in 0..4 {
        assert_eq!(
            ts.login(&name, "Wrong#123").await.err().unwrap().error.code,
            codes::BAD_CREDENTIALS
        );
    }
}

async fn issue_account(ts: &TestServer, username: &str, password: &str) {
    let unit = ts.unit_id("县公安局").await;
    let hash = hash_password(HashParams::insecure_fast(), password).unwrap();
    let mut tx = ts.store().write().await.unwrap();
    add_user(
        &mut *tx,
        &NewUser {
            username,
            display_name: "新同事",
            role: Role::Clerk,
            unit_id: Some(unit),
            password_hash: &hash,
            must_change_password: true,
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn issued_account_must_change_password_first() {
    let ts = start().await;
    issue_account(&ts, "gongan.xinren", "Init#2026").await;
    let s = ts.login("gongan.xinren", "Init#2026").await.unwrap();
    assert!(s.login.must_change_password);
    // Everything but password change and logout is refused.
    let f = s.pull(0, None).await.err().unwrap();
    assert_eq!(
        (f.status, f.error.code.as_str()),
        (StatusCode::FORBIDDEN, codes::PASSWORD_CHANGE_REQUIRED)
    );
    let f = fail(s.req(Method::GET, paths::EVENTS)).await;
    assert_eq!(f.error.code, codes::PASSWORD_CHANGE_REQUIRED);

    // Weak: every problem listed.
    let weak = s
        .post::<_, serde_json::Value>(
            paths::PASSWORD,
            &ChangePasswordRequest {
                old_password: "Init#2026".into(),
                new_password: "abc".into(),
            },
        )
        .await
        .err()
        .unwrap();
    assert_eq!(
        (weak.status, weak.error.code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, codes::WEAK_PASSWORD)
    );
    let problems = weak.error.details.unwrap()["problems"].clone();
    assert_eq!(
        problems,
        serde_json::json!(["too_short", "no_digit", "no_symbol"])
    );
    // Reuse refused.
    let reuse = fail(s.req(Method::POST, paths::PASSWORD).json(&ChangePasswordRequest {
        old_password: "Init#2026".into(),
        new_password: "Init#2026".into(),
    }))
    .await;
    assert_eq!(
        reuse.error.details.unwrap()["problems"],
        serde_json::json!(["reused"])
    );
    // Wrong old password.
    let wrong = fail(s.req(Method::POST, paths::PASSWORD).json(&ChangePasswordRequest {
        old_password: "Nope#2026".into(),
        new_password: "Good#2027".into(),
    }))
    .await;
    assert_eq!(wrong.error.code, codes::BAD_CREDENTIALS);
    // Good change: the same token now works.
    let resp = s
        .req(Method::POST, paths::PASSWORD)
        .json(&ChangePasswordRequest {
            old_password: "Init#2026".into(),
            new_password: "Good#2027".into(),
        })
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    s.pull(0, Some(10)).await.expect("pull after change");
    // Old password gone, new one works and no longer forces a change.
    assert_eq!(
        ts.login("gongan.xinren", "Init#2026")
            .await
            .err()
            .unwrap()
            .error
            .code,
        codes::BAD_CREDENTIALS
    );
    let again = ts.login("gongan.xinren", "Good#2027").await.unwrap();
    assert!(!again.login.must_change_password);
}

#[tokio::test]
async fn logout_revokes_the_token() {
    let ts = start().await;
    let s = ts.login_as(Role::Clerk, Some("县公安局")).await;
    s.pull(0, Some(1)).await.unwrap();
    let resp = s.req(Method::POST, paths::LOGOUT).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let f = s.pull(0, Some(1)).await.err().unwrap();
    assert_eq!(
        (f.status, f.error.code.as_str()),
        (StatusCode::UNAUTHORIZED, codes::UNAUTHENTICATED)
    );
}

#[tokio::test]
async fn idle_session_expires() {
    let ts = start_with(|c| c.idle_timeout = Duration::from_secs(1)).await;
    let s = ts.login_as(Role::Clerk, Some("县公安局")).await;
    assert_eq!(s.login.idle_timeout_secs, 1);
    // Activity keeps it alive.
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        s.pull(0, Some(1)).await.expect("active session");
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let f = s.pull(0, Some(1)).await.err().unwrap();
    assert_eq!(
        (f.status, f.error.code.as_str()),
        (StatusCode::UNAUTHORIZED, codes::SESSION_EXPIRED)
    );
}

#[tokio::test]
async fn unknown_or_missing_token_is_unauthenticated() {
    let ts = start().await;
    let f = fail(ts.req(Method::GET, paths::PULL).bearer_auth("not-a-token")).await;
    assert_eq!(
        (f.status, f.error.code.as_str()),
        (StatusCode::UNAUTHORIZED, codes::UNAUTHENTICATED)
    );
    let f = fail(ts.req(Method::GET, paths::PULL)).await;
    assert_eq!(f.error.code, codes::UNAUTHENTICATED);
}

#[tokio::test]
async fn client_id_is_bound_to_its_first_user() {
    let ts = start().await;
    let a = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let other = ts.demo_user(Role::Clerk, Some("县民政局"));
    let f = ts
        .login_with_client(&other, DEMO_PASSWORD, a.client_id)
        .await
        .err()
        .unwrap();
    assert_eq!(
        (f.status, f.error.code.as_str()),
        (StatusCode::CONFLICT, codes::CLIENT_MISMATCH)
    );
    // Same user again on the same client is fine.
    let me = ts.demo_user(Role::Clerk, Some("县公安局"));
    ts.login_with_client(&me, DEMO_PASSWORD, a.client_id)
        .await
        .unwrap();
    // Pushing with someone else's client id is refused.
    let b = ts.login_as(Role::Clerk, Some("县民政局")).await;
    let f = b
        .post::<_, PushResponse>(
            paths::PUSH,
            &PushRequest {
                client_id: a.client_id,
                mutations: vec![],
            },
        )
        .await
        .err()
        .unwrap();
    assert_eq!(f.error.code, codes::CLIENT_MISMATCH);
}

#[tokio::test]
async fn health_needs_no_protocol_header_and_tells_the_time() {
    let ts = start().await;
    let resp = ts.http.get(ts.url(paths::HEALTH)).send().await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.headers().contains_key(SERVER_TIME_HEADER));
    let h: Health = resp.json().await.unwrap();
    assert_eq!(h.protocol_version, PROTOCOL_VERSION);
}

#[tokio::test]
async fn away_is_a_colleague_change_the_unit_pulls_and_the_audit_records() {
    let ts = start().await;
    let a_name = ts.county.ab_clerk("县公安局", 'A').unwrap().username.clone();
    let b_name = ts.county.ab_clerk("县公安局", 'B').unwrap().username.clone();
    let a = ts.login(&a_name, DEMO_PASSWORD).await.unwrap();
    let b = ts.login(&b_name, DEMO_PASSWORD).await.unwrap();
    let (_, cursor) = b.pull_all(0, None).await;

    let put = |who: &Session, presence: Presence| {
        who.req(Method::PUT, paths::PRESENCE)
            .json(&SetPresence { presence })
    };
    let bad = fail(put(&a, Presence::OnLeave)).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.error.code, codes::INVALID_FIELD);
    let ok = put(&a, Presence::Away).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);

    let presence_of_a = |changes: &[Change]| {
        changes.iter().find_map(|c| match c {
            Change::Colleague(col) if col.id == a.user_id() => Some(col.presence),
            _ => None,
        })
    };
    let (changes, cursor) = b.pull_all(cursor, None).await;
    assert_eq!(
        presence_of_a(&changes),
        Some(Presence::Away),
        "B's desk learns A is away"
    );
    assert_eq!(
        put(&a, Presence::OnDuty).send().await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    let (changes, _) = b.pull_all(cursor, None).await;
    assert_eq!(presence_of_a(&changes), Some(Presence::OnDuty));
    let audited = ts
        .audit()
        .await
        .into_iter()
        .filter(|e| e.action.starts_with("presence.") && e.outcome == "ok")
        .count();
    assert_eq!(audited, 2);
}
