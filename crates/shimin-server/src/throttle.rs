//! Throttling of password attempts (issue 16, findings 1–3), beside the growing delays per
//! throttle key of `shimin_domain::login` (kept in the database, shared by instances):
//!
//! - per client address, a token bucket in this instance's memory bounds how fast anyone can
//!   fail password checks (and so make the server hash and write audit rows); only failures
//!   cost a token, so a county's desks behind one NAT logging in at 08:30 are never slowed;
//!   and at most [`MAX_IN_FLIGHT_PER_ADDRESS`] checks of one address run or wait at once;
//! - which key an attempt counts against: [`key_for`].

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The per-address bucket's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressLimit {
    /// Attempts an address may make at once.
    pub burst: u32,
    /// Attempts it regains per minute.
    pub per_minute: u32,
}

impl Default for AddressLimit {
    fn default() -> Self {
        AddressLimit {
            burst: 30,
            per_minute: 30,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets per client address, and how many of an address's attempts are in progress.
#[derive(Debug)]
pub struct AddressLimiter {
    limit: AddressLimit,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
    in_flight: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

/// Password checks one address may have in progress (waiting or hashing) at once: a flood
/// from one address cannot fill the queue of the server's hashers, so others still log in.
pub const MAX_IN_FLIGHT_PER_ADDRESS: usize = 4;

/// An attempt in progress; dropped, it frees its address's place.
#[derive(Debug)]
pub struct Attempt {
    ip: IpAddr,
    in_flight: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Drop for Attempt {
    fn drop(&mut self) {
        let mut m = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = m.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                m.remove(&self.ip);
            }
        }
    }
}

/// Addresses remembered before full buckets are forgotten.
const MAX_TRACKED: usize = 10_000;

impl AddressLimiter {
    pub fn new(limit: AddressLimit) -> AddressLimiter {
        AddressLimiter {
            limit,
            buckets: Mutex::default(),
            in_flight: Arc::default(),
        }
    }

    /// Starts an attempt from `ip` if the address has a token left (not taken yet: see
    /// [`AddressLimiter::charge`]) and a place among its attempts in progress; `Err(seconds)`
    /// to wait otherwise.
    pub fn enter(&self, ip: IpAddr) -> Result<Attempt, u64> {
        {
            let mut m = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            let n = m.entry(ip).or_insert(0);
            if *n >= MAX_IN_FLIGHT_PER_ADDRESS {
                return Err(1);
            }
            *n += 1;
        }
        let attempt = Attempt {
            ip,
            in_flight: self.in_flight.clone(),
        };
        self.peek(ip)?;
        Ok(attempt)
    }

    /// Charges a failed attempt to `ip`.
    pub fn charge(&self, ip: IpAddr) {
        let _ = self.try_take(ip);
    }

    fn peek(&self, ip: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        match buckets.get_mut(&ip) {
            Some(b) => {
                self.refill(b, now);
                if b.tokens >= 1.0 {
                    Ok(())
                } else {
                    let per_sec = (f64::from(self.limit.per_minute) / 60.0).max(f64::MIN_POSITIVE);
                    Err(((1.0 - b.tokens) / per_sec).ceil().max(1.0) as u64)
                }
            }
            None => Ok(()),
        }
    }

    fn refill(&self, b: &mut Bucket, now: Instant) {
        let per_sec = f64::from(self.limit.per_minute) / 60.0;
        b.tokens =
            (b.tokens + now.duration_since(b.at).as_secs_f64() * per_sec).min(f64::from(self.limit.burst));
        b.at = now;
    }

    /// Takes one attempt for `ip`; `Err(seconds)` until one is available again.
    pub fn try_take(&self, ip: IpAddr) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&ip) {
            let burst = f64::from(self.limit.burst);
            let per_sec = f64::from(self.limit.per_minute) / 60.0;
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * per_sec < burst);
        }
        let b = buckets.entry(ip).or_insert(Bucket {
            tokens: f64::from(self.limit.burst),
            at: now,
        });
        self.refill(b, now);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let per_sec = (f64::from(self.limit.per_minute) / 60.0).max(f64::MIN_POSITIVE);
            Err(((1.0 - b.tokens) / per_sec).ceil().max(1.0) as u64)
        }
    }
}

/// The throttle key of an attempt on `username` from client installation `client_id`:
/// `dev:<name>:<client>` when that installation is one the account has logged in from (its own
/// desk keeps working while strangers guess), `acct:<name>` otherwise — for every stranger,
/// and for names no account has, so both are treated alike.
pub fn key_for(username: &str, client_id: &str, known_installation: bool) -> String {
    if known_installation {
        format!("dev:{username}:{client_id}")
    } else {
        format!("acct:{username}")
    }
}

/// An account's stranger key and the prefix of its installation keys (the sysadmin's unlock
/// clears both).
pub fn keys_of(username: &str) -> (String, String) {
    (format!("acct:{username}"), format!("dev:{username}:"))
}
