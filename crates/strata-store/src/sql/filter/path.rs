//! Relation paths in SQL: a path through forward relations is a chain of scalar subqueries, null where a
//! relation is null; a path through a back-relation, usable only with `?=`, is a chain of `EXISTS`. In a
//! caller's own expression each column is read as the caller may read it and each step joins the view
//! condition of the collection it reaches (see `visibility.rs`).

use strata_core::Value;
use strata_core::expr::{CompareOp, ExprError, ResolvedPath, Step};
use strata_core::schema::Collection;

use super::Compiler;
use super::coerce::{Bound, bind};

impl<'s> Compiler<'s, '_> {
    /// The value a non-list path reads: `t.title`, or for `author.team.name`
    /// `(SELECT (SELECT r2.name FROM teams r2 WHERE r2.id = r1.team) FROM users r1 WHERE r1.id = t.author)`.
    pub(super) fn value_path(&mut self, path: &ResolvedPath<'s>) -> Result<(), ExprError> {
        let alias = self.alias.clone();
        let collection = self.collection;
        self.scalar_steps(&path.steps, collection, &alias, path.column)
    }

    /// The steps from the row `alias` of `collection`.
    fn scalar_steps(
        &mut self,
        steps: &[Step<'s>],
        collection: &'s Collection,
        alias: &str,
        column: &str,
    ) -> Result<(), ExprError> {
        let Some((step, rest)) = steps.split_first() else {
            return self.read_column(collection, alias, column);
        };
        let Step::Forward { field, target } = *step else {
            return Err(ExprError::new(
                0,
                "a back-relation path is a list; use `?=`",
            ));
        };
        let inner = self.fresh("r");
        self.out.push("(SELECT ");
        self.scalar_steps(rest, target, &inner, column)?;
        self.out
            .push(" FROM ")
            .ident(&target.name)
            .push(" ")
            .ident(&inner);
        self.out.push(" WHERE ").column(&inner, "id").push(" = ");
        self.read_column(collection, alias, field)?;
        self.viewable(target, &inner)?;
        self.out.push(")");
        Ok(())
    }

    /// Whether some record the path reaches has `column = needle`: for `memberships_via_team.user ?= @auth.id`,
    /// `EXISTS (SELECT 1 FROM memberships b1 WHERE b1.team = t.id AND b1.user = ?)`. Never unknown: records
    /// whose column is null just do not match.
    /// `steps` are the rest of `path`'s, from the row `alias` of `collection`.
    pub(super) fn any_path(
        &mut self,
        steps: &[Step<'s>],
        collection: &'s Collection,
        alias: &str,
        path: &ResolvedPath<'s>,
        needle: &Value,
        position: usize,
    ) -> Result<(), ExprError> {
        let (column, ty) = (path.column, path.ty);
        let Some((step, rest)) = steps.split_first() else {
            match bind(CompareOp::Eq, needle.clone(), ty)
                .map_err(|m| ExprError::new(position, m))?
            {
                Bound::Param(_, value) => {
                    self.read_column(collection, alias, column)?;
                    self.out.push(" = ").param(value, ty);
                }
                Bound::Always(t) => self.constant(t),
            }
            return Ok(());
        };
        let inner = self.fresh(if matches!(step, Step::Back { .. }) {
            "b"
        } else {
            "r"
        });
        self.out.push("EXISTS (SELECT 1 FROM ");
        let reached = match *step {
            Step::Forward { field, target } => {
                self.out
                    .ident(&target.name)
                    .push(" ")
                    .ident(&inner)
                    .push(" WHERE ");
                self.out.column(&inner, "id").push(" = ");
                self.read_column(collection, alias, field)?;
                target
            }
            Step::Back { source, field } => {
                self.out
                    .ident(&source.name)
                    .push(" ")
                    .ident(&inner)
                    .push(" WHERE ");
                self.read_column(source, &inner, field)?;
                self.out.push(" = ").column(alias, "id");
                source
            }
        };
        self.viewable(reached, &inner)?;
        self.out.push(" AND ");
        self.any_path(rest, reached, &inner, path, needle, position)?;
        self.out.push(")");
        Ok(())
    }
}
