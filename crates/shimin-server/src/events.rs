//! The poke stream (SSE): `hello` with the current sequence when the stream opens, then `poke`
//! whenever a change in the caller's scope has committed, keep-alive comments in between.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream, StreamExt};
use shimin_domain::role::{read_scope, Scope};
use shimin_protocol::{events as names, Poke};
use tokio::sync::broadcast::error::RecvError;

use crate::auth::AuthUser;
use crate::{Committed, Error, Result, SharedState};

/// Interval of keep-alive comments (proxies and NATs drop silent connections).
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

fn in_scope(scope: Scope, c: &Committed) -> bool {
    match (c.unit_id, c.agent_id) {
        // Directory/catalogue change: everyone syncs it.
        (None, None) => scope != Scope::Nothing,
        _ => {
            let unit_hit = |u: Option<i64>| u.is_some_and(|u| scope.contains(u, c.agent_id));
            unit_hit(c.unit_id)
                || unit_hit(c.old_unit_id)
                || matches!(scope, Scope::Agent(a) if c.agent_id == Some(a))
        }
    }
}

fn event(name: &str, seq: i64, background: bool) -> Event {
    let spread_ms = if background {
        shimin_protocol::BACKGROUND_SPREAD_MS
    } else {
        0
    };
    Event::default()
        .event(name)
        .json_data(Poke { seq, spread_ms })
        .unwrap_or_else(|_| Event::default().event(name))
}

/// `GET EVENTS`.
pub async fn events(
    State(state): State<SharedState>,
    user: AuthUser,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let scope = read_scope(&user.actor());
    if scope == Scope::Nothing {
        return Err(Error::Forbidden);
    }
    // Subscribe before reading the sequence: nothing committed in between is missed.
    let rx = state.changes.subscribe();
    let seq = state.store.reader().await?.current_seq().await?;
    let hello = stream::once(async move { Ok::<_, Infallible>(event(names::HELLO, seq, false)) });
    // Counted as open until the stream is dropped (the desk went away or the server stops).
    let open = crate::metrics::live_stream_opened();
    let pokes = stream::unfold((rx, false, open), move |(mut rx, mut lagged, open)| async move {
        loop {
            match rx.recv().await {
                // After a lag some in-scope change may have been missed: poke on the next one
                // whatever its scope (its seq is newer than anything missed), the pull catches up.
                Ok(c) if lagged || in_scope(scope, &c) => {
                    // Commits already queued behind it (a group, a burst) make one poke with the
                    // newest sequence: one pull covers them all.
                    let (mut seq, mut background) = (c.seq, c.background && !lagged);
                    loop {
                        match rx.try_recv() {
                            Ok(next) => {
                                seq = seq.max(next.seq);
                                background &= next.background || !in_scope(scope, &next);
                            }
                            Err(tokio::sync::broadcast::error::TryRecvError::Lagged(_)) => background = false,
                            Err(_) => break,
                        }
                    }
                    return Some((Ok(event(names::POKE, seq, background)), (rx, false, open)));
                }
                Ok(_) => continue,
                Err(RecvError::Lagged(_)) => lagged = true,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    let mut shutdown = state.shutdown.clone();
    let stop = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    let stream = hello.chain(pokes).take_until(stop);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}
