//! Running statements on a rusqlite connection: binding values, decoding rows by column type, and mapping
//! SQLite's errors to [`StoreError`].

use async_trait::async_trait;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, params_from_iter};
use strata_core::value::{StoredDatetime, parse_date, parse_stored_datetime};
use strata_core::{ColType, Value};

use crate::error::{StoreError, StoreResult};
use crate::exec::Exec;
use crate::sql::{Dialect, Param, SqlBuilder};

/// A connection borrowed by one job on a store thread. Its futures never wait: the store's threads drive them
/// with `block_on`.
pub struct SqliteExec<'c> {
    pub conn: &'c mut Connection,
}

/// A parameter as SQLite binds it. Uuids and datetimes, bound as text, are written into the binding's own
/// buffer rather than a fresh `String`: a create binds seven of them, a read by id two.
struct Bind<'a> {
    param: &'a Param,
    text: [u8; 36],
    len: usize,
}

impl<'a> Bind<'a> {
    fn new(param: &'a Param) -> Self {
        let mut text = [0; 36];
        let len = match &param.value {
            Value::Uuid(u) => u.hyphenated().encode_lower(&mut text).len(),
            Value::Datetime(d) => {
                let bytes = StoredDatetime(d).bytes();
                text[..bytes.len()].copy_from_slice(&bytes);
                bytes.len()
            }
            _ => 0,
        };
        Bind { param, text, len }
    }
}

impl rusqlite::ToSql for Bind<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match &self.param.value {
            Value::Null => ToSqlOutput::Owned(rusqlite::types::Value::Null),
            Value::Bool(b) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(i64::from(*b))),
            Value::Int(i) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*i)),
            Value::Float(f) => ToSqlOutput::Owned(rusqlite::types::Value::Real(*f)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Value::Uuid(_) | Value::Datetime(_) => {
                ToSqlOutput::Borrowed(ValueRef::Text(&self.text[..self.len]))
            }
            Value::Date(d) => ToSqlOutput::Owned(rusqlite::types::Value::Text(
                d.format("%Y-%m-%d").to_string(),
            )),
            Value::Json(j) => ToSqlOutput::Owned(rusqlite::types::Value::Text(j.to_string())),
        })
    }
}

fn decode(v: ValueRef<'_>, ty: ColType) -> StoreResult<Value> {
    let bad = || {
        StoreError::Other(anyhow::anyhow!(
            "column of type {ty:?} holds an unexpected SQLite value"
        ))
    };
    Ok(match (v, ty) {
        (ValueRef::Null, _) => Value::Null,
        (ValueRef::Integer(i), ColType::Int) => Value::Int(i),
        (ValueRef::Integer(i), ColType::Bool) => Value::Bool(i != 0),
        (ValueRef::Integer(i), ColType::Float) => Value::Float(i as f64),
        (ValueRef::Real(f), ColType::Float) => Value::Float(f),
        // Uuids and datetimes parse straight from the bytes, which the parsers check; text is checked as UTF-8.
        (ValueRef::Text(t), ColType::Uuid) => {
            Value::Uuid(uuid::Uuid::try_parse_ascii(t).map_err(|_| bad())?)
        }
        (ValueRef::Text(t), ColType::Datetime) => {
            Value::Datetime(parse_stored_datetime(t).ok_or_else(bad)?)
        }
        (ValueRef::Text(t), ty) => {
            // SIMD validation: a page of records is mostly text, and std's check was a twentieth of a list.
            let s = simdutf8::basic::from_utf8(t).map_err(|_| bad())?;
            match ty {
                ColType::Text => Value::Text(s.to_owned()),
                ColType::Date => Value::Date(parse_date(s).ok_or_else(bad)?),
                ColType::Json => Value::Json(serde_json::from_str(s).map_err(|_| bad())?),
                _ => return Err(bad()),
            }
        }
        _ => return Err(bad()),
    })
}

/// SQLite's constraint and busy errors in the catalogue's terms.
pub fn map_error(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(failure, message) = &e {
        match (failure.code, failure.extended_code) {
            (
                ErrorCode::ConstraintViolation,
                rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY,
            ) => {
                // "UNIQUE constraint failed: posts.slug, posts.other": name the first column.
                let field = message
                    .as_deref()
                    .and_then(|m| m.rsplit(": ").next())
                    .and_then(|cols| cols.split(", ").next())
                    .and_then(|col| col.rsplit('.').next())
                    .unwrap_or("id")
                    .to_owned();
                return StoreError::Unique { field };
            }
            // A RESTRICT action reports through SQLite's trigger machinery, so match the message too.
            (ErrorCode::ConstraintViolation, rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY) => {
                return StoreError::Restricted;
            }
            (ErrorCode::ConstraintViolation, _)
                if message
                    .as_deref()
                    .is_some_and(|m| m.contains("FOREIGN KEY constraint failed")) =>
            {
                return StoreError::Restricted;
            }
            (ErrorCode::OperationInterrupted, _) => return StoreError::Timeout,
            (ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked, _) => {
                return StoreError::Unavailable(anyhow::Error::new(e));
            }
            _ => {}
        }
    }
    StoreError::other(e)
}

#[async_trait]
impl Exec for SqliteExec<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn fetch(&mut self, stmt: &SqlBuilder, cols: &[ColType]) -> StoreResult<Vec<Vec<Value>>> {
        let mut prepared = self.conn.prepare_cached(&stmt.sql).map_err(map_error)?;
        let mut rows = prepared
            .query(params_from_iter(stmt.params.iter().map(Bind::new)))
            .map_err(map_error)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(map_error)? {
            let mut values = Vec::with_capacity(cols.len());
            for (i, ty) in cols.iter().enumerate() {
                values.push(decode(row.get_ref(i).map_err(map_error)?, *ty)?);
            }
            out.push(values);
        }
        drop(rows);
        release(prepared, stmt);
        Ok(out)
    }

    async fn execute(&mut self, stmt: &SqlBuilder) -> StoreResult<u64> {
        let mut prepared = self.conn.prepare_cached(&stmt.sql).map_err(map_error)?;
        let n = prepared
            .execute(params_from_iter(stmt.params.iter().map(Bind::new)))
            .map_err(map_error)?;
        release(prepared, stmt);
        Ok(n as u64)
    }
}

/// Hand a statement back to the connection's cache, unless it is one that is seldom asked again
/// ([`SqlBuilder::keep_prepared`]), whose place there would push out one that is.
fn release(prepared: rusqlite::CachedStatement<'_>, stmt: &SqlBuilder) {
    if !stmt.keep_prepared {
        prepared.discard();
    }
}
