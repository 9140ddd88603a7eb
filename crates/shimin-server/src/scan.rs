//! Virus check of uploads (§21.6, issue 15): every completed upload goes to the configured
//! scanner before anyone but its uploader can read it.
//!
//! - clean: readable as any blob (by whoever may read an item referring to it);
//! - infected: the file moves to quarantine, the upload is answered `attachment_infected`, a
//!   mutation referring to it is rejected with that code, the audit trail records it;
//! - the scanner down or failing: the blob stays `pending` (readable by its uploader only) and is
//!   tried again by the supervision loop; nothing is let through because a scanner is down.
//!
//! Scanners: clamd's socket (the `INSTREAM` command: length-prefixed chunks, then the verdict
//! line `stream: OK` or `stream: <signature> FOUND`), or a command that reads the file on its
//! standard input and exits 0 (clean), 1 (infected, its first output line naming what) or
//! anything else (failed) — as `clamdscan -` and `clamscan -` do.

use std::path::PathBuf;
use std::time::Duration;

use chrono::Utc;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::store::{Reads, ScanRow, ScanStatus};
use crate::{Error, Result, SharedState};

/// `[scanner]` of the configuration: exactly one of `clamd_socket` and `command`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScannerConfig {
    /// clamd's local socket, e.g. `/run/clamav/clamd.ctl`.
    pub clamd_socket: Option<PathBuf>,
    /// A command and its arguments, given the file on standard input.
    pub command: Option<Vec<String>>,
    /// How long one check may take (default 60 s).
    pub timeout_secs: Option<u64>,
}

impl ScannerConfig {
    /// Checks the section: one scanner, a command with a program.
    pub fn check(&self) -> Result<()> {
        match (&self.clamd_socket, &self.command) {
            (Some(_), None) => Ok(()),
            (None, Some(c)) if !c.is_empty() && !c[0].trim().is_empty() => Ok(()),
            (None, Some(_)) => Err(Error::Config("[scanner] command 不能为空".into())),
            _ => Err(Error::Config(
                "[scanner] 须且只须配置 clamd_socket 或 command 之一".into(),
            )),
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.unwrap_or(60).max(1))
    }
}

/// What a scanner said of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    Infected(String),
}

/// Runs the configured scanner on `bytes`; `Err` (a message) when it could not say.
pub async fn scan_bytes(config: &ScannerConfig, bytes: Vec<u8>) -> std::result::Result<Verdict, String> {
    let work = async {
        match (&config.clamd_socket, &config.command) {
            (Some(socket), _) => clamd(socket, &bytes).await,
            (None, Some(argv)) => command(argv, bytes).await,
            (None, None) => Err("no scanner configured".to_owned()),
        }
    };
    tokio::time::timeout(config.timeout(), work)
        .await
        .unwrap_or_else(|_| Err(format!("no verdict within {:?}", config.timeout())))
}

/// clamd's `INSTREAM` over its Unix socket.
async fn clamd(socket: &std::path::Path, bytes: &[u8]) -> std::result::Result<Verdict, String> {
    let mut conn = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| format!("clamd {}: {e}", socket.display()))?;
    let io = |e: std::io::Error| format!("clamd: {e}");
    conn.write_all(b"zINSTREAM\0").await.map_err(io)?;
    for chunk in bytes.chunks(64 * 1024) {
        conn.write_all(&(chunk.len() as u32).to_be_bytes())
            .await
            .map_err(io)?;
        conn.write_all(chunk).await.map_err(io)?;
    }
    conn.write_all(&0u32.to_be_bytes()).await.map_err(io)?;
    let mut reply = Vec::new();
    conn.read_to_end(&mut reply).await.map_err(io)?;
    let reply = String::from_utf8_lossy(&reply);
    let reply = reply.trim_end_matches(['\0', '\n']).trim();
    let verdict = reply.strip_prefix("stream:").map(str::trim).unwrap_or(reply);
    if verdict == "OK" {
        Ok(Verdict::Clean)
    } else if let Some(signature) = verdict.strip_suffix("FOUND") {
        Ok(Verdict::Infected(signature.trim().to_owned()))
    } else {
        Err(format!("clamd: {verdict}"))
    }
}

