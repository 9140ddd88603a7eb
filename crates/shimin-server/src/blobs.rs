//! Attachments' blobs (代办材料): content-addressed by SHA-256, uploaded in chunks that each
//! carry their own SHA-256, resumable from the last byte the server holds, verified when the
//! upload completes (whole-content hash = address; type by content with
//! `shimin_domain::attachment::check`), then kept in a [`BlobStore`].
//!
//! Access: an upload and its state belong to the user sending it; a blob is read by whoever
//! uploaded it or may read an item that refers to it (`item_attachments`), so knowing a hash
//! gives nothing. Supervision roles (masked scope) never read attachments: they are documents
//! full of personal data.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::auth::AuthUser;
use crate::http::Json;
use crate::store::{Reads, ScanRow, ScanStatus};
use crate::{Error, Result, SharedState};
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use shimin_domain::attachment::{self, AttachmentProblem, FileType, MAX_ATTACHMENT_BYTES};
use shimin_domain::role::{read_scope, Scope};
use shimin_protocol::{is_hash, BlobUploadStart, BlobUploadState, BLOB_CHUNK_BYTES, CHUNK_SHA256_HEADER};

/// Where blobs' bytes live. The embedded default is [`FsBlobStore`] (several instances share
/// one directory on a shared mount); an object store can be added behind the same trait. Methods block (file or network IO): call them from
/// `spawn_blocking`. `key` names one user's upload of one blob.
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Bytes held of the upload `key` (0 when none).
    fn partial_len(&self, key: &str) -> std::io::Result<u64>;
    /// Appends `bytes` to the upload `key`, made durable before returning. Fails with
    /// [`std::io::ErrorKind::InvalidInput`] when the upload does not hold exactly `offset` bytes.
    fn append(&self, key: &str, offset: u64, bytes: &[u8]) -> std::io::Result<()>;
    /// SHA-256 (hex) and the first bytes of the upload `key`.
    fn digest(&self, key: &str) -> std::io::Result<(String, Vec<u8>)>;
    /// Moves the verified upload `key` into place as blob `hash` (dropping it if the blob is
    /// there already: same hash, same bytes).
    fn commit(&self, key: &str, hash: &str) -> std::io::Result<()>;
    /// Forgets the upload `key`.
    fn discard(&self, key: &str) -> std::io::Result<()>;
    /// The bytes of blob `hash`.
    fn read(&self, hash: &str) -> std::io::Result<Vec<u8>>;
    /// Moves blob `hash` out of reach into quarantine (the virus check found something); kept
    /// for IT to examine, never served.
    fn quarantine(&self, hash: &str) -> std::io::Result<()>;
}

/// Blobs as files under a directory: `ab/abcdef…` for blobs, `partial/<key>` for uploads.
#[derive(Debug)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    pub fn new(root: &Path) -> std::io::Result<FsBlobStore> {
        std::fs::create_dir_all(root.join("partial"))?;
        Ok(FsBlobStore {
            root: root.to_owned(),
        })
    }

    fn partial(&self, key: &str) -> PathBuf {
        self.root.join("partial").join(key)
    }

    fn blob(&self, hash: &str) -> PathBuf {
        self.root.join(&hash[..2]).join(hash)
    }
}

