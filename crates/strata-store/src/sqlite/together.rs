//! What SQLite answers together ([`crate::shared`]): identical pages asked while one is being read get that one
//! page. A reader thread runs the query once and decodes its rows once for all of them, the larger part of a
//! list's work; each request still renders its own answer. A request never joins a read that started before
//! it arrived.

use async_trait::async_trait;

use super::exec::SqliteExec;
use super::{Readers, run};
use crate::error::StoreResult;
use crate::exec::PageStatements;
use crate::model::ListPage;
use crate::shared::Shared;

/// One page of a list; readers asking for the same page get it from one query.
#[derive(PartialEq, Eq, Hash)]
pub(super) struct Page(pub PageStatements);

#[async_trait]
impl Shared for Page {
    type Ask = ();
    type Reply = ListPage;
    type Source = Readers;

    fn size(_: &()) -> usize {
        1
    }

    async fn run(&self, readers: &Readers, asks: Vec<()>) -> StoreResult<Vec<ListPage>> {
        let statements = self.0.clone();
        let page = readers
            .read(move |conn| run(statements.run(&mut SqliteExec { conn })))
            .await?;
        Ok(vec![page; asks.len()])
    }
}
