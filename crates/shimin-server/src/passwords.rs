//! Password hashing (argon2id) with bounded memory (issue 16, finding 1).
//!
//! Each hash needs `m` KiB of working memory (19 MiB by default). Allocated per request, 32
//! concurrent logins took the server from 213 MiB to 1.9 GiB, and glibc kept it: after the first
//! large block is freed its mmap threshold rises, so later ones come from the heap and are never
//! returned. So: at most [`Hasher::permits`] hashes run at once (one per core; more would only
//! queue on the CPU), each in one of as many buffers allocated once and reused; requests beyond
//! a queue of [`MAX_WAITING`] are refused at once as busy instead of piling up. The server's
//! memory for passwords is therefore `permits × m` whatever the traffic.
//!
//! A flood from many addresses still fills that queue, so checks come in two [`Lane`]s: an
//! account's own desk (an installation the server has seen that account log in from) and
//! everyone else. Everyone else may hold at most `permits − 1` hashers and has its own waiting
//! limit, so a clerk at the own desk waits for one hash at most, never for the flood, and is
//! never turned away as busy by it (with one core the lanes take turns).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use crate::{Error, HashParams, Result};

/// Password checks waiting for a free hasher beyond which new ones are refused as busy.
pub const MAX_WAITING: usize = 64;

/// Whose password check it is (see the module's comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lane {
    /// From an installation the account has logged in from before, or an authenticated
    /// session (a password change).
    OwnDesk,
    /// Anyone else: new installations, unknown names, attackers.
    Others,
}

/// The server's password hashers.
#[derive(Debug)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// What [`Lane::Others`] must hold besides a permit: one fewer than the permits.
    others: Arc<Semaphore>,
    buffers: Arc<Mutex<Vec<Vec<Block>>>>,
    /// Checks waiting, per lane (own desk, others).
    waiting: [AtomicUsize; 2],
    /// Hashes running now, and the most ever at once (a check of the bound; a metric).
    running: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
    /// Parameters of new hashes; buffers hold at least their memory.
    params: HashParams,
    count: usize,
}

impl Hasher {
    /// Hashers for `params`, one per available core (at most 4).
    pub fn new(params: HashParams) -> Hasher {
        let count = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 4);
        Hasher {
            permits: Arc::new(Semaphore::new(count)),
            others: Arc::new(Semaphore::new((count - 1).max(1))),
            buffers: Arc::default(),
            waiting: Default::default(),
            running: Arc::default(),
            peak: Arc::default(),
            params,
            count,
        }
    }

    /// How many hashes may run at once.
    pub fn permits(&self) -> usize {
        self.count
    }

    /// Checks of `lane` waiting for a hasher now.
    pub fn waiting(&self, lane: Lane) -> usize {
        self.waiting[lane as usize].load(Ordering::SeqCst)
    }

    /// The most hashes that ever ran at once.
    pub fn peak_concurrency(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }

    /// Runs `work` with a hasher's memory on the blocking pool, when one is free.
    async fn with_memory<T: Send + 'static>(
        &self,
        lane: Lane,
        work: impl FnOnce(&mut Vec<Block>) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let waiting = &self.waiting[lane as usize];
        if waiting.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
            waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::Busy);
        }
        let acquired = async {
            let gate = match lane {
                Lane::OwnDesk => None,
                Lane::Others => Some(self.others.clone().acquire_owned().await?),
            };
            Ok::<_, tokio::sync::AcquireError>((gate, self.permits.clone().acquire_owned().await?))
        }
        .await;
        waiting.fetch_sub(1, Ordering::SeqCst);
        let (gate, permit) = acquired.map_err(Error::internal)?;
        let buffers = self.buffers.clone();
        let (running, peak) = (self.running.clone(), self.peak.clone());
        let blocks = (self.params.m_kib as usize).max(Params::DEFAULT_M_COST as usize);
        tokio::task::spawn_blocking(move || {
            let _held = (gate, permit);
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(now, Ordering::SeqCst);
            let mut memory = lock(&buffers).pop().unwrap_or_default();
            if memory.len() < blocks {
                memory.resize(blocks, Block::default());
            }
            let result = work(&mut memory);
            lock(&buffers).push(memory);
            running.fetch_sub(1, Ordering::SeqCst);
            result
        })
        .await
        .map_err(Error::internal)?
    }

    /// A new PHC hash of `password` with the configured parameters (for an authenticated user
    /// or an administrator: the own lane).
    pub async fn hash(&self, password: String) -> Result<String> {
        let params = self.params;
        self.with_memory(Lane::OwnDesk, move |memory| hash_with(params, &password, memory))
            .await
    }

    /// Whether `password` matches the stored PHC `hash` (its own parameters).
    pub async fn verify(&self, lane: Lane, hash: String, password: String) -> Result<bool> {
        self.with_memory(lane, move |memory| verify_with(&hash, &password, memory))
            .await
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn argon2(params: HashParams) -> Result<(Argon2<'static>, Params)> {
    let p = Params::new(params.m_kib, params.t, params.p, None).map_err(Error::internal)?;
    Ok((Argon2::new(Algorithm::Argon2id, Version::V0x13, p.clone()), p))
}

/// Hashes into a PHC string using `memory` (grown if the parameters need more).
pub fn hash_with(params: HashParams, password: &str, memory: &mut Vec<Block>) -> Result<String> {
    let (a, p) = argon2(params)?;
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut salt_bytes).map_err(Error::internal)?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    if memory.len() < p.block_count() {
        memory.resize(p.block_count(), Block::default());
    }
    a.hash_password_into_with_memory(password.as_bytes(), raw_salt, &mut out, &mut memory[..])
        .map_err(Error::internal)?;
    let phc = PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&p).map_err(Error::internal)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(Error::internal)?),
    };
    Ok(phc.to_string())
}

/// Checks a password against a PHC hash using `memory`; the comparison is constant-time.
pub fn verify_with(hash: &str, password: &str, memory: &mut Vec<Block>) -> Result<bool> {
    let parsed = PasswordHash::new(hash).map_err(Error::internal)?;
    let params = Params::try_from(&parsed).map_err(Error::internal)?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(Error::internal)?;
    let version = parsed
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(Error::internal)?
        .unwrap_or_default();
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return Ok(false);
    };
    let mut salt_bytes = [0u8; 64];
    let raw_salt = salt.decode_b64(&mut salt_bytes).map_err(Error::internal)?;
    let mut out = vec![0u8; expected.len()];
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password.as_bytes(), raw_salt, &mut out, &mut memory[..])
        .map_err(Error::internal)?;
    // `Output`'s equality is constant-time.
    Ok(Output::new(&out).map_err(Error::internal)? == expected)
}

/// Hashes without a pool (admin commands and the demo's one hash).
pub fn hash_once(params: HashParams, password: &str) -> Result<String> {
    hash_with(params, password, &mut Vec::new())
}
