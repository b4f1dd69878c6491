//! The MySQL 8 and MariaDB store (SPEC §1, §14): a sqlx pool whose sessions run in UTC, in strict SQL mode and
//! under the statement timeout (MariaDB `max_statement_time`; MySQL `max_execution_time` for reads and
//! `innodb_lock_wait_timeout` for writes); one transaction per batch of writes, committed before the caller is
//! answered; schema migrations under `GET_LOCK`, so instances starting together apply each change once.

mod exec;
mod together;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlPool, MySqlPoolOptions};
use sqlx::{AssertSqlSafe, Row};
use strata_core::Record;
use strata_core::schema::Schema;

pub use exec::{MysqlExec, UniqueFields, map_error};

use crate::error::{StoreError, StoreResult};
use crate::exec::Exec;
use crate::migrate::{self, Plan, ddl::Ddl, model};
use crate::model::*;
use crate::shared::{CreatesInto, Page, PageSource, Together};
use crate::sql::by_id::ByIdStatements;
use crate::sql::{Dialect, SqlBuilder};
use crate::{RecordStore, exec as ops, idempotency};

/// Strict: invalid or out-of-range values are errors, never silently adjusted. `PIPES_AS_CONCAT` and
/// `NO_ENGINE_SUBSTITUTION` are what sqlx sets by default.
const SQL_MODE: &str = "STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION,PIPES_AS_CONCAT";

/// How long a starting instance waits for another one's migration, in seconds.
const MIGRATION_LOCK_WAIT: u32 = 30;

/// Records in MySQL 8 or MariaDB, through a pool of connections.
pub struct MysqlStore {
    db: Db,
    mariadb: bool,
    /// Reads by id and pages, shared by the readers that arrive together.
    by_id: Arc<Together<together::ById>>,
    /// Reads by id, compiled once per collection, rule and caller.
    reads_by_id: ByIdStatements,
    pages: Arc<Together<Page>>,
    /// Lone creates into one collection, written together when they arrive together.
    creates: Arc<Together<together::Creates>>,
}

/// The pool and how its errors name unique fields: what a statement run apart from the store needs.
#[derive(Clone)]
pub(crate) struct Db {
    pool: MySqlPool,
    unique: Arc<UniqueFields>,
}

impl Db {
    fn map(&self, e: sqlx::Error) -> StoreError {
        map_error(e, &self.unique)
    }

