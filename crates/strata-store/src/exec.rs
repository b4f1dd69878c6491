//! The one place the record operations are written, over any backend's connection: each backend provides an
//! [`Exec`] (run a statement, decode rows by column type) and the transaction around it.

use std::collections::hash_map::Entry;
use std::sync::Arc;

use async_trait::async_trait;
use strata_core::access::Access;
use strata_core::schema::{Action, Collection};
use strata_core::{ColType, Record, Value};

use crate::error::{StoreError, StoreResult};
use crate::model::{
    BatchError, CheckQuery, Checked, ListPage, ListQuery, Scope, WriteBatch, WriteOp, WriteOutcome,
};
use crate::outbox;
use crate::sql::by_id::ByIdStatement;
use crate::sql::{Dialect, SqlBuilder, query};

mod together;
pub use together::{LoneCreate, create_together, created, lone_create};

/// A connection (or transaction) that runs statements.
#[async_trait]
pub trait Exec: Send {
    fn dialect(&self) -> Dialect;
    /// Run a query and decode each row by `cols`.
    async fn fetch(&mut self, stmt: &SqlBuilder, cols: &[ColType]) -> StoreResult<Vec<Vec<Value>>>;
    /// Run a statement; the number of rows it changed.
    async fn execute(&mut self, stmt: &SqlBuilder) -> StoreResult<u64>;
}

/// The statements of a page: its rows, and its count when asked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageStatements {
    pub rows: SqlBuilder,
    pub count: Option<SqlBuilder>,
    pub limit: u32,
    pub cols: Vec<ColType>,
}

impl PageStatements {
    pub fn new(dialect: Dialect, q: &ListQuery) -> StoreResult<Self> {
        Ok(Self {
            rows: query::list(dialect, q)?,
            count: q.count.then(|| query::count(dialect, q)).transpose()?,
            limit: q.limit,
            cols: query::record_columns(&q.collection),
        })
    }

    pub async fn run(&self, e: &mut impl Exec) -> StoreResult<ListPage> {
        let rows = e.fetch(&self.rows, &self.cols).await?;
        let has_more = rows.len() > self.limit as usize;
        let records = rows
            .into_iter()
            .take(self.limit as usize)
            .map(query::decode_record)
            .collect::<Result<_, _>>()?;
        let total = match &self.count {
            Some(count) => match e
                .fetch(count, &[ColType::Int])
                .await?
                .first()
                .map(Vec::as_slice)
            {
                Some([Value::Int(n)]) => Some(u64::try_from(*n).unwrap_or(0)),
                _ => return Err(anyhow::anyhow!("COUNT(*) returned no number").into()),
            },
            None => None,
        };
        Ok(ListPage {
            records,
            has_more,
            total,
        })
    }
}

/// Records by id, with a read by id compiled for SQLite or MySQL ([`crate::sql::by_id`]).
pub async fn fetch(
    e: &mut impl Exec,
    read: &ByIdStatement,
    ids: &[uuid::Uuid],
) -> StoreResult<Vec<Record>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let stmt = query::with_id_list(&read.stmt, ids);
    e.fetch(&stmt, &read.cols)
        .await?
        .into_iter()
        .map(query::decode_record)
        .collect()
}

pub async fn check(e: &mut impl Exec, q: &CheckQuery) -> StoreResult<Vec<Checked>> {
    if q.ids.is_empty() {
        return Ok(Vec::new());
    }
    let stmt = query::checks(e.dialect(), &q.scope, &q.collection, &q.ids, &q.checks)?;
    let rows = e
        .fetch(&stmt, &query::check_columns(q.checks.len()))
        .await?;
    rows.into_iter().map(checked).collect()
}

/// A row of [`query::checks`].
fn checked(row: Vec<Value>) -> StoreResult<Checked> {
    let mut values = row.into_iter();
    let (Some(Value::Uuid(id)), Some(Value::Int(version))) = (values.next(), values.next()) else {
        return Err(anyhow::anyhow!("a check row has malformed system columns").into());
    };
    let holds = values.map(|v| v == Value::Int(1)).collect();
    Ok(Checked { id, version, holds })
}

