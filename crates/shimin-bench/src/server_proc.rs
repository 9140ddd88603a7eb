//! The server of parts 4–5: preferably the real `shimin-server` binary as a child process
//! (so its RSS is the server's alone), found beside this binary; otherwise in-process (then
//! "server RSS" includes the load generator, and the report says so).

use anyhow::{bail, Context, Result};
use shimin_server::{Config, DemoOptions, HashParams, RunningServer};
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

#[derive(Debug)]
enum Kind {
    Child {
        child: Box<Child>,
        pid: u32,
        bin: PathBuf,
        log: Arc<Mutex<VecDeque<String>>>,
    },
    InProcess(Box<RunningServer>),
}

/// Where a benchmark server keeps its data.
#[derive(Debug, Clone, Default)]
pub struct Instance {
    /// `postgres://…`; `None`: SQLite in the server's own data directory.
    pub database: Option<String>,
    /// A blob directory shared by instances.
    pub blob_dir: Option<PathBuf>,
    /// Do not seed the demo county (a second instance on a seeded database).
    pub no_demo: bool,
}

#[derive(Debug)]
pub struct LoadServer {
    kind: Kind,
    url: String,
    _data: TempDir,
}

/// `shimin-server` next to the running executable (target/<profile>/), if built.
pub fn sibling_server_bin() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let dir = exe.parent()?;
    // Integration tests run from target/<profile>/deps.
    [dir.join("shimin-server"), dir.parent()?.join("shimin-server")]
        .into_iter()
        .find(|p| p.is_file())
}

fn find_port(line: &str) -> Option<u16> {
    let at = line.find("127.0.0.1:")? + "127.0.0.1:".len();
    let digits: String = line[at..].chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

impl LoadServer {
    /// Starts a demo-county server on 127.0.0.1 (port chosen by the OS).
    pub async fn start(bin: Option<&Path>) -> Result<LoadServer> {
        Self::start_on(bin, &Instance::default()).await
    }

    /// Starts a server of `instance` (a database, a shared blob directory, the demo or not).
    pub async fn start_on(bin: Option<&Path>, instance: &Instance) -> Result<LoadServer> {
        let data = tempfile::tempdir()?;
        match bin {
            Some(bin) => Self::start_child(bin, data, instance).await,
            None => {
                let config = Config {
                    data_dir: data.path().to_path_buf(),
                    database: instance.database.clone(),
                    blob_dir: instance.blob_dir.clone(),
                    listen: vec!["127.0.0.1:0".parse()?],
                    demo: (!instance.no_demo).then(DemoOptions::default),
                    hash_params: HashParams::insecure_fast(),
                    ..Config::default()
                };
                let server = shimin_server::start(config).await?;
                let url = server.base_url();
                Ok(LoadServer {
                    kind: Kind::InProcess(Box::new(server)),
                    url,
                    _data: data,
                })
            }
        }
    }

    async fn start_child(bin: &Path, data: TempDir, instance: &Instance) -> Result<LoadServer> {
        let mut cmd = Command::new(bin);
        cmd.arg("--data-dir")
            .arg(data.path())
            .args(["--listen", "127.0.0.1:0"]);
        if !instance.no_demo {
            cmd.arg("--demo");
        }
        if let Some(db) = &instance.database {
            cmd.arg("--database").arg(db);
        }
        if let Some(blobs) = &instance.blob_dir {
            cmd.arg("--blob-dir").arg(blobs);
        }
        let mut child = cmd
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id().context("server child has no pid")?;
        let stderr = child.stderr.take().context("server child stderr")?;
        let log: Arc<Mutex<VecDeque<String>>> = Arc::default();
        let (port_tx, port_rx) = tokio::sync::oneshot::channel::<u16>();
        {
            let log = log.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                let mut port_tx = Some(port_tx);
                // Drain for the child's whole life: a full pipe would block its logging.
                while let Ok(Some(line)) = lines.next_line().await {
                    if line.contains("shimin-server ready") {
                        if let (Some(tx), Some(port)) = (port_tx.take(), find_port(&line)) {
                            let _ = tx.send(port);
                        }
                    }
                    let mut log = log.lock().unwrap_or_else(|p| p.into_inner());
                    if log.len() >= 50 {
                        log.pop_front();
                    }
                    log.push_back(line);
                }
            });
        }
        let port = match tokio::time::timeout(Duration::from_secs(60), port_rx).await {
            Ok(Ok(port)) => port,
            _ => {
                let _ = child.kill().await;
                let tail: Vec<String> = log
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                    .cloned()
                    .collect();
                bail!(
                    "{} did not report its address within 60 s; log tail:\n{}",
                    bin.display(),
                    tail.join("\n")
                );
            }
        };
        Ok(LoadServer {
            kind: Kind::Child {
                child: Box::new(child),
                pid,
                bin: bin.to_path_buf(),
                log,
            },
            url: format!("http://127.0.0.1:{port}"),
            _data: data,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Current resident set of the server process, KiB.
    pub fn rss_kib(&self) -> Option<u64> {
        crate::sys::status_kib(self.pid(), "VmRSS")
    }

    /// A reader of the server's current RSS (KiB) for a sampling task.
    pub fn rss_reader(&self) -> impl Fn() -> Option<u64> + Send + 'static {
        let pid = self.pid();
        move || crate::sys::status_kib(pid, "VmRSS")
    }

    fn pid(&self) -> Option<u32> {
        match &self.kind {
            Kind::Child { pid, .. } => Some(*pid),
            Kind::InProcess(_) => None,
        }
    }

    pub fn is_child(&self) -> bool {
        matches!(self.kind, Kind::Child { .. })
    }

    /// Argon2 cost in force for logins (the child runs the real defaults).
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Child { bin, .. } => format!(
                "child process `{}` (--demo, default argon2 parameters); RSS is the server's alone",
                bin.display()
            ),
            Kind::InProcess(_) => "in-process (shimin-server binary not found beside shimin-bench): \
                 server RSS includes the load generator; argon2 in test parameters"
                .to_owned(),
        }
    }

    pub fn log_tail(&self) -> Vec<String> {
        match &self.kind {
            Kind::Child { log, .. } => log
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .cloned()
                .collect(),
            Kind::InProcess(_) => Vec::new(),
        }
    }

    pub async fn stop(self) {
        match self.kind {
            Kind::Child { mut child, .. } => {
                let _ = child.kill().await;
            }
            Kind::InProcess(server) => server.shutdown().await,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn port_from_ready_line() {
        let line = "2026-11-29T12:00:00Z  INFO shimin_server: shimin-server ready addrs=[127.0.0.1:40123]";
        assert_eq!(super::find_port(line), Some(40123));
    }
}
