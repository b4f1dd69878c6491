//! Evaluating an expression in memory, with SQL's three-valued logic (SPEC §7): for create rules and realtime
//! events. Only a comparison with the literal `null` tests for null; any other comparison with a null operand is
//! unknown; `!`, `&&` and `||` follow Kleene's logic. A path through a relation needs other records, so it is
//! reported as [`NeedsStore`] for the caller to evaluate in SQL instead.

use std::borrow::Cow;

use chrono::{DateTime, Utc};

use super::{CompareOp, Expr, Literal, compare_values, fold, json_element_eq, resolve_path};
use crate::principal::Principal;
use crate::record::Record;
use crate::schema::{Collection, Schema, USERS};
use crate::value::Value;

/// A truth value of SQL's three-valued logic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Tri {
    True,
    False,
    Unknown,
}

impl Tri {
    /// `True` or `False`.
    pub fn from_bool(b: bool) -> Tri {
        if b { Tri::True } else { Tri::False }
    }

    /// Kleene's AND: false wins, then unknown.
    pub fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::False, _) | (_, Tri::False) => Tri::False,
            (Tri::True, Tri::True) => Tri::True,
            _ => Tri::Unknown,
        }
    }

    /// Kleene's OR: true wins, then unknown.
    pub fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::True, _) | (_, Tri::True) => Tri::True,
            (Tri::False, Tri::False) => Tri::False,
            _ => Tri::Unknown,
        }
    }

    /// A rule or filter allows only what is true: unknown denies.
    pub fn is_true(self) -> bool {
        self == Tri::True
    }
}

impl std::ops::Not for Tri {
    type Output = Tri;

    /// `!unknown` is unknown.
    fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }
}

/// The expression reads another record (a relation path or a back-relation), which only the store can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the expression follows a relation and must be evaluated by the store")]
pub struct NeedsStore;

/// What an expression is evaluated against.
#[derive(Debug, Clone, Copy)]
pub struct EvalContext<'a> {
    pub schema: &'a Schema,
    /// The collection of `record` and `data`.
    pub collection: &'a Collection,
    /// The record bare field names read; without one, they read as null.
    pub record: Option<&'a Record>,
    /// The record `@data` reads (create and update rules); without one, `@data.*` is null.
    pub data: Option<&'a Record>,
    /// Who asks: `@auth`.
    pub principal: &'a Principal,
    /// `@now`: when the request started.
    pub now: DateTime<Utc>,
}

/// Evaluate a condition. The expression is assumed checked ([`super::check`]); an unknown name reads as null.
/// `Err(NeedsStore)` only where the result depends on a relation path: `true || author.name = 'x'` is true.
pub fn eval(expr: &Expr, ctx: &EvalContext<'_>) -> Result<Tri, NeedsStore> {
    match expr {
        Expr::Literal(Literal::Bool(b)) => Ok(Tri::from_bool(*b)),
        Expr::Literal(_) => Ok(Tri::Unknown),
        Expr::Field { .. } | Expr::Auth { .. } | Expr::Data { .. } | Expr::Now { .. } => {
            Ok(match operand(expr, ctx)?.as_ref() {
                Value::Bool(b) => Tri::from_bool(*b),
                _ => Tri::Unknown,
            })
        }
        Expr::Not { expr, .. } => Ok(!eval(expr, ctx)?),
        Expr::And { operands, .. } => fold_logic(operands, ctx, Tri::False, Tri::and),
        Expr::Or { operands, .. } => fold_logic(operands, ctx, Tri::True, Tri::or),
        Expr::Compare {
            op, left, right, ..
        } => compare(*op, left, right, ctx),
        Expr::In { expr, list, .. } => {
            // `x in (a, b)` is `x = a || x = b`, with SQL's IN semantics for nulls.
            let value = operand(expr, ctx)?;
            let mut result = Tri::False;
            let mut needs_store = false;
            for item in list {
                match operand(item, ctx) {
                    Ok(item) => result = result.or(compare_values(CompareOp::Eq, &value, &item)),
                    Err(NeedsStore) => needs_store = true,
                }
                if result == Tri::True {
                    return Ok(result);
                }
            }
            if needs_store {
                Err(NeedsStore)
            } else {
                Ok(result)
            }
        }
    }
}

/// Combine `operands` with `combine`, stopping at `decisive` (false for AND, true for OR); a relation path that
/// could still change the result makes it `NeedsStore`.
fn fold_logic(
    operands: &[Expr],
    ctx: &EvalContext<'_>,
    decisive: Tri,
    combine: fn(Tri, Tri) -> Tri,
) -> Result<Tri, NeedsStore> {
    let mut result = !decisive;
    let mut needs_store = false;
    for operand in operands {
        match eval(operand, ctx) {
            Ok(t) if t == decisive => return Ok(t),
            Ok(t) => result = combine(result, t),
            Err(NeedsStore) => needs_store = true,
        }
    }
    if needs_store {
        Err(NeedsStore)
    } else {
        Ok(result)
    }
}

