//! The declared schema (SPEC §3): collections, their typed fields and constraints, indexes and rules.
//! A [`Schema`] can only be built by [`Schema::from_toml`], which checks everything, so the rest of Strata never
//! re-checks names, types or references.

mod field;
mod parse;
mod parse_field;
mod roles;
mod validate;

use std::sync::Arc;

use indexmap::IndexMap;

pub use field::{Field, FieldKind, OnDelete};
pub use parse::SchemaError;
pub use roles::Role;
pub use validate::validate_value;

use crate::expr::Expr;

/// Names no collection may take (SPEC §3), besides any name starting with `_`.
pub const RESERVED_COLLECTIONS: &[&str] = &[
    "auth", "admin", "batch", "realtime", "graphql", "openapi", "docs",
];
/// Names no declared field may take: the system fields and `expand`.
pub const SYSTEM_FIELDS: &[&str] = &["id", "created_at", "updated_at", "version"];

/// The built-in auth collection.
pub const USERS: &str = "users";

/// Actions a rule or grant may govern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    List,
    View,
    Create,
    Update,
    Delete,
}

impl Action {
    pub const ALL: [Action; 5] = [
        Action::List,
        Action::View,
        Action::Create,
        Action::Update,
        Action::Delete,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::List => "list",
            Action::View => "view",
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// A rule: its source text (for explain and error messages) and its parsed expression.
#[derive(Debug, Clone)]
pub struct Rule {
    pub source: String,
    pub expr: Arc<Expr>,
}

impl Rule {
    /// `"true"`: public.
    pub fn is_public(&self) -> bool {
        matches!(*self.expr, Expr::Literal(crate::expr::Literal::Bool(true)))
    }
}

/// The rule of each action; `None` means admins only (SPEC §3).
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub list: Option<Rule>,
    pub view: Option<Rule>,
    pub create: Option<Rule>,
    pub update: Option<Rule>,
    pub delete: Option<Rule>,
}

impl Rules {
    pub fn get(&self, action: Action) -> Option<&Rule> {
        match action {
            Action::List => self.list.as_ref(),
            Action::View => self.view.as_ref(),
            Action::Create => self.create.as_ref(),
            Action::Update => self.update.as_ref(),
            Action::Delete => self.delete.as_ref(),
        }
    }

    pub(crate) fn slot(&mut self, action: Action) -> &mut Option<Rule> {
        match action {
            Action::List => &mut self.list,
            Action::View => &mut self.view,
            Action::Create => &mut self.create,
            Action::Update => &mut self.update,
            Action::Delete => &mut self.delete,
        }
    }
}

/// A composite index over declared or system fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub fields: Vec<String>,
    pub unique: bool,
}

/// One collection: a table with typed columns.
#[derive(Debug, Clone)]
pub struct Collection {
    pub name: String,
    pub fields: Vec<Field>,
    pub indexes: Vec<Index>,
    pub rules: Rules,
}

impl Collection {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|f| f.name == name)
    }

    /// Fields that are relations, with their position.
    pub fn relations(&self) -> impl Iterator<Item = (usize, &Field, &str)> {
        self.fields
            .iter()
            .enumerate()
            .filter_map(|(i, f)| match &f.kind {
                FieldKind::Relation { collection, .. } => Some((i, f, collection.as_str())),
                _ => None,
            })
    }
}

/// The whole declared schema, collections in declaration order (the built-in `users` first).
#[derive(Debug, Clone, Default)]
pub struct Schema {
    collections: IndexMap<String, Arc<Collection>>,
    /// `[roles.*]`: what each role grants, by collection.
    roles: IndexMap<String, Role>,
    /// The conditions of callers whose roles add grants, built once each.
    combined: crate::access::CombinedRules,
}

impl Schema {
    pub fn collection(&self, name: &str) -> Option<&Arc<Collection>> {
        self.collections.get(name)
    }

    pub fn collections(&self) -> impl Iterator<Item = &Arc<Collection>> {
        self.collections.values()
    }

    pub fn role(&self, name: &str) -> Option<&Role> {
        self.roles.get(name)
    }

    pub fn roles(&self) -> impl Iterator<Item = &Role> {
        self.roles.values()
    }

    pub(crate) fn combined_rules(&self) -> &crate::access::CombinedRules {
        &self.combined
    }
}
