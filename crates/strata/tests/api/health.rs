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
