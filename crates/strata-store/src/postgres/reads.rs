//! The reads PostgreSQL answers together ([`crate::shared`]): by id, all the waiting readers' ids bound as one
//! `uuid[]`, and pages.

use async_trait::async_trait;
use sqlx::postgres::PgPool;
use strata_core::{ColType, Record};
use uuid::Uuid;

use super::exec::{PgExec, fetch_with_ids, map_error};
use crate::error::StoreResult;
use crate::exec::PageStatements;
use crate::model::ListPage;
use crate::shared::{Shared, share_by_id};
use crate::sql::{SqlBuilder, query};

/// Records of one collection by id, a statement of [`query::fetch_by_id_array`]: one text for any number of ids.
#[derive(PartialEq, Eq, Hash)]
pub(super) struct ById {
    pub stmt: SqlBuilder,
    pub cols: Vec<ColType>,
}

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
        let records = fetch_with_ids(&mut conn, &self.stmt, &ids, &self.cols)
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
    type Source = PgPool;

    fn size(_: &()) -> usize {
        1
    }

    async fn run(&self, pool: &PgPool, asks: Vec<()>) -> StoreResult<Vec<ListPage>> {
        let mut conn = pool.acquire().await.map_err(map_error)?;
        let page = self.0.run(&mut PgExec { conn: &mut conn }).await?;
        Ok(vec![page; asks.len()])
    }
}