/// Which of `reads` hold on the record `id`, inside the write's transaction.
async fn decide(
    e: &mut impl Exec,
    scope: &Scope,
    collection: &Collection,
    id: uuid::Uuid,
    reads: &[Arc<strata_core::expr::Expr>],
) -> StoreResult<Vec<bool>> {
    if reads.is_empty() {
        return Ok(Vec::new());
    }
    let stmt = query::checks(e.dialect(), scope, collection, &[id], reads)?;
    let rows = e.fetch(&stmt, &query::check_columns(reads.len())).await?;
    match rows.into_iter().next() {
        Some(row) => Ok(checked(row)?.holds),
        None => Err(anyhow::anyhow!("a written record vanished in its own transaction").into()),
    }
}

/// Apply every op of a batch in order, with its outbox event, inside the caller's transaction. On error the caller
/// rolls back.
pub async fn apply_batch(
    e: &mut impl Exec,
    batch: WriteBatch,
) -> Result<Vec<WriteOutcome>, BatchError> {
    let WriteBatch {
        scope,
        ops,
        meta,
        idempotency,
    } = batch;
    let mut outcomes = Vec::with_capacity(ops.len());
    for (index, op) in ops.into_iter().enumerate() {
        let (collection, applied) = apply(e, &scope, op)
            .await
            .map_err(|error| BatchError { index, error })?;
        let (event, outcome) = match applied {
            Applied::Created(r, holds) => (
                outbox::event(&collection, "created", &r, None, &meta),
                WriteOutcome::Created(r, holds),
            ),
            Applied::Updated(previous, r, holds) => (
                outbox::event(&collection, "updated", &r, Some(&previous), &meta),
                WriteOutcome::Updated(r, holds),
            ),
            Applied::Deleted(r) => (
                outbox::event(&collection, "deleted", &r, Some(&r), &meta),
                WriteOutcome::Deleted(r),
            ),
        };
        e.execute(&outbox::insert(e.dialect(), event))
            .await
            .map_err(|error| BatchError { index, error })?;
        outcomes.push(outcome);
    }
    if let Some((key, finish)) = idempotency {
        let response = finish(&outcomes);
        let index = outcomes.len().saturating_sub(1);
        crate::idempotency::complete(e, &key, &response)
            .await
            .map_err(|error| BatchError { index, error })?;
    }
    Ok(outcomes)
}

/// What one op did, with the previous record of an update for its event and which of its `reads` hold.
enum Applied {
    Created(Record, Vec<bool>),
    Updated(Record, Record, Vec<bool>),
    Deleted(Record),
}

async fn apply(
    e: &mut impl Exec,
    scope: &Scope,
    op: WriteOp,
) -> StoreResult<(Arc<Collection>, Applied)> {
    let dialect = e.dialect();
    match op {
        WriteOp::Insert {
            collection,
            record,
            check,
            reads,
        } => {
            check_relations(e, scope, &collection, &record, None).await?;
            e.execute(&query::insert(dialect, &collection, &record))
                .await?;
            if let Some(rule) = check {
                let stmt = query::rule_holds(
                    dialect,
                    scope,
                    &collection,
                    record.id,
                    &rule,
                    Some(&record),
                )?;
                if e.fetch(&stmt, &[ColType::Int]).await?.is_empty() {
                    return Err(StoreError::Forbidden);
                }
            }
            let holds = decide(e, scope, &collection, record.id, &reads).await?;
            Ok((collection, Applied::Created(record, holds)))
        }
        WriteOp::Update {
            collection,
            id,
            visible,
            allowed,
            if_match,
            apply,
            reads,
        } => {
            let current = load(e, scope, &collection, id, &visible).await?;
            if if_match.is_some_and(|v| v != current.version) {
                return Err(StoreError::VersionMismatch);
            }
            let values = apply(&current).map_err(StoreError::Rejected)?;
            let next = Record {
                id,
                created_at: current.created_at,
                updated_at: strata_core::value::now().max(current.updated_at),
                version: current.version + 1,
                values,
            };
            if let Some(rule) = allowed {
                let stmt = query::rule_holds(dialect, scope, &collection, id, &rule, Some(&next))?;
                if e.fetch(&stmt, &[ColType::Int]).await?.is_empty() {
                    return Err(StoreError::Forbidden);
                }
            }
            check_relations(e, scope, &collection, &next, Some(&current)).await?;
            if e.execute(&query::update(dialect, &collection, &next, current.version))
                .await?
                == 0
            {
                return Err(StoreError::VersionMismatch);
            }
            let holds = decide(e, scope, &collection, id, &reads).await?;
            Ok((collection, Applied::Updated(current, next, holds)))
        }
        WriteOp::Delete {
            collection,
            id,
            visible,
            allowed,
            if_match,
        } => {
            let current = load(e, scope, &collection, id, &visible).await?;
            if if_match.is_some_and(|v| v != current.version) {
                return Err(StoreError::VersionMismatch);
            }
            if let Some(rule) = allowed {
                let stmt = query::rule_holds(dialect, scope, &collection, id, &rule, None)?;
                if e.fetch(&stmt, &[ColType::Int]).await?.is_empty() {
                    return Err(StoreError::Forbidden);
                }
            }
            e.execute(&query::delete(dialect, &collection, id)).await?;
            Ok((collection, Applied::Deleted(current)))
        }
    }
}

