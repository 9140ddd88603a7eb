//! The counter day's events (窗口叫号, issue 13): each step of a hall ticket is recorded by the
//! desk offline too, handed in once with the next sync, and the server reports each ticket's
//! waiting and service times, suspended time excluded; the hall screen reads the site's calls.

use crate::support::*;
use chrono::{Duration, Utc};
use shimin_domain::calendar::to_local;
use shimin_domain::counter::TicketStep;
use shimin_protocol::{
    paths, TicketEvent, TicketEventBatch, TicketEventReceipt, TicketReport, TransferredTicket,
};
use uuid::Uuid;

/// A counter's steps at minutes after `t0`: (ticket, step, minute).
fn events(t0: chrono::DateTime<Utc>, steps: &[(&str, TicketStep, i64)]) -> Vec<TicketEvent> {
    steps
        .iter()
        .map(|(ticket, step, minute)| TicketEvent {
            id: Uuid::new_v4(),
            day: to_local(t0).date(),
            ticket_no: (*ticket).to_owned(),
            step: *step,
            at: t0 + Duration::minutes(*minute),
            issued_at: t0,
            item_id: None,
            window_no: Some(3),
            to_window: None,
        })
        .collect()
}

/// Hands counter events in through the API, as a desk does.
async fn hand_in(api: &Api, events: &[TicketEvent]) -> Result<TicketEventReceipt, u16> {
    api.post_json(
        paths::TICKET_EVENTS,
        &TicketEventBatch {
            events: events.to_vec(),
        },
    )
    .await
}

#[tokio::test]
async fn counter_steps_recorded_offline_reach_the_server_once_with_suspended_time_excluded() {
    use TicketStep::*;
    let mut server = TestServer::demo().await;
    let clerk = server.user("clerk", None).await;
    let dir = tempfile::tempdir().unwrap();
    let desk = desk(dir.path(), "clerk", &[server.url()], &clerk).await;
    desk.sync_now().await.unwrap();
    // Today, early enough that every step is in the past: a calling day in minutes.
    let t0 = Utc::now() - Duration::minutes(90);
    let day = to_local(t0).date();
    let steps = events(
        t0,
        &[
            ("W001", Called, 5),
            ("W001", Started, 6),
            ("W001", Suspended, 10),
            ("W002", Called, 11),
            ("W002", Recalled, 12),
            ("W002", NoShow, 14),
            ("W001", Resumed, 40),
            ("W001", Finished, 50),
        ],
    );

    server.stop().await;
    for e in &steps {
        desk.record_ticket_event(e).await.expect("recorded offline");
    }
    assert_eq!(desk.store().pending_ticket_event_count().await.unwrap(), 8);
    server.restart().await;
    assert_eq!(desk.sync_now().await.unwrap().ticket_events_handed_in, 8);
    assert_eq!(desk.sync_now().await.unwrap().ticket_events_handed_in, 0);
    assert_eq!(desk.store().pending_ticket_event_count().await.unwrap(), 0);

    // Sent again (a lost answer): counted once.
    let api = Api::login_as(&server, &clerk.username).await;
    let again = hand_in(&api, &steps).await.unwrap();
    assert_eq!(again.recorded, 0, "every event was known");
    assert_eq!(
        shimin_server::inspect::ticket_events(server.store())
            .await
            .unwrap()
            .len(),
        8
    );

    let reports = desk.ticket_reports(day).await.unwrap();
    let w001 = report(&reports, "W001");
    assert_eq!(w001.outcome, Some(Finished));
    assert_eq!(w001.waited_ms, Some(5 * 60_000));
    assert_eq!(w001.suspended_ms, 30 * 60_000, "suspended from minute 10 to 40");
    assert_eq!(
        w001.served_ms,
        Some((50 - 6 - 30) * 60_000),
        "service from the start to the end less the suspension"
    );
    assert_eq!((w001.window_no, w001.user_id), (Some(3), clerk.id));
    assert_eq!(w001.steps.len(), 5);
    let w002 = report(&reports, "W002");
    assert_eq!(
        (w002.outcome, w002.served_ms, w002.waited_ms),
        (Some(NoShow), None, Some(11 * 60_000))
    );

    // The hall screen: the site's calls of today, newest first (today's: not when the test runs
    // in the first 90 minutes of a local day, where the calls above fell on the day before).
    let calls = desk.hall_calls().await.unwrap();
    let seen: Vec<_> = calls
        .iter()
        .map(|c| (c.ticket_no.as_str(), c.window_no))
        .collect();
    if day == to_local(Utc::now()).date() {
        assert_eq!(seen, [("W002", Some(3)), ("W002", Some(3)), ("W001", Some(3))]);
    } else {
        assert!(
            seen.is_empty(),
            "yesterday's calls are not on today's screen: {seen:?}"
        );
    }
}

