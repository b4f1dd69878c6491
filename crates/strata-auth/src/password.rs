//! Passwords (SPEC §6, §14): Argon2id, 8 to 256 characters, hashed and verified on a small fixed pool of
//! dedicated threads, one per core. Each thread owns one Argon2 memory block, sized from the parameters and reused
//! for every hash, so passwords hold `threads × memory` (2 × 19 MiB at the defaults) however many sign-ins come.
//! (Hashing on the runtime's blocking threads instead allocated and freed 19 MiB per hash; glibc then raised its
//! mmap threshold and served later blocks from per-thread arenas that it kept, and a login load grew the process
//! to 250–360 MiB.) As many requests may wait as there are threads; past that the caller gets [`Busy`] (503 with
//! `Retry-After`), so a burst of sign-ins cannot exhaust memory or queue without end.

use argon2::Params;
use crossbeam_channel::Sender;
use tokio::sync::oneshot;

use crate::phc::{self, Memory};

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 256;

/// The hashing pool is full.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the password hashing pool is busy")]
pub struct Busy;

/// Why the hasher could not start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("argon2 parameters: {0}")]
    Params(#[from] argon2::Error),
    #[error("the unmatchable hash: {0}")]
    Dummy(argon2::password_hash::Error),
    #[error("starting a hashing thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy)]
pub struct PasswordPolicy {
    /// Memory in KiB.
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl Default for PasswordPolicy {
    /// OWASP's recommendation for Argon2id: 19 MiB, 2 iterations, 1 lane.
    fn default() -> Self {
        PasswordPolicy {
            memory_kib: 19 * 1024,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Why a password is refused before hashing.
pub fn check_length(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_LENGTH {
        Err(format!("must be at least {MIN_LENGTH} characters"))
    } else if n > MAX_LENGTH {
        Err(format!("must be at most {MAX_LENGTH} characters"))
    } else {
        Ok(())
    }
}

/// Work for a hashing thread, run with the thread's memory.
type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// Hashes and verifies passwords off the async runtime, on threads of its own. Cheap to clone; the threads stop
/// when the last clone is dropped.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    jobs: Sender<Job>,
    /// A PHC string no password matches, verified against when the account does not exist, so that an unknown
    /// email costs what a wrong password costs.
    dummy: std::sync::Arc<str>,
}

impl PasswordHasher {
    /// A pool of one thread per core.
    pub fn new(policy: PasswordPolicy) -> Result<PasswordHasher, SetupError> {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        PasswordHasher::with_threads(policy, threads)
    }

    /// A pool of `threads` threads (at least one), each with its own Argon2 memory, and as many places to wait.
    pub fn with_threads(
        policy: PasswordPolicy,
        threads: usize,
    ) -> Result<PasswordHasher, SetupError> {
        let params = Params::new(
            policy.memory_kib,
            policy.iterations,
            policy.parallelism,
            None,
        )?;
        let dummy = phc::unmatchable(&params).map_err(SetupError::Dummy)?;
        let threads = threads.max(1);
        let (jobs, queue) = crossbeam_channel::bounded::<Job>(threads);
        for i in 0..threads {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("strata-argon2-{i}"))
                .spawn(move || {
                    let mut memory = Memory::default();
                    while let Ok(job) = queue.recv() {
                        // A job that panics loses its answer (the caller gets `Busy`), not the thread.
                        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            job(&mut memory)
                        }));
                    }
                })?;
        }
        Ok(PasswordHasher {
            params,
            jobs,
            dummy: dummy.into(),
        })
    }

    /// Run `work` on a hashing thread; [`Busy`] at once when every thread is working and the queue is full.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Memory) -> T + Send + 'static,
    ) -> Result<T, Busy> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            // The caller may have gone (a dropped request): the answer is then nobody's.
            let _ = reply.send(work(memory));
        });
        // Full: every thread is working and the queue is full. Disconnected: the threads are gone.
        self.jobs.try_send(job).map_err(|_| Busy)?;
        answer.await.map_err(|_| Busy)
    }

    /// The PHC string of `password`.
    pub async fn hash(&self, password: &str) -> Result<String, Busy> {
        let (params, password) = (self.params.clone(), password.to_owned());
        self.run(move |memory| phc::hash(&params, password.as_bytes(), memory))
            .await?
            .map_err(|_| Busy)
    }

    /// Whether `password` matches `hash`; with `None` (no such account) the same work is done and `false` is
    /// the answer.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> Result<bool, Busy> {
        let known = hash.is_some();
        let hash = hash.map_or_else(|| self.dummy.to_string(), str::to_owned);
        let password = password.to_owned();
        let matched = self
            .run(move |memory| phc::verify(&hash, password.as_bytes(), memory))
            .await?;
        Ok(matched && known)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(PasswordPolicy {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        })
        .expect("params")
    }

    #[tokio::test]
    async fn a_password_verifies_against_its_own_hash_only() {
        let hasher = cheap();
        let hash = hasher.hash("correct horse").await.expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            hasher
                .verify("correct horse", Some(&hash))
                .await
                .expect("verify")
        );
        assert!(
            !hasher
                .verify("wrong horse", Some(&hash))
                .await
                .expect("verify")
        );
        assert!(
            !hasher.verify("correct horse", None).await.expect("verify"),
            "no account: no match"
        );
        assert_ne!(
            hash,
            hasher.hash("correct horse").await.expect("hash"),
            "salted"
        );
    }

    #[tokio::test]
    async fn a_full_pool_answers_busy_at_once_and_takes_work_again_when_free() {
        let hasher = PasswordHasher::with_threads(
            PasswordPolicy {
                memory_kib: 64,
                iterations: 1,
                parallelism: 1,
            },
            1,
        )
        .expect("hasher");
        let (started_tx, started) = std::sync::mpsc::channel();
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let working = tokio::spawn({
            let hasher = hasher.clone();
            async move {
                hasher
                    .run(move |_| {
                        let _ = started_tx.send(());
                        let _ = gate.recv();
                    })
                    .await
            }
        });
        tokio::task::spawn_blocking(move || started.recv())
            .await
            .expect("joined")
            .expect("the thread took the first job");
        let waiting = tokio::spawn({
            let hasher = hasher.clone();
            async move { hasher.verify("correct horse", None).await }
        });
        while hasher.jobs.is_empty() {
            tokio::task::yield_now().await;
        }
        assert!(
            matches!(hasher.verify("correct horse", None).await, Err(Busy)),
            "one working, one waiting: full"
        );
        release.send(()).expect("released");
        working.await.expect("joined").expect("the first job ran");
        assert!(!waiting.await.expect("joined").expect("the waiting job ran"));
        let hash = hasher.hash("correct horse").await.expect("free again");
        assert!(
            hasher
                .verify("correct horse", Some(&hash))
                .await
                .expect("verify")
        );
    }

    #[test]
    fn lengths_are_8_to_256_characters() {
        assert!(check_length("1234567").is_err());
        assert!(check_length("12345678").is_ok());
        assert!(check_length(&"é".repeat(256)).is_ok());
        assert!(check_length(&"x".repeat(257)).is_err());
    }
}