async fn load(
    e: &mut impl Exec,
    scope: &Scope,
    collection: &Collection,
    id: uuid::Uuid,
    visible: &[Arc<strata_core::expr::Expr>],
) -> StoreResult<Record> {
    let stmt = query::select_one(e.dialect(), scope, collection, id, visible, true)?;
    let row = e
        .fetch(&stmt, &query::record_columns(collection))
        .await?
        .into_iter()
        .next();
    row.map(query::decode_record)
        .transpose()?
        .ok_or(StoreError::NotFound)
}

/// Every relation set (or changed) by a write must name an existing record: `invalid_relation` names the field,
/// which a foreign-key error alone cannot on every database.
async fn check_relations(
    e: &mut impl Exec,
    scope: &Scope,
    collection: &Collection,
    record: &Record,
    previous: Option<&Record>,
) -> StoreResult<()> {
    check_relations_once(
        e,
        scope,
        collection,
        record,
        previous,
        &mut RelationChecks::new(),
    )
    .await
}

/// The answers of the relation checks run so far in one transaction, by statement: a check identical to one
/// already run (the same target, id and view condition as compiled for its caller) has the same answer there.
pub(crate) type RelationChecks = std::collections::HashMap<SqlBuilder, bool>;

/// [`check_relations`], running each distinct check once across the calls that share `checked`.
async fn check_relations_once(
    e: &mut impl Exec,
    scope: &Scope,
    collection: &Collection,
    record: &Record,
    previous: Option<&Record>,
    checked: &mut RelationChecks,
) -> StoreResult<()> {
    for (i, field, target) in collection.relations() {
        let Some(Value::Uuid(id)) = record.values.get(i) else {
            continue;
        };
        if previous.is_some_and(|p| p.values.get(i) == record.values.get(i)) {
            continue;
        }
        let invalid = || StoreError::InvalidRelation {
            field: field.name.clone(),
        };
        // A non-admin may point a relation only at a record they may view (SPEC §14): the same answer as for a
        // record that does not exist.
        let target = scope.schema.collection(target).ok_or_else(invalid)?;
        let visible: Vec<Arc<strata_core::expr::Expr>> =
            match Access::of(&scope.schema, &scope.principal, target, Action::View) {
                Access::Denied => return Err(invalid()),
                access => access.condition().into_iter().collect(),
            };
        let stmt = query::exists(e.dialect(), scope, target, *id, &visible)?;
        let found = match checked.entry(stmt) {
            Entry::Occupied(answer) => *answer.get(),
            Entry::Vacant(check) => {
                let found = !e.fetch(check.key(), &[ColType::Int]).await?.is_empty();
                *check.insert(found)
            }
        };
        if !found {
            return Err(invalid());
        }
    }
    Ok(())
}
