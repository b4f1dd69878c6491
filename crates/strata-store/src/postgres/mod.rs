//! The PostgreSQL store (SPEC §1, §14): a sqlx pool whose connections run every statement under
//! `statement_timeout`; one transaction per batch of writes, committed before the caller is answered (a lone
//! create is one statement, [`one_statement`]); schema
//! migrations in one transaction under an advisory lock, so instances starting together apply each change once.

mod exec;
mod one_statement;
mod together;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use strata_core::Record;
use strata_core::schema::Schema;

pub use exec::{PgExec, map_error};

use crate::error::{StoreError, StoreResult};
use crate::exec::Exec;
use crate::migrate::{self, Plan, ddl::Ddl};
use crate::model::*;
use crate::shared::{CreatesInto, Page, PageSource, Together};
use crate::sql::by_id::ByIdStatements;
use crate::sql::{Dialect, SqlBuilder};
use crate::{RecordStore, exec as ops, idempotency};

const DDL: Ddl = Ddl {
    dialect: Dialect::Postgres,
    mysql_text_collation: "",
};

/// The key of the migration lock (`pg_advisory_xact_lock`): any constant shared by every Strata instance.
const MIGRATION_LOCK: i64 = 0x5354_5241_5441_4d47; // "STRATAMG"

/// Records in PostgreSQL, through a pool of connections.
pub struct PostgresStore {
    pool: PgPool,
    /// Reads by id and pages, shared by the readers that arrive together.
    by_id: Arc<Together<together::ById>>,
    /// Reads by id, compiled once per collection, rule and caller.
    reads_by_id: ByIdStatements,
    pages: Arc<Together<Page>>,
    /// Lone creates into one collection, written together when they arrive together.
    creates: Arc<Together<together::Creates>>,
}

impl PostgresStore {
    /// Connect to `url` with a pool of at most `max_connections`, each running statements under
    /// `statement_timeout` (SPEC §14; zero: none). Fails with [`StoreError::Unavailable`] when the server does
    /// not answer.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        statement_timeout: Duration,
    ) -> StoreResult<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| {
                StoreError::Other(anyhow::Error::new(e).context("invalid PostgreSQL URL"))
            })?
            .application_name("strata")
            // Sent in the startup packet: no extra round trip per connection.
            // Zero disables the timeout, as it does for PostgreSQL itself.
            .options([(
                "statement_timeout",
                format!("{}ms", statement_timeout.as_millis()),
            )]);
        let pool = crate::connect::ping_if_idle(PgPoolOptions::new())
            .max_connections(max_connections.max(1))
            .acquire_timeout(statement_timeout.max(Duration::from_secs(1)))
            .connect_with(options)
            .await
            .map_err(map_error)?;
        Ok(Self {
            reads_by_id: ByIdStatements::new(Dialect::Postgres),
            by_id: Together::new(pool.clone()),
            pages: Together::new(Arc::new(pool.clone()) as Arc<dyn PageSource>),
            creates: Together::new(pool.clone()),
            pool,
        })
    }

    /// The pool, for callers that need a connection of their own (tests, tooling).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Bootstrap `_schema`, read the applied model and plan `schema` against it, holding the migration lock in a
    /// transaction; apply the plan when `apply` says so. DDL is transactional here: all of it or none.
    async fn migration(&self, schema: &Schema, apply: Option<bool>) -> StoreResult<Plan> {
        let mut tx = self.pool.begin().await.map_err(map_error)?;
        // A migration may build indexes on large tables: the request timeout does not apply to it.
        sqlx::raw_sql("SET LOCAL statement_timeout = 0")
            .execute(&mut *tx)
            .await
            .map_err(map_error)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(map_error)?;
        let mut e = PgExec { conn: &mut tx };
        let mut bootstrap = SqlBuilder::new(Dialect::Postgres);
        bootstrap.push(&migrate::bootstrap_statement(&DDL));
        e.execute(&bootstrap).await?;
        let applied = migrate::applied(&mut e).await?;
        let plan = migrate::plan(&DDL, &applied, schema);
        if let Some(allow_destructive) = apply {
            migrate::apply(&mut e, &plan, allow_destructive).await?;
        }
        tx.commit().await.map_err(map_error)?;
        Ok(plan)
    }
}

