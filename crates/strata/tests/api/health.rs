//! `/healthz`, `/readyz`, request ids and security headers.

use crate::helpers::TestApp;
use crate::on_backends;

on_backends!(
    health_and_readiness_answer_200,
    request_ids_are_echoed_or_generated,
    every_response_has_security_headers
);

async fn health_and_readiness_answer_200(app: TestApp) {
    assert_eq!(app.get("/healthz").await.status, 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status, 200);
    assert_eq!(ready.body["status"], "ready");
}

async fn request_ids_are_echoed_or_generated(app: TestApp) {
    let reply = app
        .send(
            app.client
                .get(app.url("/api/v1/nope"))
                .header("x-request-id", "trace-42.a:b"),
        )
        .await;
    assert_eq!(reply.header("x-request-id"), Some("trace-42.a:b"));
    assert_eq!(reply.body["request_id"], "trace-42.a:b");

    let reply = app
        .send(
            app.client
                .get(app.url("/api/v1/nope"))
                .header("x-request-id", "bad id with spaces"),
        )
        .await;
    let generated = reply
        .header("x-request-id")
        .expect("a request id")
        .to_owned();
    assert_ne!(generated, "bad id with spaces");
    assert!(
        uuid::Uuid::try_parse(&generated).is_ok(),
        "a generated id is a UUID: {generated}"
    );
    assert_eq!(reply.body["request_id"], generated.as_str());
}

async fn every_response_has_security_headers(app: TestApp) {
    for path in ["/healthz", "/api/v1/posts", "/api/v1/missing"] {
        let reply = app.get(path).await;
        assert_eq!(
            reply.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(
            reply.header("referrer-policy"),
            Some("no-referrer"),
            "{path}"
        );
        assert_eq!(reply.header("x-frame-options"), Some("DENY"), "{path}");
        assert_eq!(
            reply.header("content-security-policy"),
            Some("default-src 'none'; frame-ancestors 'none'"),
            "{path}"
        );
        assert_eq!(
            reply.header("cross-origin-resource-policy"),
            Some("same-origin"),
            "{path}"
        );
    }
}

/// `/readyz` answers 503 `unavailable` while the database refuses connections, and 200 again once it is back.
#[tokio::test]
async fn readiness_follows_the_database_on_postgres() {
    use crate::helpers::{Backend, spawn_app};
    let Some(app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    let (server, name) = app.database_url.rsplit_once('/').expect("a database name");
    let admin = sqlx::postgres::PgPool::connect(&format!("{server}/postgres"))
        .await
        .expect("admin connection");
    let run = |sql: String| {
        let admin = admin.clone();
        async move {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&admin)
                .await
                .expect("admin statement")
        }
    };
    assert_eq!(app.get("/readyz").await.status, 200);

    run(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await;
    run(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .await;
    let down = app.get("/readyz").await;
    assert_eq!(down.status, 503, "{}", down.body);
    assert_eq!(down.code(), "unavailable");
    assert_eq!(
        down.header("content-type"),
        Some("application/problem+json")
    );
    assert!(
        !down.body.to_string().contains(name),
        "no internals in the problem: {}",
        down.body
    );
    assert_eq!(
        app.get("/healthz").await.status,
        200,
        "the process itself is alive"
    );

    run(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await;
    assert_eq!(
        app.get("/readyz").await.status,
        200,
        "ready again without a restart"
    );
}

/// A pooled connection the database dropped while it sat idle (a database restart, an idle timeout) is replaced
/// before a request gets it: the request succeeds, it is not answered 503.
#[tokio::test]
async fn a_connection_dropped_while_idle_is_replaced_on_postgres() {
    use crate::helpers::{Backend, spawn_app};
    let Some(app) = spawn_app(Backend::Postgres).await else {
        return;
    };
    assert_eq!(app.get("/api/v1/posts").await.status, 200);
    let admin = sqlx::postgres::PgPool::connect(&app.database_url)
        .await
        .expect("admin connection");
    sqlx::raw_sql(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&admin)
    .await
    .expect("terminate the server's connections");
    admin.close().await;
    expect_idle_connections_replaced(&app).await;
}

#[tokio::test]
async fn a_connection_dropped_while_idle_is_replaced_on_mysql() {
    use crate::helpers::{Backend, spawn_app};
    use sqlx::Row;
    let Some(app) = spawn_app(Backend::Mysql).await else {
        return;
    };
    assert_eq!(app.get("/api/v1/posts").await.status, 200);
    let admin = sqlx::mysql::MySqlPool::connect(&app.database_url)
        .await
        .expect("admin connection");
    let ids = sqlx::raw_sql(
        "SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()",
    )
    .fetch_all(&admin)
    .await
    .expect("the server's connections");
    assert!(!ids.is_empty(), "the server holds connections");
    for row in ids {
        let id: i64 = row.try_get(0).expect("a connection id");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("KILL {id}")))
            .execute(&admin)
            .await
            .expect("kill a connection");
    }
    admin.close().await;
    expect_idle_connections_replaced(&app).await;
}

async fn expect_idle_connections_replaced(app: &TestApp) {
    // Past the window within which a recently used connection is handed out without a ping.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    for _ in 0..4 {
        let reply = app.get("/api/v1/posts").await;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
}
