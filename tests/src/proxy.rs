//! A TCP forwarder on a loopback address standing in for one network path (intranet or
//! internet) to the server. `cut()` makes the address refuse connections and kills every
//! connection in flight; `restore()` brings it back on the same address. `lose_responses()`
//! forwards requests to the server but throws away what comes back, as a network that dies
//! after the request went out.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    lose_responses: Arc<AtomicBool>,
    connections: Arc<AtomicU64>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    /// Starts forwarding `listen` (port 0 picks one) to `upstream`.
    pub async fn start(listen: SocketAddr, upstream: SocketAddr) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind(listen).await?;
        let proxy = Proxy {
            addr: listener.local_addr()?,
            upstream,
            lose_responses: Arc::new(AtomicBool::new(false)),
            connections: Arc::new(AtomicU64::new(0)),
            tasks: Arc::new(Mutex::new(Vec::new())),
        };
        proxy.spawn_accept(listener);
        Ok(proxy)
    }

    /// The address clients use.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` for endpoint lists.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }

    /// The path dies: new connections are refused, open ones are reset.
    pub fn cut(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }

    /// The path comes back on the same address.
    pub async fn restore(&self) -> std::io::Result<()> {
        self.cut();
        let listener = TcpListener::bind(self.addr).await?;
        self.spawn_accept(listener);
        Ok(())
    }

    /// While on, requests reach the server but responses are dropped and the connection closed.
    pub fn lose_responses(&self, on: bool) {
        self.lose_responses.store(on, Ordering::SeqCst);
    }

    fn spawn_accept(&self, listener: TcpListener) {
        let upstream = self.upstream;
        let lose = self.lose_responses.clone();
        let count = self.connections.clone();
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                count.fetch_add(1, Ordering::SeqCst);
                let lose = lose.clone();
                let conn = tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = forward(client, server, lose).await;
                });
                tasks.lock().unwrap().push(conn);
            }
        });
        self.tasks.lock().unwrap().push(accept);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
    }
}

async fn forward(client: TcpStream, server: TcpStream, lose: Arc<AtomicBool>) -> std::io::Result<()> {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let upstream = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        let _ = server_write.shutdown().await;
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = server_read.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        if lose.load(Ordering::SeqCst) {
            // The server answered; the answer never arrives. Drop the connection.
            upstream.abort();
            return Ok(());
        }
        client_write.write_all(&buf[..n]).await?;
    }
    let _ = client_write.shutdown().await;
    upstream.abort();
    Ok(())
}