    /// A batch of writes in its own transaction.
    async fn write(&self, batch: WriteBatch) -> Result<Vec<WriteOutcome>, BatchError> {
        let last = batch.ops.len().saturating_sub(1);
        let failed = |error| BatchError { index: last, error };
        let mut tx = self.pool.begin().await.map_err(|e| failed(self.map(e)))?;
        match ops::apply_batch(
            &mut MysqlExec {
                conn: &mut tx,
                unique: &self.unique,
            },
            batch,
        )
        .await
        {
            Ok(outcomes) => {
                tx.commit().await.map_err(|e| failed(self.map(e)))?;
                Ok(outcomes)
            }
            Err(e) => {
                // A failed rollback leaves nothing behind either: the connection is closed with the transaction.
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }
}

impl MysqlStore {
    /// Connect to `url` with a pool of at most `max_connections`, each session running statements under
    /// `statement_timeout` (SPEC §14; zero: none). Fails with [`StoreError::Unavailable`] when the server does
    /// not answer.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        statement_timeout: Duration,
    ) -> StoreResult<Self> {
        let unique = Arc::new(UniqueFields::default());
        let options = MySqlConnectOptions::from_str(url)
            .map_err(|e| StoreError::Other(anyhow::Error::new(e).context("invalid MySQL URL")))?
            .charset("utf8mb4")
            .timezone(Some("+00:00".to_owned()));
        let pool = crate::connect::ping_if_idle(MySqlPoolOptions::new())
            .max_connections(max_connections.max(1))
            .acquire_timeout(statement_timeout.max(Duration::from_secs(1)))
            .after_connect(move |conn, _| {
                Box::pin(async move { configure_session(conn, statement_timeout).await })
            })
            .connect_with(options)
            .await
            .map_err(|e| map_error(e, &unique))?;
        let mut conn = pool.acquire().await.map_err(|e| map_error(e, &unique))?;
        let mariadb = is_mariadb(&mut conn)
            .await
            .map_err(|e| map_error(e, &unique))?;
        // Name the fields of unique violations from the model applied by an earlier start, if any.
        if let Ok(applied) = migrate::applied(&mut MysqlExec {
            conn: &mut conn,
            unique: &unique,
        })
        .await
        {
            unique.learn(&applied);
        }
        drop(conn);
        let db = Db { pool, unique };
        Ok(Self {
            reads_by_id: ByIdStatements::new(Dialect::Mysql),
            by_id: Together::new(db.clone()),
            pages: Together::new(Arc::new(db.clone()) as Arc<dyn PageSource>),
            creates: Together::new(db.clone()),
            db,
            mariadb,
        })
    }

    /// The pool, for callers that need a connection of their own (tests, tooling).
    pub fn pool(&self) -> &MySqlPool {
        &self.db.pool
    }

    /// Whether the server is MariaDB rather than MySQL.
    pub fn is_mariadb(&self) -> bool {
        self.mariadb
    }

    fn ddl(&self) -> Ddl {
        let mysql_text_collation = if self.mariadb {
            "utf8mb4_nopad_bin"
        } else {
            "utf8mb4_0900_bin"
        };
        Ddl {
            dialect: Dialect::Mysql,
            mysql_text_collation,
        }
    }

    fn map(&self, e: sqlx::Error) -> StoreError {
        map_error(e, &self.db.unique)
    }

    /// Plan `schema` against the applied model under the migration lock, and apply the plan when `apply` says
    /// so. MySQL's DDL commits as it goes: a failure part way leaves the statements before it applied.
    async fn migration(&self, schema: &Schema, apply: Option<bool>) -> StoreResult<Plan> {
        let mut conn = self.db.pool.acquire().await.map_err(|e| self.map(e))?;
        // A migration may build indexes on large tables: the request timeout does not apply to it. The session
        // is changed, so the connection is closed afterwards rather than returned to the pool.
        conn.close_on_drop();
        configure_session(&mut conn, Duration::ZERO)
            .await
            .map_err(|e| self.map(e))?;
        // GET_LOCK names are server-wide: scope the lock to this database.
        let lock = "LEFT(CONCAT('strata_migrate:', DATABASE()), 64)";
        let got = sqlx::query(AssertSqlSafe(format!(
            "SELECT GET_LOCK({lock}, {MIGRATION_LOCK_WAIT})"
        )))
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| self.map(e))?
        .try_get_unchecked::<Option<i64>, _>(0)
        .map_err(|e| self.map(e))?;
        if got != Some(1) {
            return Err(StoreError::Unavailable(anyhow::anyhow!(
                "another instance held the migration lock for {MIGRATION_LOCK_WAIT} s"
            )));
        }
        let result = self.migrate_locked(&mut conn, schema, apply).await;
        let released = sqlx::query(AssertSqlSafe(format!("SELECT RELEASE_LOCK({lock})")))
            .execute(&mut *conn)
            .await;
        let plan = result?;
        released.map_err(|e| self.map(e))?;
        Ok(plan)
    }

    async fn migrate_locked(
        &self,
        conn: &mut MySqlConnection,
        schema: &Schema,
        apply: Option<bool>,
    ) -> StoreResult<Plan> {
        let ddl = self.ddl();
        let mut e = MysqlExec {
            conn,
            unique: &self.db.unique,
        };
        let mut bootstrap = SqlBuilder::new(Dialect::Mysql);
        bootstrap.push(&migrate::bootstrap_statement(&ddl));
        e.execute(&bootstrap).await?;
        let applied = migrate::applied(&mut e).await?;
        self.db.unique.learn(&applied);
        let plan = migrate::plan(&ddl, &applied, schema);
        if let Some(allow_destructive) = apply {
            migrate::apply(&mut e, &plan, allow_destructive).await?;
            self.db.unique.learn(&model::collection_tables(schema));
        }
        Ok(plan)
    }
}

async fn is_mariadb(conn: &mut MySqlConnection) -> Result<bool, sqlx::Error> {
    let row = sqlx::query("SELECT VERSION()").fetch_one(conn).await?;
    Ok(row.try_get_unchecked::<String, _>(0)?.contains("MariaDB"))
}

