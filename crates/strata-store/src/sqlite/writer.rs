//! The writer thread: one connection that runs every write, in groups that share one transaction and one
//! commit (group commit).

use crossbeam_channel::Receiver;
use rusqlite::Connection;

use super::exec::map_error;
use super::watchdog::Watchdog;
use crate::error::{StoreError, StoreResult};

/// The most writes one commit takes.
const GROUP_MAX: usize = 256;

/// What a write job hands back: whether it succeeded, and how to answer its caller once its commit is decided.
pub(super) type Finish = Box<dyn FnOnce(StoreResult<()>) + Send>;

/// A write for the group commit. Its answer waits for the commit that holds it.
pub(super) struct WriteJob {
    /// Whether the write runs in a savepoint of its own. Without one, a failed write must have changed nothing
    /// (see [`write_loop`]); a write that may fail after it changed rows needs one.
    pub(super) savepoint: bool,
    /// Runs the write on the connection, or answers the error at once when there is no transaction to run it in.
    pub(super) run: RunWrite,
}

/// A write's body: given the connection (or the error that keeps it from running), it says whether it succeeded
/// and how to answer its caller.
pub(super) type RunWrite =
    Box<dyn FnOnce(Result<&mut Connection, StoreError>) -> (bool, Finish) + Send>;

/// Group commit: take every write waiting (up to [`GROUP_MAX`]), run each in turn in one transaction, commit
/// once, then answer each.
///
/// A write that may fail after changing rows runs in a savepoint, rolled back if it fails. The others (a single
/// record write whose checks all come before its statements) run without one: a savepoint makes SQLite copy every
/// page the write touches into a statement journal, about a fifth of a create's instructions. Should such a write
/// fail with rows changed after all (a storage error), the whole transaction is rolled back: the writes already
/// run in it are answered `unavailable` (nothing of theirs was committed) and those not yet run go on in the next
/// transaction.
pub(super) fn write_loop(mut conn: Connection, watchdog: Watchdog, jobs: Receiver<WriteJob>) {
    let mut pending = std::collections::VecDeque::new();
    loop {
        if pending.is_empty() {
            match jobs.recv() {
                Ok(job) => pending.push_back(job),
                Err(_) => return,
            }
        }
        while pending.len() < GROUP_MAX {
            match jobs.try_recv() {
                Ok(job) => pending.push_back(job),
                Err(_) => break,
            }
        }
        if let Err(e) = control(&conn, "BEGIN IMMEDIATE") {
            let e = map_error(e);
            for job in pending.drain(..) {
                let failed = StoreError::Unavailable(anyhow::anyhow!("{e}"));
                let (_, finish) = (job.run)(Err(failed));
                finish(Ok(()));
            }
            continue;
        }
        let mut finishers = Vec::with_capacity(pending.len());
        let mut rolled_back = false;
        while let Some(job) = pending.pop_front() {
            if job.savepoint {
                let savepoint = control(&conn, "SAVEPOINT w");
                let (ok, finish) = watchdog.guard(|| (job.run)(Ok(&mut conn)));
                let ended = savepoint.and_then(|()| {
                    if !ok {
                        control(&conn, "ROLLBACK TO w")?;
                    }
                    control(&conn, "RELEASE w")
                });
                finishers.push((finish, ended.err()));
                continue;
            }
            let changes = conn.total_changes();
            let (ok, finish) = watchdog.guard(|| (job.run)(Ok(&mut conn)));
            if ok || conn.total_changes() == changes {
                finishers.push((finish, None));
                continue;
            }
            let _ = conn.execute_batch("ROLLBACK");
            rolled_back = true;
            finish(Ok(()));
            break;
        }
        let committed = if rolled_back {
            Err(StoreError::Unavailable(anyhow::anyhow!(
                "a write failed after changing rows; its group was rolled back"
            )))
        } else {
            control(&conn, "COMMIT").map_err(map_error)
        };
        if committed.is_err() && !rolled_back {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for (finish, savepoint_error) in finishers {
            match (&committed, savepoint_error) {
                (Ok(()), None) => finish(Ok(())),
                (Ok(()), Some(e)) => finish(Err(map_error(e))),
                (Err(e), _) => finish(Err(StoreError::Unavailable(anyhow::anyhow!(
                    "commit failed: {e}"
                )))),
            }
        }
    }
}

/// Run one transaction-control statement from the statement cache: the one writer thread runs several per write,
/// and need not parse them each time.
pub(super) fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}
