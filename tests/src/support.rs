//! Shared set-up for end-to-end tests (this crate's and the desk app's): a demo-county server
//! in a fresh data directory, desks, the citizen portal, and reads of the server's database for
//! assertions.

use shimin_client::{CacheKey, ClientConfig, Desk, Endpoint};
use shimin_protocol::{paths, Applicant, Created, LoginRequest, LoginResponse, NewReservation, Slot};
use shimin_server::{Config, DemoOptions, HashParams, RunningServer};
use sqlx::Row;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tempfile::TempDir;

/// The password of every demo user.
pub const DEMO_PASSWORD: &str = shimin_server::demo::DEMO_PASSWORD;

/// A server with the demo county in a fresh data directory.
#[derive(Debug)]
pub struct TestServer {
    pub server: Option<RunningServer>,
    pub data: TempDir,
    pub listen: Vec<SocketAddr>,
}

/// The server configuration of a test: demo county, fast (insecure) password hashing.
pub fn config(data_dir: &Path, listen: Vec<SocketAddr>) -> Config {
    Config {
        data_dir: data_dir.to_path_buf(),
        listen,
        demo: Some(DemoOptions::default()),
        hash_params: HashParams::insecure_fast(),
        ..Config::default()
    }
}

impl TestServer {
    /// A demo server on an ephemeral loopback port.
    pub async fn demo() -> TestServer {
        Self::demo_on(vec!["127.0.0.1:0".parse().unwrap()]).await
    }

    /// A demo server on the given addresses (port 0: ephemeral).
    pub async fn demo_on(listen: Vec<SocketAddr>) -> TestServer {
        let data = tempfile::tempdir().unwrap();
        let server = shimin_server::start(config(data.path(), listen))
            .await
            .expect("server starts");
        let listen = server.addrs.clone();
        TestServer {
            server: Some(server),
            data,
            listen,
        }
    }

    /// The running server (panics after [`TestServer::stop`]).
    pub fn running(&self) -> &RunningServer {
        self.server.as_ref().expect("server is running")
    }

    /// Base URL of the first listen address.
    pub fn url(&self) -> String {
        format!("http://{}", self.listen[0])
    }

    /// The server's database, for assertions.
    pub fn db(&self) -> &sqlx::SqlitePool {
        self.running().db()
    }

    /// The server goes down (the process would be gone: nothing answers on its addresses).
    pub async fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown().await;
        }
    }

    /// The server comes back on the same addresses and data.
    pub async fn restart(&mut self) {
        assert!(self.server.is_none());
        let server = shimin_server::start(config(self.data.path(), self.listen.clone()))
            .await
            .expect("restart");
        self.server = Some(server);
    }

    /// A demo user of `role` (first by id), optionally of a given unit: (username, id, unit).
    pub async fn user(&self, role: &str, unit: Option<i64>) -> DemoUser {
        let row = sqlx::query(
            "SELECT username, id, unit_id FROM users WHERE role = ? AND (? IS NULL OR unit_id = ?) ORDER BY id LIMIT 1",
        )
        .bind(role)
        .bind(unit)
        .bind(unit)
        .fetch_one(self.db())
        .await
        .unwrap_or_else(|e| panic!("no demo user with role {role}: {e}"));
        DemoUser {
            username: row.get(0),
            id: row.get(1),
            unit_id: row.get(2),
        }
    }

    /// Two clerks of the same unit (an A/B pair).
    pub async fn clerk_pair(&self) -> (DemoUser, DemoUser) {
        let a = self.user("clerk", None).await;
        let row = sqlx::query("SELECT username, id, unit_id FROM users WHERE role = 'clerk' AND unit_id = ? AND id <> ? ORDER BY id LIMIT 1")
            .bind(a.unit_id)
            .bind(a.id)
            .fetch_one(self.db())
            .await
            .expect("a second clerk in the unit");
        (
            a,
            DemoUser {
                username: row.get(0),
                id: row.get(1),
                unit_id: row.get(2),
            },
        )
    }

    /// The single integer that `sql` (one `?` bound to `bind`) returns.
    pub async fn count(&self, sql: &str, bind: i64) -> i64 {
        sqlx::query_scalar(sql)
            .bind(bind)
            .fetch_one(self.db())
            .await
            .unwrap()
    }

    /// Item ids of a unit, as the server has them.
    pub async fn unit_item_ids(&self, unit: i64) -> Vec<String> {
        let mut ids: Vec<String> = sqlx::query_scalar("SELECT id FROM items WHERE unit_id = ?")
            .bind(unit)
            .fetch_all(self.db())
            .await
            .unwrap();
        ids.sort();
        ids
    }

    /// A matter handled by `unit`.
    pub async fn matter_of(&self, unit: i64) -> i64 {
        sqlx::query_scalar("SELECT id FROM matters WHERE unit_id = ? ORDER BY id LIMIT 1")
            .bind(unit)
            .fetch_one(self.db())
            .await
            .unwrap()
    }
}