/// A batch of writes in its own transaction; a lone create as one statement ([`one_statement`]).
async fn write_alone(pool: &PgPool, batch: WriteBatch) -> Result<Vec<WriteOutcome>, BatchError> {
    let last = batch.ops.len().saturating_sub(1);
    let failed = |error| BatchError { index: last, error };
    if let Some((stmt, record)) = one_statement::create(&batch).map_err(failed)? {
        let mut conn = pool.acquire().await.map_err(|e| failed(map_error(e)))?;
        // Nothing inserted: a relation's target is missing or hidden; the transaction below says which.
        let inserted = PgExec { conn: &mut conn }
            .execute(&stmt)
            .await
            .map_err(failed)?;
        if inserted > 0 {
            return Ok(vec![WriteOutcome::Created(record, Vec::new())]);
        }
    }
    let mut tx = pool.begin().await.map_err(|e| failed(map_error(e)))?;
    match ops::apply_batch(&mut PgExec { conn: &mut tx }, batch).await {
        Ok(outcomes) => {
            tx.commit().await.map_err(|e| failed(map_error(e)))?;
            Ok(outcomes)
        }
        Err(e) => {
            // A failed rollback leaves nothing behind either: the connection is closed with the transaction.
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

#[async_trait]
impl RecordStore for PostgresStore {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn ping(&self) -> StoreResult<()> {
        crate::connect::ping_pool(&self.pool)
            .await
            .map_err(map_error)
    }

    async fn plan(&self, schema: &Schema) -> StoreResult<Plan> {
        self.migration(schema, None).await
    }

    async fn migrate(&self, schema: &Schema, allow_destructive: bool) -> StoreResult<Plan> {
        self.migration(schema, Some(allow_destructive)).await
    }

    async fn list(&self, query: ListQuery) -> StoreResult<ListPage> {
        let page = ops::PageStatements::new(Dialect::Postgres, &query)?;
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
        let mut conn = self.pool.acquire().await.map_err(map_error)?;
        ops::check(&mut PgExec { conn: &mut conn }, &query).await
    }

    async fn write(&self, batch: WriteBatch) -> Result<Vec<WriteOutcome>, BatchError> {
        match CreatesInto::of(&batch) {
            Some(into) => self
                .creates
                .send(together::Creates(into), batch)
                .await
                .unwrap_or_else(|error| Err(BatchError { index: 0, error })),
            None => write_alone(&self.pool, batch).await,
        }
    }

    async fn auth(&self, op: crate::auth::AuthOp) -> StoreResult<crate::auth::AuthReply> {
        let mut tx = self.pool.begin().await.map_err(map_error)?;
        let reply = crate::auth::apply(&mut PgExec { conn: &mut tx }, op).await?;
        tx.commit().await.map_err(map_error)?;
        Ok(reply)
    }

    async fn claim_idempotency(
        &self,
        key: IdempotencyKey,
        lapse_before: DateTime<Utc>,
    ) -> StoreResult<Claim> {
        let mut conn = self.pool.acquire().await.map_err(map_error)?;
        idempotency::claim(&mut PgExec { conn: &mut conn }, &key, lapse_before).await
    }

    async fn complete_idempotency(
        &self,
        key: IdempotencyKey,
        response: IdempotentResponse,
    ) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(map_error)?;
        idempotency::complete(&mut PgExec { conn: &mut conn }, &key, &response).await
    }

    async fn release_idempotency(&self, key: IdempotencyKey) -> StoreResult<()> {
        let mut conn = self.pool.acquire().await.map_err(map_error)?;
        idempotency::release(&mut PgExec { conn: &mut conn }, &key).await
    }

    async fn close(&self) {
        // Waits for the connections in use to come back: writes in flight finish first.
        self.pool.close().await;
    }
}
