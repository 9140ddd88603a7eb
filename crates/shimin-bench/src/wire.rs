//! Raw protocol calls (login, pull, push, intake, live stream) for the parts that need many
//! light clients rather than full desks. Loopback only: [`Api::new`] refuses anything else.

use anyhow::{bail, Context, Result};
use reqwest::header::{HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use shimin_protocol::{
    paths, Created, LoginRequest, LoginResponse, NewReservation, PullResponse, PushRequest, PushResponse,
    PROTOCOL_HEADER, PROTOCOL_VERSION,
};
use std::time::Duration;
use uuid::Uuid;

/// Refuses any base URL that is not on the loopback interface (issue 6 and DOMAIN.md §6: no
/// benchmark ever contacts another address).
pub fn check_loopback(base: &str) -> Result<()> {
    let rest = base.strip_prefix("http://").unwrap_or("");
    let host = rest.split([':', '/']).next().unwrap_or("");
    if host != "127.0.0.1" && host != "localhost" && host != "[::1]" {
        bail!("refusing non-loopback address {base:?}: benchmarks run on loopback only");
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

impl Api {
    pub fn new(base: &str) -> Result<Api> {
        check_loopback(base)?;
        let mut headers = HeaderMap::new();
        headers.insert(PROTOCOL_HEADER, HeaderValue::from(PROTOCOL_VERSION));
        let http = reqwest::Client::builder()
            .no_proxy()
            .tcp_nodelay(true)
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()?;
        Ok(Api {
            http,
            base: base.trim_end_matches('/').to_owned(),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn read<T: DeserializeOwned>(resp: reqwest::Response, what: &str) -> Result<T> {
        let status = resp.status();
        if !status.is_success() {
            let body = resp.text().await.unwrap_or_default();
            bail!(
                "{what}: HTTP {status}: {}",
                body.chars().take(300).collect::<String>()
            );
        }
        resp.json()
            .await
            .with_context(|| format!("{what}: decoding the answer"))
    }

    /// Logs in as a new installation (`client_id`, the id its pushes then use).
    pub async fn login(&self, username: &str, password: &str, client_id: Uuid) -> Result<LoginResponse> {
        let req = LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
            client_id,
            device: "shimin-bench".into(),
        };
        let resp = self
            .http
            .post(self.url(paths::LOGIN))
            .json(&req)
            .send()
            .await
            .context("login")?;
        Self::read(resp, "login").await
    }

    pub async fn pull(&self, token: &str, cursor: i64, limit: u32) -> Result<PullResponse> {
        let resp = self
            .http
            .get(self.url(paths::PULL))
            .query(&[("cursor", cursor.to_string()), ("limit", limit.to_string())])
            .bearer_auth(token)
            .send()
            .await
            .context("pull")?;
        Self::read(resp, "pull").await
    }

    pub async fn push(&self, token: &str, req: &PushRequest) -> Result<PushResponse> {
        let resp = self
            .http
            .post(self.url(paths::PUSH))
            .bearer_auth(token)
            .json(req)
            .send()
            .await
            .context("push")?;
        Self::read(resp, "push").await
    }

    pub async fn reserve(&self, token: &str, req: &NewReservation) -> Result<Created> {
        let resp = self
            .http
            .post(self.url(paths::INTAKE_RESERVATION))
            .bearer_auth(token)
            .json(req)
            .send()
            .await
            .context("intake")?;
        Self::read(resp, "intake").await
    }

    /// Opens the live stream (SSE); the caller reads the body.
    pub async fn events(&self, token: &str) -> Result<reqwest::Response> {
        let resp = self
            .http
            .get(self.url(paths::EVENTS))
            .bearer_auth(token)
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .send()
            .await
            .context("live stream")?;
        if !resp.status().is_success() {
            bail!("live stream: HTTP {}", resp.status());
        }
        Ok(resp)
    }
}

/// A reservation as the portal books it, for `matter`, `n` making the citizen distinct.
pub fn reservation(matter_id: i64, n: u64) -> NewReservation {
    let start = (chrono::Utc::now() + chrono::Duration::days(2)).naive_utc();
    let start = start
        .date()
        .and_hms_opt(9 + (n % 7) as u32, 0, 0)
        .unwrap_or(start);
    NewReservation {
        matter_id,
        applicant: shimin_protocol::Applicant {
            name: format!("压测市民{n}"),
            id_number: shimin_domain::identity::resident_id(&format!("13043519800101{:03}", n % 1000)),
            phone: format!("139{:08}", n % 100_000_000),
        },
        requested_slot: shimin_protocol::Slot {
            start,
            end: start + chrono::Duration::minutes(30),
        },
        content: "网上预约（基准测试）".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::check_loopback;

    #[test]
    fn loopback_only() {
        assert!(check_loopback("http://127.0.0.1:8201").is_ok());
        assert!(check_loopback("http://localhost:1/x").is_ok());
        assert!(check_loopback("http://172.31.200.60:201").is_err());
        assert!(check_loopback("http://221.193.254.108:201").is_err());
        assert!(check_loopback("http://127.0.0.1.evil:1").is_err());
    }
}
