//! A TCP forwarder on a loopback address standing in for one network path (intranet or
//! internet) to the server. `cut()` makes the address refuse connections and kills every
//! connection in flight; `restore()` brings it back on the same address. `lose_responses()`
//! forwards requests to the server but throws away what comes back, as a network that dies
//! after the request went out. `cut_after_bytes(n)` lets `n` more bytes through towards the
//! server and then drops the connection mid-request (an uplink dying part-way through an
//! upload); `bytes_up()` counts what went towards the server. `captured()` is what crossed, both
//! ways (the first [`CAPTURE_LIMIT`] bytes of each direction), as a packet capture on the path
//! would see it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Bytes kept per direction by the capture.
pub const CAPTURE_LIMIT: usize = 8 << 20;

/// What crossed the path, each direction's bytes in the order they were forwarded.
#[derive(Debug, Default, Clone)]
pub struct Capture {
    pub up: Vec<u8>,
    pub down: Vec<u8>,
}

impl Capture {
    fn keep(buf: &mut Vec<u8>, bytes: &[u8]) {
        let room = CAPTURE_LIMIT.saturating_sub(buf.len());
        buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// Whether `needle` appears in either direction.
    pub fn contains(&self, needle: &[u8]) -> bool {
        let found = |hay: &[u8]| !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle);
        found(&self.up) || found(&self.down)
    }
}

#[derive(Debug)]
pub struct Proxy {
    addr: SocketAddr,
    upstream: SocketAddr,
    lose_responses: Arc<AtomicBool>,
    connections: Arc<AtomicU64>,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    up: Arc<Uplink>,
    capture: Arc<Mutex<Capture>>,
}

/// Bytes towards the server: counted, and optionally limited.
#[derive(Debug)]
struct Uplink {
    total: AtomicU64,
    /// Bytes still allowed through; `u64::MAX` = no limit.
    budget: AtomicU64,
    /// At the end of the budget, hold the connection open and wait (a stalled uplink) instead
    /// of dropping it.
    stall: AtomicBool,
}

impl Uplink {
    /// How many of `n` bytes may pass now (taking them from the budget).
    fn take(&self, n: u64) -> u64 {
        let mut allowed = 0;
        let _ = self.budget.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |b| {
            if b == u64::MAX {
                allowed = n;
                Some(b)
            } else {
                allowed = n.min(b);
                Some(b - allowed)
            }
        });
        self.total.fetch_add(allowed, Ordering::SeqCst);
        allowed
    }
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
            up: Arc::new(Uplink {
                total: AtomicU64::new(0),
                budget: AtomicU64::new(u64::MAX),
                stall: AtomicBool::new(false),
            }),
            capture: Arc::new(Mutex::new(Capture::default())),
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
        // Aborted tasks drop their listener at their next poll: the address frees up shortly.
        let mut tries = 0;
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(l) => break l,
                Err(e) if e.kind() == std::io::ErrorKind::AddrInUse && tries < 100 => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
                Err(e) => return Err(e),
            }
        };
        self.spawn_accept(listener);
        Ok(())
    }

    /// A copy of what crossed the path so far (both directions).
    pub fn captured(&self) -> Capture {
        self.capture.lock().unwrap().clone()
    }

    /// Bytes forwarded towards the server so far.
    pub fn bytes_up(&self) -> u64 {
        self.up.total.load(Ordering::SeqCst)
    }

    /// Lets `n` more bytes through towards the server, then drops connections (mid-request)
    /// until [`Proxy::uncap`].
    pub fn cut_after_bytes(&self, n: u64) {
        self.up.stall.store(false, Ordering::SeqCst);
        self.up.budget.store(n, Ordering::SeqCst);
    }

    /// Lets `n` more bytes through towards the server, then holds every connection open without
    /// forwarding more (the uplink stalls) until [`Proxy::uncap`].
    pub fn stall_after_bytes(&self, n: u64) {
        self.up.stall.store(true, Ordering::SeqCst);
        self.up.budget.store(n, Ordering::SeqCst);
    }

    /// Whether the budget is used up.
    pub fn exhausted(&self) -> bool {
        self.up.budget.load(Ordering::SeqCst) == 0
    }

    /// No more limit on bytes towards the server.
    pub fn uncap(&self) {
        self.up.budget.store(u64::MAX, Ordering::SeqCst);
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
        let up = self.up.clone();
        let capture = self.capture.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    return;
                };
                count.fetch_add(1, Ordering::SeqCst);
                let lose = lose.clone();
                let up = up.clone();
                let capture = capture.clone();
                let conn = tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = forward(client, server, lose, up, capture).await;
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

async fn forward(
    client: TcpStream,
    server: TcpStream,
    lose: Arc<AtomicBool>,
    up: Arc<Uplink>,
    capture: Arc<Mutex<Capture>>,
) -> std::io::Result<()> {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let (dead_tx, mut dead_rx) = tokio::sync::oneshot::channel::<()>();
    let capture_up = capture.clone();
    let upstream = tokio::spawn(async move {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match client_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let mut allowed = up.take(n as u64) as usize;
            Capture::keep(&mut capture_up.lock().unwrap().up, &buf[..allowed]);
            if server_write.write_all(&buf[..allowed]).await.is_err() {
                break;
            }
            while allowed < n && up.stall.load(Ordering::SeqCst) {
                // Stalled: nothing more goes out until the budget is lifted.
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                let more = up.take((n - allowed) as u64) as usize;
                Capture::keep(&mut capture_up.lock().unwrap().up, &buf[allowed..allowed + more]);
                if server_write
                    .write_all(&buf[allowed..allowed + more])
                    .await
                    .is_err()
                {
                    return;
                }
                allowed += more;
            }
            if allowed < n {
                // The uplink dies here: both directions go down mid-request.
                let _ = dead_tx.send(());
                return;
            }
        }
        let _ = server_write.shutdown().await;
    });
    // Aborting this connection (cut) must stop the upstream direction too.
    let _upstream_guard = AbortOnDrop(upstream.abort_handle());
    let mut buf = vec![0u8; 64 * 1024];
    let mut uplink_open = true;
    loop {
        let n = tokio::select! {
            n = server_read.read(&mut buf) => n?,
            died = &mut dead_rx, if uplink_open => match died {
                Ok(()) => return Ok(()),
                // The client finished sending normally: keep forwarding answers.
                Err(_) => {
                    uplink_open = false;
                    continue;
                }
            },
        };
        if n == 0 {
            break;
        }
        if lose.load(Ordering::SeqCst) {
            // The server answered; the answer never arrives. Drop the connection.
            upstream.abort();
            return Ok(());
        }
        Capture::keep(&mut capture.lock().unwrap().down, &buf[..n]);
        client_write.write_all(&buf[..n]).await?;
    }
    let _ = client_write.shutdown().await;
    upstream.abort();
    Ok(())
}

/// Aborts a task when dropped (a `JoinHandle` dropped only detaches it).
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
