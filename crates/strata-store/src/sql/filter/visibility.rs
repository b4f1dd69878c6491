//! What a caller's own filter, sort or cursor may see (SPEC §14): for a non-admin, a field whose `read` rule fails
//! on a row reads as null there, and a relation step reaches only records the caller may view. Both are rules
//! compiled in place, against the row they guard, and as rules they read stored values.

use strata_core::access::Access;
use strata_core::expr::{Expr, ExprError, Tri};
use strata_core::schema::{Action, Collection, Rule};

use super::Compiler;

/// The read rule that masks `column` of `collection`, when reads are masked and the field has one that is not
/// public. System fields have none.
pub(super) fn masking_rule<'s>(
    collection: &'s Collection,
    column: &str,
    masked: bool,
) -> Option<&'s Rule> {
    if !masked {
        return None;
    }
    collection
        .field(column)
        .and_then(|field| field.read.as_ref())
        .filter(|rule| !rule.is_public())
}

impl<'s> Compiler<'s, '_> {
    /// `alias.column`, a column of a `collection` row, as the caller reads it: for a masked read of a field with
    /// a read rule, `CASE WHEN <read rule> THEN alias.column END`, null where the rule is not true.
    pub(super) fn read_column(
        &mut self,
        collection: &'s Collection,
        alias: &str,
        column: &str,
    ) -> Result<(), ExprError> {
        let Some(rule) = masking_rule(collection, column, self.masked) else {
            self.out.column(alias, column);
            return Ok(());
        };
        self.out.push("CASE WHEN ");
        self.rule_at(&rule.expr, collection, alias)?;
        self.out.push(" THEN ").column(alias, column).push(" END");
        Ok(())
    }

    /// ` AND (view condition)` in the subquery of a relation step that reaches `target` as `alias`, when reads
    /// are masked: a record the caller may not view is not found, so the step reads as null.
    pub(super) fn viewable(
        &mut self,
        target: &'s Collection,
        alias: &str,
    ) -> Result<(), ExprError> {
        if !self.masked {
            return Ok(());
        }
        match Access::of(
            self.scope.schema,
            self.scope.principal,
            target,
            Action::View,
        ) {
            Access::All => {}
            Access::Denied => {
                self.out.push(" AND ");
                self.constant(Tri::False);
            }
            Access::Where(rule) => {
                self.out.push(" AND (");
                self.rule_at(&rule, target, alias)?;
                self.out.push(")");
            }
        }
        Ok(())
    }

    /// Compile `rule`, a rule of `collection`, as a condition on the row `alias`: bare names read that row's
    /// stored values.
    fn rule_at(
        &mut self,
        rule: &Expr,
        collection: &'s Collection,
        alias: &str,
    ) -> Result<(), ExprError> {
        let outer = (
            std::mem::replace(&mut self.collection, collection),
            std::mem::replace(&mut self.alias, alias.to_owned()),
            std::mem::replace(&mut self.masked, false),
        );
        let compiled = self.condition(rule);
        (self.collection, self.alias, self.masked) = outer;
        compiled
    }
}
