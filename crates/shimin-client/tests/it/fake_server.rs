//! A small in-process stand-in for shimin-server (same protocol crate), reachable on loopback
//! under several addresses, each of which can be killed (its runtime dropped: listener and
//! every connection closed) and revived on the same port.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use shimin_client::view::{apply_op, OpActor};
use shimin_protocol::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

pub const TOKEN: &str = "test-token";

#[derive(Debug, Default)]
pub struct Data {
    pub seq: i64,
    pub items: HashMap<uuid::Uuid, ItemRecord>,
    pub results: HashMap<i64, MutationResult>,
    pub last_seq: i64,
    pub pushes: u64,
    pub pulls_by_port: HashMap<u16, u64>,
}

#[derive(Debug)]
pub struct Shared {
    pub data: Mutex<Data>,
    poke: broadcast::Sender<i64>,
}

impl Shared {
    pub fn new() -> Arc<Shared> {
        Arc::new(Shared {
            data: Mutex::new(Data::default()),
            poke: broadcast::channel(64).0,
        })
    }

    /// Adds or replaces an item as a new change, and pokes the desks.
    pub fn put(&self, mut rec: ItemRecord) {
        let seq = {
            let mut d = self.data.lock().unwrap();
            d.seq += 1;
            rec.version = d.seq;
            d.items.insert(rec.id, rec);
            d.seq
        };
        let _ = self.poke.send(seq);
    }

    pub fn item(&self, id: uuid::Uuid) -> Option<ItemRecord> {
        self.data.lock().unwrap().items.get(&id).cloned()
    }

    pub fn pulls(&self, port: u16) -> u64 {
        self.data
            .lock()
            .unwrap()
            .pulls_by_port
            .get(&port)
            .copied()
            .unwrap_or(0)
    }
}

#[derive(Clone)]
struct App {
    shared: Arc<Shared>,
    port: u16,
}

pub fn user() -> UserInfo {
    UserInfo {
        id: 7,
        username: "clerk7".into(),
        display_name: "窗口七".into(),
        role: "clerk".into(),
        unit_id: Some(10),
    }
}

