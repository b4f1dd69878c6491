//! The statement timeout on SQLite (SPEC §14): a progress handler interrupts a statement that runs past its
//! deadline, which surfaces as `SQLITE_INTERRUPT` and then [`crate::StoreError::Timeout`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;

/// How many virtual-machine steps pass between two looks at the clock.
const CHECK_EVERY: i32 = 4_000;

/// The deadline of the job running on one connection; 0 when none runs.
pub struct Watchdog {
    deadline: Arc<AtomicU64>,
    epoch: Instant,
    timeout: Duration,
}

impl Watchdog {
    pub fn install(conn: &Connection, timeout: Duration) -> rusqlite::Result<Watchdog> {
        let deadline = Arc::new(AtomicU64::new(0));
        let epoch = Instant::now();
        let watched = deadline.clone();
        conn.progress_handler(
            CHECK_EVERY,
            Some(move || {
                let deadline = watched.load(Ordering::Relaxed);
                deadline != 0 && epoch.elapsed().as_micros() as u64 > deadline
            }),
        )?;
        Ok(Watchdog {
            deadline,
            epoch,
            timeout,
        })
    }

    /// Run `f` under the statement timeout.
    pub fn guard<T>(&self, f: impl FnOnce() -> T) -> T {
        let deadline = (self.epoch.elapsed() + self.timeout).as_micros() as u64;
        self.deadline.store(deadline.max(1), Ordering::Relaxed);
        let result = f();
        self.deadline.store(0, Ordering::Relaxed);
        result
    }
}
