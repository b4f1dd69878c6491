//! Running statements on a PostgreSQL connection: binding values as typed parameters (so that NULLs carry their
//! column's type), decoding rows by column type, and mapping PostgreSQL's SQLSTATEs to [`StoreError`].

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgArguments, PgConnection, PgDatabaseError, PgRow};
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, Postgres, Row};
use strata_core::value::{parse_date, parse_datetime};
use strata_core::{ColType, Value};

use crate::error::{StoreError, StoreResult};
use crate::exec::Exec;
use crate::sql::{Dialect, Param, SqlBuilder};

/// A PostgreSQL connection, or a transaction through it, running the record operations of [`crate::exec`].
pub struct PgExec<'c> {
    pub conn: &'c mut PgConnection,
}

type PgQuery = Query<'static, Postgres, PgArguments>;

/// Bind one parameter by its column type: a NULL is sent with the type of the column it meets, and values are
/// converted where the column calls for it (an integer compared with a `number`, a uuid with text).
fn bind(q: PgQuery, p: &Param) -> PgQuery {
    match (&p.value, p.ty) {
        (Value::Null, ColType::Text) => q.bind(None::<String>),
        (Value::Null, ColType::Int) => q.bind(None::<i64>),
        (Value::Null, ColType::Float) => q.bind(None::<f64>),
        (Value::Null, ColType::Bool) => q.bind(None::<bool>),
        (Value::Null, ColType::Uuid) => q.bind(None::<uuid::Uuid>),
        (Value::Null, ColType::Datetime) => q.bind(None::<DateTime<Utc>>),
        (Value::Null, ColType::Date) => q.bind(None::<NaiveDate>),
        (Value::Null, ColType::Json) => q.bind(None::<Json<serde_json::Value>>),
        (Value::Bool(b), ColType::Int) => q.bind(i64::from(*b)),
        (Value::Bool(b), _) => q.bind(*b),
        (Value::Int(i), ColType::Float) => q.bind(*i as f64),
        (Value::Int(i), ColType::Bool) => q.bind(*i != 0),
        (Value::Int(i), _) => q.bind(*i),
        (Value::Float(f), _) => q.bind(*f),
        (Value::Text(s), ColType::Uuid) => match uuid::Uuid::try_parse(s) {
            Ok(u) => q.bind(u),
            Err(_) => q.bind(s.clone()),
        },
        (Value::Text(s), ColType::Datetime) => match parse_datetime(s) {
            Some(d) => q.bind(d),
            None => q.bind(s.clone()),
        },
        (Value::Text(s), ColType::Date) => match parse_date(s) {
            Some(d) => q.bind(d),
            None => q.bind(s.clone()),
        },
        (Value::Text(s), _) => q.bind(s.clone()),
        (Value::Uuid(u), ColType::Text) => q.bind(u.hyphenated().to_string()),
        (Value::Uuid(u), _) => q.bind(*u),
        (Value::Datetime(d), _) => q.bind(*d),
        (Value::Date(d), _) => q.bind(*d),
        (Value::Json(j), ColType::Text) => q.bind(j.to_string()),
        (Value::Json(j), _) => q.bind(Json(j.clone())),
    }
}

fn prepare(stmt: &SqlBuilder) -> PgQuery {
    stmt.params
        .iter()
        .fold(sqlx::query(AssertSqlSafe(stmt.sql.clone())), bind)
        .persistent(stmt.keep_prepared)
}

/// Decode column `i` of a row as `ty`.
fn decode(row: &PgRow, i: usize, ty: ColType) -> Result<Value, sqlx::Error> {
    Ok(match ty {
        // Unchecked: `SELECT 1` is an INT4, `COUNT(*)` an INT8; the decoder reads any width.
        ColType::Int => row.try_get_unchecked::<Option<i64>, _>(i)?.map(Value::Int),
        ColType::Text => row.try_get::<Option<String>, _>(i)?.map(Value::Text),
        ColType::Float => row.try_get::<Option<f64>, _>(i)?.map(Value::Float),
        ColType::Bool => row.try_get::<Option<bool>, _>(i)?.map(Value::Bool),
        ColType::Uuid => row.try_get::<Option<uuid::Uuid>, _>(i)?.map(Value::Uuid),
        ColType::Datetime => row
            .try_get::<Option<DateTime<Utc>>, _>(i)?
            .map(Value::Datetime),
        ColType::Date => row.try_get::<Option<NaiveDate>, _>(i)?.map(Value::Date),
        ColType::Json => row
            .try_get::<Option<Json<serde_json::Value>>, _>(i)?
            .map(|j| Value::Json(j.0)),
    }
    .unwrap_or(Value::Null))
}

