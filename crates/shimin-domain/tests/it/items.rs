//! Item state machines: `decide` for every kind, permission and claim rule.

use shimin_domain::item::{decide, Command as C, ItemFacts, ItemKind as K, Refusal as R, Status as S};
use shimin_domain::role::{Actor, Role};

const UNIT: i64 = 1;
const CLERK_A: Actor = Actor {
    user_id: 100,
    role: Role::Clerk,
    unit_id: Some(UNIT),
};
const CLERK_B: Actor = Actor {
    user_id: 101,
    role: Role::Clerk,
    unit_id: Some(UNIT),
};
const NET_ADMIN: Actor = Actor {
    user_id: 102,
    role: Role::NetAdmin,
    unit_id: Some(UNIT),
};
const OTHER_UNIT_CLERK: Actor = Actor {
    user_id: 200,
    role: Role::Clerk,
    unit_id: Some(2),
};
const AGENT: Actor = Actor {
    user_id: 300,
    role: Role::Agent,
    unit_id: Some(9),
};
const INSPECTOR: Actor = Actor {
    user_id: 400,
    role: Role::Inspector,
    unit_id: None,
};

fn item(kind: K, status: S, handler: Option<i64>) -> ItemFacts {
    let agent_id = (kind == K::DelegatedCase).then_some(AGENT.user_id);
    ItemFacts {
        kind,
        status,
        unit_id: UNIT,
        agent_id,
        handler_id: handler,
    }
}

/// `expected`: Ok(new status) or the refusal.
fn check(facts: ItemFacts, actor: Actor, cmd: C, expected: Result<S, R>) {
    let got = decide(&facts, &actor, cmd).map(|o| o.status);
    assert_eq!(
        got, expected,
        "{cmd:?} by {:?} on {:?}/{:?}",
        actor.role, facts.kind, facts.status
    );
}

#[test]
fn reservation_lifecycle() {
    check(
        item(K::Reservation, S::Received, None),
        CLERK_A,
        C::Claim,
        Ok(S::Received),
    );
    check(
        item(K::Reservation, S::Received, None),
        CLERK_A,
        C::AcceptReservation,
        Ok(S::Accepted),
    );
    check(
        item(K::Reservation, S::Received, Some(100)),
        CLERK_A,
        C::AcceptReservation,
        Ok(S::Accepted),
    );
    check(
        item(K::Reservation, S::Received, None),
        CLERK_A,
        C::RejectReservation,
        Ok(S::Rejected),
    );
    check(
        item(K::Reservation, S::Accepted, Some(100)),
        CLERK_B,
        C::MarkArrived,
        Ok(S::Arrived),
    );
    check(
        item(K::Reservation, S::Accepted, Some(100)),
        CLERK_A,
        C::MarkNoShow,
        Ok(S::NoShow),
    );
    check(
        item(K::Reservation, S::Received, None),
        CLERK_A,
        C::MarkArrived,
        Err(R::InvalidState),
    );
    check(
        item(K::Reservation, S::Arrived, Some(100)),
        CLERK_A,
        C::RejectReservation,
        Err(R::InvalidState),
    );
}

#[test]
fn claimed_item_cannot_be_taken_by_another_clerk() {
    let claimed = item(K::Reservation, S::Received, Some(CLERK_A.user_id));
    check(claimed, CLERK_B, C::Claim, Err(R::AlreadyClaimed));
    check(claimed, CLERK_B, C::AcceptReservation, Err(R::AlreadyClaimed));
    let out = decide(&item(K::Reservation, S::Received, None), &CLERK_B, C::Claim).unwrap();
    assert_eq!(out.handler_id, Some(CLERK_B.user_id));
}

#[test]
fn consultation_complaint_evaluation() {
    check(
        item(K::Consultation, S::Received, None),
        CLERK_A,
        C::ReplyConsultation,
        Ok(S::Answered),
    );
    check(
        item(K::Consultation, S::Answered, Some(100)),
        CLERK_A,
        C::ReplyConsultation,
        Err(R::InvalidState),
    );
    check(
        item(K::Complaint, S::Received, None),
        NET_ADMIN,
        C::AddNote,
        Ok(S::Investigating),
    );
    check(
        item(K::Complaint, S::Investigating, Some(102)),
        NET_ADMIN,
        C::ReplyComplaint,
        Ok(S::Answered),
    );
    check(
        item(K::Complaint, S::Received, None),
        CLERK_A,
        C::ReplyComplaint,
        Err(R::NotPermitted),
    );
    check(
        item(K::Evaluation, S::Received, None),
        CLERK_A,
        C::MarkRead,
        Ok(S::Read),
    );
    check(
        item(K::Evaluation, S::Received, None),
        CLERK_A,
        C::Claim,
        Err(R::WrongKind),
    );
}

