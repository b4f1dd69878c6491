//! What SQLite answers together ([`crate::shared`]): identical pages asked while one is being read get that one
//! page. A reader thread runs the query once and decodes its rows once for all of them, the larger part of a
//! list's work; each request still renders its own answer. A request never joins a read that started before
//! it arrived.

use async_trait::async_trait;

use super::exec::SqliteExec;
use super::readers::Readers;
use super::run;
use crate::error::StoreResult;
use crate::exec::PageStatements;
use crate::model::ListPage;
use crate::shared::PageSource;

#[async_trait]
impl PageSource for Readers {
    async fn page(&self, statements: &PageStatements) -> StoreResult<ListPage> {
        let statements = statements.clone();
        self.read(move |conn| run(statements.run(&mut SqliteExec { conn })))
            .await
    }
}
