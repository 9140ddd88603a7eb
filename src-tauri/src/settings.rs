//! Where the desk keeps its files, and its settings file (no secrets: the token and the
//! cache key live in the OS keyring, see [`crate::secrets`]).

use crate::error::{CmdResult, DeskError};
use serde::{Deserialize, Serialize};
use shimin_client::Endpoint;
use std::path::{Path, PathBuf};

/// Environment override of the data directory (tests, several desks on one machine).
pub const DATA_DIR_ENV: &str = "SHIMIN_DESK_DATA_DIR";
/// The machine-wide settings the county's IT installs (root-owned; a user cannot change them).
pub const MACHINE_SETTINGS_FILE: &str = "/etc/shimin-desk/settings.toml";
/// Environment override of [`MACHINE_SETTINGS_FILE`]'s path (the demo and the tests, which
/// point the desk at their loopback servers with a file of their own).
pub const MACHINE_SETTINGS_ENV: &str = "SHIMIN_DESK_MACHINE_SETTINGS";

/// `/etc/shimin-desk/settings.toml`: what IT decides for every user of the machine.
///
/// ```toml
/// autostart = true                        # default for a user who has not chosen
/// ca_bundle = "/etc/shimin-desk/county-ca.pem"
///
/// [[endpoint]]
/// name = "内网"
/// url = "http://172.31.200.60:201"
/// plain_http = true                       # this intranet address may be used unencrypted
///
/// [[endpoint]]
/// name = "外网"
/// url = "https://221.193.254.108"
/// ```
///
/// Endpoints listed here replace the user's list, which can then not be edited. `plain_http`
/// is the only way an `http://` address is ever used (R-NET).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineSettings {
    #[serde(default, rename = "endpoint")]
    pub endpoints: Vec<MachineEndpoint>,
    /// The county's CA certificates (PEM), trusted beside the system's roots.
    pub ca_bundle: Option<PathBuf>,
    /// Autostart of a user who has not chosen.
    pub autostart: Option<bool>,
    /// The county's desk-update key (base64 Ed25519 public key, from `shimin-server update
    /// keygen`); without it the desk does not look for updates.
    pub update_public_key: Option<String>,
    /// How a verified package is installed (the file's path is added last); default
    /// `pkexec apt-get install -y` (the desktop asks for an administrator's password).
    pub update_install_command: Option<Vec<String>>,
}

/// One endpoint of the machine-wide settings.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineEndpoint {
    pub name: String,
    pub url: String,
    /// The administrator accepts this `http://` address unencrypted (an intranet).
    #[serde(default)]
    pub plain_http: bool,
    /// Through the system proxy (default: every endpoint but the first).
    pub proxy: Option<bool>,
}

impl MachineSettings {
    /// The path in force ([`MACHINE_SETTINGS_ENV`] or [`MACHINE_SETTINGS_FILE`]).
    pub fn path() -> PathBuf {
        match std::env::var_os(MACHINE_SETTINGS_ENV) {
            Some(p) if !p.is_empty() => PathBuf::from(p),
            _ => PathBuf::from(MACHINE_SETTINGS_FILE),
        }
    }

