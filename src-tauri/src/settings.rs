//! Where the desk keeps its files, and its settings file (no secrets: the token and the
//! cache key live in the OS keyring, see [`crate::secrets`]).

use crate::error::{CmdResult, DeskError};
use serde::{Deserialize, Serialize};
use shimin_client::Endpoint;
use std::path::{Path, PathBuf};

/// Environment override of the data directory (tests, several desks on one machine).
pub const DATA_DIR_ENV: &str = "SHIMIN_DESK_DATA_DIR";
/// Environment override of the server endpoints: `名称=URL,名称=URL` (the demo and the tests
/// point the desk at loopback with it). Replaces the saved list at start.
pub const ENDPOINTS_ENV: &str = "SHIMIN_DESK_ENDPOINTS";

/// The desk's directories.
#[derive(Debug, Clone)]
pub struct Paths {
    pub data_dir: PathBuf,
}

impl Paths {
    pub fn resolve() -> anyhow::Result<Paths> {
        let data_dir = match std::env::var_os(DATA_DIR_ENV) {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => directories::ProjectDirs::from("cn.gov", "shimin", "shimin-desk")
                .ok_or_else(|| anyhow::anyhow!("no home directory"))?
                .data_dir()
                .to_path_buf(),
        };
        std::fs::create_dir_all(&data_dir)?;
        std::fs::create_dir_all(data_dir.join("logs"))?;
        Ok(Paths { data_dir })
    }

    pub fn settings_file(&self) -> PathBuf {
        self.data_dir.join("settings.json")
    }

    /// The encrypted work-queue cache (SQLCipher).
    pub fn cache_file(&self) -> PathBuf {
        self.data_dir.join("cache.sqlite")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }

    pub fn counter_file(&self) -> PathBuf {
        self.data_dir.join("counter.json")
    }
}

/// One server address as the settings file and the UI hold it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointSetting {
    pub name: String,
    pub base_url: String,
}

/// The settings file. Everything in it may be read by anyone with access to the machine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Names this installation in keyring entries (not a secret).
    pub installation_id: String,
    pub endpoints: Vec<EndpointSetting>,
    /// Username of the last "remember me" login (to prefill the form).
    #[serde(default)]
    pub remembered_username: Option<String>,
    #[serde(default)]
    pub autostart: bool,
}

impl Settings {
    fn fresh() -> Settings {
        Settings {
            installation_id: uuid::Uuid::new_v4().simple().to_string(),
            endpoints: Endpoint::defaults()
                .into_iter()
                .map(|e| EndpointSetting {
                    name: e.name,
                    base_url: e.base_url,
                })
                .collect(),
            remembered_username: None,
            autostart: false,
        }
    }

    /// Reads the settings file; a missing one gives defaults; an unreadable one is kept aside
    /// (`settings.json.bad`) and replaced by defaults, so a corrupt file never stops the desk.
    pub fn load(path: &Path) -> Settings {
        let mut settings = match std::fs::read(path) {
            Ok(bytes) => match serde_json::from_slice::<Settings>(&bytes) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "settings file unreadable; kept aside, defaults used");
                    let _ = std::fs::rename(path, path.with_extension("json.bad"));
                    Settings::fresh()
                }
            },
            Err(_) => Settings::fresh(),
        };
        if let Some(list) = std::env::var(ENDPOINTS_ENV).ok().filter(|v| !v.trim().is_empty()) {
            match parse_endpoint_list(&list) {
                Ok(endpoints) => settings.endpoints = endpoints,
                Err(e) => tracing::warn!(error = %e.message, "{ENDPOINTS_ENV} ignored"),
            }
        }
        settings
    }

    /// Writes atomically (temporary file + rename).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let tmp = path.with_extension("json.tmp");
        std::fs::write(
            &tmp,
            serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(tmp, path)
    }

    /// The endpoints for the desk core: the intranet never through a system proxy (it would
    /// route intranet traffic outside), the others through it if one is set.
    pub fn client_endpoints(&self) -> Vec<Endpoint> {
        self.endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| Endpoint::new(&e.name, &e.base_url, i > 0))
            .collect()
    }
}

