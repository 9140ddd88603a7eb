//! Shared set-up for end-to-end tests (this crate's and the desk app's): a demo-county server
//! in a fresh data directory, desks, the citizen portal, and reads of the server's data for
//! assertions (through `shimin_server::inspect`, the storage layer's seam: no SQL here).
//!
//! The server's backend: the data directory's SQLite file, or, when `SHIMIN_TEST_DATABASE`
//! names a PostgreSQL cluster (`scripts/test.sh` starts one), a fresh database on it.

use shimin_client::{CacheKey, ClientConfig, Desk, Endpoint};
use shimin_protocol::{paths, Applicant, Created, LoginRequest, LoginResponse, NewReservation, Slot};
use shimin_server::store::StoredItem;
use shimin_server::{inspect, Config, DemoOptions, HashParams, RunningServer};
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
    /// The PostgreSQL database of this server, if the tests run on PostgreSQL.
    pub database: Option<String>,
}

/// The PostgreSQL cluster the suites run against, if any.
pub fn test_cluster() -> Option<String> {
    shimin_server::store::postgres::test_cluster_url()
}

/// A fresh database for one server on the test cluster; `None` without one (SQLite).
pub async fn fresh_database() -> Option<String> {
    shimin_server::store::postgres::scratch_database_for_tests("e2e").await
}

/// The server configuration of a test: demo county, fast (insecure) password hashing.
pub fn config(data_dir: &Path, database: Option<String>, listen: Vec<SocketAddr>) -> Config {
    Config {
        data_dir: data_dir.to_path_buf(),
        database,
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
        Self::demo_configured(|c, _| c.listen = listen).await
    }

    /// A demo server on an ephemeral loopback port, its configuration changed by `change`
    /// (given the server's data directory).
    pub async fn demo_configured(change: impl FnOnce(&mut Config, &Path)) -> TestServer {
        let data = tempfile::tempdir().unwrap();
        let database = fresh_database().await;
        let mut cfg = config(
            data.path(),
            database.clone(),
            vec!["127.0.0.1:0".parse().unwrap()],
        );
        change(&mut cfg, data.path());
        let server = shimin_server::start(cfg).await.expect("server starts");
        let listen = server.addrs.clone();
        TestServer {
            server: Some(server),
            data,
            listen,
            database,
        }
    }

    /// A demo server serving HTTPS with `cert` on an ephemeral loopback port, beside plain
    /// HTTP on another (for the portal's side of a test).
    pub async fn demo_tls(cert: &crate::pki::ServerCert) -> TestServer {
        Self::demo_configured(|c, _| {
            c.listen_tls = vec!["127.0.0.1:0".parse().unwrap()];
            c.tls = Some(shimin_server::tls::TlsFiles {
                cert: cert.cert.clone(),
                key: cert.key.clone(),
            });
        })
        .await
    }

    /// The first HTTPS address.
    pub fn tls_addr(&self) -> SocketAddr {
        self.running().tls_addrs[0]
    }

    /// The running server (panics after [`TestServer::stop`]).
    pub fn running(&self) -> &RunningServer {
        self.server.as_ref().expect("server is running")
    }

    /// Base URL of the first listen address.
    pub fn url(&self) -> String {
        format!("http://{}", self.listen[0])
    }

    /// The server's storage layer, for assertions (see `shimin_server::inspect`).
    pub fn store(&self) -> &shimin_server::store::Store {
        self.running().store()
    }

    /// Every item the server holds.
    pub async fn items(&self) -> Vec<StoredItem> {
        inspect::items(self.store()).await.unwrap()
    }

    /// One item as the server holds it.
    pub async fn item(&self, id: uuid::Uuid) -> StoredItem {
        inspect::item(self.store(), id)
            .await
            .unwrap()
            .expect("item stored")
    }

    /// An item by its number.
    pub async fn item_by_number(&self, number: &str) -> StoredItem {
        self.items()
            .await
            .into_iter()
            .find(|i| i.number == number)
            .expect("item with that number")
    }

    /// One item's history on the server.
    pub async fn history(&self, id: uuid::Uuid) -> Vec<shimin_protocol::ItemEvent> {
        inspect::history(self.store(), id).await.unwrap()
    }

    /// Every account.
    pub async fn accounts(&self) -> Vec<shimin_server::store::dump::UserDump> {
        inspect::users(self.store()).await.unwrap()
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
        let server = shimin_server::start(config(
            self.data.path(),
            self.database.clone(),
            self.listen.clone(),
        ))
        .await
        .expect("restart");
        self.server = Some(server);
    }

    /// A demo user of `role` (first by id), optionally of a given unit: (username, id, unit).
    pub async fn user(&self, role: &str, unit: Option<i64>) -> DemoUser {
        self.users_where(|u| {
            u.colleague.role.code() == role && (unit.is_none() || u.colleague.unit_id == unit)
        })
        .await
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no demo user with role {role}"))
    }

    /// Demo users matching `keep`, by id.
    pub async fn users_where(
        &self,
        keep: impl Fn(&shimin_server::store::dump::UserDump) -> bool,
    ) -> Vec<DemoUser> {
        self.accounts()
            .await
            .into_iter()
            .filter(|u| keep(u))
            .map(|u| DemoUser {
                username: u.colleague.username,
                id: u.colleague.id,
                unit_id: u.colleague.unit_id,
            })
            .collect()
    }

    /// Two clerks of the same unit (an A/B pair).
    pub async fn clerk_pair(&self) -> (DemoUser, DemoUser) {
        let a = self.user("clerk", None).await;
        let b = self
            .users_where(|u| {
                u.colleague.role.code() == "clerk"
                    && u.colleague.unit_id == a.unit_id
                    && u.colleague.id != a.id
            })
            .await
            .into_iter()
            .next()
            .expect("a second clerk in the unit");
        (a, b)
    }

    /// Item ids of a unit, as the server has them.
    pub async fn unit_item_ids(&self, unit: i64) -> Vec<String> {
        let mut ids: Vec<String> = self
            .items()
            .await
            .into_iter()
            .filter(|i| i.unit_id == unit)
            .map(|i| i.id.to_string())
            .collect();
        ids.sort();
        ids
    }

    /// A matter handled by `unit`.
    pub async fn matter_of(&self, unit: i64) -> i64 {
        inspect::matters(self.store())
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.unit_id == unit)
            .map(|m| m.id)
            .min()
            .expect("a matter of the unit")
    }

    /// The first matter (by id) whose A clerk is on duty, with that clerk: (matter, clerk).
    pub async fn matter_with_a_clerk_on_duty(
        &self,
        keep: impl Fn(&shimin_server::store::MatterRow) -> bool,
    ) -> (shimin_server::store::MatterRow, DemoUser) {
        let accounts = self.accounts().await;
        let mut matters = inspect::matters(self.store()).await.unwrap();
        matters.sort_by_key(|m| m.id);
        matters
            .into_iter()
            .filter(|m| keep(m))
            .find_map(|m| {
                let a = accounts.iter().find(|u| Some(u.colleague.id) == m.a_clerk_id)?;
                let on_duty = a.colleague.presence == shimin_domain::ladder::Presence::OnDuty
                    && a.colleague.role == shimin_domain::role::Role::Clerk;
                on_duty.then(|| {
                    let clerk = DemoUser {
                        username: a.colleague.username.clone(),
                        id: a.colleague.id,
                        unit_id: a.colleague.unit_id,
                    };
                    (m, clerk)
                })
            })
            .expect("a matter with its A clerk on duty")
    }

    /// The name of the site of a user's unit.
    pub async fn site_of(&self, user_id: i64) -> String {
        self.store()
            .reader()
            .await
            .unwrap()
            .site_of_user(user_id)
            .await
            .unwrap()
            .expect("user with a unit")
    }
}