fn report<'a>(reports: &'a [TicketReport], ticket: &str) -> &'a TicketReport {
    reports
        .iter()
        .find(|r| r.ticket_no == ticket)
        .unwrap_or_else(|| panic!("a report of {ticket} in {reports:?}"))
}

/// Who sees whose tickets: the clerk their own, the unit's leader the unit's, supervision
/// every unit's; an agent has no counter to record or read.
#[tokio::test]
async fn ticket_reports_follow_the_counter_scope() {
    let server = TestServer::demo().await;
    let clerk = server.user("clerk", None).await;
    let unit = clerk.unit_id.expect("a clerk has a unit");
    let other = server
        .users_where(|u| u.colleague.role.code() == "clerk" && u.colleague.unit_id != Some(unit))
        .await
        .into_iter()
        .next()
        .expect("a clerk of another unit");
    let t0 = Utc::now() - Duration::minutes(30);
    let day = to_local(t0).date();
    for (user, ticket) in [(&clerk, "W001"), (&other, "W009")] {
        let api = Api::login_as(&server, &user.username).await;
        let steps = [(ticket, TicketStep::Called, 1), (ticket, TicketStep::Finished, 9)];
        let receipt = hand_in(&api, &events(t0, &steps)).await.unwrap();
        assert_eq!(receipt.recorded, 2);
    }

    let tickets_of = |username: String| {
        let server = &server;
        async move {
            let api = Api::login_as(server, &username).await;
            let reports: Vec<TicketReport> = api
                .get_json(paths::COUNTER_TICKETS, &[("day", day.to_string())])
                .await?;
            let mut seen: Vec<String> = reports.into_iter().map(|r| r.ticket_no).collect();
            seen.sort();
            Ok::<_, u16>(seen)
        }
    };
    let leader = server.user("dept_leader", Some(unit)).await;
    let inspector = server.user("inspector", None).await;
    let agent = server.user("agent", None).await;
    assert_eq!(
        tickets_of(clerk.username.clone()).await,
        Ok(vec!["W001".to_owned()])
    );
    assert_eq!(
        tickets_of(other.username.clone()).await,
        Ok(vec!["W009".to_owned()])
    );
    assert_eq!(
        tickets_of(leader.username.clone()).await,
        Ok(vec!["W001".to_owned()])
    );
    assert_eq!(
        tickets_of(inspector.username.clone()).await,
        Ok(vec!["W001".to_owned(), "W009".to_owned()])
    );
    assert_eq!(tickets_of(agent.username.clone()).await, Err(403));

    let api = Api::login_as(&server, &agent.username).await;
    let refused = hand_in(&api, &events(t0, &[("W001", TicketStep::Called, 1)])).await;
    assert_eq!(refused, Err(403), "an agent has no counter");
}

/// A ticket sent to another window (转窗) waits at that window of the site: listed for it,
/// not for another; an event that names a window it should not is settled without a record.
#[tokio::test]
async fn a_transferred_ticket_is_listed_for_its_window_of_the_site() {
    let server = TestServer::demo().await;
    let (a, b) = server.clerk_pair().await;
    let t0 = Utc::now() - Duration::minutes(20);
    let mut steps = events(
        t0,
        &[
            ("W004", TicketStep::Called, 1),
            ("W004", TicketStep::Transferred, 3),
        ],
    );
    steps[1].to_window = Some(5);
    // A call naming a destination, and a transfer naming none: neither is a record.
    let mut bad = events(
        t0,
        &[
            ("W005", TicketStep::Called, 1),
            ("W005", TicketStep::Transferred, 2),
        ],
    );
    bad[0].to_window = Some(5);
    steps.extend(bad);
    let api_a = Api::login_as(&server, &a.username).await;
    let receipt = hand_in(&api_a, &steps).await.unwrap();
    assert_eq!(
        receipt.recorded, 2,
        "the two bad events are settled without a row"
    );

    let api_b = Api::login_as(&server, &b.username).await;
    let at_5: Vec<TransferredTicket> = api_b
        .get_json(paths::COUNTER_TRANSFERS, &[("window", "5".to_owned())])
        .await
        .unwrap();
    if to_local(t0).date() == to_local(Utc::now()).date() {
        assert_eq!(at_5.len(), 1, "{at_5:?}");
        assert_eq!(
            (
                at_5[0].ticket_no.as_str(),
                at_5[0].from_window,
                at_5[0].transfer_id
            ),
            ("W004", Some(3), steps[1].id)
        );
    }
    let at_7: Vec<TransferredTicket> = api_b
        .get_json(paths::COUNTER_TRANSFERS, &[("window", "7".to_owned())])
        .await
        .unwrap();
    assert!(at_7.is_empty(), "{at_7:?}");
    let refused = api_b
        .get_json::<Vec<TransferredTicket>>(paths::COUNTER_TRANSFERS, &[("window", "100".to_owned())])
        .await;
    assert_eq!(refused, Err(422), "no window 100");
}
