//! Configuration: endpoints, the cache key, timings.

use std::path::PathBuf;
use std::time::Duration;

/// Production endpoints (DOMAIN.md §6): `(name, base_url, use_system_proxy)`, preferred first.
/// No test, benchmark or demo ever uses them.
pub const DEFAULT_ENDPOINTS: [(&str, &str, bool); 2] = [
    ("内网", "http://172.31.200.60:201", false),
    ("外网", "http://221.193.254.108:201", true),
];

/// One address of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Shown to the clerk: "内网" / "外网".
    pub name: String,
    /// e.g. `http://172.31.200.60:201` (no trailing path).
    pub base_url: String,
    /// `false` for the intranet: a system proxy would route intranet traffic outside.
    pub use_system_proxy: bool,
    /// The administrator marked this `http://` address as intranet-plain in the machine-wide
    /// settings (R-NET). Without the mark an `http://` address is never used: nothing, least
    /// of all a password or a token, is sent to it.
    pub plain_http_allowed: bool,
}

impl Endpoint {
    /// An endpoint; an `http://` one stays unused until [`Endpoint::allowing_plain_http`].
    pub fn new(name: impl Into<String>, base_url: impl Into<String>, use_system_proxy: bool) -> Endpoint {
        Endpoint {
            name: name.into(),
            base_url: base_url.into(),
            use_system_proxy,
            plain_http_allowed: false,
        }
    }

    /// Marks the endpoint as one that may be used over plain HTTP (an administrator's
    /// intranet-plain mark; the tests' and the demo's loopback servers).
    pub fn allowing_plain_http(mut self) -> Endpoint {
        self.plain_http_allowed = true;
        self
    }

    /// Whether the address is `http://` (not encrypted).
    pub fn is_plain(&self) -> bool {
        self.base_url
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("http://")
    }

    /// The production endpoints, intranet first.
    pub fn defaults() -> Vec<Endpoint> {
        DEFAULT_ENDPOINTS
            .iter()
            .map(|(n, u, p)| Endpoint::new(*n, *u, *p))
            .collect()
    }
}

/// The secret that unlocks the cache (SQLCipher). `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct CacheKey(KeyMaterial);

#[derive(Clone, PartialEq, Eq)]
enum KeyMaterial {
    /// Raw 256-bit key, handed to SQLCipher as `x'…'` (no key derivation).
    Raw([u8; 32]),
    /// A passphrase, run through SQLCipher's PBKDF2.
    Passphrase(String),
}

impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheKey(<redacted>)")
    }
}

impl CacheKey {
    /// A fresh random key (to be kept in the OS keyring).
    pub fn random() -> CacheKey {
        use rand::RngCore;
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        CacheKey(KeyMaterial::Raw(bytes))
    }

    pub fn from_bytes(bytes: [u8; 32]) -> CacheKey {
        CacheKey(KeyMaterial::Raw(bytes))
    }

    /// From 64 hex digits (as produced by [`CacheKey::to_hex`]).
    pub fn from_hex(hex: &str) -> Option<CacheKey> {
        let hex = hex.trim();
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(CacheKey(KeyMaterial::Raw(bytes)))
    }

    pub fn from_passphrase(passphrase: impl Into<String>) -> CacheKey {
        CacheKey(KeyMaterial::Passphrase(passphrase.into()))
    }

    /// Hex form of a raw key; `None` for a passphrase key.
    pub fn to_hex(&self) -> Option<String> {
        match &self.0 {
            KeyMaterial::Raw(bytes) => Some(hex(bytes)),
            KeyMaterial::Passphrase(_) => None,
        }
    }

    /// The value of `PRAGMA key = …`.
    pub(crate) fn pragma_value(&self) -> String {
        match &self.0 {
            KeyMaterial::Raw(bytes) => format!("\"x'{}'\"", hex(bytes)),
            KeyMaterial::Passphrase(p) => format!("'{}'", p.replace('\'', "''")),
        }
    }
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Everything a [`crate::Desk`] needs.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub cache_path: PathBuf,
    pub cache_key: CacheKey,
    /// Ordered: preferred first.
    pub endpoints: Vec<Endpoint>,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// Polling period while the live stream (SSE) is down.
    pub poll_interval: Duration,
    /// How often a better (earlier) endpoint is re-probed while a later one is in use.
    pub preferred_retry: Duration,
    /// Upper bound of the retry backoff.
    pub backoff_max: Duration,
    /// Free text identifying the device in the audit trail.
    pub device: String,
    /// The county's CA certificates (PEM bundle), trusted beside the system's roots for
    /// HTTPS endpoints (installed by IT with the machine-wide settings).
    pub county_ca_pem: Option<Vec<u8>>,
}

impl ClientConfig {
    pub fn new(
        cache_path: impl Into<PathBuf>,
        cache_key: CacheKey,
        endpoints: Vec<Endpoint>,
    ) -> ClientConfig {
        ClientConfig {
            cache_path: cache_path.into(),
            cache_key,
            endpoints,
            connect_timeout: Duration::from_millis(1500),
            request_timeout: Duration::from_secs(10),
            poll_interval: Duration::from_secs(15),
            preferred_retry: Duration::from_secs(30),
            backoff_max: Duration::from_secs(60),
            device: default_device(),
            county_ca_pem: None,
        }
    }
}

fn default_device() -> String {
    std::env::var("HOSTNAME")
        .or_else(|_| std::env::var("COMPUTERNAME"))
        .unwrap_or_else(|_| "desk".to_owned())
}