#[test]
fn application_pre_review_and_stages() {
    let submitted = item(K::Application, S::Submitted, None);
    check(submitted, CLERK_A, C::PassPreReview, Ok(S::Accepted));
    check(submitted, CLERK_A, C::RequestSupplement, Ok(S::Supplement));
    check(submitted, CLERK_A, C::RefuseApplication, Ok(S::Refused));
    check(
        item(K::Application, S::Supplement, Some(100)),
        CLERK_A,
        C::Resubmit,
        Ok(S::Submitted),
    );
    check(
        item(K::Application, S::Accepted, Some(100)),
        CLERK_A,
        C::Advance(S::Reviewing),
        Ok(S::Reviewing),
    );
    // Inspection and fee are skipped for matters that need neither.
    check(
        item(K::Application, S::Reviewing, Some(100)),
        CLERK_A,
        C::Advance(S::Deciding),
        Ok(S::Deciding),
    );
    check(
        item(K::Application, S::Deciding, Some(100)),
        CLERK_A,
        C::Advance(S::Reviewing),
        Err(R::InvalidState),
    );
    check(
        item(K::Application, S::Submitted, None),
        CLERK_A,
        C::Advance(S::Completed),
        Err(R::InvalidState),
    );
    check(
        item(K::Application, S::Completed, Some(100)),
        CLERK_A,
        C::Advance(S::Delivered),
        Ok(S::Delivered),
    );
    check(
        item(K::Application, S::Delivered, Some(100)),
        CLERK_A,
        C::Advance(S::Delivered),
        Err(R::InvalidState),
    );
}

#[test]
fn delegated_case_agent_and_window() {
    let registered = item(K::DelegatedCase, S::Registered, None);
    check(registered, AGENT, C::HandOver, Ok(S::Submitted));
    check(registered, CLERK_A, C::PassPreReview, Err(R::InvalidState));
    check(
        item(K::DelegatedCase, S::Submitted, None),
        AGENT,
        C::PassPreReview,
        Err(R::NotPermitted),
    );
    check(
        item(K::DelegatedCase, S::Submitted, None),
        CLERK_A,
        C::RequestSupplement,
        Ok(S::Supplement),
    );
    check(
        item(K::DelegatedCase, S::Supplement, Some(100)),
        AGENT,
        C::Resubmit,
        Ok(S::Submitted),
    );
    let someone_elses = ItemFacts {
        agent_id: Some(999),
        ..registered
    };
    check(someone_elses, AGENT, C::HandOver, Err(R::NotPermitted));
}

#[test]
fn a_delegated_case_goes_back_to_the_citizen_through_its_agent() {
    let dc = |s| item(K::DelegatedCase, s, Some(100));
    // Files while the case is with the agent only.
    check(dc(S::Registered), AGENT, C::AddAttachment, Ok(S::Registered));
    check(dc(S::Supplement), AGENT, C::AddAttachment, Ok(S::Supplement));
    check(dc(S::Submitted), AGENT, C::AddAttachment, Err(R::InvalidState));
    check(dc(S::Registered), CLERK_A, C::AddAttachment, Err(R::NotPermitted));
    // The window finishes it; the result goes through the agent, never straight to delivered.
    check(
        dc(S::Deciding),
        CLERK_A,
        C::Advance(S::Completed),
        Ok(S::Completed),
    );
    check(
        dc(S::Completed),
        CLERK_A,
        C::Advance(S::Delivered),
        Err(R::InvalidState),
    );
    check(dc(S::Completed), AGENT, C::CollectResult, Ok(S::Collected));
    check(dc(S::Completed), CLERK_A, C::CollectResult, Err(R::NotPermitted));
    check(dc(S::Deciding), AGENT, C::CollectResult, Err(R::InvalidState));
    check(dc(S::Collected), AGENT, C::DeliverToCitizen, Ok(S::Delivered));
    check(dc(S::Completed), AGENT, C::DeliverToCitizen, Err(R::InvalidState));
    // An application of the portal still reaches delivered at the window.
    check(
        item(K::Application, S::Completed, Some(100)),
        CLERK_A,
        C::Advance(S::Delivered),
        Ok(S::Delivered),
    );
    check(
        item(K::Application, S::Completed, Some(100)),
        CLERK_A,
        C::CollectResult,
        Err(R::NotPermitted),
    );
    // Someone else's case.
    let other = ItemFacts {
        agent_id: Some(999),
        ..dc(S::Completed)
    };
    check(other, AGENT, C::CollectResult, Err(R::NotPermitted));
    assert!(shimin_domain::item::may_register_case(&AGENT).is_ok());
    assert_eq!(
        shimin_domain::item::may_register_case(&CLERK_A),
        Err(R::NotPermitted)
    );
}

