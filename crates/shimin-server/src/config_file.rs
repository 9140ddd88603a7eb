//! The server's configuration file (`/etc/shimin/server.toml` in the package, issue 15).
//!
//! Every key is optional (the defaults of [`Config`]); an unknown key, a bad address or a
//! value of the wrong type stops the server with the file, the line and the key named, so a
//! typo never silently falls back to a default. Command-line options override the file.
//!
//! ```toml
//! data_dir = "/var/lib/shimin"
//! # database = "postgres://shimin@db.example/shimin"
//! listen = ["127.0.0.1:8201"]
//! listen_tls = ["0.0.0.0:8443"]
//! metrics_listen = "127.0.0.1:9201"
//! idle_timeout_secs = 28800
//! follow_up_days = 5                      # working days to follow up a bad rating (差评)
//!
//! [tls]
//! cert = "/etc/shimin/tls/server.crt"
//! key = "/etc/shimin/tls/server.key"
//!
//! [scanner]                               # virus check of uploads (§21.6)
//! clamd_socket = "/run/clamav/clamd.ctl"  # or: command = ["clamdscan", "--no-summary", "-"]
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::tls::TlsFiles;
use crate::Config;

/// The file as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerFile {
    pub data_dir: Option<PathBuf>,
    pub database: Option<String>,
    pub blob_dir: Option<PathBuf>,
    pub listen: Option<Vec<SocketAddr>>,
    pub listen_tls: Option<Vec<SocketAddr>>,
    pub tls: Option<TlsFiles>,
    pub metrics_listen: Option<SocketAddr>,
    pub idle_timeout_secs: Option<u64>,
    pub follow_up_days: Option<u32>,
    pub scanner: Option<crate::scan::ScannerConfig>,
}

impl ServerFile {
    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<ServerFile> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("无法读取配置文件 {}：{e}", path.display())))?;
        ServerFile::parse(&text).map_err(|e| Error::Config(format!("配置文件 {} 有误：{e}", path.display())))
    }

    /// Parses the text of a configuration file (the error names line, column and key).
    pub fn parse(text: &str) -> std::result::Result<ServerFile, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_owned())
    }

    /// `config` with every key of the file put in.
    pub fn apply(self, mut config: Config) -> Config {
        let ServerFile {
            data_dir,
            database,
            blob_dir,
            listen,
            listen_tls,
            tls,
            metrics_listen,
            idle_timeout_secs,
            follow_up_days,
            scanner,
        } = self;
        if let Some(d) = data_dir {
            config.data_dir = d;
        }
        config.database = database.or(config.database);
        config.blob_dir = blob_dir.or(config.blob_dir);
        if let Some(l) = listen {
            config.listen = l;
        }
        if let Some(l) = listen_tls {
            config.listen_tls = l;
        }
        config.tls = tls.or(config.tls);
        config.metrics_listen = metrics_listen.or(config.metrics_listen);
        config.scanner = scanner.or(config.scanner);
        if let Some(s) = idle_timeout_secs {
            config.idle_timeout = Duration::from_secs(s);
        }
        if let Some(d) = follow_up_days {
            config.follow_up_days = d;
        }
        config
    }
}

/// What `shimin-server check-config` found right.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    pub database: String,
    pub plain: Vec<SocketAddr>,
    pub tls: Vec<SocketAddr>,
}

/// Checks a configuration without starting anything: the certificate and key (readable,
/// matching), the database named, every address distinct and at least one. Binding and the
/// database's answer are left to the start, which names their problems the same way.
pub fn check(config: &Config) -> Result<CheckReport> {
    validate(config)?;
    Ok(CheckReport {
        database: config.database()?.describe(),
        plain: config.listen.clone(),
        tls: config.listen_tls.clone(),
    })
}

/// What `check` and `start` both refuse: a certificate that cannot be used, a scanner section
/// that names none or two, no address, an address twice. Returns the HTTPS certificate.
pub(crate) fn validate(config: &Config) -> Result<Option<std::sync::Arc<crate::tls::CertSlot>>> {
    let tls = crate::load_tls(config)?;
    if !(1..=60).contains(&config.follow_up_days) {
        return Err(Error::Config(format!(
            "follow_up_days 须在 1 到 60 个工作日之间（现为 {}）",
            config.follow_up_days
        )));
    }
    if let Some(scanner) = &config.scanner {
        scanner.check()?;
    }
    if config.listen.is_empty() && config.listen_tls.is_empty() {
        return Err(Error::Config("没有任何监听地址（listen 或 listen_tls）".into()));
    }
    let all: Vec<SocketAddr> = config
        .listen
        .iter()
        .chain(&config.listen_tls)
        .chain(config.metrics_listen.iter())
        .copied()
        .collect();
    // Port 0 (the tests' "any free port") is never the same address twice.
    if let Some(dup) = all
        .iter()
        .enumerate()
        .find_map(|(i, a)| (a.port() != 0 && all[..i].contains(a)).then_some(a))
    {
        return Err(Error::Config(format!("监听地址 {dup} 出现了不止一次")));
    }
    Ok(tls)
}