/// A scanning command, the file on its standard input.
async fn command(argv: &[String], bytes: Vec<u8>) -> std::result::Result<Verdict, String> {
    let mut child = tokio::process::Command::new(&argv[0])
        .args(&argv[1..])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("{}: {e}", argv[0]))?;
    let mut stdin = child.stdin.take().expect("piped");
    // A scanner may exit before reading everything (it found something early): not an error.
    let feed = tokio::spawn(async move {
        let _ = stdin.write_all(&bytes).await;
    });
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| format!("{}: {e}", argv[0]))?;
    let _ = feed.await;
    match out.status.code() {
        Some(0) => Ok(Verdict::Clean),
        Some(1) => {
            let said = String::from_utf8_lossy(&out.stdout);
            let line = said.lines().find(|l| !l.trim().is_empty()).unwrap_or("infected");
            let signature = line
                .trim()
                .trim_start_matches("stdin:")
                .trim()
                .trim_end_matches("FOUND")
                .trim();
            Ok(Verdict::Infected(signature.to_owned()))
        }
        other => Err(format!("{} exited with {other:?}", argv[0])),
    }
}

/// After an upload completed and was stored: checks it, unless checked before (the same file
/// uploaded again). `Err(AttachmentInfected)` when it is infected.
pub async fn after_upload(state: &SharedState, hash: &str) -> Result<()> {
    let Some(config) = &state.config.scanner else {
        return Ok(());
    };
    let known = state.store.reader().await?.blob_scan(hash).await?;
    match known.map(|k| (k.status, k.signature)) {
        Some((ScanStatus::Clean, _)) => return Ok(()),
        Some((ScanStatus::Infected, signature)) => {
            // The same bytes again: back into quarantine.
            quarantine(state, hash).await?;
            return Err(Error::AttachmentInfected {
                signature: signature.unwrap_or_default(),
            });
        }
        Some((ScanStatus::Pending, _)) | None => {}
    }
    match check(state, config, hash).await? {
        ScanStatus::Infected => {
            let signature = infection(&mut *state.store.reader().await?, hash).await?;
            Err(Error::AttachmentInfected {
                signature: signature.unwrap_or_default(),
            })
        }
        ScanStatus::Clean | ScanStatus::Pending => Ok(()),
    }
}

/// Checks the blobs still pending (the scanner was down); returns how many got a verdict.
pub async fn retry_pending(state: &SharedState) -> Result<usize> {
    let Some(config) = &state.config.scanner else {
        return Ok(0);
    };
    let pending = state.store.reader().await?.pending_scans(50).await?;
    let mut done = 0;
    for hash in pending {
        if check(state, config, &hash).await? != ScanStatus::Pending {
            done += 1;
        }
    }
    Ok(done)
}

/// The signature an infected blob was found with; `None` when it is not infected.
pub async fn infection(reads: &mut dyn Reads, hash: &str) -> Result<Option<String>> {
    Ok(reads
        .blob_scan(hash)
        .await?
        .filter(|s| s.status == ScanStatus::Infected)
        .map(|s| s.signature.unwrap_or_default()))
}

/// One check of a stored blob; records and returns where it stands.
async fn check(state: &SharedState, config: &ScannerConfig, hash: &str) -> Result<ScanStatus> {
    let attempts = state
        .store
        .reader()
        .await?
        .blob_scan(hash)
        .await?
        .map_or(0, |s| s.attempts);
    let store = state.blobs.clone();
    let h = hash.to_owned();
    let bytes = tokio::task::spawn_blocking(move || store.read(&h))
        .await
        .map_err(Error::internal)?
        .map_err(Error::internal)?;
    let verdict = scan_bytes(config, bytes).await;
    crate::metrics::scan_ran(match &verdict {
        Ok(Verdict::Clean) => "clean",
        Ok(Verdict::Infected(_)) => "infected",
        Err(_) => "failed",
    });
    let (status, signature) = match verdict {
        Ok(Verdict::Clean) => (ScanStatus::Clean, None),
        Ok(Verdict::Infected(sig)) => {
            quarantine(state, hash).await?;
            (ScanStatus::Infected, Some(sig))
        }
        Err(why) => {
            tracing::warn!(hash, error = %why, "virus check failed; the file stays pending");
            (ScanStatus::Pending, Some(why))
        }
    };
    let mut tx = state.store.write().await?;
    tx.set_blob_scan(&ScanRow {
        hash: hash.to_owned(),
        status,
        signature: signature.clone(),
        attempts: attempts + 1,
        updated_at: Utc::now(),
    })
    .await?;
    if status != ScanStatus::Pending {
        let outcome = match &signature {
            Some(sig) if status == ScanStatus::Infected => format!("infected {sig}; quarantined"),
            _ => "clean".to_owned(),
        };
        tx.audit(crate::audit::Entry {
            action: "blob.scan",
            target: Some(hash),
            outcome: &outcome,
            ..Default::default()
        });
    }
    tx.commit().await?;
    Ok(status)
}

async fn quarantine(state: &SharedState, hash: &str) -> Result<()> {
    let store = state.blobs.clone();
    let h = hash.to_owned();
    tokio::task::spawn_blocking(move || store.quarantine(&h))
        .await
        .map_err(Error::internal)?
        .map_err(Error::internal)
}