fn compare(
    op: CompareOp,
    left: &Expr,
    right: &Expr,
    ctx: &EvalContext<'_>,
) -> Result<Tri, NeedsStore> {
    let is_null_literal = |e: &Expr| matches!(e, Expr::Literal(Literal::Null));
    if matches!(op, CompareOp::Eq | CompareOp::Ne)
        && (is_null_literal(left) || is_null_literal(right))
    {
        let other = if is_null_literal(left) { right } else { left };
        let is_null = operand(other, ctx)?.is_null();
        return Ok(Tri::from_bool(is_null == (op == CompareOp::Eq)));
    }
    let (a, b) = (operand(left, ctx)?, operand(right, ctx)?);
    Ok(match (op, a.as_ref(), b.as_ref()) {
        (_, Value::Null, _) | (_, _, Value::Null) => Tri::Unknown,
        (CompareOp::Contains, Value::Text(h), Value::Text(n)) => {
            Tri::from_bool(fold::contains(h, n))
        }
        (CompareOp::NotContains, Value::Text(h), Value::Text(n)) => {
            Tri::from_bool(!fold::contains(h, n))
        }
        (CompareOp::Contains | CompareOp::NotContains, _, _) => Tri::Unknown,
        (CompareOp::AnyEq, Value::Json(serde_json::Value::Array(items)), needle) => {
            Tri::from_bool(items.iter().any(|item| json_element_eq(item, needle)))
        }
        (CompareOp::AnyEq, Value::Json(_), _) => Tri::False,
        (CompareOp::AnyEq, _, _) => Tri::Unknown,
        (op, a, b) => compare_values(op, a, b),
    })
}

/// The value of an operand known without reading a row: a literal, `@auth.*`, `@data.*` or `@now` (the SQL
/// compilers bind these). A field reads `ctx.record`.
pub fn eval_value(expr: &Expr, ctx: &EvalContext<'_>) -> Result<Value, NeedsStore> {
    operand(expr, ctx).map(Cow::into_owned)
}

fn operand<'a>(expr: &'a Expr, ctx: &EvalContext<'a>) -> Result<Cow<'a, Value>, NeedsStore> {
    Ok(match expr {
        Expr::Literal(literal) => Cow::Owned(match literal {
            Literal::Null => Value::Null,
            Literal::Bool(b) => Value::Bool(*b),
            Literal::Int(i) => Value::Int(*i),
            Literal::Float(f) => Value::Float(*f),
            Literal::Text(s) => Value::Text(s.clone()),
        }),
        Expr::Field { path, .. } => {
            let column = match path.as_slice() {
                [name] => name.as_str(),
                _ => match resolve_path(ctx.schema, ctx.collection, path, 0, true) {
                    Ok(resolved) if resolved.steps.is_empty() => resolved.column,
                    Ok(_) => return Err(NeedsStore),
                    Err(_) => return Ok(Cow::Owned(Value::Null)),
                },
            };
            read(ctx.collection, ctx.record, column)
        }
        Expr::Auth { name, .. } => Cow::Owned(auth_value(ctx, name)),
        Expr::Data { name, .. } => read(ctx.collection, ctx.data, name),
        Expr::Now { .. } => Cow::Owned(Value::Datetime(ctx.now)),
        condition => Cow::Owned(match eval(condition, ctx)? {
            Tri::True => Value::Bool(true),
            Tri::False => Value::Bool(false),
            Tri::Unknown => Value::Null,
        }),
    })
}

/// A column of `record` (a system field or a declared one); null without a record or for an unknown name.
fn read<'a>(collection: &Collection, record: Option<&'a Record>, column: &str) -> Cow<'a, Value> {
    let Some(record) = record else {
        return Cow::Owned(Value::Null);
    };
    match column {
        "id" => Cow::Owned(Value::Uuid(record.id)),
        "created_at" => Cow::Owned(Value::Datetime(record.created_at)),
        "updated_at" => Cow::Owned(Value::Datetime(record.updated_at)),
        "version" => Cow::Owned(Value::Int(record.version)),
        _ => match collection
            .field_index(column)
            .and_then(|i| record.values.get(i))
        {
            Some(value) => Cow::Borrowed(value),
            None => Cow::Owned(Value::Null),
        },
    }
}

/// `@auth.NAME` (SPEC §7): `kind` always; for an anonymous caller everything else is null. `roles` is a JSON
/// array of the role names; other names read the caller's `users` record.
pub fn auth_value(ctx: &EvalContext<'_>, name: &str) -> Value {
    let principal = ctx.principal;
    if name == "kind" {
        return Value::Text(principal.kind.as_str().to_owned());
    }
    if principal.is_anonymous() {
        return Value::Null;
    }
    match name {
        "id" => principal.id.map_or(Value::Null, Value::Uuid),
        "email" => principal.email.clone().map_or(Value::Null, Value::Text),
        "roles" => Value::Json(
            principal
                .roles
                .iter()
                .map(|r| serde_json::Value::from(r.as_str()))
                .collect(),
        ),
        _ => match ctx.schema.collection(USERS) {
            Some(users) => read(users, principal.user.as_ref(), name).into_owned(),
            None => Value::Null,
        },
    }
}

/// Whether [`eval`] may answer `NeedsStore` for `expr`: whether it has a path through a relation.
pub fn needs_store(expr: &Expr, schema: &Schema, collection: &Collection) -> bool {
    match expr {
        Expr::Field { path, .. } => {
            path.len() > 1
                && resolve_path(schema, collection, path, 0, true)
                    .is_ok_and(|resolved| !resolved.steps.is_empty())
        }
        Expr::Literal(_) | Expr::Auth { .. } | Expr::Data { .. } | Expr::Now { .. } => false,
        Expr::Not { expr, .. } => needs_store(expr, schema, collection),
        Expr::And { operands, .. } | Expr::Or { operands, .. } => {
            operands.iter().any(|e| needs_store(e, schema, collection))
        }
        Expr::Compare { left, right, .. } => {
            needs_store(left, schema, collection) || needs_store(right, schema, collection)
        }
        Expr::In { expr, list, .. } => {
            needs_store(expr, schema, collection)
                || list.iter().any(|e| needs_store(e, schema, collection))
        }
    }
}

#[cfg(test)]
#[path = "eval_tests.rs"]
mod tests;
