//! The SSE poke stream.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Method;
use shimin_domain::role::Role;
use shimin_protocol::*;

use crate::support::*;

/// A minimal SSE reader: yields (event, data) pairs, skipping comments (keep-alives).
struct SseReader {
    stream: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buf: String,
}

impl SseReader {
    async fn open(s: &Session) -> SseReader {
        let resp = s.req(Method::GET, paths::EVENTS).send().await.unwrap();
        assert_eq!(resp.status(), reqwest::StatusCode::OK);
        assert!(resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream"));
        SseReader {
            stream: resp.bytes_stream().boxed(),
            buf: String::new(),
        }
    }

    async fn next(&mut self, within: Duration) -> Option<(String, Poke)> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut event = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim());
                    }
                }
                if event.is_empty() {
                    continue; // comment / keep-alive
                }
                return Some((event, serde_json::from_str(&data).unwrap()));
            }
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Ok(Some(chunk)) => self.buf.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap()),
                Ok(None) | Err(_) => return None,
            }
        }
    }
}

#[tokio::test]
async fn poke_follows_an_intake_in_scope_only() {
    let ts = start().await;
    let portal = ts.portal().await;
    let gongan = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let minzheng = ts.login_as(Role::Clerk, Some("县民政局")).await;
    let inspector = ts.login_as(Role::Inspector, None).await;
    let mut ga = SseReader::open(&gongan).await;
    let mut mz = SseReader::open(&minzheng).await;
    let mut insp = SseReader::open(&inspector).await;
    let (ev, hello) = ga.next(Duration::from_secs(5)).await.expect("hello");
    assert_eq!(ev, events::HELLO);
    assert_eq!(hello.seq, ts.current_seq().await);
    assert_eq!(mz.next(Duration::from_secs(5)).await.unwrap().0, events::HELLO);
    assert_eq!(insp.next(Duration::from_secs(5)).await.unwrap().0, events::HELLO);

    let started = std::time::Instant::now();
    let created = new_reservation(&ts, &portal, "县公安局").await;
    let (ev, poke) = ga.next(Duration::from_secs(5)).await.expect("poke for the unit");
    eprintln!("poke latency after intake response: {:?}", started.elapsed());
    assert_eq!(ev, events::POKE);
    assert_eq!(poke.spread_ms, 0, "a citizen's reservation is pulled at once");
    // The poke comes after the commit: a pull sees the change.
    let page = gongan.pull(hello.seq, None).await.unwrap();
    assert!(items(&page.changes)
        .iter()
        .any(|i| i.id == created.id && i.version == poke.seq));
    // Supervision sees every unit's changes.
    assert_eq!(insp.next(Duration::from_secs(5)).await.unwrap().1.seq, poke.seq);
    // Another unit's clerk hears nothing.
    assert!(
        mz.next(Duration::from_millis(800)).await.is_none(),
        "no poke for another unit"
    );
    // ... until its own unit gets something.
    let own = new_reservation(&ts, &portal, "县民政局").await;
    let (ev, p) = mz.next(Duration::from_secs(5)).await.expect("own poke");
    assert_eq!(ev, events::POKE);
    let version = ts.item(own.id).await.version;
    assert_eq!(p.seq, version);
}

#[tokio::test]
async fn transfer_pokes_the_old_unit_too() {
    let ts = start().await;
    let portal = ts.portal().await;
    let r = new_reservation(&ts, &portal, "县公安局").await;
    let gongan = ts.login_as(Role::NetAdmin, Some("县公安局")).await;
    let minzheng = ts.login_as(Role::DeptLeader, Some("县民政局")).await;
    let mut ga = SseReader::open(&gongan).await;
    let mut mz = SseReader::open(&minzheng).await;
    ga.next(Duration::from_secs(5)).await.unwrap();
    mz.next(Duration::from_secs(5)).await.unwrap();
    let to = ts.unit_id("县民政局").await;
    gongan
        .push(vec![mutation(
            1,
            r.id,
            Op::Transfer {
                to_unit_id: to,
                reason: "转办".into(),
            },
        )])
        .await
        .unwrap();
    assert_eq!(ga.next(Duration::from_secs(5)).await.unwrap().0, events::POKE);
    assert_eq!(mz.next(Duration::from_secs(5)).await.unwrap().0, events::POKE);
}

#[tokio::test]
async fn shutdown_ends_open_streams() {
    let ts = start().await;
    let s = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let mut reader = SseReader::open(&s).await;
    reader.next(Duration::from_secs(5)).await.unwrap();
    let TestServer { server, .. } = ts;
    tokio::time::timeout(Duration::from_secs(10), server.shutdown())
        .await
        .expect("shutdown does not hang on SSE");
}

#[tokio::test]
async fn the_supervision_sweep_tells_desks_to_spread_their_pulls() {
    let ts = start().await;
    let clerk = ts.login_as(Role::Clerk, Some("县公安局")).await;
    let mut sse = SseReader::open(&clerk).await;
    let (_, hello) = sse.next(Duration::from_secs(5)).await.expect("hello");
    // The demo county's first sweep records warnings and overdue points for many items.
    let report = shimin_server::supervision::tick(ts.server.state(), chrono::Utc::now())
        .await
        .unwrap();
    assert!(report.warnings + report.overdue > 1, "{report:?}");
    let unit = ts.unit_id("县公安局").await;
    let in_unit = ts
        .items()
        .await
        .iter()
        .filter(|i| i.version > hello.seq && i.unit_id == unit)
        .count();
    assert!(in_unit > 0, "the sweep touched the unit");
    let (ev, poke) = sse
        .next(Duration::from_secs(5))
        .await
        .expect("a poke for the sweep");
    assert_eq!(ev, events::POKE);
    assert_eq!(
        poke.spread_ms, BACKGROUND_SPREAD_MS,
        "background work: pull within 2 s, spread"
    );
    assert!(poke.seq > hello.seq);
}
