//! Sign-in throttling (SPEC §14): 10 failures per (account, IP) and 100 per IP in 15 minutes, then 429 with
//! `Retry-After`. Counting per (account, IP) means nobody can lock a user out from elsewhere. Memory is bounded:
//! old failures are dropped as the window slides and the table is capped.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

const WINDOW: Duration = Duration::from_secs(15 * 60);
const PER_ACCOUNT_AND_IP: usize = 10;
const PER_IP: usize = 100;
/// The most keys tracked; past it the stalest are forgotten.
const MAX_KEYS: usize = 100_000;

#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Throttle {
    fn keys(realm: &str, account: &str, ip: &str) -> [(String, usize); 2] {
        [
            (format!("{realm}|{account}|{ip}"), PER_ACCOUNT_AND_IP),
            (format!("{realm}|ip|{ip}"), PER_IP),
        ]
    }

    /// `Some(seconds to wait)` when this sign-in must not be tried now.
    pub fn check(&self, realm: &str, account: &str, ip: &str) -> Option<u64> {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        Self::keys(realm, account, ip)
            .into_iter()
            .find_map(|(key, limit)| {
                let list = failures.get_mut(&key)?;
                while list
                    .front()
                    .is_some_and(|t| now.duration_since(*t) > WINDOW)
                {
                    list.pop_front();
                }
                (list.len() >= limit).then(|| {
                    let oldest = list.front().copied().unwrap_or(now);
                    WINDOW
                        .saturating_sub(now.duration_since(oldest))
                        .as_secs()
                        .max(1)
                })
            })
    }

    pub fn failed(&self, realm: &str, account: &str, ip: &str) {
        let now = Instant::now();
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if failures.len() >= MAX_KEYS {
            failures.retain(|_, list| {
                list.back()
                    .is_some_and(|t| now.duration_since(*t) <= WINDOW)
            });
            if failures.len() >= MAX_KEYS {
                failures.clear();
            }
        }
        for (key, limit) in Self::keys(realm, account, ip) {
            let list = failures.entry(key).or_default();
            list.push_back(now);
            while list.len() > limit {
                list.pop_front();
            }
        }
    }

    /// A successful sign-in clears the account's failures from that address.
    pub fn succeeded(&self, realm: &str, account: &str, ip: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.remove(&Self::keys(realm, account, ip)[0].0);
    }
}

#[cfg(test)]
mod tests {
    use super::Throttle;

    #[test]
    fn ten_failures_lock_the_account_from_that_address_only() {
        let throttle = Throttle::default();
        for _ in 0..10 {
            assert!(throttle.check("user", "a@x.io", "1.1.1.1").is_none());
            throttle.failed("user", "a@x.io", "1.1.1.1");
        }
        assert!(
            throttle
                .check("user", "a@x.io", "1.1.1.1")
                .is_some_and(|s| s > 0)
        );
        assert!(
            throttle.check("user", "a@x.io", "2.2.2.2").is_none(),
            "not from elsewhere"
        );
        assert!(
            throttle.check("admin", "a@x.io", "1.1.1.1").is_none(),
            "admin sign-in counted apart"
        );
        assert!(throttle.check("user", "b@x.io", "1.1.1.1").is_none());
    }

    #[test]
    fn a_hundred_failures_lock_the_address() {
        let throttle = Throttle::default();
        for i in 0..100 {
            throttle.failed("user", &format!("{i}@x.io"), "3.3.3.3");
        }
        assert!(throttle.check("user", "new@x.io", "3.3.3.3").is_some());
        assert!(throttle.check("user", "new@x.io", "4.4.4.4").is_none());
    }
}
