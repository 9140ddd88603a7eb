//! HTTPS (R-NET, issue 15): the county's certificate and key, from the files the configuration
//! names, served with rustls (no OpenSSL in the transport).
//!
//! The certificate in force sits in a [`CertSlot`] that every handshake reads. `reload` (SIGHUP)
//! swaps it for the files' current contents, or keeps the old one and says why: connections
//! already up, live streams among them, keep the session they negotiated and are never dropped.
//!
//! Handshakes run in their own tasks, outside the accept loop: a client that opens a connection
//! and sends nothing holds up nobody but itself, and is dropped after [`HANDSHAKE_TIMEOUT`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::error::{Error, Result};

/// A client has this long to complete its TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the certificate chain (PEM, server certificate first) and its private key (PEM) are.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The certificate handshakes are answered with; replaced by [`CertSlot::reload`].
#[derive(Debug)]
pub struct CertSlot {
    files: TlsFiles,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for CertSlot {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

impl CertSlot {
    /// Loads the files; every problem (missing, unreadable, not PEM, no key, key of another
    /// certificate) is a [`Error::Config`] naming the file.
    pub fn load(files: &TlsFiles) -> Result<Arc<CertSlot>> {
        let key = load_certified_key(files)?;
        Ok(Arc::new(CertSlot {
            files: files.clone(),
            current: RwLock::new(Arc::new(key)),
        }))
    }

    /// Reads the files again and puts them in force for new handshakes; on any problem the
    /// certificate in force stays and the problem is returned.
    pub fn reload(&self) -> Result<()> {
        let key = load_certified_key(&self.files)?;
        *self
            .current
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(key);
        Ok(())
    }

    fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// The DER of the server certificate in force (tests compare it after a reload).
    pub fn certificate_der(&self) -> Vec<u8> {
        self.current()
            .cert
            .first()
            .map(|c| c.as_ref().to_vec())
            .unwrap_or_default()
    }

    /// A rustls acceptor answering with this slot. HTTP/1.1 only (the server speaks no h2).
    pub fn acceptor(self: &Arc<Self>) -> Result<TlsAcceptor> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Config(format!("TLS 配置失败：{e}")))?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsAcceptor::from(Arc::new(config)))
    }
}

/// The chain and key of `files`, checked to belong together.
pub fn load_certified_key(files: &TlsFiles) -> Result<CertifiedKey> {
    let cert_pem = read(&files.cert, "证书")?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| {
            Error::Config(format!(
                "证书文件 {} 不是 PEM 格式的证书：{e}",
                files.cert.display()
            ))
        })?;
    if chain.is_empty() {
        return Err(Error::Config(format!(
            "证书文件 {} 中没有证书（应为 PEM：-----BEGIN CERTIFICATE-----）",
            files.cert.display()
        )));
    }
    let key_pem = read(&files.key, "私钥")?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| {
        Error::Config(format!(
            "私钥文件 {} 中没有可用的私钥（PEM）：{e}",
            files.key.display()
        ))
    })?;
    let provider = rustls::crypto::ring::default_provider();
    CertifiedKey::from_der(chain, key, &provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => Error::Config(format!(
            "私钥 {} 与证书 {} 不匹配",
            files.key.display(),
            files.cert.display()
        )),
        other => Error::Config(format!(
            "证书 {} 或私钥 {} 无法使用：{other}",
            files.cert.display(),
            files.key.display()
        )),
    })
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::Config(format!("无法读取{what}文件 {}：{e}", path.display())))
}

/// A listener handing out connections whose TLS handshake has completed (for `axum::serve`).
#[derive(Debug)]
pub struct TlsListener {
    local: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl TlsListener {
    /// Accepts on `tcp` until `shutdown`, handshaking each connection in its own task.
    pub fn spawn(
        tcp: TcpListener,
        acceptor: TlsAcceptor,
        mut shutdown: watch::Receiver<bool>,
    ) -> TlsListener {
        let local = tcp
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = shutdown.wait_for(|stop| *stop) => break,
                    accepted = tcp.accept() => accepted,
                };
                let (stream, peer) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = tx.send((tls, peer)).await;
                        }
                        Ok(Err(e)) => {
                            crate::metrics::tls_handshake_failed();
                            tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        }
                        Err(_) => {
                            crate::metrics::tls_handshake_failed();
                            tracing::debug!(%peer, "TLS handshake timed out");
                        }
                    }
                });
            }
        });
        TlsListener { local, ready }
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(conn) => conn,
            // The accept task ended (shutdown): nothing more comes.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}
