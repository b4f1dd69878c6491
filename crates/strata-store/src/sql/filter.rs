//! Compiling the expression language (SPEC §7) to a SQL condition for SQLite, PostgreSQL and MySQL/MariaDB, with
//! the same three-valued result as the in-memory evaluator ([`strata_core::expr::eval`]) on every row.
//!
//! Whatever is known before a row is read (`@auth.*`, `@data.*`, `@now`, literals, and any part of the condition
//! built only from them) is evaluated in memory: a whole such part becomes `TRUE`, `FALSE` or a boolean `NULL`,
//! and a value compared with a column is bound as a parameter typed with that column's type. Values are never
//! spliced into the text. `x = null` is `x IS NULL`; a comparison with any other null is unknown, as in SQL.
//!
//! Relation paths are scalar subqueries, back-relations `EXISTS` chains, `~` a case-folded regular expression
//! (SPEC §14) and `?=` on json a containment test; see the submodules.
//!
//! Rules see every row's stored values. A caller's own filter, sort or cursor ([`Reading::AsCaller`]) sees only
//! what the caller may read (SPEC §14): for a non-admin, a field whose `read` rule fails on a row reads as null
//! there (`CASE WHEN <read rule> THEN column END`), and each relation step reaches only records the caller may
//! view (the target collection's view condition joins the step's subquery), so it reads as null elsewhere. The
//! read and view rules compiled for that are rules again: they see stored values.

mod coerce;
mod json;
mod membership;
mod numeric;
mod path;
mod sqlite;
mod visibility;

#[cfg(test)]
mod caller_differential;
#[cfg(test)]
mod caller_tests;
#[cfg(test)]
mod differential;
#[cfg(test)]
mod random;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use strata_core::expr::{
    CompareOp, EvalContext, Expr, ExprError, Literal, ResolvedPath, Tri, compare_values, eval,
    eval_value, resolve_path,
};
use strata_core::schema::{Collection, Schema};
use strata_core::{ColType, Principal, Record, Value};

use super::{Dialect, SqlBuilder};
use coerce::{Bound, bind};
pub use sqlite::register_sqlite_functions;
use visibility::masking_rule;

/// Whose expression is compiled, which decides what its field reads see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// A rule: every row's stored values, whoever asks (SPEC §7).
    Stored,
    /// The caller's own filter, sort or cursor: for a non-admin, values as the caller may read them (SPEC §14).
    AsCaller,
}

/// What a condition is compiled against.
#[derive(Debug, Clone, Copy)]
pub struct FilterScope<'a> {
    pub schema: &'a Schema,
    /// The collection whose table the condition filters.
    pub collection: &'a Collection,
    /// The alias of that table in the enclosing query.
    pub alias: &'a str,
    /// Who asks: `@auth`.
    pub principal: &'a Principal,
    /// The record `@data` reads (create and update rules).
    pub data: Option<&'a Record>,
    /// `@now`.
    pub now: DateTime<Utc>,
    /// Whether the expression is a rule or the caller's own.
    pub reading: Reading,
}

/// Append `expr`, a checked condition, to `out` as a boolean SQL expression over `scope.alias`. Errors only for
/// an expression the checker would have refused (an unknown name, an incompatible literal).
pub fn compile(
    expr: &Expr,
    scope: &FilterScope<'_>,
    out: &mut SqlBuilder,
) -> Result<(), ExprError> {
    Compiler::new(scope, out).condition(expr)
}

/// Append the field or system field `name` of `scope.alias` as the scope's reader reads it: a sort key or a
/// cursor position. For a caller that may not read it on a row, it is null there.
pub fn field_value(
    name: &str,
    scope: &FilterScope<'_>,
    out: &mut SqlBuilder,
) -> Result<(), ExprError> {
    if masking_rule(scope.collection, name, masks(scope)).is_none() {
        // The common case, without the compiler's bookkeeping.
        out.column(scope.alias, name);
        return Ok(());
    }
    Compiler::new(scope, out).read_column(scope.collection, scope.alias, name)
}

