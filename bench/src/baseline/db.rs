//! The baseline's statements, hand-written for PostgreSQL and MySQL/MariaDB on the tables Strata created: the
//! same queries Strata sends for a request of the benchmark's three operations arriving alone (read off its
//! statement log), through a sqlx pool configured as Strata's is (see [`Db::connect`]); sqlx prepares each
//! statement once per connection and caches it. Each request runs its own statements, as in a hand-written
//! server; Strata shares statements between requests that arrive together (`strata_store::shared`).
//!
//! - get: `SELECT` the record's columns `WHERE id = ? AND (status = 'published' OR author = caller)`;
//! - list: the same columns `WHERE (rule) AND status = 'published' ORDER BY created_at DESC, id DESC LIMIT n+1`;
//! - create: `BEGIN`, the relation check `SELECT 1 FROM users WHERE id = author`, `INSERT` the post, `INSERT`
//!   its event into `_outbox`, `COMMIT`.

use std::str::FromStr as _;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions, MySqlRow};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Row as _};
use uuid::Uuid;

use super::post::Post;

/// Strata's default pool size on PostgreSQL and MySQL (`database.max_connections` unset:
/// `crates/strata-store/src/connect.rs`).
pub const STRATA_POOL: u32 = 16;
/// Strata's default `database.statement_timeout`, which also bounds its wait for a pooled connection.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(5);

/// The value the rule and the benchmark's filter compare `status` with.
const PUBLISHED: &str = "published";

const PG_GET: &str = "SELECT t.id, t.created_at, t.updated_at, t.version, t.title, t.body, t.status, t.views, \
     t.author FROM posts t WHERE t.id = $1 AND (t.status = $2 OR t.author = $3)";
const PG_USER_EXISTS: &str = "SELECT 1 FROM users t WHERE t.id = $1";
const PG_INSERT: &str = "INSERT INTO posts (id, created_at, updated_at, version, title, body, status, views, \
     author) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
const PG_OUTBOX: &str = "INSERT INTO _outbox (id, collection, type, subject, time, payload) \
     VALUES ($1, $2, $3, $4, $5, CAST($6 AS jsonb))";

const MY_GET: &str = "SELECT t.id, t.created_at, t.updated_at, t.version, t.title, t.body, t.status, t.views, \
     t.author FROM posts t WHERE t.id = ? AND (t.status = ? OR t.author = ?)";
const MY_USER_EXISTS: &str = "SELECT 1 FROM users t WHERE t.id = ?";
const MY_INSERT: &str = "INSERT INTO posts (id, created_at, updated_at, version, title, body, status, views, \
     author) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";
const MY_OUTBOX: &str =
    "INSERT INTO _outbox (id, collection, type, subject, time, payload) VALUES (?, ?, ?, ?, ?, ?)";

/// The newest page of published posts the caller may list, `limit + 1` rows to tell whether more follow (the
/// limit is written into the statement, as Strata writes it). `$1`/`$3` are `published`, `$2` the caller.
fn list_sql(postgres: bool, limit: u32) -> String {
    let (p1, p2, p3) = if postgres {
        ("$1", "$2", "$3")
    } else {
        ("?", "?", "?")
    };
    format!(
        "SELECT t.id, t.created_at, t.updated_at, t.version, t.title, t.body, t.status, t.views, t.author \
         FROM posts t WHERE (t.status = {p1} OR t.author = {p2}) AND t.status = {p3} \
         ORDER BY t.created_at DESC, t.id DESC LIMIT {}",
        u64::from(limit) + 1
    )
}

/// A pool on the database Strata created and seeded.
#[derive(Clone)]
pub enum Db {
    Postgres(PgPool),
    Mysql(MySqlPool),
}

