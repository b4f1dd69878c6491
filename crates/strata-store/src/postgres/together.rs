//! What PostgreSQL answers together ([`crate::shared`]): reads by id, all the waiting readers' ids bound as one
//! `uuid[]`; pages; and lone creates into one collection, in one transaction with one `INSERT` for the records
//! and one for their events.

use std::sync::Arc;

use async_trait::async_trait;
use sqlx::postgres::PgPool;
use strata_core::Record;
use uuid::Uuid;

use super::exec::{PgExec, fetch_with_ids, map_error};
use crate::error::{StoreError, StoreResult};
use crate::exec::{self as ops, PageStatements};
use crate::model::{BatchError, ListPage, WriteBatch, WriteOutcome};
use crate::shared::{CreatesInto, PageSource, Shared, share_by_id};
use crate::sql::by_id::ByIdStatement;
use crate::sql::query;

/// Records of one collection by id ([`crate::sql::by_id`]), all the waiting readers' ids in one array: one
/// text for any number of ids.
#[derive(PartialEq, Eq, Hash)]
pub(super) struct ById(pub Arc<ByIdStatement>);

#[async_trait]
impl Shared for ById {
    type Ask = Vec<Uuid>;
    type Reply = Vec<Record>;
    type Source = PgPool;

    fn size(ask: &Vec<Uuid>) -> usize {
        ask.len()
    }

    async fn run(&self, pool: &PgPool, asks: Vec<Vec<Uuid>>) -> StoreResult<Vec<Vec<Record>>> {
        let ids: Vec<Uuid> = asks.iter().flatten().copied().collect();
        let mut conn = pool.acquire().await.map_err(map_error)?;
        let records = fetch_with_ids(&mut conn, &self.0.stmt, &ids, &self.0.cols)
            .await?
            .into_iter()
            .map(query::decode_record)
            .collect::<StoreResult<Vec<Record>>>()?;
        Ok(share_by_id(records, asks))
    }
}

#[async_trait]
impl PageSource for PgPool {
    async fn page(&self, statements: &PageStatements) -> StoreResult<ListPage> {
        let mut conn = self.acquire().await.map_err(map_error)?;
        statements.run(&mut PgExec { conn: &mut conn }).await
    }
}

/// Lone creates into one collection. Alone, a create is one statement; together, they are one transaction of
/// their relation checks and two inserts. If that fails other than on a relation (a unique value taken), it
/// rolls back and each create runs alone, to get its own answer.
#[derive(PartialEq, Eq, Hash)]
pub(super) struct Creates(pub CreatesInto);

#[async_trait]
impl Shared for Creates {
    type Ask = WriteBatch;
    type Reply = Result<Vec<WriteOutcome>, BatchError>;
    type Source = PgPool;
    /// Two groups at once: one is checked and inserted while the other's commit waits on the disk.
    const RUNNING: usize = 2;
    const MAX: usize = 1024;

    fn size(batch: &WriteBatch) -> usize {
        CreatesInto::size(batch)
    }

    async fn run(&self, pool: &PgPool, asks: Vec<WriteBatch>) -> StoreResult<Vec<Self::Reply>> {
        let creates: Vec<_> = asks.iter().filter_map(ops::lone_create).collect();
        if asks.len() == 1 || creates.len() < asks.len() {
            return Ok(alone(pool, asks).await);
        }
        let mut tx = pool.begin().await.map_err(map_error)?;
        let written = ops::create_together(&mut PgExec { conn: &mut tx }, &creates).await;
        let committed = match written {
            Ok(refused) => tx.commit().await.map_err(map_error).map(|()| refused),
            Err(e) => {
                let _ = tx.rollback().await;
                Err(e)
            }
        };
        match committed {
            Ok(refused) => Ok(ops::created(asks, refused)),
            // Whether a failed commit took effect is unknown: writing again could write twice.
            Err(e @ (StoreError::Unavailable(_) | StoreError::Timeout)) => Err(e),
            Err(_) => Ok(alone(pool, asks).await),
        }
    }
}

async fn alone(
    pool: &PgPool,
    batches: Vec<WriteBatch>,
) -> Vec<Result<Vec<WriteOutcome>, BatchError>> {
    futures::future::join_all(batches.into_iter().map(|b| super::write_alone(pool, b))).await
}
