//! The embedded SQLite store (SPEC §13): WAL with `synchronous=FULL`; one writer thread that drains a queue of
//! pending writes and commits them together (group commit: each caller is answered after the commit that holds
//! its write, one fsync for all); a few reader threads with cached prepared statements. Identical pages asked
//! together are read once ([`together`]).

mod exec;
mod readers;
mod together;
mod watchdog;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use crossbeam_channel::Sender;
use rusqlite::{Connection, OpenFlags};
use strata_core::Record;
use strata_core::schema::Schema;
use tokio::sync::oneshot;

pub use exec::SqliteExec;
use exec::map_error;
use readers::Readers;
use watchdog::Watchdog;
use writer::{Finish, WriteJob, write_loop};

use crate::error::{StoreError, StoreResult};
use crate::migrate::{self, Plan, ddl::Ddl};
use crate::model::*;
use crate::shared::{Page, PageSource, Together};
use crate::sql::Dialect;
use crate::sql::by_id::ByIdStatements;
use crate::{RecordStore, exec as ops, idempotency};

const DDL: Ddl = Ddl {
    dialect: Dialect::Sqlite,
    mysql_text_collation: "",
};

pub struct SqliteStore {
    writer: Sender<WriteJob>,
    readers: Readers,
    /// Pages, shared by the readers that ask for the same one together.
    pages: Arc<Together<Page>>,
    /// Reads by id, compiled once per collection, rule and caller.
    reads_by_id: ByIdStatements,
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
        let readers = Readers::start(path, readers, statement_timeout)?;
        Ok(SqliteStore {
            writer,
            pages: Together::new(Arc::new(readers.clone()) as Arc<dyn PageSource>),
            reads_by_id: ByIdStatements::new(Dialect::Sqlite),
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
        if query.ids.is_empty() {
            return Ok(Vec::new());
        }
        let read = self
            .reads_by_id
            .get(&query.scope, &query.collection, &query.conditions)?;
        self.readers
            .read(move |conn| run(ops::fetch(&mut SqliteExec { conn }, &read, &query.ids)))
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
