//! Type-checking an expression against the schema (SPEC §7): names exist (and are visible), each relation step
//! is a relation or a back-relation, compared types fit, `~` is on text, `?=` on a list, and `&&`/`||`/`!` join
//! conditions. A filter that fails is 400 `invalid_filter`; a rule that fails is a schema error.

use super::path::system_field_type;
use super::types::{Pairing, Ty, pairing};
use super::{CompareOp, Expr, ExprError, Literal, resolve_path};
use crate::schema::{Action, Collection, Schema, USERS};
use crate::value::{parse_date, parse_datetime};

/// What an expression is: a filter, or the rule of an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `?filter=` and realtime filters: no `@data`.
    Filter,
    /// A collection's, a role's or a field's rule; `@data` exists for create and update only.
    Rule(Action),
}

/// What an expression is checked against.
#[derive(Debug, Clone, Copy)]
pub struct CheckScope<'a> {
    pub schema: &'a Schema,
    pub collection: &'a Collection,
    pub mode: Mode,
    /// Whether hidden fields may be named: true for admins and for rules; a non-admin's filter cannot see them
    /// (SPEC §14), and they are reported as unknown.
    pub hidden_visible: bool,
}

/// Check `expr` as a condition in `scope`; the error points at the offending node.
pub fn check(expr: &Expr, scope: &CheckScope<'_>) -> Result<(), ExprError> {
    Checker { scope }.condition(expr, 0)
}

struct Checker<'a, 'b> {
    scope: &'b CheckScope<'a>,
}

const KNOWN_OPERAND: &str = "must be a literal, an @auth value or an @data value, not a field";

impl Checker<'_, '_> {
    /// `expr` must be a condition; `at` is where to point when it is a literal, which has no position.
    fn condition(&self, expr: &Expr, at: usize) -> Result<(), ExprError> {
        match expr {
            Expr::Literal(Literal::Bool(_)) => Ok(()),
            Expr::Literal(_) => Err(ExprError::new(
                at,
                "expected a condition (a comparison or a boolean), found a literal",
            )),
            Expr::Field { position, .. }
            | Expr::Auth { position, .. }
            | Expr::Data { position, .. }
            | Expr::Now { position } => match self.value(expr)? {
                Ty::Bool => Ok(()),
                ty => Err(ExprError::new(
                    *position,
                    format!(
                        "expected a condition, found {}; compare it with something",
                        ty.described()
                    ),
                )),
            },
            Expr::Not { expr, position } => self.condition(expr, *position),
            Expr::And { operands, position } | Expr::Or { operands, position } => operands
                .iter()
                .try_for_each(|operand| self.condition(operand, *position)),
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
        }
    }

    fn value(&self, expr: &Expr) -> Result<Ty, ExprError> {
        let scope = self.scope;
        match expr {
            Expr::Literal(literal) => Ok(match literal {
                Literal::Null => Ty::Null,
                Literal::Bool(_) => Ty::Bool,
                Literal::Int(_) => Ty::Int,
                Literal::Float(_) => Ty::Float,
                Literal::Text(_) => Ty::TextLit,
            }),
            Expr::Field { path, position } => {
                let resolved = resolve_path(
                    scope.schema,
                    scope.collection,
                    path,
                    *position,
                    scope.hidden_visible,
                )?;
                Ok(if resolved.many {
                    Ty::List(resolved.ty)
                } else {
                    Ty::of(resolved.ty)
                })
            }
            Expr::Auth { name, position } => self
                .auth(name)
                .ok_or_else(|| ExprError::new(*position, format!("unknown `@auth.{name}`"))),
            Expr::Data { name, position } => {
                if !matches!(scope.mode, Mode::Rule(Action::Create | Action::Update)) {
                    return Err(ExprError::new(
                        *position,
                        "`@data` exists only in create and update rules",
                    ));
                }
                let ty = system_field_type(name)
                    .map(|(_, ty)| ty)
                    .or_else(|| scope.collection.field(name).map(|f| f.storage()));
                ty.map(Ty::of).ok_or_else(|| {
                    ExprError::new(*position, format!("unknown field `@data.{name}`"))
                })
            }
            Expr::Now { .. } => Ok(Ty::Datetime),
            other => Err(ExprError::new(
                other.position().unwrap_or(0),
                "expected a value, found a condition",
            )),
        }
    }

    /// The type of `@auth.NAME`: the principal's own values, then the caller's non-hidden `users` fields.
    fn auth(&self, name: &str) -> Option<Ty> {
        match name {
            "kind" | "email" => Some(Ty::Text),
            "id" => Some(Ty::Uuid),
            "roles" => Some(Ty::List(crate::value::ColType::Text)),
            _ => {
                let ty = system_field_type(name).map(|(_, ty)| ty).or_else(|| {
                    let users = self.scope.schema.collection(USERS)?;
                    users.field(name).filter(|f| !f.hidden).map(|f| f.storage())
                });
                ty.map(Ty::of)
            }
        }
    }

