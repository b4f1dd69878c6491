//! Reads by id, compiled once (SPEC §13: compiled rules are cached per collection, never built per request).
//!
//! A read by id is the collection's columns, the ids and the caller's view conditions. Compiling a condition
//! folds in whatever is known before a row is read ([`super::filter`]), and for a rule that is only the `@auth`
//! values it names (and `@now`). So the statement is kept per collection, conditions and those values: every
//! request of one user reading one collection under one rule uses one statement, with its ids left to bind. A
//! condition that reads `@now` is compiled on every request, as its value changes.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use strata_core::expr::{EvalContext, Expr, auth_value};
use strata_core::schema::Collection;
use strata_core::{ColType, Value};

use super::query::{self, ALIAS};
use super::{Dialect, SqlBuilder, hash_value, same_value};
use crate::StoreError;
use crate::model::Scope;

/// Statements kept at most; past it the cache starts over. One is a few hundred bytes of SQL text.
const MAX_ENTRIES: usize = 4096;

/// The statement that reads records of a collection by id under some conditions. Its first parameter is a
/// placeholder for the ids: [`query::with_id_list`] binds them on SQLite and MySQL, an array binds them on
/// PostgreSQL.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ByIdStatement {
    pub stmt: SqlBuilder,
    /// The types of its columns, in [`query::record_columns`] order.
    pub cols: Vec<ColType>,
}

/// The reads by id compiled so far, for one store's dialect.
pub struct ByIdStatements {
    dialect: Dialect,
    entries: Mutex<HashMap<Key, Arc<ByIdStatement>, foldhash::fast::RandomState>>,
}

impl ByIdStatements {
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            entries: Mutex::default(),
        }
    }

    /// The statement reading `collection` by id under `conditions` for the caller of `scope`.
    pub fn get(
        &self,
        scope: &Scope,
        collection: &Arc<Collection>,
        conditions: &[Arc<Expr>],
    ) -> Result<Arc<ByIdStatement>, StoreError> {
        let Some(key) = Key::of(scope, collection, conditions) else {
            return self.compile(scope, collection, conditions).map(Arc::new);
        };
        if let Some(statement) = self.lock().get(&key) {
            return Ok(statement.clone());
        }
        let statement = Arc::new(self.compile(scope, collection, conditions)?);
        let mut entries = self.lock();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, statement.clone());
        Ok(statement)
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<ByIdStatement>, foldhash::fast::RandomState>>
    {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn compile(
        &self,
        scope: &Scope,
        collection: &Collection,
        conditions: &[Arc<Expr>],
    ) -> Result<ByIdStatement, StoreError> {
        let mut b = SqlBuilder::new(self.dialect);
        query::select_columns(&mut b, collection);
        query::from(&mut b, collection);
        match self.dialect {
            Dialect::Postgres => {
                b.push(" WHERE ")
                    .column(ALIAS, "id")
                    .push(" = ANY(")
                    .param(Value::Null, ColType::Uuid)
                    .push(")");
            }
            Dialect::Mysql | Dialect::Sqlite => {
                // The primary key is the one index a read by id wants. Left to choose, MySQL's optimizer
                // estimates every index the rule's columns could use (index dives on each statement), which cost
                // a rule a sixth of the reads.
                if self.dialect == Dialect::Mysql {
                    b.push(" FORCE INDEX (PRIMARY)");
                }
                b.push(" WHERE ")
                    .column(ALIAS, "id")
                    .push(" IN (")
                    .param(Value::Null, ColType::Uuid)
                    .push(")");
            }
        }
        query::push_conditions(&mut b, scope, collection, conditions, None)?;
        Ok(ByIdStatement {
            stmt: b,
            cols: query::record_columns(collection),
        })
    }
}

/// What a compiled read by id depends on: the collection and conditions (by identity: they live in the schema,
/// and the key holds them, so no other can take their place) and the `@auth` values the conditions name.
struct Key {
    collection: Arc<Collection>,
    conditions: Vec<Arc<Expr>>,
    auth: Vec<Value>,
}

impl Key {
    /// `None` when a condition reads `@now`, which no cached statement may fold in.
    fn of(scope: &Scope, collection: &Arc<Collection>, conditions: &[Arc<Expr>]) -> Option<Key> {
        let ctx = EvalContext {
            schema: &scope.schema,
            collection,
            record: None,
            data: None,
            principal: &scope.principal,
            now: scope.now,
        };
        let mut auth = Vec::new();
        let mut now = false;
        for condition in conditions {
            condition.visit(&mut |e| match e {
                Expr::Auth { name, .. } => auth.push(auth_value(&ctx, name)),
                Expr::Now { .. } => now = true,
                _ => {}
            });
        }
        (!now).then(|| Key {
            collection: collection.clone(),
            conditions: conditions.to_vec(),
            auth,
        })
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.collection, &other.collection)
            && self.conditions.len() == other.conditions.len()
            && self
                .conditions
                .iter()
                .zip(&other.conditions)
                .all(|(a, b)| Arc::ptr_eq(a, b))
            && self.auth.len() == other.auth.len()
            && self
                .auth
                .iter()
                .zip(&other.auth)
                .all(|(a, b)| same_value(a, b))
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        Arc::as_ptr(&self.collection).hash(state);
        for condition in &self.conditions {
            Arc::as_ptr(condition).hash(state);
        }
        for value in &self.auth {
            hash_value(value, state);
        }
    }
}