impl BlobStore for FsBlobStore {
    fn partial_len(&self, key: &str) -> std::io::Result<u64> {
        match std::fs::metadata(self.partial(key)) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    fn append(&self, key: &str, offset: u64, bytes: &[u8]) -> std::io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.partial(key))?;
        // Several server instances may share this directory: the offset check and the write
        // happen under an exclusive lock of the file (released when it closes).
        f.lock()?;
        if f.metadata()?.len() != offset {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "offset"));
        }
        f.write_all(bytes)?;
        f.sync_data()
    }

    fn digest(&self, key: &str) -> std::io::Result<(String, Vec<u8>)> {
        let mut f = std::fs::File::open(self.partial(key))?;
        let mut hasher = Sha256::new();
        let mut head = Vec::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            if head.len() < 64 {
                head.extend_from_slice(&buf[..n.min(64 - head.len())]);
            }
            hasher.update(&buf[..n]);
        }
        Ok((hex(&hasher.finalize()), head))
    }

    fn commit(&self, key: &str, hash: &str) -> std::io::Result<()> {
        let to = self.blob(hash);
        if to.exists() {
            return self.discard(key);
        }
        std::fs::create_dir_all(to.parent().expect("blob path has a parent"))?;
        match std::fs::rename(self.partial(key), &to) {
            // Another instance completed the same upload a moment ago.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && to.exists() => return Ok(()),
            other => other?,
        }
        // The rename is durable once the directory is.
        std::fs::File::open(to.parent().expect("blob path has a parent"))?.sync_all()
    }

    fn discard(&self, key: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.partial(key)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    fn read(&self, hash: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.blob(hash))
    }

    fn quarantine(&self, hash: &str) -> std::io::Result<()> {
        let dir = self.root.join("quarantine");
        std::fs::create_dir_all(&dir)?;
        match std::fs::rename(self.blob(hash), dir.join(hash)) {
            // Already moved (another instance, or a second upload of the same file).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// SHA-256 of `bytes`, lower-case hex: a blob's address.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn upload_key(user_id: i64, hash: &str) -> String {
    format!("{user_id}-{hash}")
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> Result<std::io::Result<T>> {
    tokio::task::spawn_blocking(f).await.map_err(Error::internal)
}

fn require_office(user: &AuthUser) -> Result<()> {
    match read_scope(&user.actor()) {
        Scope::Unit(_) | Scope::Agent(_) => Ok(()),
        _ => Err(Error::Forbidden),
    }
}

/// Whether `user_id` holds a complete, verified upload of `hash` with this size and type: the
/// condition for referring to it in a mutation.
pub async fn uploaded_by(
    reads: &mut dyn Reads,
    user_id: i64,
    hash: &str,
    size: u64,
    mime: &str,
) -> Result<bool> {
    Ok(reads
        .upload(user_id, hash)
        .await?
        .is_some_and(|r| r.complete && r.size == size && r.mime == mime))
}

/// `POST BLOBS`: start or resume an upload; answers where it stands.
pub async fn start(
    State(state): State<SharedState>,
    user: AuthUser,
    Json(req): Json<BlobUploadStart>,
) -> Result<Json<BlobUploadState>> {
    require_office(&user)?;
    if !is_hash(&req.hash) {
        return Err(Error::invalid("hash", "须为SHA-256（64位小写十六进制）"));
    }
    if FileType::from_mime(&req.mime).is_none() {
        return Err(Error::Attachment(AttachmentProblem::UnsupportedContent));
    }
    if req.size == 0 {
        return Err(Error::Attachment(AttachmentProblem::Empty));
    }
    if req.size > MAX_ATTACHMENT_BYTES {
        return Err(Error::Attachment(AttachmentProblem::TooLarge { size: req.size }));
    }
    let _one = state.blob_lock.lock().await;
    let key = upload_key(user.id, &req.hash);
    let row = state.store.reader().await?.upload(user.id, &req.hash).await?;
    match row {
        Some(r) if r.complete => {
            return Ok(Json(BlobUploadState {
                hash: req.hash,
                size: r.size,
                received: r.size,
                complete: true,
            }))
        }
        Some(r) if r.size == req.size && r.mime == req.mime => {}
        _ => {
            // New, or restarted with other facts: begin from nothing.
            let store = state.blobs.clone();
            let k = key.clone();
            blocking(move || store.discard(&k))
                .await?
                .map_err(Error::internal)?;
            let mut tx = state.store.write().await?;
            tx.start_upload(user.id, &req.hash, req.size, &req.mime, Utc::now())
                .await?;
            tx.commit().await?;
        }
    }
    // The store is the truth of what arrived (a crash may fall between append and bookkeeping).
    let store = state.blobs.clone();
    let received = blocking(move || store.partial_len(&key))
        .await?
        .map_err(Error::internal)?;
    Ok(Json(BlobUploadState {
        hash: req.hash,
        size: req.size,
        received,
        complete: false,
    }))
}

#[derive(Debug, Deserialize)]
pub struct ChunkQuery {
    pub offset: u64,
}

/// `PUT BLOB?offset=N`: one chunk. Completes the upload when it is the last one.
pub async fn put_chunk(
    State(state): State<SharedState>,
    user: AuthUser,
    UrlPath(hash): UrlPath<String>,
    query: Result<Query<ChunkQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<BlobUploadState>> {
    require_office(&user)?;
    let Query(q) = query.map_err(|e| Error::Malformed(e.body_text()))?;
    if !is_hash(&hash) {
        return Err(Error::NotFound);
    }
    let _one = state.blob_lock.lock().await;
    // Read with a reader; the single writer is taken only after the chunk is on disk, so an
    // upload's file IO never holds up the desks' pushes. `blob_lock` orders the uploads.
    let row = state.store.reader().await?.upload(user.id, &hash).await?;
    let Some(row) = row else {
        return Err(Error::invalid("hash", "请先开始上传（POST /api/v1/blobs）"));
    };
    let size = row.size;
    if row.complete {
        return Ok(Json(BlobUploadState {
            hash,
            size,
            received: size,
            complete: true,
        }));
    }
    if body.is_empty() || body.len() > BLOB_CHUNK_BYTES {
        return Err(Error::invalid(
            "body",
            format!("分块须为1至{BLOB_CHUNK_BYTES}字节"),
        ));
    }
    // Numbers from the request are checked, never trusted to add up (offset may be u64::MAX).
    let received = q
        .offset
        .checked_add(body.len() as u64)
        .filter(|end| *end <= size)
        .ok_or_else(|| Error::invalid("offset", "分块超出文件声明的大小"))?;
    let claimed = headers
        .get(CHUNK_SHA256_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| Error::invalid(CHUNK_SHA256_HEADER, "缺少分块校验值"))?;
    if sha256_hex(&body) != claimed {
        return Err(Error::ChunkCorrupt);
    }
    let key = upload_key(user.id, &hash);
    let (store, k, offset) = (state.blobs.clone(), key.clone(), q.offset);
    match blocking(move || store.append(&k, offset, &body)).await? {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
            let (store, k) = (state.blobs.clone(), key.clone());
            let received = blocking(move || store.partial_len(&k))
                .await?
                .map_err(Error::internal)?;
            return Err(Error::UploadOffset { received });
        }
        Err(e) => return Err(Error::internal(e)),
    }
    if received < size {
        let mut tx = state.store.write().await?;
        tx.set_upload_received(user.id, &hash, received).await?;
        tx.commit().await?;
        return Ok(Json(BlobUploadState {
            hash,
            size,
            received,
            complete: false,
        }));
    }
    finish(&state, &user, &hash, size, &row.mime, key).await?;
    Ok(Json(BlobUploadState {
        hash,
        size,
        received: size,
        complete: true,
    }))
}

/// Verifies a complete upload (hash = address, type by content) and stores the blob.
async fn finish(
    state: &SharedState,
    user: &AuthUser,
    hash: &str,
    size: u64,
    mime: &str,
    key: String,
) -> Result<()> {
    let (store, k) = (state.blobs.clone(), key.clone());
    let (actual, head) = blocking(move || store.digest(&k))
        .await?
        .map_err(Error::internal)?;
    let verdict = if actual != hash {
        Err(Error::HashMismatch)
    } else {
        attachment::check(size, &head, FileType::from_mime(mime))
            .map(|_| ())
            .map_err(Error::Attachment)
    };
    if let Err(e) = verdict {
        // Refused: the upload starts over; nothing of it is kept.
        let (store, k) = (state.blobs.clone(), key);
        blocking(move || store.discard(&k))
            .await?
            .map_err(Error::internal)?;
        let mut tx = state.store.write().await?;
        tx.set_upload_received(user.id, hash, 0).await?;
        let outcome = format!("refused {}", e.to_api().1.code);
        tx.audit(user.audit_entry("blob.upload", Some(hash), &outcome));
        tx.commit().await?;
        return Err(e);
    }
    let (store, k, h) = (state.blobs.clone(), key, hash.to_owned());
    blocking(move || store.commit(&k, &h))
        .await?
        .map_err(Error::internal)?;
    let mut tx = state.store.write().await?;
    tx.complete_upload(user.id, hash, size, mime, Utc::now()).await?;
    if state.config.scanner.is_some() && tx.blob_scan(hash).await?.is_none() {
        // Held back from everyone but the uploader from the moment it is stored.
        tx.set_blob_scan(&ScanRow {
            hash: hash.to_owned(),
            status: ScanStatus::Pending,
            signature: None,
            attempts: 0,
            updated_at: Utc::now(),
        })
        .await?;
    }
    tx.audit(user.audit_entry("blob.upload", Some(hash), "ok"));
    tx.commit().await?;
    crate::scan::after_upload(state, hash).await
}

/// `GET BLOB`: the bytes, to whoever uploaded them or may read an item referring to them;
/// everyone else gets 404, the same as for a hash nobody has.
pub async fn get(
    State(state): State<SharedState>,
    user: AuthUser,
    UrlPath(hash): UrlPath<String>,
) -> Result<Response> {
    require_office(&user)?;
    if !is_hash(&hash) {
        return Err(Error::NotFound);
    }
    let mut reader = state.store.reader().await?;
    let own = reader.upload(user.id, &hash).await?.is_some_and(|r| r.complete);
    let via_item = !own && reader.blob_in_scope(&hash, read_scope(&user.actor())).await?;
    let mime = reader.blob_mime(&hash).await?;
    let scan = reader.blob_scan(&hash).await?.map(|s| s.status);
    drop(reader);
    // Until the virus check has passed, only the uploader reads the file; an infected one
    // nobody (it is in quarantine).
    let checked = match scan {
        None | Some(ScanStatus::Clean) => own || via_item,
        Some(ScanStatus::Pending) => own,
        Some(ScanStatus::Infected) => false,
    };
    let (true, Some(mime)) = (checked, mime) else {
        return Err(Error::NotFound);
    };
    let store = state.blobs.clone();
    let h = hash.clone();
    let bytes = blocking(move || store.read(&h)).await?.map_err(Error::internal)?;
    let mut res = bytes.into_response();
    let headers = res.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&mime).map_err(Error::internal)?,
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    Ok(res)
}