    /// `Ok(None)` when there is no file; an unreadable or invalid file is an error naming
    /// the problem (the desk then fails closed: no endpoint is marked plain).
    pub fn load(path: &Path) -> Result<Option<MachineSettings>, String> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("无法读取 {}：{e}", path.display())),
        };
        let m: MachineSettings = toml::from_str(&text)
            .map_err(|e| format!("{} 有误：{}", path.display(), e.to_string().trim_end()))?;
        if !m.endpoints.is_empty() {
            validate_endpoints(m.endpoint_settings())
                .map_err(|e| format!("{}：{}", path.display(), e.message))?;
        }
        if let Some(bad) = m
            .endpoints
            .iter()
            .find(|e| e.plain_http && !e.url.trim().starts_with("http://"))
        {
            return Err(format!(
                "{}：plain_http 只用于 http:// 地址（{}）",
                path.display(),
                bad.url
            ));
        }
        Ok(Some(m))
    }

    fn endpoint_settings(&self) -> Vec<EndpointSetting> {
        self.endpoints
            .iter()
            .map(|e| EndpointSetting {
                name: e.name.trim().to_owned(),
                base_url: e.url.trim().trim_end_matches('/').to_owned(),
            })
            .collect()
    }

    /// The county CA bundle's bytes, if one is configured.
    pub fn ca_pem(&self) -> Result<Option<Vec<u8>>, String> {
        match &self.ca_bundle {
            None => Ok(None),
            Some(p) => std::fs::read(p)
                .map(Some)
                .map_err(|e| format!("无法读取县级根证书 {}：{e}", p.display())),
        }
    }
}

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
    /// This counter's window number (窗口号), named in the spoken call.
    #[serde(default)]
    pub window_no: Option<u32>,
    /// The machine-wide settings in force (not saved with the user's).
    #[serde(skip)]
    pub machine: Option<MachineSettings>,
    /// Why the machine-wide settings could not be used (shown in the settings page).
    #[serde(skip)]
    pub machine_error: Option<String>,
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
            window_no: None,
            machine: None,
            machine_error: None,
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
        settings.apply_machine(MachineSettings::load(&MachineSettings::path()), path.exists());
        settings
    }

    /// Puts the machine-wide settings in force: their endpoints replace the user's, their
    /// autostart is the default of a user who never chose (`user_file` false).
    fn apply_machine(&mut self, machine: Result<Option<MachineSettings>, String>, user_file: bool) {
        match machine {
            Ok(Some(m)) => {
                if !m.endpoints.is_empty() {
                    self.endpoints = m.endpoint_settings();
                }
                if let (Some(a), false) = (m.autostart, user_file) {
                    self.autostart = a;
                }
                self.machine = Some(m);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::error!(error = %e, "machine-wide settings unusable; no endpoint may use plain HTTP");
                self.machine_error = Some(e);
            }
        }
    }

    /// Whether the endpoints are the administrator's (not editable here).
    pub fn endpoints_managed(&self) -> bool {
        self.machine.as_ref().is_some_and(|m| !m.endpoints.is_empty())
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
    /// route intranet traffic outside), the others through it if one is set. Only the
    /// machine-wide settings mark an `http://` address as usable.
    pub fn client_endpoints(&self) -> Vec<Endpoint> {
        if let Some(m) = self.machine.as_ref().filter(|_| self.endpoints_managed()) {
            return m
                .endpoints
                .iter()
                .zip(m.endpoint_settings())
                .enumerate()
                .map(|(i, (me, e))| {
                    let endpoint = Endpoint::new(e.name, e.base_url, me.proxy.unwrap_or(i > 0));
                    if me.plain_http {
                        endpoint.allowing_plain_http()
                    } else {
                        endpoint
                    }
                })
                .collect();
        }
        self.endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| Endpoint::new(&e.name, &e.base_url, i > 0))
            .collect()
    }
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
    fn machine_settings_mark_plain_endpoints_and_replace_the_users_list() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.toml");
        std::fs::write(
            &path,
            "autostart = true\n[[endpoint]]\nname = \"内网\"\nurl = \"http://127.0.0.1:1/\"\nplain_http = true\n\
             [[endpoint]]\nname = \"外网\"\nurl = \"https://127.0.0.2:2\"\n",
        )
        .unwrap();
        let mut s = Settings::fresh();
        s.apply_machine(MachineSettings::load(&path), false);
        assert!(s.endpoints_managed() && s.autostart);
        assert_eq!(
            s.endpoints,
            vec![
                ep("内网", "http://127.0.0.1:1"),
                ep("外网", "https://127.0.0.2:2")
            ]
        );
        let eps = s.client_endpoints();
        assert!(eps[0].plain_http_allowed && !eps[0].use_system_proxy);
        assert!(!eps[1].plain_http_allowed && eps[1].use_system_proxy);

        // A user's own list never marks plain HTTP.
        let user = Settings {
            endpoints: vec![ep("内网", "http://127.0.0.1:1")],
            ..Settings::fresh()
        };
        assert!(!user.client_endpoints()[0].plain_http_allowed);

        for (bad, names) in [
            (
                "[[endpoint]]\nname = \"内网\"\nurl = \"http://a\"\nplain = true\n",
                "plain",
            ),
            (
                "[[endpoint]]\nname = \"内网\"\nurl = \"https://a\"\nplain_http = true\n",
                "plain_http",
            ),
            ("[[endpoint]]\nname = \"内网\"\nurl = \"ftp://a\"\n", "ftp://a"),
            ("ca_bundel = \"/x\"\n", "ca_bundel"),
        ] {
            std::fs::write(&path, bad).unwrap();
            let err = MachineSettings::load(&path).unwrap_err();
            assert!(err.contains(names), "{err}");
            let mut s = Settings::fresh();
            s.apply_machine(MachineSettings::load(&path), false);
            assert!(s.machine_error.is_some() && s.client_endpoints().iter().all(|e| !e.plain_http_allowed));
        }
        assert_eq!(MachineSettings::load(&dir.path().join("none.toml")), Ok(None));
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
