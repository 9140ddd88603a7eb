//! The sans-IO sync engine: failover order, backoff with jitter, preferred return, polling.

use shimin_client::engine::{Action, Engine, EngineConfig, Event};
use std::time::{Duration, Instant};

fn cfg(endpoints: usize) -> EngineConfig {
    EngineConfig {
        endpoints,
        poll_interval: Duration::from_secs(15),
        preferred_retry: Duration::from_secs(1),
        backoff_base: Duration::from_millis(500),
        backoff_max: Duration::from_secs(60),
    }
}

fn engine(endpoints: usize, jitter: f64) -> Engine {
    Engine::new(cfg(endpoints), Box::new(move || jitter))
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Probe answers (in arrival order) → the endpoint chosen (None = still waiting / all down).
#[test]
fn search_picks_the_best_endpoint_that_answers() {
    use Event::*;
    let table: &[(&[Event], Option<usize>)] = &[
        (&[ProbeOk(0)], Some(0)),
        (&[ProbeOk(1)], None), // 0 has not answered yet: wait for the better one
        (&[ProbeOk(1), ProbeFailed(0)], Some(1)),
        (&[ProbeFailed(0), ProbeFailed(1), ProbeOk(2)], Some(2)),
        (&[ProbeOk(2), ProbeOk(1), ProbeFailed(0)], Some(1)),
        (&[ProbeFailed(0), ProbeFailed(1), ProbeFailed(2)], None),
        (&[ProbeFailed(2), ProbeOk(0)], Some(0)),
    ];
    for (events, expected) in table {
        let t = Instant::now();
        let mut e = engine(3, 0.5);
        assert_eq!(
            e.poll(t),
            vec![Action::Probe(0), Action::Probe(1), Action::Probe(2)]
        );
        let mut actions = Vec::new();
        for ev in events.iter() {
            e.handle(t, *ev);
            actions.extend(e.poll(t));
        }
        assert_eq!(e.active(), *expected, "{events:?}");
        if let Some(i) = expected {
            assert!(actions.contains(&Action::OpenSse(*i)), "{events:?}: {actions:?}");
            assert!(actions.contains(&Action::Sync(*i)), "{events:?}: {actions:?}");
        }
    }
}

#[test]
fn backoff_grows_doubles_and_is_capped_with_jitter_bounds() {
    let mut low = engine(1, 0.0);
    let mut high = engine(1, 0.999_999);
    let mut prev_high = Duration::ZERO;
    for n in 1..=12u32 {
        let lo = low.backoff(n);
        let hi = high.backoff(n);
        let nominal = (ms(500) * 2u32.pow(n - 1)).min(Duration::from_secs(60));
        assert_eq!(lo, nominal / 2, "n = {n}");
        assert!(hi <= nominal && hi + ms(1) >= nominal, "n = {n}: {hi:?}");
        assert!(hi >= prev_high);
        prev_high = hi;
    }
    assert_eq!(
        high.backoff(40),
        Duration::from_secs(60).mul_f64(0.999_999) / 2 + Duration::from_secs(30)
    );
    let mut random = Engine::new(cfg(1), Box::new(shimin_client::engine::RandomJitter));
    for _ in 0..100 {
        let d = random.backoff(3);
        assert!(d >= ms(1000) && d <= ms(2000), "{d:?}");
    }
}

#[test]
fn all_down_retries_after_growing_backoff() {
    let t = Instant::now();
    let mut e = engine(2, 1.0);
    e.poll(t);
    e.handle(t, Event::ProbeFailed(0));
    e.handle(t, Event::ProbeFailed(1));
    assert!(e.poll(t).is_empty());
    assert_eq!(e.failures(), 1);
    assert_eq!(e.next_deadline(t), t + ms(500));
    assert!(e.poll(t + ms(499)).is_empty());
    let t1 = t + ms(500);
    assert_eq!(e.poll(t1), vec![Action::Probe(0), Action::Probe(1)]);
    e.handle(t1, Event::ProbeFailed(0));
    e.handle(t1, Event::ProbeFailed(1));
    e.poll(t1);
    assert_eq!(e.next_deadline(t1), t1 + ms(1000), "doubled");
}

#[test]
fn unreachable_active_endpoint_fails_over_within_three_seconds() {
    let t = Instant::now();
    let mut e = engine(2, 1.0);
    e.poll(t);
    e.handle(t, Event::ProbeOk(0));
    assert_eq!(e.poll(t), vec![Action::OpenSse(0), Action::Sync(0)]);
    e.handle(t, Event::SseConnected(0));
    e.handle(t, Event::SyncOk(0));
    assert_eq!(e.poll(t), vec![Action::Sync(0)], "stream up → catch up");
    e.handle(t, Event::SyncOk(0));
    assert!(e.live());

    // Endpoint 0 dies: the stream drops, the sync it triggers cannot connect.
    let t1 = t + Duration::from_secs(100);
    e.handle(t1, Event::SseDropped(0));
    assert!(!e.live());
    assert_eq!(e.poll(t1), vec![Action::Sync(0)]);
    e.handle(t1 + ms(5), Event::SyncUnreachable(0));
    assert_eq!(e.active(), None);
    let mut now = t1 + ms(5);
    let mut probes = Vec::new();
    let mut synced_at = None;
    // Simulate: connect to 0 takes the full connect timeout (1.5 s), 1 answers at once.
    while now < t1 + Duration::from_secs(10) {
        for a in e.poll(now) {
            match a {
                Action::Probe(i) => probes.push((i, now)),
                Action::Sync(1) => synced_at = Some(now),
                _ => {}
            }
        }
        if synced_at.is_some() {
            break;
        }
        let mut answered = Vec::new();
        for (i, at) in &probes {
            let delay = if *i == 0 { ms(1500) } else { ms(20) };
            if now >= *at + delay {
                e.handle(
                    now,
                    if *i == 0 {
                        Event::ProbeFailed(0)
                    } else {
                        Event::ProbeOk(1)
                    },
                );
                answered.push(*i);
            }
        }
        probes.retain(|(i, _)| !answered.contains(i));
        now += ms(10);
    }
    let synced_at = synced_at.expect("failed over");
    assert!(synced_at - t1 < Duration::from_secs(3), "{:?}", synced_at - t1);
    assert_eq!(e.active(), Some(1));
}

#[test]
fn returns_to_the_preferred_endpoint() {
    let t = Instant::now();
    let mut e = engine(2, 0.5);
    e.poll(t);
    e.handle(t, Event::ProbeFailed(0));
    e.handle(t, Event::ProbeOk(1));
    assert_eq!(e.poll(t), vec![Action::OpenSse(1), Action::Sync(1)]);
    e.handle(t, Event::SyncOk(1));
    assert_eq!(e.next_deadline(t), t + Duration::from_secs(1), "preferred retry");
    let t1 = t + Duration::from_secs(1);
    assert_eq!(e.poll(t1), vec![Action::Probe(0)]);
    e.handle(t1, Event::ProbeFailed(0));
    assert!(e.poll(t1).is_empty());
    assert_eq!(e.active(), Some(1));
    let t2 = t1 + Duration::from_secs(1);
    assert_eq!(e.poll(t2), vec![Action::Probe(0)]);
    e.handle(t2, Event::ProbeOk(0));
    assert_eq!(e.active(), Some(0));
    assert_eq!(
        e.poll(t2),
        vec![Action::CloseSse, Action::OpenSse(0), Action::Sync(0)]
    );
    // On the preferred endpoint there is nothing better to probe.
    e.handle(t2, Event::SyncOk(0));
    assert!(e.poll(t2 + Duration::from_secs(5)).is_empty());
}

#[test]
fn polls_while_the_stream_is_down_and_syncs_on_pokes() {
    let t = Instant::now();
    let mut e = engine(1, 0.0);
    e.poll(t);
    e.handle(t, Event::ProbeOk(0));
    assert_eq!(e.poll(t), vec![Action::OpenSse(0), Action::Sync(0)]);
    e.handle(t, Event::SseDropped(0));
    e.handle(t, Event::SyncOk(0));
    // Stream down: reopened after a short backoff, sync polled every poll_interval.
    assert_eq!(e.poll(t + ms(250)), vec![Action::OpenSse(0)]);
    e.handle(t + ms(250), Event::SseDropped(0));
    assert!(e.poll(t + Duration::from_secs(14)).contains(&Action::OpenSse(0)));
    e.handle(t + Duration::from_secs(14), Event::SseDropped(0));
    let actions = e.poll(t + Duration::from_secs(15));
    assert!(actions.contains(&Action::Sync(0)), "{actions:?}");
    e.handle(t + Duration::from_secs(15), Event::SyncOk(0));

    // Live: a poke syncs at once; a mutation during a sync leads to one more sync after it.
    let t1 = t + Duration::from_secs(20);
    e.poll(t1);
    e.handle(t1, Event::SseConnected(0));
    assert!(e.live());
    assert_eq!(e.poll(t1), vec![Action::Sync(0)], "connect → catch up");
    e.handle(t1, Event::LocalMutation);
    assert!(e.poll(t1).is_empty(), "one sync at a time");
    e.handle(t1 + ms(50), Event::SyncOk(0));
    assert_eq!(e.poll(t1 + ms(50)), vec![Action::Sync(0)]);
    e.handle(t1 + ms(60), Event::SyncOk(0));
    assert!(
        e.poll(t1 + Duration::from_secs(30)).is_empty(),
        "live: no 15 s polling"
    );
    e.handle(t1 + Duration::from_secs(30), Event::Poke(0));
    assert_eq!(e.poll(t1 + Duration::from_secs(30)), vec![Action::Sync(0)]);
}

#[test]
fn answered_errors_back_off_without_failover() {
    let t = Instant::now();
    let mut e = engine(2, 1.0);
    e.poll(t);
    e.handle(t, Event::ProbeOk(0));
    e.poll(t);
    e.handle(t, Event::SyncFailed(0));
    assert_eq!(e.active(), Some(0));
    assert!(e.poll(t + ms(400)).is_empty());
    assert_eq!(e.poll(t + ms(500)), vec![Action::Sync(0)]);
    e.handle(t + ms(500), Event::SyncFailed(0));
    assert!(e.poll(t + ms(1400)).is_empty());
    assert_eq!(e.poll(t + ms(1500)), vec![Action::Sync(0)]);
    // A new session clears the backoff.
    e.handle(t + ms(1500), Event::SyncFailed(0));
    e.handle(t + ms(1600), Event::SessionChanged);
    assert!(e.poll(t + ms(1600)).contains(&Action::Sync(0)));
}
