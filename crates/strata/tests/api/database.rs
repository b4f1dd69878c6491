//! Reading and changing a test server's database behind its back: the outbox, raw SQL, its signing key, and
//! `strata keys rotate` against it.

use serde_json::Value;

use crate::helpers::{Backend, TestApp};

impl TestApp {
    /// A datetime as a SQL literal of this backend (`2020-01-01T00:00:00.000000Z` on SQLite and PostgreSQL).
    pub fn sql_datetime(&self, t: chrono::DateTime<chrono::Utc>) -> String {
        match self.backend {
            Backend::Mysql => t.format("'%Y-%m-%d %H:%M:%S%.6f'").to_string(),
            _ => t.format("'%Y-%m-%dT%H:%M:%S%.6fZ'").to_string(),
        }
    }

    /// One text column of a query on the server's database, behind its back.
    pub async fn query_texts(&self, sql: &str) -> Vec<String> {
        match self.backend {
            Backend::Sqlite => {
                let path = self.database_url.trim_start_matches("sqlite://").to_owned();
                let conn = rusqlite::Connection::open(path).expect("open sqlite");
                let mut stmt = conn.prepare(sql).expect("prepare");
                stmt.query_map([], |row| row.get::<_, String>(0))
                    .expect("query")
                    .map(|r| r.expect("row"))
                    .collect()
            }
            Backend::Postgres => {
                let pool = sqlx::postgres::PgPool::connect(&self.database_url)
                    .await
                    .expect("connect");
                let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
                    .fetch_all(&pool)
                    .await
                    .expect("query");
                pool.close().await;
                rows.into_iter().map(|(v,)| v).collect()
            }
            Backend::Mysql => {
                let pool = sqlx::mysql::MySqlPool::connect(&self.database_url)
                    .await
                    .expect("connect");
                let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
                    .fetch_all(&pool)
                    .await
                    .expect("query");
                pool.close().await;
                rows.into_iter().map(|(v,)| v).collect()
            }
        }
    }

    /// The server's current token signing key, read from its database.
    pub async fn signing_key(&self) -> jsonwebtoken::EncodingKey {
        use base64::Engine;
        let rows = self
            .query_texts("SELECT private_der FROM _signing_keys WHERE retired_at IS NULL")
            .await;
        let der = base64::engine::general_purpose::STANDARD
            .decode(&rows[0])
            .expect("base64 key");
        jsonwebtoken::EncodingKey::from_ed_der(&der)
    }

    /// `strata keys rotate` against this server's database.
    pub async fn rotate_keys(&self) {
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("strata.toml");
        std::fs::write(&config, &self.schema).expect("write schema");
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_strata"))
            .args(["keys", "rotate", "--config"])
            .arg(&config)
            .env("STRATA_DATABASE__URL", &self.database_url)
            .env("RUST_LOG", "warn")
            .output()
            .await
            .expect("strata runs");
        assert!(
            out.status.success(),
            "keys rotate: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Run one SQL statement on the server's database, behind its back.
    pub async fn execute_sql(&self, sql: &str) {
        match self.backend {
            Backend::Sqlite => {
                let path = self.database_url.trim_start_matches("sqlite://").to_owned();
                let conn = rusqlite::Connection::open(path).expect("open sqlite");
                conn.busy_timeout(std::time::Duration::from_secs(5))
                    .expect("busy timeout");
                conn.execute_batch(sql).expect("statement runs");
            }
            Backend::Postgres => {
                let pool = sqlx::postgres::PgPool::connect(&self.database_url)
                    .await
                    .expect("connect");
                sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&pool)
                    .await
                    .expect("statement runs");
                pool.close().await;
            }
            Backend::Mysql => {
                let pool = sqlx::mysql::MySqlPool::connect(&self.database_url)
                    .await
                    .expect("connect");
                sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&pool)
                    .await
                    .expect("statement runs");
                pool.close().await;
            }
        }
    }

    /// The outbox events stored so far, oldest first, as their CloudEvents JSON.
    pub async fn outbox(&self) -> Vec<Value> {
        match self.backend {
            Backend::Sqlite => {
                let path = self.database_url.trim_start_matches("sqlite://").to_owned();
                let conn = rusqlite::Connection::open(path).expect("open sqlite");
                let mut stmt = conn
                    .prepare("SELECT payload FROM _outbox ORDER BY id")
                    .expect("prepare");
                stmt.query_map([], |row| row.get::<_, String>(0))
                    .expect("query")
                    .map(|payload| {
                        serde_json::from_str(&payload.expect("row")).expect("json payload")
                    })
                    .collect()
            }
            Backend::Postgres => {
                let pool = sqlx::postgres::PgPool::connect(&self.database_url)
                    .await
                    .expect("connect");
                let sql = "SELECT payload FROM _outbox ORDER BY id";
                let rows: Vec<(Value,)> =
                    sqlx::query_as(sql).fetch_all(&pool).await.expect("query");
                pool.close().await;
                rows.into_iter().map(|(v,)| v).collect()
            }
            Backend::Mysql => {
                // MariaDB's JSON is text.
                let pool = sqlx::mysql::MySqlPool::connect(&self.database_url)
                    .await
                    .expect("connect");
                let sql = "SELECT CAST(payload AS CHAR) FROM _outbox ORDER BY id";
                let rows: Vec<(String,)> =
                    sqlx::query_as(sql).fetch_all(&pool).await.expect("query");
                pool.close().await;
                rows.into_iter()
                    .map(|(v,)| serde_json::from_str(&v).expect("json payload"))
                    .collect()
            }
        }
    }
}
