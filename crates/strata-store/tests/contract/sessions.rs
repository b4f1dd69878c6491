//! What each server store sets up per connection and how it reports trouble: a statement past
//! `statement_timeout` is [`StoreError::Timeout`] (SPEC §14), a server that does not answer is
//! [`StoreError::Unavailable`], and MySQL sessions run in UTC and strict mode.

use std::time::Duration;

use sqlx::Row;
use strata_store::mysql::{MysqlStore, UniqueFields};
use strata_store::postgres::PostgresStore;
use strata_store::{RecordStore, StoreError};

use crate::harness::{mysql_url, postgres_url, unreachable};

const SHORT: Duration = Duration::from_millis(300);

async fn postgres(timeout: Duration) -> Option<PostgresStore> {
    let url = postgres_url();
    match PostgresStore::connect(&url, 2, timeout).await {
        Ok(store) => Some(store),
        Err(e) => unreachable("PostgreSQL", &url, e),
    }
}

async fn mysql(timeout: Duration) -> Option<MysqlStore> {
    let url = mysql_url();
    match MysqlStore::connect(&url, 2, timeout).await {
        Ok(store) => Some(store),
        Err(e) => unreachable("MySQL/MariaDB", &url, e),
    }
}

#[tokio::test]
async fn a_postgres_statement_past_the_timeout_is_a_timeout() {
    let Some(store) = postgres(SHORT).await else {
        return;
    };
    store.ping().await.expect("ping");
    let slow = sqlx::query("SELECT pg_sleep(5)")
        .execute(store.pool())
        .await
        .expect_err("the timeout cancels it");
    let error = strata_store::postgres::map_error(slow);
    assert!(matches!(error, StoreError::Timeout), "{error:?}");
    store.close().await;
}

#[tokio::test]
async fn a_mysql_statement_past_the_timeout_is_a_timeout() {
    let Some(store) = mysql(SHORT).await else {
        return;
    };
    store.ping().await.expect("ping");
    // MariaDB's max_statement_time interrupts SLEEP with an error; MySQL's max_execution_time applies to SELECT.
    let sql = "SELECT COUNT(*) FROM information_schema.columns a, information_schema.columns b, \
               information_schema.columns c WHERE SLEEP(0.01) = 0";
    let slow = sqlx::query(sql)
        .fetch_all(store.pool())
        .await
        .expect_err("the timeout interrupts it");
    let error = strata_store::mysql::map_error(slow, &UniqueFields::default());
    assert!(matches!(error, StoreError::Timeout), "{error:?}");
    store.close().await;
}

#[tokio::test]
async fn mysql_sessions_run_in_utc_and_strict_mode() {
    let Some(store) = mysql(Duration::from_secs(5)).await else {
        return;
    };
    let row = sqlx::query("SELECT @@session.time_zone, @@session.sql_mode")
        .fetch_one(store.pool())
        .await
        .expect("session variables");
    let zone: String = row.try_get_unchecked(0).expect("time_zone");
    let mode: String = row.try_get_unchecked(1).expect("sql_mode");
    assert_eq!(zone, "+00:00");
    assert!(mode.contains("STRICT_ALL_TABLES"), "{mode}");
    store.close().await;
}

#[tokio::test]
async fn an_unreachable_server_is_unavailable() {
    // Port 9 (discard) on the loopback is closed on any test machine: the connection is refused at once.
    let pg = PostgresStore::connect("postgres://postgres@127.0.0.1:9/postgres", 1, SHORT).await;
    assert!(
        matches!(pg, Err(StoreError::Unavailable(_))),
        "{:?}",
        pg.err()
    );
    let my = MysqlStore::connect("mysql://root@127.0.0.1:9/", 1, SHORT).await;
    assert!(
        matches!(my, Err(StoreError::Unavailable(_))),
        "{:?}",
        my.err()
    );
}
