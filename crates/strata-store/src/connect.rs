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
