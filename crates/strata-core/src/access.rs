//! Who may do what (SPEC §3, §7): an absent rule is admins only, `"true"` is public, any other rule becomes a
//! condition on the rows. A role's grant adds its own rule, OR-ed with the collection's in one condition. Admins
//! bypass rules; an API key's scopes narrow its owner's rights.

use std::sync::Arc;

use crate::expr::Expr;
use crate::principal::Principal;
use crate::schema::{Action, Collection, Rule, Schema};

/// The verdict on an action before any row is read.
#[derive(Debug, Clone)]
pub enum Access {
    /// Locked: no rule grants it to this caller.
    Denied,
    /// Every row.
    All,
    /// The rows where this condition holds.
    Where(Arc<Expr>),
}

/// Where a rule is declared, for explaining decisions: `collections.{c}.rules.{action}` or
/// `roles.{role}.{c}.{action}`. Written out only when asked: access is decided on every request.
#[derive(Debug, Clone, Copy)]
pub enum RuleSource<'s> {
    Collection(&'s str, Action),
    Role(&'s str, &'s str, Action),
}

impl std::fmt::Display for RuleSource<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuleSource::Collection(c, action) => {
                write!(f, "collections.{c}.rules.{}", action.as_str())
            }
            RuleSource::Role(role, c, action) => write!(f, "roles.{role}.{c}.{}", action.as_str()),
        }
    }
}

/// The rules that may allow `action` on `collection` to `principal`: the collection's own, then each grant of
/// a role the caller holds, with where each comes from (for explain).
pub fn candidates<'s>(
    schema: &'s Schema,
    principal: &'s Principal,
    collection: &'s Collection,
    action: Action,
) -> Vec<(RuleSource<'s>, &'s Rule)> {
    let mut rules = Vec::new();
    if let Some(rule) = collection.rules.get(action) {
        rules.push((RuleSource::Collection(&collection.name, action), rule));
    }
    for role in &principal.roles {
        if let Some(rule) = schema
            .role(role)
            .and_then(|r| r.grant(&collection.name, action))
        {
            rules.push((RuleSource::Role(role, &collection.name, action), rule));
        }
    }
    rules
}

impl Access {
    pub fn of(
        schema: &Schema,
        principal: &Principal,
        collection: &Collection,
        action: Action,
    ) -> Access {
        if principal.is_admin() {
            return Access::All;
        }
        if !principal.in_scope(&collection.name, action) {
            return Access::Denied;
        }
        let rules = candidates(schema, principal, collection, action);
        if rules.iter().any(|(_, rule)| rule.is_public()) {
            return Access::All;
        }
        match rules.as_slice() {
            [] => Access::Denied,
            [(_, rule)] => Access::Where(rule.expr.clone()),
            many => Access::Where(Arc::new(Expr::Or {
                operands: many.iter().map(|(_, rule)| (*rule.expr).clone()).collect(),
                position: 0,
            })),
        }
    }

    /// The condition to add to a query, if any; `None` for `Denied` too (callers check that first).
    pub fn condition(&self) -> Option<Arc<Expr>> {
        match self {
            Access::Where(expr) => Some(expr.clone()),
            _ => None,
        }
    }
}