impl Db {
    /// Connect to `url` (`postgres://…` or `mysql://…`/`mariadb://…`) with a pool of `max_connections`,
    /// configured as Strata configures its own: the statement timeout in the startup packet on PostgreSQL, UTC
    /// sessions in utf8mb4 on MySQL. sqlx pings every connection that goes back to the pool (always, after the
    /// answer) and, with `test_before_acquire` (sqlx's default, kept by a hand-written server), every
    /// connection it takes from the pool: a round trip before each request's first statement. Strata pings only
    /// connections idle for over 500 ms; `test_before_acquire = false` spares the baseline that round trip too.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        test_before_acquire: bool,
    ) -> anyhow::Result<Db> {
        let scheme = url.split("://").next().unwrap_or_default();
        match scheme {
            "postgres" | "postgresql" => {
                let options = PgConnectOptions::from_str(url)
                    .context("invalid PostgreSQL URL")?
                    .application_name("strata-baseline")
                    .options([(
                        "statement_timeout",
                        format!("{}ms", STATEMENT_TIMEOUT.as_millis()),
                    )]);
                let pool = PgPoolOptions::new()
                    .max_connections(max_connections.max(1))
                    .acquire_timeout(STATEMENT_TIMEOUT)
                    .test_before_acquire(test_before_acquire)
                    .connect_with(options)
                    .await
                    .context("connecting to PostgreSQL")?;
                Ok(Db::Postgres(pool))
            }
            "mysql" | "mariadb" => {
                let url = url.replacen("mariadb://", "mysql://", 1);
                let options = MySqlConnectOptions::from_str(&url)
                    .context("invalid MySQL URL")?
                    .charset("utf8mb4")
                    .timezone(Some("+00:00".to_owned()));
                let pool = MySqlPoolOptions::new()
                    .max_connections(max_connections.max(1))
                    .acquire_timeout(STATEMENT_TIMEOUT)
                    .test_before_acquire(test_before_acquire)
                    .connect_with(options)
                    .await
                    .context("connecting to MySQL")?;
                Ok(Db::Mysql(pool))
            }
            _ => anyhow::bail!(
                "unsupported database URL scheme `{scheme}`: use postgres:// or mysql://"
            ),
        }
    }

    /// The post `id` if the caller may view it.
    pub async fn get(&self, id: Uuid, caller: Uuid) -> Result<Option<Post>, sqlx::Error> {
        match self {
            Db::Postgres(pool) => sqlx::query(PG_GET)
                .bind(id)
                .bind(PUBLISHED)
                .bind(caller)
                .fetch_optional(pool)
                .await?
                .map(|row| pg_post(&row))
                .transpose(),
            Db::Mysql(pool) => sqlx::query(MY_GET)
                .bind(id.hyphenated().to_string())
                .bind(PUBLISHED)
                .bind(caller.hyphenated().to_string())
                .fetch_optional(pool)
                .await?
                .map(|row| my_post(&row))
                .transpose(),
        }
    }

    /// Up to `limit + 1` of the newest published posts the caller may list.
    pub async fn list_published(&self, caller: Uuid, limit: u32) -> Result<Vec<Post>, sqlx::Error> {
        match self {
            Db::Postgres(pool) => sqlx::query(AssertSqlSafe(list_sql(true, limit)))
                .bind(PUBLISHED)
                .bind(caller)
                .bind(PUBLISHED)
                .fetch_all(pool)
                .await?
                .iter()
                .map(pg_post)
                .collect(),
            Db::Mysql(pool) => sqlx::query(AssertSqlSafe(list_sql(false, limit)))
                .bind(PUBLISHED)
                .bind(caller.hyphenated().to_string())
                .bind(PUBLISHED)
                .fetch_all(pool)
                .await?
                .iter()
                .map(my_post)
                .collect(),
        }
    }

    /// In one transaction: check that the author exists, insert the post and its event (`payload`, the
    /// CloudEvent's JSON, with `event_id` and `event_time`); committed on return. `Ok(false)` when the author
    /// does not exist (nothing written).
    pub async fn create(
        &self,
        post: &Post,
        event_id: Uuid,
        event_time: DateTime<Utc>,
        payload: &str,
    ) -> Result<bool, sqlx::Error> {
        let Some(author) = post.author else {
            return Ok(false);
        };
        match self {
            Db::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                if sqlx::query(PG_USER_EXISTS)
                    .bind(author)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_none()
                {
                    return Ok(false);
                }
                sqlx::query(PG_INSERT)
                    .bind(post.id)
                    .bind(post.created_at)
                    .bind(post.updated_at)
                    .bind(post.version)
                    .bind(post.title.as_deref())
                    .bind(post.body.as_deref())
                    .bind(post.status.as_deref())
                    .bind(post.views)
                    .bind(author)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(PG_OUTBOX)
                    .bind(event_id)
                    .bind("posts")
                    .bind("created")
                    .bind(post.id)
                    .bind(event_time)
                    .bind(payload)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            Db::Mysql(pool) => {
                let id = post.id.hyphenated().to_string();
                let author = author.hyphenated().to_string();
                let mut tx = pool.begin().await?;
                if sqlx::query(MY_USER_EXISTS)
                    .bind(&author)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_none()
                {
                    return Ok(false);
                }
                sqlx::query(MY_INSERT)
                    .bind(&id)
                    .bind(post.created_at.naive_utc())
                    .bind(post.updated_at.naive_utc())
                    .bind(post.version)
                    .bind(post.title.as_deref())
                    .bind(post.body.as_deref())
                    .bind(post.status.as_deref())
                    .bind(post.views)
                    .bind(&author)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(MY_OUTBOX)
                    .bind(event_id.hyphenated().to_string())
                    .bind("posts")
                    .bind("created")
                    .bind(&id)
                    .bind(event_time.naive_utc())
                    .bind(payload)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
        }
        Ok(true)
    }

    /// Close the pool, waiting for the connections in use.
    pub async fn close(&self) {
        match self {
            Db::Postgres(pool) => pool.close().await,
            Db::Mysql(pool) => pool.close().await,
        }
    }
}

