//! The statements of the record API, for every dialect: select, page, count, insert, update, delete, outbox.

use std::sync::Arc;

use strata_core::expr::Expr;
use strata_core::schema::Collection;
use strata_core::{ColType, Record, Value};
use uuid::Uuid;

use super::filter::{self, FilterScope, Reading};
use super::{Dialect, SqlBuilder};
use crate::StoreError;
use crate::model::{ListQuery, Scope};

mod check;
mod write;
pub use check::{check_columns, checks, exists, push_exists, rule_holds};
pub use write::{Values, delete, insert, insert_rows, push_insert, update};

/// The alias of the collection's table in every statement.
pub const ALIAS: &str = "t";

/// Column types of a record row: the system fields, then the declared fields.
pub fn record_columns(collection: &Collection) -> Vec<ColType> {
    let mut cols = vec![
        ColType::Uuid,
        ColType::Datetime,
        ColType::Datetime,
        ColType::Int,
    ];
    cols.extend(collection.fields.iter().map(|f| f.storage()));
    cols
}

/// The type of a sortable or filterable column, system fields included.
pub fn column_type(collection: &Collection, name: &str) -> Option<ColType> {
    match name {
        "id" => Some(ColType::Uuid),
        "created_at" | "updated_at" => Some(ColType::Datetime),
        "version" => Some(ColType::Int),
        _ => collection.field(name).map(|f| f.storage()),
    }
}

/// A row read with [`record_columns`] as a record.
pub fn decode_record(row: Vec<Value>) -> Result<Record, StoreError> {
    let mut values = row.into_iter();
    let mut next = || {
        values
            .next()
            .ok_or_else(|| anyhow::anyhow!("short record row"))
    };
    let (
        Value::Uuid(id),
        Value::Datetime(created_at),
        Value::Datetime(updated_at),
        Value::Int(version),
    ) = (next()?, next()?, next()?, next()?)
    else {
        return Err(anyhow::anyhow!("a record row has malformed system columns").into());
    };
    Ok(Record {
        id,
        created_at,
        updated_at,
        version,
        values: values.collect(),
    })
}

fn select_record(b: &mut SqlBuilder, collection: &Collection) {
    select_columns(b, collection);
    from(b, collection);
}

/// ` FROM collection t`
pub(crate) fn from(b: &mut SqlBuilder, collection: &Collection) {
    b.push(" FROM ")
        .ident(&collection.name)
        .push(" ")
        .ident(ALIAS);
}

/// `SELECT` the record's columns, in [`record_columns`] order.
pub(crate) fn select_columns(b: &mut SqlBuilder, collection: &Collection) {
    b.push("SELECT ");
    for (i, name) in ["id", "created_at", "updated_at", "version"]
        .into_iter()
        .chain(collection.fields.iter().map(|f| f.name.as_str()))
        .enumerate()
    {
        if i > 0 {
            b.push(", ");
        }
        b.column(ALIAS, name);
    }
}

/// Append ` AND (c1) AND (c2)…`, each condition a rule compiled for this scope.
pub fn push_conditions(
    b: &mut SqlBuilder,
    scope: &Scope,
    collection: &Collection,
    conditions: &[Arc<Expr>],
    data: Option<&Record>,
) -> Result<(), StoreError> {
    for condition in conditions {
        push_condition(b, scope, collection, condition, data, Reading::Stored)?;
    }
    Ok(())
}

/// What expressions of `collection`'s table are compiled against.
fn filter_scope<'a>(
    scope: &'a Scope,
    collection: &'a Collection,
    data: Option<&'a Record>,
    reading: Reading,
) -> FilterScope<'a> {
    FilterScope {
        schema: &scope.schema,
        collection,
        alias: ALIAS,
        principal: &scope.principal,
        data,
        now: scope.now,
        reading,
    }
}

/// Append ` AND (expr)`.
fn push_condition(
    b: &mut SqlBuilder,
    scope: &Scope,
    collection: &Collection,
    expr: &Expr,
    data: Option<&Record>,
    reading: Reading,
) -> Result<(), StoreError> {
    let filter_scope = filter_scope(scope, collection, data, reading);
    b.push(" AND (");
    filter::compile(expr, &filter_scope, b).map_err(compile_failed)?;
    b.push(")");
    Ok(())
}