/// Whether a scope's field reads and relation steps see only what its caller may read and view.
fn masks(scope: &FilterScope<'_>) -> bool {
    scope.reading == Reading::AsCaller && !scope.principal.is_admin()
}

struct Compiler<'s, 'o> {
    scope: &'o FilterScope<'s>,
    out: &'o mut SqlBuilder,
    /// How many subquery aliases were handed out.
    aliases: usize,
    /// The collection bare names read, and its table's alias: the scope's, or a related record's while a rule of
    /// its collection is compiled for a relation step.
    collection: &'s Collection,
    alias: String,
    /// Whether field reads and relation steps see only what the caller may read and view.
    masked: bool,
}

impl<'s, 'o> Compiler<'s, 'o> {
    fn new(scope: &'o FilterScope<'s>, out: &'o mut SqlBuilder) -> Self {
        Compiler {
            scope,
            out,
            aliases: 0,
            collection: scope.collection,
            alias: scope.alias.to_owned(),
            masked: masks(scope),
        }
    }
}

impl<'s> Compiler<'s, '_> {
    fn ctx(&self) -> EvalContext<'s> {
        let scope = self.scope;
        EvalContext {
            schema: scope.schema,
            collection: self.collection,
            record: None,
            data: scope.data,
            principal: scope.principal,
            now: scope.now,
        }
    }

    fn dialect(&self) -> Dialect {
        self.out.dialect
    }

    /// A fresh alias for a subquery, never the outer table's.
    fn fresh(&mut self, prefix: &str) -> String {
        loop {
            self.aliases += 1;
            let alias = format!("{prefix}{}", self.aliases);
            if alias != self.scope.alias {
                return alias;
            }
        }
    }

    /// The value of an operand that reads no row.
    fn known(&self, expr: &Expr, position: usize) -> Result<Value, ExprError> {
        eval_value(expr, &self.ctx())
            .map_err(|_| ExprError::new(position, "expected a value known before reading a row"))
    }

    fn resolve(&self, expr: &Expr) -> Result<ResolvedPath<'s>, ExprError> {
        match expr {
            Expr::Field { path, position } => {
                resolve_path(self.scope.schema, self.collection, path, *position, true)
            }
            other => Err(ExprError::new(
                other.position().unwrap_or(0),
                "expected a field",
            )),
        }
    }

    /// `TRUE`, `FALSE` or a boolean `NULL`.
    fn constant(&mut self, t: Tri) {
        let sql = match (t, self.dialect()) {
            (Tri::True, _) => "TRUE",
            (Tri::False, _) => "FALSE",
            (Tri::Unknown, Dialect::Postgres) => "CAST(NULL AS BOOLEAN)",
            (Tri::Unknown, _) => "NULL",
        };
        self.out.push(sql);
    }

    fn condition(&mut self, expr: &Expr) -> Result<(), ExprError> {
        if !expr.reads_row() {
            let position = expr.position().unwrap_or(0);
            let t = eval(expr, &self.ctx()).map_err(|_| {
                ExprError::new(position, "expected a condition known before reading a row")
            })?;
            self.constant(t);
            return Ok(());
        }
        match expr {
            Expr::And { operands, .. } => self.join(operands, " AND "),
            Expr::Or { operands, .. } => self.join(operands, " OR "),
            Expr::Not { expr, .. } => {
                self.out.push("NOT (");
                self.condition(expr)?;
                self.out.push(")");
                Ok(())
            }
            Expr::Field { position, .. } => {
                self.compare_known(expr, CompareOp::Eq, Value::Bool(true), *position)
            }
            Expr::Compare {
                op,
                left,
                right,
                position,
            } => self.compare(*op, left, right, *position),
            Expr::In {
                expr,
                list,
                position,
            } => self.in_list(expr, list, *position),
            other => Err(ExprError::new(
                other.position().unwrap_or(0),
                "expected a condition",
            )),
        }
    }

    fn join(&mut self, operands: &[Expr], separator: &str) -> Result<(), ExprError> {
        self.out.push("(");
        for (i, operand) in operands.iter().enumerate() {
            if i > 0 {
                self.out.push(separator);
            }
            self.condition(operand)?;
        }
        self.out.push(")");
        Ok(())
    }

    fn compare(
        &mut self,
        op: CompareOp,
        left: &Expr,
        right: &Expr,
        position: usize,
    ) -> Result<(), ExprError> {
        let is_null = |e: &Expr| matches!(e, Expr::Literal(Literal::Null));
        if matches!(op, CompareOp::Eq | CompareOp::Ne) && (is_null(left) || is_null(right)) {
            let other = if is_null(left) { right } else { left };
            let path = self.resolve(other)?;
            self.value_path(&path)?;
            self.out.push(if op == CompareOp::Eq {
                " IS NULL"
            } else {
                " IS NOT NULL"
            });
            return Ok(());
        }
        match op {
            CompareOp::Contains | CompareOp::NotContains => {
                self.contains(op, left, right, position)
            }
            CompareOp::AnyEq => self.any_eq(left, right, position),
            _ if left.reads_row() && right.reads_row() => {
                let (left, right) = (self.resolve(left)?, self.resolve(right)?);
                match (left.ty, right.ty) {
                    (ColType::Int, ColType::Float) => self.int_against_float(&left, op, &right),
                    (ColType::Float, ColType::Int) => {
                        let flipped = op.flipped().unwrap_or(op);
                        self.int_against_float(&right, flipped, &left)
                    }
                    _ => {
                        self.value_path(&left)?;
                        self.out.push(sql_op(op));
                        self.value_path(&right)
                    }
                }
            }
            _ if left.reads_row() => {
                let value = self.known(right, position)?;
                self.compare_known(left, op, value, position)
            }
            _ if right.reads_row() => {
                let value = self.known(left, position)?;
                let flipped = op.flipped().unwrap_or(op);
                self.compare_known(right, flipped, value, position)
            }
            _ => {
                let (a, b) = (self.known(left, position)?, self.known(right, position)?);
                self.constant(compare_values(op, &a, &b));
                Ok(())
            }
        }
    }

    /// `column OP ?`, with the value bound as the column's type; a null value makes it unknown.
    fn compare_known(
        &mut self,
        row: &Expr,
        op: CompareOp,
        value: Value,
        position: usize,
    ) -> Result<(), ExprError> {
        if value.is_null() {
            self.constant(Tri::Unknown);
            return Ok(());
        }
        let path = self.resolve(row)?;
        match bind(op, value, path.ty).map_err(|m| ExprError::new(position, m))? {
            Bound::Param(op, value) => {
                self.value_path(&path)?;
                self.out.push(sql_op(op));
                self.out.param(value, path.ty);
            }
            Bound::Always(t) => self.always_unless_null(&path, t)?,
        }
        Ok(())
    }

    /// `t` where the column is not null, unknown where it is: `(x IS NULL AND NULL)` for false.
    fn always_unless_null(&mut self, path: &ResolvedPath<'s>, t: Tri) -> Result<(), ExprError> {
        self.out.push("(");
        self.value_path(path)?;
        self.out.push(if t == Tri::True {
            " IS NOT NULL OR "
        } else {
            " IS NULL AND "
        });
        self.constant(Tri::Unknown);
        self.out.push(")");
        Ok(())
    }
}

/// The SQL spelling of a scalar comparison.
fn sql_op(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => " = ",
        CompareOp::Ne => " <> ",
        CompareOp::Gt => " > ",
        CompareOp::Ge => " >= ",
        CompareOp::Lt => " < ",
        CompareOp::Le => " <= ",
        CompareOp::Contains | CompareOp::NotContains | CompareOp::AnyEq => " = ",
    }
}
