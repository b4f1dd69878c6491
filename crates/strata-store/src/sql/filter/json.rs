//! `?=` on a json field: whether the field is an array with an element equal to the value, as
//! [`strata_core::expr::json_element_eq`] says (strings with text or a uuid's text, numbers by value, booleans
//! with booleans). A null field is unknown; a field that is not an array is false.
//!
//! - SQLite: `CASE WHEN x IS NULL THEN NULL WHEN json_type(x) = 'array' THEN EXISTS (SELECT 1 FROM json_each(x) j1
//!   WHERE j1.type = 'text' AND j1.value = ?) ELSE FALSE END` (`json_each` also walks objects, hence the guard).
//! - PostgreSQL: `x @> CAST($1 AS JSONB)` with `[value]` bound: jsonb containment matches top-level elements
//!   of an array only, and is null for a null field.
//! - MySQL/MariaDB: the same `CASE`, over `JSON_TABLE(x, '$[*]' COLUMNS (v JSON PATH '$')) j1 WHERE
//!   JSON_TYPE(j1.v) NOT IN ('ARRAY', 'OBJECT') AND JSON_CONTAINS(j1.v, ?)` with the value's JSON bound (MySQL
//!   8.0.4+, MariaDB 10.6+). `JSON_CONTAINS(x, ?)` alone would also find the value inside nested arrays.

use strata_core::expr::{ExprError, ResolvedPath};
use strata_core::{ColType, Value};

use super::{Compiler, Dialect};

/// The needle as a JSON value, or `None` for a type no JSON element can equal.
fn needle_json(needle: &Value) -> Option<serde_json::Value> {
    Some(match needle {
        Value::Text(s) => s.clone().into(),
        Value::Uuid(u) => u.hyphenated().to_string().into(),
        Value::Int(i) => (*i).into(),
        Value::Float(f) => serde_json::Number::from_f64(*f)?.into(),
        Value::Bool(b) => (*b).into(),
        _ => return None,
    })
}

impl<'s> Compiler<'s, '_> {
    pub(super) fn json_contains(
        &mut self,
        path: &ResolvedPath<'s>,
        needle: &Value,
        position: usize,
    ) -> Result<(), ExprError> {
        let json = needle_json(needle).ok_or_else(|| {
            ExprError::new(position, "a json list holds text, numbers and booleans")
        })?;
        match self.dialect() {
            Dialect::Postgres => {
                self.out.push("(");
                self.value_path(path)?;
                self.out.push(" @> CAST(").param(
                    Value::Json(serde_json::Value::Array(vec![json])),
                    ColType::Json,
                );
                self.out.push(" AS JSONB))");
            }
            Dialect::Mysql => {
                self.null_or_array_case(path, "JSON_TYPE", "'ARRAY'")?;
                self.out.push("JSON_TABLE(");
                self.value_path(path)?;
                let j = self.fresh("j");
                self.out
                    .push(", '$[*]' COLUMNS (v JSON PATH '$')) ")
                    .ident(&j)
                    .push(" WHERE JSON_TYPE(");
                self.out
                    .column(&j, "v")
                    .push(") NOT IN ('ARRAY', 'OBJECT') AND JSON_CONTAINS(");
                self.out
                    .column(&j, "v")
                    .push(", ")
                    .param(Value::Json(json), ColType::Json);
                self.out.push(")) ELSE FALSE END");
            }
            Dialect::Sqlite => {
                self.null_or_array_case(path, "json_type", "'array'")?;
                self.out.push("json_each(");
                self.value_path(path)?;
                let j = self.fresh("j");
                self.out.push(") ").ident(&j).push(" WHERE ");
                self.sqlite_element_test(&j, needle);
                self.out.push(") ELSE FALSE END");
            }
        }
        Ok(())
    }

    /// `CASE WHEN x IS NULL THEN NULL WHEN type_fn(x) = array THEN EXISTS (SELECT 1 FROM `, to be followed by the
    /// table of the array's elements.
    fn null_or_array_case(
        &mut self,
        path: &ResolvedPath<'s>,
        type_fn: &str,
        array: &str,
    ) -> Result<(), ExprError> {
        self.out.push("CASE WHEN ");
        self.value_path(path)?;
        self.out
            .push(" IS NULL THEN NULL WHEN ")
            .push(type_fn)
            .push("(");
        self.value_path(path)?;
        self.out
            .push(") = ")
            .push(array)
            .push(" THEN EXISTS (SELECT 1 FROM ");
        Ok(())
    }

    /// The test of one `json_each` row: its JSON type, then its value.
    fn sqlite_element_test(&mut self, j: &str, needle: &Value) {
        match needle {
            Value::Bool(b) => {
                self.out
                    .column(j, "type")
                    .push(if *b { " = 'true'" } else { " = 'false'" });
            }
            Value::Int(_) | Value::Float(_) => {
                let ty = if matches!(needle, Value::Int(_)) {
                    ColType::Int
                } else {
                    ColType::Float
                };
                self.out
                    .column(j, "type")
                    .push(" IN ('integer', 'real') AND ");
                self.out
                    .column(j, "value")
                    .push(" = ")
                    .param(needle.clone(), ty);
            }
            Value::Uuid(u) => {
                self.out.column(j, "type").push(" = 'text' AND ");
                self.out
                    .column(j, "value")
                    .push(" = ")
                    .param(Value::Text(u.hyphenated().to_string()), ColType::Text);
            }
            _ => {
                self.out.column(j, "type").push(" = 'text' AND ");
                self.out
                    .column(j, "value")
                    .push(" = ")
                    .param(needle.clone(), ColType::Text);
            }
        }
    }
}
