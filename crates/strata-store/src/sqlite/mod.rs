//! The embedded SQLite store (SPEC §13): WAL with `synchronous=FULL`; one writer thread that drains a queue of
//! pending writes and commits them together (group commit: each caller is answered after the commit that holds
//! its write, one fsync for all); a few reader threads with cached prepared statements.

mod exec;
mod watchdog;

use std::path::{Path, PathBuf};
use std::thread;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crossbeam_channel::{Receiver, Sender};
use rusqlite::{Connection, OpenFlags};
use strata_core::Record;
use strata_core::schema::Schema;
use tokio::sync::oneshot;

pub use exec::SqliteExec;
use exec::map_error;
use watchdog::Watchdog;

use crate::error::{StoreError, StoreResult};
use crate::migrate::{self, Plan, ddl::Ddl};
use crate::model::*;
use crate::sql::Dialect;
use crate::{RecordStore, exec as ops, idempotency};

/// The most writes one commit takes.
const GROUP_MAX: usize = 256;
const DDL: Ddl = Ddl {
    dialect: Dialect::Sqlite,
    mysql_text_collation: "",
};

type ReadJob = Box<dyn FnOnce(&mut Connection) + Send>;
/// A write runs inside its own savepoint and says whether it succeeded; its answer waits for the commit.
type WriteJob =
    Box<dyn FnOnce(&mut Connection) -> (bool, Box<dyn FnOnce(StoreResult<()>) + Send>) + Send>;

pub struct SqliteStore {
    writer: Sender<WriteJob>,
    readers: Sender<ReadJob>,
    path: PathBuf,
}

impl SqliteStore {
    /// Open (creating if needed) the database file and start the writer and `readers` reader threads.
    /// Statements running past `statement_timeout` are interrupted (503 `timeout`).
    pub fn open(
        path: &Path,
        readers: usize,
        statement_timeout: Duration,
    ) -> StoreResult<SqliteStore> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|e| {
                StoreError::Unavailable(
                    anyhow::Error::new(e).context(format!("creating {}", dir.display())),
                )
            })?;
        }
        let writer_conn = open_connection(path, statement_timeout, false)?;
        let writer_watchdog =
            Watchdog::install(&writer_conn, statement_timeout).map_err(map_error)?;
        let (writer, write_rx) = crossbeam_channel::unbounded::<WriteJob>();
        thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || write_loop(writer_conn, writer_watchdog, write_rx))
            .map_err(StoreError::other)?;
        let (readers_tx, read_rx) = crossbeam_channel::unbounded::<ReadJob>();
        for i in 0..readers.max(1) {
            let conn = open_connection(path, statement_timeout, true)?;
            let watchdog = Watchdog::install(&conn, statement_timeout).map_err(map_error)?;
            let rx = read_rx.clone();
            thread::Builder::new()
                .name(format!("sqlite-reader-{i}"))
                .spawn(move || read_loop(conn, watchdog, rx))
                .map_err(StoreError::other)?;
        }
        Ok(SqliteStore {
            writer,
            readers: readers_tx,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let (tx, rx) = oneshot::channel();
        let job: ReadJob = Box::new(move |conn| {
            let _ = tx.send(f(conn));
        });
        self.readers.send(job).map_err(|_| closed())?;
        rx.await.map_err(|_| closed())?
    }

    async fn write<T: Send + 'static, E: Send + 'static + From<StoreError>>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        let (tx, rx) = oneshot::channel::<Result<T, E>>();
        let job: WriteJob = Box::new(move |conn| {
            let result = f(conn);
            let ok = result.is_ok();
            let finish: Box<dyn FnOnce(StoreResult<()>) + Send> = Box::new(move |committed| {
                let _ = tx.send(match committed {
                    Ok(()) => result,
                    Err(e) => result.and(Err(E::from(e))),
                });
            });
            (ok, finish)
        });
        self.writer.send(job).map_err(|_| E::from(closed()))?;
        rx.await.map_err(|_| E::from(closed()))?
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable(anyhow::anyhow!("the SQLite store is closed"))
}

fn open_connection(
    path: &Path,
    busy_timeout: Duration,
    read_only: bool,
) -> StoreResult<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(|e| {
        StoreError::Unavailable(
            anyhow::Error::new(e).context(format!("opening {}", path.display())),
        )
    })?;
    conn.busy_timeout(busy_timeout).map_err(map_error)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
    )
    .map_err(map_error)?;
    if read_only {
        conn.execute_batch("PRAGMA query_only = ON;")
            .map_err(map_error)?;
    }
    conn.set_prepared_statement_cache_capacity(256);
    crate::sql::filter::register_sqlite_functions(&conn).map_err(map_error)?;
    Ok(conn)
}

fn read_loop(mut conn: Connection, watchdog: Watchdog, jobs: Receiver<ReadJob>) {
    while let Ok(job) = jobs.recv() {
        watchdog.guard(|| job(&mut conn));
    }
}