#[test]
fn the_custody_chain_is_read_from_the_history() {
    use shimin_domain::item::CustodyStep as Step;
    let table = [
        ("register_case", S::Registered, Some(Step::CitizenToAgent)),
        ("hand_over", S::Submitted, Some(Step::AgentToWindow)),
        (
            "request_supplement",
            S::Supplement,
            Some(Step::WindowToAgentForSupplement),
        ),
        ("resubmit", S::Submitted, Some(Step::AgentToWindowAgain)),
        ("pass_pre_review", S::Accepted, Some(Step::WindowToUnit)),
        ("advance", S::Reviewing, None),
        ("advance", S::Completed, Some(Step::ResultReady)),
        ("collect_result", S::Collected, Some(Step::WindowToAgent)),
        ("deliver_to_citizen", S::Delivered, Some(Step::AgentToCitizen)),
        ("add_attachment", S::Registered, None),
        ("add_note", S::Submitted, None),
    ];
    for (action, after, want) in table {
        assert_eq!(Step::of_event(action, after), want, "{action} → {after:?}");
    }
    use shimin_domain::item::citizen_progress_zh as progress;
    assert_eq!(
        progress(K::DelegatedCase, S::Completed),
        "已办结，等待代办员领取结果"
    );
    assert_eq!(progress(K::Application, S::Completed), "已办结");
    for kind in K::ALL {
        for status in S::ALL.into_iter().filter(|s| s.valid_for(kind)) {
            assert!(!progress(kind, status).is_empty());
        }
    }
}

#[test]
fn scope_is_enforced_for_actions() {
    let received = item(K::Reservation, S::Received, None);
    check(received, OTHER_UNIT_CLERK, C::Claim, Err(R::NotPermitted));
    check(received, INSPECTOR, C::Claim, Err(R::NotPermitted));
    check(received, AGENT, C::AddNote, Err(R::NotPermitted));
}

#[test]
fn transfer_moves_unit_and_releases_handler() {
    let claimed = item(K::Consultation, S::Received, Some(100));
    let out = decide(&claimed, &CLERK_A, C::Transfer(5)).unwrap();
    assert_eq!((out.unit_id, out.handler_id, out.status), (5, None, S::Received));
    assert_eq!(decide(&claimed, &CLERK_A, C::Transfer(UNIT)), Err(R::SameUnit));
}

#[test]
fn every_outcome_status_is_valid_for_its_kind() {
    let commands = [
        C::Claim,
        C::AcceptReservation,
        C::RejectReservation,
        C::MarkArrived,
        C::MarkNoShow,
        C::ReplyConsultation,
        C::PassPreReview,
        C::RequestSupplement,
        C::Resubmit,
        C::RefuseApplication,
        C::Advance(S::Deciding),
        C::HandOver,
        C::AddAttachment,
        C::CollectResult,
        C::DeliverToCitizen,
        C::AddNote,
        C::ReplyComplaint,
        C::MarkRead,
        C::Transfer(3),
    ];
    for kind in K::ALL {
        for status in S::ALL.into_iter().filter(|s| s.valid_for(kind)) {
            for actor in [CLERK_A, NET_ADMIN, AGENT] {
                for cmd in commands {
                    if let Ok(out) = decide(&item(kind, status, None), &actor, cmd) {
                        assert!(
                            out.status.valid_for(kind),
                            "{kind:?} {status:?} {cmd:?} -> {:?}",
                            out.status
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn codes_round_trip() {
    for k in K::ALL {
        assert_eq!(K::from_code(k.code()), Some(k));
        assert!(k.initial_status().valid_for(k));
    }
    for s in S::ALL {
        assert_eq!(S::from_code(s.code()), Some(s));
    }
}
