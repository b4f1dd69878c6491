//! Lone creates of one collection written together, in one transaction of their relation checks (each
//! distinct one once) and two multi-row inserts (the stores' [`crate::shared`] groups them).

use std::sync::Arc;

use strata_core::Record;
use strata_core::schema::Collection;

use super::{Exec, RelationChecks, check_relations_once};
use crate::error::{StoreError, StoreResult};
use crate::model::{BatchError, EventMeta, Scope, WriteBatch, WriteOp, WriteOutcome};
use crate::outbox;
use crate::sql::query;

/// A batch that is one create and nothing else: no idempotency key, nothing decided on the written row (a create
/// rule that reads other records, read rules that follow relations). Such creates of one collection can be
/// written together ([`create_together`]).
pub struct LoneCreate<'a> {
    pub scope: &'a Scope,
    pub collection: &'a Arc<Collection>,
    pub record: &'a Record,
    pub meta: &'a EventMeta,
}

pub fn lone_create(batch: &WriteBatch) -> Option<LoneCreate<'_>> {
    match batch.ops.as_slice() {
        [
            WriteOp::Insert {
                collection,
                record,
                check: None,
                reads,
            },
        ] if reads.is_empty() && batch.idempotency.is_none() => Some(LoneCreate {
            scope: &batch.scope,
            collection,
            record,
            meta: &batch.meta,
        }),
        _ => None,
    }
}

/// Lone creates of one collection ([`lone_create`]) inside the caller's transaction: each one's relation
/// checks, then one `INSERT` of every record and one of every event. A create whose relation names a missing or
/// hidden record gets its `InvalidRelation` and is left out; any other error fails them all, and the caller rolls
/// back (and writes each alone, so that each gets its own answer).
pub async fn create_together(
    e: &mut impl Exec,
    creates: &[LoneCreate<'_>],
) -> StoreResult<Vec<Option<StoreError>>> {
    let mut refused = Vec::with_capacity(creates.len());
    let mut records = Vec::with_capacity(creates.len());
    let mut events = Vec::with_capacity(creates.len());
    let Some(collection) = creates.first().map(|c| c.collection) else {
        return Ok(refused);
    };
    // Creates written together often point at the same records (their author, its parent): each distinct check
    // runs once.
    let mut checked = RelationChecks::new();
    for create in creates {
        if create.collection.name != collection.name {
            return Err(anyhow::anyhow!("creates written together go to one collection").into());
        }
        match check_relations_once(
            e,
            create.scope,
            collection,
            create.record,
            None,
            &mut checked,
        )
        .await
        {
            Ok(()) => {
                records.push(create.record);
                events.push(outbox::event(
                    collection,
                    "created",
                    create.record,
                    None,
                    create.meta,
                ));
                refused.push(None);
            }
            Err(error @ StoreError::InvalidRelation { .. }) => refused.push(Some(error)),
            Err(error) => return Err(error),
        }
    }
    if !records.is_empty() {
        e.execute(&query::insert_rows(e.dialect(), collection, &records))
            .await?;
        e.execute(&outbox::insert_rows(e.dialect(), events)).await?;
    }
    Ok(refused)
}

/// What each create of [`create_together`] answers once the transaction committed.
pub fn created(
    batches: Vec<WriteBatch>,
    refused: Vec<Option<StoreError>>,
) -> Vec<Result<Vec<WriteOutcome>, BatchError>> {
    batches
        .into_iter()
        .zip(refused)
        .map(
            |(batch, refused)| match (refused, batch.ops.into_iter().next()) {
                (Some(error), _) => Err(BatchError { index: 0, error }),
                (None, Some(WriteOp::Insert { record, .. })) => {
                    Ok(vec![WriteOutcome::Created(record, Vec::new())])
                }
                (None, _) => Err(BatchError {
                    index: 0,
                    error: anyhow::anyhow!("a create written together had no insert").into(),
                }),
            },
        )
        .collect()
}