/// A user of the demo county.
#[derive(Debug, Clone)]
pub struct DemoUser {
    pub username: String,
    pub id: i64,
    pub unit_id: Option<i64>,
}

/// Short timeouts so failures show quickly; the endpoints are loopback URLs.
pub fn desk_config(cache: PathBuf, endpoints: &[String]) -> ClientConfig {
    let names = ["内网", "外网", "备用"];
    let endpoints = endpoints
        .iter()
        .enumerate()
        .map(|(i, url)| Endpoint::new(names[i.min(2)], url.clone(), false))
        .collect();
    let mut cfg = ClientConfig::new(cache, CacheKey::random(), endpoints);
    cfg.connect_timeout = Duration::from_millis(500);
    cfg.request_timeout = Duration::from_secs(5);
    cfg.poll_interval = Duration::from_millis(500);
    cfg.preferred_retry = Duration::from_secs(1);
    cfg.backoff_max = Duration::from_millis(800);
    cfg
}

/// A desk with a fresh encrypted cache in `dir`, logged in as `user`.
pub async fn desk(dir: &Path, name: &str, endpoints: &[String], user: &DemoUser) -> Desk {
    let desk = Desk::open(desk_config(dir.join(format!("{name}.db")), endpoints))
        .await
        .expect("cache opens");
    desk.login(&user.username, DEMO_PASSWORD)
        .await
        .expect("demo login");
    desk
}

/// The citizen portal's side: the intake API with the portal service account.
#[derive(Debug)]
pub struct Portal {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Portal {
    /// Logs in with the demo county's portal service account.
    pub async fn login(server: &TestServer) -> Portal {
        let portal = server.user("portal", None).await;
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let base = server.url();
        let res: LoginResponse = http
            .post(format!("{base}{}", paths::LOGIN))
            .header(
                shimin_protocol::PROTOCOL_HEADER,
                shimin_protocol::PROTOCOL_VERSION.to_string(),
            )
            .json(&LoginRequest {
                username: portal.username,
                password: DEMO_PASSWORD.into(),
                client_id: uuid::Uuid::new_v4(),
                device: "portal".into(),
            })
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        Portal {
            http,
            base,
            token: res.token,
        }
    }

    /// A new reservation for `matter`, as a citizen books it on the portal.
    pub async fn reserve(&self, matter: i64, applicant: Applicant) -> Created {
        self.reserve_with_content(matter, applicant, "预约办理").await
    }

    /// [`Portal::reserve`] with the citizen's own words as the content.
    pub async fn reserve_with_content(&self, matter: i64, applicant: Applicant, content: &str) -> Created {
        let start = slot_start(2);
        let body = NewReservation {
            matter_id: matter,
            applicant,
            requested_slot: Slot {
                start,
                end: start + chrono::Duration::minutes(30),
            },
            content: content.into(),
        };
        self.http
            .post(format!("{}{}", self.base, paths::INTAKE_RESERVATION))
            .header(
                shimin_protocol::PROTOCOL_HEADER,
                shimin_protocol::PROTOCOL_VERSION.to_string(),
            )
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// 09:00 China Standard Time, `days` days from today: a slot inside the morning session.
pub fn slot_start(days: i64) -> chrono::NaiveDateTime {
    let local_today = shimin_domain::calendar::to_local(chrono::Utc::now()).date();
    (local_today + chrono::Duration::days(days))
        .and_hms_opt(9, 0, 0)
        .unwrap()
}

/// A distinct citizen (applicant) for test number `n`.
pub fn citizen(n: u32) -> Applicant {
    Applicant {
        name: format!("测试市民{n}"),
        id_number: format!("13043519800101{:04}", n % 10000),
        phone: format!("1390000{:04}", n % 10000),
    }
}

/// Waits until `check` holds, polling; panics with `what` after `limit`.
pub async fn eventually<F, Fut>(limit: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < until,
            "timed out after {limit:?}: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