/// A user of the demo county.
#[derive(Debug, Clone)]
pub struct DemoUser {
    pub username: String,
    pub id: i64,
    pub unit_id: Option<i64>,
}

/// Short timeouts so failures show quickly; the endpoints are loopback URLs (marked as
/// intranet-plain when `http://`: the traffic never leaves the machine).
pub fn desk_config(cache: PathBuf, endpoints: &[String]) -> ClientConfig {
    let names = ["内网", "外网", "备用"];
    let endpoints = endpoints
        .iter()
        .enumerate()
        .map(|(i, url)| Endpoint::new(names[i.min(2)], url.clone(), false).allowing_plain_http())
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

/// Sends a request: its JSON answer decoded, or the status of a refusal.
async fn json_or_status<T: serde::de::DeserializeOwned>(req: reqwest::RequestBuilder) -> Result<T, u16> {
    let resp = req.send().await.expect("request sent");
    if !resp.status().is_success() {
        return Err(resp.status().as_u16());
    }
    Ok(resp.json().await.expect("a JSON answer"))
}

/// The citizen portal's side: the intake API with the portal service account.
#[derive(Debug)]
pub struct Portal {
    http: reqwest::Client,
    base: String,
    token: String,
    /// The client id the session logged in with: pushes must come from it.
    client_id: uuid::Uuid,
    /// The next push sequence number of this client.
    next_seq: std::sync::atomic::AtomicI64,
}

/// A demo user's own HTTP session with the API, spelled out request by request (what a desk
/// does inside), for tests at the protocol level.
pub type Api = Portal;

impl Portal {
    /// Logs in with the demo county's portal service account.
    pub async fn login(server: &TestServer) -> Portal {
        let portal = server.user("portal", None).await;
        Self::login_as(server, &portal.username).await
    }

    /// Logs in as any demo user.
    pub async fn login_as(server: &TestServer, username: &str) -> Portal {
        Self::login_at(&server.url(), username).await
    }

    /// Logs in as any demo user at the server of `base` (e.g. one instance of several).
    pub async fn login_at(base: &str, username: &str) -> Portal {
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let base = base.to_owned();
        let client_id = uuid::Uuid::new_v4();
        let res: LoginResponse = http
            .post(format!("{base}{}", paths::LOGIN))
            .header(
                shimin_protocol::PROTOCOL_HEADER,
                shimin_protocol::PROTOCOL_VERSION.to_string(),
            )
            .json(&LoginRequest {
                username: username.to_owned(),
                password: DEMO_PASSWORD.into(),
                client_id,
                device: "e2e".into(),
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
            client_id,
            next_seq: std::sync::atomic::AtomicI64::new(1),
        }
    }

    /// A request to `path` with the protocol header and this session's token.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .header(
                shimin_protocol::PROTOCOL_HEADER,
                shimin_protocol::PROTOCOL_VERSION.to_string(),
            )
            .bearer_auth(&self.token)
    }

    /// `GET path?query` decoded, or the status of a refusal.
    pub async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<T, u16> {
        json_or_status(self.request(reqwest::Method::GET, path).query(query)).await
    }

    /// `POST path` with a JSON body, decoded, or the status of a refusal.
    pub async fn post_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<T, u16> {
        json_or_status(self.request(reqwest::Method::POST, path).json(body)).await
    }

    /// Pushes one mutation of `op` on `item` (the session's client, its next sequence number);
    /// the server's answer.
    pub async fn push_one(
        &self,
        item: uuid::Uuid,
        op: shimin_protocol::Op,
    ) -> shimin_protocol::MutationOutcome {
        let seq = self.next_seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let req = shimin_protocol::PushRequest {
            client_id: self.client_id,
            mutations: vec![shimin_protocol::Mutation {
                id: uuid::Uuid::now_v7(),
                seq,
                item_id: item,
                acted_at: chrono::Utc::now(),
                op,
            }],
        };
        let res: shimin_protocol::PushResponse = self
            .request(reqwest::Method::POST, paths::PUSH)
            .json(&req)
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        res.results.into_iter().next().expect("one result").outcome
    }

    /// Starts (or resumes) an upload; the raw answer.
    pub async fn start_upload(&self, hash: &str, size: u64, mime: &str) -> reqwest::Response {
        self.request(reqwest::Method::POST, paths::BLOBS)
            .json(&shimin_protocol::BlobUploadStart {
                hash: hash.to_owned(),
                size,
                mime: mime.to_owned(),
            })
            .send()
            .await
            .unwrap()
    }

    /// Sends one chunk with the SHA-256 it claims (`None`: its own); the raw answer.
    pub async fn put_chunk(
        &self,
        hash: &str,
        offset: u64,
        chunk: &[u8],
        claimed: Option<&str>,
    ) -> reqwest::Response {
        let sha = claimed
            .map(str::to_owned)
            .unwrap_or_else(|| shimin_client::attachment::sha256_hex(chunk));
        self.request(reqwest::Method::PUT, &paths::BLOB.replace("{hash}", hash))
            .query(&[("offset", offset)])
            .header(shimin_protocol::CHUNK_SHA256_HEADER, sha)
            .body(chunk.to_vec())
            .send()
            .await
            .unwrap()
    }

    /// `GET` a blob; the raw answer.
    pub async fn get_blob(&self, hash: &str) -> reqwest::Response {
        self.request(reqwest::Method::GET, &paths::BLOB.replace("{hash}", hash))
            .send()
            .await
            .unwrap()
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
        id_number: shimin_domain::identity::resident_id(&format!("13043519800101{:03}", n % 1000)),
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

/// A photo of a document as a phone takes it: `w`×`h` JPEG with an EXIF block that says the
/// camera was turned (orientation 6: display rotated 90°) and where it was (a GPS marker).
/// Distinct for every `seed`.
pub fn phone_photo(seed: u32, w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let v = (x.wrapping_mul(31) ^ y.wrapping_mul(17) ^ seed.wrapping_mul(2654435761)) as u8;
        image::Rgb([v, v.wrapping_add(seed as u8), 255 - v])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 80)
        .encode_image(&img)
        .unwrap();
    // APP1 Exif: TIFF little-endian, IFD0 with one entry, Orientation (0x0112) = 6, then the
    // marker text standing for the GPS block.
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend_from_slice(&1u16.to_le_bytes());
    tiff.extend_from_slice(&0x0112u16.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&6u32.to_le_bytes());
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    tiff.extend_from_slice(GPS_MARKER);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Stands for the location a phone writes into a photo's metadata.
pub const GPS_MARKER: &[u8] = b"GPS 36.6125N 114.4845E";

/// A scanned document as a PDF of about `size` bytes (incompressible content), distinct per seed.
pub fn scan_pdf(seed: u64, size: usize) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n%\xE2\xE3\xCF\xD3\n".to_vec();
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407)
        | 1;
    while out.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(size);
    out
}

