//! The background sync loop: runs [`crate::engine::Engine`]'s actions with real HTTP and
//! feeds the results back as events.

use crate::desk::Desk;
use crate::engine::{Action, Engine, EngineConfig, Event, RandomJitter};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use shimin_protocol::{codes, events};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::Instant;

/// A live stream silent for this long is considered dead and reopened.
const SSE_IDLE: Duration = Duration::from_secs(90);
/// First backoff step.
const BACKOFF_BASE: Duration = Duration::from_millis(500);

pub(crate) async fn run(desk: Desk, mut stop: watch::Receiver<bool>) {
    let cfg = &desk.inner.config;
    let mut engine = Engine::new(
        EngineConfig {
            endpoints: desk.inner.transport.len(),
            poll_interval: cfg.poll_interval,
            preferred_retry: cfg.preferred_retry,
            backoff_base: BACKOFF_BASE.min(cfg.backoff_max),
            backoff_max: cfg.backoff_max,
        },
        Box::new(RandomJitter),
    );
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    let mut tasks: JoinSet<()> = JoinSet::new();
    let mut sse: Option<AbortHandle> = None;
    loop {
        let now = Instant::now().into_std();
        for action in engine.poll(now) {
            match action {
                Action::Probe(i) => {
                    let (desk, tx) = (desk.clone(), tx.clone());
                    tasks.spawn(async move {
                        let event = match desk.inner.transport.probe(i).await {
                            Ok(p) => {
                                desk.set_offset_ms(p.offset_ms, true);
                                desk.note_endpoint_ok(i);
                                Event::ProbeOk(i)
                            }
                            Err(e) => {
                                tracing::debug!(endpoint = i, error = %e, "probe failed");
                                desk.note_endpoint_failure(&e);
                                Event::ProbeFailed(i)
                            }
                        };
                        let _ = tx.send(event);
                    });
                }
                Action::Sync(i) => {
                    let (desk, tx) = (desk.clone(), tx.clone());
                    tasks.spawn(async move {
                        let event = match desk.sync_on(i).await {
                            Ok(_) => Event::SyncOk(i),
                            Err(e) => {
                                tracing::info!(endpoint = i, code = e.code(), error = %e, "sync failed");
                                let lost =
                                    matches!(e.code(), codes::SESSION_EXPIRED | codes::UNAUTHENTICATED);
                                desk.inner.status.send_modify(|s| {
                                    s.last_error = Some(e.to_string());
                                    s.session_lost |= lost;
                                });
                                desk.note_endpoint_failure(&e);
                                if e.is_unreachable() {
                                    Event::SyncUnreachable(i)
                                } else {
                                    Event::SyncFailed(i)
                                }
                            }
                        };
                        let _ = tx.send(event);
                    });
                }
                Action::OpenSse(i) => {
                    if let Some(h) = sse.take() {
                        h.abort();
                    }
                    sse = Some(tasks.spawn(live_stream(desk.clone(), i, tx.clone())));
                }
                Action::CloseSse => {
                    if let Some(h) = sse.take() {
                        h.abort();
                    }
                }
            }
        }
        publish(&desk, &engine);
        let deadline = Instant::from_std(engine.next_deadline(now));
        tokio::select! {
            _ = stop.changed() => break,
            Some(event) = rx.recv() => engine.handle(Instant::now().into_std(), event),
            _ = desk.inner.wake.notified() => engine.handle(Instant::now().into_std(), Event::LocalMutation),
            _ = desk.inner.kick.notified() => engine.handle(Instant::now().into_std(), Event::SessionChanged),
            _ = tokio::time::sleep_until(deadline) => {}
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    tasks.abort_all();
    desk.inner.status.send_modify(|s| s.live = false);
}

fn publish(desk: &Desk, engine: &Engine) {
    let t = &desk.inner.transport;
    let active = engine.active();
    let live = engine.live();
    desk.inner.status.send_if_modified(|s| {
        let endpoint = active.map(|i| t.name(i));
        let url = active.map(|i| t.url(i));
        let security = active.and_then(|i| t.security(i));
        let online = active.is_some();
        let changed = s.online != online
            || s.endpoint != endpoint
            || s.endpoint_url != url
            || s.live != live
            || s.security != security;
        s.online = online;
        s.endpoint = endpoint;
        s.endpoint_url = url;
        s.live = live;
        s.security = security;
        changed
    });
}

/// The SSE stream on endpoint `i`: connected → poke* → dropped.
async fn live_stream(desk: Desk, i: usize, tx: mpsc::UnboundedSender<Event>) {
    let Some(token) = desk.token() else {
        let _ = tx.send(Event::SseDropped(i));
        return;
    };
    let resp = match desk.inner.transport.events(i, token.expose()).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::debug!(endpoint = i, code = e.code(), "live stream failed to open");
            let _ = tx.send(Event::SseDropped(i));
            return;
        }
    };
    let _ = tx.send(Event::SseConnected(i));
    let mut stream = resp.bytes_stream().eventsource();
    // Ends on error, end of stream, or silence longer than SSE_IDLE.
    while let Ok(Some(Ok(ev))) = tokio::time::timeout(SSE_IDLE, stream.next()).await {
        if ev.event == events::POKE || ev.event == events::HELLO {
            let spread = serde_json::from_str::<shimin_protocol::Poke>(&ev.data)
                .map(|p| p.spread_ms)
                .unwrap_or(0);
            if spread == 0 {
                let _ = tx.send(Event::Poke(i));
            } else {
                // Background change: pull a little later, at a random moment, so that a
                // county's desks do not all pull in the same instant.
                let delay = std::time::Duration::from_millis(rand::Rng::gen_range(
                    &mut rand::thread_rng(),
                    0..spread as u64,
                ));
                let tx = tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = tx.send(Event::Poke(i));
                });
            }
        }
    }
    let _ = tx.send(Event::SseDropped(i));
}
