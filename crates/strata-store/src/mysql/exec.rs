//! Running statements on a MySQL or MariaDB connection: binding values in the columns' storage forms (uuids as
//! `CHAR(36)`, datetimes as naive UTC `DATETIME(6)`, JSON as text), decoding rows by column type, and mapping
//! the servers' error numbers to [`StoreError`].

use std::collections::HashMap;
use std::sync::RwLock;

use async_trait::async_trait;
use chrono::{NaiveDate, NaiveDateTime};
use sqlx::mysql::{MySqlArguments, MySqlConnection, MySqlDatabaseError, MySqlRow};
use sqlx::query::Query;
use sqlx::{AssertSqlSafe, MySql, Row};
use strata_core::value::{parse_date, parse_datetime};
use strata_core::{ColType, Value};

use crate::error::{StoreError, StoreResult};
use crate::exec::Exec;
use crate::migrate::model::Table;
use crate::sql::{Dialect, Param, SqlBuilder};

/// The field each unique index stands for. MySQL names only the index in a duplicate-key error, and index names
/// are hashes ([`crate::migrate::model::index_name`]), so the map is learnt from the applied model.
#[derive(Debug, Default)]
pub struct UniqueFields(RwLock<HashMap<String, String>>);

impl UniqueFields {
    /// Remember the first column of every unique index of `tables`.
    pub fn learn<'t>(&self, tables: impl IntoIterator<Item = &'t Table>) {
        let Ok(mut map) = self.0.write() else { return };
        for table in tables {
            for index in table.indexes.iter().filter(|i| i.unique) {
                if let Some(first) = index.columns.first() {
                    map.insert(index.name.clone(), first.clone());
                }
            }
        }
    }

    /// The field of index `key` (`posts.uq_posts_1a2b3c4d` on MySQL 8, `uq_posts_1a2b3c4d` on MariaDB).
    fn field(&self, key: &str) -> String {
        let name = key.rsplit('.').next().unwrap_or(key);
        if name == "PRIMARY" {
            return "id".to_owned();
        }
        self.0
            .read()
            .ok()
            .and_then(|map| map.get(name).cloned())
            .unwrap_or_else(|| name.to_owned())
    }
}

/// A MySQL connection, or a transaction through it, running the record operations of [`crate::exec`].
pub struct MysqlExec<'c> {
    pub conn: &'c mut MySqlConnection,
    pub unique: &'c UniqueFields,
}

type MyQuery = Query<'static, MySql, MySqlArguments>;

/// Bind one parameter in its column's storage form.
fn bind(q: MyQuery, p: &Param) -> MyQuery {
    match (&p.value, p.ty) {
        (Value::Null, ColType::Int) => q.bind(None::<i64>),
        (Value::Null, ColType::Float) => q.bind(None::<f64>),
        (Value::Null, ColType::Bool) => q.bind(None::<bool>),
        (Value::Null, ColType::Datetime) => q.bind(None::<NaiveDateTime>),
        (Value::Null, ColType::Date) => q.bind(None::<NaiveDate>),
        (Value::Null, ColType::Text | ColType::Uuid | ColType::Json) => q.bind(None::<String>),
        (Value::Bool(b), ColType::Int) => q.bind(i64::from(*b)),
        (Value::Bool(b), _) => q.bind(*b),
        (Value::Int(i), ColType::Float) => q.bind(*i as f64),
        (Value::Int(i), ColType::Bool) => q.bind(*i != 0),
        (Value::Int(i), _) => q.bind(*i),
        (Value::Float(f), _) => q.bind(*f),
        (Value::Text(s), ColType::Datetime) => match parse_datetime(s) {
            Some(d) => q.bind(d.naive_utc()),
            None => q.bind(s.clone()),
        },
        (Value::Text(s), ColType::Date) => match parse_date(s) {
            Some(d) => q.bind(d),
            None => q.bind(s.clone()),
        },
        (Value::Text(s), _) => q.bind(s.clone()),
        (Value::Uuid(u), _) => q.bind(u.hyphenated().to_string()),
        (Value::Datetime(d), _) => q.bind(d.naive_utc()),
        (Value::Date(d), _) => q.bind(*d),
        (Value::Json(j), _) => q.bind(j.to_string()),
    }
}

/// Every statement stays prepared, [`SqlBuilder::keep_prepared`] or not: on MySQL an uncached statement is one
/// more round trip (prepare, then execute), which cost creates written together a sixth of their throughput,
/// while the statements kept did not raise the peak RSS measured under that load.
fn prepare(stmt: &SqlBuilder) -> MyQuery {
    stmt.params
        .iter()
        .fold(sqlx::query(AssertSqlSafe(stmt.sql.clone())), bind)
}

