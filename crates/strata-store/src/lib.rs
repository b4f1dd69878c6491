//! Repository traits and the stores behind them (SPEC §1): SQLite embedded by default, PostgreSQL and
//! MySQL/MariaDB for production. The record operations are written once ([`exec`]) over each backend's
//! connection; a backend adds its connection handling, transactions, locking and error mapping.

pub mod auth;
pub mod connect;
pub mod error;
pub mod exec;
pub mod idempotency;
pub mod migrate;
pub mod model;
pub mod mysql;
pub mod outbox;
pub mod postgres;
mod shared;
pub mod sql;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use strata_core::Record;
use strata_core::schema::Schema;

pub use connect::{ConnectOptions, connect};
pub use error::{StoreError, StoreResult};
pub use migrate::Plan;
pub use model::*;
pub use sql::Dialect;

/// Where records live. Services hold it as `Arc<dyn RecordStore>`.
#[async_trait]
pub trait RecordStore: Send + Sync + 'static {
    fn dialect(&self) -> Dialect;

    /// Whether the database answers (`/readyz`).
    async fn ping(&self) -> StoreResult<()>;

    /// What applying `schema` would change.
    async fn plan(&self, schema: &Schema) -> StoreResult<Plan>;

    /// Apply `schema` under the migration lock; destructive changes only when allowed. Returns what was done.
    async fn migrate(&self, schema: &Schema, allow_destructive: bool) -> StoreResult<Plan>;

    async fn list(&self, query: ListQuery) -> StoreResult<ListPage>;

    /// Records by id that satisfy the query's conditions, in no particular order.
    async fn fetch(&self, query: FetchQuery) -> StoreResult<Vec<Record>>;

    /// Which of the query's checks hold on each of its records that still exists, with the version it is at.
    async fn check(&self, query: CheckQuery) -> StoreResult<Vec<Checked>>;

    /// Apply a batch of writes in one transaction: all or nothing. A `2xx` may be answered once this returns:
    /// the batch is on stable storage.
    async fn write(&self, batch: WriteBatch) -> Result<Vec<WriteOutcome>, BatchError>;

    /// Claim an idempotency key; a pending claim made before `lapse_before` has lapsed.
    async fn claim_idempotency(
        &self,
        key: IdempotencyKey,
        lapse_before: DateTime<Utc>,
    ) -> StoreResult<Claim>;

    /// Store the answer of a request that failed without writing (a 4xx).
    async fn complete_idempotency(
        &self,
        key: IdempotencyKey,
        response: IdempotentResponse,
    ) -> StoreResult<()>;

    /// Forget a claim whose request failed with a 5xx.
    async fn release_idempotency(&self, key: IdempotencyKey) -> StoreResult<()>;

    /// Run one authentication command in its own transaction.
    async fn auth(&self, op: auth::AuthOp) -> StoreResult<auth::AuthReply>;

    /// Finish pending writes and close connections.
    async fn close(&self);

    /// A condition as this store's SQL, for explaining decisions: the text and its bound values.
    fn explain_condition(
        &self,
        scope: &Scope,
        collection: &strata_core::schema::Collection,
        condition: &strata_core::expr::Expr,
    ) -> StoreResult<(String, Vec<String>)> {
        let mut b = sql::SqlBuilder::new(self.dialect());
        let filter_scope = sql::filter::FilterScope {
            schema: &scope.schema,
            collection,
            alias: sql::query::ALIAS,
            principal: &scope.principal,
            data: None,
            now: scope.now,
            reading: sql::filter::Reading::Stored,
        };
        sql::filter::compile(condition, &filter_scope, &mut b)
            .map_err(|e| anyhow::anyhow!("a checked expression failed to compile: {e}"))?;
        let params = b.params.iter().map(|p| format!("{:?}", p.value)).collect();
        Ok((b.sql, params))
    }
}

pub type DynStore = Arc<dyn RecordStore>;
