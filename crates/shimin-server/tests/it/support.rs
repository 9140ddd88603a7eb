//! Test helpers: start a server (demo county, cheap password hashing), log in, call the API.
//!
//! The backend: the data directory's SQLite file, or, when `SHIMIN_TEST_DATABASE` names a
//! PostgreSQL cluster (`scripts/test.sh` starts one), a fresh database on it for every server.
//! Tests read the server's data through `shimin_server::inspect` (the storage layer's seam),
//! never with SQL of their own.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::Serialize;
use shimin_domain::role::Role;
use shimin_protocol::*;
use shimin_server::demo::{DemoCounty, DEMO_PASSWORD};
use shimin_server::store::StoredItem;
use shimin_server::{inspect, Config, DemoOptions, HashParams, RunningServer};
use uuid::Uuid;

pub struct TestServer {
    pub server: RunningServer,
    pub county: DemoCounty,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// The PostgreSQL cluster the suites run against, if any.
pub fn test_cluster() -> Option<String> {
    shimin_server::store::postgres::test_cluster_url()
}

/// A fresh database for one server on the test cluster; `None` without one (SQLite).
pub async fn fresh_database() -> Option<String> {
    shimin_server::store::postgres::scratch_database_for_tests("it").await
}

pub async fn test_config(dir: &std::path::Path) -> Config {
    Config {
        data_dir: dir.to_path_buf(),
        database: fresh_database().await,
        listen: vec!["127.0.0.1:0".parse().unwrap()],
        demo: Some(DemoOptions::default()),
        hash_params: HashParams::insecure_fast(),
        ..Config::default()
    }
}

pub async fn start() -> TestServer {
    start_with(|_| {}).await
}

/// A server with the demo county's directory and catalogue but none of its items, and no
/// background sweep: for tests that write a history of their own and count it.
pub async fn start_empty_county() -> TestServer {
    start_with(|c| {
        c.supervision_every = None;
        c.demo = Some(shimin_server::DemoOptions {
            directory_only: true,
            ..Default::default()
        });
    })
    .await
}

pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path()).await;
    tweak(&mut config);
    let server = shimin_server::start(config).await.expect("server starts");
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    TestServer {
        server,
        county: DemoCounty::new(),
        http,
        _dir: dir,
    }
}

/// A non-2xx answer.
#[derive(Debug)]
pub struct Failure {
    pub status: StatusCode,
    pub error: ApiError,
}

impl TestServer {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.server.base_url(), path)
    }

    /// A request with the protocol header.
    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, self.url(path))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
    }

    pub async fn login(&self, username: &str, password: &str) -> Result<Session, Failure> {
        self.login_with_client(username, password, Uuid::new_v4()).await
    }

    pub async fn login_with_client(
        &self,
        username: &str,
        password: &str,
        client_id: Uuid,
    ) -> Result<Session, Failure> {
        let body = LoginRequest {
            username: username.into(),
            password: password.into(),
            client_id,
            device: "test".into(),
        };
        let resp: LoginResponse = call(self.req(Method::POST, paths::LOGIN).json(&body)).await?;
        Ok(Session {
            token: resp.token.clone(),
            client_id,
            login: resp,
            base: self.server.base_url(),
            http: self.http.clone(),
        })
    }

    /// Demo user of `role` at `unit` (unit name or None).
    pub fn demo_user(&self, role: Role, unit: Option<&str>) -> String {
        self.county
            .user(role, unit)
            .unwrap_or_else(|| panic!("no demo {role:?} at {unit:?}"))
            .username
            .clone()
    }

    pub async fn login_as(&self, role: Role, unit: Option<&str>) -> Session {
        self.login(&self.demo_user(role, unit), DEMO_PASSWORD)
            .await
            .expect("demo login")
    }

    pub async fn portal(&self) -> Session {
        self.login_as(Role::Portal, None).await
    }

    pub fn store(&self) -> &shimin_server::store::Store {
        self.server.store()
    }

    pub async fn unit_id(&self, name: &str) -> i64 {
        inspect::unit_id(self.store(), name).await.unwrap().expect("unit")
    }

    pub async fn matter_of(&self, unit_name: &str) -> i64 {
        let unit = self.unit_id(unit_name).await;
        inspect::matters(self.store())
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.unit_id == unit)
            .map(|m| m.id)
            .min()
            .expect("a matter of the unit")
    }

    /// Every item the server holds.
    pub async fn items(&self) -> Vec<StoredItem> {
        inspect::items(self.store()).await.unwrap()
    }

    /// One item as the server holds it.
    pub async fn item(&self, id: Uuid) -> StoredItem {
        inspect::item(self.store(), id)
            .await
            .unwrap()
            .expect("item stored")
    }

    /// One item's history.
    pub async fn history(&self, id: Uuid) -> Vec<ItemEvent> {
        inspect::history(self.store(), id).await.unwrap()
    }

    /// The audit trail.
    pub async fn audit(&self) -> Vec<shimin_server::store::dump::AuditDump> {
        inspect::audit(self.store()).await.unwrap()
    }

    /// The newest committed change sequence number.
    pub async fn current_seq(&self) -> i64 {
        inspect::current_seq(self.store()).await.unwrap()
    }

    pub async fn item_count(&self) -> i64 {
        self.items().await.len() as i64
    }
}