/// UTC and strict mode on every session, and the statement timeout (zero: none, as for migrations).
async fn configure_session(
    conn: &mut MySqlConnection,
    timeout: Duration,
) -> Result<(), sqlx::Error> {
    let mariadb = is_mariadb(conn).await?;
    let timeout_ms = timeout.as_millis();
    let statement_time = if mariadb {
        // Seconds, with microsecond precision; 0 disables it.
        format!(
            "max_statement_time = {}.{:03}",
            timeout_ms / 1000,
            timeout_ms % 1000
        )
    } else {
        format!("max_execution_time = {timeout_ms}")
    };
    // Whole seconds, at least 1; without a timeout, the server's own setting.
    let lock_wait = if timeout.is_zero() {
        "DEFAULT".to_owned()
    } else {
        timeout.as_secs().max(1).to_string()
    };
    let sql = format!(
        "SET SESSION sql_mode = '{SQL_MODE}', SESSION time_zone = '+00:00', SESSION {statement_time}, \
         SESSION innodb_lock_wait_timeout = {lock_wait}"
    );
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(conn).await?;
    Ok(())
}

#[async_trait]
impl RecordStore for MysqlStore {
    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    async fn ping(&self) -> StoreResult<()> {
        crate::connect::ping_pool(&self.db.pool)
            .await
            .map_err(|e| self.map(e))
    }

    async fn plan(&self, schema: &Schema) -> StoreResult<Plan> {
        self.migration(schema, None).await
    }

    async fn migrate(&self, schema: &Schema, allow_destructive: bool) -> StoreResult<Plan> {
        self.migration(schema, Some(allow_destructive)).await
    }

    async fn list(&self, query: ListQuery) -> StoreResult<ListPage> {
        let page = ops::PageStatements::new(Dialect::Mysql, &query)?;
        self.pages.send(Page(page), ()).await
    }

    async fn fetch(&self, query: FetchQuery) -> StoreResult<Vec<Record>> {
        if query.ids.is_empty() {
            return Ok(Vec::new());
        }
        let read = self
            .reads_by_id
            .get(&query.scope, &query.collection, &query.conditions)?;
        self.by_id.send(together::ById(read), query.ids).await
    }

    async fn check(&self, query: CheckQuery) -> StoreResult<Vec<Checked>> {
        let mut conn = self.db.pool.acquire().await.map_err(|e| self.map(e))?;
        ops::check(
            &mut MysqlExec {
                conn: &mut conn,
                unique: &self.db.unique,
            },
            &query,
        )
        .await
    }

    async fn write(&self, batch: WriteBatch) -> Result<Vec<WriteOutcome>, BatchError> {
        match CreatesInto::of(&batch) {
            Some(into) => self
                .creates
                .send(together::Creates(into), batch)
                .await
                .unwrap_or_else(|error| Err(BatchError { index: 0, error })),
            None => self.db.write(batch).await,
        }
    }

    async fn auth(&self, op: crate::auth::AuthOp) -> StoreResult<crate::auth::AuthReply> {
        let mut tx = self.db.pool.begin().await.map_err(|e| self.map(e))?;
        let reply = crate::auth::apply(
            &mut MysqlExec {
                conn: &mut tx,
                unique: &self.db.unique,
            },
            op,
        )
        .await?;
        tx.commit().await.map_err(|e| self.map(e))?;
        Ok(reply)
    }

    async fn claim_idempotency(
        &self,
        key: IdempotencyKey,
        lapse_before: DateTime<Utc>,
    ) -> StoreResult<Claim> {
        let mut conn = self.db.pool.acquire().await.map_err(|e| self.map(e))?;
        idempotency::claim(
            &mut MysqlExec {
                conn: &mut conn,
                unique: &self.db.unique,
            },
            &key,
            lapse_before,
        )
        .await
    }

    async fn complete_idempotency(
        &self,
        key: IdempotencyKey,
        response: IdempotentResponse,
    ) -> StoreResult<()> {
        let mut conn = self.db.pool.acquire().await.map_err(|e| self.map(e))?;
        idempotency::complete(
            &mut MysqlExec {
                conn: &mut conn,
                unique: &self.db.unique,
            },
            &key,
            &response,
        )
        .await
    }

    async fn release_idempotency(&self, key: IdempotencyKey) -> StoreResult<()> {
        let mut conn = self.db.pool.acquire().await.map_err(|e| self.map(e))?;
        idempotency::release(
            &mut MysqlExec {
                conn: &mut conn,
                unique: &self.db.unique,
            },
            &key,
        )
        .await
    }

    async fn close(&self) {
        // Waits for the connections in use to come back: writes in flight finish first.
        self.db.pool.close().await;
    }
}
