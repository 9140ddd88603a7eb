//! Desk updates from the county (issue 15): the newest release's manifest is checked against
//! the county's update key (Ed25519, from the machine-wide settings) over its exact bytes before
//! anything in it is believed; the package is then downloaded and checked against the
//! manifest's size and SHA-256. A bad signature or a broken download is an error with its own
//! code, and nothing is installed: the running version stays.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use shimin_protocol::{paths, SignedUpdate, UpdateManifest};

use crate::{Desk, Error, Result};

/// The manifest inside `signed`, if `public_key` (base64, 32 bytes) signed exactly it.
pub fn verify(signed: &SignedUpdate, public_key: &str) -> Result<UpdateManifest> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = b64
        .decode(public_key.trim())
        .ok()
        .filter(|k| k.len() == 32)
        .ok_or_else(|| {
            refused(
                "update_key_invalid",
                "更新公钥配置有误（应为 base64 的 Ed25519 公钥）".into(),
            )
        })?;
    let signature = b64
        .decode(signed.signature.trim())
        .map_err(|_| refused("update_bad_signature", "更新的签名无效，已拒绝".into()))?;
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &key)
        .verify(signed.manifest.as_bytes(), &signature)
        .map_err(|_| {
            refused(
                "update_bad_signature",
                "更新的签名与县级更新密钥不符（可能被篡改），已拒绝".into(),
            )
        })?;
    serde_json::from_str(&signed.manifest).map_err(|e| Error::Protocol(e.to_string()))
}

/// Whether `candidate` is a later version than `current` (dotted numbers).
pub fn is_newer(candidate: &str, current: &str) -> bool {
    let parse = |v: &str| {
        v.split('.')
            .map(|p| p.parse::<u64>().ok())
            .collect::<Option<Vec<_>>>()
    };
    match (parse(candidate), parse(current)) {
        (Some(a), Some(b)) => a > b,
        _ => false,
    }
}

fn refused(code: &'static str, message: String) -> Error {
    Error::UpdateRefused { code, message }
}

impl Desk {
    /// The county's newest release, verified, when it is newer than `running` (the desk app's
    /// own version); `None` when there is none or it is not newer.
    pub async fn check_update(&self, public_key: &str, running: &str) -> Result<Option<UpdateManifest>> {
        let transport = &self.inner.transport;
        let (_, raw) = self
            .on_any_endpoint(|i| transport.get_raw(i, paths::UPDATE_LATEST))
            .await?;
        let Some(raw) = raw else {
            return Ok(None);
        };
        let signed: SignedUpdate = serde_json::from_slice(&raw)?;
        let manifest = verify(&signed, public_key)?;
        Ok(is_newer(&manifest.version, running).then_some(manifest))
    }

    /// Downloads the package of a verified `manifest` into `dir` and checks it; returns its path.
    /// A download that does not match is deleted and refused (`update_corrupt`).
    pub async fn download_update(&self, manifest: &UpdateManifest, dir: &Path) -> Result<PathBuf> {
        if manifest.file.contains(['/', '\\']) || manifest.file.starts_with('.') {
            return Err(refused("update_corrupt", "更新文件名无效，已拒绝".into()));
        }
        let transport = &self.inner.transport;
        let path = paths::UPDATE_FILE.replace("{name}", &manifest.file);
        let (_, bytes) = self.on_any_endpoint(|i| transport.get_raw(i, &path)).await?;
        let bytes = bytes.ok_or_else(|| refused("update_corrupt", "服务器上没有这个更新文件".into()))?;
        if bytes.len() as u64 != manifest.size || crate::attachment::sha256_hex(&bytes) != manifest.sha256 {
            return Err(refused(
                "update_corrupt",
                "下载的更新文件与签名清单不符（下载不完整或被篡改），已丢弃，当前版本不变".into(),
            ));
        }
        std::fs::create_dir_all(dir)?;
        let out = dir.join(&manifest.file);
        let tmp = dir.join(format!(".{}.part", manifest.file));
        std::fs::write(&tmp, &bytes)?;
        std::fs::rename(&tmp, &out)?;
        Ok(out)
    }
}
