//! The operators that test membership or match text: `in`, `~`/`!~` and `?=`.

use strata_core::expr::fold::{PatternSyntax, contains_pattern};
use strata_core::expr::{CompareOp, Expr, ExprError, Tri};
use strata_core::{ColType, Value};

use super::coerce::{Bound, bind};
use super::{Compiler, Dialect};

impl Compiler<'_, '_> {
    pub(super) fn in_list(
        &mut self,
        expr: &Expr,
        list: &[Expr],
        position: usize,
    ) -> Result<(), ExprError> {
        if !expr.reads_row() || list.iter().any(Expr::reads_row) {
            // `x in (a, b)` is `x = a OR x = b`, which is also SQL's null logic for IN.
            self.out.push("(");
            for (i, item) in list.iter().enumerate() {
                if i > 0 {
                    self.out.push(" OR ");
                }
                self.compare(CompareOp::Eq, expr, item, position)?;
            }
            self.out.push(")");
            return Ok(());
        }
        let path = self.resolve(expr)?;
        let mut values = Vec::with_capacity(list.len());
        for item in list {
            match self.known(item, position)? {
                Value::Null => values.push(Value::Null),
                value => match bind(CompareOp::Eq, value, path.ty)
                    .map_err(|m| ExprError::new(position, m))?
                {
                    Bound::Param(_, value) => values.push(value),
                    Bound::Always(_) => {} // equal to no value of the column's type
                },
            }
        }
        if values.is_empty() {
            return self.always_unless_null(&path, Tri::False);
        }
        self.value_path(&path)?;
        self.out.push(" IN (");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.out.push(", ");
            }
            self.out.param(value, path.ty);
        }
        self.out.push(")");
        Ok(())
    }

    /// `x ~ 'needle'`: a regular expression of the needle's case-fold classes (SPEC §14), run by the registered
    /// `regexp` function on SQLite, `~` on PostgreSQL and `REGEXP` on MySQL/MariaDB (whose text columns have
    /// binary collations, so the match itself is case-sensitive).
    pub(super) fn contains(
        &mut self,
        op: CompareOp,
        left: &Expr,
        right: &Expr,
        position: usize,
    ) -> Result<(), ExprError> {
        let needle = match self.known(right, position)? {
            Value::Null => {
                self.constant(Tri::Unknown);
                return Ok(());
            }
            Value::Text(needle) => needle,
            _ => return Err(ExprError::new(position, "`~` looks for text")),
        };
        let path = self.resolve(left)?;
        let (syntax, operator) = match self.dialect() {
            Dialect::Postgres => (PatternSyntax::Postgres, " ~ "),
            Dialect::Sqlite | Dialect::Mysql => (PatternSyntax::Braced, " REGEXP "),
        };
        let negate = op == CompareOp::NotContains;
        if negate {
            self.out.push("NOT (");
        }
        self.value_path(&path)?;
        self.out.push(operator);
        self.out.param(
            Value::Text(contains_pattern(&needle, syntax)),
            ColType::Text,
        );
        if negate {
            self.out.push(")");
        }
        Ok(())
    }

    /// `list ?= value`: through a back-relation an `EXISTS` chain, on a json field a containment test.
    pub(super) fn any_eq(
        &mut self,
        left: &Expr,
        right: &Expr,
        position: usize,
    ) -> Result<(), ExprError> {
        let needle = self.known(right, position)?;
        if needle.is_null() {
            self.constant(Tri::Unknown);
            return Ok(());
        }
        let path = self.resolve(left)?;
        if path.many {
            let alias = self.alias.clone();
            let collection = self.collection;
            self.any_path(&path.steps, collection, &alias, &path, &needle, position)
        } else if path.ty == ColType::Json {
            self.json_contains(&path, &needle, position)
        } else {
            Err(ExprError::new(position, "`?=` needs a list on its left"))
        }
    }
}
