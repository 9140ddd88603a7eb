//! Bad input is refused with the right code, and nothing is applied.

use reqwest::{Method, StatusCode};
use shimin_domain::item::{ItemKind, Status};
use shimin_domain::role::Role;
use shimin_protocol::*;

use crate::support::*;

#[tokio::test]
async fn protocol_version_missing_old_or_future_is_426() {
    let ts = start().await;
    let body = serde_json::json!({"username": "x", "password": "y", "client_id": uuid::Uuid::new_v4()});
    let missing = fail(ts.http.post(ts.url(paths::LOGIN)).json(&body)).await;
    assert_eq!(
        (missing.status, missing.error.code.as_str()),
        (StatusCode::UPGRADE_REQUIRED, codes::PROTOCOL_UNSUPPORTED)
    );
    assert_eq!(missing.error.message, "缺少协议版本");
    for v in ["0", "abc", ""] {
        let f = fail(
            ts.http
                .post(ts.url(paths::LOGIN))
                .header(PROTOCOL_HEADER, v)
                .json(&body),
        )
        .await;
        assert_eq!(f.status, StatusCode::UPGRADE_REQUIRED, "version {v:?}");
        assert_eq!(f.error.message, "客户端版本过旧，请更新市民网窗口端");
    }
    let future = fail(
        ts.http
            .post(ts.url(paths::LOGIN))
            .header(PROTOCOL_HEADER, (PROTOCOL_VERSION + 1).to_string())
            .json(&body),
    )
    .await;
    assert_eq!(
        (future.status, future.error.code.as_str()),
        (StatusCode::UPGRADE_REQUIRED, codes::PROTOCOL_UNSUPPORTED)
    );
    // Checked before authentication too.
    let s = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let f = fail(ts.http.get(ts.url(paths::PULL)).bearer_auth(&s.token)).await;
    assert_eq!(f.error.code, codes::PROTOCOL_UNSUPPORTED);
    // Audit saw no login attempt for the refused requests.
    assert!(ts
        .audit()
        .await
        .iter()
        .all(|e| e.username.as_deref() != Some("x")));
}

