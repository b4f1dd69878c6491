//! Who may do what (SPEC §3, §7): an absent rule is admins only, `"true"` is public, any other rule becomes a
//! condition on the rows. Admins bypass rules.

use std::sync::Arc;

use strata_core::Principal;
use strata_core::expr::Expr;
use strata_core::schema::{Action, Collection};

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

impl Access {
    pub fn of(principal: &Principal, collection: &Collection, action: Action) -> Access {
        if principal.is_admin() {
            return Access::All;
        }
        // An API key's scopes narrow its owner's rights.
        if !principal.in_scope(&collection.name, action) {
            return Access::Denied;
        }
        match collection.rules.get(action) {
            None => Access::Denied,
            Some(rule) if rule.is_public() => Access::All,
            Some(rule) => Access::Where(rule.expr.clone()),
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
