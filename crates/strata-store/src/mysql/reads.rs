//! The reads MySQL answers together ([`crate::shared`]): by id, all the waiting readers' ids in one `IN` list,
//! and pages. Reads never violate a unique index, so their errors need no index names.

use async_trait::async_trait;
use sqlx::mysql::MySqlPool;
use strata_core::{ColType, Record};
use uuid::Uuid;

use super::exec::{MysqlExec, UniqueFields, map_error};
use crate::error::StoreResult;
use crate::exec::{Exec, PageStatements};
use crate::model::ListPage;
use crate::shared::{Shared, share_by_id};
use crate::sql::{SqlBuilder, query};

/// Records of one collection by id, a statement of [`query::fetch_by_id_list`].
#[derive(PartialEq, Eq, Hash)]
pub(super) struct ById {
    pub stmt: SqlBuilder,
    pub cols: Vec<ColType>,
}

#[async_trait]
impl Shared for ById {
    type Ask = Vec<Uuid>;
    type Reply = Vec<Record>;
    type Source = MySqlPool;

    fn size(ask: &Vec<Uuid>) -> usize {
        ask.len()
    }

    async fn run(&self, pool: &MySqlPool, asks: Vec<Vec<Uuid>>) -> StoreResult<Vec<Vec<Record>>> {
        let ids: Vec<Uuid> = asks.iter().flatten().copied().collect();
        let unique = UniqueFields::default();
        let mut conn = pool.acquire().await.map_err(|e| map_error(e, &unique))?;
        let stmt = query::with_id_list(&self.stmt, &ids);
        let mut exec = MysqlExec {
            conn: &mut conn,
            unique: &unique,
        };
        let records = exec
            .fetch(&stmt, &self.cols)
            .await?
            .into_iter()
            .map(query::decode_record)
            .collect::<StoreResult<Vec<Record>>>()?;
        Ok(share_by_id(records, asks))
    }
}

/// One page of a list; readers asking for the same page get it from one query.
#[derive(PartialEq, Eq, Hash)]
pub(super) struct Page(pub PageStatements);

#[async_trait]
impl Shared for Page {
    type Ask = ();
    type Reply = ListPage;
    type Source = MySqlPool;

    fn size(_: &()) -> usize {
        1
    }

    async fn run(&self, pool: &MySqlPool, asks: Vec<()>) -> StoreResult<Vec<ListPage>> {
        let unique = UniqueFields::default();
        let mut conn = pool.acquire().await.map_err(|e| map_error(e, &unique))?;
        let mut exec = MysqlExec {
            conn: &mut conn,
            unique: &unique,
        };
        let page = self.0.run(&mut exec).await?;
        Ok(vec![page; asks.len()])
    }
}