/// `内网=http://…,外网=http://…` → endpoints.
pub fn parse_endpoint_list(list: &str) -> CmdResult<Vec<EndpointSetting>> {
    let endpoints = list
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .enumerate()
        .map(|(i, part)| {
            let (name, url) = match part.split_once('=') {
                Some((n, u)) => (n.trim().to_owned(), u.trim().to_owned()),
                None => (format!("地址{}", i + 1), part.trim().to_owned()),
            };
            Ok(EndpointSetting { name, base_url: url })
        })
        .collect::<CmdResult<Vec<_>>>()?;
    validate_endpoints(endpoints)
}

/// Checks an endpoint list from the UI: 1–4 entries, each a named `http(s)://host[:port]`
/// address without path, query or credentials. Trailing slashes are dropped.
pub fn validate_endpoints(endpoints: Vec<EndpointSetting>) -> CmdResult<Vec<EndpointSetting>> {
    if endpoints.is_empty() || endpoints.len() > 4 {
        return Err(DeskError::new("invalid_endpoint", "请填写1至4个服务器地址"));
    }
    endpoints
        .into_iter()
        .map(|e| {
            let name = e.name.trim().to_owned();
            let url = e.base_url.trim().trim_end_matches('/').to_owned();
            if name.is_empty() || name.chars().count() > 20 {
                return Err(DeskError::new("invalid_endpoint", "地址名称须为1至20个字"));
            }
            let bad = || {
                DeskError::new(
                    "invalid_endpoint",
                    format!("服务器地址格式不正确：{url}（应如 http://172.31.200.60:201）"),
                )
            };
            let rest = url
                .strip_prefix("http://")
                .or_else(|| url.strip_prefix("https://"))
                .ok_or_else(bad)?;
            let host_ok = !rest.is_empty()
                && rest
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
            if !host_ok {
                return Err(bad());
            }
            Ok(EndpointSetting { name, base_url: url })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(name: &str, url: &str) -> EndpointSetting {
        EndpointSetting {
            name: name.into(),
            base_url: url.into(),
        }
    }

    #[test]
    fn endpoint_lists_are_checked() {
        let ok = validate_endpoints(vec![ep(" 内网 ", "http://127.0.0.1:8201/")]).unwrap();
        assert_eq!(ok, vec![ep("内网", "http://127.0.0.1:8201")]);
        for bad in [
            "ftp://x",
            "http://",
            "http://a/b",
            "http://u:p@h",
            "127.0.0.1:80",
            "http://a b",
        ] {
            let err = validate_endpoints(vec![ep("内网", bad)]).unwrap_err();
            assert_eq!(err.code, "invalid_endpoint", "{bad}");
        }
        assert!(validate_endpoints(vec![]).is_err());
        assert!(validate_endpoints(vec![ep("", "http://a")]).is_err());
    }

    #[test]
    fn endpoint_list_from_the_environment_form() {
        let list = parse_endpoint_list("内网=http://127.0.0.1:1,外网=http://127.0.0.2:2").unwrap();
        assert_eq!(
            list,
            vec![ep("内网", "http://127.0.0.1:1"), ep("外网", "http://127.0.0.2:2")]
        );
        let s = Settings {
            endpoints: list,
            ..Settings::fresh()
        };
        let eps = s.client_endpoints();
        assert!(!eps[0].use_system_proxy && eps[1].use_system_proxy);
    }

    #[test]
    fn a_corrupt_settings_file_is_kept_aside_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        std::fs::write(&path, b"{not json").unwrap();
        let s = Settings::load(&path);
        assert_eq!(s.endpoints.len(), 2);
        assert!(path.with_extension("json.bad").exists());
        s.save(&path).unwrap();
        assert_eq!(Settings::load(&path), s);
    }
}
