//! A fresh database per test on each backend: a temporary SQLite file, a new PostgreSQL or MariaDB/MySQL
//! database dropped at the end. A server that does not answer skips the test with a notice, unless
//! `STRATA_REQUIRE_SERVICES=1`. `STRATA_TEST_POSTGRES_URL` and `STRATA_TEST_MYSQL_URL` name other servers.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use sqlx::Connection;
use strata_core::{ColType, Value};
use strata_store::exec::Exec;
use strata_store::mysql::{MysqlExec, MysqlStore, UniqueFields};
use strata_store::postgres::{PgExec, PostgresStore};
use strata_store::sql::SqlBuilder;
use strata_store::sqlite::{SqliteExec, SqliteStore};
use strata_store::{Dialect, RecordStore, StoreResult};

const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const MYSQL_URL: &str = "mysql://root@127.0.0.1:3306/";

/// The PostgreSQL server the tests use.
pub fn postgres_url() -> String {
    std::env::var("STRATA_TEST_POSTGRES_URL").unwrap_or_else(|_| POSTGRES_URL.to_owned())
}

/// The MySQL or MariaDB server the tests use.
pub fn mysql_url() -> String {
    std::env::var("STRATA_TEST_MYSQL_URL").unwrap_or_else(|_| MYSQL_URL.to_owned())
}
const TIMEOUT: Duration = Duration::from_secs(5);

/// A story: the same assertions, whatever the backend.
pub type Story = for<'a> fn(&'a dyn RecordStore, &'a Probe) -> BoxFuture<'a, ()>;

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

/// Reads the database behind a store's back, with the backend's own [`Exec`] (the outbox, row counts).
pub enum Probe {
    Sqlite(std::path::PathBuf),
    Postgres(sqlx::PgPool),
    Mysql(sqlx::MySqlPool),
}

impl Probe {
    pub fn dialect(&self) -> Dialect {
        match self {
            Probe::Sqlite(_) => Dialect::Sqlite,
            Probe::Postgres(_) => Dialect::Postgres,
            Probe::Mysql(_) => Dialect::Mysql,
        }
    }

    pub async fn fetch(&self, stmt: &SqlBuilder, cols: &[ColType]) -> StoreResult<Vec<Vec<Value>>> {
        match self {
            Probe::Sqlite(path) => {
                let mut conn = rusqlite::Connection::open(path).expect("open the SQLite file");
                futures::executor::block_on(SqliteExec { conn: &mut conn }.fetch(stmt, cols))
            }
            Probe::Postgres(pool) => {
                let mut conn = pool.acquire().await.expect("a PostgreSQL connection");
                PgExec { conn: &mut conn }.fetch(stmt, cols).await
            }
            Probe::Mysql(pool) => {
                let mut conn = pool.acquire().await.expect("a MySQL connection");
                let unique = UniqueFields::default();
                MysqlExec {
                    conn: &mut conn,
                    unique: &unique,
                }
                .fetch(stmt, cols)
                .await
            }
        }
    }

    /// `SELECT COUNT(*) FROM table WHERE column = value`.
    pub async fn count(&self, table: &str, column: &str, value: Value, ty: ColType) -> i64 {
        let mut b = SqlBuilder::new(self.dialect());
        b.push("SELECT COUNT(*) FROM ")
            .ident(table)
            .push(" WHERE ")
            .ident(column)
            .push(" = ")
            .param(value, ty);
        self.count_rows(&b).await
    }

    /// `SELECT COUNT(*) FROM table`.
    pub async fn count_all(&self, table: &str) -> i64 {
        let mut b = SqlBuilder::new(self.dialect());
        b.push("SELECT COUNT(*) FROM ").ident(table);
        self.count_rows(&b).await
    }

    async fn count_rows(&self, b: &SqlBuilder) -> i64 {
        match self
            .fetch(b, &[ColType::Int])
            .await
            .expect("count")
            .as_slice()
        {
            [row] => match row.as_slice() {
                [Value::Int(n)] => *n,
                other => panic!("COUNT(*) gave {other:?}"),
            },
            other => panic!("COUNT(*) gave {other:?}"),
        }
    }
}

/// How to drop what a test created.
enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Server {
        admin_url: String,
        database: String,
        dialect: Dialect,
    },
}

/// Run `story` on a fresh database of `backend`, then drop the database, whether the story passed or not.
pub async fn run(backend: Backend, story: Story) {
    let Some((store, probe, cleanup)) = open(backend).await else {
        return;
    };
    let (s, p) = (store.clone(), Arc::new(probe));
    let result = tokio::spawn(async move { story(&*s, &p).await }).await;
    store.close().await;
    match cleanup {
        Cleanup::Sqlite(dir) => drop(dir),
        Cleanup::Server {
            admin_url,
            database,
            dialect,
        } => drop_database(&admin_url, &database, dialect).await,
    }
    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}