/// One address of the fake server.
#[derive(Debug)]
pub struct Address {
    pub port: u16,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Address {
    /// A free loopback port with nothing listening (yet).
    pub fn dead(shared: &Arc<Shared>) -> Address {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Address {
            port,
            shared: shared.clone(),
            runtime: None,
        }
    }

    pub fn live(shared: &Arc<Shared>) -> Address {
        let mut a = Address::dead(shared);
        a.revive();
        a
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn revive(&mut self) {
        let listener = std::net::TcpListener::bind(("127.0.0.1", self.port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let app = App {
            shared: self.shared.clone(),
            port: self.port,
        };
        rt.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, router(app)).await.unwrap();
        });
        self.runtime = Some(rt);
    }

    pub fn kill(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for Address {
    fn drop(&mut self) {
        self.kill();
    }
}

fn router(app: App) -> Router {
    Router::new()
        .route(paths::HEALTH, get(health))
        .route(paths::LOGIN, post(login))
        .route(paths::PULL, get(pull))
        .route(paths::PUSH, post(push))
        .route(paths::EVENTS, get(events_stream))
        .with_state(app)
}

fn error(status: StatusCode, code: &str) -> Response {
    let body = ApiError {
        code: code.into(),
        message: code.into(),
        details: None,
        retry_after_secs: None,
    };
    (status, Json(body)).into_response()
}

fn authorized(headers: &HeaderMap) -> Result<(), Box<Response>> {
    if headers.get(PROTOCOL_HEADER).and_then(|v| v.to_str().ok()) != Some("1") {
        return Err(Box::new(error(
            StatusCode::UPGRADE_REQUIRED,
            codes::PROTOCOL_UNSUPPORTED,
        )));
    }
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {TOKEN}")) {
        return Err(Box::new(error(StatusCode::UNAUTHORIZED, codes::UNAUTHENTICATED)));
    }
    Ok(())
}

async fn health() -> Json<Health> {
    Json(Health {
        service: "fake".into(),
        protocol_version: PROTOCOL_VERSION,
        min_protocol_version: MIN_PROTOCOL_VERSION,
        server_time: Utc::now(),
    })
}

async fn login(Json(req): Json<LoginRequest>) -> Response {
    if req.password != "Secret#1" {
        return error(StatusCode::UNAUTHORIZED, codes::BAD_CREDENTIALS);
    }
    Json(LoginResponse {
        token: TOKEN.into(),
        user: user(),
        must_change_password: false,
        idle_timeout_secs: 3600,
        server_time: Utc::now(),
    })
    .into_response()
}

async fn pull(State(app): State<App>, headers: HeaderMap, Query(q): Query<PullQuery>) -> Response {
    if let Err(r) = authorized(&headers) {
        return *r;
    }
    let mut d = app.shared.data.lock().unwrap();
    *d.pulls_by_port.entry(app.port).or_default() += 1;
    let limit = q.limit.unwrap_or(MAX_PULL_LIMIT).min(MAX_PULL_LIMIT) as usize;
    let mut newer: Vec<&ItemRecord> = d.items.values().filter(|i| i.version > q.cursor).collect();
    newer.sort_by_key(|i| i.version);
    let has_more = newer.len() > limit;
    newer.truncate(limit);
    let cursor = if has_more {
        newer.last().map(|i| i.version).unwrap_or(q.cursor)
    } else {
        d.seq.max(q.cursor)
    };
    let changes = newer
        .into_iter()
        .map(|i| Change::Item(Box::new(i.clone())))
        .collect();
    Json(PullResponse {
        changes,
        cursor,
        has_more,
        server_time: Utc::now(),
    })
    .into_response()
}

async fn push(State(app): State<App>, headers: HeaderMap, Json(req): Json<PushRequest>) -> Response {
    if let Err(r) = authorized(&headers) {
        return *r;
    }
    let mut results = Vec::new();
    let mut poke = false;
    {
        let mut d = app.shared.data.lock().unwrap();
        d.pushes += 1;
        let u = user();
        let actor = OpActor {
            user_id: u.id,
            role: u.role,
            unit_id: u.unit_id,
            name: u.display_name,
        };
        for m in req.mutations {
            if m.seq <= d.last_seq {
                if let Some(r) = d.results.get(&m.seq) {
                    results.push(r.clone());
                }
                continue;
            }
            if m.seq != d.last_seq + 1 {
                return error(StatusCode::CONFLICT, codes::SEQUENCE_GAP);
            }
            let outcome = match d.items.get(&m.item_id).cloned() {
                None => MutationOutcome::Rejected {
                    code: codes::NOT_FOUND.into(),
                    message: "无此办件".into(),
                },
                Some(mut rec) => match apply_op(&mut rec, &m.op, &actor, m.acted_at) {
                    Ok(()) => {
                        d.seq += 1;
                        rec.version = d.seq;
                        d.items.insert(rec.id, rec);
                        poke = true;
                        MutationOutcome::Applied { version: d.seq }
                    }
                    Err(e) => MutationOutcome::Rejected {
                        code: e.code().into(),
                        message: e.to_string(),
                    },
                },
            };
            let r = MutationResult {
                id: m.id,
                seq: m.seq,
                outcome,
            };
            d.results.insert(m.seq, r.clone());
            d.last_seq = m.seq;
            results.push(r);
        }
    }
    if poke {
        let _ = app.shared.poke.send(0);
    }
    let last_seq = app.shared.data.lock().unwrap().last_seq;
    Json(PushResponse {
        results,
        last_seq,
        server_time: Utc::now(),
    })
    .into_response()
}

async fn events_stream(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Err(r) = authorized(&headers) {
        return *r;
    }
    let rx = app.shared.poke.subscribe();
    let hello = SseEvent::default().event(events::HELLO).data("{\"seq\":0}");
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(hello) }).chain(
        futures_util::stream::unfold(rx, |mut rx| async move {
            loop {
                match rx.recv().await {
                    Ok(seq) => {
                        let ev = SseEvent::default()
                            .event(events::POKE)
                            .data(format!("{{\"seq\":{seq}}}"));
                        return Some((Ok(ev), rx));
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => return None,
                }
            }
        }),
    );
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

use futures_util::StreamExt as _;
