//! Desk updates from the county (issue 15): IT signs a desk package with the county's update
//! key (Ed25519) and publishes it; every instance serves the newest manifest and the file from
//! the shared blob directory (`<blob-dir>/updates/`). The private key never reaches the server:
//! `update keygen` writes it for IT to keep, `update publish` signs on IT's machine or here.
//!
//! The desks hold the public key (machine-wide settings) and verify the signature over the
//! manifest's exact bytes, then the package's size and SHA-256: a tampered manifest or file is
//! refused and the running version stays.

use std::path::{Path, PathBuf};

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use chrono::Utc;
use ring::signature::{Ed25519KeyPair, KeyPair};
use shimin_protocol::{SignedUpdate, UpdateManifest};

use crate::http::Json;
use crate::{Error, Result, SharedState};

const LATEST: &str = "latest.json";

fn dir(blob_dir: &Path) -> PathBuf {
    blob_dir.join("updates")
}

/// A package file name as published and served: letters, digits, `.`, `_`, `-` only.
pub fn is_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Writes a new update key pair into `dir`: `update-signing.key` (PKCS#8, mode 0600, for IT to
/// keep offline) and `update-signing.pub` (base64, for the desks' machine-wide settings).
/// Refuses to overwrite a key.
pub fn keygen(out: &Path) -> Result<(PathBuf, String)> {
    let key_path = out.join("update-signing.key");
    if key_path.exists() {
        return Err(Error::Config(format!("{} 已存在，不覆盖", key_path.display())));
    }
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| Error::internal("key generation failed"))?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| Error::internal("key unusable"))?;
    let public = base64::engine::general_purpose::STANDARD.encode(pair.public_key().as_ref());
    std::fs::create_dir_all(out).map_err(|e| Error::Config(format!("{}：{e}", out.display())))?;
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&key_path)
            .map_err(|e| Error::Config(format!("{}：{e}", key_path.display())))?;
        f.write_all(pkcs8.as_ref()).map_err(Error::internal)?;
    }
    std::fs::write(out.join("update-signing.pub"), format!("{public}\n")).map_err(Error::internal)?;
    Ok((key_path, public))
}

/// Signs and publishes `file` as desk version `version` with `notes`: the package is copied
/// into the updates directory, then the signed manifest replaces the previous one (atomically).
pub fn publish(
    blob_dir: &Path,
    key: &Path,
    file: &Path,
    version: &str,
    notes: &str,
) -> Result<UpdateManifest> {
    if parse_version(version).is_none() {
        return Err(Error::Config(format!("版本号 {version:?} 不正确（应如 0.2.0）")));
    }
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .filter(|n| is_file_name(n))
        .ok_or_else(|| Error::Config(format!("文件名 {} 只能含字母、数字、. _ -", file.display())))?;
    let pkcs8 =
        std::fs::read(key).map_err(|e| Error::Config(format!("无法读取签名密钥 {}：{e}", key.display())))?;
    let pair = Ed25519KeyPair::from_pkcs8(&pkcs8)
        .map_err(|_| Error::Config(format!("{} 不是 Ed25519 签名密钥（PKCS#8）", key.display())))?;
    let bytes =
        std::fs::read(file).map_err(|e| Error::Config(format!("无法读取 {}：{e}", file.display())))?;
    let manifest = UpdateManifest {
        version: version.to_owned(),
        notes: notes.to_owned(),
        file: name.to_owned(),
        size: bytes.len() as u64,
        sha256: crate::blobs::sha256_hex(&bytes),
        published_at: Utc::now(),
    };
    let text = serde_json::to_string(&manifest).map_err(Error::internal)?;
    let signed = SignedUpdate {
        signature: base64::engine::general_purpose::STANDARD.encode(pair.sign(text.as_bytes()).as_ref()),
        manifest: text,
    };
    let dir = dir(blob_dir);
    std::fs::create_dir_all(&dir).map_err(|e| Error::Config(format!("{}：{e}", dir.display())))?;
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, &bytes).map_err(Error::internal)?;
    std::fs::rename(&tmp, dir.join(name)).map_err(Error::internal)?;
    let tmp = dir.join(".latest.tmp");
    std::fs::write(&tmp, serde_json::to_vec(&signed).map_err(Error::internal)?).map_err(Error::internal)?;
    std::fs::rename(&tmp, dir.join(LATEST)).map_err(Error::internal)?;
    Ok(manifest)
}

/// `1.2.3` → [1, 2, 3]; anything else `None`.
pub fn parse_version(v: &str) -> Option<Vec<u64>> {
    let parts: Option<Vec<u64>> = v.split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| !p.is_empty() && p.len() <= 4)
}

/// `GET UPDATE_LATEST` (no login needed: nothing in it is secret, and a desk too old to log in
/// must still find its update).
pub async fn latest(State(state): State<SharedState>) -> Result<Json<SignedUpdate>> {
    let path = dir(&state.config.blob_dir()).join(LATEST);
    let bytes = match tokio::fs::read(&path).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::NotFound),
        Err(e) => return Err(Error::internal(e)),
    };
    Ok(Json(serde_json::from_slice(&bytes).map_err(Error::internal)?))
}

/// `GET UPDATE_FILE`.
pub async fn file(State(state): State<SharedState>, UrlPath(name): UrlPath<String>) -> Result<Response> {
    if !is_file_name(&name) {
        return Err(Error::NotFound);
    }
    let bytes = match tokio::fs::read(dir(&state.config.blob_dir()).join(&name)).await {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::NotFound),
        Err(e) => return Err(Error::internal(e)),
    };
    let mut res = bytes.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/vnd.debian.binary-package"),
    );
    Ok(res)
}