#[tokio::test]
async fn malformed_json_and_wrong_shape_are_400_and_apply_nothing() {
    let ts = start().await;
    let portal = ts.portal().await;
    let before = ts.item_count().await;
    let syntax = fail(
        portal
            .req(Method::POST, paths::INTAKE_COMPLAINT)
            .header("content-type", "application/json")
            .body("{\"unit_id\": 1, "),
    )
    .await;
    assert_eq!(
        (syntax.status, syntax.error.code.as_str()),
        (StatusCode::BAD_REQUEST, codes::MALFORMED_REQUEST)
    );
    let shape = fail(
        portal
            .req(Method::POST, paths::INTAKE_COMPLAINT)
            .json(&serde_json::json!({"unit_id": "one"})),
    )
    .await;
    assert_eq!(
        (shape.status, shape.error.code.as_str()),
        (StatusCode::BAD_REQUEST, codes::MALFORMED_REQUEST)
    );
    assert!(
        shape.error.message.contains("unit_id") || shape.error.message.contains("applicant"),
        "{}",
        shape.error.message
    );
    let no_type = fail(portal.req(Method::POST, paths::INTAKE_COMPLAINT).body("{}")).await;
    assert_eq!(no_type.error.code, codes::MALFORMED_REQUEST);
    // Unknown op in a push: shape error, the client's sequence does not move.
    let clerk = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let bad_push = serde_json::json!({"client_id": clerk.client_id, "mutations": [{
        "id": uuid::Uuid::new_v4(), "seq": 1, "item_id": uuid::Uuid::new_v4(), "acted_at": chrono::Utc::now(),
        "op": {"type": "delete_everything"}}]});
    let f = fail(clerk.req(Method::POST, paths::PUSH).json(&bad_push)).await;
    assert_eq!(f.error.code, codes::MALFORMED_REQUEST);
    assert_eq!(ts.item_count().await, before);
    assert!(shimin_server::inspect::mutation_results(ts.store())
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn oversized_body_is_413() {
    let ts = start().await;
    let portal = ts.portal().await;
    let before = ts.item_count().await;
    let huge = "咨".repeat(MAX_BODY_BYTES / 3 + 10);
    let req = NewComplaint {
        unit_id: ts.unit_id("县公安局").await,
        applicant: applicant(),
        title: "t".into(),
        content: huge,
    };
    let f = fail(portal.req(Method::POST, paths::INTAKE_COMPLAINT).json(&req)).await;
    assert_eq!(
        (f.status, f.error.code.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, codes::BODY_TOO_LARGE)
    );
    assert_eq!(ts.item_count().await, before);
}

#[tokio::test]
async fn intake_invalid_fields_are_422_naming_the_field() {
    let ts = start().await;
    let portal = ts.portal().await;
    let before = ts.item_count().await;
    let unit = ts.unit_id("县公安局").await;
    let matter = ts.matter_of("县公安局").await;
    let expect = |f: Failure, field: &str| {
        assert_eq!(
            (f.status, f.error.code.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, codes::INVALID_FIELD)
        );
        assert_eq!(f.error.details.unwrap()["field"], field);
        assert!(f.error.message.starts_with(field), "{}", f.error.message);
    };
    let mut r = NewReservation {
        matter_id: 999_999,
        applicant: applicant(),
        requested_slot: tomorrow_slot(),
        content: String::new(),
    };
    expect(
        portal
            .post::<_, Created>(paths::INTAKE_RESERVATION, &r)
            .await
            .err()
            .unwrap(),
        "matter_id",
    );
    r.matter_id = matter;
    let slot = r.requested_slot;
    r.requested_slot = Slot {
        start: slot.end,
        end: slot.start,
    };
    expect(
        portal
            .post::<_, Created>(paths::INTAKE_RESERVATION, &r)
            .await
            .err()
            .unwrap(),
        "requested_slot",
    );
    r.requested_slot = slot;
    r.applicant.name = "  ".into();
    expect(
        portal
            .post::<_, Created>(paths::INTAKE_RESERVATION, &r)
            .await
            .err()
            .unwrap(),
        "applicant.name",
    );

    let c = NewComplaint {
        unit_id: 424_242,
        applicant: applicant(),
        title: "t".into(),
        content: "c".into(),
    };
    expect(
        portal
            .post::<_, Created>(paths::INTAKE_COMPLAINT, &c)
            .await
            .err()
            .unwrap(),
        "unit_id",
    );
    let c = NewComplaint {
        unit_id: unit,
        applicant: applicant(),
        title: "".into(),
        content: "c".into(),
    };
    expect(
        portal
            .post::<_, Created>(paths::INTAKE_COMPLAINT, &c)
            .await
            .err()
            .unwrap(),
        "title",
    );
    let q = NewConsultation {
        matter_id: None,
        unit_id: None,
        applicant: applicant(),
        title: "t".into(),
        content: "c".into(),
    };
    expect(
        portal
            .post::<_, Created>(paths::INTAKE_CONSULTATION, &q)
            .await
            .err()
            .unwrap(),
        "unit_id",
    );

    // Evaluations: rating range, the item must exist and be finished.
    let open_item = new_reservation(&ts, &portal, "县公安局").await;
    let before = before + 1;
    let e = NewEvaluation {
        item_id: open_item.id,
        rating: 6,
        content: String::new(),
    };
    expect(
        portal
            .post::<_, Created>(paths::INTAKE_EVALUATION, &e)
            .await
            .err()
            .unwrap(),
        "rating",
    );
    let e = NewEvaluation {
        item_id: open_item.id,
        rating: 5,
        content: String::new(),
    };
    expect(
        portal
            .post::<_, Created>(paths::INTAKE_EVALUATION, &e)
            .await
            .err()
            .unwrap(),
        "item_id",
    );
    let e = NewEvaluation {
        item_id: uuid::Uuid::new_v4(),
        rating: 5,
        content: String::new(),
    };
    expect(
        portal
            .post::<_, Created>(paths::INTAKE_EVALUATION, &e)
            .await
            .err()
            .unwrap(),
        "item_id",
    );
    assert_eq!(ts.item_count().await, before, "nothing applied");
    assert!(
        ts.audit()
            .await
            .iter()
            .filter(|e| e.outcome == "invalid_field")
            .count()
            >= 9
    );
}

#[tokio::test]
async fn intake_creates_numbered_items_with_deadlines_and_routes_evaluations() {
    let ts = start().await;
    let portal = ts.portal().await;
    let created = new_reservation(&ts, &portal, "县民政局").await;
    let today = shimin_domain::calendar::to_local(chrono::Utc::now())
        .format("%Y%m%d")
        .to_string();
    assert!(
        created.number.starts_with(&format!("YY{today}-")),
        "{}",
        created.number
    );
    assert_eq!(created.number.len(), "YY20261129-0001".len());
    let second = new_reservation(&ts, &portal, "县民政局").await;
    let n = |s: &str| s[s.len() - 4..].parse::<u32>().unwrap();
    assert_eq!(n(&second.number), n(&created.number) + 1);

    let clerk = ts.login_as(Role::Clerk, Some("县民政局")).await;
    let (changes, _) = clerk.pull_all(0, None).await;
    let item = items(&changes)
        .into_iter()
        .find(|i| i.id == created.id)
        .expect("in scope")
        .clone();
    assert_eq!(item.status, Status::Received);
    assert_eq!(item.kind, ItemKind::Reservation);
    assert!(item.due_at.is_some(), "reservation has a deadline");
    assert!(item.due_at.unwrap() > item.received_at);
    assert_eq!(item.events.len(), 1);
    assert_eq!(item.events[0].action, "created");
    assert_eq!(item.applicant.name, "测试人");

    // An evaluation of a finished item goes to that item's unit.
    let done = items(&changes)
        .into_iter()
        .find(|i| {
            i.kind != ItemKind::Evaluation
                && [
                    Status::Delivered,
                    Status::Answered,
                    Status::Arrived,
                    Status::Rejected,
                    Status::Refused,
                    Status::NoShow,
                ]
                .contains(&i.status)
        })
        .expect("finished item");
    let e = NewEvaluation {
        item_id: done.id,
        rating: 2,
        content: "太慢".into(),
    };
    let ev: Created = portal.post(paths::INTAKE_EVALUATION, &e).await.unwrap();
    assert!(ev.number.starts_with("PY"));
    let unit = ts.item(ev.id).await.unit_id;
    assert_eq!(unit, done.unit_id);
}
