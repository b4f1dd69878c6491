//! An integer column compared with a float column, exactly (SPEC §14: numbers compare by value). SQLite compares
//! INTEGER with REAL exactly; PostgreSQL and MySQL/MariaDB convert the BIGINT to a double, which rounds past
//! 2^53 (`9223372036854775807 = 9223372036854775808.0` is true there). So on those two, with `xd` the integer
//! as a double:
//!
//! ```sql
//! CASE WHEN x IS NULL OR y IS NULL THEN NULL
//!      WHEN xd <> y THEN xd OP y                  -- rounding to nearest keeps a strict order
//!      WHEN y >= 2^63 THEN <x < y>                -- y is above every integer
//!      ELSE x OP CAST(y AS BIGINT) END            -- y is integral and in range: compare as integers
//! ```

use strata_core::expr::{CompareOp, ExprError, ResolvedPath};

use super::{Compiler, Dialect, sql_op};

impl<'s> Compiler<'s, '_> {
    /// `x OP y` for an integer `x` and a float `y`.
    pub(super) fn int_against_float(
        &mut self,
        x: &ResolvedPath<'s>,
        op: CompareOp,
        y: &ResolvedPath<'s>,
    ) -> Result<(), ExprError> {
        let dialect = self.dialect();
        if dialect == Dialect::Sqlite {
            self.value_path(x)?;
            self.out.push(sql_op(op));
            return self.value_path(y);
        }
        let as_double = |c: &mut Self| -> Result<(), ExprError> {
            if dialect == Dialect::Postgres {
                c.out.push("CAST(");
                c.value_path(x)?;
                c.out.push(" AS DOUBLE PRECISION)");
            } else {
                c.out.push("(");
                c.value_path(x)?;
                c.out.push(" + 0e0)");
            }
            Ok(())
        };
        self.out.push("CASE WHEN ");
        self.value_path(x)?;
        self.out.push(" IS NULL OR ");
        self.value_path(y)?;
        self.out.push(" IS NULL THEN NULL WHEN ");
        as_double(self)?;
        self.out.push(" <> ");
        self.value_path(y)?;
        self.out.push(" THEN ");
        as_double(self)?;
        self.out.push(sql_op(op));
        self.value_path(y)?;
        self.out.push(" WHEN ");
        self.value_path(y)?;
        self.out.push(if dialect == Dialect::Postgres {
            " >= CAST('9223372036854775808' AS DOUBLE PRECISION) THEN "
        } else {
            " >= 9223372036854775808e0 THEN "
        });
        let below = matches!(op, CompareOp::Ne | CompareOp::Lt | CompareOp::Le);
        self.out.push(if below { "TRUE" } else { "FALSE" });
        self.out.push(" ELSE ");
        self.value_path(x)?;
        self.out.push(sql_op(op));
        self.out.push("CAST(");
        self.value_path(y)?;
        self.out.push(if dialect == Dialect::Postgres {
            " AS BIGINT) END"
        } else {
            " AS SIGNED) END"
        });
        Ok(())
    }
}
