//! HTTP to the server's endpoints: one `reqwest::Client` per endpoint (its own proxy policy
//! and connect timeout), the protocol header on every request, bearer auth, error mapping.
//!
//! Transport security (R-NET): HTTPS endpoints are verified against the system's roots and the
//! county CA of the configuration (rustls); a refused certificate is its own error, never
//! answered by trying the same host over plain HTTP. An `http://` endpoint is used only when
//! marked intranet-plain ([`Endpoint::plain_http_allowed`]); otherwise every request to it
//! fails before a byte is sent.

use crate::config::{ClientConfig, Endpoint};
use crate::error::CertProblem;
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
    security: Security,
}

/// How an endpoint's traffic travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// HTTPS, certificate verified.
    Https,
    /// Plain HTTP on an address the administrator marked intranet-plain.
    PlainIntranet,
    /// Plain HTTP without the mark: never used.
    PlainRefused,
}

impl Security {
    fn of(e: &Endpoint) -> Security {
        match (e.is_plain(), e.plain_http_allowed) {
            (false, _) => Security::Https,
            (true, true) => Security::PlainIntranet,
            (true, false) => Security::PlainRefused,
        }
    }
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
        let county_roots = match &cfg.county_ca_pem {
            Some(pem) => reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| Error::CaBundle(e.to_string()))
                .and_then(|certs| {
                    if certs.is_empty() {
                        Err(Error::CaBundle("文件中没有 PEM 证书".into()))
                    } else {
                        Ok(certs)
                    }
                })?,
            None => Vec::new(),
        };
        let mut endpoints = Vec::new();
        for e in &cfg.endpoints {
            let mut b = reqwest::Client::builder()
                .use_rustls_tls()
                .https_only(!e.plain_http_allowed)
                .connect_timeout(cfg.connect_timeout)
                .default_headers(headers.clone())
                .tcp_nodelay(true)
                .user_agent(concat!("shimin-desk/", env!("CARGO_PKG_VERSION")));
            for root in &county_roots {
                b = b.add_root_certificate(root.clone());
            }
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
                security: Security::of(e),
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

    /// How endpoint `i`'s traffic travels.
    pub fn security(&self, i: usize) -> Option<Security> {
        self.endpoints.get(i).map(|e| e.security)
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

    /// Endpoint `i`, if it may be used: every request goes through here, so an unmarked
    /// `http://` endpoint never gets a byte.
    fn ep(&self, i: usize) -> Result<&EndpointClient> {
        let ep = self.endpoints.get(i).ok_or_else(|| Error::AllEndpointsDown {
            tried: vec![],
            last_error: "无服务器地址".into(),
        })?;
        if ep.security == Security::PlainRefused {
            return Err(Error::PlainHttpRefused {
                endpoint: ep.endpoint.name.clone(),
                url: ep.base.clone(),
            });
        }
        Ok(ep)
    }

    fn offline(&self, i: usize, e: &reqwest::Error) -> Error {
        if let Some(problem) = CertProblem::find(e) {
            return Error::Certificate {
                endpoint: self.name(i),
                problem,
            };
        }
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

    /// `GET path` without a session, the body raw; `None` for 404.
    pub async fn get_raw(&self, i: usize, path: &str) -> Result<Option<Vec<u8>>> {
        let resp = self.send(i, None, |c, url| c.get(url), path).await?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            return Err(self.api_error(i, resp).await);
        }
        Ok(Some(
            resp.bytes().await.map_err(|e| self.offline(i, &e))?.to_vec(),
        ))
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
