//! Supervision cases (督办, R-SUP) on the real server: opened by the sweep when a deadline is
//! missed or by a supervisor by hand, answered by the unit's leader, returned and closed by
//! supervisors, each step kept with its actor and audited; who may do what, and bad input.

use chrono::{Duration, Utc};
use reqwest::{Method, StatusCode};
use shimin_domain::calendar::to_local;
use shimin_domain::role::Role;
use shimin_domain::supervision::{CaseAction, CaseKind, CaseStage};
use shimin_protocol::{codes, paths, AnswerCase, OpenCase, ReviewCase, SupervisionCase};
use shimin_server::intake::{self, Intake};
use shimin_server::supervision;
use uuid::Uuid;

use crate::support::*;

/// A consultation to `unit` received six days ago: long past its one working day.
async fn late_consultation(ts: &TestServer, unit: i64) -> Uuid {
    let req = consultation_to(unit);
    let received = Utc::now() - Duration::days(6);
    intake::create_at(ts.server.state(), None, Intake::Consultation(req), received)
        .await
        .expect("intake")
        .id
}

async fn cases(s: &Session, open: bool) -> Vec<SupervisionCase> {
    call(s.req(Method::GET, &format!("{}?open={open}", paths::SUPERVISION_CASES)))
        .await
        .expect("cases")
}

fn case_path(path: &str, id: i64) -> String {
    path.replace("{id}", &id.to_string())
}

async fn answer(s: &Session, id: i64, cause: &str, correction: &str) -> Result<SupervisionCase, Failure> {
    s.post(
        &case_path(paths::SUPERVISION_CASE_ANSWER, id),
        &AnswerCase {
            cause: cause.into(),
            correction: correction.into(),
        },
    )
    .await
}

async fn review(s: &Session, path: &str, id: i64, note: &str) -> Result<SupervisionCase, Failure> {
    s.post(&case_path(path, id), &ReviewCase { note: note.into() })
        .await
}

