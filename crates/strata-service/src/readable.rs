//! Field read rules (SPEC §7): which fields of a record its reader may not read, so that the answer leaves them
//! out. A rule that reads only the record itself is evaluated in memory. One that follows a relation needs other
//! records, so the store decides it in SQL: for records read, in one more query per collection and level of
//! expansion (and only when the collection has such a rule), pinned to the versions read so that the decision and
//! the values shown come from the same state of the record; for written records, inside the write's transaction.

use std::collections::HashMap;
use std::sync::Arc;

use strata_core::expr::{EvalContext, Expr, Tri, eval, needs_store};
use strata_core::schema::{Collection, Rule};
use strata_core::{Error, Record};
use strata_store::{CheckQuery, Checked};
use uuid::Uuid;

use crate::context::Context;
use crate::error::from_store;
use crate::records::RecordService;

/// What the store decided of the read rules it alone can evaluate, for some records of one collection.
#[derive(Debug, Default)]
pub(crate) struct StoreDecisions {
    /// The fields of those rules, in the order of each record's `holds`.
    fields: Vec<usize>,
    by_record: HashMap<Uuid, Checked>,
}

impl StoreDecisions {
    /// Whether the store's rule of field `index` holds on `record`; `None` where the field's rule is not one of
    /// them. A record the store did not decide, or decided at another version, reads none of them.
    fn holds(&self, record: &Record, index: usize) -> Option<bool> {
        let k = self.fields.iter().position(|&f| f == index)?;
        Some(
            self.by_record
                .get(&record.id)
                .filter(|checked| checked.version == record.version)
                .and_then(|checked| checked.holds.get(k).copied())
                .unwrap_or(false),
        )
    }
}

/// The fields of `collection` with a read rule, and their rules, for this caller: none for admins, who read
/// every field.
fn read_rules<'c>(
    ctx: &Context,
    collection: &'c Collection,
) -> impl Iterator<Item = (usize, &'c Rule)> {
    let admin = ctx.principal.is_admin();
    collection
        .fields
        .iter()
        .enumerate()
        .filter_map(move |(i, field)| Some((i, field.read.as_ref().filter(|_| !admin)?)))
}

impl RecordService {
    /// The read rules of `collection` that follow relations, which only the store can decide: (field, rule) in
    /// field order.
    pub(crate) fn store_read_rules(
        &self,
        ctx: &Context,
        collection: &Collection,
    ) -> Vec<(usize, Arc<Expr>)> {
        read_rules(ctx, collection)
            .filter(|(_, rule)| needs_store(&rule.expr, &self.schema, collection))
            .map(|(i, rule)| (i, rule.expr.clone()))
            .collect()
    }

    /// Have the store decide, for this caller, the read rules of `collection` that follow relations on `records`.
    pub(crate) async fn decide_read_rules(
        &self,
        ctx: &Context,
        collection: &Arc<Collection>,
        records: &[Record],
    ) -> Result<StoreDecisions, Error> {
        let rules = self.store_read_rules(ctx, collection);
        if rules.is_empty() || records.is_empty() {
            return Ok(StoreDecisions::default());
        }
        let (fields, checks) = rules.into_iter().unzip();
        let query = CheckQuery {
            scope: ctx.scope(&self.schema),
            collection: collection.clone(),
            ids: records.iter().map(|r| r.id).collect(),
            checks,
        };
        let checked = self
            .store
            .check(query)
            .await
            .map_err(|e| from_store(e, ctx.anonymous()))?;
        Ok(StoreDecisions {
            fields,
            by_record: checked.into_iter().map(|c| (c.id, c)).collect(),
        })
    }

    /// The decisions made inside a write's transaction on the written `record`: `holds` answers the op's
    /// `reads`, which were [`Self::store_read_rules`].
    pub(crate) fn written_decisions(
        &self,
        ctx: &Context,
        collection: &Collection,
        record: &Record,
        holds: Vec<bool>,
    ) -> StoreDecisions {
        let fields = self
            .store_read_rules(ctx, collection)
            .into_iter()
            .map(|(i, _)| i)
            .collect();
        let checked = Checked {
            id: record.id,
            version: record.version,
            holds,
        };
        StoreDecisions {
            fields,
            by_record: HashMap::from([(record.id, checked)]),
        }
    }

    /// The fields of `record` whose `read` rule does not hold for this caller (SPEC §7): evaluated in memory, or
    /// taken from the store's decisions for rules that follow relations.
    pub(crate) fn unreadable(
        &self,
        ctx: &Context,
        collection: &Collection,
        record: &Record,
        decided: &StoreDecisions,
    ) -> Vec<usize> {
        let eval_ctx = EvalContext {
            schema: &self.schema,
            collection,
            record: Some(record),
            data: None,
            principal: &ctx.principal,
            now: ctx.now,
        };
        read_rules(ctx, collection)
            .filter(|(i, rule)| {
                let readable = decided
                    .holds(record, *i)
                    .unwrap_or_else(|| matches!(eval(&rule.expr, &eval_ctx), Ok(Tri::True)));
                !readable
            })
            .map(|(i, _)| i)
            .collect()
    }
}
