//! Opening the store a `database.url` names (SPEC §2): `sqlite://PATH`, `postgres://…`, `mysql://…`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::error::{StoreError, StoreResult};
use crate::mysql::MysqlStore;
use crate::postgres::PostgresStore;
use crate::{DynStore, sqlite::SqliteStore};

/// Connections per pool on PostgreSQL and MySQL unless `database.max_connections` says otherwise.
const DEFAULT_POOL: u32 = 16;

/// A pooled connection idle for longer than this is pinged before it is handed out; one used more recently is
/// not (HikariCP's `aliveBypassWindowMs` does the same). Pinging on every acquire, sqlx's default, costs a round
/// trip per request under load, when connections are never idle long enough to have been dropped.
const PING_IF_IDLE_FOR: Duration = Duration::from_millis(500);

/// `options` pinging only connections idle past [`PING_IF_IDLE_FOR`]; a connection whose ping fails is closed
/// and the pool hands out another.
pub(crate) fn ping_if_idle<DB: sqlx::Database>(
    options: sqlx::pool::PoolOptions<DB>,
) -> sqlx::pool::PoolOptions<DB> {
    use sqlx::Connection;
    options
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > PING_IF_IDLE_FOR {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
}

/// Readiness (`/readyz`): a round trip on a pooled connection. One found dead (the database restarted while it
/// sat in the pool, used too recently to have been pinged) is closed and the next one tried, so a database that is
/// back answers ready at once, not after each stale connection has failed a probe.
pub(crate) async fn ping_pool<DB: sqlx::Database>(
    pool: &sqlx::Pool<DB>,
) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    let mut attempts = pool.size() + 1;
    loop {
        let mut conn = pool.acquire().await?;
        match conn.ping().await {
            Ok(()) => return Ok(()),
            Err(e) if attempts <= 1 => return Err(e),
            Err(_) => {
                let _ = conn.close().await;
                attempts -= 1;
            }
        }
    }
}

/// How to open a store.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Pool size for PostgreSQL and MySQL; reader threads for SQLite.
    pub max_connections: Option<u32>,
    pub statement_timeout: Duration,
}

/// Open the store of `url`.
pub async fn connect(url: &str, options: &ConnectOptions) -> StoreResult<DynStore> {
    let scheme = url.split("://").next().unwrap_or("");
    match scheme {
        "sqlite" => {
            let path = PathBuf::from(url.trim_start_matches("sqlite://"));
            let readers = options
                .max_connections
                .map_or(2, |n| n as usize)
                .clamp(1, 16);
            Ok(Arc::new(SqliteStore::open(
                &path,
                readers,
                options.statement_timeout,
            )?))
        }
        "postgres" | "postgresql" => {
            let pool = options.max_connections.unwrap_or(DEFAULT_POOL);
            Ok(Arc::new(
                PostgresStore::connect(url, pool, options.statement_timeout).await?,
            ))
        }
        "mysql" | "mariadb" => {
            let url = url.replacen("mariadb://", "mysql://", 1);
            let pool = options.max_connections.unwrap_or(DEFAULT_POOL);
            Ok(Arc::new(
                MysqlStore::connect(&url, pool, options.statement_timeout).await?,
            ))
        }
        _ => Err(StoreError::Unavailable(anyhow::anyhow!(
            "unsupported database URL scheme `{scheme}`: use sqlite://, postgres:// or mysql://"
        ))),
    }
}