#[tokio::test]
async fn a_missed_deadline_is_answered_by_the_leader_returned_answered_again_and_closed() {
    let ts = start_empty_county().await;
    let mut departments = ts.county.departments();
    let unit_name = departments.next().unwrap().name;
    let other_name = departments.next().unwrap().name;
    let unit = ts.unit_id(unit_name).await;
    let item = late_consultation(&ts, unit).await;
    let report = supervision::tick(ts.server.state(), Utc::now()).await.unwrap();
    assert_eq!(report.overdue, 1);

    let leader = ts.login_as(Role::DeptLeader, Some(unit_name)).await;
    let open = cases(&leader, true).await;
    assert_eq!(open.len(), 1);
    let case = &open[0];
    assert_eq!(
        (case.item_id, case.unit_id, case.stage),
        (item, unit, CaseStage::Open)
    );
    assert_eq!(case.reason, "咨询答复超期");
    assert!(case.steps.is_empty());
    let due = case.due_at.expect("the unit's answer has a deadline");
    assert!(
        due > case.opened_at && !case.overdue,
        "three working days to answer"
    );
    let id = case.id;

    // Who may not answer, and what is not an answer.
    let clerk = ts.login_as(Role::Clerk, Some(unit_name)).await;
    let refused = answer(&clerk, id, "原因", "整改").await.unwrap_err();
    assert_eq!(
        (refused.status, refused.error.code.as_str()),
        (StatusCode::FORBIDDEN, "not_permitted")
    );
    let other_leader = ts.login_as(Role::DeptLeader, Some(other_name)).await;
    let hidden = answer(&other_leader, id, "原因", "整改").await.unwrap_err();
    assert_eq!(
        hidden.status,
        StatusCode::NOT_FOUND,
        "another unit learns nothing of the case"
    );
    let manager = ts.login_as(Role::Manager, None).await;
    let not_theirs = answer(&manager, id, "原因", "整改").await.unwrap_err();
    assert_eq!(not_theirs.status, StatusCode::FORBIDDEN);
    let empty = answer(&leader, id, "  ", "整改").await.unwrap_err();
    assert_eq!(
        (empty.status, empty.error.code.as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, codes::INVALID_FIELD)
    );
    let too_early = review(&manager, paths::SUPERVISION_CASE_CLOSE, id, "")
        .await
        .unwrap_err();
    assert_eq!(
        (too_early.status, too_early.error.code.as_str()),
        (StatusCode::CONFLICT, "invalid_state")
    );

    // Answer, return, answer again, close.
    let answered = answer(&leader, id, "窗口人员请假，未交接", "已明确A/B角交接制度")
        .await
        .unwrap();
    assert_eq!(answered.stage, CaseStage::Answered);
    assert!(
        answered.due_at.unwrap() > answered.stage_since,
        "the supervisor's review has its own clock"
    );
    let twice = answer(&leader, id, "再答", "再改").await.unwrap_err();
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let no_reason = review(&manager, paths::SUPERVISION_CASE_RETURN, id, "")
        .await
        .unwrap_err();
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let returned = review(
        &manager,
        paths::SUPERVISION_CASE_RETURN,
        id,
        "请说明对群众的回访情况",
    )
    .await
    .unwrap();
    assert_eq!(returned.stage, CaseStage::Returned);
    answer(
        &leader,
        id,
        "窗口人员请假，未交接",
        "已回访群众并致歉；已明确A/B角交接制度",
    )
    .await
    .unwrap();
    let inspector = ts.login_as(Role::Inspector, None).await;
    let closed = review(&inspector, paths::SUPERVISION_CASE_CLOSE, id, "整改到位")
        .await
        .unwrap();
    assert_eq!(
        (closed.stage, closed.due_at, closed.overdue),
        (CaseStage::Closed, None, false)
    );

    // Its history: every step with who and what.
    let steps: Vec<_> = closed
        .steps
        .iter()
        .map(|s| {
            (
                s.action,
                s.actor_name.as_str(),
                s.cause.is_some(),
                s.note.as_deref(),
            )
        })
        .collect();
    let leader_name = leader.login.user.display_name.as_str();
    assert_eq!(
        steps,
        vec![
            (CaseAction::Answer, leader_name, true, None),
            (
                CaseAction::Return,
                manager.login.user.display_name.as_str(),
                false,
                Some("请说明对群众的回访情况")
            ),
            (CaseAction::Answer, leader_name, true, None),
            (
                CaseAction::Close,
                inspector.login.user.display_name.as_str(),
                false,
                Some("整改到位")
            ),
        ]
    );
    assert_eq!(
        closed.steps[2].correction.as_deref(),
        Some("已回访群众并致歉；已明确A/B角交接制度")
    );
    assert!(closed.steps.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(cases(&leader, true).await.is_empty());
    assert_eq!(cases(&leader, false).await, vec![closed.clone()]);
    // The unit's staff see it; another unit's do not; supervisors see every unit's; agents none.
    assert_eq!(cases(&clerk, false).await.len(), 1);
    assert!(cases(&other_leader, false).await.is_empty());
    assert_eq!(cases(&manager, false).await.len(), 1);
    let agent = ts
        .login_as(Role::Agent, Some(ts.county.townships().next().unwrap().name))
        .await;
    let f = fail(agent.req(Method::GET, paths::SUPERVISION_CASES)).await;
    assert_eq!(f.status, StatusCode::FORBIDDEN);

    let audited: Vec<_> = ts
        .audit()
        .await
        .into_iter()
        .filter(|a| a.action.starts_with("supervision."))
        .map(|a| (a.action, a.username))
        .collect();
    let who = |s: &Session| Some(s.login.user.username.clone());
    assert!(audited.contains(&("supervision.overdue".into(), None)));
    for (action, by) in [
        ("supervision.answer", who(&leader)),
        ("supervision.return", who(&manager)),
        ("supervision.close", who(&inspector)),
    ] {
        assert!(
            audited.contains(&(action.to_owned(), by.clone())),
            "{action} by {by:?} in {audited:?}"
        );
    }
    // The sweep opens the case once, however often it runs.
    supervision::tick(ts.server.state(), Utc::now()).await.unwrap();
    assert_eq!(cases(&manager, false).await.len(), 1);
}

#[tokio::test]
async fn a_supervisor_opens_a_case_on_an_item_and_its_desks_learn_it() {
    let ts = start_empty_county().await;
    let unit_name = ts.county.departments().next().unwrap().name;
    let unit = ts.unit_id(unit_name).await;
    let item = late_consultation(&ts, unit).await;
    let manager = ts.login_as(Role::Manager, None).await;
    let clerk = ts.login_as(Role::Clerk, Some(unit_name)).await;
    let open = |s: &Session, item_id: Uuid, reason: &str| {
        let body = OpenCase {
            item_id,
            reason: reason.into(),
        };
        let req = s.req(Method::POST, paths::SUPERVISION_CASES).json(&body);
        async move { call::<SupervisionCase>(req).await }
    };
    assert_eq!(
        open(&clerk, item, "催办").await.unwrap_err().status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        open(&manager, Uuid::new_v4(), "催办").await.unwrap_err().status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        open(&manager, item, " ").await.unwrap_err().status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let case = open(&manager, item, "群众反映办理缓慢").await.unwrap();
    assert_eq!(
        (case.stage, case.reason.as_str()),
        (CaseStage::Open, "群众反映办理缓慢")
    );
    assert_eq!(case.steps.len(), 1);
    assert_eq!(case.steps[0].action, CaseAction::Open);
    assert!(
        to_local(case.due_at.unwrap()).date() > to_local(case.opened_at).date(),
        "working days to answer"
    );

    let (changes, _) = clerk.pull_all(0, None).await;
    let record = items(&changes)
        .into_iter()
        .rfind(|r| r.id == item)
        .cloned()
        .unwrap();
    assert!(
        record.supervision,
        "the item shows it is under supervision (督办)"
    );
    let history = ts.history(item).await;
    assert!(
        history
            .iter()
            .any(|e| e.action == "supervision_opened" && e.note.as_deref() == Some("督办：群众反映办理缓慢")),
        "{history:?}"
    );
    // The leader answers it like any other.
    let leader = ts.login_as(Role::DeptLeader, Some(unit_name)).await;
    let answered = answer(&leader, case.id, "材料流转慢", "当日流转").await.unwrap();
    assert_eq!(answered.stage, CaseStage::Answered);
}

/// A consultation of `unit` answered by its A clerk now: a finished item a citizen can rate.
async fn answered_consultation(ts: &TestServer, unit_name: &str) -> Uuid {
    let unit = ts.unit_id(unit_name).await;
    let req = consultation_to(unit);
    let id = intake::create_at(
        ts.server.state(),
        None,
        Intake::Consultation(req),
        Utc::now() - Duration::hours(1),
    )
    .await
    .expect("intake")
    .id;
    let clerk = ts
        .login(
            &ts.county.ab_clerk(unit_name, 'A').unwrap().username,
            shimin_server::demo::DEMO_PASSWORD,
        )
        .await
        .unwrap();
    let op = shimin_protocol::Op::ReplyConsultation {
        reply: "您好，请携带身份证。".into(),
    };
    let resp = clerk.push(vec![mutation(1, id, op)]).await.unwrap();
    assert!(matches!(
        resp.results[0].outcome,
        shimin_protocol::MutationOutcome::Applied { .. }
    ));
    id
}

/// A citizen's rating of `item` through the portal's intake API.
async fn rate(ts: &TestServer, item: Uuid, stars: u8) -> Uuid {
    let portal = ts.portal().await;
    let e = shimin_protocol::NewEvaluation {
        item_id: item,
        rating: stars,
        content: "态度不好".into(),
    };
    portal
        .post::<_, shimin_protocol::Created>(paths::INTAKE_EVALUATION, &e)
        .await
        .expect("rating accepted")
        .id
}

async fn ratings(s: &Session) -> shimin_protocol::RatingFigures {
    let today = to_local(Utc::now()).date();
    let url = format!("{}?from={}&to={today}", paths::STATS, today - Duration::days(1));
    let report: shimin_protocol::StatsReport = call(s.req(Method::GET, &url)).await.unwrap();
    report.total.ratings
}

#[tokio::test]
async fn a_bad_rating_opens_its_follow_up_and_an_upheld_appeal_takes_it_out_of_the_figures_only() {
    let ts = start_empty_county().await;
    let unit_name = ts.county.departments().next().unwrap().name;
    let rated = answered_consultation(&ts, unit_name).await;
    let number = ts.item(rated).await.number;
    // A good rating opens nothing; a bad one its follow-up for the unit.
    rate(&ts, rated, 4).await;
    let leader = ts.login_as(Role::DeptLeader, Some(unit_name)).await;
    assert!(cases(&leader, true).await.is_empty());
    let evaluation = rate(&ts, rated, 1).await;
    let open = cases(&leader, true).await;
    assert_eq!(open.len(), 1);
    let case = &open[0];
    assert_eq!(
        (case.kind, case.item_id, case.stage),
        (CaseKind::FollowUp, evaluation, CaseStage::Open)
    );
    assert_eq!(case.reason, format!("差评回访：{number}（非常不满意）"));
    // Five working days to follow up: a week, or a little more from outside office hours.
    let days = (to_local(case.due_at.unwrap()).date() - to_local(case.opened_at).date()).num_days();
    assert!((7..=9).contains(&days), "{days} calendar days");
    let before = ratings(&leader).await;
    assert_eq!((before.count, before.bad, before.excluded), (2, 1, 0));
    assert_eq!(before.good_rate, Some(0.5));

    // The unit appeals (申诉复核) with its reason; a supervisor upholds it.
    let appeal = |s: &Session, path: &'static str, note: &'static str| {
        let req = s
            .req(Method::POST, &case_path(path, case.id))
            .json(&ReviewCase { note: note.into() });
        async move { call::<SupervisionCase>(req).await }
    };
    let no_reason = appeal(&leader, paths::SUPERVISION_CASE_APPEAL, " ")
        .await
        .unwrap_err();
    assert_eq!(no_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let appealed = appeal(&leader, paths::SUPERVISION_CASE_APPEAL, "评议人并非办事群众")
        .await
        .unwrap();
    assert_eq!(appealed.stage, CaseStage::Appealed);
    let clerk = ts.login_as(Role::Clerk, Some(unit_name)).await;
    let not_theirs = appeal(&clerk, paths::SUPERVISION_CASE_UPHOLD, "")
        .await
        .unwrap_err();
    assert_eq!(not_theirs.status, StatusCode::FORBIDDEN);
    let manager = ts.login_as(Role::Manager, None).await;
    let upheld = appeal(&manager, paths::SUPERVISION_CASE_UPHOLD, "经核实属误评")
        .await
        .unwrap();
    assert_eq!(upheld.stage, CaseStage::Closed);
    let actions: Vec<_> = upheld.steps.iter().map(|s| s.action).collect();
    assert_eq!(actions, vec![CaseAction::Appeal, CaseAction::Uphold]);

    // Out of the figures (好评率 from the good rating alone), never out of the record.
    let after = ratings(&leader).await;
    assert_eq!((after.count, after.bad, after.excluded), (1, 0, 1));
    assert_eq!(after.good_rate, Some(1.0));
    assert_eq!(ts.item(evaluation).await.details.rating, Some(1));
    assert_eq!(cases(&manager, false).await.len(), 1);

    // A rejected appeal: the unit follows up after all (回访, 整改), the rating stays counted.
    let second = rate(&ts, rated, 2).await;
    let case2 = cases(&leader, true)
        .await
        .into_iter()
        .find(|c| c.item_id == second)
        .unwrap();
    let path = |p: &str| case_path(p, case2.id);
    leader
        .post::<_, SupervisionCase>(
            &path(paths::SUPERVISION_CASE_APPEAL),
            &ReviewCase {
                note: "不服".into()
            },
        )
        .await
        .unwrap();
    let rejected: SupervisionCase = manager
        .post(
            &path(paths::SUPERVISION_CASE_REJECT),
            &ReviewCase {
                note: "评议属实".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(rejected.stage, CaseStage::Open);
    answer(
        &leader,
        case2.id,
        "已电话回访群众，说明情况并致歉",
        "窗口服务用语培训",
    )
    .await
    .unwrap();
    review(&manager, paths::SUPERVISION_CASE_CLOSE, case2.id, "")
        .await
        .unwrap();
    let last = ratings(&leader).await;
    assert_eq!((last.count, last.bad, last.excluded), (2, 1, 1));
    let audited: Vec<_> = ts.audit().await.into_iter().map(|a| a.action).collect();
    for action in [
        "evaluation.follow_up",
        "supervision.appeal",
        "supervision.uphold",
        "supervision.reject",
    ] {
        assert!(audited.iter().any(|a| a == action), "{action}");
    }
}