/// Decode column `i` of a row as `ty`. Unchecked: the storage forms differ from the Rust types' defaults
/// (`TINYINT(1)` booleans, `CHAR(36)` uuids, MariaDB's JSON as `LONGTEXT`), and integers come in every width.
fn decode(row: &MySqlRow, i: usize, ty: ColType) -> StoreResult<Value> {
    let bad = |e: &dyn std::fmt::Display| {
        StoreError::Other(anyhow::anyhow!("column {i} of type {ty:?}: {e}"))
    };
    let text = || {
        row.try_get_unchecked::<Option<String>, _>(i)
            .map_err(|e| bad(&e))
    };
    Ok(match ty {
        ColType::Int => row
            .try_get_unchecked::<Option<i64>, _>(i)
            .map_err(|e| bad(&e))?
            .map(Value::Int),
        ColType::Bool => row
            .try_get_unchecked::<Option<i64>, _>(i)
            .map_err(|e| bad(&e))?
            .map(|b| Value::Bool(b != 0)),
        ColType::Float => row
            .try_get_unchecked::<Option<f64>, _>(i)
            .map_err(|e| bad(&e))?
            .map(Value::Float),
        ColType::Text => text()?.map(Value::Text),
        ColType::Uuid => text()?
            .map(|s| uuid::Uuid::try_parse(&s).map(Value::Uuid))
            .transpose()
            .map_err(|e| bad(&e))?,
        ColType::Json => text()?
            .map(|s| serde_json::from_str(&s).map(Value::Json))
            .transpose()
            .map_err(|e| bad(&e))?,
        ColType::Datetime => row
            .try_get_unchecked::<Option<NaiveDateTime>, _>(i)
            .map_err(|e| bad(&e))?
            .map(|d| Value::Datetime(d.and_utc())),
        ColType::Date => row
            .try_get_unchecked::<Option<NaiveDate>, _>(i)
            .map_err(|e| bad(&e))?
            .map(Value::Date),
    }
    .unwrap_or(Value::Null))
}

/// MySQL's and MariaDB's errors in the catalogue's terms (server error numbers: MySQL error reference, MariaDB
/// error codes).
pub fn map_error(e: sqlx::Error, unique: &UniqueFields) -> StoreError {
    let number = match &e {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<MySqlDatabaseError>()
            .map(|my| my.number()),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => return StoreError::Unavailable(anyhow::Error::new(e)),
        _ => None,
    };
    match number {
        // ER_DUP_ENTRY, ER_DUP_ENTRY_WITH_KEY_NAME.
        Some(1062 | 1586) => StoreError::Unique {
            field: unique.field(&duplicate_key(&e)),
        },
        // Row is referenced (delete) or the parent is missing (insert): the operations check relations first.
        Some(1451 | 1452 | 1216 | 1217) => StoreError::Restricted,
        // MariaDB max_statement_time, MySQL max_execution_time, innodb_lock_wait_timeout.
        Some(1969 | 3024 | 1205) => StoreError::Timeout,
        // Deadlock, too many connections, server shutdown, connection killed: transient.
        Some(1213 | 1040 | 1053 | 1927) => StoreError::Unavailable(anyhow::Error::new(e)),
        _ => StoreError::other(e),
    }
}

/// The key of `Duplicate entry '…' for key 'posts.uq_posts_1a2b3c4d'`: the last quoted word.
fn duplicate_key(e: &sqlx::Error) -> String {
    let message = match e {
        sqlx::Error::Database(db) => db.message(),
        _ => "",
    };
    message
        .rsplit_once(" for key '")
        .map(|(_, key)| key.trim_end_matches('\'').to_owned())
        .unwrap_or_default()
}

#[async_trait]
impl Exec for MysqlExec<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    async fn fetch(&mut self, stmt: &SqlBuilder, cols: &[ColType]) -> StoreResult<Vec<Vec<Value>>> {
        let rows = prepare(stmt)
            .fetch_all(&mut *self.conn)
            .await
            .map_err(|e| map_error(e, self.unique))?;
        rows.iter()
            .map(|row| {
                cols.iter()
                    .enumerate()
                    .map(|(i, ty)| decode(row, i, *ty))
                    .collect()
            })
            .collect()
    }

    async fn execute(&mut self, stmt: &SqlBuilder) -> StoreResult<u64> {
        // Statements without parameters (DDL, mostly) go through the text protocol: nothing to prepare or cache.
        let result = if stmt.params.is_empty() {
            sqlx::raw_sql(AssertSqlSafe(stmt.sql.clone()))
                .execute(&mut *self.conn)
                .await
        } else {
            prepare(stmt).execute(&mut *self.conn).await
        };
        Ok(result
            .map_err(|e| map_error(e, self.unique))?
            .rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate::model::IndexModel;

    #[test]
    fn a_learnt_unique_index_names_its_first_field_with_or_without_the_table_prefix() {
        let fields = UniqueFields::default();
        let index = IndexModel {
            name: "uq_posts_0badc0de".into(),
            columns: vec!["slug".into(), "x".into()],
            unique: true,
        };
        let table = Table {
            name: "posts".into(),
            columns: vec![],
            primary_key: vec!["id".into()],
            indexes: vec![index],
        };
        fields.learn([&table]);
        assert_eq!(fields.field("posts.uq_posts_0badc0de"), "slug");
        assert_eq!(fields.field("uq_posts_0badc0de"), "slug");
        assert_eq!(fields.field("PRIMARY"), "id");
    }
}