fn compile_failed(e: strata_core::expr::ExprError) -> StoreError {
    anyhow::anyhow!("a checked expression failed to compile: {e}").into()
}

/// The rules of a list, then the caller's own filter, which sees only what the caller may read (SPEC §14).
fn push_list_conditions(b: &mut SqlBuilder, q: &ListQuery) -> Result<(), StoreError> {
    push_conditions(b, &q.scope, &q.collection, &q.conditions, None)?;
    if let Some(filter) = &q.filter {
        push_condition(b, &q.scope, &q.collection, filter, None, Reading::AsCaller)?;
    }
    Ok(())
}

/// A sort key as the caller reads it: null on rows where its read rule hides it (SPEC §14).
fn sort_key(b: &mut SqlBuilder, q: &ListQuery, field: &str) -> Result<(), StoreError> {
    let filter_scope = filter_scope(&q.scope, &q.collection, None, Reading::AsCaller);
    filter::field_value(field, &filter_scope, b).map_err(compile_failed)
}

/// `SELECT … WHERE id = ? AND conditions`, locking the row for the write that follows.
pub fn select_one(
    dialect: Dialect,
    scope: &Scope,
    collection: &Collection,
    id: Uuid,
    visible: &[Arc<Expr>],
    for_update: bool,
) -> Result<SqlBuilder, StoreError> {
    let mut b = SqlBuilder::new(dialect);
    select_record(&mut b, collection);
    b.push(" WHERE ")
        .column(ALIAS, "id")
        .push(" = ")
        .param(Value::Uuid(id), ColType::Uuid);
    push_conditions(&mut b, scope, collection, visible, None)?;
    if for_update && dialect != Dialect::Sqlite {
        b.push(" FOR UPDATE");
    }
    Ok(b)
}

/// A read by id of [`super::by_id`] (its `?` first) reading `ids` (at least one), on SQLite and MySQL. The list is
/// padded to a power of two with its first id, so that a connection prepares a handful of statement texts, not
/// one per number of ids.
pub fn with_id_list(template: &SqlBuilder, ids: &[Uuid]) -> SqlBuilder {
    // One id, the common read: the template's own text, its placeholder bound.
    if let [id] = ids {
        let mut b = template.clone();
        if let Some(first) = b.params.first_mut() {
            first.value = Value::Uuid(*id);
            return b;
        }
    }
    let n = ids.len().max(1).next_power_of_two();
    let at = template.sql.find('?').unwrap_or(template.sql.len());
    let mut b = SqlBuilder::new(template.dialect);
    b.sql.reserve(template.sql.len() + 3 * n);
    b.params.reserve(n + template.params.len());
    b.push(&template.sql[..at]);
    for i in 0..n {
        let id = ids.get(i).or(ids.first()).copied().unwrap_or_default();
        b.push(if i > 0 { ", " } else { "" })
            .param(Value::Uuid(id), ColType::Uuid);
    }
    b.push(template.sql.get(at + 1..).unwrap_or_default());
    b.params.extend(template.params.iter().skip(1).cloned());
    b
}

/// ` WHERE t.id IN (…)`
fn where_id_in(b: &mut SqlBuilder, ids: &[Uuid]) {
    if ids.len() > 1 {
        b.varies();
    }
    b.push(" WHERE ").column(ALIAS, "id").push(" IN (");
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.param(Value::Uuid(*id), ColType::Uuid);
    }
    b.push(")");
}

/// One page: conditions, keyset position, order, `limit + 1` rows to tell whether more follow.
pub fn list(dialect: Dialect, q: &ListQuery) -> Result<SqlBuilder, StoreError> {
    let mut b = SqlBuilder::new(dialect);
    select_record(&mut b, &q.collection);
    b.push(" WHERE 1=1");
    push_list_conditions(&mut b, q)?;
    if let Some(after) = &q.after {
        b.push(" AND (");
        push_keyset(&mut b, q, after)?;
        b.push(")");
    }
    b.push(" ORDER BY ");
    for (i, key) in q.sort.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        sort_key(&mut b, q, &key.field)?;
        // NULLs first ascending and last descending (SPEC §14): the default of SQLite and MySQL. PostgreSQL
        // needs it said, but only for columns that can hold NULL: said of a NOT NULL column it would stop an
        // index from serving the order.
        match (
            dialect == Dialect::Postgres && nullable(&key.field),
            key.descending,
        ) {
            (true, false) => b.push(" ASC NULLS FIRST"),
            (true, true) => b.push(" DESC NULLS LAST"),
            (false, false) => b.push(" ASC"),
            (false, true) => b.push(" DESC"),
        };
    }
    b.push(" LIMIT ")
        .push(&(u64::from(q.limit) + 1).to_string());
    if q.offset > 0 {
        b.push(" OFFSET ").push(&q.offset.to_string());
    }
    Ok(b)
}