/// Group commit: take every write waiting, run each in a savepoint, commit once, then answer each.
fn write_loop(mut conn: Connection, watchdog: Watchdog, jobs: Receiver<WriteJob>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < GROUP_MAX {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let e = map_error(e);
            for job in group {
                let (_, finish) = job(&mut conn);
                finish(Err(StoreError::Unavailable(anyhow::anyhow!("{e}"))));
            }
            continue;
        }
        let mut finishers = Vec::with_capacity(group.len());
        for job in group {
            let savepoint = conn.execute_batch("SAVEPOINT w");
            let (ok, finish) = watchdog.guard(|| job(&mut conn));
            let end = if ok {
                "RELEASE w"
            } else {
                "ROLLBACK TO w; RELEASE w"
            };
            let ended = savepoint.and_then(|()| conn.execute_batch(end));
            finishers.push((finish, ended.err()));
        }
        let committed = conn.execute_batch("COMMIT").map_err(map_error);
        if committed.is_err() {
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

/// Drive an [`ops`] future on a store thread: SQLite's futures never wait, so one poll finishes them.
fn run<T>(f: impl std::future::Future<Output = T>) -> T {
    futures::executor::block_on(f)
}

#[async_trait]
impl RecordStore for SqliteStore {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn ping(&self) -> StoreResult<()> {
        self.read(|conn| conn.execute_batch("SELECT 1").map_err(map_error))
            .await
    }

    async fn plan(&self, schema: &Schema) -> StoreResult<Plan> {
        let schema = schema.clone();
        self.write(move |conn| {
            conn.execute_batch(&migrate::bootstrap_statement(&DDL))
                .map_err(map_error)?;
            let applied = run(migrate::applied(&mut SqliteExec { conn }))?;
            Ok::<_, StoreError>(migrate::plan(&DDL, &applied, &schema))
        })
        .await
    }

    async fn migrate(&self, schema: &Schema, allow_destructive: bool) -> StoreResult<Plan> {
        let schema = schema.clone();
        // The writer thread is the migration lock: no other write runs meanwhile.
        self.write(move |conn| {
            conn.execute_batch(&migrate::bootstrap_statement(&DDL))
                .map_err(map_error)?;
            let mut e = SqliteExec { conn };
            let applied = run(migrate::applied(&mut e))?;
            let plan = migrate::plan(&DDL, &applied, &schema);
            run(migrate::apply(&mut e, &plan, allow_destructive))?;
            Ok::<_, StoreError>(plan)
        })
        .await
    }

    async fn list(&self, query: ListQuery) -> StoreResult<ListPage> {
        self.read(move |conn| run(ops::list(&mut SqliteExec { conn }, &query)))
            .await
    }

    async fn fetch(&self, query: FetchQuery) -> StoreResult<Vec<Record>> {
        self.read(move |conn| run(ops::fetch(&mut SqliteExec { conn }, &query)))
            .await
    }

    async fn check(&self, query: CheckQuery) -> StoreResult<Vec<Checked>> {
        self.read(move |conn| run(ops::check(&mut SqliteExec { conn }, &query)))
            .await
    }

    async fn write(&self, batch: WriteBatch) -> Result<Vec<WriteOutcome>, BatchError> {
        let last = batch.ops.len().saturating_sub(1);
        SqliteStore::write(self, move |conn| {
            run(ops::apply_batch(&mut SqliteExec { conn }, batch)).map_err(BatchFailure)
        })
        .await
        .map_err(|e: BatchFailure| e.0)
        .map_err(|e| {
            if e.index == usize::MAX {
                BatchError {
                    index: last,
                    error: e.error,
                }
            } else {
                e
            }
        })
    }

    async fn auth(&self, op: crate::auth::AuthOp) -> StoreResult<crate::auth::AuthReply> {
        if op.is_read() {
            self.read(move |conn| run(crate::auth::apply(&mut SqliteExec { conn }, op)))
                .await
        } else {
            self.write(move |conn| run(crate::auth::apply(&mut SqliteExec { conn }, op)))
                .await
        }
    }

    async fn claim_idempotency(
        &self,
        key: IdempotencyKey,
        lapse_before: DateTime<Utc>,
    ) -> StoreResult<Claim> {
        self.write(move |conn| {
            run(idempotency::claim(
                &mut SqliteExec { conn },
                &key,
                lapse_before,
            ))
        })
        .await
    }

    async fn complete_idempotency(
        &self,
        key: IdempotencyKey,
        response: IdempotentResponse,
    ) -> StoreResult<()> {
        self.write(move |conn| {
            run(idempotency::complete(
                &mut SqliteExec { conn },
                &key,
                &response,
            ))
        })
        .await
    }

    async fn release_idempotency(&self, key: IdempotencyKey) -> StoreResult<()> {
        self.write(move |conn| run(idempotency::release(&mut SqliteExec { conn }, &key)))
            .await
    }

    async fn close(&self) {
        // Every queued write is answered before this returns: the writer handles jobs in order.
        let _ = self
            .write(|conn| {
                conn.execute_batch("PRAGMA wal_checkpoint(PASSIVE)")
                    .map_err(map_error)
            })
            .await;
    }
}

/// A batch error that a failed commit can also produce.
struct BatchFailure(BatchError);

impl From<StoreError> for BatchFailure {
    fn from(error: StoreError) -> Self {
        BatchFailure(BatchError {
            index: usize::MAX,
            error,
        })
    }
}

impl From<BatchError> for BatchFailure {
    fn from(e: BatchError) -> Self {
        BatchFailure(e)
    }
}