/// The `shimin-server` binary of this build (built by `cargo test` beside the test binaries).
pub fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .skip(1)
        .map(|d| d.join("shimin-server"))
        .find(|p| p.is_file())
        .expect("target/<profile>/shimin-server (built by cargo test --workspace)")
}

/// A free TCP port on 127.0.0.1 (bound and released; the OS does not hand it out again soon).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `shimin-server` process (to be killed like a crashed instance), on 127.0.0.1.
#[derive(Debug)]
pub struct ServerProcess {
    child: std::process::Child,
    pub addr: SocketAddr,
}

impl ServerProcess {
    /// Starts an instance on `database` with its own `data_dir` and the given blob directory;
    /// `demo` seeds the demo county. Returns once it answers its health check.
    pub async fn start(data_dir: &Path, database: &str, blob_dir: &Path, demo: bool) -> ServerProcess {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let mut cmd = std::process::Command::new(server_binary());
        cmd.arg("--data-dir")
            .arg(data_dir)
            .arg("--database")
            .arg(database)
            .arg("--blob-dir")
            .arg(blob_dir)
            .arg("--listen")
            .arg(addr.to_string())
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit());
        if demo {
            cmd.arg("--demo");
        }
        let child = cmd.spawn().expect("shimin-server starts");
        let server = ServerProcess { child, addr };
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let url = format!("{}{}", server.url(), paths::HEALTH);
        eventually(
            Duration::from_secs(60),
            "the instance answers its health check",
            || {
                let (http, url) = (http.clone(), url.clone());
                async move { http.get(&url).send().await.is_ok_and(|r| r.status().is_success()) }
            },
        )
        .await;
        server
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL, as a crash or a pulled plug would end it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The pattern the stand-in virus scanner flags (real signatures cannot be downloaded here).
pub const TEST_VIRUS: &[u8] = b"SHIMIN-TEST-VIRUS";

/// A stand-in clamd on a Unix socket, speaking clamd's `INSTREAM` protocol: flags any file
/// holding [`TEST_VIRUS`] as `Shimin.Test.Signature`. `stop` takes it down (the socket is
/// gone: a scanner that is down), `start` brings it back.
#[derive(Debug)]
pub struct FakeClamd {
    pub socket: PathBuf,
    task: Option<tokio::task::JoinHandle<()>>,
    pub scans: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl FakeClamd {
    pub fn start(socket: PathBuf) -> FakeClamd {
        let mut c = FakeClamd {
            socket,
            task: None,
            scans: Default::default(),
        };
        c.up();
        c
    }

    /// Serves again (after [`FakeClamd::stop`]).
    pub fn up(&mut self) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let _ = std::fs::remove_file(&self.socket);
        let listener = tokio::net::UnixListener::bind(&self.socket).expect("clamd socket");
        let scans = self.scans.clone();
        self.task = Some(tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let scans = scans.clone();
                tokio::spawn(async move {
                    let mut command = [0u8; 10];
                    if conn.read_exact(&mut command).await.is_err() || &command != b"zINSTREAM\0" {
                        let _ = conn.write_all(b"UNKNOWN COMMAND\0").await;
                        return;
                    }
                    let mut data = Vec::new();
                    loop {
                        let mut len = [0u8; 4];
                        if conn.read_exact(&mut len).await.is_err() {
                            return;
                        }
                        let len = u32::from_be_bytes(len) as usize;
                        if len == 0 {
                            break;
                        }
                        let mut chunk = vec![0u8; len];
                        if conn.read_exact(&mut chunk).await.is_err() {
                            return;
                        }
                        data.extend_from_slice(&chunk);
                    }
                    scans.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let infected = data.windows(TEST_VIRUS.len()).any(|w| w == TEST_VIRUS);
                    let reply: &[u8] = if infected {
                        b"stream: Shimin.Test.Signature FOUND\0"
                    } else {
                        b"stream: OK\0"
                    };
                    let _ = conn.write_all(reply).await;
                });
            }
        }));
    }

    /// The scanner goes down: its socket is gone.
    pub fn stop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
        let _ = std::fs::remove_file(&self.socket);
    }
}

impl Drop for FakeClamd {
    fn drop(&mut self) {
        self.stop();
    }
}
