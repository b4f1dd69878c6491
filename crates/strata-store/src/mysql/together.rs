//! What MySQL answers together ([`crate::shared`]): reads by id, all the waiting readers' ids in one `IN` list;
//! pages; and lone creates into one collection, in one transaction with one `INSERT` for the records and one for
//! their events.

use std::sync::Arc;

use async_trait::async_trait;
use strata_core::Record;
use uuid::Uuid;

use super::Db;
use super::exec::MysqlExec;
use crate::error::{StoreError, StoreResult};
use crate::exec::{self as ops, PageStatements};
use crate::model::{BatchError, ListPage, WriteBatch, WriteOutcome};
use crate::shared::{CreatesInto, PageSource, Shared, share_by_id};
use crate::sql::by_id::ByIdStatement;

/// Records of one collection by id ([`crate::sql::by_id`]), all the waiting readers' ids in one list.
#[derive(PartialEq, Eq, Hash)]
pub(super) struct ById(pub Arc<ByIdStatement>);

#[async_trait]
impl Shared for ById {
    type Ask = Vec<Uuid>;
    type Reply = Vec<Record>;
    type Source = Db;

    fn size(ask: &Vec<Uuid>) -> usize {
        ask.len()
    }

    async fn run(&self, db: &Db, asks: Vec<Vec<Uuid>>) -> StoreResult<Vec<Vec<Record>>> {
        let ids: Vec<Uuid> = asks.iter().flatten().copied().collect();
        let mut conn = db.pool.acquire().await.map_err(|e| db.map(e))?;
        let mut exec = MysqlExec {
            conn: &mut conn,
            unique: &db.unique,
        };
        let records = ops::fetch(&mut exec, &self.0, &ids).await?;
        Ok(share_by_id(records, asks))
    }
}

#[async_trait]
impl PageSource for Db {
    async fn page(&self, statements: &PageStatements) -> StoreResult<ListPage> {
        let mut conn = self.pool.acquire().await.map_err(|e| self.map(e))?;
        let mut exec = MysqlExec {
            conn: &mut conn,
            unique: &self.unique,
        };
        statements.run(&mut exec).await
    }
}

/// Lone creates into one collection: together, one transaction of their relation checks and two inserts. If
/// that fails other than on a relation (a unique value taken), it rolls back and each create runs alone, to get
/// its own answer.
#[derive(PartialEq, Eq, Hash)]
pub(super) struct Creates(pub CreatesInto);

#[async_trait]
impl Shared for Creates {
    type Ask = WriteBatch;
    type Reply = Result<Vec<WriteOutcome>, BatchError>;
    type Source = Db;
    /// Two groups at once: one is checked and inserted while the other's commit waits on the disk.
    const RUNNING: usize = 2;
    const MAX: usize = 1024;

    fn size(batch: &WriteBatch) -> usize {
        CreatesInto::size(batch)
    }

    async fn run(&self, db: &Db, asks: Vec<WriteBatch>) -> StoreResult<Vec<Self::Reply>> {
        let creates: Vec<_> = asks.iter().filter_map(ops::lone_create).collect();
        if asks.len() == 1 || creates.len() < asks.len() {
            return Ok(alone(db, asks).await);
        }
        let mut tx = db.pool.begin().await.map_err(|e| db.map(e))?;
        let mut exec = MysqlExec {
            conn: &mut tx,
            unique: &db.unique,
        };
        let written = ops::create_together(&mut exec, &creates).await;
        let committed = match written {
            Ok(refused) => tx.commit().await.map_err(|e| db.map(e)).map(|()| refused),
            Err(e) => {
                let _ = tx.rollback().await;
                Err(e)
            }
        };
        match committed {
            Ok(refused) => Ok(ops::created(asks, refused)),
            // Whether a failed commit took effect is unknown: writing again could write twice.
            Err(e @ (StoreError::Unavailable(_) | StoreError::Timeout)) => Err(e),
            Err(_) => Ok(alone(db, asks).await),
        }
    }
}

async fn alone(db: &Db, batches: Vec<WriteBatch>) -> Vec<Result<Vec<WriteOutcome>, BatchError>> {
    futures::future::join_all(batches.into_iter().map(|b| db.write(b))).await
}