fn required() -> bool {
    std::env::var("STRATA_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// Report an unreachable server: a failure when services are required, else a notice (and `None`: skip).
pub fn unreachable<T>(what: &str, url: &str, e: impl std::fmt::Display) -> Option<T> {
    if required() {
        panic!("{what} at {url} is required (STRATA_REQUIRE_SERVICES=1) but unreachable: {e}");
    }
    eprintln!(
        "skipping: {what} at {url} is unreachable ({e}); set STRATA_REQUIRE_SERVICES=1 to fail instead"
    );
    None
}

/// `url` with its database (path) replaced by `database`, keeping any query string.
fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (authority, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let query = tail.find('?').map_or("", |i| &tail[i..]);
    format!("{scheme}://{authority}/{database}{query}")
}

async fn open(backend: Backend) -> Option<(Arc<dyn RecordStore>, Probe, Cleanup)> {
    let database = format!("strata_test_{}", uuid::Uuid::now_v7().simple());
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let path = dir.path().join("strata.db");
            let store = SqliteStore::open(&path, 2, TIMEOUT).expect("open SQLite");
            Some((Arc::new(store), Probe::Sqlite(path), Cleanup::Sqlite(dir)))
        }
        Backend::Postgres => {
            let admin_url = postgres_url();
            let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
                Ok(conn) => conn,
                Err(e) => return unreachable("PostgreSQL", &admin_url, e),
            };
            let create = format!("CREATE DATABASE \"{database}\"");
            sqlx::raw_sql(sqlx::AssertSqlSafe(create))
                .execute(&mut admin)
                .await
                .expect("CREATE DATABASE");
            let _ = admin.close().await;
            let store = PostgresStore::connect(&with_database(&admin_url, &database), 4, TIMEOUT)
                .await
                .expect("connect to the test database");
            let probe = Probe::Postgres(store.pool().clone());
            Some((
                Arc::new(store),
                probe,
                Cleanup::Server {
                    admin_url,
                    database,
                    dialect: Dialect::Postgres,
                },
            ))
        }
        Backend::Mysql => {
            let admin_url = mysql_url();
            let mut admin = match sqlx::MySqlConnection::connect(&admin_url).await {
                Ok(conn) => conn,
                Err(e) => return unreachable("MySQL/MariaDB", &admin_url, e),
            };
            let create = format!("CREATE DATABASE `{database}` CHARACTER SET utf8mb4");
            sqlx::raw_sql(sqlx::AssertSqlSafe(create))
                .execute(&mut admin)
                .await
                .expect("CREATE DATABASE");
            let _ = admin.close().await;
            let store = MysqlStore::connect(&with_database(&admin_url, &database), 4, TIMEOUT)
                .await
                .expect("connect to the test database");
            let probe = Probe::Mysql(store.pool().clone());
            Some((
                Arc::new(store),
                probe,
                Cleanup::Server {
                    admin_url,
                    database,
                    dialect: Dialect::Mysql,
                },
            ))
        }
    }
}

async fn drop_database(admin_url: &str, database: &str, dialect: Dialect) {
    let sql = match dialect {
        Dialect::Postgres => format!("DROP DATABASE IF EXISTS \"{database}\" WITH (FORCE)"),
        _ => format!("DROP DATABASE IF EXISTS `{database}`"),
    };
    let dropped = match dialect {
        Dialect::Postgres => match sqlx::PgConnection::connect(admin_url).await {
            Ok(mut conn) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .map(drop),
            Err(e) => Err(e),
        },
        _ => match sqlx::MySqlConnection::connect(admin_url).await {
            Ok(mut conn) => sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .map(drop),
            Err(e) => Err(e),
        },
    };
    if let Err(e) = dropped {
        eprintln!("could not drop the test database {database}: {e}");
    }
}

#[test]
fn a_url_gets_the_test_database_in_place_of_its_own() {
    assert_eq!(
        with_database("postgres://u@h:5432/postgres", "x"),
        "postgres://u@h:5432/x"
    );
    assert_eq!(
        with_database("mysql://root@127.0.0.1:3306/", "x"),
        "mysql://root@127.0.0.1:3306/x"
    );
    assert_eq!(with_database("mysql://root@h", "x"), "mysql://root@h/x");
    assert_eq!(
        with_database("postgres://h/db?sslmode=disable", "x"),
        "postgres://h/x?sslmode=disable"
    );
}
