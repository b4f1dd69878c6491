//! The databases Strata runs on during the benchmark: SQLite in a scratch directory (Strata's default), or a fresh
//! PostgreSQL or MySQL/MariaDB database created for the run and dropped after it.

use std::fmt;
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use clap::ValueEnum;
use reqwest::Url;
use serde::Serialize;
use sqlx::{AssertSqlSafe, Connection as _};

/// How long one administrative statement (connection included) may take before the server counts as unreachable.
const STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// A database Strata can run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Sqlite,
    Postgres,
    Mysql,
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StoreKind::Sqlite => "SQLite",
            StoreKind::Postgres => "PostgreSQL",
            StoreKind::Mysql => "MySQL",
        })
    }
}

/// One database prepared for a run. SQLite needs nothing: Strata creates its file in its data directory.
#[derive(Debug)]
pub struct Database {
    pub kind: StoreKind,
    /// `STRATA_DATABASE__URL` for Strata; `None` for its default SQLite file.
    pub url: Option<String>,
    /// The server's administrative URL and the database's name, to drop it after the run.
    server: Option<(String, String)>,
}

impl Database {
    /// Create a fresh database of `kind`. `server_url` is where PostgreSQL or MySQL answers, with a database
    /// the benchmark may connect to for `CREATE DATABASE` (e.g. `postgres://postgres@127.0.0.1:5432/postgres`).
    pub async fn create(kind: StoreKind, server_url: &str) -> anyhow::Result<Database> {
        if kind == StoreKind::Sqlite {
            return Ok(Database {
                kind,
                url: None,
                server: None,
            });
        }
        let name = format!("strata_bench_{}", uuid::Uuid::now_v7().simple());
        let create = match kind {
            StoreKind::Postgres => format!("CREATE DATABASE \"{name}\""),
            _ => format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"),
        };
        execute(kind, server_url, &create)
            .await
            .with_context(|| format!("creating the {kind} database {name}"))?;
        Ok(Database {
            kind,
            url: Some(with_database(server_url, &name)?),
            server: Some((server_url.to_owned(), name)),
        })
    }

    /// Refresh the planner's statistics after seeding, as PostgreSQL's autovacuum or InnoDB's automatic
    /// statistics would within a minute or so on a live server: without them, PostgreSQL plans the list as a
    /// bitmap scan and a sort of every published post instead of walking the `(created_at, id)` index, so the run
    /// would measure the minute after a bulk load rather than the steady state. SQLite plans well without them.
    pub async fn analyze(&self) -> anyhow::Result<()> {
        let (Some(url), Some(sql)) = (
            &self.url,
            match self.kind {
                StoreKind::Postgres => Some("ANALYZE"),
                StoreKind::Mysql => Some("ANALYZE TABLE posts, notes"),
                StoreKind::Sqlite => None,
            },
        ) else {
            return Ok(());
        };
        execute(self.kind, url, sql)
            .await
            .with_context(|| format!("analyzing the {} database", self.kind))
    }

    /// Delete the posts created at or after `since` and their events, then reclaim the dead rows and refresh the
    /// statistics: run after the baseline's create load, so that Strata's create load, measured next, meets the
    /// table as it would have without the baseline. Nothing else writes posts between `since` and this call (the
    /// servers run one at a time, and the seeding ended before), and every server stamps `created_at` with this
    /// machine's clock.
    pub async fn remove_posts_since(&self, since: DateTime<Utc>) -> anyhow::Result<()> {
        let Some(url) = &self.url else {
            return Ok(());
        };
        let at = since.format("%Y-%m-%d %H:%M:%S%.6f");
        let statements = match self.kind {
            StoreKind::Postgres => [
                format!("DELETE FROM posts WHERE created_at >= '{at}+00'"),
                format!("DELETE FROM _outbox WHERE collection = 'posts' AND time >= '{at}+00'"),
                "VACUUM ANALYZE posts, _outbox".to_owned(),
            ],
            // DATETIME(6) in UTC (Strata's storage form for MySQL).
            StoreKind::Mysql => [
                format!("DELETE FROM posts WHERE created_at >= '{at}'"),
                format!("DELETE FROM _outbox WHERE collection = 'posts' AND time >= '{at}'"),
                "ANALYZE TABLE posts, _outbox".to_owned(),
            ],
            StoreKind::Sqlite => return Ok(()),
        };
        for sql in statements {
            execute(self.kind, url, &sql)
                .await
                .with_context(|| format!("removing the baseline's posts from {}", self.kind))?;
        }
        Ok(())
    }

    /// Drop the database made by [`Database::create`] (nothing to do for SQLite: its directory is scratch).
    pub async fn drop_database(self) -> anyhow::Result<()> {
        let Some((server_url, name)) = self.server else {
            return Ok(());
        };
        let drop = match self.kind {
            StoreKind::Postgres => format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
            _ => format!("DROP DATABASE IF EXISTS `{name}`"),
        };
        execute(self.kind, &server_url, &drop)
            .await
            .with_context(|| format!("dropping the {} database {name}", self.kind))
    }
}

/// Whether the database server of `kind` answers at `server_url`.
pub async fn reachable(kind: StoreKind, server_url: &str) -> anyhow::Result<()> {
    if kind == StoreKind::Sqlite {
        return Ok(());
    }
    execute(kind, server_url, "SELECT 1").await
}

/// Run one statement on its own connection.
async fn execute(kind: StoreKind, server_url: &str, sql: &str) -> anyhow::Result<()> {
    let sql = || AssertSqlSafe(sql.to_owned());
    let run = async {
        match kind {
            StoreKind::Postgres => {
                let mut conn = sqlx::PgConnection::connect(server_url).await?;
                sqlx::query(sql()).execute(&mut conn).await?;
                conn.close().await
            }
            StoreKind::Mysql => {
                let mut conn = sqlx::MySqlConnection::connect(server_url).await?;
                sqlx::query(sql()).execute(&mut conn).await?;
                conn.close().await
            }
            StoreKind::Sqlite => Ok(()),
        }
    };
    match tokio::time::timeout(STATEMENT_TIMEOUT, run).await {
        Ok(result) => result.with_context(|| format!("{kind} at {}", redact(server_url))),
        Err(_) => bail!("{kind} at {} did not answer in time", redact(server_url)),
    }
}

/// `server_url` pointing at database `name` instead.
pub fn with_database(server_url: &str, name: &str) -> anyhow::Result<String> {
    let mut url =
        Url::parse(server_url).with_context(|| format!("parsing {}", redact(server_url)))?;
    url.set_path(&format!("/{name}"));
    Ok(url.into())
}

/// A URL fit for messages: its password replaced.
pub fn redact(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.into()
        }
        Ok(_) => url.to_owned(),
        Err(_) => "<unparsable URL>".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_replaces_the_path_and_keeps_the_query() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/postgres", "b").unwrap(),
            "postgres://postgres@127.0.0.1:5432/b"
        );
        assert_eq!(
            with_database("mysql://root@127.0.0.1:3306/", "b").unwrap(),
            "mysql://root@127.0.0.1:3306/b"
        );
        assert_eq!(
            with_database("postgres://h/db?sslmode=disable", "b").unwrap(),
            "postgres://h/b?sslmode=disable"
        );
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