/// Sends and decodes a 2xx JSON answer, or the ApiError.
pub async fn call<T: DeserializeOwned>(req: reqwest::RequestBuilder) -> Result<T, Failure> {
    let resp = req.send().await.expect("request sent");
    let status = resp.status();
    if status.is_success() {
        Ok(resp.json().await.expect("JSON body"))
    } else {
        let error: ApiError = resp.json().await.expect("ApiError body");
        Err(Failure { status, error })
    }
}

/// Sends, expecting an error; returns it.
pub async fn fail(req: reqwest::RequestBuilder) -> Failure {
    let resp = req.send().await.expect("request sent");
    let status = resp.status();
    assert!(!status.is_success(), "expected failure, got {status}");
    Failure {
        status,
        error: resp.json().await.expect("ApiError body"),
    }
}

pub struct Session {
    pub token: String,
    pub client_id: Uuid,
    pub login: LoginResponse,
    base: String,
    http: reqwest::Client,
}

impl Session {
    pub fn user_id(&self) -> i64 {
        self.login.user.id
    }

    pub fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{}", self.base, path))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .bearer_auth(&self.token)
    }

    pub async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, Failure> {
        call(self.req(Method::POST, path).json(body)).await
    }

    pub async fn pull(&self, cursor: i64, limit: Option<u32>) -> Result<PullResponse, Failure> {
        let mut url = format!("{}?cursor={cursor}", paths::PULL);
        if let Some(l) = limit {
            url.push_str(&format!("&limit={l}"));
        }
        call(self.req(Method::GET, &url)).await
    }

    /// Pulls until the end of the snapshot; returns all changes and the final cursor.
    pub async fn pull_all(&self, cursor: i64, limit: Option<u32>) -> (Vec<Change>, i64) {
        let mut cursor = cursor;
        let mut all = Vec::new();
        loop {
            let page = self.pull(cursor, limit).await.expect("pull");
            all.extend(page.changes);
            assert!(page.cursor >= cursor, "cursor never goes back");
            cursor = page.cursor;
            if !page.has_more {
                return (all, cursor);
            }
        }
    }

    pub async fn push(&self, mutations: Vec<Mutation>) -> Result<PushResponse, Failure> {
        self.post(
            paths::PUSH,
            &PushRequest {
                client_id: self.client_id,
                mutations,
            },
        )
        .await
    }
}

pub fn items(changes: &[Change]) -> Vec<&ItemRecord> {
    changes
        .iter()
        .filter_map(|c| match c {
            Change::Item(i) => Some(&**i),
            _ => None,
        })
        .collect()
}

pub fn mutation(seq: i64, item_id: Uuid, op: Op) -> Mutation {
    Mutation {
        id: Uuid::new_v4(),
        seq,
        item_id,
        acted_at: chrono::Utc::now(),
        op,
    }
}

pub fn applicant() -> Applicant {
    Applicant {
        name: "测试人".into(),
        id_number: shimin_domain::identity::resident_id("13042719900101123"),
        phone: "13800000000".into(),
    }
}

/// A consultation (在线咨询) to `unit` from [`applicant`].
pub fn consultation_to(unit: i64) -> NewConsultation {
    NewConsultation {
        matter_id: None,
        unit_id: Some(unit),
        applicant: applicant(),
        title: "咨询".into(),
        content: "请问需要什么材料？".into(),
    }
}

pub fn tomorrow_slot() -> Slot {
    let day = shimin_domain::calendar::to_local(chrono::Utc::now()).date() + chrono::Duration::days(1);
    let start = day.and_hms_opt(9, 0, 0).unwrap();
    Slot {
        start,
        end: start + chrono::Duration::minutes(30),
    }
}

/// A new reservation for the first matter of `unit_name`, through the portal.
pub async fn new_reservation(ts: &TestServer, portal: &Session, unit_name: &str) -> Created {
    let req = NewReservation {
        matter_id: ts.matter_of(unit_name).await,
        applicant: applicant(),
        requested_slot: tomorrow_slot(),
        content: "测试预约".into(),
    };
    portal
        .post(paths::INTAKE_RESERVATION, &req)
        .await
        .expect("intake")
}
