//! Routing and the checks every request passes: server time header, protocol version, body
//! limit, JSON shape.

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use chrono::{SecondsFormat, Utc};
use serde::de::DeserializeOwned;
use shimin_protocol::{
    paths, Health, MAX_BODY_BYTES, MIN_PROTOCOL_VERSION, PROTOCOL_HEADER, PROTOCOL_VERSION,
    SERVER_TIME_HEADER,
};

use crate::{auth, blobs, calendar, events, intake, sync, Error, SharedState};

pub const OLD_CLIENT_MESSAGE: &str = "客户端版本过旧，请更新市民网窗口端";
pub const MISSING_VERSION_MESSAGE: &str = "缺少协议版本";
pub const NEWER_CLIENT_MESSAGE: &str = "客户端版本高于服务器，请联系系统管理员升级服务器";

pub fn router(state: SharedState) -> Router {
    let api = Router::new()
        .route(paths::LOGIN, post(auth::login))
        .route(paths::LOGOUT, post(auth::logout))
        .route(paths::PASSWORD, post(auth::change_password))
        .route(paths::PRESENCE, put(auth::set_presence))
        .route(paths::PULL, get(sync::pull))
        .route(paths::PUSH, post(sync::push))
        .route(paths::EVENTS, get(events::events))
        .route(paths::INTAKE_RESERVATION, post(intake::reservation))
        .route(paths::INTAKE_CONSULTATION, post(intake::consultation))
        .route(paths::INTAKE_APPLICATION, post(intake::application))
        .route(paths::INTAKE_COMPLAINT, post(intake::complaint))
        .route(paths::INTAKE_EVALUATION, post(intake::evaluation))
        .route(paths::INTAKE_PROGRESS, get(intake::progress))
        .route(paths::BLOBS, post(blobs::start))
        .route(paths::BLOB, get(blobs::get).put(blobs::put_chunk))
        .route(paths::ADMIN_CALENDAR, put(calendar::put))
        .route(paths::ADMIN_UNLOCK, post(auth::unlock))
        .route(paths::REVEALS, post(crate::reveals::record))
        .route(paths::TICKET_EVENTS, post(crate::counter::record))
        .route(paths::HALL_CALLS, get(crate::counter::hall_calls))
        .route(paths::COUNTER_TICKETS, get(crate::counter::tickets))
        .route(paths::STATS, get(crate::stats::report))
        .route(
            paths::SUPERVISION_CASES,
            get(crate::cases::list).post(crate::cases::open),
        )
        .route(paths::SUPERVISION_CASE_ANSWER, post(crate::cases::answer))
        .route(paths::SUPERVISION_CASE_RETURN, post(crate::cases::send_back))
        .route(paths::SUPERVISION_CASE_CLOSE, post(crate::cases::close))
        .route(paths::SUPERVISION_CASE_APPEAL, post(crate::cases::appeal))
        .route(paths::SUPERVISION_CASE_UPHOLD, post(crate::cases::uphold))
        .route(paths::SUPERVISION_CASE_REJECT, post(crate::cases::reject))
        .route(paths::COUNTER_TRANSFERS, get(crate::counter::transfers))
        .layer(middleware::from_fn(check_protocol));
    Router::new()
        .route(paths::HEALTH, get(health))
        .route(paths::UPDATE_LATEST, get(crate::updates::latest))
        .route(paths::UPDATE_FILE, get(crate::updates::file))
        .merge(api)
        .fallback(|| async { Error::NotFound })
        .method_not_allowed_fallback(|| async { Error::MethodNotAllowed })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(server_time))
        .layer(middleware::from_fn(hygiene))
        .layer(middleware::from_fn(crate::metrics::track))
        .layer(middleware::from_fn(run_to_completion))
        .with_state(state)
}

/// Runs every handler in a task of its own. A client that vanishes mid-request (network cut,
/// desk killed) makes hyper drop the request's future; dropped inside a write transaction, it
/// could leave the single writer connection mid-transaction, so that later commits never
/// become visible. Detached, a started request always finishes: committed or rolled back.
async fn run_to_completion(req: Request, next: Next) -> Response {
    match tokio::spawn(next.run(req)).await {
        Ok(res) => res,
        Err(e) => Error::internal(format!("request task failed: {e}")).into_response(),
    }
}

/// `GET HEALTH`: liveness and readiness in one (the database answers), for desks measuring
/// their clock offset and for a load balancer's check.
async fn health(State(state): State<SharedState>) -> Result<axum::Json<Health>, Error> {
    if let Err(e) = state.store.ping().await {
        tracing::warn!(error = %e, "health: the database does not answer");
        return Err(Error::Unavailable);
    }
    Ok(axum::Json(Health {
        service: "shimin-server".into(),
        protocol_version: PROTOCOL_VERSION,
        min_protocol_version: MIN_PROTOCOL_VERSION,
        server_time: Utc::now(),
        database: Some(
            match state.store.backend() {
                crate::store::Backend::Sqlite => "sqlite",
                crate::store::Backend::Postgres => "postgres",
            }
            .to_owned(),
        ),
    }))
}

/// Headers every answer carries (issue 16, finding 8): nothing the server sends may be kept by
/// a cache on the way or on the desk's disk (tokens, citizens' data: `no-store` unless the
/// handler said otherwise), and no browser may guess a type other than the one declared.
async fn hygiene(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let headers = res.headers_mut();
    headers
        .entry(axum::http::header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    res
}

/// Adds the server's clock to every response (the desk tracks its offset).
async fn server_time(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)) {
        res.headers_mut().insert(SERVER_TIME_HEADER, v);
    }
    res
}

/// The protocol version check: a client outside `[MIN_PROTOCOL_VERSION, PROTOCOL_VERSION]`
/// gets 426 and a "please update" message.
async fn check_protocol(req: Request, next: Next) -> Response {
    let Some(raw) = req.headers().get(PROTOCOL_HEADER) else {
        return Error::ProtocolUnsupported(MISSING_VERSION_MESSAGE).into_response();
    };
    match raw.to_str().ok().and_then(|s| s.trim().parse::<u32>().ok()) {
        Some(v) if (MIN_PROTOCOL_VERSION..=PROTOCOL_VERSION).contains(&v) => next.run(req).await,
        Some(v) if v > PROTOCOL_VERSION => Error::ProtocolUnsupported(NEWER_CLIENT_MESSAGE).into_response(),
        _ => Error::ProtocolUnsupported(OLD_CLIENT_MESSAGE).into_response(),
    }
}

/// `axum::Json` whose rejections are [`Error`]s (400 `malformed_request` naming the problem,
/// 413 `body_too_large`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(rejection) => Err(map_rejection(rejection)),
        }
    }
}

fn map_rejection(r: JsonRejection) -> Error {
    match r {
        JsonRejection::BytesRejection(b) if b.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Error::BodyTooLarge
        }
        JsonRejection::JsonDataError(e) => Error::Malformed(format!("JSON 结构不符：{}", e.body_text())),
        JsonRejection::JsonSyntaxError(e) => Error::Malformed(format!("JSON 语法错误：{}", e.body_text())),
        JsonRejection::MissingJsonContentType(_) => {
            Error::Malformed("须使用 Content-Type: application/json".to_owned())
        }
        other => Error::Malformed(other.body_text()),
    }
}

impl<T: serde::Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}
