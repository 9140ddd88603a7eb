//! HTTP to the server's endpoints: one `reqwest::Client` per endpoint (its own proxy policy
//! and connect timeout), the protocol header on every request, bearer auth, error mapping.

use crate::config::{ClientConfig, Endpoint};
use crate::{Error, Result};
use chrono::{DateTime, Utc};
use reqwest::header::{HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use serde::Serialize;
use shimin_protocol::{paths, ApiError, Health, PROTOCOL_HEADER, PROTOCOL_VERSION};
use std::time::Duration;

#[derive(Debug)]
pub(crate) struct EndpointClient {
    pub endpoint: Endpoint,
    base: String,
    client: reqwest::Client,
}

#[derive(Debug)]
pub(crate) struct Transport {
    pub endpoints: Vec<EndpointClient>,
    request_timeout: Duration,
    probe_timeout: Duration,
}

/// Health answer plus the measured server clock offset.
#[derive(Debug, Clone)]
pub(crate) struct Probe {
    #[allow(dead_code)]
    pub health: Health,
    pub offset_ms: i64,
}

impl Transport {
    pub fn new(cfg: &ClientConfig) -> Result<Transport> {
        let mut headers = HeaderMap::new();
        headers.insert(PROTOCOL_HEADER, HeaderValue::from(PROTOCOL_VERSION));
        let mut endpoints = Vec::new();
        for e in &cfg.endpoints {
            let mut b = reqwest::Client::builder()
                .connect_timeout(cfg.connect_timeout)
                .default_headers(headers.clone())
                .tcp_nodelay(true)
                .user_agent(concat!("shimin-desk/", env!("CARGO_PKG_VERSION")));
            if !e.use_system_proxy {
                b = b.no_proxy();
            }
            let client = b
                .build()
                .map_err(|err| Error::Protocol(format!("http client: {err}")))?;
            endpoints.push(EndpointClient {
                endpoint: e.clone(),
                base: e.base_url.trim_end_matches('/').to_owned(),
                client,
            });
        }
        Ok(Transport {
            endpoints,
            request_timeout: cfg.request_timeout,
            probe_timeout: (cfg.connect_timeout * 2)
                .min(cfg.request_timeout)
                .max(Duration::from_millis(500)),
        })
    }

    pub fn len(&self) -> usize {
        self.endpoints.len()
    }

    pub fn name(&self, i: usize) -> String {
        self.endpoints
            .get(i)
            .map(|e| e.endpoint.name.clone())
            .unwrap_or_default()
    }

    pub fn url(&self, i: usize) -> String {
        self.endpoints
            .get(i)
            .map(|e| e.endpoint.base_url.clone())
            .unwrap_or_default()
    }

    fn ep(&self, i: usize) -> Result<&EndpointClient> {
        self.endpoints.get(i).ok_or_else(|| Error::AllEndpointsDown {
            tried: vec![],
            last_error: "无服务器地址".into(),
        })
    }

    fn offline(&self, i: usize, e: &reqwest::Error) -> Error {
        // reqwest's message names the URL, never a body: safe to keep.
        Error::Offline {
            endpoint: self.name(i),
            message: e.to_string(),
        }
    }

    /// `GET /health`, measuring the server clock offset at the request's midpoint.
    pub async fn probe(&self, i: usize) -> Result<Probe> {
        let ep = self.ep(i)?;
        let t0 = Utc::now();
        let resp = ep
            .client
            .get(format!("{}{}", ep.base, paths::HEALTH))
            .timeout(self.probe_timeout)
            .send()
            .await
            .map_err(|e| self.offline(i, &e))?;
        let health: Health = self.decode(i, resp).await?;
        let t1 = Utc::now();
        Ok(Probe {
            offset_ms: offset_ms(t0, t1, health.server_time),
            health,
        })
    }

    pub async fn get<T: DeserializeOwned>(
        &self,
        i: usize,
        path: &str,
        query: &[(&str, String)],
        token: Option<&str>,
    ) -> Result<T> {
        let resp = self
            .send(i, token, |c, url| c.get(url).query(query), path)
            .await?;
        self.decode(i, resp).await
    }

    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        i: usize,
        path: &str,
        body: &B,
        token: Option<&str>,
    ) -> Result<T> {
        let resp = self.send(i, token, |c, url| c.post(url).json(body), path).await?;
        self.decode(i, resp).await
    }

    /// A POST whose answer body is returned raw (may be empty).
    pub async fn post_raw<B: Serialize + ?Sized>(
        &self,
        i: usize,
        path: &str,
        body: &B,
        token: Option<&str>,
    ) -> Result<Vec<u8>> {
        self.write_raw(i, reqwest::Method::POST, path, body, token).await
    }

    /// A request with a JSON body (`POST`, `PUT`) whose answer body is returned raw.
    pub async fn write_raw<B: Serialize + ?Sized>(
        &self,
        i: usize,
        method: reqwest::Method,
        path: &str,
        body: &B,
        token: Option<&str>,
    ) -> Result<Vec<u8>> {
        let resp = self
            .send(i, token, |c, url| c.request(method, url).json(body), path)
            .await?;
        if !resp.status().is_success() {
            return Err(self.api_error(i, resp).await);
        }
        Ok(resp.bytes().await.map_err(|e| self.offline(i, &e))?.to_vec())
    }

    /// `PUT` one chunk of a blob upload (raw bytes, with their SHA-256 in a header).
    pub async fn put_chunk<T: DeserializeOwned>(
        &self,
        i: usize,
        path: &str,
        offset: u64,
        chunk: Vec<u8>,
        chunk_sha256: &str,
        token: &str,
    ) -> Result<T> {
        let resp = self
            .send(
                i,
                Some(token),
                |c, url| {
                    c.put(url)
                        .query(&[("offset", offset)])
                        .header(shimin_protocol::CHUNK_SHA256_HEADER, chunk_sha256)
                        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                        .body(chunk)
                },
                path,
            )
            .await?;
        self.decode(i, resp).await
    }

    /// `GET` raw bytes and their content type.
    pub async fn get_bytes(&self, i: usize, path: &str, token: &str) -> Result<(String, Vec<u8>)> {
        let resp = self.send(i, Some(token), |c, url| c.get(url), path).await?;
        if !resp.status().is_success() {
            return Err(self.api_error(i, resp).await);
        }
        let mime = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/octet-stream")
            .to_owned();
        let bytes = resp.bytes().await.map_err(|e| self.offline(i, &e))?;
        Ok((mime, bytes.to_vec()))
    }

    /// Builds a request to endpoint `i` with `build`, adds the request timeout and the bearer
    /// token, sends it; a transport failure becomes [`Error::Offline`]-class for this endpoint.
    async fn send(
        &self,
        i: usize,
        token: Option<&str>,
        build: impl FnOnce(&reqwest::Client, String) -> reqwest::RequestBuilder,
        path: &str,
    ) -> Result<reqwest::Response> {
        let ep = self.ep(i)?;
        let mut req = build(&ep.client, format!("{}{}", ep.base, path)).timeout(self.request_timeout);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.map_err(|e| self.offline(i, &e))
    }

    /// Opens the SSE stream (no overall timeout: it lives as long as the connection).
    pub async fn events(&self, i: usize, token: &str) -> Result<reqwest::Response> {
        let ep = self.ep(i)?;
        let resp = ep
            .client
            .get(format!("{}{}", ep.base, paths::EVENTS))
            .header(reqwest::header::ACCEPT, "text/event-stream")
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| self.offline(i, &e))?;
        if resp.status().is_success() {
            Ok(resp)
        } else {
            Err(self.api_error(i, resp).await)
        }
    }

    async fn decode<T: DeserializeOwned>(&self, i: usize, resp: reqwest::Response) -> Result<T> {
        if !resp.status().is_success() {
            return Err(self.api_error(i, resp).await);
        }
        let bytes = resp.bytes().await.map_err(|e| self.offline(i, &e))?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Protocol(e.to_string()))
    }

    async fn api_error(&self, i: usize, resp: reqwest::Response) -> Error {
        let status = resp.status().as_u16();
        match resp.bytes().await {
            Ok(bytes) => {
                let error = serde_json::from_slice::<ApiError>(&bytes).unwrap_or_else(|_| ApiError {
                    code: format!("http_{status}"),
                    message: format!("服务器返回 HTTP {status}"),
                    details: None,
                    retry_after_secs: None,
                });
                Error::Api { status, error }
            }
            Err(e) => self.offline(i, &e),
        }
    }
}

/// Server clock minus local clock, taking the request's midpoint as the instant the server
/// read its clock.
pub(crate) fn offset_ms(t0: DateTime<Utc>, t1: DateTime<Utc>, server: DateTime<Utc>) -> i64 {
    let mid = t0 + (t1 - t0) / 2;
    (server - mid).num_milliseconds()
}
