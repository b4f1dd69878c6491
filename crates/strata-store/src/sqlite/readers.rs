//! The reader threads: each owns a read-only connection and runs the read jobs queued for any of them, under
//! the statement timeout.

use std::path::Path;
use std::thread;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};
use rusqlite::Connection;
use tokio::sync::oneshot;

use super::watchdog::Watchdog;
use super::{closed, exec::map_error, open_connection};
use crate::error::{StoreError, StoreResult};

type ReadJob = Box<dyn FnOnce(&mut Connection) + Send>;

/// The reader threads' queue.
#[derive(Clone)]
pub(super) struct Readers(Sender<ReadJob>);

impl Readers {
    /// Open `count` read-only connections to `path`, each on a thread of its own.
    pub(super) fn start(
        path: &Path,
        count: usize,
        statement_timeout: Duration,
    ) -> StoreResult<Readers> {
        let (jobs, queue) = crossbeam_channel::unbounded::<ReadJob>();
        for i in 0..count.max(1) {
            let conn = open_connection(path, statement_timeout, true)?;
            let watchdog = Watchdog::install(&conn, statement_timeout).map_err(map_error)?;
            let queue = queue.clone();
            thread::Builder::new()
                .name(format!("sqlite-reader-{i}"))
                .spawn(move || read_loop(conn, watchdog, queue))
                .map_err(StoreError::other)?;
        }
        Ok(Readers(jobs))
    }

    /// Run `f` on a reader thread's connection.
    pub(super) async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let (tx, rx) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn| {
            let _ = tx.send(f(conn));
        });
        self.0.send(job).map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }
}

fn read_loop(mut conn: Connection, watchdog: Watchdog, jobs: Receiver<ReadJob>) {
    while let Ok(job) = jobs.recv() {
        watchdog.guard(|| job(&mut conn));
    }
}