fn pg_post(row: &PgRow) -> Result<Post, sqlx::Error> {
    Ok(Post {
        id: row.try_get(0)?,
        created_at: row.try_get(1)?,
        updated_at: row.try_get(2)?,
        version: row.try_get(3)?,
        title: row.try_get(4)?,
        body: row.try_get(5)?,
        status: row.try_get(6)?,
        views: row.try_get(7)?,
        author: row.try_get(8)?,
    })
}

/// MySQL keeps uuids as `CHAR(36)` and datetimes as naive UTC `DATETIME(6)` (Strata's storage forms). Text is
/// read unchecked: columns with a binary collation carry MySQL's BINARY flag, which sqlx's `String` check refuses.
fn my_post(row: &MySqlRow) -> Result<Post, sqlx::Error> {
    let uuid = |i: usize| -> Result<Option<Uuid>, sqlx::Error> {
        row.try_get_unchecked::<Option<&str>, _>(i)?
            .map(|s| Uuid::try_parse(s).map_err(|e| sqlx::Error::Decode(Box::new(e))))
            .transpose()
    };
    let utc = |i: usize| -> Result<DateTime<Utc>, sqlx::Error> {
        Ok(row.try_get::<NaiveDateTime, _>(i)?.and_utc())
    };
    Ok(Post {
        id: uuid(0)?.ok_or_else(|| sqlx::Error::Decode("a post without an id".into()))?,
        created_at: utc(1)?,
        updated_at: utc(2)?,
        version: row.try_get(3)?,
        title: row.try_get_unchecked(4)?,
        body: row.try_get_unchecked(5)?,
        status: row.try_get_unchecked(6)?,
        views: row.try_get(7)?,
        author: uuid(8)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_asks_one_row_more_than_the_page() {
        let sql = list_sql(true, 20);
        assert!(
            sql.ends_with("ORDER BY t.created_at DESC, t.id DESC LIMIT 21"),
            "{sql}"
        );
        assert!(sql.contains("(t.status = $1 OR t.author = $2) AND t.status = $3"));
        assert!(list_sql(false, 5).contains("(t.status = ? OR t.author = ?) AND t.status = ?"));
    }
}