    fn compare(
        &self,
        op: CompareOp,
        left: &Expr,
        right: &Expr,
        position: usize,
    ) -> Result<(), ExprError> {
        let (lt, rt) = (self.value(left)?, self.value(right)?);
        let fail = |message: String| Err(ExprError::new(position, message));
        let sign = op.as_str();
        match op {
            CompareOp::Contains | CompareOp::NotContains => {
                if lt == Ty::Null || rt == Ty::Null {
                    return fail(format!(
                        "`{sign}` does not test for null; use `= null` or `!= null`"
                    ));
                }
                if !lt.is_text() || !rt.is_text() {
                    let found = if lt.is_text() { rt } else { lt };
                    return fail(format!(
                        "`{sign}` looks for text in text, found {}",
                        found.described()
                    ));
                }
                if right.reads_row() {
                    return fail(format!("the right side of `{sign}` {KNOWN_OPERAND}"));
                }
                Ok(())
            }
            CompareOp::AnyEq => {
                if !lt.is_collection() {
                    return fail(format!(
                        "`?=` needs a list on its left (a json field, @auth.roles or a back-relation path), found {}",
                        lt.described()
                    ));
                }
                if rt == Ty::Null || rt.is_collection() {
                    return fail(format!(
                        "`?=` looks for one value in a list, found {}",
                        rt.described()
                    ));
                }
                if right.reads_row() {
                    return fail(format!("the right side of `?=` {KNOWN_OPERAND}"));
                }
                match lt {
                    Ty::List(element) => self.pair(Ty::of(element), left, rt, right, position),
                    _ if matches!(
                        rt,
                        Ty::Text | Ty::TextLit | Ty::Int | Ty::Float | Ty::Bool | Ty::Uuid
                    ) =>
                    {
                        Ok(())
                    }
                    _ => fail(format!(
                        "a json list holds text, numbers and booleans, not {}",
                        rt.described()
                    )),
                }
            }
            _ => {
                if lt == Ty::Null || rt == Ty::Null {
                    let other = if lt == Ty::Null { rt } else { lt };
                    if !matches!(op, CompareOp::Eq | CompareOp::Ne) {
                        return fail("only `=` and `!=` compare with null".into());
                    }
                    if matches!(other, Ty::List(_)) {
                        return fail("a list is never null; use `?=` to look into it".into());
                    }
                    return Ok(());
                }
                for ty in [lt, rt] {
                    match ty {
                        Ty::List(_) => {
                            return fail(format!("a list compares only with `?=`, not `{sign}`"));
                        }
                        Ty::Json => {
                            return fail(format!(
                                "json compares only with null or with `?=`, not `{sign}`"
                            ));
                        }
                        _ => {}
                    }
                }
                self.pair(lt, left, rt, right, position)
            }
        }
    }

    fn in_list(&self, expr: &Expr, list: &[Expr], position: usize) -> Result<(), ExprError> {
        let ty = self.value(expr)?;
        match ty {
            Ty::Null => {
                return Err(ExprError::new(
                    position,
                    "`in` does not test for null; use `= null`",
                ));
            }
            Ty::Json | Ty::List(_) => {
                return Err(ExprError::new(
                    position,
                    format!("`in` tests one value, found {}", ty.described()),
                ));
            }
            _ => {}
        }
        for item in list {
            let at = item.position().unwrap_or(position);
            match self.value(item)? {
                Ty::Null => {
                    return Err(ExprError::new(
                        at,
                        "an `in` list cannot hold null; test with `= null`",
                    ));
                }
                item_ty @ (Ty::Json | Ty::List(_)) => {
                    return Err(ExprError::new(
                        at,
                        format!(
                            "an `in` list holds single values, found {}",
                            item_ty.described()
                        ),
                    ));
                }
                item_ty => self.pair(ty, expr, item_ty, item, at)?,
            }
        }
        Ok(())
    }

    /// Two non-null scalars compare, and a string literal met with a uuid, datetime or date parses as one.
    fn pair(
        &self,
        lt: Ty,
        left: &Expr,
        rt: Ty,
        right: &Expr,
        position: usize,
    ) -> Result<(), ExprError> {
        match pairing(lt, rt) {
            Pairing::Compatible => Ok(()),
            Pairing::LeftLiteralAs(ty) => literal_parses(left, ty, position),
            Pairing::RightLiteralAs(ty) => literal_parses(right, ty, position),
            Pairing::Incompatible => Err(ExprError::new(
                position,
                format!("cannot compare {} with {}", lt.described(), rt.described()),
            )),
        }
    }
}

/// A string literal compared with a uuid, datetime or date must be one (SPEC §7).
fn literal_parses(expr: &Expr, ty: Ty, position: usize) -> Result<(), ExprError> {
    let Expr::Literal(Literal::Text(s)) = expr else {
        return Ok(());
    };
    let (ok, expected) = match ty {
        Ty::Uuid => (uuid::Uuid::try_parse(s).is_ok(), "a uuid"),
        Ty::Datetime => (
            parse_datetime(s).is_some(),
            "an RFC 3339 datetime in the years 1000 to 9999",
        ),
        Ty::Date => (
            parse_date(s).is_some(),
            "a date as YYYY-MM-DD in the years 1000 to 9999",
        ),
        _ => (true, ""),
    };
    if ok {
        Ok(())
    } else {
        Err(ExprError::new(position, format!("'{s}' is not {expected}")))
    }
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
