//! SQL text for the three dialects, built at run time with every value bound as a parameter, never spliced.

pub mod by_id;
pub mod filter;
pub mod query;

use std::hash::{Hash, Hasher};

use strata_core::{ColType, Value};

/// The SQL dialect of a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
}

impl Dialect {
    /// Quote an identifier. Names reaching here were checked by the schema (`^[a-z][a-z0-9_]*$`) or are
    /// Strata's own, so quoting is for reserved words, not for safety.
    pub fn quote(self, ident: &str) -> String {
        match self {
            Dialect::Mysql => format!("`{ident}`"),
            _ => format!("\"{ident}\""),
        }
    }
}

/// A bound parameter: its value and the column type it is compared with or stored in (PostgreSQL needs typed
/// nulls).
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub value: Value,
    pub ty: ColType,
}

/// A statement under construction: SQL text and its parameters, in order.
#[derive(Debug, Clone)]
pub struct SqlBuilder {
    pub dialect: Dialect,
    pub sql: String,
    pub params: Vec<Param>,
    /// Whether a connection keeps the statement prepared for the next time: not for a text that changes with
    /// the number of rows or ids it carries, which would fill each connection's statement cache (and, on a
    /// server, its session's memory) with statements seldom asked again.
    pub keep_prepared: bool,
}

/// Statements are equal when they have the same text and bind the same values (statements key the reads that
/// share them, [`crate::shared`]).
impl PartialEq for SqlBuilder {
    fn eq(&self, other: &Self) -> bool {
        self.sql == other.sql
            && self.params.len() == other.params.len()
            && self
                .params
                .iter()
                .zip(&other.params)
                .all(|(a, b)| a.ty == b.ty && same_value(&a.value, &b.value))
    }
}

impl Eq for SqlBuilder {}

impl Hash for SqlBuilder {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.sql.hash(state);
        for p in &self.params {
            p.ty.hash(state);
            hash_value(&p.value, state);
        }
    }
}

/// Equality of values as keys: floats compare by their bits, so that a value always equals itself.
pub(crate) fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x.to_bits() == y.to_bits(),
        (x, y) => x == y,
    }
}

/// Hash a value consistently with [`same_value`].
pub(crate) fn hash_value<H: Hasher>(value: &Value, state: &mut H) {
    std::mem::discriminant(value).hash(state);
    match value {
        Value::Null => {}
        Value::Bool(b) => b.hash(state),
        Value::Int(i) => i.hash(state),
        Value::Float(f) => f.to_bits().hash(state),
        Value::Text(s) => s.hash(state),
        Value::Uuid(u) => u.hash(state),
        Value::Datetime(d) => d.hash(state),
        Value::Date(d) => d.hash(state),
        // Equal JSON values print the same (serde_json keeps object keys sorted).
        Value::Json(j) => j.to_string().hash(state),
    }
}

impl SqlBuilder {
    pub fn new(dialect: Dialect) -> Self {
        Self {
            dialect,
            // A record statement names every column: room for a typical one without regrowing.
            sql: String::with_capacity(512),
            params: Vec::with_capacity(4),
            keep_prepared: true,
        }
    }

    /// Mark the statement as one whose text varies with the rows or ids it carries ([`Self::keep_prepared`]).
    pub fn varies(&mut self) -> &mut Self {
        self.keep_prepared = false;
        self
    }

    /// Append raw SQL text (keywords, operators, already quoted names).
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Append a quoted identifier (without allocating: this runs for every column of every statement).
    pub fn ident(&mut self, name: &str) -> &mut Self {
        let quote = if self.dialect == Dialect::Mysql {
            '`'
        } else {
            '"'
        };
        self.sql.push(quote);
        self.sql.push_str(name);
        self.sql.push(quote);
        self
    }

    /// Append `alias.column`, quoted.
    pub fn column(&mut self, alias: &str, name: &str) -> &mut Self {
        self.ident(alias).push(".").ident(name)
    }

    /// Append a placeholder for JSON already written as text, stored in a JSON column as it is: bound as text
    /// and, on PostgreSQL, cast to `jsonb` by the server (no JSON tree is built to bind it).
    pub fn json_text_param(&mut self, json: String) -> &mut Self {
        if self.dialect == Dialect::Postgres {
            self.push("CAST(")
                .param(Value::Text(json), ColType::Text)
                .push(" AS jsonb)")
        } else {
            self.param(Value::Text(json), ColType::Text)
        }
    }

    /// Append a placeholder and bind `value` to it.
    pub fn param(&mut self, value: Value, ty: ColType) -> &mut Self {
        self.params.push(Param { value, ty });
        match self.dialect {
            Dialect::Postgres => {
                use std::fmt::Write;
                let _ = write!(self.sql, "${}", self.params.len());
            }
            _ => self.sql.push('?'),
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_statement_equals_itself_even_binding_nan() {
        let mut stmt = SqlBuilder::new(Dialect::Postgres);
        stmt.push("SELECT ")
            .param(Value::Float(f64::NAN), ColType::Float);
        assert_eq!(stmt, stmt.clone());
        let mut other = SqlBuilder::new(Dialect::Postgres);
        other
            .push("SELECT ")
            .param(Value::Float(1.0), ColType::Float);
        assert_ne!(stmt, other);
    }
}
