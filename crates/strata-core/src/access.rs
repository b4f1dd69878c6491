//! Who may do what (SPEC §3, §7): an absent rule is admins only, `"true"` is public, any other rule becomes a
//! condition on the rows. A role's grant adds its own rule, OR-ed with the collection's in one condition. Admins
//! bypass rules; an API key's scopes narrow its owner's rights.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::{Arc, Mutex};

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
            many => Access::Where(schema.combined_rules().of(many)),
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

/// Sets of rules combined with OR fewer than this are remembered; past it each is built afresh.
const MAX_COMBINED: usize = 4096;

/// The conditions that OR several rules (a collection's and the grants of its caller's roles), each built once
/// per set of rules. A caller's condition is then the same `Arc` on every request, as a single rule's is, so the
/// statements compiled from it can be cached by it, and no request copies the rules. There are at most as many
/// sets as combinations of the schema's roles that grant something, so the memo stays small.
#[derive(Default)]
pub(crate) struct CombinedRules(Mutex<HashMap<String, Arc<Expr>>>);

impl CombinedRules {
    fn of(&self, rules: &[(RuleSource<'_>, &Rule)]) -> Arc<Expr> {
        let mut key = String::new();
        for (source, _) in rules {
            let _ = writeln!(key, "{source}");
        }
        let mut memo = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(expr) = memo.get(&key) {
            return expr.clone();
        }
        let expr = Arc::new(Expr::Or {
            operands: rules.iter().map(|(_, rule)| (*rule.expr).clone()).collect(),
            position: 0,
        });
        if memo.len() < MAX_COMBINED {
            memo.insert(key, expr.clone());
        }
        expr
    }
}

/// A copy of a schema starts with nothing remembered: its conditions are built from its own rules.
impl Clone for CombinedRules {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for CombinedRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CombinedRules")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::principal::PrincipalKind;

    const SCHEMA: &str = r#"
[collections.posts]
fields.status = { type = "text" }
rules.view = "status = 'published'"

[roles.editor]
posts = { view = "status = 'draft'" }

[roles.reviewer]
posts = { view = "status = 'review'" }
"#;

    fn caller(roles: &[&str]) -> Principal {
        Principal {
            kind: PrincipalKind::User,
            id: Some(uuid::Uuid::now_v7()),
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            ..Principal::anonymous()
        }
    }

    fn condition(schema: &Schema, roles: &[&str]) -> Arc<Expr> {
        let posts = schema.collection("posts").expect("posts");
        match Access::of(schema, &caller(roles), posts, Action::View) {
            Access::Where(expr) => expr,
            other => panic!("expected a condition, got {other:?}"),
        }
    }

    #[test]
    fn a_callers_combined_grants_are_one_condition_built_once() {
        let schema = Schema::from_toml(SCHEMA).expect("schema");
        let editor = condition(&schema, &["editor"]);
        let Expr::Or { operands, .. } = &*editor else {
            panic!("the collection's rule OR the editor's grant: {editor:?}");
        };
        assert_eq!(operands.len(), 2);
        assert!(
            Arc::ptr_eq(&editor, &condition(&schema, &["editor"])),
            "another editor's request gets the same condition"
        );
        let both = condition(&schema, &["editor", "reviewer"]);
        assert!(matches!(&*both, Expr::Or { operands, .. } if operands.len() == 3));
        assert!(
            !Arc::ptr_eq(&editor, &both),
            "other roles, another condition"
        );
        assert!(
            Arc::ptr_eq(&condition(&schema, &[]), &condition(&schema, &["nobody"])),
            "without grants it is the collection's own rule"
        );
    }
}