fn decode_rows(rows: &[PgRow], cols: &[ColType]) -> StoreResult<Vec<Vec<Value>>> {
    rows.iter()
        .map(|row| {
            cols.iter()
                .enumerate()
                .map(|(i, ty)| decode(row, i, *ty))
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<_, _>>()
        .map_err(StoreError::other)
}

/// Run a statement whose `$1` is an array of ids ([`crate::sql::query::fetch_by_id_array`]): `ids` are bound
/// there as a `uuid[]`, the statement's own parameters after it.
pub(super) async fn fetch_with_ids(
    conn: &mut PgConnection,
    stmt: &SqlBuilder,
    ids: &[uuid::Uuid],
    cols: &[ColType],
) -> StoreResult<Vec<Vec<Value>>> {
    let query = sqlx::query(AssertSqlSafe(stmt.sql.clone())).bind(ids.to_vec());
    let rows = stmt.params[1..]
        .iter()
        .fold(query, bind)
        .fetch_all(conn)
        .await
        .map_err(map_error)?;
    decode_rows(&rows, cols)
}

/// PostgreSQL's errors in the catalogue's terms (SQLSTATE codes: PostgreSQL manual, appendix A).
pub fn map_error(e: sqlx::Error) -> StoreError {
    let code = match &e {
        sqlx::Error::Database(db) => db
            .try_downcast_ref::<PgDatabaseError>()
            .map(|pg| pg.code().to_owned()),
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => return StoreError::Unavailable(anyhow::Error::new(e)),
        _ => None,
    };
    let Some(code) = code else {
        return StoreError::other(e);
    };
    match code.as_str() {
        "23505" => StoreError::Unique {
            field: unique_field(&e),
        },
        "23503" => StoreError::Restricted,
        // query_canceled (statement_timeout), lock_not_available (lock_timeout).
        "57014" | "55P03" => StoreError::Timeout,
        // Connection exceptions, too many connections, shutdown, serialization failure and deadlock: transient.
        // Refused connections too: the database does not accept them (55000), is gone (3D000), or refuses the
        // credentials (28000, 28P01).
        c if c.starts_with("08")
            || matches!(
                c,
                "53300"
                    | "57P01"
                    | "57P02"
                    | "57P03"
                    | "40001"
                    | "40P01"
                    | "55000"
                    | "3D000"
                    | "28000"
                    | "28P01"
            ) =>
        {
            StoreError::Unavailable(anyhow::Error::new(e))
        }
        _ => StoreError::other(e),
    }
}

/// The first column of a violated unique constraint, from the error's detail (`Key (email)=(a@b.c) already
/// exists.`), else from its name (`posts_pkey`: the primary key, `id`).
fn unique_field(e: &sqlx::Error) -> String {
    let pg = match e {
        sqlx::Error::Database(db) => db.try_downcast_ref::<PgDatabaseError>(),
        _ => None,
    };
    let from_detail = pg
        .and_then(|pg| pg.detail())
        .and_then(|d| d.strip_prefix("Key ("))
        .and_then(|d| d.split(")=(").next())
        .and_then(|cols| cols.split(", ").next())
        .map(|col| col.trim_matches('"').to_owned());
    from_detail.unwrap_or_else(|| "id".to_owned())
}

#[async_trait]
impl Exec for PgExec<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn fetch(&mut self, stmt: &SqlBuilder, cols: &[ColType]) -> StoreResult<Vec<Vec<Value>>> {
        let rows = prepare(stmt)
            .fetch_all(&mut *self.conn)
            .await
            .map_err(map_error)?;
        decode_rows(&rows, cols)
    }

    async fn execute(&mut self, stmt: &SqlBuilder) -> StoreResult<u64> {
        // Statements without parameters (DDL, mostly) go through the simple protocol: nothing to prepare or cache.
        let result = if stmt.params.is_empty() {
            sqlx::raw_sql(AssertSqlSafe(stmt.sql.clone()))
                .execute(&mut *self.conn)
                .await
        } else {
            prepare(stmt).execute(&mut *self.conn).await
        };
        Ok(result.map_err(map_error)?.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pool_is_unavailable() {
        assert!(matches!(
            map_error(sqlx::Error::PoolClosed),
            StoreError::Unavailable(_)
        ));
    }
}
