//! A create that PostgreSQL runs as one statement: the relation checks, the insert and its outbox event in a
//! data-modifying `WITH`, outside any transaction (a statement is atomic by itself, and committed when it
//! returns). One round trip instead of five (`BEGIN`, a check per relation, two inserts, `COMMIT`): on a machine
//! whose cores the database shares, round trips are what a write costs.
//!
//! ```sql
//! WITH "inserted" AS (
//!   INSERT INTO "posts" (…) SELECT $1, …
//!   WHERE EXISTS (SELECT 1 FROM "users" "t" WHERE "t"."id" = $10 AND (view rule))
//!   RETURNING 1)
//! INSERT INTO "_outbox" (…) SELECT $11, … FROM "inserted"
//! ```
//!
//! The statement inserts nothing when a relation's target is missing or hidden from the caller; the general path
//! then runs the batch again and names the field (or, if the target has appeared since, simply writes it).

use strata_core::access::Access;
use strata_core::schema::Action;
use strata_core::{Record, Value};

use crate::StoreError;
use crate::model::WriteBatch;
use crate::outbox;
use crate::sql::query::{self, Values};
use crate::sql::{Dialect, SqlBuilder};

/// The statement for `batch` and the record it creates, when one statement can carry the batch whole: a single
/// insert, with no idempotency key and nothing to decide on the written row (a create rule that reads other
/// records, read rules that follow relations), whose relations' targets the caller may see at all.
pub fn create(batch: &WriteBatch) -> Result<Option<(SqlBuilder, Record)>, StoreError> {
    let Some(crate::exec::LoneCreate {
        collection, record, ..
    }) = crate::exec::lone_create(batch)
    else {
        return Ok(None);
    };
    let scope = &batch.scope;
    let mut b = SqlBuilder::new(Dialect::Postgres);
    b.push("WITH \"inserted\" AS (");
    query::push_insert(&mut b, collection, record, Values::Select);
    let mut keyword = " WHERE ";
    for (i, _, target) in collection.relations() {
        let Some(Value::Uuid(id)) = record.values.get(i) else {
            continue;
        };
        let Some(target) = scope.schema.collection(target) else {
            return Ok(None);
        };
        let visible = match Access::of(&scope.schema, &scope.principal, target, Action::View) {
            Access::Denied => return Ok(None),
            access => access.condition().into_iter().collect::<Vec<_>>(),
        };
        b.push(keyword).push("EXISTS (");
        query::push_exists(&mut b, scope, target, *id, &visible)?;
        b.push(")");
        keyword = " AND ";
    }
    b.push(" RETURNING 1) ");
    let event = outbox::event(collection, "created", record, None, &batch.meta);
    outbox::push_insert(&mut b, event, Values::Select);
    b.push(" FROM \"inserted\"");
    Ok(Some((b, record.clone())))
}