/// `SELECT COUNT(*)` of the rows a list's conditions admit.
pub fn count(dialect: Dialect, q: &ListQuery) -> Result<SqlBuilder, StoreError> {
    let mut b = SqlBuilder::new(dialect);
    b.push("SELECT COUNT(*) FROM ")
        .ident(&q.collection.name)
        .push(" ")
        .ident(ALIAS)
        .push(" WHERE 1=1");
    push_list_conditions(&mut b, q)?;
    Ok(b)
}

/// Whether a sortable column may hold NULL: every declared field may; system fields never do.
fn nullable(field: &str) -> bool {
    !strata_core::schema::SYSTEM_FIELDS.contains(&field)
}

/// The rows strictly after `after` in the order of `q.sort`, NULLs first ascending and last descending, each key
/// read as the caller reads it. Over NOT NULL keys in one direction (the default `created_at, id`) that is a
/// row comparison an index serves directly, `(k1, k2) > (v1, v2)`; otherwise `(k1 > v1) OR (k1 = v1 AND k2 >
/// v2) OR …` with NULLs placed.
fn push_keyset(b: &mut SqlBuilder, q: &ListQuery, after: &[Value]) -> Result<(), StoreError> {
    let (collection, sort) = (&q.collection, &q.sort);
    let one_way = sort.iter().all(|k| k.descending == sort[0].descending);
    if one_way && sort.iter().all(|k| !nullable(&k.field)) && after.iter().all(|v| !v.is_null()) {
        b.push("(");
        for (i, key) in sort.iter().enumerate() {
            b.push(if i > 0 { ", " } else { "" })
                .column(ALIAS, &key.field);
        }
        b.push(if sort[0].descending { ") < (" } else { ") > (" });
        for (i, (key, value)) in sort.iter().zip(after).enumerate() {
            let ty = column_type(collection, &key.field).unwrap_or(ColType::Text);
            b.push(if i > 0 { ", " } else { "" })
                .param(value.clone(), ty);
        }
        b.push(")");
        return Ok(());
    }
    for i in 0..sort.len() {
        if i > 0 {
            b.push(" OR ");
        }
        b.push("(");
        for (key, value) in sort.iter().zip(after).take(i) {
            let ty = column_type(collection, &key.field).unwrap_or(ColType::Text);
            sort_key(b, q, &key.field)?;
            if value.is_null() {
                b.push(" IS NULL AND ");
            } else {
                b.push(" = ").param(value.clone(), ty).push(" AND ");
            }
        }
        let key = &sort[i];
        let ty = column_type(collection, &key.field).unwrap_or(ColType::Text);
        let value = after.get(i).cloned().unwrap_or(Value::Null);
        match (key.descending, value.is_null()) {
            // Ascending, after NULL: every non-null value.
            (false, true) => {
                sort_key(b, q, &key.field)?;
                b.push(" IS NOT NULL");
            }
            (false, false) => {
                sort_key(b, q, &key.field)?;
                b.push(" > ").param(value, ty);
            }
            // Descending, NULLs last: nothing sorts after NULL but NULL itself (a tie, handled by later keys).
            (true, true) => {
                b.push("1=0");
            }
            (true, false) if !nullable(&key.field) => {
                sort_key(b, q, &key.field)?;
                b.push(" < ").param(value, ty);
            }
            (true, false) => {
                b.push("(");
                sort_key(b, q, &key.field)?;
                b.push(" < ").param(value, ty).push(" OR ");
                sort_key(b, q, &key.field)?;
                b.push(" IS NULL)");
            }
        }
        b.push(")");
    }
    Ok(())
}
