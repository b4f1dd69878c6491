//! The embedded SQLite store (SPEC §13): WAL with `synchronous=FULL`; one writer thread that drains a queue of
//! pending writes and commits them together (group commit: each caller is answered after the commit that holds
//! its write, one fsync for all); a few reader threads with cached prepared statements. Identical pages asked
//! together are read once ([`together`]).

mod exec;
mod together;
mod watchdog;

use std::path::{Path, PathBuf};
use std::sync::Arc;
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
use crate::shared::{Page, PageSource, Together};
use crate::sql::Dialect;
use crate::{RecordStore, exec as ops, idempotency};

/// The most writes one commit takes.
const GROUP_MAX: usize = 256;
const DDL: Ddl = Ddl {
    dialect: Dialect::Sqlite,
    mysql_text_collation: "",
};

type ReadJob = Box<dyn FnOnce(&mut Connection) + Send>;
/// What a write job hands back: whether it succeeded, and how to answer its caller once its commit is decided.
type Finish = Box<dyn FnOnce(StoreResult<()>) + Send>;

/// A write for the group commit. Its answer waits for the commit that holds it.
struct WriteJob {
    /// Whether the write runs in a savepoint of its own. Without one, a failed write must have changed nothing
    /// (see [`write_loop`]); a write that may fail after it changed rows needs one.
    savepoint: bool,
    /// Runs the write on the connection, or answers the error at once when there is no transaction to run it in.
    run: RunWrite,
}

/// A write's body: given the connection (or the error that keeps it from running), it says whether it succeeded
/// and how to answer its caller.
type RunWrite = Box<dyn FnOnce(Result<&mut Connection, StoreError>) -> (bool, Finish) + Send>;

pub struct SqliteStore {
    writer: Sender<WriteJob>,
    readers: Readers,
    /// Pages, shared by the readers that ask for the same one together.
    pages: Arc<Together<Page>>,
    path: PathBuf,
}

/// The reader threads' queue.
#[derive(Clone)]
pub(crate) struct Readers(Sender<ReadJob>);

impl Readers {
    async fn read<T: Send + 'static>(
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
        let readers = Readers(readers_tx);
        Ok(SqliteStore {
            writer,
            pages: Together::new(Arc::new(readers.clone()) as Arc<dyn PageSource>),
            readers,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` in the writer thread, in a savepoint of its own within the group's transaction.
    async fn write<T: Send + 'static, E: Send + 'static + From<StoreError>>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        self.write_in(true, f).await
    }

    async fn write_in<T: Send + 'static, E: Send + 'static + From<StoreError>>(
        &self,
        savepoint: bool,
        f: impl FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E> {
        let (tx, rx) = oneshot::channel::<Result<T, E>>();
        let run = Box::new(move |conn: Result<&mut Connection, StoreError>| {
            let result = conn.map_err(E::from).and_then(f);
            let ok = result.is_ok();
            let finish: Finish = Box::new(move |committed| {
                let _ = tx.send(match committed {
                    Ok(()) => result,
                    Err(e) => result.and(Err(E::from(e))),
                });
            });
            (ok, finish)
        });
        let job = WriteJob { savepoint, run };
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

/// Group commit: take every write waiting (up to [`GROUP_MAX`]), run each in turn in one transaction, commit
/// once, then answer each.
///
/// A write that may fail after changing rows runs in a savepoint, rolled back if it fails. The others (a single
/// record write whose checks all come before its statements) run without one: a savepoint makes SQLite copy every
/// page the write touches into a statement journal, about a fifth of a create's instructions. Should such a write
/// fail with rows changed after all (a storage error), the whole transaction is rolled back: the writes already
/// run in it are answered `unavailable` (nothing of theirs was committed) and those not yet run go on in the next
/// transaction.
fn write_loop(mut conn: Connection, watchdog: Watchdog, jobs: Receiver<WriteJob>) {
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
fn control(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
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
        self.readers
            .read(|conn| conn.execute_batch("SELECT 1").map_err(map_error))
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
        let page = ops::PageStatements::new(Dialect::Sqlite, &query)?;
        self.pages.send(Page(page), ()).await
    }

    async fn fetch(&self, query: FetchQuery) -> StoreResult<Vec<Record>> {
        self.readers
            .read(move |conn| run(ops::fetch(&mut SqliteExec { conn }, &query)))
            .await
    }

    async fn check(&self, query: CheckQuery) -> StoreResult<Vec<Checked>> {
        self.readers
            .read(move |conn| run(ops::check(&mut SqliteExec { conn }, &query)))
            .await
    }

    async fn write(&self, batch: WriteBatch) -> Result<Vec<WriteOutcome>, BatchError> {
        let last = batch.ops.len().saturating_sub(1);
        let savepoint = batch.may_fail_after_writing();
        self.write_in(savepoint, move |conn| {
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
            self.readers
                .read(move |conn| run(crate::auth::apply(&mut SqliteExec { conn }, op)))
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
