//! The statements that decide conditions on stored rows: whether a rule holds, whether a record exists for a
//! caller, and which of several rules hold on each of some records.

use std::sync::Arc;

use strata_core::expr::Expr;
use strata_core::schema::Collection;
use strata_core::{ColType, Record, Value};
use uuid::Uuid;

use super::{
    ALIAS, Reading, compile_failed, filter, filter_scope, from, push_condition, push_conditions,
    where_id_in,
};
use crate::StoreError;
use crate::model::Scope;
use crate::sql::{Dialect, SqlBuilder};

/// `SELECT 1 … WHERE id = ? AND (rule)`: whether a rule holds for a stored row, with `@data` bound to `data`.
pub fn rule_holds(
    dialect: Dialect,
    scope: &Scope,
    collection: &Collection,
    id: Uuid,
    rule: &Expr,
    data: Option<&Record>,
) -> Result<SqlBuilder, StoreError> {
    let mut b = select_1_by_id(dialect, collection, id);
    push_condition(&mut b, scope, collection, rule, data, Reading::Stored)?;
    Ok(b)
}

/// `SELECT 1 … WHERE id = ? AND conditions`: whether the record exists and the conditions let it through,
/// without reading its columns (a relation's target, checked on every write that sets it).
pub fn exists(
    dialect: Dialect,
    scope: &Scope,
    collection: &Collection,
    id: Uuid,
    conditions: &[Arc<Expr>],
) -> Result<SqlBuilder, StoreError> {
    let mut b = SqlBuilder::new(dialect);
    push_exists(&mut b, scope, collection, id, conditions)?;
    Ok(b)
}

/// [`exists`]'s statement pushed onto `b`, as a subquery of a larger one.
pub fn push_exists(
    b: &mut SqlBuilder,
    scope: &Scope,
    collection: &Collection,
    id: Uuid,
    conditions: &[Arc<Expr>],
) -> Result<(), StoreError> {
    push_select_1_by_id(b, collection, id);
    push_conditions(b, scope, collection, conditions, None)
}

/// `SELECT 1 FROM collection t WHERE t.id = ?`
fn select_1_by_id(dialect: Dialect, collection: &Collection, id: Uuid) -> SqlBuilder {
    let mut b = SqlBuilder::new(dialect);
    push_select_1_by_id(&mut b, collection, id);
    b
}

fn push_select_1_by_id(b: &mut SqlBuilder, collection: &Collection, id: Uuid) {
    b.push("SELECT 1");
    from(b, collection);
    b.push(" WHERE ")
        .column(ALIAS, "id")
        .push(" = ")
        .param(Value::Uuid(id), ColType::Uuid);
}

/// `SELECT id, version, CASE WHEN (c1) THEN 1 ELSE 0 END, … WHERE id IN (…)`: which of `checks`, rules of the
/// collection (read rules that follow relations), hold on each of these records as they stand now.
pub fn checks(
    dialect: Dialect,
    scope: &Scope,
    collection: &Collection,
    ids: &[Uuid],
    checks: &[Arc<Expr>],
) -> Result<SqlBuilder, StoreError> {
    let mut b = SqlBuilder::new(dialect);
    b.push("SELECT ")
        .column(ALIAS, "id")
        .push(", ")
        .column(ALIAS, "version");
    let filter_scope = filter_scope(scope, collection, None, Reading::Stored);
    for check in checks {
        b.push(", CASE WHEN (");
        filter::compile(check, &filter_scope, &mut b).map_err(compile_failed)?;
        b.push(") THEN 1 ELSE 0 END");
    }
    from(&mut b, collection);
    where_id_in(&mut b, ids);
    Ok(b)
}

/// The column types of a [`checks`] row.
pub fn check_columns(checks: usize) -> Vec<ColType> {
    let mut cols = vec![ColType::Uuid, ColType::Int];
    cols.extend(std::iter::repeat_n(ColType::Int, checks));
    cols
}
