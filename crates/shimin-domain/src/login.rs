//! How login attempts are throttled (R-PWD, §17): growing delays instead of a fixed lockout,
//! so guessing stays slow for an attacker while a lockout can neither be used as a weapon
//! against a colleague nor tell which user names exist.
//!
//! The server keeps a failure count per *throttle key*: an account as seen from unknown client
//! installations (every stranger shares it, also for names no account has), or an account on
//! one of its own known installations (the desk it logged in from before). The first few
//! failures cost nothing; from [`LoginPolicy::free_failures`] on, every further failure makes the
//! key wait, doubling each time up to a cap; a success clears the key.

use std::time::Duration;

/// The throttling rule's numbers (the server's configuration may change them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginPolicy {
    /// Failures a key may have before it must wait.
    pub free_failures: u32,
    /// The wait after the first failure beyond the free ones.
    pub first_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            free_failures: 4,
            first_delay: Duration::from_secs(30),
            max_delay: Duration::from_secs(15 * 60),
        }
    }
}

impl LoginPolicy {
    /// How long a key must wait after its `failures`-th consecutive failure (`None`: no wait).
    pub fn delay_after(&self, failures: u32) -> Option<Duration> {
        let beyond = failures.checked_sub(self.free_failures + 1)?;
        let factor = 1u32.checked_shl(beyond.min(31)).unwrap_or(u32::MAX);
        Some(self.first_delay.saturating_mul(factor).min(self.max_delay))
    }

    /// Whether a key with this many failures counts as under attack (an alert is raised when
    /// the count reaches one of these).
    pub fn is_alert_level(&self, failures: u32) -> bool {
        [10, 50, 200, 1000].contains(&failures)
    }
}

/// The longest user name the server considers (longer ones cannot name an account).
pub const MAX_USERNAME_CHARS: usize = 64;
